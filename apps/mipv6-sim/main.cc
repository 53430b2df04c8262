// mipv6-sim: runs a scenario file (scenarios/*.toml, docs/scenarios.md) in the simulator, prints
// its summary and writes its results (summary, JSON, SVG pictures, one pcap per link).
//
// Exit codes: 0 done; 2 bad usage or a bad scenario file; 1 the outputs cannot be written.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "sim/report.h"
#include "sim/scenario.h"
#include "sim/scenario_file.h"

namespace {

using mipv6::sim::ScenarioProgress;
using WallClock = std::chrono::steady_clock;

constexpr int kExitOk = 0;
constexpr int kExitOutputs = 1;
constexpr int kExitUsage = 2;

constexpr const char* kDescription =
    "Runs a Mobile IPv6 scenario in the discrete-event simulator: the real protocol engines\n"
    "(home agent, mobile nodes, correspondent) over simulated links, in virtual time.\n"
    "The same file and seed always give the same results, byte for byte.";

constexpr const char* kFooter = R"(Outputs (in --out, default mipv6-sim-out/<scenario name>):
  summary.txt         the summary printed on stdout: handover phases, flows, links
  result.json         every figure, packet and signalling message (docs/simulator-output.md)
  timeline.svg        the moves, failures and handover phases on one time axis
  sequence-*.svg      message sequence charts: the start and each handover
  <link>.pcap         every frame of each link (home, a, b, backbone, cn), for Wireshark
                      (unless the scenario says capture = false)

Scenario files: docs/scenarios.md; examples in scenarios/.
Exit codes: 0 done, 2 bad usage or bad scenario file, 1 outputs cannot be written.)";

struct Options {
  std::string scenario;
  std::optional<std::uint64_t> seed;
  std::string out;
  bool quiet = false;
};

// A progress line on stderr, only for runs longer than a second of wall time: rewritten in place
// on a terminal, else one line every few seconds (logs of CI jobs stay short).
class ProgressLine {
 public:
  ProgressLine() : start_(WallClock::now()), tty_(isatty(STDERR_FILENO) == 1) {}

  void update(const ScenarioProgress& progress) {
    const WallClock::time_point now = WallClock::now();
    if (now - start_ < kQuietStart || now - last_ < (tty_ ? kTtyPeriod : kLogPeriod)) return;
    last_ = now;
    shown_ = true;
    std::cerr << (tty_ ? "\r" : "") << line(progress, now) << (tty_ ? "\x1b[K" : "\n")
              << std::flush;
  }

  // Ends an in-place line with the final figures.
  void finish(const ScenarioProgress& progress) {
    if (!shown_) return;
    std::cerr << (tty_ ? "\r" : "") << line(progress, WallClock::now())
              << (tty_ ? "\x1b[K\n" : "\n") << std::flush;
  }

 private:
  static constexpr auto kQuietStart = std::chrono::seconds(1);
  static constexpr auto kTtyPeriod = std::chrono::milliseconds(200);
  static constexpr auto kLogPeriod = std::chrono::seconds(5);

  std::string line(const ScenarioProgress& progress, WallClock::time_point now) const {
    const double wall = std::chrono::duration<double>(now - start_).count();
    const double rate = wall > 0 ? static_cast<double>(progress.events) / wall : 0.0;
    // The run drains packets in flight for a moment after the end; that is not shown as more.
    const auto simulated = std::min(progress.now, progress.end).time_since_epoch();
    char text[160];
    std::snprintf(text, sizeof text,
                  "mipv6-sim: simulated %.1f / %.1f s, %llu events, %.0f events/s, wall %.1f s",
                  std::chrono::duration<double>(simulated).count(),
                  std::chrono::duration<double>(progress.end.time_since_epoch()).count(),
                  static_cast<unsigned long long>(progress.events), rate, wall);
    return text;
  }

  WallClock::time_point start_;
  WallClock::time_point last_{};
  bool tty_;
  bool shown_ = false;
};

int run(const Options& options) {
  mipv6::sim::ScenarioFileError error;
  std::optional<mipv6::sim::ScenarioSpec> spec =
      mipv6::sim::load_scenario_file(options.scenario, error);
  if (!spec) {
    std::cerr << error.to_string() << "\n";
    return kExitUsage;
  }
  if (options.seed) spec->seed = *options.seed;
  const std::string out = options.out.empty() ? "mipv6-sim-out/" + spec->name : options.out;
  const bool capture = spec->capture;

  mipv6::sim::Scenario scenario(std::move(*spec));
  ProgressLine progress_line;
  ScenarioProgress last;
  scenario.run([&](const ScenarioProgress& progress) {
    last = progress;
    if (!options.quiet) progress_line.update(progress);
  });
  if (!options.quiet) progress_line.finish(last);

  const mipv6::sim::ScenarioResult result = scenario.result();
  if (!options.quiet) std::cout << mipv6::sim::summary_text(result) << std::flush;
  std::string write_error;
  if (!mipv6::sim::write_outputs(result, out, write_error) ||
      (capture && !scenario.write_pcaps(out, write_error))) {
    std::cerr << "mipv6-sim: cannot write the outputs to " << out << ": " << write_error << "\n";
    return kExitOutputs;
  }
  if (!options.quiet) {
    std::cout << "\nOutputs in " << out << "/: summary.txt, result.json, timeline.svg, "
              << "sequence-*.svg" << (capture ? ", <link>.pcap" : "") << "\n";
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "mipv6-sim");
  app.footer(kFooter);
  Options options;
  app.add_option("scenario", options.scenario, "Scenario file (TOML, docs/scenarios.md)")
      ->required()
      ->type_name("SCENARIO.toml");
  app.add_option("--seed", options.seed, "Seed of every random choice (overrides the file's)");
  app.add_option("--out", options.out, "Output directory (created if missing)");
  app.add_flag("--quiet,-q", options.quiet, "Print only errors (no summary, no progress)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return run(options);
}
