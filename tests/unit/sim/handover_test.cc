// The basic handover scenario of issue 5 with the real engines in simulated nodes (sim/scenario.h)
// at a fixed seed: home -> foreign link A (5 s) -> foreign link B (15 s) -> home (25 s), CBR Echo
// Requests from the correspondent every 10 ms. Asserted exactly: the signalling the mobile node
// exchanged (its log, and the frames captured on each link), the phases of every handover, the
// packets lost, the path data takes, and that two runs are bit-identical.
//
// Where the numbers come from (links: access 1 ms, backbone and CN link 5 ms, no loss, zero
// processing time):
//  - MN -> HA: access link, backbone to the core, backbone to the HA = 11 ms; HA -> MN the same
//    plus the access router's resolution of the fresh care-of address (NS + NA, 2 ms): a BU/BA
//    exchange takes 24 ms; on the home link 4 ms: the home agent resolves the returned node's
//    link-layer address afresh (NS + NA) — what it knew before the node left was dropped when
//    it began to proxy for the home address (§10.4.1);
//  - the first registration waits for the home agent's DAD of the home address (RFC 6275
//    §10.3.1, RetransTimer 1 s): 1024 ms;
//  - MN <-> CN: 11 ms each way; return routability (HoTI through the home agent, 14 ms more
//    than the CoTI; §5.2.5) then BU/BA: 64 ms the first time, 44 ms after the next move (only a
//    CoTI: the home keygen token is still fresh, §5.2.7);
//  - the movement detector switches once its probe of the previous router timed out (§11.5.1):
//    100 ms with fast RAs, 3 s (kDefaultProbeTimeout) otherwise; with default RA intervals the
//    RS is answered after a random 0..500 ms (RFC 4861 §6.2.6) and DAD takes 1 s.
#include <gtest/gtest.h>

#include <stdlib.h>  // mkdtemp (POSIX)

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "sim/mobile_host.h"
#include "sim/scenario.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

HandoverScenarioConfig config(bool fast) {
  HandoverScenarioConfig c;
  c.seed = 7;
  c.fast = fast;
  c.moves = basic_moves();
  // The movement detector's probe of the previous router: RFC 6275 §7.5's fast RAs pair with a
  // short probe timeout; the default one is 3 s.
  if (fast) c.probe_timeout = 100ms;
  return c;
}

// "<microseconds> <event>" for every Mobility Header message the mobile node sent or received.
std::vector<std::string> signalling(const MobileHost& mn) {
  std::vector<std::string> out;
  for (const MobileEvent& e : mn.log()) {
    if (e.what.rfind("tx ", 0) != 0 && e.what.rfind("rx ", 0) != 0) continue;
    if (e.what.rfind("rx RA", 0) == 0) continue;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(e.at.time_since_epoch());
    out.push_back(std::to_string(us.count()) + " " + e.what);
  }
  return out;
}

// The Mobility Header messages in a classic pcap capture (Ethernet), in capture order.
std::vector<std::string> pcap_signalling(const wire::Bytes& pcap) {
  std::vector<std::string> out;
  std::size_t at = kPcapGlobalHeaderSize;
  while (at + kPcapRecordHeaderSize <= pcap.size()) {
    const auto length = static_cast<std::size_t>(std::to_integer<std::uint32_t>(pcap[at + 8])) |
                        static_cast<std::size_t>(std::to_integer<std::uint32_t>(pcap[at + 9])) << 8;
    const std::size_t frame = at + kPcapRecordHeaderSize;
    wire::ByteSpan packet(pcap.data() + frame + kEthernetHeaderSize, length - kEthernetHeaderSize);
    std::string label = mobility_label(packet);
    if (!label.empty()) out.push_back(label);
    at = frame + length;
  }
  return out;
}

class HandoverTest : public ::testing::Test {
 protected:
  // Each configuration runs once for the whole suite (about 0.2 s each).
  static HandoverScenario& fast() { return run_once(true); }
  static HandoverScenario& slow() { return run_once(false); }

 private:
  static HandoverScenario& run_once(bool fast_ras) {
    static std::unique_ptr<HandoverScenario> runs[2];
    auto& run = runs[fast_ras ? 1 : 0];
    if (!run) {
      run = std::make_unique<HandoverScenario>(config(fast_ras));
      run->run();
    }
    return *run;
  }
};

