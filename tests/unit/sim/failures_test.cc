// Failures inside the engine hosts, on the hand-made topology of engine_hosts_testbed.h at a
// fixed seed: a full Binding Cache (BA 130), a home agent crash and restart, a correspondent
// reboot, and the renumbering of the home link. Exact times and losses; where they come from:
//  - the mobile node starts on link A at 0 s: BU(H) at 1 ms, the home agent's DAD of the home
//    address (1 s, §10.3.1) makes the BA arrive at 1025 ms (MN -> HA 11 ms each way, plus the
//    access router's resolution of the fresh care-of address);
//  - the home agent grants 420 s rounded down to 4-second units (416 s) with a Binding Refresh
//    Advice of half of it (208 s, §10.3.1 volatile cache): the refresh goes at 1 ms + 208 s +
//    the BA delay = 209.025 s;
//  - UDP CBR every 100 ms from 500 ms: sequence n is sent at 500 ms + n * 100 ms.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_hosts_testbed.h"
#include "traffic_helpers.h"

namespace mipv6::sim {
namespace {

using namespace testing;
using V = std::vector<std::string>;

const wire::Ipv6Address kOldPrefix = addr("2001:db8:1::");
const wire::Ipv6Address kNewPrefix = addr("2001:db8:2::");

void start_cbr_both_ways(Testbed& bed, TimePoint until) {
  bed.mn().start_udp_cbr(bed.cn_address(), 100ms, 160, at(500ms), until);
  bed.cn().start_udp_cbr(bed.cn_address(), bed.home_address(), 100ms, 160, at(500ms), until);
}

// §10.3.1: "Insufficient resources" when the Binding Cache is full: the second mobile node is
// refused with status 130, the first keeps its binding.
TEST(HomeAgentNodeFailures, FullBindingCacheAnswers130_10_3_1) {
  Testbed bed({.start_link = "a", .max_bindings = 1});
  MobileHost& second = bed.add_mobile("mn2", "a");
  bed.run_until(at(3s));
  EXPECT_EQ(signalling(bed.mn(), at(0s), at(3s)), (V{"1000 tx BU(H)", "1025000 rx BA 0"}));
  EXPECT_EQ(signalling(second, at(0s), at(3s)), (V{"1000 tx BU(H)", "25000 rx BA 130"}));
  EXPECT_EQ(bed.ha().engine().cache().size(), 1u);
  EXPECT_NE(bed.ha().engine().cache().find(bed.home_address()), nullptr);
  const auto stats = second.registration_stats();
  EXPECT_EQ(stats.bu_home_sent, 1u);
  EXPECT_EQ(stats.ba_received, 1u);
  EXPECT_EQ(stats.ba_rejected, 1u);
  EXPECT_FALSE(stats.first_registration.has_value());
  EXPECT_EQ(bed.ha().engine().counters().ba_rejected, 1u);
}

// A crashed home agent is silent: no RAs, no proxy Neighbor Discovery for the home address, no
// tunnel either way; every frame to it is dropped. With route optimisation off all the node's
// traffic goes through it, so both directions stop at the crash.
TEST(HomeAgentNodeFailures, CrashStopsEverything) {
  Testbed bed({.start_link = "a", .route_optimization = false});
  start_cbr_both_ways(bed, at(5s));
  const Interface& home = *bed.ha().interfaces().front();
  bed.run_until(at(3s));
  EXPECT_TRUE(home.nd()->proxies(bed.home_address()));  // §10.4.1 while registered
  const RaCounters ras = bed.ha().ra_sender(home)->counters();
  bed.ha().crash();
  EXPECT_TRUE(bed.ha().crashed());
  EXPECT_FALSE(home.nd()->proxies(bed.home_address()));
  bed.run_until(at(6s));
  EXPECT_EQ(bed.ha().ra_sender(home)->counters(), ras);
  // Sequences 0-5 went before the first registration (no path up; down: not intercepted yet);
  // 25 (sent at 3 s) and later met the dead home agent.
  EXPECT_EQ(lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()), (V{"0-5", "25-44"}));
  EXPECT_EQ(lost_ranges(bed.mn().udp_sent(), bed.cn().udp_received()), (V{"0-5", "25-44"}));
  EXPECT_EQ(bed.ha().node_counters().dropped_crashed, 40u);
  EXPECT_EQ(bed.ha().node_counters().crashes, 1u);
}

// After the restart the Binding Cache is empty (volatile, §10.3.1) and nothing brings the
// binding back early: the reverse-tunnelled packets are refused silently (§10.4.5, no Binding
// Error for them), packets for the home address are no longer intercepted (no proxy ND) and the
// home link answers them with ICMPv6 Destination Unreachable, which the correspondent ignores
// (§9.3.4 applies to bindings it holds). The node's own refresh at the Binding Refresh Advice
// interval (§10.3.1, §11.7.1) registers again, as a first registration: DAD again (1 s), so the
// BU is retransmitted after InitialBindackTimeout (§11.8) and both are answered.
TEST(HomeAgentNodeFailures, RestartRecoversAtTheNodesRefresh_10_3_1) {
  Testbed bed({.start_link = "a", .route_optimization = false});
  start_cbr_both_ways(bed, at(230s));
  bed.scheduler().schedule(at(3s), [&] { bed.ha().crash(); });
  bed.scheduler().schedule(at(5s), [&] { bed.ha().restart(); });
  bed.run_until(at(231s));
  EXPECT_FALSE(bed.ha().crashed());
  EXPECT_EQ(bed.ha().node_counters().restarts, 1u);
  EXPECT_EQ(signalling(bed.mn(), at(0s), at(231s)),
            (V{"1000 tx BU(H)", "1025000 rx BA 0", "209025000 tx BU(H)", "210025000 tx BU(H)",
               "210047000 rx BA 0", "210047000 rx BA 0"}));
  EXPECT_EQ(lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()), (V{"0-5", "25-2095"}));
  EXPECT_EQ(lost_ranges(bed.mn().udp_sent(), bed.cn().udp_received()), (V{"0-5", "25-2095"}));
  const HomeAgentNodeCounters& c = bed.ha().node_counters();
  EXPECT_EQ(c.reverse_rejected, 2051u);
  EXPECT_EQ(bed.ha().engine().counters().be_sent, 0u);
  // RFC 4861 §7.2.2: each failed resolution of the home address (3 s) answers the 3 packets it
  // queued with an address-unreachable error; the rest were dropped as the queue was full.
  EXPECT_EQ(bed.ha().counters().icmp_errors_sent, 204u);  // 68 resolutions
  EXPECT_EQ(bed.cn().engine().counters().icmp_unreachable_ignored, 204u);
  EXPECT_EQ(bed.ha().engine().counters().registrations, 1u);  // the new engine's count
  // Two BUs and a retransmission, each answered; the first registration is the one at start.
  const auto stats = bed.mn().registration_stats();
  EXPECT_EQ(stats.bu_home_sent, 3u);
  EXPECT_EQ(stats.ba_received, 3u);
  EXPECT_EQ(stats.ba_rejected, 0u);
  EXPECT_EQ(stats.first_registration, std::optional<Duration>(1024ms));
}

