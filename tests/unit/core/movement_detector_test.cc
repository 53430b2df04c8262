// MovementDetector: movement detection, home link detection and care-of address selection
// (RFC 6275 §11.5.1-§11.5.4, draft-04 §9.2/§9.12, SEEDS §3.2.4), driven with arithmetic time.
#include "core/movement_detector.h"

#include <gtest/gtest.h>

#include <span>

#include "test_shuttle.h"
#include "wire/chain.h"
#include "wire/ipv6.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

struct Pio {
  const char* prefix;
  std::uint8_t length = 64;
  bool l = true;
  bool a = true;
  bool r = false;
  std::uint32_t valid = 2592000;
  std::uint32_t preferred = 604800;
};

struct RaSpec {
  std::uint16_t router_lifetime = 1800;
  std::vector<Pio> prefixes;
  std::optional<std::uint32_t> interval_ms;
  bool h = false;
  std::optional<LinkLayerAddress> sllao;
};

wire::RouterAdvertisement make_ra(const RaSpec& spec) {
  wire::RouterAdvertisement ra;
  ra.cur_hop_limit = 64;
  ra.h = spec.h;
  ra.router_lifetime = spec.router_lifetime;
  for (const auto& p : spec.prefixes) {
    wire::PrefixInformationOption pio;
    pio.prefix_length = p.length;
    pio.l = p.l;
    pio.a = p.a;
    pio.r = p.r;
    pio.valid_lifetime = p.valid;
    pio.preferred_lifetime = p.preferred;
    pio.prefix = addr(p.prefix);
    ra.options.emplace_back(pio);
  }
  if (spec.interval_ms) {
    ra.options.emplace_back(wire::AdvertisementIntervalOption{0, *spec.interval_ms});
  }
  if (spec.sllao) {
    wire::SourceLinkLayerAddressOption sllao;
    for (auto octet : *spec.sllao)
      sllao.link_layer_address.push_back(std::byte{octet});
    ra.options.emplace_back(sllao);
  }
  return ra;
}

AddressAdded coa(std::uint32_t ifindex, const char* address, bool tentative = false) {
  AddressAdded event;
  event.ifindex = ifindex;
  event.address = addr(address);
  event.tentative = tentative;
  return event;
}

template <class T>
std::vector<T> only(const std::vector<MovementDecision>& decisions) {
  std::vector<T> out;
  for (const auto& d : decisions) {
    if (const T* found = std::get_if<T>(&d)) out.push_back(*found);
  }
  return out;
}

// Two foreign links A and B (both on interface 1 unless said otherwise), a home link H.
const char* const kRouterA = "fe80::a";
const char* const kRouterB = "fe80::b";
const char* const kRouterH = "fe80::1";
const RaSpec kLinkA{1800, {{"2001:db8:a::"}}, std::nullopt, false, std::nullopt};
const RaSpec kLinkB{1800, {{"2001:db8:b::"}}, std::nullopt, false, std::nullopt};

class MovementDetectorTest : public ::testing::Test {
 protected:
  MovementDetectorTest() : detector_(config()) {}

  static MovementDetectorConfig config() {
    MovementDetectorConfig c;
    c.home_prefixes = {{addr("2001:db8:ffff::"), 64}};
    return c;
  }
  void reset(MovementDetectorConfig c) { detector_ = MovementDetector(std::move(c)); }

  std::vector<MovementDecision> ra(const char* source, const RaSpec& spec,
                                   std::uint32_t ifindex = 1) {
    detector_.on_router_advertisement(ifindex, addr(source), make_ra(spec), now_);
    return detector_.take_decisions();
  }
  std::vector<MovementDecision> event(const NodeEvent& e) {
    detector_.on_event(e, now_);
    return detector_.take_decisions();
  }
  std::vector<MovementDecision> advance(Duration d) {
    now_ += d;
    detector_.on_timeout(now_);
    return detector_.take_decisions();
  }
  // Attached to link A with primary care-of address 2001:db8:a::100.
  void attach_to_a() {
    ra(kRouterA, kLinkA);
    auto moved = only<MovedTo>(event(coa(1, "2001:db8:a::100")));
    ASSERT_EQ(moved.size(), 1u);
    ASSERT_EQ(moved[0].care_of_address, addr("2001:db8:a::100"));
  }

