#include "sim/scenario_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFile = "t.toml";

ScenarioSpec parse_ok(std::string_view text) {
  ScenarioFileError error;
  std::optional<ScenarioSpec> spec = parse_scenario(text, kFile, error);
  EXPECT_TRUE(spec.has_value()) << error.to_string();
  return spec.value_or(ScenarioSpec{});
}

// The one-line message of the first error in `text`.
std::string error_of(std::string_view text) {
  ScenarioFileError error;
  if (parse_scenario(text, kFile, error)) return "(parsed without error)";
  return error.to_string();
}

wire::Ipv6Address addr(const char* text) {
  return *wire::Ipv6Address::parse(text);
}

std::vector<std::filesystem::path> bundled_scenarios() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(MIPV6_SCENARIOS_DIR)) {
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  }
  std::ranges::sort(files);
  return files;
}

TEST(ScenarioFile, EveryBundledScenarioParsesAndIsNamedAfterItsFile) {
  const auto files = bundled_scenarios();
  EXPECT_EQ(files.size(), 12u);
  for (const auto& file : files) {
    ScenarioFileError error;
    const auto spec = load_scenario_file(file.string(), error);
    ASSERT_TRUE(spec.has_value()) << error.to_string();
    EXPECT_EQ(spec->name, file.stem().string());
    EXPECT_FALSE(spec->description.empty()) << file;
  }
}

TEST(ScenarioFile, BasicHandoverSaysWhatIssue5Asks) {
  ScenarioFileError error;
  const auto spec = load_scenario_file(MIPV6_SCENARIOS_DIR "/basic-handover.toml", error);
  ASSERT_TRUE(spec.has_value()) << error.to_string();
  EXPECT_EQ(spec->seed, 1u);
  EXPECT_EQ(spec->duration, 35s);
  EXPECT_EQ(spec->ra, RaTiming::kFast);
  EXPECT_TRUE(spec->mobile_nodes.optimistic_dad);
  EXPECT_EQ(spec->mobile_nodes.home_agent, addr("2001:db8:1::1"));
  ASSERT_EQ(spec->moves.size(), 3u);
  EXPECT_EQ(spec->moves[0].at, TimePoint(5s));
  EXPECT_EQ(spec->moves[0].link, "a");
  EXPECT_EQ(spec->moves[1].at, TimePoint(15s));
  EXPECT_EQ(spec->moves[1].link, "b");
  EXPECT_EQ(spec->moves[2].at, TimePoint(25s));
  EXPECT_EQ(spec->moves[2].link, "home");
  EXPECT_EQ(spec->traffic.ping_interval, 100ms);
  EXPECT_EQ(spec->traffic.cbr_interval, 20ms);
  EXPECT_TRUE(spec->traffic.cbr_to_mobile);
  EXPECT_TRUE(spec->traffic.cbr_from_mobile);
  EXPECT_TRUE(spec->capture);
}

