#include "core/rng.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace mipv6::core {
namespace {

TEST(Rng, SameSeedSameSequence) {
  SplitMix64 a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
}

TEST(Rng, UniformStaysInBoundAndCoversIt) {
  SplitMix64 rng(7);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    auto v = rng.uniform(6);
    ASSERT_LT(v, 6u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(Rng, FillCoversOddLengths) {
  SplitMix64 rng(1);
  std::array<std::byte, 13> buf{};
  rng.fill(buf);
  int zeros = 0;
  for (auto b : buf)
    zeros += b == std::byte{0};
  EXPECT_LT(zeros, 4);
}

}  // namespace
}  // namespace mipv6::core