  TimePoint now_{std::chrono::seconds(1000)};
  MovementDetector detector_;
};

// ---------------------------------------------------------------------------------------------
// Start-up and care-of address selection

TEST_F(MovementDetectorTest, FirstRouterAndCareOfGiveInitialPrimary_11_5_4) {
  EXPECT_TRUE(only<MovedTo>(ra(kRouterA, kLinkA)).empty());  // no address yet
  AddressAdded added = coa(1, "2001:db8:a::100");
  added.valid_lifetime = 600s;
  added.preferred_lifetime = 300s;
  auto moved = only<MovedTo>(event(added));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::100"));
  EXPECT_EQ(moved[0].ifindex, 1u);
  EXPECT_EQ(moved[0].router, addr(kRouterA));
  EXPECT_EQ(moved[0].prefix, addr("2001:db8:a::"));
  EXPECT_EQ(moved[0].prefix_length, 64);
  EXPECT_EQ(moved[0].valid_lifetime, Duration(600s));
  EXPECT_EQ(moved[0].preferred_lifetime, Duration(300s));
  EXPECT_EQ(moved[0].previous_care_of_address, std::nullopt);
  EXPECT_EQ(moved[0].reason, MoveReason::kInitial);
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, PrimaryMustUseAPrefixOfTheDefaultRouter_11_5_4) {
  ra(kRouterA, kLinkA);
  // Global, usable, but not from a prefix router A advertises (e.g. static, other link).
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "2001:db8:c::1"))).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
}

TEST_F(MovementDetectorTest, LinkLocalAndHomeAddressesAreNeverCareOf_11_5_3) {
  RaSpec both = kLinkA;
  both.prefixes.push_back({"fe80::"});
  ra(kRouterA, both);
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "fe80::100"))).empty());
  EXPECT_TRUE(detector_.addresses().empty());
}

TEST_F(MovementDetectorTest, TentativeCareOfIsUsedOnlyAfterDad_11_5_3) {
  ra(kRouterA, kLinkA);
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "2001:db8:a::100", true))).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
  auto moved = only<MovedTo>(event(DadResult{1, addr("2001:db8:a::100"), false}));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, AddressUpdateEndsTentativeState_11_5_3) {
  ra(kRouterA, kLinkA);
  event(coa(1, "2001:db8:a::100", true));
  auto moved = only<MovedTo>(event(coa(1, "2001:db8:a::100", false)));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(detector_.addresses().size(), 1u);
}

TEST_F(MovementDetectorTest, DuplicateAddressIsNeverUsed_11_5_3) {
  ra(kRouterA, kLinkA);
  event(coa(1, "2001:db8:a::100", true));
  EXPECT_TRUE(event(DadResult{1, addr("2001:db8:a::100"), true}).empty());
  EXPECT_TRUE(detector_.addresses().empty());
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
}

TEST_F(MovementDetectorTest, DeprecatedPrimaryIsReplaced_11_5_3) {
  ra(kRouterA, kLinkA);
  AddressAdded first = coa(1, "2001:db8:a::100");
  first.preferred_lifetime = 60s;
  event(first);
  EXPECT_TRUE(event(coa(1, "2001:db8:a::200")).empty());  // the primary stays
  EXPECT_EQ(detector_.next_deadline(), now_ + 60s);
  auto moved = only<MovedTo>(advance(60s));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::200"));
  EXPECT_EQ(moved[0].reason, MoveReason::kDeprecated);
  EXPECT_EQ(moved[0].previous_care_of_address, addr("2001:db8:a::100"));
  // §11.5.4: the former primary is still accepted.
  EXPECT_EQ(detector_.accepted_care_of_addresses(),
            (std::vector{addr("2001:db8:a::200"), addr("2001:db8:a::100")}));
}

TEST_F(MovementDetectorTest, PreferredLifetimeZeroMeansDeprecated_11_5_3) {
  attach_to_a();
  event(coa(1, "2001:db8:a::200"));
  AddressAdded deprecated = coa(1, "2001:db8:a::100");
  deprecated.preferred_lifetime = 0s;
  auto moved = only<MovedTo>(event(deprecated));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::200"));
  EXPECT_EQ(moved[0].reason, MoveReason::kDeprecated);
}