TEST(ScenarioFile, Population100kHasNoCaptureNorTraceAndRoomInTheBindingCache) {
  ScenarioFileError error;
  const auto spec = load_scenario_file(MIPV6_SCENARIOS_DIR "/population-100k.toml", error);
  ASSERT_TRUE(spec.has_value()) << error.to_string();
  EXPECT_EQ(spec->mobile_nodes.count, 100'000u);
  EXPECT_EQ(spec->duration, 600s);
  EXPECT_FALSE(spec->capture);
  EXPECT_FALSE(spec->trace);
  ASSERT_EQ(spec->home_agents.size(), 1u);
  EXPECT_GE(spec->home_agents[0].max_bindings, spec->mobile_nodes.count);
}

TEST(ScenarioFile, AnEmptyFileGivesTheSpecDefaultsNamedAfterTheFile) {
  ScenarioFileError error;
  const auto spec = parse_scenario("", "dir/my-run.toml", error);
  ASSERT_TRUE(spec.has_value()) << error.to_string();
  const ScenarioSpec defaults;
  EXPECT_EQ(spec->name, "my-run");
  EXPECT_EQ(spec->seed, defaults.seed);
  EXPECT_EQ(spec->duration, defaults.duration);
  EXPECT_EQ(spec->ra, RaTiming::kDefault);
  EXPECT_TRUE(spec->links.empty());
  EXPECT_TRUE(spec->home_agents.empty());
  EXPECT_EQ(spec->mobile_nodes.count, 1u);
  EXPECT_FALSE(spec->mobile_nodes.home_agent.has_value());  // DHAAD
  EXPECT_TRUE(spec->moves.empty());
  EXPECT_TRUE(spec->events.empty());
  EXPECT_FALSE(spec->traffic.ping_interval.has_value());
  EXPECT_FALSE(spec->traffic.cbr_interval.has_value());
  EXPECT_TRUE(spec->capture);
  EXPECT_TRUE(spec->trace);
}

TEST(ScenarioFile, TheDefaultNameIsTheFileStemMadeSafeForADirectoryName) {
  ScenarioFileError error;
  EXPECT_EQ(parse_scenario("", "my run (2).toml", error)->name, "my_run__2_");
  EXPECT_EQ(parse_scenario("", "/x/.hidden.toml", error)->name, "scenario.hidden");
  EXPECT_EQ(parse_scenario("name = \"given\"", "/x/y.toml", error)->name, "given");
}

TEST(ScenarioFile, EveryKeyReachesTheSpec) {
  const ScenarioSpec spec = parse_ok(R"(
name = "all"
description = "every key"
seed = 77
duration = 50
ra = "fast"
capture = false
trace = false

[links.a]
delay = "3ms"
bandwidth_bps = 10_000_000
loss = 0.25
queue_limit = 40

[[home_agent]]
name = "h1"
address = "2001:db8:1::1"
preference = 7
max_lifetime = 600
max_bindings = 10

[[home_agent]]
address = "2001:db8:1::2"

[mobile_nodes]
count = 3
home_agent = "2001:db8:1::2"
start_link = "b"
route_optimization = false
optimistic_dad = true
link_hints = false
probe_timeout = "500ms"
registration_lifetime = 120
start_stagger = "2ms"
move_stagger = "3ms"
forward_from_previous_care_of = true

[[move]]
at = 5.5
link = "a"
overlap = "250ms"
node = 2

[[event]]
at = 6
kind = "ha-crash"
target = "ha2"

[[event]]
at = 7
kind = "ha-restart"
target = "ha2"

[[event]]
at = 8
kind = "cn-reboot"

[[event]]
at = 9
kind = "loss-burst"
target = "backbone"
duration = "200ms"
loss = 0.5

[[event]]
at = 10
kind = "renumber-home"
new_prefix = "2001:db8:2::/64"

[traffic]
ping_interval = "1s"
cbr_interval = "10ms"
cbr_to_mobile = false
cbr_from_mobile = true
cbr_payload = 500
start = 2
stop = 40
)");
  EXPECT_EQ(spec.name, "all");
  EXPECT_EQ(spec.description, "every key");
  EXPECT_EQ(spec.seed, 77u);
  EXPECT_EQ(spec.duration, 50s);
  EXPECT_EQ(spec.ra, RaTiming::kFast);
  EXPECT_FALSE(spec.capture);
  EXPECT_FALSE(spec.trace);

  ASSERT_EQ(spec.links.size(), 1u);
  EXPECT_EQ(spec.links[0].name, "a");
  EXPECT_EQ(spec.links[0].params.delay, 3ms);
  EXPECT_EQ(spec.links[0].params.bandwidth_bps, 10'000'000u);
  EXPECT_EQ(spec.links[0].params.loss, 0.25);
  EXPECT_EQ(spec.links[0].params.queue_limit, 40u);

  ASSERT_EQ(spec.home_agents.size(), 2u);
  EXPECT_EQ(spec.home_agents[0].name, "h1");
  EXPECT_EQ(spec.home_agents[0].address, addr("2001:db8:1::1"));
  EXPECT_EQ(spec.home_agents[0].preference, 7);
  EXPECT_EQ(spec.home_agents[0].max_lifetime, 600s);
  EXPECT_EQ(spec.home_agents[0].max_bindings, 10u);
  EXPECT_EQ(spec.home_agents[1].name, "ha2");  // the default name of the second
  EXPECT_EQ(spec.home_agents[1].max_bindings, HomeAgentSpec{}.max_bindings);

  const MobileNodesSpec& mn = spec.mobile_nodes;
  EXPECT_EQ(mn.count, 3u);
  EXPECT_EQ(mn.home_agent, addr("2001:db8:1::2"));
  EXPECT_EQ(mn.start_link, "b");
  EXPECT_FALSE(mn.route_optimization);
  EXPECT_TRUE(mn.optimistic_dad);
  EXPECT_FALSE(mn.link_hints);
  EXPECT_EQ(mn.probe_timeout, 500ms);
  EXPECT_EQ(mn.registration_lifetime, 120s);
  EXPECT_EQ(mn.start_stagger, 2ms);
  EXPECT_EQ(mn.move_stagger, 3ms);
  EXPECT_TRUE(mn.forward_from_previous_care_of);

  ASSERT_EQ(spec.moves.size(), 1u);
  EXPECT_EQ(spec.moves[0].at, TimePoint(5500ms));
  EXPECT_EQ(spec.moves[0].link, "a");
  EXPECT_EQ(spec.moves[0].overlap, 250ms);
  EXPECT_EQ(spec.moves[0].node, 2u);

  ASSERT_EQ(spec.events.size(), 5u);
  EXPECT_EQ(spec.events[0].kind, EventKind::kHomeAgentCrash);
  EXPECT_EQ(spec.events[0].target, "ha2");
  EXPECT_EQ(spec.events[0].at, TimePoint(6s));
  EXPECT_EQ(spec.events[1].kind, EventKind::kHomeAgentRestart);
  EXPECT_EQ(spec.events[2].kind, EventKind::kCorrespondentReboot);
  EXPECT_EQ(spec.events[3].kind, EventKind::kLossBurst);
  EXPECT_EQ(spec.events[3].target, "backbone");
  EXPECT_EQ(spec.events[3].duration, 200ms);
  EXPECT_EQ(spec.events[3].loss, 0.5);
  EXPECT_EQ(spec.events[4].kind, EventKind::kRenumberHome);
  EXPECT_EQ(spec.events[4].new_prefix, addr("2001:db8:2::"));

  EXPECT_EQ(spec.traffic.ping_interval, 1s);
  EXPECT_EQ(spec.traffic.cbr_interval, 10ms);
  EXPECT_FALSE(spec.traffic.cbr_to_mobile);
  EXPECT_TRUE(spec.traffic.cbr_from_mobile);
  EXPECT_EQ(spec.traffic.cbr_payload, 500u);
  EXPECT_EQ(spec.traffic.start, TimePoint(2s));
  EXPECT_EQ(spec.traffic.stop, TimePoint(40s));
}

TEST(ScenarioFile, TimesAreSecondsAsNumbersOrStringsWithTheirUnit) {
  EXPECT_EQ(parse_ok("duration = 12").duration, 12s);
  EXPECT_EQ(parse_ok("duration = 1.25").duration, 1250ms);
  EXPECT_EQ(parse_ok("duration = 0.03").duration, 30ms);
  EXPECT_EQ(parse_ok("duration = \"250ms\"").duration, 250ms);
  EXPECT_EQ(parse_ok("duration = \"1.5s\"").duration, 1500ms);
  EXPECT_EQ(parse_ok("duration = \"20us\"").duration, 20us);
  EXPECT_EQ(parse_ok("duration = \"7ns\"").duration, 7ns);
  EXPECT_EQ(parse_ok("duration = \"2min\"").duration, 120s);
  EXPECT_EQ(parse_ok("duration = \"0.5min\"").duration, 30s);
}

TEST(ScenarioFile, DurationTextRefusesWhatIsNotAWholeNumberOfNanoseconds) {
  EXPECT_EQ(parse_duration_text("1.000000001s"), 1'000'000'001ns);
  EXPECT_EQ(parse_duration_text("0.000001ms"), 1ns);
  EXPECT_EQ(parse_duration_text("0.001ms"), 1us);
  for (const char* bad : {"", "ms", "5", "5 s", "5m", "1.s", ".5s", "-1s", "1.0000000001s", "0.5ns",
                          "1e3ms", "+2s", "99999999999999999999s"}) {
    EXPECT_FALSE(parse_duration_text(bad).has_value()) << bad;
  }
}

TEST(ScenarioFile, UnlistedLinkParametersKeepTheStandardDelays) {
  const ScenarioSpec spec = parse_ok("[links.a]\nloss = 0.1\n[links.cn]\nqueue_limit = 5\n");
  ASSERT_EQ(spec.links.size(), 2u);
  EXPECT_EQ(spec.links[0].name, "a");
  EXPECT_EQ(spec.links[0].params.delay, 1ms);  // access link
  EXPECT_EQ(spec.links[1].name, "cn");
  EXPECT_EQ(spec.links[1].params.delay, 5ms);
}

TEST(ScenarioFile, EventsDefaultToTheFirstHomeAgentAndFullLoss) {
  const ScenarioSpec spec = parse_ok(R"(
[[event]]
at = 1
kind = "ha-crash"
[[event]]
at = 2
kind = "loss-burst"
target = "a"
duration = 0.1
)");
  ASSERT_EQ(spec.events.size(), 2u);
  EXPECT_EQ(spec.events[0].target, "ha");
  EXPECT_EQ(spec.events[1].loss, 1.0);
}

TEST(ScenarioFile, DhaadIsTheDefaultAndCanBeSaid) {
  EXPECT_FALSE(parse_ok("[mobile_nodes]\nhome_agent = \"dhaad\"\n").mobile_nodes.home_agent);
  // Without [[home_agent]] the single default one is at 2001:db8:1::1.
  EXPECT_EQ(parse_ok("[mobile_nodes]\nhome_agent = \"2001:db8:1::1\"\n").mobile_nodes.home_agent,
            addr("2001:db8:1::1"));
}

// ---- errors: each names the file, the line and column of the offending key or value, its
// dotted path, and what is wrong.

TEST(ScenarioFileError, ToStringLeavesOutWhatIsUnknown) {
  EXPECT_EQ(
      (ScenarioFileError{"f.toml", 3, 7, "links.a.delay", "must not be negative"}.to_string()),
      "f.toml:3:7: links.a.delay: must not be negative");
  EXPECT_EQ((ScenarioFileError{"f.toml", 1, 2, "", "syntax"}.to_string()), "f.toml:1:2: syntax");
  EXPECT_EQ((ScenarioFileError{"f.toml", 0, 0, "", "cannot read"}.to_string()),
            "f.toml: cannot read");
}

TEST(ScenarioFileError, TomlSyntaxErrorsKeepTomlppsPosition) {
  EXPECT_EQ(error_of("seed = 1\nduration = \n"),
            "t.toml:2:12: Error while parsing key-value pair: expected value, saw '\\n'");
}

TEST(ScenarioFileError, MissingFileIsReported) {
  ScenarioFileError error;
  EXPECT_FALSE(load_scenario_file("/nonexistent/x.toml", error));
  EXPECT_EQ(error.to_string(),
            "/nonexistent/x.toml: cannot read the file: No such file or directory");
}

TEST(ScenarioFileError, ADirectoryIsNoScenarioFile) {
  ScenarioFileError error;
  EXPECT_FALSE(load_scenario_file(MIPV6_SCENARIOS_DIR, error));
  EXPECT_EQ(error.to_string(),
            std::string(MIPV6_SCENARIOS_DIR) + ": is a directory, not a scenario file");
}

TEST(ScenarioFileError, UnknownKeysAreRefusedWithASuggestionWhenOneIsClose) {
  EXPECT_EQ(error_of("seed = 1\n[links.a]\ndealy = \"5ms\"\n"),
            "t.toml:3:1: links.a.dealy: unknown key (did you mean \"delay\"?)");
  EXPECT_EQ(error_of("[links.a]\ndealy_ms = 5\n"),
            "t.toml:2:1: links.a.dealy_ms: unknown key (expected one of: delay bandwidth_bps "
            "loss queue_limit)");
  EXPECT_EQ(error_of("sede = 3\n"), "t.toml:1:1: sede: unknown key (did you mean \"seed\"?)");
  EXPECT_EQ(error_of("[[move]]\nat = 1\nlink = \"a\"\n  nodes = 0\n"),
            "t.toml:4:3: move[0].nodes: unknown key (did you mean \"node\"?)");
}

TEST(ScenarioFileError, WrongTypes) {
  EXPECT_EQ(error_of("seed = \"one\""), "t.toml:1:8: seed: expected an integer, got a string");
  EXPECT_EQ(error_of("capture = 1"),
            "t.toml:1:11: capture: expected true or false, got an integer");
  EXPECT_EQ(error_of("duration = true"),
            "t.toml:1:12: duration: expected seconds or a duration string like \"250ms\", got a "
            "boolean");
  EXPECT_EQ(error_of("move = 3"),
            "t.toml:1:8: move: expected one or more [[move]] tables, got an integer");
  EXPECT_EQ(error_of("traffic = 3"),
            "t.toml:1:11: traffic: expected a table [traffic], got an integer");
}

TEST(ScenarioFileError, OutOfRangeValues) {
  EXPECT_EQ(error_of("[links.a]\ndelay = -0.5\n"),
            "t.toml:2:9: links.a.delay: must not be negative");
  EXPECT_EQ(error_of("[links.b]\ndelay = \"-5ms\"\n"),
            "t.toml:2:9: links.b.delay: must not be negative");
  EXPECT_EQ(error_of("[links.b]\nloss = 1.5\n"),
            "t.toml:2:8: links.b.loss: must be a probability in [0, 1], got 1.5");
  EXPECT_EQ(error_of("duration = 0"), "t.toml:1:12: duration: must be greater than zero");
  EXPECT_EQ(error_of("duration = \"5 s\""),
            "t.toml:1:12: duration: expected seconds or a duration like \"250ms\", \"1.5s\", "
            "\"20us\", \"2min\"");
  EXPECT_EQ(error_of("duration = 1e10"),
            "t.toml:1:12: duration: must be a finite number of seconds, at most 1000000000");
  EXPECT_EQ(error_of("duration = nan"),
            "t.toml:1:12: duration: must be a finite number of seconds, at most 1000000000");
  EXPECT_EQ(error_of("[mobile_nodes]\ncount = 0\n"),
            "t.toml:2:9: mobile_nodes.count: must be in [1, 1000000], got 0");
  EXPECT_EQ(error_of("[mobile_nodes]\nregistration_lifetime = 300000\n"),
            "t.toml:2:25: mobile_nodes.registration_lifetime: must be at most 262140 s (16 bits "
            "of 4-second units, RFC 6275 §6.1.7)");
  EXPECT_EQ(error_of("[traffic]\ncbr_interval = 0.01\ncbr_payload = 2000\n"),
            "t.toml:3:15: traffic.cbr_payload: must be in [1, 1168], got 2000");
  EXPECT_EQ(error_of("ra = \"slow\""),
            "t.toml:1:6: ra: \"slow\" is not an RA timing (expected \"default\" or \"fast\")");
  EXPECT_EQ(error_of("name = \"../etc\""),
            "t.toml:1:8: name: \"../etc\" is not a valid scenario name (letters, digits, '-', "
            "'_', '.'; it names the output directory)");
}

TEST(ScenarioFileError, MovesAndEventsMustHappenBeforeTheEnd) {
  EXPECT_EQ(error_of("duration = 10\n[[move]]\nat = 12\nlink = \"a\"\n"),
            "t.toml:3:6: move[0].at: at 12 s is not before the end of the run (duration = 10 s)");
  EXPECT_EQ(error_of("duration = 10\n[[move]]\nat = 9\nlink = \"a\"\noverlap = 2\n"),
            "t.toml:5:11: move[0].overlap: the old link would be left at 11 s, not before the "
            "end of the run");
  EXPECT_EQ(error_of("duration = \"1min\"\n[[event]]\nat = 60\nkind = \"cn-reboot\"\n"),
            "t.toml:3:6: event[0].at: at 60 s is not before the end of the run (duration = "
            "60 s)");
}

TEST(ScenarioFileError, UnknownLinks) {
  EXPECT_EQ(error_of("[[move]]\nat = 1\nlink = \"c\"\n"),
            "t.toml:3:8: move[0].link: unknown link \"c\" (expected home, a or b)");
  EXPECT_EQ(error_of("[links.wifi]\ndelay = 1\n"),
            "t.toml:1:8: links.wifi: unknown link \"wifi\" (expected home, a, b, backbone or cn)");
  EXPECT_EQ(error_of("[mobile_nodes]\nstart_link = \"backbone\"\n"),
            "t.toml:2:14: mobile_nodes.start_link: unknown link \"backbone\" (expected home, a "
            "or b)");
  EXPECT_EQ(error_of("[[event]]\nat = 1\nkind = \"loss-burst\"\ntarget = \"x\"\nduration = 1\n"),
            "t.toml:4:10: event[0].target: unknown link \"x\" (expected home, a, b, backbone or "
            "cn)");
}

TEST(ScenarioFileError, RequiredKeys) {
  EXPECT_EQ(error_of("[[move]]\nat = 1\n"), "t.toml:1:1: move[0].link: missing (required)");
  EXPECT_EQ(error_of("[[home_agent]]\nname = \"x\"\n"),
            "t.toml:1:1: home_agent[0].address: missing (required)");
  EXPECT_EQ(error_of("[[event]]\nat = 1\nkind = \"loss-burst\"\ntarget = \"a\"\n"),
            "t.toml:1:1: event[0].duration: missing (required)");
}

TEST(ScenarioFileError, HomeAgents) {
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:1::1\"\n"
                     "[[home_agent]]\naddress = \"2001:db8:1::1\"\n"),
            "t.toml:4:11: home_agent[1].address: home agent \"ha\" already has address "
            "2001:db8:1::1");
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:1::1\"\n"
                     "[[home_agent]]\naddress = \"2001:db8:1::2\"\n"
                     "[[home_agent]]\naddress = \"2001:db8:1::3\"\n"),
            "t.toml:5:1: home_agent[2]: at most 2 home agents (the standard topology has room "
            "for two)");
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:1::zz\"\n"),
            "t.toml:2:11: home_agent[0].address: \"2001:db8:1::zz\" is not an IPv6 address");
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:a::1\"\n"),
            "t.toml:2:11: home_agent[0].address: 2001:db8:a::1 is not on the home link "
            "2001:db8:1::/64");
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:1::\"\n"),
            "t.toml:2:11: home_agent[0].address: the Subnet-Router anycast address cannot be a "
            "home agent's address");
  EXPECT_EQ(error_of("[[home_agent]]\nname = \"x\"\naddress = \"2001:db8:1::1\"\n"
                     "[[home_agent]]\nname = \"x\"\naddress = \"2001:db8:1::2\"\n"),
            "t.toml:5:8: home_agent[1].name: two home agents are named \"x\"");
  EXPECT_EQ(error_of("[[home_agent]]\naddress = \"2001:db8:1::1\"\n"
                     "[mobile_nodes]\nhome_agent = \"2001:db8:1::9\"\n"),
            "t.toml:4:14: mobile_nodes.home_agent: 2001:db8:1::9 is not the address of a "
            "[[home_agent]]");
}

