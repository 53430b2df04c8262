// The summary, JSON and output files of a hand-built ScenarioResult: the basic handover
// home -> a -> b -> home with fast Router Advertisements (the figures of handover_test.cc),
// then a move to a while the home agent is down (no home registration, no data).
#include "sim/report.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

Duration ms(double value) {
  return std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(value));
}
TimePoint at_ms(double value) {
  return TimePoint(ms(value));
}

HandoverReport handover(std::string to, double at, std::optional<double> rd,
                        std::optional<double> ac, std::optional<double> md,
                        std::optional<double> hr, std::optional<double> rr,
                        std::optional<double> total) {
  HandoverReport h;
  h.to = std::move(to);
  h.at = at_ms(at);
  auto opt = [](std::optional<double> v) -> std::optional<Duration> {
    if (!v) return std::nullopt;
    return ms(*v);
  };
  h.router_discovery = opt(rd);
  h.address_configuration = opt(ac);
  h.movement_detection = opt(md);
  h.home_registration = opt(hr);
  h.return_routability = opt(rr);
  h.total = opt(total);
  return h;
}

SignalRecord signal(double at, std::optional<double> arrived, std::string from, std::string to,
                    std::string label, std::string link) {
  return {at_ms(at),        arrived ? std::optional(at_ms(*arrived)) : std::nullopt,
          std::move(from),  std::move(to),
          std::move(label), std::move(link)};
}

ScenarioResult basic_handover() {
  ScenarioResult r;
  r.name = "basic-handover";
  r.description = "home -> a -> b -> home, then a with the home agent down";
  r.seed = 7;
  r.simulated = 35s;
  r.events = 123456;
  r.handovers = {handover("a", 5000, 8.566, 0, 100, 1024, 64, 1131),
                 handover("b", 15000, 0.407, 0, 100, 24, 44, 171),
                 handover("home", 25000, 37.49, 0, 100, 2, std::nullopt, 131),
                 handover("a", 30000, 12.25, 0, 100, std::nullopt, std::nullopt, std::nullopt)};
  r.handovers[0].packets_sent = 1000;
  r.handovers[0].packets_lost = 113;
  r.handovers[0].received_tunnel = 6;
  r.handovers[0].received_direct = 881;
  r.handovers[2].packets_sent = 500;
  r.handovers[2].packets_lost = 12;
  r.handovers[2].received_home = 488;
  r.timeline = {{at_ms(5000), "move to a"},
                {at_ms(15000), "move to b"},
                {at_ms(25000), "move to home"},
                {at_ms(29500), "ha crash"},
                {at_ms(30000), "move to a"}};
  r.packets = {
      {"cbr-down", 0, at_ms(1000), at_ms(1002), PathKind::kHome},
      {"cbr-down", 1, at_ms(5000), std::nullopt, std::nullopt},
      {"cbr-down", 2, TimePoint(5200ms + 500ns), at_ms(5225.5), PathKind::kTunnel},
      {"cbr-down", 3, at_ms(6200), at_ms(6211), PathKind::kRouteOptimized},
      {"cbr-up", 0, at_ms(1000), at_ms(1002), PathKind::kHome},
  };
  FlowSummary down{"cbr-down", 3400, 3270, 130, 2000, 700, 570, ms(2), ms(9.5), ms(1049)};
  FlowSummary up{"cbr-up", 3400, 3400, 0, 2100, 700, 600, ms(2), ms(8.25), ms(36)};
  r.flows = {down, up};
  r.signalling = {
      signal(5008.566, 5009.566, "ar-a", "mn", "RA", "a"),
      signal(5100, 5111, "mn", "ha", "BU(H) seq 2", "a"),
      signal(5112, 5113, "ha", "ha", "NS (DAD)", "home"),
      signal(5124, std::nullopt, "ha", "mn", "BA 0 <late>", "home"),
  };
  r.links = {{"home", {100, 1, 2, 97, 194}}, {"a", {50, 0, 0, 50, 50}}};
  return r;
}

// ----------------------------------------------------------------------------- summary

TEST(Summary, HeaderNamesTheScenarioSeedSimulatedTimeAndEvents) {
  const std::string text = summary_text(basic_handover());
  EXPECT_EQ(text.substr(0, text.find("\n\n")),
            "Scenario basic-handover\n"
            "  home -> a -> b -> home, then a with the home agent down\n"
            "  seed 7, simulated 35000.000 ms, 123456 events");
}

