// The mobile node's route optimisation driven against the real CorrespondentNode engine in
// one process: a small shuttle plays the network and the home agent (it decapsulates the
// reverse-tunnelled HoTI and tunnels what the correspondent sends to the home address), and
// time advances by arithmetic.
#include "core/route_optimization.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>

#include "core/correspondent_node.h"
#include "test_shuttle.h"
#include "wire/extension_headers.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using shuttle::actions_of;
using shuttle::decode_sent;
using shuttle::Sent;
using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kCoa = addr("2001:db8:2::100");
const Ipv6Address kCoa2 = addr("2001:db8:4::100");
const Ipv6Address kCn = addr("2001:db8:3::10");
const Ipv6Address kOther = addr("2001:db8:5::20");

Sent decode(const wire::Bytes& bytes) {
  Transmit transmit;
  transmit.packet = bytes;
  return decode_sent(transmit);
}

enum class Dir { kToCn, kToMn };

// One packet the shuttle carried, as the receiver saw it.
struct Hop {
  Dir dir;
  Sent sent;  // the inner packet when tunnelled
  bool tunnelled = false;
  std::uint8_t mh_type() const { return sent.mh ? sent.mh->mh_type() : 0xff; }
};

struct World {
  explicit World(RouteOptimizationConfig config = {}, CorrespondentNodeConfig cn_config = {},
                 std::uint64_t seed = 1)
      : mn_rng(seed),
        cn_rng(99),
        cn(with_address(std::move(cn_config)), cn_rng, now),
        ro(std::make_unique<RouteOptimization>(std::move(config), mn_rng)) {
    ro->set_home_address({kHoa, kHa, now + 3600s, false}, now);
    ro->set_primary_care_of_address(kCoa, now);
  }
  // The mobile node restarts: no Binding Update List, a new random sequence number.
  void reboot(std::uint64_t seed) {
    mn_rng = SplitMix64(seed);
    ro = std::make_unique<RouteOptimization>(RouteOptimizationConfig{}, mn_rng);
    ro->set_home_address({kHoa, kHa, now + 3600s, false}, now);
    ro->set_primary_care_of_address(coa, now);
  }
  static CorrespondentNodeConfig with_address(CorrespondentNodeConfig config) {
    config.addresses = {kCn};
    return config;
  }

  // A data packet from `from` to the home address, tunnelled by the home agent `outer_source`
  // to the care-of address (§11.7.2's trigger).
  bool deliver_tunnelled_data(const Ipv6Address& from, const Ipv6Address& to = kHoa,
                              const Ipv6Address& outer_source = kHa, std::uint16_t port = 5000) {
    wire::PacketSpec spec;
    spec.header.source = from;
    spec.header.destination = to;
    spec.upper_protocol = wire::ip_proto::kUdp;
    spec.upper = wire::Bytes(12);
    spec.upper[0] = std::byte{0x13};  // source port 5001
    spec.upper[1] = std::byte{0x89};
    spec.upper[2] = static_cast<std::byte>(port >> 8);
    spec.upper[3] = static_cast<std::byte>(port & 0xff);
    spec.upper[5] = std::byte{12};
    auto inner = wire::build_packet(spec);
    return to_mn(wire::encapsulate(inner, {outer_source, current_coa()}));
  }

  Ipv6Address current_coa() const { return coa; }
  void move_to(const Ipv6Address& care_of) {
    coa = care_of;
    ro->set_primary_care_of_address(care_of, now);
  }

  // Hands a whole packet to the mobile node: decapsulated (with RxPacket::tunnel) when it is
  // IPv6-in-IPv6.
  bool to_mn(const wire::Bytes& bytes) {
    packets.push_back(bytes);
    auto packet = make_rx_packet(packets.back(), 1);
    EXPECT_TRUE(packet.has_value());
    if (!packet) return false;
    if (packet->layout.upper_protocol == wire::ip_proto::kIpv6) {
      TunnelOuter outer{packet->layout.ipv6.source, packet->layout.ipv6.destination};
      auto inner = wire::decapsulate(packets.back());
      EXPECT_TRUE(inner.has_value());
      packet = make_rx_packet(*inner, 1);
      packet->tunnel = outer;
    }
    return ro->on_packet(*packet, now);
  }

