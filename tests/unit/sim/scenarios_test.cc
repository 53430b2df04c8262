// The bundled scenarios (scenarios/*.toml), each run at its fixed seed: what each one is meant to
// show holds (the protocol behaviour named in its comment), and its figures are exactly those
// of the reference run (a digest of handovers, flows, population and timeline). A change in
// any engine or in the simulator that moves a figure shows up here; when the change is
// intended, the failure message prints the new digest to paste. population-100k.toml is a
// benchmark, not run here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "sim/scenario.h"
#include "sim/scenario_file.h"

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

// Each scenario runs once for all the tests that look at it.
const ScenarioResult& run_bundled(const std::string& name) {
  static std::map<std::string, ScenarioResult> results;
  if (auto it = results.find(name); it != results.end()) return it->second;
  ScenarioFileError error;
  auto spec = load_scenario_file(std::string(MIPV6_SCENARIOS_DIR) + "/" + name + ".toml", error);
  EXPECT_TRUE(spec.has_value()) << error.to_string();
  if (!spec) return results[name];
  Scenario scenario(std::move(*spec));
  scenario.run();
  return results[name] = scenario.result();
}

std::string ms(const std::optional<Duration>& d) {
  if (!d) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", std::chrono::duration<double, std::milli>(*d).count());
  return text;
}

std::string ms(TimePoint t) {
  return ms(t.time_since_epoch());
}

// Every figure of a run that the summary shows, one line each.
std::string digest(const ScenarioResult& r) {
  std::string out;
  for (const HandoverReport& h : r.handovers)
    out += "handover " + h.to_string() + "\n";
  for (const FlowSummary& f : r.flows) {
    out += "flow " + f.flow + ": sent " + std::to_string(f.sent) + ", received " +
           std::to_string(f.received) + ", lost " + std::to_string(f.lost) + ", direct " +
           std::to_string(f.direct) + ", tunnel " + std::to_string(f.tunnel) + ", home " +
           std::to_string(f.home) + ", delay " + ms(f.delay_min) + "/" + ms(f.delay_mean) + "/" +
           ms(f.delay_max) + " ms\n";
  }
  const PopulationReport& p = r.population;
  out += "population: " + std::to_string(p.mobile_nodes) + " nodes, " +
         std::to_string(p.registered_at_end) + " registered at end, BU " +
         std::to_string(p.binding_updates) + ", BA " + std::to_string(p.binding_acks) +
         ", rejected " + std::to_string(p.ba_rejected) + ", registration p50/p99/max " +
         ms(p.registration_p50) + "/" + ms(p.registration_p99) + "/" + ms(p.registration_max) +
         " ms\n";
  for (const EventRecord& e : r.timeline)
    out += "at " + ms(e.at) + " ms: " + e.what + "\n";
  return out;
}

void expect_digest(const std::string& name, const std::string& expected) {
  const std::string actual = digest(run_bundled(name));
  EXPECT_EQ(actual, expected) << "digest of " << name << " now:\n" << actual;
}

const FlowSummary* flow(const ScenarioResult& r, const std::string& name) {
  const auto it = std::ranges::find(r.flows, name, &FlowSummary::flow);
  return it == r.flows.end() ? nullptr : &*it;
}

// The first signalling message with this label prefix from `from`, sent at or after `after`.
const SignalRecord* first_signal(const ScenarioResult& r, const std::string& label,
                                 const std::string& from, TimePoint after = TimePoint{}) {
  const auto it = std::ranges::find_if(r.signalling, [&](const SignalRecord& s) {
    return s.label.starts_with(label) && s.from == from && s.at >= after;
  });
  return it == r.signalling.end() ? nullptr : &*it;
}

// ---- what each scenario shows -------------------------------------------------------------