TEST(Summary, HandoverTableHasAlignedColumnsAndDashesForPhasesThatDidNotHappen) {
  const std::string text = summary_text(basic_handover());
  const std::string expected =
      "Handovers (phase durations in ms; - : did not happen)\n"
      "  #  to        at ms  router  address  detection  home reg  return rt     total  sent  "
      "lost  direct  tunnel  home\n"
      "  1  a      5000.000   8.566    0.000    100.000  1024.000     64.000  1131.000  1000   "
      "113     881       6     0\n"
      "  2  b     15000.000   0.407    0.000    100.000    24.000     44.000   171.000     0     "
      "0       0       0     0\n"
      "  3  home  25000.000  37.490    0.000    100.000     2.000          -   131.000   500    "
      "12       0       0   488\n"
      "  4  a     30000.000  12.250    0.000    100.000         -          -         -     0     "
      "0       0       0     0\n";
  EXPECT_NE(text.find(expected), std::string::npos) << text;
}

TEST(Summary, TimelineListsMovesAndFailuresInMilliseconds) {
  const std::string text = summary_text(basic_handover());
  EXPECT_NE(text.find("Timeline (moves and failures)\n"
                      "      at ms  what\n"
                      "   5000.000  move to a\n"
                      "  15000.000  move to b\n"
                      "  25000.000  move to home\n"
                      "  29500.000  ha crash\n"
                      "  30000.000  move to a\n"),
            std::string::npos)
      << text;
}

TEST(Summary, FlowsShowCountsLossPercentPathsAndDelays) {
  const std::string text = summary_text(basic_handover());
  EXPECT_NE(text.find("Flows (delay in ms)\n"
                      "  flow      sent  received  lost  loss %  direct  tunnel  home  delay min   "
                      "mean       max\n"
                      "  cbr-down  3400      3270   130   3.824    2000     700   570      2.000  "
                      "9.500  1049.000\n"
                      "  cbr-up    3400      3400     0   0.000    2100     700   600      2.000  "
                      "8.250    36.000\n"),
            std::string::npos)
      << text;
}

TEST(Summary, PopulationBlockOnlyWithMoreThanOneMobileNode) {
  ScenarioResult r = basic_handover();
  r.population.mobile_nodes = 1;
  EXPECT_EQ(summary_text(r).find("Population"), std::string::npos);
  r.population = {100000, 99998, 100010, 100008, 2, ms(22.5), ms(48.001), std::nullopt};
  EXPECT_NE(summary_text(r).find(
                "Population (first registration: BU(H) sent -> BA accepted, ms)\n"
                "  mobile nodes  registered at end     BUs     BAs  rejected  reg p50  reg p99  "
                "reg max\n"
                "  100000                    99998  100010  100008         2   22.500   48.001  "
                "      -\n"),
            std::string::npos)
      << summary_text(r);
}

TEST(Summary, LinkCountersShowSentDroppedAndCarried) {
  const std::string text = summary_text(basic_handover());
  EXPECT_NE(text.find("Links (frames)\n"
                      "  link  sent  dropped  queue  loss  carried\n"
                      "  home   100        3      1     2       97\n"
                      "  a       50        0      0     0       50\n"),
            std::string::npos)
      << text;
}

TEST(Summary, EmptyResultSaysNoneInEveryBlock) {
  EXPECT_EQ(summary_text(ScenarioResult{}),
            "Scenario (unnamed)\n"
            "  seed 0, simulated 0.000 ms, 0 events\n"
            "\nHandovers (phase durations in ms; - : did not happen)\n  none\n"
            "\nTimeline (moves and failures)\n  none\n"
            "\nFlows (delay in ms)\n  none\n"
            "\nLinks (frames)\n  none\n");
}

TEST(FormatMs, RoundsToTheNearestMicrosecond) {
  EXPECT_EQ(format_ms(Duration(1499)), "0.001");
  EXPECT_EQ(format_ms(Duration(1500)), "0.002");
  EXPECT_EQ(format_ms(Duration(499)), "0.000");
  EXPECT_EQ(format_ms(Duration(1024ms)), "1024.000");
  EXPECT_EQ(format_ms(-Duration(2500)), "-0.003");
  EXPECT_EQ(format_ms(std::optional<Duration>()), "-");
}

// ----------------------------------------------------------------------------- JSON