TEST(ScenarioFileError, Events) {
  EXPECT_EQ(error_of("[[event]]\nat = 1\nkind = \"ha-explode\"\n"),
            "t.toml:3:8: event[0].kind: unknown event kind \"ha-explode\" (expected ha-crash, "
            "ha-restart, cn-reboot, loss-burst or renumber-home)");
  EXPECT_EQ(error_of("[[event]]\nat = 1\nkind = \"ha-crash\"\nloss = 0.5\n"),
            "t.toml:4:1: event[0].loss: unknown key (expected one of: at kind target)");
  EXPECT_EQ(error_of("[[event]]\nat = 1\nkind = \"ha-crash\"\ntarget = \"ha2\"\n"),
            "t.toml:4:10: event[0].target: no home agent is named \"ha2\"");
  EXPECT_EQ(error_of("[[event]]\nat = 3\nkind = \"ha-restart\"\n"
                     "[[event]]\nat = 5\nkind = \"ha-crash\"\n"),
            "t.toml:3:8: event[0].kind: home agent \"ha\" restarts without having crashed");
  EXPECT_EQ(error_of("[[event]]\nat = 3\nkind = \"ha-crash\"\n"
                     "[[event]]\nat = 5\nkind = \"ha-crash\"\n"),
            "t.toml:6:8: event[1].kind: home agent \"ha\" is already down (crashed earlier)");
  EXPECT_EQ(
      error_of("[[event]]\nat = 1\nkind = \"renumber-home\"\nnew_prefix = \"2001:db8:2::/48\"\n"),
      "t.toml:4:14: event[0].new_prefix: the prefix must be a /64 (stateless "
      "autoconfiguration)");
  EXPECT_EQ(
      error_of("[[event]]\nat = 1\nkind = \"renumber-home\"\nnew_prefix = \"2001:db8:2::1/64\"\n"),
      "t.toml:4:14: event[0].new_prefix: \"2001:db8:2::1/64\" has bits set after the first "
      "64");
  EXPECT_EQ(
      error_of("[[event]]\nat = 1\nkind = \"renumber-home\"\nnew_prefix = \"2001:db8:1::/64\"\n"),
      "t.toml:4:14: event[0].new_prefix: \"2001:db8:1::/64\" is already the home prefix");
}