TEST(BundledScenarios, BasicHandoverMeasuresEveryPhaseOfEachMove) {
  const ScenarioResult& r = run_bundled("basic-handover");
  ASSERT_EQ(r.handovers.size(), 3u);
  EXPECT_EQ(r.handovers[0].to, "a");
  EXPECT_EQ(r.handovers[1].to, "b");
  EXPECT_EQ(r.handovers[2].to, "home");
  for (const HandoverReport& h : r.handovers) {
    EXPECT_TRUE(h.router_discovery && h.movement_detection && h.home_registration && h.total)
        << h.to_string();
  }
  // §11.7.2: return routability with the correspondent from the foreign links only; at home the
  // flows arrive on the home link.
  EXPECT_TRUE(r.handovers[0].return_routability && r.handovers[1].return_routability);
  EXPECT_FALSE(r.handovers[2].return_routability);
  EXPECT_GT(r.handovers[0].received_direct, r.handovers[0].received_tunnel);
  EXPECT_GT(r.handovers[2].received_home, 0u);
  EXPECT_EQ(r.handovers[2].received_direct + r.handovers[2].received_tunnel, 0u);
  ASSERT_NE(flow(r, "ping"), nullptr);
  ASSERT_NE(flow(r, "cbr-down"), nullptr);
  ASSERT_NE(flow(r, "cbr-up"), nullptr);
}

// Issue 5's yardsticks: with default RA timing a handover takes at least a second; with fast RAs
// (§7.5), optimistic DAD (RFC 4429) and a 100 ms probe of the old router (§11.5.1), a move
// between foreign links completes within 150 ms plus the round trips on the new path (the home
// registration's BU/BA, §11.7.1).
TEST(BundledScenarios, HandoverTimesDefaultVersusFastRouterAdvertisements_7_5) {
  for (const HandoverReport& h : run_bundled("ra-default").handovers) {
    ASSERT_TRUE(h.total) << h.to_string();
    EXPECT_GE(*h.total, std::chrono::seconds(1)) << h.to_string();
  }
  const HandoverReport& to_b = run_bundled("basic-handover").handovers.at(1);
  ASSERT_TRUE(to_b.total && to_b.home_registration) << to_b.to_string();
  EXPECT_LE(*to_b.total, std::chrono::milliseconds(150) + *to_b.home_registration)
      << to_b.to_string();
}

TEST(BundledScenarios, FastRouterAdvertisementsShortenEveryHandover_7_5) {
  const ScenarioResult& slow = run_bundled("ra-default");
  const ScenarioResult& fast = run_bundled("ra-fast");
  ASSERT_EQ(slow.handovers.size(), 3u);
  ASSERT_EQ(fast.handovers.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const HandoverReport& s = slow.handovers[i];
    const HandoverReport& f = fast.handovers[i];
    ASSERT_TRUE(s.router_discovery && f.router_discovery && s.total && f.total) << i;
    EXPECT_LT(*f.router_discovery, *s.router_discovery) << i;
    EXPECT_LT(*f.total, *s.total) << i;
    EXPECT_LT(f.packets_lost, s.packets_lost) << i;
  }
}

TEST(BundledScenarios, WithoutRouteOptimisationEveryPacketGoesThroughTheHomeAgent_10_4_1) {
  const ScenarioResult& off = run_bundled("ro-off");
  const ScenarioResult& on = run_bundled("ro-on");
  for (const FlowSummary& f : off.flows) {
    EXPECT_EQ(f.direct, 0u) << f.flow;
    EXPECT_GT(f.tunnel, 0u) << f.flow;
  }
  for (const HandoverReport& h : off.handovers)
    EXPECT_FALSE(h.return_routability) << h.to;
  // §9.3.2: route-optimised packets skip the home agent, so they cross the backbone once.
  const FlowSummary* down_on = flow(on, "cbr-down");
  const FlowSummary* down_off = flow(off, "cbr-down");
  ASSERT_TRUE(down_on && down_off);
  EXPECT_GT(down_on->direct, down_on->tunnel);
  ASSERT_TRUE(down_on->delay_mean && down_off->delay_mean);
  EXPECT_LT(*down_on->delay_mean + 20ms, *down_off->delay_mean);
}

