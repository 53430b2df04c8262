// The generic Scenario (sim/scenario.h): scenarios built from a ScenarioSpec in code, run with
// the real engines at seed 7, asserted exactly. Unless a test says otherwise: fast RAs (RFC 6275
// §7.5) with optimistic DAD (RFC 4429), a 100 ms probe of the previous router (§11.5.1), the
// home agent 2001:db8:1::1 configured in the mobile node, UDP CBR every 10 ms both ways from
// 1 s, links access 1 ms and backbone / cn 5 ms.
//
// Where the numbers come from (see also handover_test.cc):
//  - MN <-> CN direct: access 1 ms + backbone 5 ms + cn 5 ms = 11 ms one way; through the home
//    agent: MN -> HA 11 ms + HA -> CN 10 ms = 21 ms;
//  - a first home registration waits for the home agent's DAD of the home address (§10.3.1,
//    1 s): BU -> BA 1024 ms from a foreign link (1022 ms when the access router already knows
//    the care-of address); a later one 24 ms (22 ms);
//  - a move is detected 100 ms after the link-up (the probe of the previous router times out);
//  - DHAAD (§11.4.1) costs one round trip to the home agent before the BU: 24 ms.
#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp (POSIX)

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/scenario.h"

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

wire::Ipv6Address address(const char* text) {
  return *wire::Ipv6Address::parse(text);
}

std::string us(TimePoint t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

std::string us(std::optional<Duration> d) {
  if (!d) return "-";
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(*d).count());
}

MoveSpec move(TimePoint at, const char* link, Duration overlap = Duration{0}) {
  return MoveSpec{at, link, overlap, std::nullopt};
}

HomeAgentSpec home_agent(const char* name, const char* at, std::uint16_t preference) {
  HomeAgentSpec h;
  h.name = name;
  h.address = address(at);
  h.preference = preference;
  return h;
}

EventSpec event(TimePoint at, EventKind kind, std::string target = {}) {
  EventSpec e;
  e.at = at;
  e.kind = kind;
  e.target = std::move(target);
  return e;
}

ScenarioSpec base() {
  ScenarioSpec s;
  s.name = "test";
  s.seed = 7;
  s.ra = RaTiming::kFast;
  s.duration = 20s;
  s.mobile_nodes.optimistic_dad = true;
  s.mobile_nodes.probe_timeout = 100ms;
  s.mobile_nodes.home_agent = address("2001:db8:1::1");
  s.traffic.cbr_interval = 10ms;
  return s;
}

// "<sent µs> <flow>#<sequence>" for every packet of `flow` never received.
std::vector<std::string> lost(const ScenarioResult& r, const std::string& flow) {
  std::vector<std::string> out;
  for (const PacketRecord& p : r.packets) {
    if (p.flow == flow && !p.received)
      out.push_back(us(p.sent) + " " + flow + "#" + std::to_string(p.sequence));
  }
  return out;
}

const FlowSummary& flow(const ScenarioResult& r, const std::string& name) {
  static const FlowSummary kNone;
  for (const FlowSummary& f : r.flows) {
    if (f.flow == name) return f;
  }
  return kNone;
}

std::string summary(const FlowSummary& f) {
  return f.flow + " sent " + std::to_string(f.sent) + " received " + std::to_string(f.received) +
         " lost " + std::to_string(f.lost) + " direct " + std::to_string(f.direct) + " tunnel " +
         std::to_string(f.tunnel) + " home " + std::to_string(f.home) + " delay " +
         us(f.delay_min) + "/" + us(f.delay_mean) + "/" + us(f.delay_max);
}

// "<µs> <from> -> <to> <label>" of the signalling records with one of `labels` (prefixes).
std::vector<std::string> chart(const ScenarioResult& r, std::vector<std::string> labels,
                               TimePoint from = TimePoint{}) {
  std::vector<std::string> out;
  for (const SignalRecord& s : r.signalling) {
    if (s.at < from) continue;
    const bool wanted = std::any_of(labels.begin(), labels.end(),
                                    [&](const std::string& l) { return s.label.rfind(l, 0) == 0; });
    if (wanted) out.push_back(us(s.at) + " " + s.from + " -> " + s.to + " " + s.label);
  }
  return out;
}