// §9.5: a rebooted correspondent has lost its bindings and its Kcn. The next packet with a Home
// Address option gets a Binding Error status 1 (§9.3.1); the node updates the binding
// (§11.3.6), the BU fails with 138 (expired nonces, §9.5.1: the tokens were made with the old
// Kcn) and the node redoes return routability (§11.7.2). Meanwhile the correspondent sends to
// the home address: through the home agent's tunnel (§9.3.2).
TEST(CorrespondentHostFailures, RebootRedoesReturnRoutability_9_3_1) {
  Testbed bed({.start_link = "a"});
  start_cbr_both_ways(bed, at(10s));
  bed.scheduler().schedule(at(3s), [&] { bed.cn().reboot(); });
  bed.run_until(at(11s));
  EXPECT_EQ(bed.cn().reboots(), 1u);
  EXPECT_EQ(signalling(bed.mn(), at(2s), at(11s)),
            (V{"3022000 rx BE", "3022000 tx BU()", "3044000 rx BA 138", "3044000 tx HoTI (tunnel)",
               "3044000 tx CoTI", "3066000 rx CoT", "3086000 rx HoT (tunnel)", "3086000 tx BU()",
               "3108000 rx BA 0"}));
  // Up: only the datagram that met the Binding Error is lost; down: nothing after start-up.
  EXPECT_EQ(lost_ranges(bed.mn().udp_sent(), bed.cn().udp_received()), (V{"0-5", "25"}));
  EXPECT_EQ(lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()), (V{"0-5"}));
  const auto& sent = bed.cn().udp_sent();
  EXPECT_TRUE(sent[24].route_optimized);   // 2.9 s
  EXPECT_FALSE(sent[25].route_optimized);  // 3.0 s: no binding any more
  EXPECT_TRUE(sent[26].route_optimized);   // 3.1 s: bound again when the BU arrived (3.097 s)
  std::vector<PathKind> down;
  for (const UdpReceived& r : bed.mn().udp_received()) {
    if (r.sequence >= 23 && r.sequence <= 28) down.push_back(r.path);
  }
  EXPECT_EQ(down, (std::vector<PathKind>{PathKind::kRouteOptimized, PathKind::kRouteOptimized,
                                         PathKind::kTunnel, PathKind::kRouteOptimized,
                                         PathKind::kRouteOptimized, PathKind::kRouteOptimized}));
  EXPECT_EQ(bed.cn().engine().counters().be_sent, 1u);
}