// §11.7.1, §10.3.1, §11.6, §11.5.5: the exact signalling, as the mobile node sent and received
// it, with fast RAs and optimistic DAD.
TEST_F(HandoverTest, RegistrationSequenceFast_11_7_1) {
  EXPECT_EQ(signalling(fast().mobile()), (std::vector<std::string>{
                                             "5100000 tx BU(H)",
                                             "6124000 rx BA 0",
                                             "6131000 tx HoTI (tunnel)",
                                             "6131000 tx CoTI",
                                             "6163000 rx CoT",
                                             "6173000 rx HoT (tunnel)",
                                             "6173000 tx BU()",
                                             "6195000 rx BA 0",
                                             "15100000 tx BU(H)",
                                             "15124000 rx BA 0",
                                             "15124000 tx CoTI",
                                             "15146000 rx CoT",
                                             "15146000 tx BU()",
                                             "15168000 rx BA 0",
                                             "25100000 tx BU(H,dereg)",
                                             "25104000 rx BA 0",
                                             "25104000 tx BU(del)",
                                             "25126000 rx BA 0",
                                         }));
}

// The same exchange decoded from the per-link captures: each message is on the links it
// crossed (the backbone carries each packet twice: HA or access router -> core -> the next).
TEST_F(HandoverTest, RegistrationSequenceOnTheWire_11_7_1) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pcap_signalling(fast().pcap("home")), (V{"BU(H,dereg)", "BA 0", "BU(del)", "BA 0"}));
  EXPECT_EQ(pcap_signalling(fast().pcap("a")),
            (V{"BU(H)", "BA 0", "HoTI (tunnel)", "CoTI", "CoT", "HoT (tunnel)", "BU()", "BA 0"}));
  EXPECT_EQ(pcap_signalling(fast().pcap("b")), (V{"BU(H)", "BA 0", "CoTI", "CoT", "BU()", "BA 0"}));
  EXPECT_EQ(pcap_signalling(fast().pcap("cn")),
            (V{"CoTI", "HoTI", "CoT", "HoT", "BU()", "BA 0", "CoTI", "CoT", "BU()", "BA 0",
               "BU(del)", "BA 0"}));
  // The HoTI leaves the tunnel at the home agent (§10.4.5), the HoT enters it (§10.4.1).
  EXPECT_EQ(pcap_signalling(fast().pcap("backbone")),
            (V{"BU(H)",         "BU(H)", "BA 0",  "BA 0",  "HoTI (tunnel)", "CoTI",
               "HoTI (tunnel)", "HoTI",  "CoT",   "HoT",   "HoT (tunnel)",  "HoT (tunnel)",
               "BU()",          "BA 0",  "BU(H)", "BU(H)", "BA 0",          "BA 0",
               "CoTI",          "CoT",   "BU()",  "BA 0",  "BU(del)",       "BA 0"}));
  EXPECT_EQ(pcap_signalling(slow().pcap("a")), pcap_signalling(fast().pcap("a")));
}

// Fast RAs (0.03-0.07 s, RFC 6275 §7.5) + optimistic DAD (RFC 4429): from A to B the data flows
// again 171 ms after the move = 100 ms detection + 24 ms home registration + 44 ms return
// routability + 3 ms until the next CBR packet arrives (sent every 10 ms, 11 ms away): within
// 150 ms plus the path's round trips. The first move also waits for the home agent's DAD.
TEST_F(HandoverTest, HandoverTimesFastRasOptimisticDad_7_5) {
  auto report = fast().report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0].to_string(),
            "to a at 5.000 s: router 8.566 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 1024.000 ms, return routability 64.000 ms, total 1131.000 ms, sent 1000, "
            "lost 112, direct 880, tunnel 8, home 0");
  EXPECT_EQ(report[1].to_string(),
            "to b at 15.000 s: router 0.407 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 24.000 ms, return routability 44.000 ms, total 171.000 ms, sent 1000, "
            "lost 17, direct 983, tunnel 0, home 0");
  EXPECT_EQ(report[2].to_string(),
            "to home at 25.000 s: router 37.490 ms, address 0.000 ms, detection 100.000 ms, home "
            "registration 4.000 ms, return routability -, total 131.000 ms, sent 1000, lost 12, "
            "direct 0, tunnel 0, home 988");
  const Duration round_trips = *report[1].home_registration + *report[1].return_routability;
  EXPECT_LE(*report[1].total, 150ms + round_trips);
  EXPECT_LE(*report[1].router_discovery + *report[1].address_configuration, 150ms);
}

