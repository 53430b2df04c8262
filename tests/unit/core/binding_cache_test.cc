#include "core/binding_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/rng.h"

namespace mipv6::core {
namespace {

wire::Ipv6Address hoa(std::uint32_t n) {
  wire::Ipv6Address a = *wire::Ipv6Address::parse("2001:db8:1::");
  a.bytes[12] = static_cast<std::uint8_t>(n >> 24);
  a.bytes[13] = static_cast<std::uint8_t>(n >> 16);
  a.bytes[14] = static_cast<std::uint8_t>(n >> 8);
  a.bytes[15] = static_cast<std::uint8_t>(n);
  return a;
}

const TimePoint kT0 = TimePoint(1000s);

// --- §9.5.1 sequence numbers -------------------------------------------------------------

TEST(BindingCache, SequenceWindowAfterLast15_9_5_1) {
  // The conformance matrix: with 15 accepted last, 16..32782 are newer.
  for (std::uint32_t s = 16; s <= 32782; ++s) {
    EXPECT_TRUE(sequence_newer(static_cast<std::uint16_t>(s), 15)) << s;
  }
}

TEST(BindingCache, SequenceOutsideWindowAfterLast15IsNotNewer_9_5_1) {
  for (std::uint32_t s = 0; s <= 15; ++s) {
    EXPECT_FALSE(sequence_newer(static_cast<std::uint16_t>(s), 15)) << s;
  }
  for (std::uint32_t s = 32783; s <= 65535; ++s) {
    EXPECT_FALSE(sequence_newer(static_cast<std::uint16_t>(s), 15)) << s;
  }
}

TEST(BindingCache, SequenceWrapsAround65535To0_9_5_1) {
  EXPECT_TRUE(sequence_newer(0, 65535));
  EXPECT_TRUE(sequence_newer(32766, 65535));
  EXPECT_FALSE(sequence_newer(32767, 65535));
  EXPECT_FALSE(sequence_newer(65535, 0));
  EXPECT_FALSE(sequence_newer(65535, 65535));
}

// --- lookup and insertion ----------------------------------------------------------------

TEST(BindingCache, OneEntryPerHomeAddress_9_1) {
  BindingCache cache(8);
  auto first = cache.find_or_insert(hoa(1), kT0);
  ASSERT_EQ(first.outcome, BindingCache::Insert::kInserted);
  first.entry->sequence_number = 7;
  auto again = cache.find_or_insert(hoa(1), kT0 + 1s);
  EXPECT_EQ(again.outcome, BindingCache::Insert::kExisting);
  EXPECT_EQ(again.entry, first.entry);
  EXPECT_EQ(again.entry->sequence_number, 7);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find(hoa(1)), first.entry);
  EXPECT_EQ(cache.find(hoa(2)), nullptr);
}

TEST(BindingCache, NewEntryHasOnlyKeyAndUsageSet) {
  BindingCache cache(8);
  auto r = cache.find_or_insert(hoa(5), kT0);
  EXPECT_EQ(r.entry->home_address, hoa(5));
  EXPECT_EQ(r.entry->last_used, kT0);
  EXPECT_EQ(r.entry->expires, TimePoint{});
  EXPECT_FALSE(r.entry->home_registration);
  EXPECT_EQ(r.entry->state, BindingState::kValid);
  EXPECT_FALSE(r.evicted.has_value());
}

TEST(BindingCache, EraseRemovesOnlyThatEntry) {
  BindingCache cache(8);
  cache.find_or_insert(hoa(1), kT0);
  cache.find_or_insert(hoa(2), kT0);
  EXPECT_TRUE(cache.erase(hoa(1)));
  EXPECT_FALSE(cache.erase(hoa(1)));
  EXPECT_EQ(cache.find(hoa(1)), nullptr);
  EXPECT_NE(cache.find(hoa(2)), nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

// --- replacement (§9.6, §10.1, draft-04 §7.7) ------------------------------------------

// Fills a cache of `n` entries with hoa(0..n-1), inserted in that order, each valid for 100 s.
void fill(BindingCache& cache, std::uint32_t n, bool home) {
  for (std::uint32_t i = 0; i < n; ++i) {
    auto r = cache.find_or_insert(hoa(i), kT0);
    ASSERT_EQ(r.outcome, BindingCache::Insert::kInserted);
    r.entry->expires = kT0 + 100s;
    r.entry->home_registration = home;
  }
}

TEST(BindingCache, FullCacheEvictsLeastRecentlyUsedNonHomeEntry_9_6) {
  BindingCache cache(3);
  fill(cache, 3, false);
  auto r = cache.find_or_insert(hoa(10), kT0 + 1s);
  ASSERT_EQ(r.outcome, BindingCache::Insert::kInserted);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(r.evicted->home_address, hoa(0));  // inserted first, never used since
  EXPECT_EQ(cache.find(hoa(0)), nullptr);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(BindingCache, TouchMakesEntryMostRecentlyUsed_9_6) {
  BindingCache cache(3);
  fill(cache, 3, false);
  cache.touch(*cache.find(hoa(0)), kT0 + 1s);
  EXPECT_EQ(cache.find(hoa(0))->last_used, kT0 + 1s);
  const std::uint32_t expected_victims[] = {1, 2, 0};
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto r = cache.find_or_insert(hoa(10 + i), kT0 + 2s);
    ASSERT_TRUE(r.evicted.has_value());
    EXPECT_EQ(r.evicted->home_address, hoa(expected_victims[i]));
    r.entry->expires = kT0 + 100s;
  }
}

TEST(BindingCache, LiveHomeRegistrationIsNeverEvicted_10_1) {
  BindingCache cache(3);
  fill(cache, 3, false);
  auto* home = cache.find(hoa(0));  // least recently used, but a home registration
  home->home_registration = true;
  auto r = cache.find_or_insert(hoa(10), kT0 + 1s);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(r.evicted->home_address, hoa(1));
  EXPECT_NE(cache.find(hoa(0)), nullptr);
}

TEST(BindingCache, FullOfLiveHomeRegistrationsAnswersFull_10_3_1) {
  // BA status 130 (insufficient resources) when nothing may be replaced.
  BindingCache cache(4);
  fill(cache, 4, true);
  auto r = cache.find_or_insert(hoa(10), kT0 + 99s);
  EXPECT_EQ(r.outcome, BindingCache::Insert::kFull);
  EXPECT_EQ(r.entry, nullptr);
  EXPECT_FALSE(r.evicted.has_value());
  EXPECT_EQ(cache.size(), 4u);
  for (std::uint32_t i = 0; i < 4; ++i)
    EXPECT_NE(cache.find(hoa(i)), nullptr);
  // An existing home address is still found while full.
  EXPECT_EQ(cache.find_or_insert(hoa(2), kT0 + 99s).outcome, BindingCache::Insert::kExisting);
}

TEST(BindingCache, ExpiredHomeRegistrationMayBeEvicted_10_1) {
  BindingCache cache(2);
  fill(cache, 2, true);
  cache.find(hoa(1))->expires = kT0 + 50s;
  // At 50 s hoa(1)'s lifetime has ended (expires <= now): it is replaced, hoa(0) is not.
  auto r = cache.find_or_insert(hoa(10), kT0 + 50s);
  ASSERT_EQ(r.outcome, BindingCache::Insert::kInserted);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(r.evicted->home_address, hoa(1));
  EXPECT_TRUE(r.evicted->home_registration);
  EXPECT_NE(cache.find(hoa(0)), nullptr);
}

TEST(BindingCache, HomeRegistrationNotEvictedOneNanosecondBeforeExpiry_10_1) {
  BindingCache cache(1);
  fill(cache, 1, true);
  EXPECT_EQ(cache.find_or_insert(hoa(10), kT0 + 100s - 1ns).outcome, BindingCache::Insert::kFull);
  EXPECT_EQ(cache.find_or_insert(hoa(10), kT0 + 100s).outcome, BindingCache::Insert::kInserted);
}

TEST(BindingCache, ExpiredEntryReplacedBeforeLiveLeastRecentlyUsed_9_6) {
  BindingCache cache(3);
  fill(cache, 3, false);
  cache.find(hoa(2))->expires = kT0 + 10s;  // most recently used but dead at 20 s
  auto r = cache.find_or_insert(hoa(10), kT0 + 20s);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(r.evicted->home_address, hoa(2));
}

TEST(BindingCache, EntryNoLongerHomeRegistrationBecomesReplaceable_9_6) {
  BindingCache cache(2);
  fill(cache, 2, true);
  EXPECT_EQ(cache.find_or_insert(hoa(10), kT0).outcome, BindingCache::Insert::kFull);
  cache.find(hoa(0))->home_registration = false;
  auto r = cache.find_or_insert(hoa(10), kT0);
  ASSERT_EQ(r.outcome, BindingCache::Insert::kInserted);
  EXPECT_EQ(r.evicted->home_address, hoa(0));
}

TEST(BindingCache, ZeroCapacityIsAlwaysFull) {
  BindingCache cache(0);
  EXPECT_EQ(cache.find_or_insert(hoa(1), kT0).outcome, BindingCache::Insert::kFull);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(BindingCache, EntryAddressesStableAcrossOtherEvictions) {
  BindingCache cache(4);
  fill(cache, 4, false);
  auto* keep = cache.find(hoa(3));
  keep->home_registration = true;
  for (std::uint32_t i = 100; i < 110; ++i) {
    auto r = cache.find_or_insert(hoa(i), kT0);
    ASSERT_EQ(r.outcome, BindingCache::Insert::kInserted);
    r.entry->expires = kT0 + 100s;
  }
  EXPECT_EQ(cache.find(hoa(3)), keep);
  EXPECT_EQ(keep->home_address, hoa(3));
  for (std::uint32_t i = 107; i < 110; ++i)
    EXPECT_NE(cache.find(hoa(i)), nullptr) << i;
  EXPECT_EQ(cache.size(), 4u);
}

TEST(BindingCache, NewEntryWithoutLifetimeIsExpired_9_1) {
  // expires defaults to the epoch: an entry whose lifetime was never set is dead at once.
  BindingCache cache(4);
  cache.find_or_insert(hoa(1), kT0);
  EXPECT_EQ(cache.earliest_expiry(), TimePoint{});
  EXPECT_EQ(cache.expire(kT0).size(), 1u);
}

// --- expiry ------------------------------------------------------------------------------

TEST(BindingCache, ExpireReturnsEntriesWhoseLifetimeEndedEarliestFirst_9_1) {
  BindingCache cache(16);
  const std::uint32_t order[] = {5, 2, 7, 1, 3};
  for (std::uint32_t i : order) {
    cache.find_or_insert(hoa(i), kT0).entry->expires = kT0 + i * 1s;
  }
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 1s);
  EXPECT_TRUE(cache.expire(kT0 + 1s - 1ns).empty());
  auto removed = cache.expire(kT0 + 3s);  // expires <= now: 1, 2, 3
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_EQ(removed[0].home_address, hoa(1));
  EXPECT_EQ(removed[1].home_address, hoa(2));
  EXPECT_EQ(removed[2].home_address, hoa(3));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find(hoa(2)), nullptr);
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 5s);
  EXPECT_EQ(cache.expire(kT0 + 1000s).size(), 2u);
  EXPECT_FALSE(cache.earliest_expiry().has_value());
}

TEST(BindingCache, ExtendedLifetimeExpiresAtNewTime_9_5_2) {
  BindingCache cache(8);
  auto* e = cache.find_or_insert(hoa(1), kT0).entry;
  e->expires = kT0 + 10s;
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 10s);
  // A refreshing BU: the engine finds the entry and extends it.
  cache.find(hoa(1))->expires = kT0 + 60s;
  EXPECT_TRUE(cache.expire(kT0 + 30s).empty());
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 60s);
  EXPECT_EQ(cache.expire(kT0 + 60s).size(), 1u);
}