  // Carries everything queued on both sides until nothing is left. The home agent's part:
  // reverse-tunnelled packets from the care-of address are decapsulated and forwarded; packets
  // to the home address are tunnelled to the current care-of address (§10.4.1, §10.4.5).
  void pump() {
    for (int round = 0; round < 20; ++round) {
      auto mn_out = actions_of<Transmit>(ro->take_actions());
      auto cn_out = actions_of<Transmit>(cn.take_actions());
      if (mn_out.empty() && cn_out.empty()) return;
      for (auto& transmit : mn_out)
        carry_to_cn(transmit.packet);
      for (auto& transmit : cn_out)
        carry_to_mn(transmit.packet);
    }
    ADD_FAILURE() << "shuttle did not settle";
  }
  void carry_to_cn(wire::Bytes bytes) {
    auto sent = decode(bytes);
    bool tunnelled = false;
    if (sent.layout.upper_protocol == wire::ip_proto::kIpv6) {
      EXPECT_EQ(sent.layout.ipv6.destination, kHa);  // the reverse tunnel ends at the HA
      auto inner = wire::decapsulate(bytes);
      bytes.assign(inner->begin(), inner->end());
      sent = decode(bytes);
      tunnelled = true;
    }
    trace.push_back({Dir::kToCn, sent, tunnelled});
    if (drop_to_cn && drop_to_cn(trace.back())) return;
    packets.push_back(bytes);
    cn.on_packet(shuttle::rx(packets.back()), now);
  }
  void carry_to_mn(wire::Bytes bytes) {
    auto sent = decode(bytes);
    const bool to_home = sent.layout.ipv6.destination == kHoa && !at_home;
    trace.push_back({Dir::kToMn, sent, to_home});
    if (drop_to_mn && drop_to_mn(trace.back())) return;
    if (hold_to_mn && hold_to_mn(trace.back())) {
      held.push_back(bytes);
      return;
    }
    if (to_home) bytes = wire::encapsulate(bytes, {kHa, coa});
    to_mn(bytes);
  }
  void release_held() {
    auto all = std::exchange(held, {});
    for (auto& bytes : all) {
      auto sent = decode(bytes);
      if (sent.layout.ipv6.destination == kHoa && !at_home)
        bytes = wire::encapsulate(bytes, {kHa, coa});
      to_mn(bytes);
    }
    pump();
  }

  // Advances time to `target`, running every deadline on the way at its instant.
  void advance(Duration by) {
    const auto target = now + by;
    for (;;) {
      auto next = ro->next_deadline();
      auto cn_next = cn.next_deadline();
      if (cn_next && (!next || *cn_next < *next)) next = cn_next;
      if (!next || *next > target) break;
      now = std::max(now, *next);
      ro->on_timeout(now);
      cn.on_timeout(now);
      pump();
    }
    now = target;
  }

  std::vector<Hop> hops(Dir dir, std::uint8_t mh_type) const {
    std::vector<Hop> out;
    for (const auto& hop : trace)
      if (hop.dir == dir && hop.mh_type() == mh_type) out.push_back(hop);
    return out;
  }
  std::size_t count(Dir dir, std::uint8_t mh_type) const { return hops(dir, mh_type).size(); }

  // The usual start: a tunnelled packet from the correspondent, then the whole exchange.
  void establish() {
    deliver_tunnelled_data(kCn);
    pump();
  }

  TimePoint now = TimePoint{} + 1000s;
  Ipv6Address coa = kCoa;
  bool at_home = false;
  SplitMix64 mn_rng;
  SplitMix64 cn_rng;
  CorrespondentNode cn;
  std::unique_ptr<RouteOptimization> ro;
  std::deque<wire::Bytes> packets;  // keeps received bytes alive
  std::vector<Hop> trace;
  std::vector<wire::Bytes> held;
  std::function<bool(const Hop&)> drop_to_cn;
  std::function<bool(const Hop&)> drop_to_mn;
  std::function<bool(const Hop&)> hold_to_mn;
};

const CorrespondentEntry& entry_of(const World& world, const Ipv6Address& cn = kCn) {
  static const CorrespondentEntry kNone{};
  const auto* entry = world.ro->find(cn, kHoa);
  EXPECT_NE(entry, nullptr);
  return entry ? *entry : kNone;
}

// ---------------------------------------------------------------------------------------------
// The whole procedure