TEST(ScenarioFileError, MovesOfANodeThatDoesNotExist) {
  EXPECT_EQ(error_of("[mobile_nodes]\ncount = 2\n[[move]]\nat = 1\nlink = \"a\"\nnode = 2\n"),
            "t.toml:6:8: move[0].node: must be in [0, 1], got 2");
}

TEST(ScenarioFileError, TrafficSettingsThatWouldDoNothing) {
  EXPECT_EQ(error_of("[traffic]\ncbr_payload = 100\n"),
            "t.toml:2:15: traffic.cbr_payload: has no effect without cbr_interval");
  EXPECT_EQ(
      error_of("[traffic]\ncbr_interval = 1\ncbr_to_mobile = false\ncbr_from_mobile = false\n"),
      "t.toml:2:16: traffic.cbr_interval: a CBR flow needs cbr_to_mobile or "
      "cbr_from_mobile");
  EXPECT_EQ(error_of("duration = 10\n[traffic]\nping_interval = 1\nstart = 5\nstop = 4\n"),
            "t.toml:5:8: traffic.stop: must be after start (5 s) and at most the end of the run "
            "(10 s)");
}

TEST(ScenarioFileError, StaggeredStartsMustBeginBeforeTheEnd) {
  EXPECT_EQ(error_of("duration = 10\n[mobile_nodes]\ncount = 11\nstart_stagger = 1\n"),
            "t.toml:4:17: mobile_nodes.start_stagger: the last mobile node would start at 10 s, "
            "not before the end of the run (duration = 10 s)");
}

}  // namespace
}  // namespace mipv6::sim