// Default RA intervals (RFC 4861 §6.2.1: 198-600 s; the RS is answered after 0..500 ms) and
// standard DAD (1 s): every handover takes more than a second.
TEST_F(HandoverTest, HandoverTimesDefaultRas_11_5_1) {
  auto report = slow().report();
  ASSERT_EQ(report.size(), 3u);
  EXPECT_EQ(report[0].to_string(),
            "to a at 5.000 s: router 267.936 ms, address 1000.000 ms, detection 3000.000 ms, home "
            "registration 1024.000 ms, return routability 64.000 ms, total 4031.000 ms, sent "
            "1000, lost 402, direct 590, tunnel 8, home 0");
  EXPECT_EQ(report[1].to_string(),
            "to b at 15.000 s: router 163.827 ms, address 1000.000 ms, detection 3000.000 ms, "
            "home registration 24.000 ms, return routability 44.000 ms, total 3071.000 ms, sent "
            "1000, lost 307, direct 693, tunnel 0, home 0");
  EXPECT_EQ(report[2].to_string(),
            "to home at 25.000 s: router 361.236 ms, address 0.000 ms, detection 3000.000 ms, "
            "home registration 4.000 ms, return routability -, total 3031.000 ms, sent 1000, lost "
            "302, direct 0, tunnel 0, home 698");
  for (const auto& r : report)
    EXPECT_GE(*r.total, 1s) << r.to_string();
}

// §9.3.2, §11.3.3: once the correspondent holds a binding every packet goes directly with a
// Type 2 Routing header; before, through the home agent; none is lost while the node stays.
TEST_F(HandoverTest, TrafficDirectAfterRouteOptimization_9_3_2) {
  const auto& traffic = fast().traffic();
  ASSERT_EQ(traffic.size(), 3400u);  // 1 s .. 35 s every 10 ms
  const TimePoint ro_a = TimePoint(6195ms), to_b = TimePoint(15s);
  const TimePoint ro_b = TimePoint(15168ms), home = TimePoint(25s);
  int settled = 0;
  for (const CbrRecord& r : traffic) {
    const bool settled_a = r.sent >= ro_a && r.sent < to_b - 20ms;
    const bool settled_b = r.sent >= ro_b && r.sent < home - 20ms;
    if (settled_a || settled_b) {
      ++settled;
      ASSERT_TRUE(r.path.has_value()) << r.sequence;
      EXPECT_EQ(*r.path, DataPath::kRouteOptimized) << r.sequence;
      EXPECT_EQ(*r.received - r.sent, 11ms) << r.sequence;  // no detour through the home agent
    }
    if (r.sent < TimePoint(5s) - 20ms) {
      EXPECT_EQ(r.path, DataPath::kHome) << r.sequence;
    }
  }
  EXPECT_EQ(settled, 878 + 981);
  EXPECT_EQ(fast().correspondent().hao_rejected(), 0u);
}

// The home agent: one registration (with DAD), one refresh, one de-registration; everything it
// intercepted went into the tunnel, every reverse-tunnelled packet was accepted.
TEST_F(HandoverTest, HomeAgentCounters_10_3_1) {
  const auto& c = fast().home_agent().engine().counters();
  EXPECT_EQ(c.bu_received, 3u);
  EXPECT_EQ(c.registrations, 1u);
  EXPECT_EQ(c.refreshes, 1u);
  EXPECT_EQ(c.deregistrations, 1u);
  EXPECT_EQ(c.dad_started, 1u);
  const auto& n = fast().home_agent().node_counters();
  EXPECT_EQ(n.reverse_rejected, 0u);
  EXPECT_EQ(n.reverse_tunnelled, 1u);  // the HoTI
  EXPECT_EQ(n.tunnelled, 9u);          // the HoT and 8 data packets
  EXPECT_EQ(n.transmits_dropped, 0u);
}