TEST(BindingCache, ShortenedLifetimeExpiresAtNewTime_10_3_2) {
  BindingCache cache(8);
  auto* e = cache.find_or_insert(hoa(1), kT0).entry;
  e->expires = kT0 + 420s;
  cache.find_or_insert(hoa(2), kT0).entry->expires = kT0 + 300s;
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 300s);
  // De-registration keeps the entry MAX_DELETE_BCE_TIMEOUT, through the pointer it held.
  e->state = BindingState::kPendingDelete;
  e->expires = kT0 + 10s;
  cache.touch(*e, kT0);
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 10s);
  auto removed = cache.expire(kT0 + 10s);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].state, BindingState::kPendingDelete);
}

TEST(BindingCache, LifetimeChangedAfterTouchStillTakesEffect_9_5_2) {
  BindingCache cache(8);
  auto* e = cache.find_or_insert(hoa(1), kT0).entry;
  e->expires = kT0 + 100s;
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 100s);
  e = cache.find(hoa(1));
  cache.touch(*e, kT0 + 1s);
  e->expires = kT0 + 5s;
  EXPECT_EQ(cache.expire(kT0 + 5s).size(), 1u);
}

TEST(BindingCache, EarliestExpiryExactAfterExtendingTheEarliest_9_5_2) {
  BindingCache cache(8);
  for (std::uint32_t i = 1; i <= 4; ++i) {
    cache.find_or_insert(hoa(i), kT0).entry->expires = kT0 + i * 10s;
  }
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 10s);
  cache.find(hoa(1))->expires = kT0 + 35s;  // now third
  cache.find(hoa(2))->expires = kT0 + 50s;  // now last
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 30s);
  auto removed = cache.expire(kT0 + 45s);
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_EQ(removed[0].home_address, hoa(3));
  EXPECT_EQ(removed[1].home_address, hoa(1));
  EXPECT_EQ(removed[2].home_address, hoa(4));
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 50s);
}