TEST(RouteOptimization, FullReturnRoutabilityAndBindingAccepted_11_6_1_11_7_2) {
  World world;
  world.establish();
  // §11.6.1: HoTI from the home address through the reverse tunnel, CoTI direct.
  auto hoti = world.hops(Dir::kToCn, wire::kMhTypeHomeTestInit);
  ASSERT_EQ(hoti.size(), 1u);
  EXPECT_TRUE(hoti[0].tunnelled);
  EXPECT_EQ(hoti[0].sent.layout.ipv6.source, kHoa);
  auto coti = world.hops(Dir::kToCn, wire::kMhTypeCareOfTestInit);
  ASSERT_EQ(coti.size(), 1u);
  EXPECT_FALSE(coti[0].tunnelled);
  EXPECT_EQ(coti[0].sent.layout.ipv6.source, kCoa);
  // §11.7.2: BU from the care-of address with a Home Address option, Nonce Indices and
  // Binding Authorization Data last; A set; lifetime within MAX_RR_BINDING_LIFETIME.
  auto bu = world.hops(Dir::kToCn, wire::kMhTypeBindingUpdate);
  ASSERT_EQ(bu.size(), 1u);
  const auto& bu_sent = bu[0].sent;
  EXPECT_EQ(bu_sent.layout.ipv6.source, kCoa);
  EXPECT_EQ(bu_sent.layout.home_address, kHoa);
  EXPECT_TRUE(bu_sent.checksum_valid);
  const auto* update = bu_sent.message<wire::BindingUpdate>();
  ASSERT_NE(update, nullptr);
  EXPECT_TRUE(update->a());
  EXPECT_FALSE(update->h());
  EXPECT_LE(update->lifetime_seconds(), 420u);
  ASSERT_NE(wire::find_option<wire::NonceIndices>(*bu_sent.mh), nullptr);
  EXPECT_TRUE(std::holds_alternative<wire::BindingAuthorizationData>(bu_sent.mh->options.back()));
  // The real correspondent accepted it: BA status 0, a binding to the care-of address.
  auto ba = world.hops(Dir::kToMn, wire::kMhTypeBindingAcknowledgement);
  ASSERT_EQ(ba.size(), 1u);
  EXPECT_EQ(ba[0].sent.message<wire::BindingAcknowledgement>()->status, 0);
  ASSERT_NE(world.cn.cache().find(kHoa), nullptr);
  EXPECT_EQ(world.cn.cache().find(kHoa)->care_of_address, kCoa);
  // §11.7.3: the BA verified, the entry acknowledged; the data plane told.
  const auto& entry = entry_of(world);
  EXPECT_TRUE(entry.acknowledged);
  EXPECT_FALSE(entry.bu_outstanding);
  EXPECT_EQ(entry.care_of_address, kCoa);
  EXPECT_EQ(entry.expires, *entry.bu_sent + entry.lifetime_granted);
  auto changes = world.ro->take_route_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], (RouteOptimized{Change::kAdd, kCn, kHoa, kCoa}));
  EXPECT_FALSE(world.ro->next_deadline() && *world.ro->next_deadline() <= world.now);
}

TEST(RouteOptimization, HotBeforeCotCompletes_11_6_2) {
  World world;
  world.hold_to_mn = [](const Hop& hop) { return hop.mh_type() == wire::kMhTypeCareOfTest; };
  world.establish();
  EXPECT_TRUE(entry_of(world).home_token.has_value());
  EXPECT_FALSE(entry_of(world).care_of_token.has_value());
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 0u);
  world.hold_to_mn = nullptr;
  world.release_held();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 1u);
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, CotBeforeHotCompletes_11_6_2) {
  World world;
  world.hold_to_mn = [](const Hop& hop) { return hop.mh_type() == wire::kMhTypeHomeTest; };
  world.establish();
  EXPECT_FALSE(entry_of(world).home_token.has_value());
  EXPECT_TRUE(entry_of(world).care_of_token.has_value());
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 0u);
  world.hold_to_mn = nullptr;
  world.release_held();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 1u);
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, HotNotThroughTheTunnelIgnored_11_6_2) {
  World world;
  world.hold_to_mn = [](const Hop& hop) { return hop.mh_type() == wire::kMhTypeHomeTest; };
  world.establish();
  ASSERT_EQ(world.held.size(), 1u);
  // Delivered directly (as if spoofed on the visited link), not tunnelled by the home agent.
  EXPECT_TRUE(world.to_mn(world.held[0]));
  EXPECT_FALSE(entry_of(world).home_token.has_value());
}