// Everything a result says, as text: two equal runs give equal strings.
std::string describe(const ScenarioResult& r) {
  std::string out = r.name + " " + std::to_string(r.seed) + " " + us(r.simulated) + " " +
                    std::to_string(r.events) + "\n";
  for (const auto& h : r.handovers)
    out += h.to_string() + "\n";
  for (const auto& e : r.timeline)
    out += us(e.at) + " " + e.what + "\n";
  for (const auto& p : r.packets) {
    out += p.flow + std::to_string(p.sequence) + " " + us(p.sent) + " " +
           (p.received ? us(*p.received) : "-") + " " + (p.path ? path_kind_name(*p.path) : "-") +
           "\n";
  }
  for (const auto& f : r.flows)
    out += summary(f) + "\n";
  for (const auto& s : r.signalling) {
    out += us(s.at) + " " + (s.arrived ? us(*s.arrived) : "-") + " " + s.from + " " + s.to + " " +
           s.label + " " + s.link + "\n";
  }
  const auto& p = r.population;
  out += std::to_string(p.mobile_nodes) + " " + std::to_string(p.registered_at_end) + " " +
         std::to_string(p.binding_updates) + " " + std::to_string(p.binding_acks) + " " +
         std::to_string(p.ba_rejected) + " " + us(p.registration_p50) + " " +
         us(p.registration_p99) + " " + us(p.registration_max) + "\n";
  for (const auto& l : r.links) {
    out += l.name + " " + std::to_string(l.counters.frames_sent) + " " +
           std::to_string(l.counters.frames_carried) + " " +
           std::to_string(l.counters.frames_dropped_loss) + "\n";
  }
  return out;
}

// §10.5.1, §11.4.1: with two home agents on the home link and no home agent configured, the
// node asks the anycast address; the first home agent, which learnt the second from its RAs
// (Home Agents List), answers with the preferred one first, and the node registers there.
TEST(Scenario, DhaadPicksThePreferredHomeAgent_10_5_1) {
  auto s = base();
  s.home_agents = {home_agent("ha", "2001:db8:1::1", 10), home_agent("ha2", "2001:db8:1::2", 20)};
  s.mobile_nodes.home_agent.reset();
  s.moves = {move(TimePoint(5s), "a")};
  s.duration = 10s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"DHAAD", "BU(H)", "BA"}),
            (std::vector<std::string>{
                "5101000 mn -> ha DHAAD request",  // to the anycast address, answered by ha
                "5116000 ha -> mn DHAAD reply",
                "5125000 mn -> ha2 BU(H)",
                "6140000 ha2 -> mn BA 0",  // after ha2's DAD of the home address
                "6211000 cn -> mn BA 0",
            }));
  EXPECT_EQ(sc.home_agent(0).engine().cache().size(), 0u);
  EXPECT_EQ(sc.home_agent(1).engine().cache().size(), 1u);
  EXPECT_EQ(sc.mobile().engine().counters().dhaad_replies, 1u);
  // The DHAAD round trip (24 ms) comes before the Binding Update.
  EXPECT_EQ(us(r.handovers.at(0).movement_detection), "124000");
}

