// Home registrations per second per core through the home-agent engine (issue 3): decode the
// BU packet, validate it (RFC 6275 §10.3.1, no cryptography), update the Binding Cache, encode
// the BA — with 1 k, 1 M and 10 M bindings present. The registrations are refreshes of existing
// bindings picked at random, so every one is a cache lookup into a table of that size. The
// baseline, measured in the same run, stores the same keys into a std::unordered_map of the
// same size. binding_bytes reports the cache's memory per binding.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/binding_cache.h"
#include "core/home_agent.h"
#include "core/signalling.h"

namespace {

using namespace mipv6;
using core::TimePoint;
using wire::Ipv6Address;

const Ipv6Address kHomePrefix = *Ipv6Address::parse("2001:db8:1::");
const Ipv6Address kHa = *Ipv6Address::parse("2001:db8:1::1");
const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
constexpr std::size_t kBatch = 4096;

Ipv6Address home_address(std::uint64_t i) {
  Ipv6Address a = kHomePrefix;
  for (std::size_t b = 0; b < 6; ++b)
    a.bytes[15 - b] = static_cast<std::uint8_t>((i + 0x100) >> (8 * b));
  return a;
}

struct Scenario {
  explicit Scenario(std::size_t bindings) : count(bindings), cache(bindings + kBatch), rng(1) {
    core::HomeAgentConfig config;
    config.home_ifindex = 1;
    config.addresses = {kHa};
    config.prefixes = {core::HomePrefix{kHomePrefix, 64, std::nullopt, std::nullopt, true, true}};
    config.max_lifetime = std::chrono::hours(24);
    config.log_bindings = false;
    // The benchmark registers from one care-of address as fast as it can: no flood limits.
    config.bu_rate_per_source = config.bu_rate_global = {1e12, 1e12};
    for (std::size_t i = 0; i < bindings; ++i) {
      auto* entry = cache.find_or_insert(home_address(i), now).entry;
      entry->care_of_address = kCoa;
      entry->local_address = kHa;
      entry->expires = now + std::chrono::hours(1);
      entry->sequence_number = 1;
      entry->home_registration = true;
    }
    agent = std::make_unique<core::HomeAgent>(config, cache, rng);
  }

  // A refresh BU (H, A, HAO, Alternate CoA) for the binding of index i, `ahead` sequence
  // numbers past the last accepted one (a batch may refresh one binding several times).
  wire::Bytes refresh(std::size_t i, std::uint16_t ahead) {
    auto hoa = home_address(i);
    wire::BindingUpdate bu;
    bu.sequence_number = static_cast<std::uint16_t>(cache.find(hoa)->sequence_number + ahead);
    bu.set_flag(wire::kBuFlagA, true);
    bu.set_flag(wire::kBuFlagH, true);
    bu.lifetime = 105;
    wire::MobilityHeader mh;
    mh.message = bu;
    mh.options.push_back(wire::AlternateCareOfAddress{kCoa});
    return core::build_mobility_packet({kCoa, kHa, hoa, std::nullopt, 64}, mh);
  }

  std::size_t count;
  core::BindingCache cache;
  core::SplitMix64 rng;
  TimePoint now{};
  std::unique_ptr<core::HomeAgent> agent;
};

Scenario& scenario(std::size_t bindings) {
  static std::map<std::size_t, std::unique_ptr<Scenario>> built;
  auto& s = built[bindings];
  if (!s) s = std::make_unique<Scenario>(bindings);
  return *s;
}

void BM_HaRegistrations(benchmark::State& state) {
  auto& s = scenario(static_cast<std::size_t>(state.range(0)));
  core::SplitMix64 pick(7);
  std::vector<wire::Bytes> batch(kBatch);
  std::uint64_t accepted_before = s.agent->counters().ba_accepted;
  for (auto _ : state) {
    state.PauseTiming();
    std::unordered_map<std::size_t, std::uint16_t> times_in_batch;
    for (auto& packet : batch) {
      auto i = pick.uniform(s.count);
      packet = s.refresh(i, ++times_in_batch[i]);
    }
    state.ResumeTiming();
    for (const auto& packet : batch) {
      auto rx = core::make_rx_packet(packet, 1);
      s.agent->on_packet(*rx, s.now);
      benchmark::DoNotOptimize(s.agent->take_actions());
    }
  }
  if (s.agent->counters().ba_accepted - accepted_before !=
      static_cast<std::uint64_t>(state.iterations()) * kBatch) {
    for (const auto& [name, value] : s.agent->counters().list())
      if (value)
        std::fprintf(stderr, "  %s = %llu\n", std::string(name).c_str(),
                     static_cast<unsigned long long>(value));
    state.SkipWithError("not every BU was accepted");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
  state.counters["binding_bytes"] = static_cast<double>(s.cache.memory_bytes());
  state.SetLabel("baseline=UnorderedMapStore/" + std::to_string(state.range(0)));
}

void BM_UnorderedMapStore(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  std::unordered_map<Ipv6Address, core::BindingCacheEntry> map;
  map.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    map[home_address(i)].home_address = home_address(i);
  core::SplitMix64 pick(7);
  std::vector<Ipv6Address> keys(kBatch);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& key : keys)
      key = home_address(pick.uniform(n));
    state.ResumeTiming();
    for (const auto& key : keys) {
      auto& entry = map[key];
      entry.care_of_address = kCoa;
      entry.sequence_number = static_cast<std::uint16_t>(entry.sequence_number + 1);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBatch));
}

BENCHMARK(BM_UnorderedMapStore)
    ->Arg(1000)
    ->Arg(1000000)
    ->Arg(10000000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HaRegistrations)
    ->Arg(1000)
    ->Arg(1000000)
    ->Arg(10000000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