TEST_F(MovementDetectorTest, DeprecatedPrimaryIsKeptWithoutAlternative_11_5_3) {
  attach_to_a();
  AddressAdded deprecated = coa(1, "2001:db8:a::100");
  deprecated.preferred_lifetime = 0s;
  EXPECT_TRUE(event(deprecated).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
  // A fresh one appears later: it replaces the deprecated one.
  auto moved = only<MovedTo>(event(coa(1, "2001:db8:a::300")));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].reason, MoveReason::kDeprecated);
}

TEST_F(MovementDetectorTest, RemovedPrimaryIsReportedAndReplaced_11_5_4) {
  attach_to_a();
  event(coa(1, "2001:db8:a::200"));
  auto decisions = event(AddressRemoved{1, addr("2001:db8:a::100")});
  auto lost = only<CareOfLost>(decisions);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0], (CareOfLost{addr("2001:db8:a::100"), 1, true, CareOfLostReason::kRemoved}));
  auto moved = only<MovedTo>(decisions);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::200"));
  EXPECT_EQ(moved[0].reason, MoveReason::kPrimaryInvalid);
  EXPECT_EQ(moved[0].previous_care_of_address, std::nullopt);
}

TEST_F(MovementDetectorTest, ValidLifetimeEndRemovesCareOf_11_5_4) {
  ra(kRouterA, kLinkA);
  AddressAdded added = coa(1, "2001:db8:a::100");
  added.valid_lifetime = 30s;
  event(added);
  auto lost = only<CareOfLost>(advance(30s));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_TRUE(lost[0].was_primary);
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
}

TEST_F(MovementDetectorTest, WithdrawnPrefixReplacesPrimary_11_5_4) {
  RaSpec two = kLinkA;
  two.prefixes.push_back({"2001:db8:a2::"});
  ra(kRouterA, two);
  event(coa(1, "2001:db8:a::100"));
  event(coa(1, "2001:db8:a2::100"));
  RaSpec withdraw = two;
  withdraw.prefixes[0].valid = 0;
  auto moved = only<MovedTo>(ra(kRouterA, withdraw));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a2::100"));
  EXPECT_EQ(moved[0].reason, MoveReason::kPrimaryInvalid);
}

// ---------------------------------------------------------------------------------------------
// Movement detection

TEST_F(MovementDetectorTest, NewPrefixAndOldRouterUnreachableIsMovement_11_5_1) {
  attach_to_a();
  EXPECT_TRUE(only<MovedTo>(ra(kRouterB, kLinkB)).empty());
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "2001:db8:b::100"))).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));

  auto decisions = event(NeighborReachability{1, addr(kRouterA), false});
  // §11.5.4: care-of addresses of the unreachable link are invalidated.
  auto lost = only<CareOfLost>(decisions);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0],
            (CareOfLost{addr("2001:db8:a::100"), 1, true, CareOfLostReason::kLinkUnreachable}));
  auto moved = only<MovedTo>(decisions);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].router, addr(kRouterB));
  EXPECT_EQ(moved[0].prefix, addr("2001:db8:b::"));
  EXPECT_EQ(moved[0].reason, MoveReason::kMovement);
  ASSERT_NE(detector_.default_router(), nullptr);
  EXPECT_EQ(detector_.default_router()->link_local_address, addr(kRouterB));
  EXPECT_EQ(detector_.routers().size(), 1u);
}

TEST_F(MovementDetectorTest, SecondRouterWithDifferentPrefixIsNotMovement_11_5_1) {
  attach_to_a();
  // Router C on the same link advertises another prefix; the node even forms an address in it.
  advance(1s);  // C is heard more recently than A
  auto decisions = ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt});
  EXPECT_TRUE(decisions.empty());
  EXPECT_TRUE(event(coa(1, "2001:db8:c::100")).empty());
  EXPECT_TRUE(advance(600s).empty());
  ra(kRouterA, kLinkA);
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
  EXPECT_EQ(detector_.default_router()->link_local_address, addr(kRouterA));
  EXPECT_EQ(detector_.routers().size(), 2u);
}

