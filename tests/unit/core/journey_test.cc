// One whole journey of a mobile node (issue 4): home -> foreign link A -> foreign link B -> home,
// with the real HomeAgent and CorrespondentNode engines in one process. The test plays the links,
// the routers and the Internet: it carries every Transmit to the node it is addressed to, lets the
// home agent intercept and tunnel what is sent to the home address (RFC 6275 §10.4.1) and
// decapsulate what is reverse-tunnelled (§10.4.5), answers the home agent's DAD, sends each
// link's Router Advertisements, the SLAAC care-of addresses (AddressAdded) and the reachability
// of routers (NeighborReachability), and drops what is sent to a link the mobile node left.
// It asserts the exact signalling exchanged in each phase and the path of every data packet
// (ICMPv6 Echo Requests from the correspondent to the home address).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/binding_cache.h"
#include "core/correspondent_node.h"
#include "core/home_agent.h"
#include "core/mobile_node.h"
#include "core/signalling.h"
#include "test_shuttle.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using shuttle::Sent;
using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

constexpr std::uint32_t kMnIf = 1;
constexpr std::uint32_t kHaIf = 7;
const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kHaLl = addr("fe80::1");
const Ipv6Address kRouterA = addr("fe80::a");
const Ipv6Address kRouterB = addr("fe80::b");
const Ipv6Address kCoaA = addr("2001:db8:a::100");
const Ipv6Address kCoaB = addr("2001:db8:b::100");
const Ipv6Address kCn = addr("2001:db8:c::c");
const Ipv6Address kMnLl = addr("fe80::ff:100");
const LinkLayerAddress kHaMac{0x02, 0, 0, 0, 0, 0x01};
const LinkLayerAddress kMnMac{0x02, 0, 0, 0, 0x01, 0x00};
const TimePoint kStart = TimePoint(1000s);
constexpr std::uint16_t kDataId = 0x4d4e;

enum class Link { kHome, kA, kB };

// The path a data packet took to the mobile node.
enum class Path { kLost, kHomeLink, kTunnel, kType2 };

const char* path_name(Path path) {
  switch (path) {
    case Path::kLost:
      return "lost";
    case Path::kHomeLink:
      return "home-link";
    case Path::kTunnel:
      return "tunnel";
    case Path::kType2:
      return "type2";
  }
  return "";
}

// "BU(H)", "BA 0", "HoTI"...: what the trace records for a Mobility Header or an NA.
std::string label(const Sent& sent) {
  if (const auto* bu = sent.message<wire::BindingUpdate>()) {
    std::string out = bu->h() ? "BU(H" : "BU(";
    if (bu->lifetime == 0) out += bu->h() ? ",dereg" : "del";
    return out + ")";
  }
  if (const auto* ba = sent.message<wire::BindingAcknowledgement>())
    return "BA " + std::to_string(ba->status);
  if (sent.message<wire::HomeTestInit>()) return "HoTI";
  if (sent.message<wire::CareOfTestInit>()) return "CoTI";
  if (sent.message<wire::HomeTest>()) return "HoT";
  if (sent.message<wire::CareOfTest>()) return "CoT";
  if (sent.message<wire::BindingRefreshRequest>()) return "BRR";
  if (sent.message<wire::BindingError>()) return "BE";
  if (sent.icmp_body<wire::NeighborAdvertisement>()) return "NA";
  return "";
}

using Trace = std::vector<std::string>;

class JourneyTest : public ::testing::Test {
 protected:
  JourneyTest()
      : cache_(64),
        ha_(ha_config(), cache_, ha_rng_),
        cn_(cn_config(), cn_rng_, kStart),
        mn_(mn_config(), mn_rng_) {}

  static HomeAgentConfig ha_config() {
    HomeAgentConfig config;
    config.home_ifindex = kHaIf;
    config.addresses = {kHa};
    config.link_local_address = kHaLl;
    config.link_layer_address = kHaMac;
    config.prefixes = {
        HomePrefix{addr("2001:db8:1::"), 64, std::nullopt, std::nullopt, true, true}};
    config.max_lifetime = 3600s;
    return config;
  }
  static CorrespondentNodeConfig cn_config() {
    CorrespondentNodeConfig config;
    config.addresses = {kCn};
    return config;
  }
  static MobileNodeConfig mn_config() {
    MobileNodeConfig config;
    config.home_addresses = {HomeAddressConfig{kHoa, 64, {kHa}}};
    config.link_local_address = kMnLl;
    config.link_layer_address = kMnMac;
    return config;
  }

