#include "core/return_routability.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "core/constants.h"
#include "core/rng.h"
#include "wire/hex.h"

namespace mipv6::core {
namespace {

// Expected values below were computed independently with Python's hmac and hashlib, over the
// demo capture's parameters (scripts/make_demo_capture.py): Kcn = 00 01 .. 13, home nonce
// 1111111111111111, care-of nonce 2222222222222222.
NodeKey demo_kcn() {
  NodeKey k{};
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::byte>(i);
  return k;
}
Nonce nonce_of(std::uint8_t octet) {
  Nonce n{};
  n.fill(static_cast<std::byte>(octet));
  return n;
}
wire::Ipv6Address addr(const char* text) {
  return *wire::Ipv6Address::parse(text);
}
template <std::size_t N>
std::array<std::byte, N> octets(const char* hex) {
  auto bytes = wire::from_hex(hex);
  std::array<std::byte, N> out{};
  EXPECT_TRUE(bytes.has_value());
  if (bytes && bytes->size() == N) std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

constexpr KeygenToken kDemoHomeToken = 0xc71a754160cffb9aull;
constexpr KeygenToken kDemoCareOfToken = 0xf9fb1eb8fd20b242ull;

TEST(ReturnRoutability, HomeKeygenTokenIsFirst64OfHmacOverHoaNonceZero_5_2_5) {
  EXPECT_EQ(home_keygen_token(demo_kcn(), addr("2001:db8:1::100"), nonce_of(0x11)), kDemoHomeToken);
}

TEST(ReturnRoutability, CareOfKeygenTokenIsFirst64OfHmacOverCoaNonceOne_5_2_6) {
  EXPECT_EQ(care_of_keygen_token(demo_kcn(), addr("2001:db8:2::ff:fe00:100"), nonce_of(0x22)),
            kDemoCareOfToken);
}

TEST(ReturnRoutability, HomeAndCareOfTokensDifferForSameInputs_5_2_5) {
  // The trailing 0 / 1 octet keeps a home token from serving as a care-of token.
  const auto a = addr("2001:db8:1::100");
  EXPECT_NE(home_keygen_token(demo_kcn(), a, nonce_of(0x11)),
            care_of_keygen_token(demo_kcn(), a, nonce_of(0x11)));
}

TEST(ReturnRoutability, KbmIsSha1OfHomeTokenThenCareOfToken_5_2_5) {
  EXPECT_EQ(binding_management_key(kDemoHomeToken, kDemoCareOfToken),
            octets<20>("dea0636222930eef3d3257dc51c252306473d6af"));
}

TEST(ReturnRoutability, DeregistrationKbmIsSha1OfHomeTokenOnly_5_2_5) {
  EXPECT_EQ(binding_management_key(kDemoHomeToken, std::nullopt),
            octets<20>("58d846675f1dfd21cce5949d3a1e1a0c2d888dfa"));
  EXPECT_EQ(binding_management_key(0x0102030405060708ull, std::nullopt),
            octets<20>("dd5783bcf1e9002bc00ad5b83a95ed6e4ebb4ad5"));
  // A care-of token of zero is still a care-of token: not the deletion key.
  EXPECT_NE(binding_management_key(kDemoHomeToken, 0), binding_management_key(kDemoHomeToken, {}));
}

TEST(ReturnRoutability, AuthenticatorIsFirst96OfHmacOverCoaCorrespondentMhData_6_2_7) {
  std::array<std::byte, 10> mh_data{};
  for (std::size_t i = 0; i < mh_data.size(); ++i)
    mh_data[i] = static_cast<std::byte>(i);
  const auto kbm = binding_management_key(kDemoHomeToken, kDemoCareOfToken);
  EXPECT_EQ(
      binding_authenticator(kbm, addr("2001:db8:2::ff:fe00:100"), addr("2001:db8:3::10"), mh_data),
      octets<12>("64fb84df5816c9216d793063"));
  // Swapping the two addresses changes the result: the order is part of the rule.
  EXPECT_NE(
      binding_authenticator(kbm, addr("2001:db8:3::10"), addr("2001:db8:2::ff:fe00:100"), mh_data),
      octets<12>("64fb84df5816c9216d793063"));
}

// --- NonceTable (§5.2.2, §5.2.7) ---------------------------------------------------------

const TimePoint kT0 = TimePoint(5000s);

TEST(NonceTable, SameGenerationWithinRotationInterval_5_2_2) {
  SplitMix64 rng(1);
  NonceTable table(rng, kT0);
  const auto first = table.current(kT0);
  const auto later = table.current(kT0 + 29s + 999ms);
  EXPECT_EQ(first.index, later.index);
  EXPECT_EQ(first.nonce, later.nonce);
  EXPECT_EQ(first.kcn, later.kcn);
}

TEST(NonceTable, RotatesAfterIntervalWithNextIndexNewNonceNewKcn_5_2_7) {
  SplitMix64 rng(2);
  NonceTable table(rng, kT0);
  const auto first = table.current(kT0);
  const auto second = table.current(kT0 + 30s);
  EXPECT_EQ(second.index, static_cast<std::uint16_t>(first.index + 1));
  EXPECT_NE(second.nonce, first.nonce);
  // §5.2.7: Kcn is updated together with the nonce, so one index names both.
  EXPECT_NE(second.kcn, first.kcn);
}

TEST(NonceTable, KcnDiffersForEveryGeneration_5_2_1) {
  SplitMix64 rng(3);
  NonceTable table(rng, kT0);
  std::set<NodeKey> keys;
  std::set<Nonce> nonces;
  for (int i = 0; i < 20; ++i) {
    const auto g = table.current(kT0 + i * 30s);
    keys.insert(g.kcn);
    nonces.insert(g.nonce);
  }
  EXPECT_EQ(keys.size(), 20u);
  EXPECT_EQ(nonces.size(), 20u);
}

TEST(NonceTable, OlderIndexStillFoundAfterRotation_5_2_2) {
  SplitMix64 rng(4);
  NonceTable table(rng, kT0);
  const auto first = table.current(kT0);
  const auto second = table.current(kT0 + 30s);
  const auto* found_first = table.find(first.index, kT0 + 31s);
  ASSERT_NE(found_first, nullptr);
  EXPECT_EQ(found_first->nonce, first.nonce);
  EXPECT_EQ(found_first->kcn, first.kcn);
  const auto* found_second = table.find(second.index, kT0 + 31s);
  ASSERT_NE(found_second, nullptr);
  EXPECT_EQ(found_second->kcn, second.kcn);
}

TEST(NonceTable, AcceptedUntilMaxNonceLifetimeAfterFirstUse_5_2_7) {
  SplitMix64 rng(5);
  NonceTable table(rng, kT0);
  const auto first_use = kT0 + 29s;  // first handed out late in its interval
  const auto g = table.current(first_use);
  // Keep rotating, as a busy correspondent does.
  for (int i = 1; i <= 8; ++i)
    table.current(kT0 + i * 30s);
  // Still acceptable exactly MAX_NONCE_LIFETIME after first use...
  EXPECT_NE(table.find(g.index, first_use + kMaxNonceLifetime), nullptr);
  // ...and not one nanosecond later.
  EXPECT_EQ(table.find(g.index, first_use + kMaxNonceLifetime + 1ns), nullptr);
}

TEST(NonceTable, AcceptedForAtLeastMaxTokenLifetime_5_2_7) {
  SplitMix64 rng(6);
  NonceTable table(rng, kT0);
  const auto g = table.current(kT0 + 29s);
  for (int i = 1; i <= 8; ++i)
    table.current(kT0 + i * 30s);
  EXPECT_NE(table.find(g.index, kT0 + 29s + kMaxTokenLifetime), nullptr);
}

TEST(NonceTable, UnknownIndexIsNotFound_9_5_1) {
  SplitMix64 rng(7);
  NonceTable table(rng, kT0);
  const auto g = table.current(kT0);
  EXPECT_EQ(table.find(static_cast<std::uint16_t>(g.index + 1), kT0), nullptr);
  EXPECT_EQ(table.find(static_cast<std::uint16_t>(g.index - 1), kT0), nullptr);
}

TEST(NonceTable, GenerationNeverHandedOutIsNotAccepted_5_2_2) {
  SplitMix64 rng(8);
  NonceTable table(rng, kT0);
  // Nothing was sent with the initial nonce yet: no token can exist for it.
  const auto g = table.current(kT0 + 100s);  // rotates first: the initial one never served
  EXPECT_EQ(table.find(static_cast<std::uint16_t>(g.index - 1), kT0 + 100s), nullptr);
  EXPECT_NE(table.find(g.index, kT0 + 100s), nullptr);
}

TEST(NonceTable, BoundedNumberOfGenerations_5_2_7) {
  SplitMix64 rng(9);
  NonceTable table(rng, kT0);
  // 240 s / 30 s + 1 generations, whatever the run length.
  EXPECT_EQ(table.capacity(), 9u);
  std::vector<NonceTable::Generation> handed_out;
  for (int i = 0; i < 100; ++i)
    handed_out.push_back(table.current(kT0 + i * 30s));
  EXPECT_EQ(table.capacity(), 9u);
  const auto now = kT0 + 99 * 30s;
  int alive = 0;
  for (const auto& g : handed_out)
    alive += table.find(g.index, now) != nullptr ? 1 : 0;
  EXPECT_EQ(alive, 9);  // first uses at now-240 s .. now
  EXPECT_EQ(table.find(handed_out[91].index, now)->kcn, handed_out[91].kcn);
  EXPECT_EQ(table.find(handed_out[90].index, now), nullptr);
}

TEST(NonceTable, CapacityFollowsRotationInterval_5_2_7) {
  SplitMix64 rng(10);
  EXPECT_EQ(NonceTable(rng, kT0, 60s).capacity(), 5u);
  EXPECT_EQ(NonceTable(rng, kT0, 50s).capacity(), 6u);  // ceil(240 / 50) + 1
}

TEST(NonceTable, LongIdleGapRotatesOnce_5_2_2) {
  SplitMix64 rng(11);
  NonceTable table(rng, kT0);
  const auto first = table.current(kT0);
  const auto after_gap = table.current(kT0 + 3600s);
  EXPECT_EQ(after_gap.index, static_cast<std::uint16_t>(first.index + 1));
  EXPECT_EQ(table.find(first.index, kT0 + 3600s), nullptr);  // expired long ago
}

TEST(NonceTable, SameSeedSameNonces) {
  SplitMix64 a(12);
  SplitMix64 b(12);
  NonceTable ta(a, kT0);
  NonceTable tb(b, kT0);
  EXPECT_EQ(ta.current(kT0).kcn, tb.current(kT0).kcn);
  EXPECT_EQ(ta.current(kT0).index, tb.current(kT0).index);
}

}  // namespace
}  // namespace mipv6::core