TEST_F(MovementDetectorTest, NewRouterSharingThePrefixIsNotMovement_11_5_1) {
  attach_to_a();
  ra("fe80::c", kLinkA);
  // A goes away, C advertises the same prefix: same link, same care-of address.
  auto decisions = event(NeighborReachability{1, addr(kRouterA), false});
  EXPECT_TRUE(decisions.empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
  EXPECT_EQ(detector_.default_router()->link_local_address, addr("fe80::c"));
}

TEST_F(MovementDetectorTest, NudReachableKeepsOldRouter_11_5_1) {
  attach_to_a();
  advance(1s);
  ra(kRouterB, kLinkB);
  event(coa(1, "2001:db8:b::100"));
  EXPECT_TRUE(event(NeighborReachability{1, addr(kRouterA), true}).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
  EXPECT_EQ(detector_.default_router()->link_local_address, addr(kRouterA));
}

TEST_F(MovementDetectorTest, RouterLifetimeEndIsRouterLoss_11_5_1) {
  ra(kRouterA, {30, {{"2001:db8:a::"}}, std::nullopt, false, std::nullopt});
  event(coa(1, "2001:db8:a::100"));
  ra(kRouterB, kLinkB);
  event(coa(1, "2001:db8:b::100"));
  EXPECT_EQ(detector_.next_deadline(), now_ + 30s);
  auto moved = only<MovedTo>(advance(30s));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].reason, MoveReason::kMovement);
}

TEST_F(MovementDetectorTest, RouterLifetimeZeroFromDefaultRouterSelectsAnother_RFC4861_6_3_4) {
  attach_to_a();
  ra(kRouterB, kLinkB);
  event(coa(1, "2001:db8:b::100"));
  RaSpec retiring = kLinkA;
  retiring.router_lifetime = 0;
  auto decisions = ra(kRouterA, retiring);
  // Router A is still a neighbor: its link is reachable, nothing is invalidated.
  EXPECT_TRUE(only<CareOfLost>(decisions).empty());
  auto moved = only<MovedTo>(decisions);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].previous_care_of_address, addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, RouterLossWithoutReplacementSolicits_11_5_1) {
  attach_to_a();
  auto decisions = event(NeighborReachability{1, addr(kRouterA), false});
  EXPECT_EQ(only<CareOfLost>(decisions).size(), 1u);
  EXPECT_EQ(only<SendRouterSolicitation>(decisions), (std::vector{SendRouterSolicitation{1}}));
  EXPECT_EQ(detector_.default_router(), nullptr);
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
  // The new link's router answers; its address follows.
  ra(kRouterB, kLinkB);
  auto moved = only<MovedTo>(event(coa(1, "2001:db8:b::100")));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].reason, MoveReason::kMovement);
}

TEST_F(MovementDetectorTest, SolicitationsRepeatUntilAnswered_RFC4861_6_3_7) {
  attach_to_a();
  event(NeighborReachability{1, addr(kRouterA), false});  // first RS
  EXPECT_EQ(detector_.next_deadline(), now_ + kRtrSolicitationInterval);
  EXPECT_EQ(only<SendRouterSolicitation>(advance(4s)).size(), 1u);
  EXPECT_EQ(only<SendRouterSolicitation>(advance(4s)).size(), 1u);
  EXPECT_EQ(detector_.next_deadline(), std::nullopt);  // MAX_RTR_SOLICITATIONS reached
  EXPECT_TRUE(advance(4s).empty());
}

TEST_F(MovementDetectorTest, AdvertisementStopsSolicitations_RFC4861_6_3_7) {
  attach_to_a();
  event(NeighborReachability{1, addr(kRouterA), false});
  ra(kRouterB, kLinkB);
  EXPECT_TRUE(only<SendRouterSolicitation>(advance(4s)).empty());
}

// ---------------------------------------------------------------------------------------------
// Advertisement Interval option (§7.3, §11.5.1)

TEST_F(MovementDetectorTest, LateAdvertisementProbesAndSolicits_7_3) {
  RaSpec fast = kLinkA;
  fast.interval_ms = 1000;
  ra(kRouterA, fast);
  event(coa(1, "2001:db8:a::100"));
  // ra_loss_threshold (3) intervals: nothing before.
  EXPECT_EQ(detector_.next_deadline(), now_ + 3s);
  EXPECT_TRUE(advance(2999ms).empty());
  auto decisions = advance(1ms);
  EXPECT_EQ(only<ProbeRouter>(decisions),
            (std::vector{ProbeRouter{1, addr(kRouterA), addr(kRouterA)}}));
  EXPECT_EQ(only<SendRouterSolicitation>(decisions), (std::vector{SendRouterSolicitation{1}}));
  EXPECT_TRUE(only<MovedTo>(decisions).empty());
}