  // ---- the links and routers

  static Ipv6Address router_of(Link link) {
    switch (link) {
      case Link::kHome:
        return kHaLl;
      case Link::kA:
        return kRouterA;
      case Link::kB:
        return kRouterB;
    }
    return {};
  }
  static Ipv6Address care_of_of(Link link) { return link == Link::kA ? kCoaA : kCoaB; }
  // Where the mobile node on `link_` can receive, and send from (ingress filtering).
  bool on_current_link(const Ipv6Address& address) const {
    if (address.is_link_local() || address.is_unspecified()) return true;
    if (link_ == Link::kHome) return address == kHoa;
    return address == care_of_of(link_);
  }

  // RFC 4861 §6.2.3: the router of the current link advertises its prefix; the home agent also
  // sets H (RFC 6275 §7.1) and its Source Link-Layer Address.
  void advertise() {
    wire::RouterAdvertisement ra;
    ra.cur_hop_limit = 64;
    ra.router_lifetime = 1800;
    wire::PrefixInformationOption pio;
    pio.prefix_length = 64;
    pio.l = true;
    pio.a = true;
    pio.valid_lifetime = 2592000;
    pio.preferred_lifetime = 604800;
    pio.prefix = link_ == Link::kHome ? addr("2001:db8:1::")
                 : link_ == Link::kA  ? addr("2001:db8:a::")
                                      : addr("2001:db8:b::");
    ra.options.emplace_back(pio);
    if (link_ == Link::kHome) {
      ra.h = true;
      wire::SourceLinkLayerAddressOption sllao;
      for (auto octet : kHaMac)
        sllao.link_layer_address.push_back(std::byte{octet});
      ra.options.emplace_back(sllao);
    }
    wire::Icmpv6Message message;
    message.body = ra;
    auto bytes = build_icmpv6_packet(
        {router_of(link_), addr("ff02::1"), std::nullopt, std::nullopt, 255}, message);
    mn_.on_packet(shuttle::rx(bytes, kMnIf), now_);
    ++ras_;
  }

  // ---- the shuttle

  // Carries every queued action until all three engines are quiet.
  void pump() {
    for (int round = 0; round < 100; ++round) {
      bool busy = false;
      for (auto& action : mn_.take_actions())
        busy |= from_mn(action);
      for (auto& action : ha_.take_actions())
        busy |= from_ha(action);
      for (auto& action : cn_.take_actions())
        busy |= from_cn(action);
      mn_.take_route_changes();
      if (!busy) return;
    }
    FAIL() << "the engines never went quiet";
  }

  bool from_mn(const Action& action) {
    const auto* transmit = std::get_if<Transmit>(&action);
    if (transmit == nullptr) return false;
    Sent sent = shuttle::decode_sent(*transmit);
    EXPECT_TRUE(sent.checksum_valid || sent.layout.upper_protocol == wire::ip_proto::kIpv6);
    const auto& ip = sent.layout.ipv6;
    if (!on_current_link(ip.source)) {
      ++mn_lost_;  // sent from an address of a link the node left
      return true;
    }
    if (const auto* ns = sent.icmp_body<wire::NeighborSolicitation>()) {
      answer_solicitation(*ns);
    } else if (sent.icmp_body<wire::RouterSolicitation>()) {
      ++rs_;
      advertise();  // RFC 4861 §6.2.6: the router answers
    } else if (sent.icmp_body<wire::NeighborAdvertisement>()) {
      trace_.push_back("MN>link " + label(sent));
      if (link_ == Link::kHome) ha_.on_packet(shuttle::rx(sent.bytes, kHaIf), now_);
    } else if (ip.destination == kHa && sent.layout.upper_protocol == wire::ip_proto::kIpv6) {
      reverse_tunnel(sent);
    } else if (ip.destination == kHa) {
      trace_.push_back("MN>HA " + label(sent));
      ha_.on_packet(shuttle::rx(sent.bytes, kHaIf), now_);
    } else if (ip.destination == kCn) {
      trace_.push_back("MN>CN " + label(sent));
      cn_.on_packet(shuttle::rx(sent.bytes), now_);
    } else {
      ADD_FAILURE() << "MN sent to " << ip.destination.to_string();
    }
    return true;
  }