TEST(BindingCache, ErasedEntryDoesNotExpireLater) {
  BindingCache cache(8);
  cache.find_or_insert(hoa(1), kT0).entry->expires = kT0 + 5s;
  cache.find_or_insert(hoa(2), kT0).entry->expires = kT0 + 9s;
  EXPECT_TRUE(cache.erase(hoa(1)));
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 9s);
  // Reinserted with another lifetime: only the new one counts.
  cache.find_or_insert(hoa(1), kT0).entry->expires = kT0 + 20s;
  auto removed = cache.expire(kT0 + 10s);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].home_address, hoa(2));
  EXPECT_EQ(cache.earliest_expiry(), kT0 + 20s);
}

TEST(BindingCache, ForEachVisitsEveryEntryOnce) {
  BindingCache cache(64);
  for (std::uint32_t i = 0; i < 50; ++i)
    cache.find_or_insert(hoa(i), kT0);
  for (std::uint32_t i = 0; i < 50; i += 2)
    cache.erase(hoa(i));
  std::vector<std::uint32_t> seen;
  cache.for_each([&](const BindingCacheEntry& e) { seen.push_back(e.home_address.bytes[15]); });
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 25u);
  for (std::uint32_t i = 0; i < 25; ++i)
    EXPECT_EQ(seen[i], 2 * i + 1);
}

