#include "core/binding_update_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "core/rng.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kCn = addr("2001:db8:9::9");
const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kHoa2 = addr("2001:db8:1::200");
const TimePoint kT0 = TimePoint(1000s);

TEST(BindingUpdateList, EntriesKeyedByDestinationAndHomeAddress_11_1) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& a = list.find_or_insert(kHa, kHoa);
  a.care_of_address = addr("2001:db8:2::1");
  list.find_or_insert(kHa, kHoa2);
  list.find_or_insert(kCn, kHoa);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(&list.find_or_insert(kHa, kHoa), list.find(kHa, kHoa));
  EXPECT_EQ(list.find(kHa, kHoa)->care_of_address, addr("2001:db8:2::1"));
  EXPECT_EQ(list.find(kCn, kHoa2), nullptr);
  EXPECT_TRUE(list.erase(kHa, kHoa));
  EXPECT_FALSE(list.erase(kHa, kHoa));
  EXPECT_EQ(list.find(kHa, kHoa), nullptr);
  EXPECT_EQ(list.size(), 2u);
}

TEST(BindingUpdateList, FirstSequenceNumberIsRandom_SEEDS_3_4) {
  std::vector<std::uint16_t> firsts;
  for (std::uint64_t seed : {1u, 2u, 3u, 4u}) {
    SplitMix64 rng(seed);
    BindingUpdateList list(rng);
    firsts.push_back(BindingUpdateList::next_sequence(list.find_or_insert(kHa, kHoa)));
  }
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(std::unique(firsts.begin(), firsts.end()), firsts.end()) << "seeds gave equal starts";
  // Same seed, same start (reproducible runs).
  SplitMix64 a(7), b(7);
  BindingUpdateList la(a), lb(b);
  EXPECT_EQ(la.find_or_insert(kHa, kHoa).sequence, lb.find_or_insert(kHa, kHoa).sequence);
}

TEST(BindingUpdateList, EachBindingUpdateHasLargerSequenceModulo2To16_11_7_1) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& entry = list.find_or_insert(kHa, kHoa);
  entry.sequence = 0xfffe;
  EXPECT_EQ(BindingUpdateList::next_sequence(entry), 0xfffe);  // the start itself first
  EXPECT_EQ(BindingUpdateList::next_sequence(entry), 0xffff);
  EXPECT_EQ(BindingUpdateList::next_sequence(entry), 0);
  EXPECT_EQ(BindingUpdateList::next_sequence(entry), 1);
}

TEST(BindingUpdateList, Status135ContinuesFromAcknowledgedPlusOne_11_7_3) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& entry = list.find_or_insert(kHa, kHoa);
  BindingUpdateList::next_sequence(entry);
  BindingUpdateList::adopt_sequence(entry, 5000);
  EXPECT_EQ(BindingUpdateList::next_sequence(entry), 5001);
  // Even as the very first send.
  auto& fresh = list.find_or_insert(kCn, kHoa);
  BindingUpdateList::adopt_sequence(fresh, 0xffff);
  EXPECT_EQ(BindingUpdateList::next_sequence(fresh), 0);
}

TEST(BindingUpdateList, MaxUpdateRateThreePerSecondPerDestination_11_8) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& ha = list.find_or_insert(kHa, kHoa);
  auto& ha2 = list.find_or_insert(kHa, kHoa2);  // same destination, other home address
  auto& cn = list.find_or_insert(kCn, kHoa);
  EXPECT_TRUE(list.rate_allows(kHa, kT0));
  list.record_send(ha, 420s, kT0);
  list.record_send(ha2, 420s, kT0 + 100ms);
  EXPECT_TRUE(list.rate_allows(kHa, kT0 + 200ms));
  list.record_send(ha, 420s, kT0 + 200ms);
  EXPECT_FALSE(list.rate_allows(kHa, kT0 + 300ms));
  EXPECT_EQ(list.next_allowed(kHa, kT0 + 300ms), kT0 + 1s);
  // Another destination is counted apart.
  EXPECT_TRUE(list.rate_allows(kCn, kT0 + 300ms));
  list.record_send(cn, 420s, kT0 + 300ms);
  // The oldest send leaves the one-second window.
  EXPECT_FALSE(list.rate_allows(kHa, kT0 + 999ms));
  EXPECT_TRUE(list.rate_allows(kHa, kT0 + 1s));
  EXPECT_EQ(list.next_allowed(kHa, kT0 + 1s), kT0 + 1s);
}

TEST(BindingUpdateList, RecordSendKeepsTimeAndLifetimeSent_11_1) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& entry = list.find_or_insert(kHa, kHoa);
  entry.acknowledged = true;
  list.record_send(entry, 420s, kT0);
  EXPECT_EQ(entry.last_sent, kT0);
  EXPECT_EQ(entry.lifetime_sent, 420s);
  EXPECT_FALSE(entry.acknowledged);
}

TEST(BindingUpdateList, AcknowledgementShortensRemainingLifetime_11_7_3) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& entry = list.find_or_insert(kHa, kHoa);
  list.record_send(entry, 420s, kT0);
  entry.awaiting_ack = true;
  entry.retransmit_at = kT0 + 1s;
  // L_remain at kT0+2s = 418 s; minus (420 - 200) = 198 s: ends at kT0 + 200 s.
  BindingUpdateList::acknowledge(entry, 200s, kT0 + 2s);
  EXPECT_EQ(entry.expiry, kT0 + 200s);
  EXPECT_EQ(entry.lifetime_granted, 200s);
  EXPECT_TRUE(entry.acknowledged);
  EXPECT_FALSE(entry.awaiting_ack);
  EXPECT_FALSE(entry.retransmit_at);
}

TEST(BindingUpdateList, RemainingLifetimeNeverBelowZero_11_7_3) {
  SplitMix64 rng(1);
  BindingUpdateList list(rng);
  auto& entry = list.find_or_insert(kHa, kHoa);
  list.record_send(entry, 420s, kT0);
  BindingUpdateList::acknowledge(entry, 4s, kT0 + 10s);  // max(..., 0)
  EXPECT_EQ(entry.expiry, kT0 + 10s);
}

}  // namespace
}  // namespace mipv6::core
