#include "sim/scenario.h"

#include <cstdio>
#include <utility>

#include "sim/pcap_writer.h"
#include "sim/random.h"
#include "sim/slaac.h"
#include "wire/icmpv6.h"

namespace mipv6::sim {

namespace {

using namespace std::chrono_literals;

wire::Ipv6Address address(const char* text) {
  return *wire::Ipv6Address::parse(text);
}

const char* const kLinkNames[] = {"home", "a", "b", "backbone", "cn"};

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string millis(const std::optional<Duration>& d) {
  if (!d) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f ms",
                static_cast<double>(std::chrono::nanoseconds(*d).count()) / 1e6);
  return buffer;
}

// The Echo Request sequence number of a CBR packet, if it is one.
std::optional<std::uint16_t> cbr_sequence(const wire::Bytes& packet) {
  auto rx = core::make_rx_packet(packet, 0);
  if (!rx || rx->layout.upper_protocol != wire::ip_proto::kIcmpv6) return std::nullopt;
  auto message = wire::decode_icmpv6(rx->upper());
  if (!message) return std::nullopt;
  const auto* echo = std::get_if<wire::EchoRequest>(&message->body);
  if (echo == nullptr || echo->identifier != CorrespondentHost::kCbrIdentifier) return std::nullopt;
  return echo->sequence_number;
}

}  // namespace

std::vector<Move> basic_moves() {
  return {Move{TimePoint(5s), "a"}, Move{TimePoint(15s), "b"}, Move{TimePoint(25s), "home"}};
}

std::string HandoverReport::to_string() const {
  char head[64];
  std::snprintf(head, sizeof head, "to %s at %.3f s:", to.c_str(),
                static_cast<double>(std::chrono::nanoseconds(at.time_since_epoch()).count()) / 1e9);
  return std::string(head) + " router " + millis(router_discovery) + ", address " +
         millis(address_configuration) + ", detection " + millis(movement_detection) +
         ", home registration " + millis(home_registration) + ", return routability " +
         millis(return_routability) + ", total " + millis(total) + ", sent " +
         std::to_string(packets_sent) + ", lost " + std::to_string(packets_lost) + ", direct " +
         std::to_string(received_direct) + ", tunnel " + std::to_string(received_tunnel) +
         ", home " + std::to_string(received_home);
}

HandoverScenario::HandoverScenario(HandoverScenarioConfig config)
    : config_(std::move(config)), sim_(config_.seed) {
  build_links();
  build_routers();
  build_hosts();
}

void HandoverScenario::build_links() {
  for (const char* name : kLinkNames) {
    const bool access = std::string_view(name) == "home" || std::string_view(name) == "a" ||
                        std::string_view(name) == "b";
    LinkParams params;
    params.delay = access ? config_.access_delay : config_.backbone_delay;
    sim_.add_link(name, params).set_pcap(std::make_unique<PcapWriter>());
  }
}

Interface& HandoverScenario::router_interface(Router& router, Link& link, const char* link_local,
                                              const char* global) {
  Interface& iface = router.add_interface(sim_.next_mac(), router.name() + "-" + link.name());
  if (link_local != nullptr) iface.add_address(address(link_local));
  iface.add_address(address(global));
  link.attach(iface);
  return iface;
}

// RFC 4861 §6.2.1 defaults, or RFC 6275 §7.5's fast intervals with the Advertisement Interval
// option (§7.3) that lets the mobile node notice a lost router quickly.
RaConfig HandoverScenario::ra_config(const char* prefix, bool home_agent) const {
  RaConfig ra;
  ra.prefixes = {RaPrefix{address(prefix), 64, true, true, home_agent}};
  ra.home_agent = home_agent;
  if (config_.fast) {
    ra.min_interval = 30ms;
    ra.max_interval = 70ms;
    ra.advertisement_interval_option = true;
  }
  return ra;
}