  // A probe of a router (§11.5.1) or, at home, a solicitation for the home agent (§11.5.5).
  void answer_solicitation(const wire::NeighborSolicitation& ns) {
    ++probes_;
    mn_.on_event(
        NeighborReachability{kMnIf, ns.target_address, ns.target_address == router_of(link_)},
        now_);
  }

  // §10.4.5: the home agent decapsulates and forwards what comes from the registered care-of
  // address.
  void reverse_tunnel(const Sent& outer) {
    auto inner = wire::decapsulate(outer.bytes);
    ASSERT_TRUE(inner.has_value());
    wire::Bytes inner_bytes(inner->begin(), inner->end());
    Sent sent = shuttle::decode_sent(Transmit{inner_bytes, 0, std::nullopt, Protection::kNone});
    ASSERT_TRUE(ha_.accept_reverse_tunnelled(outer.layout.ipv6.source, sent.layout.ipv6.source,
                                             Protection::kNone));
    ASSERT_EQ(sent.layout.ipv6.destination, kCn);
    trace_.push_back("MN>CN " + label(sent) + " (tunnel)");
    cn_.on_packet(shuttle::rx(inner_bytes), now_);
  }

  bool from_ha(const Action& action) {
    if (const auto* dad = std::get_if<StartDad>(&action)) {
      ha_.on_event(DadResult{dad->ifindex, dad->address, false}, now_);  // nobody else has it
      return true;
    }
    const auto* transmit = std::get_if<Transmit>(&action);
    if (transmit == nullptr) return false;
    Sent sent = shuttle::decode_sent(*transmit);
    const auto& destination = sent.layout.ipv6.destination;
    if (destination.is_multicast()) return true;  // proxy NAs on the home link
    if (destination == kCn) {
      cn_.on_packet(shuttle::rx(sent.bytes), now_);
    } else {
      trace_.push_back("HA>MN " + label(sent));
      to_mn(sent.bytes);
    }
    return true;
  }

  bool from_cn(const Action& action) {
    const auto* transmit = std::get_if<Transmit>(&action);
    if (transmit == nullptr) return false;
    Sent sent = shuttle::decode_sent(*transmit);
    std::string what = label(sent);
    if (!what.empty()) trace_.push_back("CN>MN " + what);
    to_home_address(sent.bytes);
    return true;
  }

  // A packet from the Internet for the mobile node: with a Type 2 Routing header it goes to the
  // care-of address; to the home address the home agent intercepts it when it holds a binding
  // (§10.4.1), else it reaches the home link.
  Path to_home_address(const wire::Bytes& bytes) {
    auto packet = shuttle::rx(bytes);
    if (packet.layout.type2_address || packet.layout.ipv6.destination != kHoa) return to_mn(bytes);
    auto decision = ha_.decide_intercepted(packet, now_);
    if (decision.verdict == InterceptVerdict::kTunnel) {
      EXPECT_EQ(decision.targets.size(), 1u);
      const auto& target = decision.targets.front();
      return to_mn(wire::encapsulate(bytes, {target.local_address, target.care_of_address}));
    }
    EXPECT_EQ(decision.verdict, InterceptVerdict::kNotOurs);
    return to_mn(bytes);
  }

  // Delivers to the mobile node if it is on the link of the destination; decapsulates first
  // (the data plane's job, RxPacket::tunnel records the outer header).
  Path to_mn(const wire::Bytes& bytes) {
    auto outer = shuttle::rx(bytes, kMnIf);
    if (!on_current_link(outer.layout.ipv6.destination)) return Path::kLost;
    Path path = outer.layout.type2_address ? Path::kType2 : Path::kHomeLink;
    wire::Bytes inner_bytes = bytes;
    std::optional<TunnelOuter> tunnel;
    if (outer.layout.upper_protocol == wire::ip_proto::kIpv6) {
      auto inner = wire::decapsulate(bytes);
      EXPECT_TRUE(inner.has_value());
      if (!inner) return Path::kLost;
      inner_bytes.assign(inner->begin(), inner->end());
      tunnel = TunnelOuter{outer.layout.ipv6.source, outer.layout.ipv6.destination};
      path = Path::kTunnel;
    }
    auto packet = shuttle::rx(inner_bytes, kMnIf);
    packet.tunnel = tunnel;
    // §11.3.3: the data plane processes a Type 2 Routing header only when the engine says so.
    if (!mn_.accept_type2(packet)) return Path::kLost;
    mn_.on_packet(packet, now_);
    return path;
  }