// Renumbering the home link (RFC 6275 §10.6.2, RFC 4862 §5.5.3): the RAs carry the new prefix
// and the old one deprecated, the home agent gets 2001:db8:2::1, and its engine sends an
// unsolicited Mobile Prefix Advertisement. The MobileNode engine discards it (§11.4.3: it was not
// solicited) and sends a Mobile Prefix Solicitation, whose answer it accepts; it keeps its home
// address in the old prefix (it does not form one in the new prefix). At its refresh the home
// prefix is deprecated, so the BA says 1 ("prefix discovery necessary", §10.3.1) and the node
// solicits the prefixes again (§11.7.3).
TEST(HomeAgentNodeFailures, RenumberingSendsMobilePrefixAdvertisements_10_6_2) {
  Testbed bed({.start_link = "a"});
  bed.scheduler().schedule(at(3s), [&] { bed.ha().renumber_home(kOldPrefix, kNewPrefix); });
  bed.run_until(at(4500ms));
  const Interface& home = *bed.ha().interfaces().front();
  EXPECT_TRUE(home.has_address(addr("2001:db8:2::1")));
  const wire::RouterAdvertisement ra = bed.ha().ra_sender(home)->build();
  std::vector<std::string> prefixes;
  for (const auto& option : ra.options) {
    if (const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body))
      prefixes.push_back(pio->prefix.to_string() + " " + std::to_string(pio->preferred_lifetime));
  }
  // The R-bit prefixes hold the router's own address (RFC 6275 §7.2).
  EXPECT_EQ(prefixes, (V{"2001:db8:1::1 0", "2001:db8:2::1 14400"}));
  EXPECT_EQ(bed.ha().engine().prefixes().size(), 2u);
  const auto& mn = bed.mn().engine().counters();
  EXPECT_EQ(bed.ha().engine().counters().mpa_sent, 2u);
  EXPECT_EQ(mn.mpa_discarded, 1u);
  EXPECT_EQ(mn.mps_sent, 1u);
  EXPECT_EQ(mn.mpa_accepted, 1u);
  bed.run_until(at(215s));
  // §11.4.3: the new prefix of the accepted MPA forms a second home address (same interface
  // identifier), registered at once (4.011 s; the home agent's DAD takes 1 s). The old one stays
  // registered while valid; its refresh gets BA 1 (prefix discovery necessary, §10.6.2).
  EXPECT_EQ(
      signalling(bed.mn(), at(0s), at(215s)),
      (V{"1000 tx BU(H)", "1025000 rx BA 0", "4011000 tx BU(H)", "5033000 rx BA 0",
         "209025000 tx BU(H)", "209047000 rx BA 1", "213033000 tx BU(H)", "213055000 rx BA 0"}));
  EXPECT_EQ(mn.mps_sent, 2u);
  EXPECT_EQ(mn.mpa_accepted, 2u);
  EXPECT_EQ(mn.home_addresses_formed, 1u);
  wire::Ipv6Address renumbered = bed.home_address();
  std::copy(kNewPrefix.bytes.begin(), kNewPrefix.bytes.begin() + 8, renumbered.bytes.begin());
  EXPECT_EQ(bed.mn().engine().home_addresses(), (std::vector{bed.home_address(), renumbered}));
  EXPECT_EQ(bed.mn().engine().state(bed.home_address()), core::HomeState::kRegistered);
  EXPECT_EQ(bed.mn().engine().state(renumbered), core::HomeState::kRegistered);
  EXPECT_EQ(bed.ha().engine().cache().size(), 2u);
  EXPECT_NE(bed.ha().engine().cache().find(bed.home_address()), nullptr);
  EXPECT_NE(bed.ha().engine().cache().find(renumbered), nullptr);
}

// A restarted home agent keeps the renumbered configuration (its prefixes are configuration,
// not binding state).
TEST(HomeAgentNodeFailures, RestartKeepsRenumberedPrefixes) {
  Testbed bed({.start_link = "a"});
  bed.run_until(at(2s));
  bed.ha().crash();
  bed.ha().renumber_home(kOldPrefix, kNewPrefix);
  bed.ha().restart();
  ASSERT_EQ(bed.ha().engine().prefixes().size(), 2u);
  EXPECT_EQ(bed.ha().engine().prefixes()[1].prefix, kNewPrefix);
  EXPECT_EQ(bed.ha().engine().prefixes()[0].preferred_until, at(2s));
  EXPECT_EQ(bed.ha().engine().cache().size(), 0u);
}

// RFC 4861 §6.2.4: a restarted router advertises again at once (initial RAs); proxy ND waits for
// new registrations (§10.4.1).
TEST(HomeAgentNodeFailures, RestartResumesRouterAdvertisements) {
  Testbed bed({.start_link = "a"});
  const Interface& home = *bed.ha().interfaces().front();
  bed.run_until(at(2s));
  bed.ha().crash();
  bed.run_until(at(3s));
  const std::uint64_t before = bed.ha().ra_sender(home)->counters().unsolicited;
  bed.ha().restart();
  bed.run_until(at(3s));  // the first RA goes at the restart instant
  EXPECT_EQ(bed.ha().ra_sender(home)->counters().unsolicited, before + 1);
  EXPECT_FALSE(home.nd()->proxies(bed.home_address()));
  bed.ha().restart();  // not crashed: nothing happens
  EXPECT_EQ(bed.ha().node_counters().restarts, 1u);
}

}  // namespace
}  // namespace mipv6::sim
