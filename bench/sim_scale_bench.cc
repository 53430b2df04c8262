// A population of mobile nodes on one home agent (issue 5 target: 100,000 mobile nodes, 10
// simulated minutes, under 60 s of wall time on one core). Each benchmark is one whole run of
// the product's generic Scenario (sim/scenario.h) with the spec of
// scenarios/population-100k.toml, built in code, and N mobile nodes: they power on at foreign
// link "a" 1 ms apart, register with the home agent (RFC 6275 §11.7.1), move to "b" from 300 s
// (1 ms apart) and register anew, refreshing before their 420 s lifetime ends; RFC 4861 default
// RA timing, no capture, no trace.
//   SimPopulation1k / 10k / 100k   items = events run, per second of CPU time (one core);
//                      counters: wall_s (one run, build and teardown included), events,
//                      peak_rss_mb (of the process so far), registered (Binding Cache entries
//                      at the end: every node must be registered, else the benchmark fails);
//                      100k also reports sim_100k_wall_s. Baselines in the same run: 1k is
//                      sim_events_per_s through a real scenario next to the scheduler's
//                      micro-benchmark (sim_bench.cc, SimEvents); 10k and 100k are compared
//                      with 1k, so the ratio shows what each event costs more at scale.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "sim/scenario.h"
#include "sim/scenario_file.h"
#include "sim/scenario_spec.h"

namespace {

using namespace std::chrono_literals;
namespace sim = mipv6::sim;
namespace wire = mipv6::wire;

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// scenarios/population-100k.toml itself (the bundled file is what is measured), with `count`
// mobile nodes.
sim::ScenarioSpec population_spec(std::size_t count) {
  sim::ScenarioFileError error;
  auto spec = sim::load_scenario_file(MIPV6_SCENARIOS_DIR "/population-100k.toml", error);
  if (!spec) {
    std::fprintf(stderr, "%s\n", error.to_string().c_str());
    std::abort();
  }
  spec->name = "population-" + std::to_string(count);
  spec->mobile_nodes.count = count;
  return *spec;
}

struct RunFigures {
  double wall_s = 0;
  std::uint64_t events = 0;
  std::size_t registered = 0;
};

RunFigures run_population(std::size_t count) {
  const auto start = std::chrono::steady_clock::now();
  RunFigures figures;
  {
    sim::Scenario scenario(population_spec(count));
    scenario.run();
    const sim::ScenarioResult result = scenario.result();
    figures.events = result.events;
    figures.registered = result.population.registered_at_end;
  }
  figures.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return figures;
}

void report(benchmark::State& state, const RunFigures& f, std::size_t count) {
  state.SetItemsProcessed(static_cast<std::int64_t>(f.events) * state.iterations());
  state.counters["wall_s"] = f.wall_s;
  state.counters["events"] = static_cast<double>(f.events);
  state.counters["registered"] = static_cast<double>(f.registered);
  state.counters["peak_rss_mb"] = peak_rss_mb();
  if (count == 100'000) state.counters["sim_100k_wall_s"] = f.wall_s;
  if (f.registered != count) state.SkipWithError("not every mobile node is registered");
}

// One iteration is one whole run (build, 10 simulated minutes, teardown). Google Benchmark
// repeats the short runs until they last 0.5 s; the counters describe the last one.
template <std::size_t kCount>
void population_benchmark(benchmark::State& state, const char* label) {
  RunFigures figures;
  for (auto _ : state)
    figures = run_population(kCount);
  report(state, figures, kCount);
  state.SetLabel(label);
}

void BM_SimPopulation1k(benchmark::State& state) {
  population_benchmark<1000>(state, "baseline=SimEvents");  // the scheduler alone, sim_bench.cc
}
void BM_SimPopulation10k(benchmark::State& state) {
  population_benchmark<10'000>(state, "baseline=SimPopulation1k");
}
void BM_SimPopulation100k(benchmark::State& state) {
  population_benchmark<100'000>(state, "baseline=SimPopulation1k");
}

BENCHMARK(BM_SimPopulation1k)->Unit(benchmark::kSecond);
BENCHMARK(BM_SimPopulation10k)->Unit(benchmark::kSecond);
BENCHMARK(BM_SimPopulation100k)->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();