TEST(RouteOptimization, LostCotRetransmittedWithNewCookie_11_8) {
  World world;
  bool dropped = false;
  world.drop_to_mn = [&](const Hop& hop) {
    if (hop.mh_type() != wire::kMhTypeCareOfTest || dropped) return false;
    return dropped = true;
  };
  world.establish();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 0u);
  world.advance(999ms);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 1u);
  world.advance(1ms);  // INITIAL_BINDACK_TIMEOUT
  auto coti = world.hops(Dir::kToCn, wire::kMhTypeCareOfTestInit);
  ASSERT_EQ(coti.size(), 2u);
  EXPECT_NE(coti[0].sent.message<wire::CareOfTestInit>()->care_of_init_cookie,
            coti[1].sent.message<wire::CareOfTestInit>()->care_of_init_cookie);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 1u);  // HoT arrived
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, LateCotWithOldCookieIgnored_11_6_2) {
  World world;
  world.hold_to_mn = [](const Hop& hop) { return hop.mh_type() == wire::kMhTypeCareOfTest; };
  world.establish();
  world.advance(1s);  // CoTI retransmitted with a new cookie; its CoT held too
  ASSERT_EQ(world.held.size(), 2u);
  world.hold_to_mn = nullptr;
  EXPECT_TRUE(world.to_mn(world.held[0]));  // the first cookie no longer matches
  EXPECT_FALSE(entry_of(world).care_of_token.has_value());
  EXPECT_TRUE(world.to_mn(world.held[1]));
  EXPECT_TRUE(entry_of(world).care_of_token.has_value());
}

TEST(RouteOptimization, AfterMoveOnlyCotiSentAndBuAccepted_5_2_7_11_6_1) {
  World world;
  world.establish();
  (void)world.ro->take_route_changes();
  world.advance(60s);
  world.move_to(kCoa2);
  // §11.3.1: the old binding's care-of address is no longer current.
  auto changes = world.ro->take_route_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, Change::kRemove);
  world.pump();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 1u);  // home token reused
  auto coti = world.hops(Dir::kToCn, wire::kMhTypeCareOfTestInit);
  ASSERT_EQ(coti.size(), 2u);
  EXPECT_EQ(coti[1].sent.layout.ipv6.source, kCoa2);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 2u);
  EXPECT_EQ(world.cn.cache().find(kHoa)->care_of_address, kCoa2);
  EXPECT_TRUE(entry_of(world).acknowledged);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kRouteOptimized);
}

TEST(RouteOptimization, AfterTokenLifetimeBothTestsSent_5_2_7) {
  World world;
  world.establish();
  world.advance(kMaxTokenLifetime);
  world.move_to(kCoa2);
  world.pump();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 2u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 2u);
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, MaxRoFailureRevertsToTunnel_5_2_9) {
  World world;
  world.drop_to_cn = [](const Hop&) { return true; };
  world.establish();
  world.advance(999ms);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 1u);
  world.advance(1ms);  // 1 s: second attempt
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 2u);
  world.advance(2s);  // 3 s: third attempt, after a doubled timeout (§11.8)
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 3u);
  world.advance(3999ms);
  EXPECT_FALSE(entry_of(world).do_not_send);
  world.advance(1ms);  // 7 s: the third attempt failed: MAX_RO_FAILURE
  EXPECT_TRUE(entry_of(world).do_not_send);
  EXPECT_FALSE(entry_of(world).deadline.has_value());
  world.advance(60s);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 3u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 3u);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
  // Triggers are ignored while held off...
  world.deliver_tunnelled_data(kCn);
  EXPECT_TRUE(world.ro->take_actions().empty());
  // ...and route optimisation may be retried after retry_hold.
  world.advance(300s);
  EXPECT_FALSE(entry_of(world).do_not_send);
  world.drop_to_cn = nullptr;
  world.establish();
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, UnansweredBuRetransmittedWithNewSequence_11_8) {
  World world;
  int dropped = 0;
  world.drop_to_cn = [&](const Hop& hop) {
    return hop.mh_type() == wire::kMhTypeBindingUpdate && dropped++ == 0;
  };
  world.establish();
  world.advance(1s);
  auto bu = world.hops(Dir::kToCn, wire::kMhTypeBindingUpdate);
  ASSERT_EQ(bu.size(), 2u);
  EXPECT_EQ(
      static_cast<std::uint16_t>(bu[0].sent.message<wire::BindingUpdate>()->sequence_number + 1),
      bu[1].sent.message<wire::BindingUpdate>()->sequence_number);
  EXPECT_TRUE(entry_of(world).acknowledged);
}