// §11.8: the home agent the node registered with crashes; at its next move the node's Binding
// Updates go unanswered (1, 2, 4, 8, 16 and 32 s apart: InitialBindackTimeout doubling up to
// MAX_BINDACK_TIMEOUT, §13), and after one more MAX_BINDACK_TIMEOUT without an answer
// (max_timeout_attempts = 1) it tries the next home agent of its DHAAD list. The core router
// reaches the home link through the second home agent once the first is gone.
TEST(Scenario, HomeAgentCrashFailsOverToTheOtherAfterRetries_11_8) {
  auto s = base();
  s.home_agents = {home_agent("ha", "2001:db8:1::1", 20), home_agent("ha2", "2001:db8:1::2", 10)};
  s.mobile_nodes.home_agent.reset();
  s.moves = {move(TimePoint(3s), "a"), move(TimePoint(10s), "b")};
  s.events = {event(TimePoint(8s), EventKind::kHomeAgentCrash, "ha")};
  s.duration = 80s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"BU(H)", "BA"}, TimePoint(5s)), (std::vector<std::string>{
                                                          "10101000 mn -> ha BU(H)",
                                                          "11101000 mn -> ha BU(H)",
                                                          "13101000 mn -> ha BU(H)",
                                                          "17101000 mn -> ha BU(H)",
                                                          "25101000 mn -> ha BU(H)",
                                                          "41101000 mn -> ha BU(H)",
                                                          "73101000 mn -> ha2 BU(H)",
                                                          "74116000 ha2 -> mn BA 0",
                                                          "74160000 cn -> mn BA 0",
                                                      }));
  EXPECT_EQ(sc.mobile().engine().counters().failovers, 1u);
  EXPECT_EQ(sc.home_agent(1).engine().cache().size(), 1u);
  EXPECT_EQ(r.population.registered_at_end, 1u);
  EXPECT_EQ(r.timeline.at(1).what, "ha crash");
  // Data flows again, through the second home agent and route-optimised, after the failover.
  // 6411 downlink datagrams lost: from the move at 10 s until the failover's registration
  // (74.122 s) and route optimisation (74.166 s); the 584 direct ones are the last 5.84 s.
  EXPECT_EQ(r.handovers.at(1).to_string(),
            "to b at 10.000 s: router 22.141 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 64022.000 ms, return routability 44.000 ms, total 64131.000 ms, sent "
            "7000, lost 6411, direct 584, tunnel 5, home 0");
}

// §10.3.1: the home agent restarts with an empty (volatile) Binding Cache. Nothing tells the
// node: packets through the home agent are lost (nobody defends the home address) until the
// node's next refresh, which the home agent takes as a new registration (DAD again). With a
// 16 s lifetime, the Binding Refresh Advice is 8 s (half, §10.3.1): refresh at 12.124 s,
// retransmitted after 1 s (the home agent's DAD is still running), both answered.
TEST(Scenario, HomeAgentRestartWithEmptyCacheNodeReRegistersAtRefresh_10_3_1) {
  auto s = base();
  s.mobile_nodes.route_optimization = false;
  s.mobile_nodes.registration_lifetime = 16s;
  s.moves = {move(TimePoint(3s), "a")};
  s.events = {event(TimePoint(8s), EventKind::kHomeAgentCrash, "ha"),
              event(TimePoint(9s), EventKind::kHomeAgentRestart, "ha")};
  s.duration = 25s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"BU(H)", "BA"}), (std::vector<std::string>{
                                           "3101000 mn -> ha BU(H)",
                                           "4116000 ha -> mn BA 0",
                                           "12125000 mn -> ha BU(H)",
                                           "13125000 mn -> ha BU(H)",
                                           "13140000 ha -> mn BA 0",
                                           "13140000 ha -> mn BA 0",
                                           "21147000 mn -> ha BU(H)",
                                           "21162000 ha -> mn BA 0",
                                       }));
  EXPECT_EQ(sc.home_agent().engine().counters().registrations, 1u);
  EXPECT_EQ(sc.home_agent().node_counters().restarts, 1u);
  // Lost downlink: 112 around the first registration (3 s .. 4.124 s) and 514 from the crash
  // at 8 s until the re-registration at 13.146 s; the rest through the home agent (21 ms).
  EXPECT_EQ(summary(flow(r, "cbr-down")),
            "cbr-down sent 2400 received 1774 lost 626 direct 0 tunnel 1575 home 199 delay "
            "11000/19879/21000");
}

