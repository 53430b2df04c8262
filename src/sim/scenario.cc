#include "sim/scenario.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "core/engine.h"
#include "sim/neighbor_discovery.h"
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

const wire::Ipv6Address kHomePrefix = address("2001:db8:1::");
const wire::Ipv6Address kDefaultHomeAgent = address("2001:db8:1::1");
const wire::Ipv6Address kCoreBackbone = address("2001:db8:ff::ff");
const wire::Ipv6Address kCorrespondent = address("2001:db8:c::c");

// Beyond this many mobile nodes only node 0 keeps a log (memory: sim/mobile_host.h).
constexpr std::size_t kLoggedPopulation = 1000;

bool is_access_link(std::string_view name) {
  return name == "home" || name == "a" || name == "b";
}

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

std::string millis_whole(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// RFC 2526 §2-§3: the Mobile IPv6 Home-Agents anycast address of a /64 with EUI-64 interface
// identifiers: the interface identifier fdff:ffff:ffff:fffe (anycast ID 0x7e).
wire::Ipv6Address home_agents_anycast(const wire::Ipv6Address& prefix) {
  wire::Ipv6Address out = prefix;
  constexpr std::uint8_t kIid[8] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  std::copy(std::begin(kIid), std::end(kIid), out.bytes.begin() + 8);
  return out;
}

// The Echo Request sequence number of a ping packet, if it is one.
std::optional<std::uint16_t> ping_sequence(const wire::Bytes& packet) {
  auto rx = core::make_rx_packet(packet, 0);
  if (!rx || rx->layout.upper_protocol != wire::ip_proto::kIcmpv6) return std::nullopt;
  auto message = wire::decode_icmpv6(rx->upper());
  if (!message) return std::nullopt;
  const auto* echo = std::get_if<wire::EchoRequest>(&message->body);
  if (echo == nullptr || echo->identifier != CorrespondentHost::kCbrIdentifier) return std::nullopt;
  return echo->sequence_number;
}

std::string node_name(std::size_t index) {
  return index == 0 ? std::string("mn") : "mn" + std::to_string(index + 1);
}

// The nearest-rank percentile (`percent` of 100) of an ascending list.
std::optional<Duration> percentile(const std::vector<Duration>& sorted, std::size_t percent) {
  if (sorted.empty()) return std::nullopt;
  const std::size_t rank = (sorted.size() * percent + 99) / 100;
  return sorted[rank == 0 ? 0 : rank - 1];
}

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Building

Scenario::Scenario(ScenarioSpec spec) : spec_(std::move(spec)), sim_(spec_.seed) {
  // Node 0 is the observed node: there is always one.
  spec_.mobile_nodes.count = std::max<std::size_t>(spec_.mobile_nodes.count, 1);
  if (spec_.home_agents.empty()) {
    HomeAgentSpec ha;
    ha.address = kDefaultHomeAgent;
    spec_.home_agents.push_back(ha);
  }
  build_links();
  build_home_agents();
  build_access_routers();
  build_core();
  build_correspondent();
  if (spec_.trace) trace_ = std::make_unique<SignalTrace>();
  build_mobile_nodes();
  start_trace();
  start_traffic();
  schedule_moves();
  schedule_events();
}

Scenario::~Scenario() = default;

void Scenario::build_links() {
  for (const char* name : kStandardLinks) {
    LinkParams params;
    params.delay = is_access_link(name) ? 1ms : 5ms;
    for (const LinkSpec& link : spec_.links) {
      if (link.name == name) params = link.params;
    }
    Link& link = sim_.add_link(name, params);
    if (spec_.capture) link.set_pcap(std::make_unique<PcapWriter>());
  }
}

Interface& Scenario::router_interface(Router& router, Link& link,
                                      const wire::Ipv6Address* link_local,
                                      const wire::Ipv6Address& global) {
  Interface& iface = router.add_interface(sim_.next_mac(), router.name() + "-" + link.name());
  if (link_local != nullptr) iface.add_address(*link_local);
  iface.add_address(global);
  link.attach(iface);
  return iface;
}

// RFC 4861 §6.2.1 defaults, or RFC 6275 §7.5's fast intervals with the Advertisement Interval
// option (§7.3) that lets the mobile node notice a lost router quickly. A home agent sets the H
// flag (§7.1), its address in the prefix (R, §7.2) and its preference (§7.4).
RaConfig Scenario::ra_config(const wire::Ipv6Address& prefix, bool home_agent,
                             std::uint16_t preference) const {
  RaConfig ra;
  ra.prefixes = {RaPrefix{prefix, 64, true, true, home_agent}};
  ra.home_agent = home_agent;
  ra.home_agent_preference = preference;
  if (spec_.ra == RaTiming::kFast) {
    ra.min_interval = 30ms;
    ra.max_interval = 70ms;
    ra.advertisement_interval_option = true;
  }
  return ra;
}

void Scenario::build_home_agents() {
  Link& home = *sim_.find_link("home");
  Link& backbone = *sim_.find_link("backbone");
  const bool dhaad = !spec_.mobile_nodes.home_agent.has_value();
  const bool quiet = spec_.mobile_nodes.count > kLoggedPopulation;
  for (std::size_t i = 0; i < spec_.home_agents.size(); ++i) {
    const HomeAgentSpec& s = spec_.home_agents[i];
    auto& ha = sim_.add_node<HomeAgentNode>(s.name, derive_seed(sim_.seed(), "node/" + s.name));
    const wire::Ipv6Address link_local = address(i == 0 ? "fe80::1" : "fe80::2");
    Interface& home_if = router_interface(ha, home, &link_local, s.address);
    // §10.5: the first home agent answers DHAAD requests sent to the home agents' anycast
    // address (the core routes the home prefix to it).
    if (i == 0 && dhaad) home_if.add_address(home_agents_anycast(kHomePrefix));
    Interface& up = router_interface(ha, backbone, nullptr,
                                     address(i == 0 ? "2001:db8:ff::1" : "2001:db8:ff::2"));
    ha.add_connected_routes();
    ha.add_route(Route{address("::"), 0, &up, kCoreBackbone});
    const std::string ra_name = i == 0 ? "ra/home" : "ra/home/" + s.name;
    ha.advertise(home_if, ra_config(kHomePrefix, true, s.preference),
                 derive_seed(sim_.seed(), ra_name));
    ha.set_max_bindings(s.max_bindings);
    ha.set_log_enabled(!quiet);
    core::HomeAgentConfig config;
    config.home_ifindex = home_if.ifindex();
    config.addresses = {s.address};
    config.prefixes = {core::HomePrefix{kHomePrefix, 64, std::nullopt, std::nullopt}};
    config.max_lifetime = s.max_lifetime;
    config.preference = s.preference;  // §10.5.1: in DHAAD replies
    config.log_bindings = !quiet;
    ha.start(std::move(config));
    home_agents_.push_back(&ha);
  }
}

void Scenario::build_access_routers() {
  Link& backbone = *sim_.find_link("backbone");
  const auto access_router = [&](const char* name, const char* link, const char* ll,
                                 const char* global, const char* uplink, const char* prefix) {
    Router& r = sim_.add_node<Router>(name);
    const wire::Ipv6Address link_local = address(ll);
    Interface& down = router_interface(r, *sim_.find_link(link), &link_local, address(global));
    Interface& up = router_interface(r, backbone, nullptr, address(uplink));
    r.add_connected_routes();
    r.add_route(Route{address("::"), 0, &up, kCoreBackbone});
    r.advertise(down, ra_config(address(prefix), false, 0),
                derive_seed(sim_.seed(), std::string("ra/") + link));
    return &r;
  };
  ar_a_ = access_router("ar-a", "a", "fe80::a", "2001:db8:a::1", "2001:db8:ff::a", "2001:db8:a::");
  ar_b_ = access_router("ar-b", "b", "fe80::b", "2001:db8:b::1", "2001:db8:ff::b", "2001:db8:b::");
}

void Scenario::build_core() {
  core_ = &sim_.add_node<Router>("core");
  const wire::Ipv6Address link_local = address("fe80::c");
  core_up_ = &router_interface(*core_, *sim_.find_link("backbone"), nullptr, kCoreBackbone);
  Interface& core_cn =
      router_interface(*core_, *sim_.find_link("cn"), &link_local, address("2001:db8:c::1"));
  core_->add_connected_routes();
  core_->add_route(Route{kHomePrefix, 64, core_up_, address("2001:db8:ff::1")});
  core_->add_route(Route{address("2001:db8:a::"), 64, core_up_, address("2001:db8:ff::a")});
  core_->add_route(Route{address("2001:db8:b::"), 64, core_up_, address("2001:db8:ff::b")});
  // The second home agent is reached at its own address through its own uplink.
  if (spec_.home_agents.size() > 1)
    core_->add_route(Route{spec_.home_agents[1].address, 128, core_up_, address("2001:db8:ff::2")});
  RaConfig cn_ra;
  cn_ra.prefixes = {RaPrefix{address("2001:db8:c::")}};
  core_->advertise(core_cn, cn_ra, derive_seed(sim_.seed(), "ra/cn"));
}

void Scenario::build_correspondent() {
  cn_address_ = kCorrespondent;
  cn_ = &sim_.add_node<CorrespondentHost>("cn", HostConfig{}, derive_seed(sim_.seed(), "node/cn"));
  Interface& cn_if = cn_->add_host_interface(sim_.next_mac(), "cn0");
  cn_if.add_address(cn_address_);
  sim_.find_link("cn")->attach(cn_if);
  core::CorrespondentNodeConfig cn;
  cn.addresses = {cn_address_};
  cn_->start(std::move(cn));
}

void Scenario::build_mobile_nodes() {
  const std::size_t count = spec_.mobile_nodes.count;
  mobiles_.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    build_mobile(i);
  // A second radio for every node that makes a move with overlapping coverage; its MAC comes
  // after every node's first one, so node i's addresses do not depend on the moves.
  bool overlapping = false;
  for (const MoveSpec& move : spec_.moves)
    overlapping = overlapping || move.overlap > Duration{0};
  if (!overlapping) return;
  radio_.assign(count, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const bool needs = std::any_of(spec_.moves.begin(), spec_.moves.end(), [i](const MoveSpec& m) {
      return m.overlap > Duration{0} && (!m.node || *m.node == i);
    });
    if (needs) mobiles_[i]->add_host_interface(sim_.next_mac(), "mn1");
  }
}

void Scenario::build_mobile(std::size_t index) {
  const MobileNodesSpec& s = spec_.mobile_nodes;
  const MacAddress mac = sim_.next_mac();
  const wire::Ipv6Address home = eui64_address(kHomePrefix, mac);
  // The mobile node solicits through its engine (§11.5.1), not through the host's own RS.
  HostConfig host;
  host.send_rs = false;
  host.slaac.optimistic_dad = s.optimistic_dad;
  host.slaac.skip_dad = [home](const wire::Ipv6Address& a) { return a == home; };
  const std::string name = node_name(index);
  auto& mn = sim_.add_node<MobileHost>(name, host, derive_seed(sim_.seed(), "node/" + name));
  mn.add_host_interface(mac, "mn0");
  if (index > 0 && s.count > kLoggedPopulation) mn.set_log_enabled(false);
  mobiles_.push_back(&mn);
}

void Scenario::start_trace() {
  if (!trace_) return;
  trace_->observe(*mobiles_.front());
  for (const auto& node : sim_.nodes()) {
    if (dynamic_cast<const MobileHost*>(node.get()) == nullptr) trace_->name_node(*node);
  }
  trace_->set_link_router("home", spec_.home_agents.front().name);
  trace_->set_link_router("a", "ar-a");
  trace_->set_link_router("b", "ar-b");
  trace_->set_link_router("cn", "core");
  trace_->expect_ra(spec_.mobile_nodes.start_link);
  for (const auto& link : sim_.links()) {
    link->set_observer([trace = trace_.get()](const Link& l, TimePoint at, const Frame& frame) {
      trace->on_frame(l, at, frame);
    });
  }
}

wire::Ipv6Address Scenario::home_address(std::size_t i) const {
  return eui64_address(kHomePrefix, mobiles_[i]->interfaces().front()->mac());
}

TimePoint Scenario::traffic_stop() const {
  return spec_.traffic.stop.value_or(end());
}

// Each node is started (its engine created) at once and attached to its start link at
// index * start_stagger. Node 0 carries the traffic.
void Scenario::start_traffic() {
  const MobileNodesSpec& s = spec_.mobile_nodes;
  for (std::size_t i = 0; i < mobiles_.size(); ++i) {
    MobileHost& mn = *mobiles_[i];
    core::MobileNodeConfig config;
    std::vector<wire::Ipv6Address> agents;
    if (s.home_agent) agents.push_back(*s.home_agent);  // else DHAAD (§11.4.1)
    config.home_addresses = {core::HomeAddressConfig{home_address(i), 64, std::move(agents)}};
    config.registration_lifetime = s.registration_lifetime;
    config.movement.l2_hint_implies_movement = s.link_hints;  // §11.5.1
    if (s.probe_timeout) config.movement.probe_timeout = *s.probe_timeout;
    config.route_optimization.route_optimize_by_default = s.route_optimization;
    // A node with a second radio (overlapping coverage) prefers it: when it comes up on the
    // new link the node switches at once (draft-04 §9.2), before the first radio leaves.
    if (mn.interfaces().size() > 1)
      config.movement.interface_preference = {mn.interfaces()[1]->ifindex()};
    config.log_bindings = i == 0 || s.count <= kLoggedPopulation;
    mn.start(std::move(config));
    Link* link = sim_.find_link(s.start_link);
    Interface& radio = *mn.interfaces().front();
    const TimePoint at = TimePoint(s.start_stagger * static_cast<std::int64_t>(i));
    if (at == TimePoint{}) {
      link->attach(radio);
    } else {
      sim_.scheduler().schedule(at, [link, &radio] { link->attach(radio); });
    }
  }
  const TrafficSpec& t = spec_.traffic;
  MobileHost& mn = *mobiles_.front();
  const wire::Ipv6Address home = home_address(0);
  if (t.ping_interval) {
    mn.set_echo_reply(true);
    mn.set_data_callback([this](const DeliveredData& data) {
      auto sequence = ping_sequence(data.packet);
      if (!sequence || *sequence >= ping_arrivals_.size()) return;
      PingArrival& arrival = ping_arrivals_[*sequence];
      if (arrival.at) return;
      arrival.at = data.at;
      arrival.path = data.path;
    });
    cn_->start_cbr(cn_address_, home, *t.ping_interval, t.start, traffic_stop());
  }
  if (t.cbr_interval && t.cbr_to_mobile)
    cn_->start_udp_cbr(cn_address_, home, *t.cbr_interval, t.cbr_payload, t.start, traffic_stop());
  if (t.cbr_interval && t.cbr_from_mobile)
    mn.start_udp_cbr(cn_address_, *t.cbr_interval, t.cbr_payload, t.start, traffic_stop());
}

// ---------------------------------------------------------------------------------------------
// Moves and events

void Scenario::schedule_moves() {
  std::vector<MoveSpec> moves = spec_.moves;
  std::stable_sort(moves.begin(), moves.end(),
                   [](const MoveSpec& x, const MoveSpec& y) { return x.at < y.at; });
  for (const MoveSpec& move : moves) {
    if (!move.node || *move.node == 0) observed_moves_.push_back(move);
    if (move.node) {
      if (*move.node < mobiles_.size()) schedule_move(move, *move.node);
      continue;
    }
    for (std::size_t i = 0; i < mobiles_.size(); ++i)
      schedule_move(move, i);
  }
}

// Break before make: the radio moves to the new link (detach + attach). Make before break
// (overlap > 0): the other radio attaches to the new link at `at`, the current one leaves the
// old link at `at + overlap`, and the radios swap roles.
void Scenario::schedule_move(const MoveSpec& move, std::size_t node) {
  Link* link = sim_.find_link(move.link);
  if (link == nullptr) return;
  const TimePoint at = move.at + spec_.mobile_nodes.move_stagger * static_cast<std::int64_t>(node);
  const bool observed = node == 0;
  if (move.overlap <= Duration{0}) {
    sim_.scheduler().schedule(at, [this, link, node, observed] {
      MobileHost& mn = *mobiles_[node];
      const std::size_t radio = radio_.empty() ? 0 : radio_[node];
      link->attach(*mn.interfaces()[radio]);
      if (observed) {
        note(sim_.now(), "move to " + link->name());
        if (trace_) trace_->expect_ra(link->name());
      }
    });
    return;
  }
  sim_.scheduler().schedule(at, [this, link, node, observed] {
    MobileHost& mn = *mobiles_[node];
    const std::uint8_t next = radio_[node] == 0 ? 1 : 0;
    if (mn.interfaces().size() > next) link->attach(*mn.interfaces()[next]);
    if (observed) {
      note(sim_.now(), "move to " + link->name() + " (second radio)");
      if (trace_) trace_->expect_ra(link->name());
    }
  });
  sim_.scheduler().schedule(at + move.overlap, [this, node, observed] {
    MobileHost& mn = *mobiles_[node];
    Interface& old = *mn.interfaces()[radio_[node]];
    if (old.link() != nullptr) {
      if (observed) note(sim_.now(), "leave " + old.link()->name());
      old.link()->detach(old);
    }
    radio_[node] = radio_[node] == 0 ? 1 : 0;
  });
}

void Scenario::schedule_events() {
  for (const EventSpec& event : spec_.events)
    schedule_event(event);
}

HomeAgentNode* Scenario::find_home_agent(const std::string& name) const {
  for (HomeAgentNode* ha : home_agents_) {
    if (ha->name() == name || name.empty()) return ha;
  }
  return nullptr;
}

void Scenario::schedule_event(const EventSpec& event) {
  switch (event.kind) {
    case EventKind::kLossBurst: {
      Link* link = sim_.find_link(event.target);
      if (link == nullptr) return;
      link->add_loss_burst(LossBurst{event.at, event.at + event.duration, event.loss});
      std::string what = "loss burst on " + event.target + " for " + millis_whole(event.duration);
      if (event.loss < 1.0) what += " (loss " + std::to_string(event.loss) + ")";
      sim_.scheduler().schedule(event.at, [this, what] { note(sim_.now(), what); });
      return;
    }
    case EventKind::kHomeAgentCrash:
    case EventKind::kHomeAgentRestart: {
      HomeAgentNode* ha = find_home_agent(event.target);
      if (ha == nullptr) return;
      const bool crash = event.kind == EventKind::kHomeAgentCrash;
      sim_.scheduler().schedule(event.at, [this, ha, crash] {
        if (crash) {
          ha->crash();
          if (ha == home_agents_.front()) reroute_home_link();
        } else {
          ha->restart();
        }
        note(sim_.now(), ha->name() + (crash ? " crash" : " restart"));
      });
      return;
    }
    case EventKind::kCorrespondentReboot:
      sim_.scheduler().schedule(event.at, [this] {
        cn_->reboot();
        note(sim_.now(), "cn reboot");
      });
      return;
    case EventKind::kRenumberHome: {
      if (!event.new_prefix) return;
      const wire::Ipv6Address fresh = *event.new_prefix;
      sim_.scheduler().schedule(event.at, [this, fresh] {
        // The core reaches the new home prefix the way it reaches the old one.
        core_->add_route(Route{fresh, 64, core_up_, address("2001:db8:ff::1")});
        for (HomeAgentNode* ha : home_agents_)
          ha->renumber_home(kHomePrefix, fresh);
        note(sim_.now(), "renumber home to " + fresh.to_string() + "/64");
      });
      return;
    }
  }
}

// The first home agent is gone: the core now reaches the home link through the second one, as a
// routing protocol would converge to. Two /65 routes are more specific than the /64 through the
// dead router (Router has no route removal), and stay harmlessly after a restart (the second
// home agent forwards onto the home link).
void Scenario::reroute_home_link() {
  if (home_agents_.size() < 2 || rerouted_) return;
  rerouted_ = true;
  wire::Ipv6Address upper = kHomePrefix;
  upper.bytes[8] = 0x80;
  const wire::Ipv6Address gateway = address("2001:db8:ff::2");
  core_->add_route(Route{kHomePrefix, 65, core_up_, gateway});
  core_->add_route(Route{upper, 65, core_up_, gateway});
}

void Scenario::note(TimePoint at, std::string what) {
  timeline_.push_back(EventRecord{at, std::move(what)});
}

// ---------------------------------------------------------------------------------------------
// Running

void Scenario::run(const std::function<void(const ScenarioProgress&)>& progress) {
  // Every ping has a record before it can arrive: the sequence numbers are known ahead.
  if (spec_.traffic.ping_interval && traffic_stop() > spec_.traffic.start) {
    const Duration interval = *spec_.traffic.ping_interval;
    const auto count = (traffic_stop() - spec_.traffic.start + interval - 1ns) / interval;
    ping_arrivals_.assign(static_cast<std::size_t>(count), PingArrival{});
  }
  Scheduler& scheduler = sim_.scheduler();
  const TimePoint stop = end() + kDrain;
  // Running in one-second slices changes nothing: events run in time order either way.
  for (TimePoint t = scheduler.now() + 1s; progress && t < stop; t += 1s) {
    scheduler.run_until(t);
    progress(ScenarioProgress{scheduler.now(), end(), scheduler.executed()});
  }
  scheduler.run_until(stop);
  events_ = scheduler.executed();
  if (progress) progress(ScenarioProgress{scheduler.now(), end(), events_});
}

const wire::Bytes& Scenario::pcap(const std::string& link) const {
  static const wire::Bytes kEmpty;
  const Link* l = sim_.find_link(link);
  return l != nullptr && l->pcap() != nullptr ? l->pcap()->bytes() : kEmpty;
}

bool Scenario::write_pcaps(const std::string& directory, std::string& error) const {
  if (!spec_.capture) {
    error = "no capture (capture is off)";
    return false;
  }
  for (const char* name : kStandardLinks) {
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

// ---------------------------------------------------------------------------------------------
// Results

ScenarioResult Scenario::result() const {
  ScenarioResult r;
  r.name = spec_.name;
  r.description = spec_.description;
  r.seed = spec_.seed;
  r.simulated = spec_.duration;
  r.events = events_;
  r.packets = packets();
  r.flows = flows(r.packets);
  std::vector<PacketRecord> down;
  for (const PacketRecord& p : r.packets) {
    if (p.flow != "cbr-up") down.push_back(p);
  }
  for (std::size_t i = 0; i < observed_moves_.size(); ++i)
    r.handovers.push_back(handover_for(i, down));
  r.timeline = timeline_;
  std::stable_sort(r.timeline.begin(), r.timeline.end(),
                   [](const EventRecord& x, const EventRecord& y) { return x.at < y.at; });
  if (trace_) r.signalling = trace_->records();
  r.population = population();
  for (const auto& link : sim_.links())
    r.links.push_back(ScenarioResult::LinkResult{link->name(), link->counters()});
  return r;
}

std::vector<HandoverReport> Scenario::handovers() const {
  std::vector<PacketRecord> down;
  for (const PacketRecord& p : packets()) {
    if (p.flow != "cbr-up") down.push_back(p);
  }
  std::vector<HandoverReport> out;
  for (std::size_t i = 0; i < observed_moves_.size(); ++i)
    out.push_back(handover_for(i, down));
  return out;
}

// Every datagram of every flow. "ping": the Echo Request sent -> its reply back at the
// correspondent, with the path the request took; "cbr-down" / "cbr-up": sent -> received.
// For the handover reports, a ping's `received` is replaced by the request's arrival (the
// downlink), see handover_for.
std::vector<PacketRecord> Scenario::packets() const {
  std::vector<PacketRecord> out;
  if (spec_.traffic.ping_interval) {
    std::vector<std::optional<TimePoint>> replies(cn_->cbr_sent().size());
    for (const auto& reply : cn_->cbr_replies()) {
      if (reply.sequence < replies.size() && !replies[reply.sequence])
        replies[reply.sequence] = reply.at;
    }
    for (const CbrSent& sent : cn_->cbr_sent()) {
      PacketRecord p{"ping", sent.sequence, sent.at, replies[sent.sequence], std::nullopt};
      if (sent.sequence < ping_arrivals_.size()) p.path = ping_arrivals_[sent.sequence].path;
      out.push_back(std::move(p));
    }
  }
  const auto flow = [&out](const char* name, const std::vector<UdpSent>& sent,
                           const std::vector<UdpReceived>& received) {
    std::vector<const UdpReceived*> by_sequence(sent.size(), nullptr);
    for (const UdpReceived& r : received) {
      if (r.sequence < by_sequence.size() && by_sequence[r.sequence] == nullptr)
        by_sequence[r.sequence] = &r;
    }
    for (const UdpSent& s : sent) {
      PacketRecord p{name, s.sequence, s.at, std::nullopt, std::nullopt};
      if (const UdpReceived* r =
              s.sequence < by_sequence.size() ? by_sequence[s.sequence] : nullptr) {
        p.received = r->at;
        p.path = r->path;
      }
      out.push_back(std::move(p));
    }
  };
  const MobileHost& mn = *mobiles_.front();
  flow("cbr-down", cn_->udp_sent(), mn.udp_received());
  // The uplink's path is the one the node sent it by (the correspondent cannot tell a reverse-
  // tunnelled datagram from one sent at home).
  const std::size_t up_start = out.size();
  flow("cbr-up", mn.udp_sent(), cn_->udp_received());
  for (std::size_t i = up_start; i < out.size(); ++i) {
    const UdpSent& s = mn.udp_sent()[i - up_start];
    if (out[i].received) out[i].path = s.path;
  }
  return out;
}

std::vector<FlowSummary> Scenario::flows(const std::vector<PacketRecord>& packets) const {
  std::vector<FlowSummary> out;
  std::vector<Duration> total;
  for (const PacketRecord& p : packets) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const FlowSummary& f) { return f.flow == p.flow; });
    if (it == out.end()) {
      FlowSummary summary;
      summary.flow = p.flow;
      out.push_back(std::move(summary));
      total.push_back(Duration{0});
      it = out.end() - 1;
    }
    FlowSummary& f = *it;
    ++f.sent;
    if (!p.received) {
      ++f.lost;
      continue;
    }
    ++f.received;
    if (p.path == PathKind::kRouteOptimized) ++f.direct;
    if (p.path == PathKind::kTunnel) ++f.tunnel;
    if (p.path == PathKind::kHome) ++f.home;
    const Duration delay = *p.received - p.sent;
    if (!f.delay_min || delay < *f.delay_min) f.delay_min = delay;
    if (!f.delay_max || delay > *f.delay_max) f.delay_max = delay;
    total[static_cast<std::size_t>(it - out.begin())] += delay;
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].received > 0)
      out[i].delay_mean = total[i] / static_cast<std::int64_t>(out[i].received);
  }
  return out;
}