TEST_F(MovementDetectorTest, LateAdvertisementThenRouterGoneIsMovement_7_3) {
  RaSpec fast = kLinkA;
  fast.interval_ms = 1000;
  ra(kRouterA, fast);
  event(coa(1, "2001:db8:a::100"));
  advance(3s);           // probe + RS
  ra(kRouterB, kLinkB);  // the solicited RA of the new link
  event(coa(1, "2001:db8:b::100"));
  EXPECT_TRUE(only<MovedTo>(advance(2999ms)).empty());  // the probe is still running
  auto decisions = advance(1ms);                        // kDefaultProbeTimeout
  auto moved = only<MovedTo>(decisions);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].reason, MoveReason::kMovement);
  EXPECT_EQ(only<CareOfLost>(decisions).size(), 1u);
}

TEST_F(MovementDetectorTest, LateAdvertisementButProbeAnsweredKeepsRouter_11_5_1) {
  RaSpec fast = kLinkA;
  fast.interval_ms = 1000;
  ra(kRouterA, fast);
  event(coa(1, "2001:db8:a::100"));
  advance(3s);
  ra(kRouterB, kLinkB);
  event(coa(1, "2001:db8:b::100"));
  EXPECT_TRUE(event(NeighborReachability{1, addr(kRouterA), true}).empty());
  EXPECT_TRUE(only<MovedTo>(advance(5s)).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, RaLossThresholdIsConfigurable_11_5_1) {
  MovementDetectorConfig c = config();
  c.ra_loss_threshold = 1;
  reset(c);
  RaSpec fast = kLinkA;
  fast.interval_ms = 70;
  ra(kRouterA, fast);
  event(coa(1, "2001:db8:a::100"));
  EXPECT_EQ(detector_.next_deadline(), now_ + 70ms);
  EXPECT_EQ(only<ProbeRouter>(advance(70ms)).size(), 1u);
}

TEST_F(MovementDetectorTest, EachAdvertisementRestartsTheInterval_7_3) {
  RaSpec fast = kLinkA;
  fast.interval_ms = 1000;
  ra(kRouterA, fast);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(advance(2s).empty());
    ra(kRouterA, fast);
  }
  EXPECT_EQ(detector_.next_deadline(), now_ + 3s);
}

// ---------------------------------------------------------------------------------------------
// Router identity (§7.2, §11.5.1)

TEST_F(MovementDetectorTest, RBitAddressDistinguishesRoutersSharingLinkLocal_7_2) {
  RaSpec a{1800,
           {{"2001:db8:a::"}, {"2001:db8:a::1", 64, false, false, true}},
           1000,
           false,
           std::nullopt};
  RaSpec b{1800,
           {{"2001:db8:b::"}, {"2001:db8:b::1", 64, false, false, true}},
           1000,
           false,
           std::nullopt};
  ra("fe80::1", a);
  event(coa(1, "2001:db8:a::100"));
  // After the move, router B uses the same link-local address.
  advance(1s);
  EXPECT_TRUE(ra("fe80::1", b).empty());
  event(coa(1, "2001:db8:b::100"));
  ASSERT_EQ(detector_.routers().size(), 2u);
  EXPECT_EQ(detector_.default_router()->global_addresses, (std::vector{addr("2001:db8:a::1")}));
  // B's RAs do not keep A alive: A's RAs are late, A is probed at its global address.
  auto decisions = advance(2s);
  EXPECT_EQ(only<ProbeRouter>(decisions),
            (std::vector{ProbeRouter{1, addr("2001:db8:a::1"), addr("fe80::1")}}));
  // A neighbor report for the shared link-local address cannot say which router it is.
  EXPECT_TRUE(event(NeighborReachability{1, addr("fe80::1"), true}).empty());
  auto moved = only<MovedTo>(event(NeighborReachability{1, addr("2001:db8:a::1"), false}));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].router_global, addr("2001:db8:b::1"));
}