// §9.3.1, §11.3.6 (Binding Error), §5.2.7: the correspondent reboots and forgets its binding
// and its nonces. The node's next packet with a Home Address option gets a Binding Error
// (status 1); the node re-sends its Binding Update with the old tokens (BA 138: expired
// nonces), runs return routability again and the route is optimised again 98 ms after the
// reboot.
TEST(Scenario, CorrespondentRebootRouteOptimizationRecovers_9_3_1) {
  auto s = base();
  s.moves = {move(TimePoint(3s), "a")};
  s.events = {event(TimePoint(10s), EventKind::kCorrespondentReboot)};
  s.duration = 15s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"BE", "BU()", "BA", "HoTI", "CoTI", "HoT", "CoT"}, TimePoint(10s)),
            (std::vector<std::string>{
                "10006000 cn -> mn BE",  // the first uplink datagram after the reboot
                "10013000 mn -> cn BU()",
                "10016000 cn -> mn BE",
                "10026000 cn -> mn BE",
                "10028000 cn -> mn BA 138",  // §6.1.8: expired nonces (new Kcn)
                "10035000 mn -> ha HoTI (tunnel)",
                "10035000 mn -> cn CoTI",
                "10050000 ha -> cn HoTI",
                "10050000 cn -> mn CoT",
                "10060000 cn -> ha HoT",
                "10070000 ha -> mn HoT (tunnel)",
                "10077000 mn -> cn BU()",
                "10092000 cn -> mn BA 0",
            }));
  EXPECT_EQ(sc.correspondent().reboots(), 1u);
  // Nothing is lost because of the reboot (the 112 / 107 lost are the first registration's):
  // downlink datagrams go through the home agent until the new binding (9 of them), uplink
  // ones with a Home Address option are refused (Binding Error) and 8 reverse-tunnelled.
  EXPECT_EQ(summary(flow(r, "cbr-down")),
            "cbr-down sent 1400 received 1288 lost 112 direct 1072 tunnel 17 home 199 delay "
            "11000/11133/21000");
  EXPECT_EQ(summary(flow(r, "cbr-up")),
            "cbr-up sent 1400 received 1293 lost 107 direct 1069 tunnel 15 home 209 delay "
            "11000/11123/21000");
}

// Link: a loss burst on link A in [7 s, 7.2 s) loses exactly the frames that start then: the
// downlink datagrams sent 10 ms earlier (CN -> core -> AR-A takes 10 ms) and the uplink ones
// sent in the window; nothing else of the flows.
TEST(Scenario, LossBurstLosesExactlyTheFramesInTheWindow) {
  auto s = base();
  s.moves = {move(TimePoint(3s), "a")};
  auto burst = event(TimePoint(7s), EventKind::kLossBurst, "a");
  burst.duration = 200ms;
  s.events = {burst};
  s.duration = 10s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  std::vector<std::string> down, up;
  for (const std::string& l : lost(r, "cbr-down")) {
    if (l >= "6" && l < "8") down.push_back(l);
  }
  for (const std::string& l : lost(r, "cbr-up")) {
    if (l >= "6" && l < "8") up.push_back(l);
  }
  ASSERT_EQ(down.size(), 20u);
  EXPECT_EQ(down.front(), "6990000 cbr-down#599");
  EXPECT_EQ(down.back(), "7180000 cbr-down#618");
  ASSERT_EQ(up.size(), 20u);
  EXPECT_EQ(up.front(), "7000000 cbr-up#600");
  EXPECT_EQ(up.back(), "7190000 cbr-up#619");
  EXPECT_EQ(r.links.at(1).name, "a");
  EXPECT_EQ(r.links.at(1).counters.frames_dropped_loss, 45u);
  EXPECT_EQ(r.timeline.at(1).what, "loss burst on a for 200 ms");
}

