#include "sim/random.h"

#include <gtest/gtest.h>

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kSeed42LinkHome = 1658993996983762084ull;

TEST(Random, DerivedSeedsAreStableAndDependOnSeedAndName) {
  EXPECT_EQ(derive_seed(1, "link/home"), derive_seed(1, "link/home"));
  EXPECT_NE(derive_seed(1, "link/home"), derive_seed(2, "link/home"));
  EXPECT_NE(derive_seed(1, "link/home"), derive_seed(1, "link/away"));
  EXPECT_NE(derive_seed(0, ""), 0u);
}

TEST(Random, DerivedSeedIsPlatformIndependent) {
  // FNV-1a and the SplitMix64 mixer are fully specified: this value never changes.
  EXPECT_EQ(derive_seed(42, "link/home"), kSeed42LinkHome);
}

TEST(Random, StreamsOfDifferentNamesDiffer) {
  auto a = make_stream(5, "node/mn1");
  auto b = make_stream(5, "node/mn2");
  EXPECT_NE(a.next_u64(), b.next_u64());
}

TEST(Random, ChanceWithCertainOrImpossibleOutcomeDrawsNothing) {
  core::SplitMix64 used(9), fresh(9);
  EXPECT_FALSE(chance(used, 0.0));
  EXPECT_TRUE(chance(used, 1.0));
  EXPECT_FALSE(chance(used, -1.0));
  EXPECT_EQ(used.next_u64(), fresh.next_u64());
}

TEST(Random, ChanceFollowsTheProbability) {
  core::SplitMix64 rng(11);
  int hits = 0;
  for (int i = 0; i < 10000; ++i)
    hits += chance(rng, 0.25) ? 1 : 0;
  EXPECT_NEAR(hits, 2500, 200);  // sd 43
}

}  // namespace
}  // namespace mipv6::sim