// §10.3.1: the home agent's DAD (StartDad, answered after RetransTimer from the home link's
// neighbour table) finds another node holding the home address: BA 134, no binding, nothing
// tunnelled; the mobile node keeps retrying (§11.8, a single home agent).
TEST_F(HandoverTest, HomeAgentDadFindsDuplicate_10_3_1) {
  auto c = config(true);
  c.moves = {Move{TimePoint(5s), "a"}};
  c.end = TimePoint(8s);
  HandoverScenario s(c);
  auto& squatter = s.simulation().add_node<testing::RecordingNode>("squatter");
  Interface& iface = squatter.add_interface(s.simulation().next_mac(), "sq0");
  iface.add_address(s.home_address());
  s.simulation().scheduler().schedule(TimePoint(5050ms),
                                      [&] { s.simulation().find_link("home")->attach(iface); });
  s.run();
  const auto log = signalling(s.mobile());
  ASSERT_GE(log.size(), 2u);
  EXPECT_EQ(log[0], "5100000 tx BU(H)");
  EXPECT_EQ(log[1], "6124000 rx BA 134");  // Duplicate Address Detection failed (§6.1.8)
  EXPECT_EQ(s.home_agent().engine().counters().dad_failed, 1u);
  EXPECT_EQ(s.home_agent().engine().counters().registrations, 0u);
  EXPECT_EQ(s.home_agent().node_counters().tunnelled, 0u);
}

// Ping: the mobile node answers every Echo Request as send_path says (§11.3.1): reverse-
// tunnelled through the home agent (§10.4.5) until route optimisation, then from the care-of
// address with a Home Address option the correspondent accepts (§9.3.1), normally at home.
TEST_F(HandoverTest, EchoRepliesFollowSendPath_11_3_1) {
  auto c = config(true);
  c.echo_reply = true;
  HandoverScenario s(c);
  s.run();
  const auto& sent = s.mobile().sent_counters();
  const auto& replies = s.correspondent().cbr_replies();
  std::uint64_t with_hao = 0;
  for (const auto& r : replies)
    with_hao += r.home_address_option ? 1 : 0;
  EXPECT_EQ(sent.home, 1387u);
  EXPECT_EQ(sent.reverse_tunnel, 7u);
  EXPECT_EQ(sent.route_optimized, 1864u);
  EXPECT_EQ(replies.size(), sent.home + sent.reverse_tunnel + sent.route_optimized);
  EXPECT_EQ(with_hao, sent.route_optimized);
  EXPECT_EQ(s.home_agent().node_counters().reverse_tunnelled, sent.reverse_tunnel + 1);  // + HoTI
  EXPECT_EQ(s.home_agent().node_counters().reverse_rejected, 0u);
  EXPECT_EQ(s.correspondent().hao_rejected(), 0u);
  // The CN -> MN direction is not disturbed by the replies.
  EXPECT_EQ(s.report()[1].to_string(), fast().report()[1].to_string());
}

// Same seed, same run: identical captures on every link and an identical report.
TEST_F(HandoverTest, DeterministicAtFixedSeed) {
  HandoverScenario again(config(true));
  again.run();
  for (const char* link : {"home", "a", "b", "backbone", "cn"})
    EXPECT_EQ(again.pcap(link), fast().pcap(link)) << link;
  ASSERT_EQ(again.report().size(), fast().report().size());
  for (std::size_t i = 0; i < again.report().size(); ++i)
    EXPECT_EQ(again.report()[i].to_string(), fast().report()[i].to_string());
  EXPECT_EQ(again.mobile().log(), fast().mobile().log());
}

// The captures as files: what tshark and Wireshark open (classic pcap, Ethernet).
TEST_F(HandoverTest, WritesPcapFiles) {
  std::string error;
  std::string pattern = ::testing::TempDir() + "handover_test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path dir = pattern;
  ASSERT_TRUE(fast().write_pcaps(dir.string(), error)) << error;
  EXPECT_EQ(std::filesystem::file_size(dir / "a.pcap"), fast().pcap("a").size());
  EXPECT_EQ(std::filesystem::file_size(dir / "backbone.pcap"), fast().pcap("backbone").size());
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(fast().write_pcaps("/nonexistent-directory", error));
  EXPECT_EQ(error, "cannot write /nonexistent-directory/home.pcap");
}

// Another seed changes the random RA timings but not the protocol outcome.
TEST_F(HandoverTest, OtherSeedSameSignalling) {
  auto c = config(true);
  c.seed = 8;
  HandoverScenario other(c);
  other.run();
  EXPECT_EQ(pcap_signalling(other.pcap("a")), pcap_signalling(fast().pcap("a")));
  EXPECT_NE(other.pcap("a"), fast().pcap("a"));
  EXPECT_EQ(other.report()[1].packets_lost, fast().report()[1].packets_lost);
}

}  // namespace
}  // namespace mipv6::sim
