// Binding Cache throughput (issue 3): lookup, update (find + touch + field update + the
// next-deadline query an engine makes after every input) and insert, at 1 k, 1 M and 10 M
// bindings, each against a baseline measured in the same run — the same operations on
// std::unordered_map<Ipv6Address, BindingCacheEntry>. Memory per binding at 10 M is reported
// as binding_bytes (BindingCache::memory_bytes(), what the cache reserves) and as
// malloc_bytes (what glibc's allocator reports in use, for both containers).
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/binding_cache.h"
#include "core/rng.h"

namespace {

using mipv6::core::BindingCache;
using mipv6::core::BindingCacheEntry;
using mipv6::core::SplitMix64;
using mipv6::core::TimePoint;
using mipv6::wire::Ipv6Address;
using namespace std::chrono_literals;

using Baseline = std::unordered_map<Ipv6Address, BindingCacheEntry>;

constexpr std::size_t kLargest = 10'000'000;
const TimePoint kT0 = TimePoint(1000s);

// Home addresses under 2001:db8::/32 with random /64 prefixes and interface identifiers.
const std::vector<Ipv6Address>& keys() {
  static const std::vector<Ipv6Address> all = [] {
    std::vector<Ipv6Address> out(kLargest);
    SplitMix64 rng(0x6275);
    for (auto& a : out) {
      const std::uint64_t prefix = (0x20010db8ull << 32) | (rng.next_u64() >> 32);
      const std::uint64_t iid = rng.next_u64();
      for (int i = 0; i < 8; ++i) {
        a.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(prefix >> (56 - 8 * i));
        a.bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(iid >> (56 - 8 * i));
      }
    }
    return out;
  }();
  return all;
}

// A random visiting order over the first n keys (at most 1 M distinct positions).
std::vector<std::uint32_t> visit_order(std::size_t n) {
  std::vector<std::uint32_t> order(std::min<std::size_t>(n, 1'000'000));
  SplitMix64 rng(n);
  for (auto& i : order)
    i = static_cast<std::uint32_t>(rng.uniform(n));
  return order;
}

std::size_t malloc_in_use() {
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

void fill_entry(BindingCacheEntry& e, std::size_t i) {
  e.care_of_address = keys()[(i + 1) % kLargest];
  e.expires = kT0 + 420s + std::chrono::milliseconds(i % 100'000);
  e.sequence_number = static_cast<std::uint16_t>(i);
}

// The populated containers, built once per size outside the timed loops and shared by the
// lookup and update benchmarks.
struct Populated {
  std::unique_ptr<BindingCache> cache;
  std::unique_ptr<Baseline> baseline;
  std::vector<std::uint32_t> order;
  double cache_malloc_bytes = 0;
  double baseline_malloc_bytes = 0;
};
std::map<std::size_t, Populated>& populated_sets() {
  static std::map<std::size_t, Populated> sets;
  return sets;
}

Populated& populated(std::size_t n) {
  auto& sets = populated_sets();
  auto it = sets.find(n);
  if (it != sets.end()) return it->second;
  Populated& p = sets[n];
  const auto& k = keys();
  std::size_t before = malloc_in_use();
  p.cache = std::make_unique<BindingCache>(n, 0x5eed);
  for (std::size_t i = 0; i < n; ++i)
    fill_entry(*p.cache->find_or_insert(k[i], kT0).entry, i);
  p.cache->earliest_expiry();
  p.cache_malloc_bytes = static_cast<double>(malloc_in_use() - before) / static_cast<double>(n);
  before = malloc_in_use();
  p.baseline = std::make_unique<Baseline>();
  p.baseline->reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& e = (*p.baseline)[k[i]];
    e.home_address = k[i];
    fill_entry(e, i);
  }
  p.baseline_malloc_bytes = static_cast<double>(malloc_in_use() - before) / static_cast<double>(n);
  p.order = visit_order(n);
  return p;
}

void label(benchmark::State& state, const std::string& baseline) {
  state.SetLabel("baseline=" + baseline + "/" + std::to_string(state.range(0)));
}

// --- lookup ------------------------------------------------------------------------------

void BM_BindingCacheLookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Populated& p = populated(n);
  const BindingCache& cache = *p.cache;
  const auto& k = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    const BindingCacheEntry* e = cache.find(k[p.order[i]]);
    benchmark::DoNotOptimize(e->sequence_number);
    if (++i == p.order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  label(state, "BM_UnorderedMapLookup");
  state.counters["binding_bytes"] = static_cast<double>(cache.memory_bytes());
  state.counters["malloc_bytes"] = p.cache_malloc_bytes;
}

void BM_UnorderedMapLookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Populated& p = populated(n);
  const Baseline& map = *p.baseline;
  const auto& k = keys();
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = map.find(k[p.order[i]]);
    benchmark::DoNotOptimize(it->second.sequence_number);
    if (++i == p.order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["malloc_bytes"] = p.baseline_malloc_bytes;
}

// --- update: what a refreshing Binding Update does to the entry ----------------------------

void BM_BindingCacheUpdate(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Populated& p = populated(n);
  BindingCache& cache = *p.cache;
  const auto& k = keys();
  std::size_t i = 0;
  TimePoint now = kT0;
  for (auto _ : state) {
    now += 1us;
    BindingCacheEntry* e = cache.find(k[p.order[i]]);
    cache.touch(*e, now);
    e->care_of_address = k[i];
    e->sequence_number = static_cast<std::uint16_t>(e->sequence_number + 1);
    e->expires = now + 420s;
    benchmark::DoNotOptimize(cache.earliest_expiry());
    if (++i == p.order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  label(state, "BM_UnorderedMapUpdate");
  state.counters["binding_bytes"] = static_cast<double>(cache.memory_bytes());
}

void BM_UnorderedMapUpdate(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Populated& p = populated(n);
  Baseline& map = *p.baseline;
  const auto& k = keys();
  std::size_t i = 0;
  TimePoint now = kT0;
  for (auto _ : state) {
    now += 1us;
    BindingCacheEntry& e = map.find(k[p.order[i]])->second;
    e.last_used = now;
    e.care_of_address = k[i];
    e.sequence_number = static_cast<std::uint16_t>(e.sequence_number + 1);
    e.expires = now + 420s;
    benchmark::DoNotOptimize(e);
    if (++i == p.order.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// --- insert: n new home addresses into an empty container reserved for n ------------------

void BM_BindingCacheInsert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  populated_sets().clear();  // the shared sets are no longer needed: free their memory
  const auto& k = keys();
  for (auto _ : state) {
    state.PauseTiming();
    auto cache = std::make_unique<BindingCache>(n, 0x5eed);
    state.ResumeTiming();
    for (std::size_t i = 0; i < n; ++i)
      fill_entry(*cache->find_or_insert(k[i], kT0).entry, i);
    benchmark::DoNotOptimize(cache->earliest_expiry());
    state.PauseTiming();
    cache.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  label(state, "BM_UnorderedMapInsert");
}

void BM_UnorderedMapInsert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& k = keys();
  for (auto _ : state) {
    state.PauseTiming();
    auto map = std::make_unique<Baseline>();
    map->reserve(n);
    state.ResumeTiming();
    for (std::size_t i = 0; i < n; ++i) {
      auto& e = (*map)[k[i]];
      e.home_address = k[i];
      fill_entry(e, i);
    }
    benchmark::DoNotOptimize(map->size());
    state.PauseTiming();
    map.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// Lookups and updates first (they share the populated containers), inserts last.
BENCHMARK(BM_BindingCacheLookup)->Arg(1'000)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_UnorderedMapLookup)->Arg(1'000)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_BindingCacheUpdate)->Arg(1'000)->Arg(1'000'000)->Arg(10'000'000);
BENCHMARK(BM_UnorderedMapUpdate)->Arg(1'000)->Arg(1'000'000)->Arg(10'000'000);
// One iteration inserts range(0) keys; at 10 M a single iteration outlasts the minimum time.
BENCHMARK(BM_BindingCacheInsert)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_UnorderedMapInsert)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