  // ---- the correspondent's data traffic and time

  // Sends `count` Echo Requests to the home address, as the correspondent's data plane would
  // (§9.3.2: to the care-of address with a Type 2 Routing header when it holds a binding).
  std::vector<Path> send_data(int count) {
    std::vector<Path> paths;
    for (int i = 0; i < count; ++i) {
      wire::Icmpv6Message message;
      wire::EchoRequest echo;
      echo.identifier = kDataId;
      echo.sequence_number = ++data_sequence_;
      message.body = echo;
      auto care_of = cn_.care_of_address_for(kHoa, now_);
      std::optional<Ipv6Address> type2;
      if (care_of) type2 = kHoa;
      auto bytes =
          build_icmpv6_packet({kCn, care_of.value_or(kHoa), std::nullopt, type2, 64}, message);
      paths.push_back(to_home_address(bytes));
      pump();
      now_ += 100ms;
    }
    return paths;
  }

  void advance(Duration span) {
    const TimePoint end = now_ + span;
    for (int round = 0; round < 10000; ++round) {
      std::optional<TimePoint> next;
      for (const Engine* engine : std::initializer_list<const Engine*>{&mn_, &ha_, &cn_}) {
        auto deadline = engine->next_deadline();
        if (deadline && (!next || *deadline < *next)) next = deadline;
      }
      if (!next || *next > end) break;
      now_ = std::max(now_, *next);
      mn_.on_timeout(now_);
      ha_.on_timeout(now_);
      cn_.on_timeout(now_);
      pump();
    }
    now_ = end;
  }

  // The node attaches to `link`: link-up hint (§11.5.1), then SLAAC gives the care-of address.
  void attach(Link link) {
    link_ = link;
    mn_.on_event(LinkUp{kMnIf}, now_);
    pump();
    if (link != Link::kHome) {
      mn_.on_event(AddressAdded{kMnIf, care_of_of(link), 64, std::nullopt, std::nullopt, false},
                   now_);
      pump();
    }
  }

  Trace take_trace() { return std::exchange(trace_, {}); }

  // Each attachment: one Router Solicitation answered by the link's router (RFC 4861 §6.3.7),
  // and after the first, one probe of the previous router, which is gone (§11.5.1).
  void expect_neighbor_discovery(int solicitations, int probes) const {
    EXPECT_EQ(rs_, solicitations);
    EXPECT_EQ(ras_, solicitations);
    EXPECT_EQ(probes_, probes);
  }

  BindingCache cache_;
  SplitMix64 ha_rng_{11};
  SplitMix64 cn_rng_{33};
  SplitMix64 mn_rng_{22};
  HomeAgent ha_;
  CorrespondentNode cn_;
  MobileNode mn_;
  TimePoint now_ = kStart;
  Link link_ = Link::kHome;
  Trace trace_;
  std::uint16_t data_sequence_ = 0;
  int rs_ = 0;
  int ras_ = 0;
  int probes_ = 0;
  int mn_lost_ = 0;
};

std::vector<Path> all(Path path, std::size_t count) {
  return std::vector<Path>(count, path);
}

std::string describe(const std::vector<Path>& paths) {
  std::string out;
  for (auto path : paths)
    out += std::string(path_name(path)) + " ";
  return out;
}