// ---------------------------------------------------------------------------------------------
// When not to route-optimise

TEST(RouteOptimization, NoTriggerWhenInnerSourceIsOuterSource_11_7_2) {
  World world;
  world.deliver_tunnelled_data(kHa);  // the home agent's own packet
  EXPECT_TRUE(world.ro->entries().empty());
  EXPECT_TRUE(world.ro->take_actions().empty());
}

TEST(RouteOptimization, NoTriggerWhenInnerDestinationIsNotAHomeAddress_11_7_2) {
  World world;
  world.deliver_tunnelled_data(kCn, kOther);
  EXPECT_TRUE(world.ro->entries().empty());
}

TEST(RouteOptimization, NoTriggerFromLinkLocalPeer_11_3_1) {
  World world;
  world.deliver_tunnelled_data(addr("fe80::1"));
  EXPECT_TRUE(world.ro->entries().empty());
}

TEST(RouteOptimization, NoTriggerWhenNotTunnelledFromTheHomeAgent_11_3_3) {
  World world;
  world.deliver_tunnelled_data(kCn, kHoa, kOther);
  EXPECT_TRUE(world.ro->entries().empty());
}

TEST(RouteOptimization, NoRouteOptimisationBeforeHomeRegistration_11_7_2) {
  World world;
  world.ro->set_home_address({kHoa, kHa, std::nullopt, false}, world.now);
  world.deliver_tunnelled_data(kCn);
  EXPECT_TRUE(world.ro->entries().empty());
  world.ro->set_home_address({kHoa, kHa, world.now + 100s, false}, world.now);
  world.establish();
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, PolicyNeverAndByPrefix) {
  RouteOptimizationConfig never;
  never.route_optimize_by_default = false;
  never.rules.push_back({kCn, 128, std::nullopt, true});  // except this correspondent
  World world(never);
  world.deliver_tunnelled_data(kOther);
  EXPECT_TRUE(world.ro->entries().empty());
  world.establish();
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, PolicyByPort) {
  RouteOptimizationConfig config;
  config.rules.push_back({addr("::"), 0, 53, false});  // DNS: never (short-lived)
  World world(config);
  world.deliver_tunnelled_data(kCn, kHoa, kHa, 53);
  EXPECT_TRUE(world.ro->entries().empty());
  world.deliver_tunnelled_data(kCn, kHoa, kHa, 80);
  EXPECT_EQ(world.ro->entries().size(), 1u);
}

TEST(RouteOptimization, RrSignallingInTheTunnelIsNoTrigger_11_7_2) {
  World world;
  wire::MobilityHeader mh;
  mh.message = wire::HomeTest{1, 2, 3};
  auto inner = build_mobility_packet({kOther, kHoa, std::nullopt, std::nullopt, 64}, mh);
  EXPECT_FALSE(world.to_mn(wire::encapsulate(inner, {kHa, kCoa})));
  EXPECT_TRUE(world.ro->entries().empty());
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(RouteOptimization, ParameterProblemCode1SetsDoNotSend_11_3_5) {
  CorrespondentNodeConfig no_mip;
  no_mip.route_optimization = false;  // answers MH with Parameter Problem code 1 (§8.1)
  World world({}, no_mip);
  world.establish();
  const auto& entry = entry_of(world);
  EXPECT_TRUE(entry.do_not_send);
  EXPECT_FALSE(entry.deadline.has_value());
  world.advance(60s);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 1u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 0u);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
}

TEST(RouteOptimization, ParameterProblemCode2RevertsToTunnel_11_3_5) {
  World world;
  world.establish();
  (void)world.ro->take_route_changes();
  // A route-optimised packet with a Home Address option the correspondent does not support.
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kCn;
  spec.extension_headers.push_back(wire::make_home_address_destination_options(kHoa));
  spec.upper_protocol = wire::ip_proto::kNoNextHeader;
  const auto invoking_bytes = wire::build_packet(spec);
  auto invoking = make_rx_packet(invoking_bytes, 1);
  ASSERT_TRUE(invoking.has_value());
  EXPECT_TRUE(world.to_mn(build_parameter_problem(kCn, *invoking, 2, 42)));
  EXPECT_TRUE(entry_of(world).do_not_send);
  auto changes = world.ro->take_route_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, Change::kRemove);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
}