void HandoverScenario::build_routers() {
  Link& backbone = *sim_.find_link("backbone");
  const auto seed = [this](std::string_view name) { return derive_seed(sim_.seed(), name); };

  ha_ = &sim_.add_node<HomeAgentNode>("ha", seed("node/ha"));
  Interface& home = router_interface(*ha_, *sim_.find_link("home"), "fe80::1", "2001:db8:1::1");
  Interface& ha_up = router_interface(*ha_, backbone, nullptr, "2001:db8:ff::1");
  ha_->add_connected_routes();
  ha_->add_route(Route{address("::"), 0, &ha_up, address("2001:db8:ff::ff")});
  ha_->advertise(home, ra_config("2001:db8:1::", true), seed("ra/home"));
  core::HomeAgentConfig ha;
  ha.home_ifindex = home.ifindex();
  ha.addresses = {address("2001:db8:1::1")};
  ha.prefixes = {core::HomePrefix{address("2001:db8:1::"), 64, std::nullopt, std::nullopt}};
  ha_->start(std::move(ha));

  const auto access_router = [&](const char* name, const char* link, const char* ll,
                                 const char* global, const char* uplink, const char* prefix) {
    Router& r = sim_.add_node<Router>(name);
    Interface& down = router_interface(r, *sim_.find_link(link), ll, global);
    Interface& up = router_interface(r, backbone, nullptr, uplink);
    r.add_connected_routes();
    r.add_route(Route{address("::"), 0, &up, address("2001:db8:ff::ff")});
    r.advertise(down, ra_config(prefix, false), seed(std::string("ra/") + link));
    return &r;
  };
  ar_a_ = access_router("ar-a", "a", "fe80::a", "2001:db8:a::1", "2001:db8:ff::a", "2001:db8:a::");
  ar_b_ = access_router("ar-b", "b", "fe80::b", "2001:db8:b::1", "2001:db8:ff::b", "2001:db8:b::");

  core_ = &sim_.add_node<Router>("core");
  Interface& core_up = router_interface(*core_, backbone, nullptr, "2001:db8:ff::ff");
  Interface& core_cn = router_interface(*core_, *sim_.find_link("cn"), "fe80::c", "2001:db8:c::1");
  core_->add_connected_routes();
  core_->add_route(Route{address("2001:db8:1::"), 64, &core_up, address("2001:db8:ff::1")});
  core_->add_route(Route{address("2001:db8:a::"), 64, &core_up, address("2001:db8:ff::a")});
  core_->add_route(Route{address("2001:db8:b::"), 64, &core_up, address("2001:db8:ff::b")});
  RaConfig cn_ra;
  cn_ra.prefixes = {RaPrefix{address("2001:db8:c::")}};
  core_->advertise(core_cn, cn_ra, seed("ra/cn"));
}

void HandoverScenario::build_hosts() {
  const auto seed = [this](std::string_view name) { return derive_seed(sim_.seed(), name); };

  cn_address_ = address("2001:db8:c::c");
  cn_ = &sim_.add_node<CorrespondentHost>("cn", HostConfig{}, seed("node/cn"));
  Interface& cn_if = cn_->add_host_interface(sim_.next_mac(), "cn0");
  cn_if.add_address(cn_address_);
  sim_.find_link("cn")->attach(cn_if);
  core::CorrespondentNodeConfig cn;
  cn.addresses = {cn_address_};
  cn_->start(std::move(cn));

  // The mobile node solicits through its engine (§11.5.1), not through the host's own RS.
  const MacAddress mn_mac = sim_.next_mac();
  home_address_ = eui64_address(address("2001:db8:1::"), mn_mac);
  HostConfig host;
  host.send_rs = false;
  host.slaac.optimistic_dad = config_.fast;
  host.slaac.skip_dad = [home = home_address_](const wire::Ipv6Address& a) { return a == home; };
  mn_ = &sim_.add_node<MobileHost>("mn", host, seed("node/mn"));
  Interface& mn_if = mn_->add_host_interface(mn_mac, "mn0");
  core::MobileNodeConfig mn;
  mn.home_addresses = {core::HomeAddressConfig{home_address_, 64, {address("2001:db8:1::1")}}};
  mn.movement.l2_hint_implies_movement = true;  // link-layer hints on
  if (config_.probe_timeout) mn.movement.probe_timeout = *config_.probe_timeout;
  mn.route_optimization.route_optimize_by_default = config_.route_optimization;
  mn_->start(std::move(mn));
  mn_->set_echo_reply(config_.echo_reply);
  mn_->set_data_callback([this](const DeliveredData& data) {
    auto sequence = cbr_sequence(data.packet);
    if (!sequence || *sequence >= traffic_.size()) return;
    CbrRecord& record = traffic_[*sequence];
    if (record.received) return;
    record.received = data.at;
    record.path = data.path;
  });
  sim_.find_link("home")->attach(mn_if);

  cn_->start_cbr(cn_address_, home_address_, config_.cbr_interval, config_.cbr_start, config_.end);
  for (const Move& move : config_.moves) {
    sim_.scheduler().schedule(move.at, [this, move, &mn_if] {
      if (Link* link = sim_.find_link(move.link)) link->attach(mn_if);
    });
  }
}