// --- randomised churn against std::unordered_map ------------------------------------------

struct OracleEntry {
  std::uint16_t sequence_number = 0;
  TimePoint expires{};
};

// Keys drawn from a small space (many collisions of whole addresses) and two prefixes (keys
// that share their interface identifiers), with erase, reinsert, update and expire mixed in.
void churn_against_oracle(std::size_t max_entries, std::uint64_t seed) {
  BindingCache cache(max_entries, seed);
  std::unordered_map<wire::Ipv6Address, OracleEntry> oracle;
  SplitMix64 rng(seed);
  TimePoint now = kT0;
  auto key = [&] {
    wire::Ipv6Address a = hoa(static_cast<std::uint32_t>(rng.uniform(max_entries / 2)));
    if (rng.uniform(2) == 1) a.bytes[3] = 0xff;  // a second prefix
    return a;
  };
  for (int op = 0; op < 100000; ++op) {
    const auto action = rng.uniform(100);
    const auto k = key();
    if (action < 40) {  // insert or update
      auto r = cache.find_or_insert(k, now);
      ASSERT_NE(r.outcome, BindingCache::Insert::kFull);
      ASSERT_FALSE(r.evicted.has_value());  // the oracle never exceeds max_entries below
      ASSERT_EQ(r.outcome == BindingCache::Insert::kExisting, oracle.count(k) == 1);
      r.entry->sequence_number = static_cast<std::uint16_t>(op);
      r.entry->expires = now + std::chrono::seconds(1 + rng.uniform(600));
      oracle[k] = {r.entry->sequence_number, r.entry->expires};
    } else if (action < 70) {  // lookup
      const auto* e = std::as_const(cache).find(k);
      auto it = oracle.find(k);
      ASSERT_EQ(e != nullptr, it != oracle.end());
      if (e) {
        ASSERT_EQ(e->home_address, k);
        ASSERT_EQ(e->sequence_number, it->second.sequence_number);
      }
    } else if (action < 95) {  // erase
      ASSERT_EQ(cache.erase(k), oracle.erase(k) == 1);
    } else {  // time passes
      now += std::chrono::seconds(rng.uniform(30));
      auto removed = cache.expire(now);
      std::size_t expected = 0;
      for (auto it = oracle.begin(); it != oracle.end();) {
        if (it->second.expires <= now) {
          it = oracle.erase(it);
          ++expected;
        } else {
          ++it;
        }
      }
      ASSERT_EQ(removed.size(), expected);
      for (const auto& e : removed)
        ASSERT_LE(e.expires, now);
    }
    ASSERT_EQ(cache.size(), oracle.size());
  }
  std::size_t visited = 0;
  cache.for_each([&](const BindingCacheEntry& e) {
    ++visited;
    auto it = oracle.find(e.home_address);
    ASSERT_NE(it, oracle.end());
    EXPECT_EQ(e.sequence_number, it->second.sequence_number);
  });
  EXPECT_EQ(visited, oracle.size());
}