TEST_F(MovementDetectorTest, WithoutRBitSameLinkLocalIsOneRouter_11_5_1) {
  attach_to_a();
  ra(kRouterA, kLinkB);  // same link-local source, another prefix: one router, two prefixes
  EXPECT_EQ(detector_.routers().size(), 1u);
  EXPECT_EQ(detector_.routers()[0].prefixes.size(), 2u);
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, AdvertisementFromNonLinkLocalSourceIsIgnored_RFC4861_6_1_2) {
  EXPECT_TRUE(ra("2001:db8:a::1", kLinkA).empty());
  EXPECT_TRUE(detector_.routers().empty());
}

// ---------------------------------------------------------------------------------------------
// Link-layer hints (§11.5.1)

TEST_F(MovementDetectorTest, LinkUpOnNewLinkSolicitsImmediately_11_5_1) {
  EXPECT_EQ(only<SendRouterSolicitation>(event(LinkUp{2})),
            (std::vector{SendRouterSolicitation{2}}));
}

TEST_F(MovementDetectorTest, LinkUpOnCurrentLinkProbesRouterFirst_11_5_1) {
  attach_to_a();
  auto decisions = event(LinkUp{1});
  EXPECT_EQ(only<ProbeRouter>(decisions),
            (std::vector{ProbeRouter{1, addr(kRouterA), addr(kRouterA)}}));
  EXPECT_TRUE(only<SendRouterSolicitation>(decisions).empty());
  // No solicited NA: the router is gone, now solicit.
  decisions = advance(kDefaultProbeTimeout);
  EXPECT_EQ(only<SendRouterSolicitation>(decisions), (std::vector{SendRouterSolicitation{1}}));
  EXPECT_EQ(only<CareOfLost>(decisions).size(), 1u);
}

TEST_F(MovementDetectorTest, LinkUpProbeAnsweredIsNoMovement_11_5_1) {
  attach_to_a();
  event(LinkUp{1});
  EXPECT_TRUE(event(NeighborReachability{1, addr(kRouterA), true}).empty());
  EXPECT_TRUE(advance(kDefaultProbeTimeout).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, LinkUpSolicitsAtOnceWhenL2ImpliesMovement_11_5_1) {
  MovementDetectorConfig c = config();
  c.l2_hint_implies_movement = true;
  reset(c);
  attach_to_a();
  auto decisions = event(LinkUp{1});
  EXPECT_EQ(only<ProbeRouter>(decisions).size(), 1u);
  EXPECT_EQ(only<SendRouterSolicitation>(decisions), (std::vector{SendRouterSolicitation{1}}));
}

TEST_F(MovementDetectorTest, LinkDownProbesRouterAndSolicitsOnOtherLinks_11_5_1) {
  attach_to_a();
  event(LinkUp{2});
  auto decisions = event(LinkDown{1});
  EXPECT_EQ(only<ProbeRouter>(decisions).size(), 1u);
  EXPECT_EQ(only<SendRouterSolicitation>(decisions), (std::vector{SendRouterSolicitation{2}}));
  // Router C answers on interface 2; when the probe of A fails, the node moves there.
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  auto moved = only<MovedTo>(advance(kDefaultProbeTimeout));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:c::100"));
  EXPECT_EQ(moved[0].ifindex, 2u);
}

TEST_F(MovementDetectorTest, LinkFlapHealedByProbeIsNoMovement_11_5_1) {
  attach_to_a();
  event(LinkDown{1});
  event(LinkUp{1});
  EXPECT_TRUE(only<MovedTo>(event(NeighborReachability{1, addr(kRouterA), true})).empty());
  EXPECT_TRUE(advance(10s).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

// ---------------------------------------------------------------------------------------------
// Interface preference (draft-04 §9.2, §9.12)

TEST_F(MovementDetectorTest, BetterInterfaceBecomingUsableIsSwitchedTo_9_12) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};  // 1 = wifi, 2 = cellular
  reset(c);
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  ASSERT_EQ(only<MovedTo>(event(coa(2, "2001:db8:c::100"))).size(), 1u);
  // Wi-Fi comes up: its router alone does not switch, a usable care-of address does.
  EXPECT_TRUE(only<MovedTo>(ra(kRouterA, kLinkA, 1)).empty());
  auto moved = only<MovedTo>(event(coa(1, "2001:db8:a::100")));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::100"));
  EXPECT_EQ(moved[0].ifindex, 1u);
  EXPECT_EQ(moved[0].reason, MoveReason::kPreferredInterface);
  EXPECT_EQ(moved[0].previous_care_of_address, addr("2001:db8:c::100"));
  // §11.5.4 / draft-04 §9.12: the cellular address is still accepted.
  EXPECT_EQ(detector_.accepted_care_of_addresses(),
            (std::vector{addr("2001:db8:a::100"), addr("2001:db8:c::100")}));
}

TEST_F(MovementDetectorTest, WorseInterfaceDoesNotTakeOver_9_12) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};
  reset(c);
  attach_to_a();
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  EXPECT_TRUE(only<MovedTo>(event(coa(2, "2001:db8:c::100"))).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, SwitchingOffIsHonoured_9_2) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};
  c.switch_to_preferred_interface = false;
  reset(c);
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  ra(kRouterA, kLinkA, 1);
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "2001:db8:a::100"))).empty());
}