TEST(Json, HandoverDurationsAreIntegerMicrosecondsWithNullsForPhasesThatDidNotHappen) {
  const nlohmann::json j = to_json(basic_handover());
  const nlohmann::json& first = j.at("handovers").at(0);
  EXPECT_EQ(first.at("to"), "a");
  EXPECT_EQ(first.at("at_us"), 5000000);
  EXPECT_EQ(first.at("router_discovery_us"), 8566);
  EXPECT_EQ(first.at("address_configuration_us"), 0);
  EXPECT_EQ(first.at("movement_detection_us"), 100000);
  EXPECT_EQ(first.at("home_registration_us"), 1024000);
  EXPECT_EQ(first.at("return_routability_us"), 64000);
  EXPECT_EQ(first.at("total_us"), 1131000);
  EXPECT_EQ(first.at("packets_sent"), 1000);
  EXPECT_EQ(first.at("packets_lost"), 113);
  EXPECT_EQ(first.at("received_direct"), 881);
  EXPECT_TRUE(first.at("router_discovery_us").is_number_integer());
  const nlohmann::json& last = j.at("handovers").at(3);
  EXPECT_TRUE(last.at("home_registration_us").is_null());
  EXPECT_TRUE(last.at("return_routability_us").is_null());
  EXPECT_TRUE(last.at("total_us").is_null());
  EXPECT_TRUE(j.at("handovers").at(2).at("return_routability_us").is_null());
}

TEST(Json, TopLevelFieldsAndEveryRecord) {
  const nlohmann::json j = to_json(basic_handover());
  EXPECT_EQ(j.at("format"), "mipv6-sim-result");
  EXPECT_EQ(j.at("version"), 1);
  EXPECT_EQ(j.at("name"), "basic-handover");
  EXPECT_EQ(j.at("seed"), 7);
  EXPECT_EQ(j.at("simulated_us"), 35000000);
  EXPECT_EQ(j.at("events"), 123456);
  EXPECT_EQ(j.at("timeline").size(), 5u);
  EXPECT_EQ(j.at("timeline").at(3), (nlohmann::json{{"at_us", 29500000}, {"what", "ha crash"}}));
  EXPECT_EQ(j.at("packets").size(), 5u);
  EXPECT_EQ(j.at("signalling").size(), 4u);
  EXPECT_EQ(j.at("flows").size(), 2u);
  EXPECT_EQ(j.at("links").size(), 2u);
}

TEST(Json, PacketRecordsCarryPathNamesAndNullWhenLost) {
  const nlohmann::json packets = to_json(basic_handover()).at("packets");
  EXPECT_EQ(packets.at(0), (nlohmann::json{{"flow", "cbr-down"},
                                           {"sequence", 0},
                                           {"sent_us", 1000000},
                                           {"received_us", 1002000},
                                           {"path", "home"}}));
  EXPECT_TRUE(packets.at(1).at("received_us").is_null());
  EXPECT_TRUE(packets.at(1).at("path").is_null());
  // 5200.0005 ms rounds to the nearest microsecond.
  EXPECT_EQ(packets.at(2).at("sent_us"), 5200001);
  EXPECT_EQ(packets.at(2).at("path"), "tunnel");
  EXPECT_EQ(packets.at(3).at("path"), "direct");
}

TEST(Json, SignallingRecordsKeepLabelsVerbatimAndNullArrivalWhenLost) {
  const nlohmann::json s = to_json(basic_handover()).at("signalling");
  EXPECT_EQ(s.at(1), (nlohmann::json{{"at_us", 5100000},
                                     {"arrived_us", 5111000},
                                     {"from", "mn"},
                                     {"to", "ha"},
                                     {"label", "BU(H) seq 2"},
                                     {"link", "a"}}));
  EXPECT_TRUE(s.at(3).at("arrived_us").is_null());
  EXPECT_EQ(s.at(3).at("label"), "BA 0 <late>");
}

TEST(Json, FlowsPopulationAndLinkCounters) {
  const nlohmann::json j = to_json(basic_handover());
  EXPECT_EQ(j.at("flows").at(0).at("delay_mean_us"), 9500);
  EXPECT_EQ(j.at("flows").at(0).at("lost"), 130);
  const nlohmann::json& p = j.at("population");
  EXPECT_EQ(p.at("mobile_nodes"), 0);
  EXPECT_TRUE(p.at("registration_p50_us").is_null());
  EXPECT_EQ(j.at("links").at(0), (nlohmann::json{{"name", "home"},
                                                 {"frames_sent", 100},
                                                 {"frames_dropped_queue", 1},
                                                 {"frames_dropped_loss", 2},
                                                 {"frames_carried", 97},
                                                 {"frames_delivered", 194}}));
}

TEST(Json, SameResultGivesTheSameBytes) {
  const std::string once = to_json(basic_handover()).dump(2);
  EXPECT_EQ(once, to_json(basic_handover()).dump(2));
  EXPECT_EQ(nlohmann::json::parse(once), to_json(basic_handover()));
  // Keys in a fixed (sorted) order: the file diffs cleanly between runs.
  EXPECT_LT(once.find("\"description\""), once.find("\"events\""));
}