TEST_F(JourneyTest, HomeToForeignLinkAToForeignLinkBToHome_11) {
  // ---- At home (§11.5.2): nothing to register; data reaches the home link directly.
  attach(Link::kHome);
  EXPECT_EQ(mn_.state(kHoa), HomeState::kAtHome);
  EXPECT_TRUE(take_trace().empty());
  EXPECT_EQ(describe(send_data(3)), describe(all(Path::kHomeLink, 3)));
  EXPECT_TRUE(take_trace().empty());
  expect_neighbor_discovery(1, 0);

  // ---- Foreign link A: the home router stops answering; RA of A; SLAAC care-of address.
  now_ += 10s;
  // Handover window: on link A before any registration, packets for the home address still
  // reach the home link and are lost.
  link_ = Link::kA;
  EXPECT_EQ(describe(send_data(1)), describe({Path::kLost}));
  attach(Link::kA);
  EXPECT_EQ((Trace{"MN>HA BU(H)", "HA>MN BA 0"}), take_trace());  // §11.7.1, §10.3.1
  EXPECT_EQ(mn_.state(kHoa), HomeState::kRegistered);
  ASSERT_NE(cache_.find(kHoa), nullptr);
  EXPECT_EQ(cache_.find(kHoa)->care_of_address, kCoaA);
  EXPECT_EQ(mn_.send_path(kHoa, kCn, now_).path, SendPath::kReverseTunnel);  // §11.3.1
  // The first data packet comes through the tunnel and triggers route optimisation (§11.7.2):
  // HoTI through the reverse tunnel, CoTI directly, then the BU once both tests answered.
  auto first = send_data(1);
  EXPECT_EQ(describe(first), describe({Path::kTunnel}));
  EXPECT_EQ((Trace{"MN>CN HoTI (tunnel)", "MN>CN CoTI", "CN>MN HoT", "CN>MN CoT", "MN>CN BU()",
                   "CN>MN BA 0"}),
            take_trace());
  EXPECT_EQ(mn_.send_path(kHoa, kCn, now_).path, SendPath::kRouteOptimized);
  // Stable at A: every packet goes directly with a Type 2 Routing header (§9.3.2, §11.3.3).
  EXPECT_EQ(describe(send_data(5)), describe(all(Path::kType2, 5)));
  advance(60s);
  EXPECT_EQ(describe(send_data(5)), describe(all(Path::kType2, 5)));
  EXPECT_TRUE(take_trace().empty());

  // Handover window: the node is on link B before it knows; the correspondent's binding still
  // names the care-of address on link A, so this packet is lost.
  link_ = Link::kB;
  EXPECT_EQ(describe(send_data(1)), describe({Path::kLost}));
  expect_neighbor_discovery(2, 1);

  // ---- Foreign link B: home registration first, then only a CoTI (the home token is reused,
  // §5.2.7, §11.6.1), then the BU to the correspondent.
  attach(Link::kB);
  EXPECT_EQ(
      (Trace{"MN>HA BU(H)", "HA>MN BA 0", "MN>CN CoTI", "CN>MN CoT", "MN>CN BU()", "CN>MN BA 0"}),
      take_trace());
  EXPECT_EQ(cache_.find(kHoa)->care_of_address, kCoaB);
  EXPECT_EQ(cn_.care_of_address_for(kHoa, now_), kCoaB);
  auto send = mn_.send_path(kHoa, kCn, now_);
  EXPECT_EQ(send.path, SendPath::kRouteOptimized);
  EXPECT_EQ(send.care_of_address, kCoaB);
  EXPECT_EQ(describe(send_data(5)), describe(all(Path::kType2, 5)));
  advance(60s);
  EXPECT_EQ(describe(send_data(5)), describe(all(Path::kType2, 5)));
  EXPECT_TRUE(take_trace().empty());
  expect_neighbor_discovery(3, 2);

  // Handover window: home, but the correspondent still sends to the care-of address on B.
  link_ = Link::kHome;
  EXPECT_EQ(describe(send_data(1)), describe({Path::kLost}));

  // ---- Home again (§11.5.5): de-registration straight to the home agent, the NAs, then the
  // correspondent's binding is deleted with the home token only (still fresh, §5.2.7).
  attach(Link::kHome);
  advance(5s);
  EXPECT_EQ((Trace{"MN>HA BU(H,dereg)", "HA>MN BA 0", "MN>link NA", "MN>CN BU(del)", "CN>MN BA 0",
                   "MN>link NA", "MN>link NA"}),
            take_trace());
  EXPECT_EQ(mn_.state(kHoa), HomeState::kAtHome);
  // §10.3.2: the home agent keeps the entry, invalid, for MAX_DELETE_BCE_TIMEOUT.
  ASSERT_NE(cache_.find(kHoa), nullptr);
  EXPECT_EQ(cache_.find(kHoa)->state, BindingState::kPendingDelete);
  EXPECT_EQ(cn_.care_of_address_for(kHoa, now_), std::nullopt);
  EXPECT_EQ(mn_.send_path(kHoa, kCn, now_).path, SendPath::kHome);
  EXPECT_EQ(describe(send_data(3)), describe(all(Path::kHomeLink, 3)));
  EXPECT_EQ(mn_lost_, 0);
  expect_neighbor_discovery(4, 3);
}

}  // namespace
}  // namespace mipv6::core