TEST_F(MovementDetectorTest, PreferenceChangedAtRunTimeSwitchesToReadyInterface_9_2) {
  // Make before break: two radios with usable care-of addresses; the hosting node prefers
  // the one that came up last.
  MovementDetectorConfig c = config();
  c.interface_preference = {2, 1};
  reset(c);
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  ra(kRouterA, kLinkA, 1);
  EXPECT_TRUE(only<MovedTo>(event(coa(1, "2001:db8:a::100"))).empty());  // 2 is preferred
  detector_.set_interface_preference({1, 2}, now_);
  auto moved = only<MovedTo>(detector_.take_decisions());
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:a::100"));
  EXPECT_EQ(moved[0].reason, MoveReason::kPreferredInterface);
}

TEST_F(MovementDetectorTest, LinkDownWithTrustedHintsSwitchesToReadyRadioAtOnce_11_5_1) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};
  c.l2_hint_implies_movement = true;
  reset(c);
  ra(kRouterA, kLinkA, 1);
  event(coa(1, "2001:db8:a::100"));
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  ASSERT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
  // Radio 1 goes down: no probe timeout to wait for, radio 2 is ready.
  auto moved = only<MovedTo>(event(LinkDown{1}));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:c::100"));
  EXPECT_EQ(moved[0].ifindex, 2u);
}

TEST_F(MovementDetectorTest, LinkDownWithoutTrustedHintsWaitsForTheProbe_11_5_1) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};
  c.l2_hint_implies_movement = false;
  reset(c);
  ra(kRouterA, kLinkA, 1);
  event(coa(1, "2001:db8:a::100"));
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  EXPECT_TRUE(only<MovedTo>(event(LinkDown{1})).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), addr("2001:db8:a::100"));
}

TEST_F(MovementDetectorTest, RetainedCareOfLostWithItsLinkIsReported_11_5_4) {
  MovementDetectorConfig c = config();
  c.interface_preference = {1, 2};
  reset(c);
  ra("fe80::c", {1800, {{"2001:db8:c::"}}, std::nullopt, false, std::nullopt}, 2);
  event(coa(2, "2001:db8:c::100"));
  ra(kRouterA, kLinkA, 1);
  event(coa(1, "2001:db8:a::100"));
  auto lost = only<CareOfLost>(event(NeighborReachability{2, addr("fe80::c"), false}));
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0],
            (CareOfLost{addr("2001:db8:c::100"), 2, false, CareOfLostReason::kLinkUnreachable}));
  EXPECT_EQ(detector_.accepted_care_of_addresses(), (std::vector{addr("2001:db8:a::100")}));
}

// ---------------------------------------------------------------------------------------------
// Home link detection (§11.5.2)

const RaSpec kHomeLink{1800,
                       {{"2001:db8:ffff::"}, {"2001:db8:ffff::1", 64, false, false, true}},
                       std::nullopt,
                       true,
                       LinkLayerAddress{0x02, 0, 0, 0, 0, 0x01}};