TEST(Json, EmptyResultHasEveryFieldWithEmptyArrays) {
  const nlohmann::json j = to_json(ScenarioResult{});
  for (const char* key : {"handovers", "timeline", "packets", "flows", "signalling", "links"}) {
    EXPECT_TRUE(j.at(key).is_array()) << key;
    EXPECT_TRUE(j.at(key).empty()) << key;
  }
  EXPECT_TRUE(j.at("population").is_object());
}

// ----------------------------------------------------------------------------- files

TEST(SequenceWindows, StartThenOnePerHandoverUntilSettledNeverPastTheNextMove) {
  const std::vector<SequenceWindow> w = sequence_windows(basic_handover());
  ASSERT_EQ(w.size(), 5u);
  EXPECT_EQ(w[0].file, "sequence-start.svg");
  EXPECT_EQ(w[0].from, TimePoint{});
  EXPECT_EQ(w[0].to, TimePoint(kStartWindow));
  // #1 settles 100 + 1024 + 64 ms after the move (return routability after the home
  // registration), then the margin.
  EXPECT_EQ(w[1].file, "sequence-1.svg");
  EXPECT_EQ(w[1].from, at_ms(5000));
  EXPECT_EQ(w[1].to, at_ms(5000 + 1188) + kSettleMargin);
  EXPECT_EQ(w[2].to, at_ms(15000 + 171) + kSettleMargin);
  EXPECT_EQ(w[3].to, at_ms(25000 + 131) + kSettleMargin);
  // #4 only detected the movement.
  EXPECT_EQ(w[4].file, "sequence-4.svg");
  EXPECT_EQ(w[4].to, at_ms(30000 + 100) + kSettleMargin);
}

TEST(SequenceWindows, ANextMoveCutsTheWindow) {
  ScenarioResult r = basic_handover();
  r.handovers[1].at = at_ms(5500);
  EXPECT_EQ(sequence_windows(r)[1].to, at_ms(5500));
  EXPECT_EQ(sequence_windows(ScenarioResult{}).size(), 1u);
}

TEST(SequenceWindows, AWindowWithMoreMessagesThanAChartGetsASecondChartOfItsLastOnes) {
  ScenarioResult r = basic_handover();
  // 70 Binding Updates 10 ms apart from 5.2 s (window #1: 5 s to 6.388 s), 4 messages before.
  for (int i = 0; i < 70; ++i) {
    r.signalling.push_back(signal(5200 + 10 * i, std::nullopt, "mn", "ha", "BU(H)", "a"));
  }
  const std::vector<SequenceWindow> w = sequence_windows(r);
  ASSERT_EQ(w.size(), 6u);
  EXPECT_EQ(w[1].file, "sequence-1.svg");
  EXPECT_EQ(w[2].file, "sequence-1-end.svg");
  // 74 in the window: the last 60 start with the 11th of the added ones.
  EXPECT_EQ(w[2].from, at_ms(5200 + 10 * 10));
  EXPECT_EQ(w[2].to, w[1].to);
  EXPECT_EQ(w[3].file, "sequence-2.svg");
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(WriteOutputs, WritesSummaryJsonTimelineAndOneSequenceChartPerHandover) {
  const std::filesystem::path dir =
      std::filesystem::path(testing::TempDir()) / "mipv6_report_test" / "run";
  std::filesystem::remove_all(dir.parent_path());
  const ScenarioResult r = basic_handover();
  std::string error;
  ASSERT_TRUE(write_outputs(r, dir.string(), error)) << error;
  EXPECT_EQ(slurp(dir / "summary.txt"), summary_text(r));
  EXPECT_EQ(nlohmann::json::parse(slurp(dir / "result.json")), to_json(r));
  for (const char* file : {"timeline.svg", "sequence-start.svg", "sequence-1.svg", "sequence-2.svg",
                           "sequence-3.svg", "sequence-4.svg"}) {
    EXPECT_EQ(slurp(dir / file).rfind("<?xml", 0), 0u) << file;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "sequence-5.svg"));
  std::filesystem::remove_all(dir.parent_path());
}

TEST(WriteOutputs, ReportsWhyWhenTheDirectoryCannotBeCreated) {
  const std::filesystem::path file =
      std::filesystem::path(testing::TempDir()) / "mipv6_report_test_file";
  std::ofstream(file) << "not a directory";
  std::string error;
  EXPECT_FALSE(write_outputs(basic_handover(), (file / "out").string(), error));
  EXPECT_NE(error.find("mipv6_report_test_file"), std::string::npos) << error;
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace mipv6::sim