// §11.7.2 off: no return routability; every packet away from home goes through the home agent,
// both ways (§10.4.1 tunnel, §11.3.1 reverse tunnel), 21 ms instead of 11 ms.
TEST(Scenario, RouteOptimizationOffEverythingViaTheHomeAgent_11_3_1) {
  auto s = base();
  s.mobile_nodes.route_optimization = false;
  s.moves = {move(TimePoint(3s), "a"), move(TimePoint(8s), "b")};
  s.duration = 12s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_TRUE(chart(r, {"HoTI", "CoTI", "BU()"}).empty());
  // Once registered on A (4.124 s) and on B (8.124 s): through the home agent. Before, at home:
  // directly. (In the 100 ms before the node notices a move, it still sends as if at home.)
  int checked = 0;
  for (const PacketRecord& p : r.packets) {
    const bool home = p.sent >= TimePoint(1100ms) && p.sent < TimePoint(2900ms);
    const bool on_a = p.sent >= TimePoint(4200ms) && p.sent < TimePoint(7950ms);
    const bool on_b = p.sent >= TimePoint(8200ms);
    if (!home && !on_a && !on_b) continue;
    ++checked;
    ASSERT_TRUE(p.received) << p.flow << p.sequence;
    EXPECT_EQ(*p.path, on_a || on_b ? PathKind::kTunnel : PathKind::kHome) << p.flow << p.sequence;
    EXPECT_EQ(*p.received - p.sent, on_a || on_b ? 21ms : 11ms) << p.flow << p.sequence;
  }
  EXPECT_EQ(checked, 2 * (180 + 375 + 380));
  EXPECT_EQ(summary(flow(r, "cbr-down")),
            "cbr-down sent 1100 received 975 lost 125 direct 0 tunnel 776 home 199 delay "
            "11000/18961/21000");
  EXPECT_EQ(summary(flow(r, "cbr-up")),
            "cbr-up sent 1100 received 983 lost 117 direct 0 tunnel 774 home 209 delay "
            "11000/18884/21000");
}

// §11.5.5: back home, the node de-registers (BU lifetime 0 to the home agent's MAC; the BA
// after the agent resolved the node's MAC afresh, NS + NA: 3 ms), deletes the correspondent's
// binding, and data arrives on the home link again.
TEST(Scenario, ReturningHomeDeregisters_11_5_5) {
  auto s = base();
  s.moves = {move(TimePoint(3s), "a"), move(TimePoint(8s), "home")};
  s.traffic.ping_interval = 100ms;
  s.duration = 12s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"BU", "BA"}, TimePoint(8s)), (std::vector<std::string>{
                                                       "8101000 mn -> ha BU(H,dereg)",
                                                       "8104000 ha -> mn BA 0",
                                                       "8105000 mn -> cn BU(del)",
                                                       "8120000 cn -> mn BA 0",
                                                   }));
  ASSERT_EQ(r.handovers.size(), 2u);
  EXPECT_EQ(r.handovers[1].to_string(),
            "to home at 8.000 s: router 11.759 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 4.000 ms, return routability -, total 131.000 ms, sent 440, lost 14, "
            "direct 0, tunnel 0, home 426");
  EXPECT_EQ(sc.home_agent().engine().counters().deregistrations, 1u);
  EXPECT_EQ(r.population.registered_at_end, 0u);
  // Pings (request sent -> reply back, 22 ms at home and route-optimised): 14 lost around
  // the first registration on A; the 38 direct ones are those sent on A after 4.195 s.
  EXPECT_EQ(summary(flow(r, "ping")),
            "ping sent 110 received 96 lost 14 direct 38 tunnel 0 home 58 delay 22000/22020/24000");
}

