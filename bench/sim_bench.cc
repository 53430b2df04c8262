// Event-queue throughput of the simulator (issue 5 target: >= 1,000,000 events/s): in steady
// state with a fixed number of pending events, each iteration schedules one event at a random
// offset ahead of now and runs the earliest one (schedule + pop + run a trivial callback).
// The baseline, measured in the same run, is the textbook queue:
// std::priority_queue<std::pair<TimePoint, std::function<void()>>>.
//   SimEvents / SimEventsDeep       1,024 / 100,000 pending events, a callback capturing a pointer
//   SimEventsFrame                  a 48-byte capture (the size of a frame in flight), which
//                                   std::function stores on the heap and Callback inline
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "sim/scheduler.h"

namespace {

using mipv6::core::Duration;
using mipv6::core::TimePoint;
using mipv6::sim::Scheduler;

constexpr std::size_t kDelays = 4096;

std::vector<Duration> random_delays() {
  mipv6::core::SplitMix64 rng(1);
  std::vector<Duration> out;
  for (std::size_t i = 0; i < kDelays; ++i)
    out.push_back(Duration(static_cast<std::int64_t>(rng.uniform(1'000'000))));  // < 1 ms
  return out;
}

// A trivial callback: counts.
struct Tick {
  std::uint64_t* counter;
  void operator()() const { ++*counter; }
};
// A callback as large as a frame in flight (link pointer, sender, MACs, packet buffer).
struct FrameTick {
  std::uint64_t* counter;
  std::array<std::uint64_t, 5> payload{};
  void operator()() const { *counter += 1 + (payload[0] & 0); }
};

template <class Fn>
void sim_events(benchmark::State& state, std::size_t depth, const char* label) {
  const auto delays = random_delays();
  Scheduler s;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < depth; ++i)
    s.schedule_in(delays[i % kDelays], Fn{&counter});
  std::size_t i = 0;
  for (auto _ : state) {
    s.schedule_in(delays[i++ % kDelays], Fn{&counter});
    s.step();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(label);
}

struct Later {
  bool operator()(const std::pair<TimePoint, std::function<void()>>& a,
                  const std::pair<TimePoint, std::function<void()>>& b) const {
    return a.first > b.first;
  }
};

template <class Fn>
void std_function_queue(benchmark::State& state, std::size_t depth) {
  const auto delays = random_delays();
  std::priority_queue<std::pair<TimePoint, std::function<void()>>,
                      std::vector<std::pair<TimePoint, std::function<void()>>>, Later>
      q;
  TimePoint now{};
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < depth; ++i)
    q.emplace(now + delays[i % kDelays], Fn{&counter});
  std::size_t i = 0;
  for (auto _ : state) {
    q.emplace(now + delays[i++ % kDelays], Fn{&counter});
    now = q.top().first;
    std::function<void()> f = q.top().second;
    q.pop();
    f();
  }
  benchmark::DoNotOptimize(counter);
  state.SetItemsProcessed(state.iterations());
}

void BM_SimEvents(benchmark::State& s) {
  sim_events<Tick>(s, 1024, "baseline=SimEventsStdFunction");
}
void BM_SimEventsStdFunction(benchmark::State& s) {
  std_function_queue<Tick>(s, 1024);
}
void BM_SimEventsDeep(benchmark::State& s) {
  sim_events<Tick>(s, 100'000, "baseline=SimEventsDeepStdFunction");
}
void BM_SimEventsDeepStdFunction(benchmark::State& s) {
  std_function_queue<Tick>(s, 100'000);
}
void BM_SimEventsFrame(benchmark::State& s) {
  sim_events<FrameTick>(s, 1024, "baseline=SimEventsFrameStdFunction");
}
void BM_SimEventsFrameStdFunction(benchmark::State& s) {
  std_function_queue<FrameTick>(s, 1024);
}

BENCHMARK(BM_SimEvents);
BENCHMARK(BM_SimEventsStdFunction);
BENCHMARK(BM_SimEventsDeep);
BENCHMARK(BM_SimEventsDeepStdFunction);
BENCHMARK(BM_SimEventsFrame);
BENCHMARK(BM_SimEventsFrameStdFunction);

}  // namespace

BENCHMARK_MAIN();