// One handover of the observed node: the phases from its log, the downlink packets sent from the
// move until the next move (or the end).
HandoverReport Scenario::handover_for(std::size_t index,
                                      const std::vector<PacketRecord>& down) const {
  const MoveSpec& move = observed_moves_[index];
  const TimePoint until =
      index + 1 < observed_moves_.size() ? observed_moves_[index + 1].at : end();
  HandoverReport r;
  r.to = move.link;
  r.at = move.at;
  std::optional<TimePoint> ra, usable, bu_home, rr_start;
  bool bu_correspondent = false;
  // RFC 4429: an optimistic address is usable at once; otherwise once DAD passed.
  const char* ready = spec_.mobile_nodes.optimistic_dad ? "addr+ " : "addr ready ";
  for (const MobileEvent& e : mobiles_.front()->log()) {
    if (e.at < move.at || e.at >= until) continue;
    if (!ra && starts_with(e.what, "rx RA ")) ra = e.at;
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
  for (const PacketRecord& p : down) {
    // The downlink of a ping is the Echo Request's arrival at the node.
    std::optional<TimePoint> received = p.received;
    if (p.flow == "ping") {
      received = p.sequence < ping_arrivals_.size() ? ping_arrivals_[p.sequence].at : std::nullopt;
    }
    if (received && *received >= move.at && *received < until &&
        (!r.total || *received - move.at < *r.total))
      r.total = *received - move.at;
    if (p.sent < move.at || p.sent >= until) continue;
    ++r.packets_sent;
    if (!received || !p.path) {
      ++r.packets_lost;
    } else if (*p.path == PathKind::kRouteOptimized) {
      ++r.received_direct;
    } else if (*p.path == PathKind::kTunnel) {
      ++r.received_tunnel;
    } else {
      ++r.received_home;
    }
  }
  return r;
}

PopulationReport Scenario::population() const {
  PopulationReport p;
  p.mobile_nodes = mobiles_.size();
  // Valid home registrations only: a de-registered entry lingers, invalid, for
  // MAX_DELETE_BCE_TIMEOUT (§10.3.2).
  for (HomeAgentNode* ha : home_agents_) {
    if (ha->crashed()) continue;
    ha->engine().cache().for_each([&p](const core::BindingCacheEntry& e) {
      if (e.home_registration && e.state == core::BindingState::kValid) ++p.registered_at_end;
    });
  }
  std::vector<Duration> first;
  first.reserve(mobiles_.size());
  for (const MobileHost* mn : mobiles_) {
    const auto stats = mn->registration_stats();
    p.binding_updates += stats.bu_home_sent;
    p.binding_acks += stats.ba_received;
    p.ba_rejected += stats.ba_rejected;
    if (stats.first_registration) first.push_back(*stats.first_registration);
  }
  std::sort(first.begin(), first.end());
  p.registration_p50 = percentile(first, 50);
  p.registration_p99 = percentile(first, 99);
  if (!first.empty()) p.registration_max = first.back();
  return p;
}

// ---------------------------------------------------------------------------------------------
// The basic handover scenario

std::vector<Move> basic_moves() {
  return {Move{TimePoint(5s), "a"}, Move{TimePoint(15s), "b"}, Move{TimePoint(25s), "home"}};
}

ScenarioSpec handover_spec(const HandoverScenarioConfig& config) {
  ScenarioSpec spec;
  spec.name = "handover";
  spec.seed = config.seed;
  spec.duration = config.end.time_since_epoch();
  spec.ra = config.fast ? RaTiming::kFast : RaTiming::kDefault;
  for (const char* name : kStandardLinks) {
    LinkParams params;
    params.delay = is_access_link(name) ? config.access_delay : config.backbone_delay;
    spec.links.push_back(LinkSpec{name, params});
  }
  HomeAgentSpec ha;
  ha.address = kDefaultHomeAgent;
  spec.home_agents = {ha};
  spec.mobile_nodes.home_agent = kDefaultHomeAgent;
  spec.mobile_nodes.optimistic_dad = config.fast;
  spec.mobile_nodes.route_optimization = config.route_optimization;
  spec.mobile_nodes.probe_timeout = config.probe_timeout;
  for (const Move& move : config.moves)
    spec.moves.push_back(MoveSpec{move.at, move.link, Duration{0}, std::nullopt});
  spec.traffic.ping_interval = config.cbr_interval;
  spec.traffic.start = config.cbr_start;
  spec.traffic.stop = config.end;
  return spec;
}

HandoverScenario::HandoverScenario(HandoverScenarioConfig config)
    : scenario_(handover_spec(config)), home_address_(scenario_.home_address()) {
  scenario_.mobile().set_echo_reply(config.echo_reply);
}

void HandoverScenario::run() {
  scenario_.run();
  const auto& sent = scenario_.correspondent().cbr_sent();
  const auto& arrivals = scenario_.ping_arrivals();
  traffic_.resize(sent.size());
  for (std::size_t i = 0; i < sent.size(); ++i) {
    traffic_[i].sequence = sent[i].sequence;
    traffic_[i].sent = sent[i].at;
    if (sent[i].sequence < arrivals.size()) {
      traffic_[i].received = arrivals[sent[i].sequence].at;
      traffic_[i].path = arrivals[sent[i].sequence].path;
    }
  }
}

}  // namespace mipv6::sim