TEST(BundledScenarios, ReturningHomeDeregistersWithTheHomeAgentAndTheCorrespondent_11_5_5) {
  const ScenarioResult& r = run_bundled("returning-home");
  ASSERT_EQ(r.handovers.size(), 2u);
  EXPECT_EQ(r.handovers[1].to, "home");
  const SignalRecord* dereg = first_signal(r, "BU(H,dereg)", "mn", TimePoint(15s));
  ASSERT_NE(dereg, nullptr);
  EXPECT_EQ(dereg->link, "home");
  EXPECT_NE(first_signal(r, "BA 0", "ha", dereg->at), nullptr);
  EXPECT_NE(first_signal(r, "BU(del)", "mn", dereg->at), nullptr);
  EXPECT_GT(r.handovers[1].received_home, 0u);
}

TEST(BundledScenarios, TwoHomeAgentsDiscoveryPicksThePreferredAndFailoverTheOther_11_4_1) {
  const ScenarioResult& r = run_bundled("two-home-agents");
  const SignalRecord* reply = first_signal(r, "DHAAD reply", "ha");
  ASSERT_NE(reply, nullptr);
  const SignalRecord* first_ba = first_signal(r, "BA 0", "ha");
  ASSERT_NE(first_ba, nullptr);
  EXPECT_LT(first_ba->at, TimePoint(12s));  // registered with "ha" (preference 20) before the crash
  const SignalRecord* failover = first_signal(r, "BA 0", "ha2");
  ASSERT_NE(failover, nullptr);  // then with "ha2"
  EXPECT_GT(failover->at, TimePoint(15s));
  ASSERT_EQ(r.handovers.size(), 2u);
  ASSERT_TRUE(r.handovers[1].home_registration);
  // §11.8: the back-off reaches MAX_BINDACK_TIMEOUT (32 s) before the node gives up on "ha".
  EXPECT_GT(*r.handovers[1].home_registration, 32s);
}

TEST(BundledScenarios, RenumberingReachesTheAwayNodeByMobilePrefixAdvertisement_11_4_2) {
  const ScenarioResult& r = run_bundled("renumbering");
  const SignalRecord* mpa = first_signal(r, "MPA", "ha", TimePoint(12s));
  ASSERT_NE(mpa, nullptr);
  EXPECT_TRUE(mpa->arrived.has_value());
  EXPECT_NE(first_signal(r, "MPS", "mn", TimePoint(12s)), nullptr);
}

TEST(BundledScenarios, FailuresAreRecoveredFrom) {
  const ScenarioResult& r = run_bundled("failures");
  // §9.3.1: the rebooted correspondent answers route-optimised packets with a Binding Error.
  EXPECT_NE(first_signal(r, "BE", "cn", TimePoint(14s)), nullptr);
  ASSERT_EQ(r.handovers.size(), 2u);
  // The 500 ms loss burst on B delays router discovery past its end.
  ASSERT_TRUE(r.handovers[1].router_discovery);
  EXPECT_GE(*r.handovers[1].router_discovery, 500ms);
  // The node registers with the restarted home agent after its move.
  EXPECT_NE(first_signal(r, "BA 0", "ha", TimePoint(20s)), nullptr);
}

TEST(BundledScenarios, OverlappingCoverageMakesBeforeBreaking) {
  const ScenarioResult& overlap = run_bundled("overlap");
  const ScenarioResult& basic = run_bundled("basic-handover");
  ASSERT_EQ(overlap.handovers.size(), 3u);
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(overlap.handovers[i].total && basic.handovers[i].total) << i;
    EXPECT_LT(*overlap.handovers[i].total, *basic.handovers[i].total) << i;
    // The new care-of address is registered while the old link still delivers.
    EXPECT_LE(overlap.handovers[i].packets_lost, 1u) << overlap.handovers[i].to_string();
  }
}