// Make before break (draft-04 §9.2): the second radio comes up on B while the first stays on A
// for 1 s; the node prefers its second radio, registers the new care-of address while the old
// one still works, and not a datagram is lost in either direction.
TEST(Scenario, OverlappingCoverageLosesNoPackets) {
  auto s = base();
  s.mobile_nodes.start_link = "a";
  s.moves = {move(TimePoint(6s), "b", 1s)};
  s.duration = 10s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  // The node switches 55 ms after the second radio came up (RA 10.6 ms, then the optimistic
  // address), registers (24 ms) and runs return routability (44 ms) while the old care-of
  // address still receives.
  EXPECT_EQ(r.handovers.at(0).to_string(),
            "to b at 6.000 s: router 10.588 ms, address 44.477 ms, detection 55.064 ms, home "
            "registration 24.000 ms, return routability 44.000 ms, total 1.000 ms, sent 400, "
            "lost 0, direct 400, tunnel 0, home 0");
  // Only the first registration (at 1 ms, answered after the home agent's DAD at 1.025 s)
  // loses datagrams.
  EXPECT_EQ(lost(r, "cbr-down"), (std::vector<std::string>{"1000000 cbr-down#0"}));
  EXPECT_EQ(lost(r, "cbr-up"),
            (std::vector<std::string>{"1000000 cbr-up#0", "1010000 cbr-up#1", "1020000 cbr-up#2"}));
  EXPECT_EQ(r.timeline.size(), 2u);
  EXPECT_EQ(r.timeline.at(0).what, "move to b (second radio)");
  EXPECT_EQ(r.timeline.at(1).what, "leave a");
}

// §10.6.2: the home link is renumbered while the node is away; the home agent sends it a Mobile
// Prefix Advertisement at once (to the care-of address, Type 2 Routing header), which the node
// accepts.
TEST(Scenario, RenumberingReachesTheAwayNodeByMpa_10_6_2) {
  auto s = base();
  s.moves = {move(TimePoint(3s), "a")};
  auto renumber = event(TimePoint(8s), EventKind::kRenumberHome);
  renumber.new_prefix = address("2001:db8:2::");
  s.events = {renumber};
  s.duration = 12s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  EXPECT_EQ(chart(r, {"MPA", "MPS"}), (std::vector<std::string>{
                                          "8005000 ha -> mn MPA",
                                          "8012000 mn -> ha MPS",
                                          "9005000 ha -> mn MPA",
                                      }));
  EXPECT_GE(sc.mobile().engine().counters().mpa_accepted, 1u);
  EXPECT_EQ(r.timeline.at(1).what, "renumber home to 2001:db8:2::/64");
}

// A population: 1,000 mobile nodes start on link A 1 ms apart and all register with the one
// home agent (capacity 1024); each first registration takes the home agent's DAD: 1024 ms.
TEST(Scenario, ThousandMobileNodesAllRegistered) {
  auto s = base();
  s.mobile_nodes.count = 1000;
  s.mobile_nodes.start_link = "a";
  s.mobile_nodes.start_stagger = 1ms;
  s.capture = false;
  s.trace = false;
  s.traffic.cbr_interval.reset();
  s.duration = 2500ms;  // the last node starts at 0.999 s and is registered at 2.024 s
  Scenario sc(s);
  sc.run();
  const auto p = sc.result().population;
  EXPECT_EQ(p.mobile_nodes, 1000u);
  EXPECT_EQ(p.registered_at_end, 1000u);
  EXPECT_EQ(p.binding_updates, 1000u);
  EXPECT_EQ(p.binding_acks, 1000u);
  EXPECT_EQ(p.ba_rejected, 0u);
  EXPECT_EQ(us(p.registration_p50), "1024000");
  EXPECT_EQ(us(p.registration_max), "1024000");
  EXPECT_EQ(sc.mobile(999).name(), "mn1000");
}

// §10.3.1: beyond the Binding Cache's capacity a registration is refused with BA 130
// (Insufficient resources); the refused nodes keep retrying.
TEST(Scenario, HomeAgentCapacityRefusesWith130_10_3_1) {
  auto s = base();
  s.home_agents = {home_agent("ha", "2001:db8:1::1", 0)};
  s.home_agents[0].max_bindings = 10;
  s.mobile_nodes.count = 12;
  s.mobile_nodes.start_link = "a";
  s.capture = false;
  s.trace = false;
  s.traffic.cbr_interval.reset();
  s.duration = 5s;
  Scenario sc(s);
  sc.run();
  const auto p = sc.result().population;
  EXPECT_EQ(p.registered_at_end, 10u);
  EXPECT_EQ(p.ba_rejected, 2u);
  EXPECT_EQ(sc.home_agent().engine().counters().ba_rejected, 2u);
}