void HandoverScenario::run() {
  // Every CBR packet has a record before it can arrive: the sequence numbers are known ahead.
  const auto count =
      (config_.end - config_.cbr_start + config_.cbr_interval - 1ns) / config_.cbr_interval;
  traffic_.assign(static_cast<std::size_t>(count), CbrRecord{});
  sim_.scheduler().run_until(config_.end);
  // Packets still in flight at the end are not counted as lost: the run stops a little later.
  sim_.scheduler().run_for(1s);
  const auto& sent = cn_->cbr_sent();
  traffic_.resize(sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    traffic_[i].sequence = sent[i].sequence;
    traffic_[i].sent = sent[i].at;
  }
}

const wire::Bytes& HandoverScenario::pcap(const std::string& link) const {
  return sim_.find_link(link)->pcap()->bytes();
}

bool HandoverScenario::write_pcaps(const std::string& directory, std::string& error) const {
  for (const char* name : kLinkNames) {
    const std::string path = directory + "/" + name + ".pcap";
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"),
                                                         &std::fclose);
    const wire::Bytes& bytes = pcap(name);
    if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
      error = "cannot write " + path;
      return false;
    }
  }
  return true;
}

std::vector<HandoverReport> HandoverScenario::report() const {
  std::vector<HandoverReport> out;
  for (std::size_t i = 0; i < config_.moves.size(); ++i)
    out.push_back(report_for(i));
  return out;
}

HandoverReport HandoverScenario::report_for(std::size_t index) const {
  const Move& move = config_.moves[index];
  const TimePoint until =
      index + 1 < config_.moves.size() ? config_.moves[index + 1].at : config_.end;
  HandoverReport r;
  r.to = move.link;
  r.at = move.at;
  std::optional<TimePoint> ra, usable, bu_home, rr_start;
  bool bu_correspondent = false;
  for (const MobileEvent& e : mn_->log()) {
    if (e.at < move.at || e.at >= until) continue;
    if (!ra && starts_with(e.what, "rx RA ")) ra = e.at;
    // RFC 4429: an optimistic address is usable at once; otherwise once DAD passed.
    const char* ready = config_.fast ? "addr+ " : "addr ready ";
    if (ra && !usable && starts_with(e.what, ready)) usable = e.at;
    if (!bu_home && starts_with(e.what, "tx BU(H")) bu_home = e.at;
    if (bu_home && !r.home_registration && starts_with(e.what, "rx BA"))
      r.home_registration = e.at - *bu_home;
    if (!rr_start && (starts_with(e.what, "tx HoTI") || starts_with(e.what, "tx CoTI")))
      rr_start = e.at;
    if (starts_with(e.what, "tx BU(") && !starts_with(e.what, "tx BU(H")) bu_correspondent = true;
    if (rr_start && bu_correspondent && !r.return_routability && starts_with(e.what, "rx BA"))
      r.return_routability = e.at - *rr_start;
  }
  if (ra) r.router_discovery = *ra - move.at;
  if (bu_home) r.movement_detection = *bu_home - move.at;
  if (ra && usable) r.address_configuration = *usable - *ra;
  for (const CbrRecord& record : traffic_) {
    if (record.received && *record.received >= move.at && *record.received < until &&
        (!r.total || *record.received - move.at < *r.total))
      r.total = *record.received - move.at;
    if (record.sent < move.at || record.sent >= until) continue;
    ++r.packets_sent;
    if (!record.path) {
      ++r.packets_lost;
    } else if (*record.path == DataPath::kRouteOptimized) {
      ++r.received_direct;
    } else if (*record.path == DataPath::kTunnel) {
      ++r.received_tunnel;
    } else {
      ++r.received_home;
    }
  }
  return r;
}

}  // namespace mipv6::sim