TEST(RouteOptimization, IcmpErrorNeverCreatesAnEntry_11_3_5) {
  World world;
  wire::MobilityHeader mh;
  mh.message = wire::CareOfTestInit{0, 7};
  const auto invoking_bytes =
      build_mobility_packet({kCoa, kOther, std::nullopt, std::nullopt, 64}, mh);
  auto invoking = make_rx_packet(invoking_bytes, 1);
  ASSERT_TRUE(invoking.has_value());
  EXPECT_FALSE(world.to_mn(build_parameter_problem(kOther, *invoking, 1, 6)));
  EXPECT_TRUE(world.ro->entries().empty());
}

TEST(RouteOptimization, BaWithBadAuthenticatorIgnored_11_7_3) {
  World world;
  world.hold_to_mn = [](const Hop& hop) {
    return hop.mh_type() == wire::kMhTypeBindingAcknowledgement;
  };
  world.establish();
  ASSERT_EQ(world.held.size(), 1u);
  auto forged = world.held[0];
  forged[forged.size() - 1] ^= std::byte{0x01};  // the authenticator's last octet
  ASSERT_TRUE(wire::fill_upper_checksum(forged).has_value());
  EXPECT_TRUE(world.to_mn(forged));
  EXPECT_FALSE(entry_of(world).acknowledged);
  EXPECT_TRUE(entry_of(world).bu_outstanding);
  world.hold_to_mn = nullptr;
  world.release_held();
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, BaForAnotherHomeAddressIgnored_11_3_3) {
  World world;
  world.hold_to_mn = [](const Hop& hop) {
    return hop.mh_type() == wire::kMhTypeBindingAcknowledgement;
  };
  world.establish();
  auto packet = make_rx_packet(world.held[0], 1);
  ASSERT_TRUE(packet.has_value());
  EXPECT_TRUE(world.ro->accept_type2(*packet));
  world.ro->remove_home_address(kHoa, world.now);
  EXPECT_FALSE(world.ro->accept_type2(*packet));
  EXPECT_FALSE(world.to_mn(world.held[0]));
}

TEST(RouteOptimization, Type2RoutingHeaderOnlyForOwnHomeAddress_11_3_3) {
  World world;
  auto build = [](const Ipv6Address& home, std::uint8_t segments_left) {
    wire::PacketSpec spec;
    spec.header.source = kCn;
    spec.header.destination = kCoa;
    spec.extension_headers.push_back(wire::make_type2_routing_header(home, segments_left));
    spec.upper_protocol = wire::ip_proto::kNoNextHeader;
    return wire::build_packet(spec);
  };
  const auto ours = build(kHoa, 1);
  const auto other = build(kOther, 1);
  const auto processed = build(kHoa, 0);
  EXPECT_TRUE(world.ro->accept_type2(shuttle::rx(ours)));
  EXPECT_FALSE(world.ro->accept_type2(shuttle::rx(other)));
  EXPECT_FALSE(world.ro->accept_type2(shuttle::rx(processed)));  // Segments Left must be 1
}

TEST(RouteOptimization, Ba136TriggersNewHoti_11_7_2) {
  // Tokens kept beyond the correspondent's nonce lifetime (MAX_NONCE_LIFETIME) to provoke 136.
  RouteOptimizationConfig config;
  config.token_lifetime = 1000s;
  World world(config);
  world.establish();
  world.advance(kMaxNonceLifetime + 60s);
  world.move_to(kCoa2);  // CoTI only: the (stale) home token is still "fresh" here
  world.pump();
  auto ba = world.hops(Dir::kToMn, wire::kMhTypeBindingAcknowledgement);
  ASSERT_EQ(ba.size(), 3u);
  EXPECT_EQ(ba[1].sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusExpiredHomeNonceIndex);
  EXPECT_EQ(ba[2].sent.message<wire::BindingAcknowledgement>()->status, 0);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 2u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 2u);  // not refetched
  EXPECT_TRUE(entry_of(world).acknowledged);
  EXPECT_EQ(world.cn.cache().find(kHoa)->care_of_address, kCoa2);
}