// The message sequence chart of the first registration from link A, and the frames' links.
TEST(Scenario, SignallingTraceOfTheObservedNode) {
  auto s = base();
  s.moves = {move(TimePoint(3s), "a")};
  s.duration = 6s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  std::vector<std::string> lines;
  for (const SignalRecord& rec : r.signalling) {
    if (rec.at < TimePoint(3s)) continue;
    lines.push_back(us(rec.at) + " " + (rec.arrived ? us(*rec.arrived) : "-") + " " + rec.from +
                    " -> " + rec.to + " " + rec.label + " [" + rec.link + "]");
  }
  // "<first seen> <arrived> from -> to label [link first seen on]". The DAD and router
  // probes (NS), the RS answered by an RA, the BU (first seen on A, arrived at the home agent
  // 10 ms later), the home agent's proxy NAs on the home link (§10.4.1, three, 1 s apart), the
  // BA after the DAD, the access router resolving the care-of address, and return routability
  // (§5.2.5) with the HoTI / HoT through the tunnel.
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "3001000 3001000 mn -> ar-a NS [a]",
                       "3001000 3001000 mn -> ar-a NS [a]",
                       "3001000 3001000 mn -> ar-a RS [a]",
                       "3005366 3005366 ar-a -> mn RA [a]",
                       "3006366 3006366 mn -> ar-a NS [a]",
                       "3101000 3111000 mn -> ha BU(H) [a]",
                       "4001000 4001000 mn -> ar-a NS [a]",
                       "4112000 4112000 ha -> mn NA [home]",
                       "4112000 4112000 ha -> mn NA [home]",
                       "4116000 4124000 ha -> mn BA 0 [backbone]",
                       "4122000 4122000 ar-a -> mn NS [a]",
                       "4123000 4123000 mn -> ar-a NA [a]",
                       "4132000 4142000 mn -> ha HoTI (tunnel) [a]",
                       "4132000 4142000 mn -> cn CoTI [a]",
                       "4147000 4152000 ha -> cn HoTI [backbone]",
                       "4147000 4153000 cn -> mn CoT [cn]",
                       "4157000 4162000 cn -> ha HoT [cn]",
                       "4167000 4173000 ha -> mn HoT (tunnel) [backbone]",
                       "4174000 4184000 mn -> cn BU() [a]",
                       "4189000 4195000 cn -> mn BA 0 [cn]",
                       "5001000 5001000 mn -> ar-a NS [a]",
                       "5112000 5112000 ha -> mn NA [home]",
                       "5112000 5112000 ha -> mn NA [home]",
                       "6112000 6112000 ha -> mn NA [home]",
                       "6112000 6112000 ha -> mn NA [home]",
                   }));
}

// A population moves in staggered order: node i starts at i * 10 ms and moves at 3 s + i *
// 100 ms; each sends its Binding Update 100 ms after its own move (the probe, §11.5.1). At the
// start, node 0 hears AR-A's first RA (sent at 0 s) at 1 ms; the others, which solicit, the
// next multicast RA, sent at 40 ms (RSs are answered by multicast RAs no closer together than
// MinDelayBetweenRAs, RFC 4861 §6.2.6, RFC 6275 §13).
TEST(Scenario, StaggeredStartsAndMoves) {
  auto s = base();
  s.mobile_nodes.count = 3;
  s.mobile_nodes.start_link = "a";
  s.mobile_nodes.start_stagger = 10ms;
  s.mobile_nodes.move_stagger = 100ms;
  s.moves = {move(TimePoint(3s), "b")};
  s.traffic.cbr_interval.reset();
  s.duration = 4s;
  Scenario sc(s);
  sc.run();
  std::vector<std::string> bus;
  for (std::size_t i = 0; i < 3; ++i) {
    for (const MobileEvent& e : sc.mobile(i).log()) {
      if (e.what.rfind("tx BU(H)", 0) == 0) bus.push_back(sc.mobile(i).name() + " " + us(e.at));
    }
  }
  EXPECT_EQ(bus, (std::vector<std::string>{"mn 1000", "mn 3100000", "mn2 41004", "mn2 3200000",
                                           "mn3 41004", "mn3 3300000"}));
  EXPECT_EQ(sc.result().population.registered_at_end, 3u);
}