TEST(BindingCache, EraseReinsertChurnMatchesUnorderedMap) {
  // The key space (2 prefixes x max_entries / 2) fits, so no replacement happens.
  churn_against_oracle(512, 1);
}

TEST(BindingCache, EraseReinsertChurnMatchesUnorderedMapWithSeededHash) {
  churn_against_oracle(64, 0x5eed5eed5eed5eedull);
}

TEST(BindingCache, LruChurnEvictsExactlyTheOracleLeastRecentlyUsed_9_6) {
  // A list-based LRU model: every insert beyond capacity evicts its back.
  constexpr std::size_t kMax = 32;
  BindingCache cache(kMax);
  std::vector<wire::Ipv6Address> lru;  // front = most recently used
  SplitMix64 rng(42);
  for (int op = 0; op < 20000; ++op) {
    const auto k = hoa(static_cast<std::uint32_t>(rng.uniform(kMax * 3)));
    auto it = std::find(lru.begin(), lru.end(), k);
    if (rng.uniform(2) == 0) {
      auto r = cache.find_or_insert(k, kT0);
      r.entry->expires = kT0 + 1000s;
      cache.touch(*r.entry, kT0);
      if (it != lru.end()) {
        ASSERT_EQ(r.outcome, BindingCache::Insert::kExisting);
        lru.erase(it);
      } else if (lru.size() == kMax) {
        ASSERT_TRUE(r.evicted.has_value());
        ASSERT_EQ(r.evicted->home_address, lru.back());
        lru.pop_back();
      } else {
        ASSERT_FALSE(r.evicted.has_value());
      }
      lru.insert(lru.begin(), k);
    } else {
      ASSERT_EQ(cache.erase(k), it != lru.end());
      if (it != lru.end()) lru.erase(it);
    }
  }
}

// --- memory ------------------------------------------------------------------------------

TEST(BindingCache, AtMost128BytesPerBinding) {
  BindingCache cache(200000);
  EXPECT_LE(cache.memory_bytes(), 128u);
  EXPECT_GE(cache.total_memory_bytes(), 200000u * sizeof(BindingCacheEntry));
}

}  // namespace
}  // namespace mipv6::core