TEST(RouteOptimization, Ba135ResendsWithNextSequence_11_7_3) {
  // A mobile node that "rebooted" (a new random sequence number behind the correspondent's).
  World world;
  world.establish();
  const auto last = world.cn.cache().find(kHoa)->sequence_number;
  std::uint64_t seed = 2;
  for (;; ++seed) {
    SplitMix64 probe(seed);
    const auto first = static_cast<std::uint16_t>(probe.next_u16() + 1);
    if (!sequence_newer(first, last)) break;
  }
  world.reboot(seed);
  world.trace.clear();
  world.establish();
  auto ba = world.hops(Dir::kToMn, wire::kMhTypeBindingAcknowledgement);
  ASSERT_EQ(ba.size(), 2u);
  EXPECT_EQ(ba[0].sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(ba[1].sent.message<wire::BindingAcknowledgement>()->status, 0);
  auto bu = world.hops(Dir::kToCn, wire::kMhTypeBindingUpdate);
  EXPECT_EQ(bu[1].sent.message<wire::BindingUpdate>()->sequence_number,
            static_cast<std::uint16_t>(last + 1));
  EXPECT_TRUE(world.ro->find(kCn, kHoa)->acknowledged);
}

TEST(RouteOptimization, BindingErrorStatus1RestartsReturnRoutability_11_3_6) {
  World world;
  world.establish();
  (void)world.ro->take_route_changes();
  wire::MobilityHeader mh;
  mh.message = wire::BindingError{1, 0, kHoa};
  EXPECT_TRUE(world.to_mn(build_mobility_packet({kCn, kCoa, std::nullopt, std::nullopt, 64}, mh)));
  auto changes = world.ro->take_route_changes();
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes[0].change, Change::kRemove);
  world.pump();
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 2u);  // tokens reused
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, BindingErrorFromUnknownSourceIgnored_11_3_6) {
  World world;
  world.establish();
  wire::MobilityHeader mh;
  mh.message = wire::BindingError{1, 0, kHoa};
  EXPECT_FALSE(
      world.to_mn(build_mobility_packet({kOther, kCoa, std::nullopt, std::nullopt, 64}, mh)));
  EXPECT_TRUE(entry_of(world).acknowledged);
}

TEST(RouteOptimization, BindingErrorStatus2WhileWaitingStopsRouteOptimisation_11_3_6) {
  World world;
  world.drop_to_cn = [](const Hop&) { return true; };
  world.establish();
  wire::MobilityHeader mh;
  mh.message = wire::BindingError{2, 0, Ipv6Address{}};
  EXPECT_TRUE(world.to_mn(build_mobility_packet({kCn, kCoa, std::nullopt, std::nullopt, 64}, mh)));
  EXPECT_TRUE(entry_of(world).do_not_send);
}

// ---------------------------------------------------------------------------------------------
// Lifetimes, refresh, deletion

TEST(RouteOptimization, LifetimeBoundedByHomeRegistration_11_7_2) {
  World world;
  world.ro->set_home_address({kHoa, kHa, world.now + 101s, false}, world.now);
  world.establish();
  auto bu = world.hops(Dir::kToCn, wire::kMhTypeBindingUpdate);
  ASSERT_EQ(bu.size(), 1u);
  EXPECT_EQ(bu[0].sent.message<wire::BindingUpdate>()->lifetime_seconds(), 100u);
}

TEST(RouteOptimization, BindingInUseRefreshedBeforeExpiry_11_7_2) {
  World world;
  world.establish();
  const auto expires = *entry_of(world).expires;
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kRouteOptimized);
  world.advance(expires - world.now - 30s - 1ms);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 1u);
  world.advance(1ms);
  // Tokens are older than MAX_TOKEN_LIFETIME: a whole return routability first.
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 2u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 2u);
  EXPECT_GT(*entry_of(world).expires, expires);
}

TEST(RouteOptimization, UnusedBindingExpires_11_7_2) {
  World world;
  world.establish();
  (void)world.ro->take_route_changes();
  const auto expires = *entry_of(world).expires;
  world.advance(expires - world.now);
  EXPECT_FALSE(entry_of(world).acknowledged);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 1u);
  auto changes = world.ro->take_route_changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, Change::kRemove);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
}

TEST(RouteOptimization, BindingRefreshRequestRefreshesViaReturnRoutability_11_7_4) {
  World world;
  world.establish();
  const auto expires = *entry_of(world).expires;
  // The correspondent sends on the binding recently, so it asks for a refresh before expiry
  // (§9.5.5); the mobile node itself did not send on it, so only the BRR prompts a refresh.
  world.advance(expires - world.now - 40s);
  ASSERT_TRUE(world.cn.care_of_address_for(kHoa, world.now).has_value());
  world.advance(39s);
  EXPECT_EQ(world.count(Dir::kToMn, wire::kMhTypeBindingRefreshRequest), 1u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 2u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 2u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 2u);
  EXPECT_GT(*entry_of(world).expires, expires);
}