// Without link-layer hints implying movement (§11.5.1: "unless it is well-known that an L2
// handover indication is likely to imply L3 movement") the link-up only starts a probe of the
// current router; it fails after the same 100 ms, so the handover is the same as with hints.
TEST(Scenario, WithoutLinkHintsMovementFromRas_11_5_1) {
  auto s = base();
  s.mobile_nodes.link_hints = false;
  s.moves = {move(TimePoint(3s), "a"), move(TimePoint(8s), "b")};
  s.duration = 10s;
  Scenario sc(s);
  sc.run();
  const auto r = sc.result();
  ASSERT_EQ(r.handovers.size(), 2u);
  EXPECT_EQ(r.handovers[1].to_string(),
            "to b at 8.000 s: router 41.643 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 24.000 ms, return routability 44.000 ms, total 171.000 ms, sent 200, "
            "lost 16, direct 184, tunnel 0, home 0");
}

// Same spec, same seed: identical results and captures.
TEST(Scenario, DeterministicAtFixedSeed) {
  auto s = base();
  s.home_agents = {home_agent("ha", "2001:db8:1::1", 10), home_agent("ha2", "2001:db8:1::2", 20)};
  s.mobile_nodes.home_agent.reset();
  s.mobile_nodes.count = 5;
  s.mobile_nodes.start_stagger = 3ms;
  s.mobile_nodes.move_stagger = 7ms;
  s.moves = {move(TimePoint(3s), "a"), move(TimePoint(6s), "b", 500ms)};
  auto burst = event(TimePoint(4s), EventKind::kLossBurst, "backbone");
  burst.duration = 50ms;
  burst.loss = 0.5;
  s.events = {burst, event(TimePoint(7s), EventKind::kCorrespondentReboot)};
  s.traffic.ping_interval = 50ms;
  s.duration = 9s;
  Scenario one(s), two(s);
  one.run();
  two.run();
  EXPECT_EQ(describe(one.result()), describe(two.result()));
  for (const char* link : kStandardLinks)
    EXPECT_EQ(one.pcap(link), two.pcap(link)) << link;
  s.seed = 8;
  Scenario other(s);
  other.run();
  EXPECT_NE(describe(other.result()), describe(one.result()));
}

// run() reports progress about once per simulated second; write_pcaps writes <link>.pcap.
TEST(Scenario, ProgressAndPcapFiles) {
  auto s = base();
  s.duration = 3s;
  Scenario sc(s);
  std::vector<std::string> seen;
  sc.run([&](const ScenarioProgress& p) { seen.push_back(us(p.now) + "/" + us(p.end)); });
  EXPECT_EQ(seen, (std::vector<std::string>{"1000000/3000000", "2000000/3000000", "3000000/3000000",
                                            "4000000/3000000"}));
  EXPECT_GT(sc.result().events, 0u);
  std::string pattern = ::testing::TempDir() + "scenario_test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  std::string error;
  ASSERT_TRUE(sc.write_pcaps(dir.string(), error)) << error;
  EXPECT_EQ(std::filesystem::file_size(dir / "home.pcap"), sc.pcap("home").size());
  std::filesystem::remove_all(dir);
  auto quiet = base();
  quiet.capture = false;
  Scenario no_capture(quiet);
  EXPECT_FALSE(no_capture.write_pcaps(dir.string(), error));
}

}  // namespace
}  // namespace mipv6::sim