TEST(BundledScenarios, AThousandNodesAllRegisterWithOneHomeAgent) {
  const PopulationReport& p = run_bundled("population-1k").population;
  EXPECT_EQ(p.mobile_nodes, 1000u);
  EXPECT_EQ(p.registered_at_end, 1000u);
  EXPECT_EQ(p.ba_rejected, 0u);
  EXPECT_EQ(p.binding_acks, p.binding_updates);
}

// ---- exact figures at the files' seeds ----------------------------------------------------

TEST(BundledScenarioFigures, BasicHandover) {
  expect_digest(
      "basic-handover",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 100.000 ms, home registration 1024.000 ms, return routability 64.000 ms, total 1141.000 ms, sent 600, lost 68, direct 528, tunnel 4, home 0
handover to b at 15.000 s: router 40.759 ms, address 0.000 ms, detection 100.000 ms, home registration 24.000 ms, return routability 44.000 ms, total 171.000 ms, sent 600, lost 10, direct 590, tunnel 0, home 0
handover to home at 25.000 s: router 7.494 ms, address 0.000 ms, detection 100.000 ms, home registration 4.000 ms, return routability -, total 131.000 ms, sent 600, lost 8, direct 0, tunnel 0, home 592
flow ping: sent 340, received 324, lost 16, direct 186, tunnel 0, home 138, delay 22.000/22.006/24.000 ms
flow cbr-down: sent 1700, received 1630, lost 70, direct 932, tunnel 4, home 694, delay 11.000/11.026/21.000 ms
flow cbr-up: sent 1700, received 1634, lost 66, direct 930, tunnel 6, home 698, delay 11.000/11.043/21.000 ms
population: 1 nodes, 0 registered at end, BU 3, BA 3, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to b
at 25000.000 ms: move to home
)");
}
TEST(BundledScenarioFigures, RaDefault) {
  expect_digest(
      "ra-default",
      R"(handover to a at 5.000 s: router 169.593 ms, address 1000.000 ms, detection 3000.000 ms, home registration 1024.000 ms, return routability 64.000 ms, total 4031.000 ms, sent 1000, lost 402, direct 590, tunnel 8, home 0
handover to b at 15.000 s: router 229.910 ms, address 1000.000 ms, detection 3000.000 ms, home registration 24.000 ms, return routability 44.000 ms, total 3071.000 ms, sent 1000, lost 307, direct 693, tunnel 0, home 0
handover to home at 25.000 s: router 309.799 ms, address 0.000 ms, detection 3000.000 ms, home registration 4.000 ms, return routability -, total 3031.000 ms, sent 1000, lost 302, direct 0, tunnel 0, home 698
flow cbr-down: sent 3400, received 2388, lost 1012, direct 1283, tunnel 8, home 1097, delay 11.000/11.034/21.000 ms
population: 1 nodes, 0 registered at end, BU 3, BA 3, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to b
at 25000.000 ms: move to home
)");
}
TEST(BundledScenarioFigures, RaFast) {
  expect_digest(
      "ra-fast",
      R"(handover to a at 5.000 s: router 10.491 ms, address 1000.000 ms, detection 1010.491 ms, home registration 1024.000 ms, return routability 64.000 ms, total 2041.000 ms, sent 1000, lost 203, direct 789, tunnel 8, home 0
handover to b at 15.000 s: router 40.759 ms, address 1000.000 ms, detection 1040.759 ms, home registration 24.000 ms, return routability 44.000 ms, total 1111.000 ms, sent 1000, lost 111, direct 889, tunnel 0, home 0
handover to home at 25.000 s: router 7.494 ms, address 0.000 ms, detection 954.171 ms, home registration 4.000 ms, return routability -, total 981.000 ms, sent 1000, lost 97, direct 0, tunnel 0, home 903
flow cbr-down: sent 3400, received 2988, lost 412, direct 1678, tunnel 8, home 1302, delay 11.000/11.027/21.000 ms
population: 1 nodes, 0 registered at end, BU 3, BA 3, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to b
at 25000.000 ms: move to home
)");
}
TEST(BundledScenarioFigures, RoOn) {
  expect_digest(
      "ro-on",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 974.044 ms, home registration 1084.000 ms, return routability 184.000 ms, total 2066.000 ms, sent 500, lost 101, direct 387, tunnel 12, home 0
handover to b at 15.000 s: router 40.759 ms, address 0.000 ms, detection 977.777 ms, home registration 84.000 ms, return routability 104.000 ms, total 1166.000 ms, sent 500, lost 57, direct 443, tunnel 0, home 0
flow cbr-down: sent 1200, received 1041, lost 159, direct 830, tunnel 12, home 199, delay 26.000/26.463/66.000 ms
flow cbr-up: sent 1200, received 1091, lost 109, direct 828, tunnel 15, home 248, delay 26.000/26.559/66.000 ms
population: 1 nodes, 1 registered at end, BU 2, BA 2, rejected 0, registration p50/p99/max 1084.000/1084.000/1084.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to b
)");
}
TEST(BundledScenarioFigures, RoOff) {
  expect_digest(
      "ro-off",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 974.044 ms, home registration 1084.000 ms, return routability -, total 2066.000 ms, sent 500, lost 103, direct 0, tunnel 397, home 0
handover to b at 15.000 s: router 40.759 ms, address 0.000 ms, detection 977.777 ms, home registration 84.000 ms, return routability -, total 1066.000 ms, sent 500, lost 50, direct 0, tunnel 450, home 0
flow cbr-down: sent 1200, received 1046, lost 154, direct 0, tunnel 847, home 199, delay 26.000/58.392/66.000 ms
flow cbr-up: sent 1200, received 1091, lost 109, direct 0, tunnel 843, home 248, delay 26.000/56.917/66.000 ms
population: 1 nodes, 1 registered at end, BU 2, BA 2, rejected 0, registration p50/p99/max 1084.000/1084.000/1084.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to b
)");
}
TEST(BundledScenarioFigures, ReturningHome) {
  expect_digest(
      "returning-home",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 974.044 ms, home registration 1024.000 ms, return routability 64.000 ms, total 2001.000 ms, sent 600, lost 119, direct 476, tunnel 5, home 0
handover to home at 15.000 s: router 26.141 ms, address 0.000 ms, detection 977.777 ms, home registration 4.000 ms, return routability -, total 1011.000 ms, sent 600, lost 60, direct 0, tunnel 0, home 540
flow ping: sent 240, received 210, lost 30, direct 79, tunnel 1, home 130, delay 22.000/22.105/42.000 ms
flow cbr-down: sent 1200, received 1051, lost 149, direct 397, tunnel 4, home 650, delay 11.000/11.040/21.000 ms
flow cbr-up: sent 1200, received 1098, lost 102, direct 396, tunnel 4, home 698, delay 11.000/11.046/21.000 ms
population: 1 nodes, 0 registered at end, BU 2, BA 2, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 15000.000 ms: move to home
)");
}
TEST(BundledScenarioFigures, TwoHomeAgents) {
  expect_digest(
      "two-home-agents",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 998.044 ms, home registration 1022.000 ms, return routability 64.000 ms, total 2021.000 ms, sent 100, lost 20, direct 79, tunnel 1, home 0
handover to b at 15.000 s: router 40.759 ms, address 0.000 ms, detection 977.777 ms, home registration 64022.000 ms, return routability 44.000 ms, total 65021.000 ms, sent 850, lost 650, direct 199, tunnel 1, home 0
flow ping: sent 990, received 320, lost 670, direct 278, tunnel 2, home 40, delay 22.000/22.163/42.000 ms
population: 1 nodes, 1 registered at end, BU 8, BA 2, rejected 0, registration p50/p99/max 1022.000/1022.000/1022.000 ms
at 5000.000 ms: move to a
at 12000.000 ms: ha crash
at 15000.000 ms: move to b
)");
}
TEST(BundledScenarioFigures, Renumbering) {
  expect_digest(
      "renumbering",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 974.044 ms, home registration 1024.000 ms, return routability 64.000 ms, total 2021.000 ms, sent 250, lost 20, direct 229, tunnel 1, home 0
flow ping: sent 290, received 270, lost 20, direct 229, tunnel 1, home 40, delay 22.000/22.119/42.000 ms
population: 1 nodes, 2 registered at end, BU 2, BA 2, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 12000.000 ms: renumber home to 2001:db8:2::/64
)");
}
TEST(BundledScenarioFigures, Failures) {
  expect_digest(
      "failures",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 974.044 ms, home registration 1024.000 ms, return routability 64.000 ms, total 2001.000 ms, sent 900, lost 479, direct 416, tunnel 5, home 0
handover to b at 20.000 s: router 517.689 ms, address 0.000 ms, detection 938.075 ms, home registration 1024.000 ms, return routability -, total 1962.075 ms, sent 900, lost 117, direct 0, tunnel 783, home 0
flow ping: sent 340, received 240, lost 100, direct 69, tunnel 131, home 40, delay 22.000/32.925/42.000 ms
flow cbr-down: sent 1700, received 1204, lost 496, direct 347, tunnel 657, home 200, delay 11.000/16.459/22.075 ms
flow cbr-up: sent 1700, received 1249, lost 451, direct 346, tunnel 655, home 248, delay 11.000/16.252/21.000 ms
population: 1 nodes, 1 registered at end, BU 3, BA 3, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a
at 8000.000 ms: ha crash
at 10000.000 ms: ha restart
at 14000.000 ms: cn reboot
at 20000.000 ms: move to b
at 20000.000 ms: loss burst on b for 500 ms
)");
}
TEST(BundledScenarioFigures, Overlap) {
  expect_digest(
      "overlap",
      R"(handover to a at 5.000 s: router 10.491 ms, address 0.000 ms, detection 10.491 ms, home registration 1024.000 ms, return routability 64.000 ms, total 11.000 ms, sent 500, lost 1, direct 445, tunnel 4, home 50
handover to b at 15.000 s: router 39.974 ms, address 0.785 ms, detection 40.759 ms, home registration 24.000 ms, return routability 44.000 ms, total 11.000 ms, sent 500, lost 0, direct 500, tunnel 0, home 0
handover to home at 25.000 s: router 7.494 ms, address 0.000 ms, detection 7.494 ms, home registration 4.000 ms, return routability -, total 11.000 ms, sent 500, lost 0, direct 2, tunnel 0, home 498
flow cbr-down: sent 1700, received 1699, lost 1, direct 947, tunnel 4, home 748, delay 11.000/11.025/21.000 ms
flow cbr-up: sent 1700, received 1649, lost 51, direct 943, tunnel 6, home 700, delay 11.000/11.042/21.000 ms
population: 1 nodes, 0 registered at end, BU 3, BA 3, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 5000.000 ms: move to a (second radio)
at 6000.000 ms: leave home
at 15000.000 ms: move to b (second radio)
at 16000.000 ms: leave a
at 25000.000 ms: move to home (second radio)
at 26000.000 ms: leave b
)");
}
TEST(BundledScenarioFigures, Population1k) {
  expect_digest(
      "population-1k",
      R"(handover to b at 20.000 s: router 180.212 ms, address 0.000 ms, detection 3000.000 ms, home registration 24.000 ms, return routability -, total -, sent 0, lost 0, direct 0, tunnel 0, home 0
population: 1000 nodes, 1000 registered at end, BU 2000, BA 2000, rejected 0, registration p50/p99/max 1024.000/1024.000/1024.000 ms
at 20000.000 ms: move to b
)");
}

}  // namespace
}  // namespace mipv6::sim