TEST(RouteOptimization, BindingRefreshRequestFromUnknownSourceIgnored_11_7_4) {
  World world;
  wire::MobilityHeader mh;
  mh.message = wire::BindingRefreshRequest{};
  auto inner = build_mobility_packet({kOther, kHoa, std::nullopt, std::nullopt, 64}, mh);
  EXPECT_FALSE(world.to_mn(wire::encapsulate(inner, {kHa, kCoa})));
  EXPECT_TRUE(actions_of<Transmit>(world.ro->take_actions()).empty());
}

TEST(RouteOptimization, DeletionWithHomeTokenOnlyAcceptedByCorrespondent_5_2_5_11_7_2) {
  World world;
  world.establish();
  (void)world.ro->take_route_changes();
  world.advance(10s);
  world.at_home = true;
  world.ro->set_home_address({kHoa, kHa, std::nullopt, true}, world.now);
  EXPECT_EQ(world.ro->take_route_changes().size(), 1u);
  world.pump();
  auto bu = world.hops(Dir::kToCn, wire::kMhTypeBindingUpdate);
  ASSERT_EQ(bu.size(), 2u);
  const auto& deletion = bu[1].sent;
  EXPECT_EQ(deletion.layout.ipv6.source, kHoa);
  EXPECT_FALSE(deletion.layout.home_address.has_value());
  EXPECT_EQ(deletion.message<wire::BindingUpdate>()->lifetime, 0);
  EXPECT_EQ(wire::find_option<wire::NonceIndices>(*deletion.mh)->care_of_nonce_index, 0);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeHomeTestInit), 1u);  // home token reused
  EXPECT_EQ(world.cn.cache().find(kHoa), nullptr);
  auto ba = world.hops(Dir::kToMn, wire::kMhTypeBindingAcknowledgement);
  EXPECT_EQ(ba.back().sent.message<wire::BindingAcknowledgement>()->status, 0);
  EXPECT_EQ(world.ro->find(kCn, kHoa), nullptr);  // the entry is gone
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kHome);
}

TEST(RouteOptimization, DeletionAfterTokenLifetimeSendsDirectHotiOnly_11_6_1) {
  World world;
  world.establish();
  world.advance(kMaxTokenLifetime + 1s);
  world.at_home = true;
  world.ro->set_home_address({kHoa, kHa, std::nullopt, true}, world.now);
  world.pump();
  auto hoti = world.hops(Dir::kToCn, wire::kMhTypeHomeTestInit);
  ASSERT_EQ(hoti.size(), 2u);
  EXPECT_FALSE(hoti[1].tunnelled);  // at home: no reverse tunnel
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeCareOfTestInit), 1u);
  EXPECT_EQ(world.count(Dir::kToCn, wire::kMhTypeBindingUpdate), 2u);
  EXPECT_EQ(world.cn.cache().find(kHoa), nullptr);
  EXPECT_EQ(world.ro->find(kCn, kHoa), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Sending decision

TEST(RouteOptimization, SendingDecisionBeforeAndAfterBa_11_3_1) {
  World world;
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
  world.hold_to_mn = [](const Hop& hop) {
    return hop.mh_type() == wire::kMhTypeBindingAcknowledgement;
  };
  world.establish();
  // BU sent, not yet acknowledged: still the tunnel.
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
  world.hold_to_mn = nullptr;
  world.release_held();
  const auto decision = world.ro->send_path(kHoa, kCn, world.now);
  EXPECT_EQ(decision.path, SendPath::kRouteOptimized);
  EXPECT_EQ(decision.care_of_address, kCoa);
  EXPECT_EQ(world.ro->send_path(kHoa, kOther, world.now).path, SendPath::kReverseTunnel);
  // A new care-of address: not current in the binding any more.
  world.drop_to_cn = [](const Hop&) { return true; };
  world.move_to(kCoa2);
  EXPECT_EQ(world.ro->send_path(kHoa, kCn, world.now).path, SendPath::kReverseTunnel);
}

TEST(RouteOptimization, RandomInitialSequenceNumber_11_7_2) {
  World a({}, {}, 1);
  World b({}, {}, 2);
  a.deliver_tunnelled_data(kCn);
  b.deliver_tunnelled_data(kCn);
  EXPECT_NE(a.ro->find(kCn, kHoa)->sequence_number, b.ro->find(kCn, kHoa)->sequence_number);
}

}  // namespace
}  // namespace mipv6::core