TEST_F(MovementDetectorTest, HomePrefixOnLinkAtStartIsHome_11_5_2) {
  auto home = only<AtHome>(ra(kRouterH, kHomeLink));
  ASSERT_EQ(home.size(), 1u);
  EXPECT_EQ(home[0].ifindex, 1u);
  EXPECT_EQ(home[0].router, addr(kRouterH));
  EXPECT_EQ(home[0].router_global, addr("2001:db8:ffff::1"));
  EXPECT_EQ(home[0].router_link_layer_address, (LinkLayerAddress{0x02, 0, 0, 0, 0, 0x01}));
  EXPECT_TRUE(home[0].router_is_home_agent);
  EXPECT_EQ(home[0].home_prefix.prefix, addr("2001:db8:ffff::"));
  EXPECT_TRUE(detector_.at_home());
  // The home address is not a care-of address.
  EXPECT_TRUE(event(coa(1, "2001:db8:ffff::100")).empty());
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
}

TEST_F(MovementDetectorTest, HomePrefixMustBeOnLink_11_5_2) {
  RaSpec not_on_link = kHomeLink;
  not_on_link.prefixes[0].l = false;
  EXPECT_TRUE(only<AtHome>(ra(kRouterH, not_on_link)).empty());
  EXPECT_FALSE(detector_.at_home());
}

TEST_F(MovementDetectorTest, ReturningHomeGivesAtHome_11_5_2) {
  attach_to_a();
  ra(kRouterH, kHomeLink);
  EXPECT_FALSE(detector_.at_home());  // router A still reachable
  auto decisions = event(NeighborReachability{1, addr(kRouterA), false});
  EXPECT_EQ(only<AtHome>(decisions).size(), 1u);
  EXPECT_TRUE(only<MovedTo>(decisions).empty());
  EXPECT_TRUE(detector_.at_home());
  EXPECT_EQ(detector_.primary_care_of_address(), std::nullopt);
  EXPECT_TRUE(detector_.accepted_care_of_addresses().empty());
}

TEST_F(MovementDetectorTest, LeavingHomeGivesMovedTo_11_5_1) {
  ra(kRouterH, kHomeLink);
  ra(kRouterB, kLinkB);
  event(coa(1, "2001:db8:b::100"));
  auto moved = only<MovedTo>(event(NeighborReachability{1, addr("2001:db8:ffff::1"), false}));
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].care_of_address, addr("2001:db8:b::100"));
  EXPECT_EQ(moved[0].reason, MoveReason::kMovement);
  EXPECT_FALSE(detector_.at_home());
}

// ---------------------------------------------------------------------------------------------
// Whole packets

wire::Bytes ra_packet(const Ipv6Address& source, std::uint8_t hop_limit) {
  wire::Icmpv6Message message{0, 0, make_ra(kLinkA)};
  wire::Bytes icmp;
  wire::encode_icmpv6(message, icmp);
  wire::Ipv6Header header;
  header.payload_length = static_cast<std::uint16_t>(icmp.size());
  header.next_header = wire::kIcmpv6NextHeader;
  header.hop_limit = hop_limit;
  header.source = source;
  header.destination = addr("ff02::1");
  wire::fill_icmpv6_checksum(header.source, header.destination, std::span(icmp));
  wire::Bytes packet;
  wire::Writer writer(packet);
  wire::encode_ipv6_header(writer, header);
  packet.insert(packet.end(), icmp.begin(), icmp.end());
  return packet;
}

TEST_F(MovementDetectorTest, PacketWithValidAdvertisementIsProcessed_RFC4861_6_1_2) {
  const auto packet = ra_packet(addr(kRouterA), 255);
  EXPECT_TRUE(detector_.on_packet(shuttle::rx(packet, 1), now_));
  EXPECT_EQ(detector_.routers().size(), 1u);
}

TEST_F(MovementDetectorTest, ForwardedAdvertisementIsIgnored_RFC4861_6_1_2) {
  const auto packet = ra_packet(addr(kRouterA), 254);
  EXPECT_FALSE(detector_.on_packet(shuttle::rx(packet, 1), now_));
  EXPECT_TRUE(detector_.routers().empty());
}

TEST_F(MovementDetectorTest, AdvertisementWithBadChecksumIsIgnored_RFC4861_6_1_2) {
  auto packet = ra_packet(addr(kRouterA), 255);
  packet[wire::kIpv6HeaderSize + 2] ^= std::byte{0xff};
  EXPECT_FALSE(detector_.on_packet(shuttle::rx(packet, 1), now_));
}

}  // namespace
}  // namespace mipv6::core
