#include "core/home_agent_list.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "core/home_agent.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const TimePoint kT0 = TimePoint(1000s);

// The n-th home agent: link-local fe80::n, global 2001:db8:1::n.
Ipv6Address link_local(unsigned n) {
  Ipv6Address a = addr("fe80::");
  a.bytes[14] = static_cast<std::uint8_t>(n >> 8);
  a.bytes[15] = static_cast<std::uint8_t>(n);
  return a;
}
Ipv6Address global(unsigned n) {
  Ipv6Address a = addr("2001:db8:1::");
  a.bytes[14] = static_cast<std::uint8_t>(n >> 8);
  a.bytes[15] = static_cast<std::uint8_t>(n);
  return a;
}

wire::RouterAdvertisement ra(bool h, std::uint16_t router_lifetime,
                             std::optional<wire::HomeAgentInformationOption> info,
                             std::vector<wire::PrefixInformationOption> pios = {}) {
  wire::RouterAdvertisement message;
  message.h = h;
  message.router_lifetime = router_lifetime;
  if (info) message.options.push_back(wire::NdOption{*info});
  for (const auto& pio : pios)
    message.options.push_back(wire::NdOption{pio});
  return message;
}

wire::PrefixInformationOption router_address(const Ipv6Address& address,
                                             std::uint32_t valid = 86400) {
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.a = true;
  pio.r = true;
  pio.valid_lifetime = valid;
  pio.preferred_lifetime = valid;
  pio.prefix = address;
  return pio;
}

wire::HomeAgentInformationOption info(std::uint16_t preference, std::uint16_t lifetime) {
  return wire::HomeAgentInformationOption{0, preference, lifetime};
}

// --- §10.5.1 learning from RAs ----------------------------------------------------------------

TEST(HomeAgentList, RaWithHBitAddsEntryWithDefaults_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 1800, std::nullopt), kT0);
  const auto* entry = list.find(link_local(1));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->preference, 0);
  EXPECT_EQ(entry->expires, kT0 + 1800s);  // Router Lifetime when no HA Information option
}

TEST(HomeAgentList, HomeAgentInformationOptionGivesPreferenceAndLifetime_7_4) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 1800, info(10, 600)), kT0);
  const auto* entry = list.find(link_local(1));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->preference, 10);
  EXPECT_EQ(entry->expires, kT0 + 600s);
}

TEST(HomeAgentList, RaWithoutHBitRemovesEntry_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 1800, std::nullopt), kT0);
  list.on_router_advertisement(link_local(1), ra(false, 1800, std::nullopt), kT0 + 1s);
  EXPECT_EQ(list.find(link_local(1)), nullptr);
}

TEST(HomeAgentList, ZeroLifetimeRemovesAndNeverAdds_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 0, std::nullopt), kT0);
  EXPECT_EQ(list.find(link_local(1)), nullptr);
  list.on_router_advertisement(link_local(1), ra(true, 1800, std::nullopt), kT0);
  list.on_router_advertisement(link_local(1), ra(true, 1800, info(5, 0)), kT0 + 1s);
  EXPECT_EQ(list.find(link_local(1)), nullptr);
}

TEST(HomeAgentList, RefreshUpdatesPreferenceAndLifetime_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 1800, info(1, 100)), kT0);
  list.on_router_advertisement(link_local(1), ra(true, 1800, info(7, 300)), kT0 + 50s);
  ASSERT_EQ(list.entries().size(), 1u);
  EXPECT_EQ(list.entries()[0].preference, 7);
  EXPECT_EQ(list.entries()[0].expires, kT0 + 350s);
}

TEST(HomeAgentList, EntryExpiresWithItsLifetime_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1), ra(true, 100, std::nullopt), kT0);
  ASSERT_EQ(list.next_expiry(), kT0 + 100s);
  list.expire(kT0 + 99s);
  EXPECT_NE(list.find(link_local(1)), nullptr);
  list.expire(kT0 + 100s);
  EXPECT_EQ(list.find(link_local(1)), nullptr);
}

TEST(HomeAgentList, GlobalAddressesFromRBitPrefixOptions_10_5_1) {
  HomeAgentList list;
  auto on_link_only = router_address(addr("2001:db8:9::"));
  on_link_only.r = false;
  list.on_router_advertisement(
      link_local(1), ra(true, 1800, std::nullopt, {router_address(global(1)), on_link_only}), kT0);
  const auto* entry = list.find(link_local(1));
  ASSERT_NE(entry, nullptr);
  ASSERT_EQ(entry->global_addresses.size(), 1u);
  EXPECT_EQ(entry->global_addresses[0].address, global(1));
}

TEST(HomeAgentList, GlobalAddressLeavesWhenPrefixInvalid_10_5_1) {
  HomeAgentList list;
  list.on_router_advertisement(link_local(1),
                               ra(true, 1800, std::nullopt, {router_address(global(1), 60)}), kT0);
  list.expire(kT0 + 60s);
  ASSERT_NE(list.find(link_local(1)), nullptr);
  EXPECT_TRUE(list.find(link_local(1))->global_addresses.empty());
  list.on_router_advertisement(link_local(1),
                               ra(true, 1800, std::nullopt, {router_address(global(1))}), kT0);
  list.on_router_advertisement(link_local(1),
                               ra(true, 1800, std::nullopt, {router_address(global(1), 0)}), kT0);
  EXPECT_TRUE(list.find(link_local(1))->global_addresses.empty());
}

// --- §10.5.1 reply ordering -------------------------------------------------------------------

HomeAgentList list_of(const std::vector<std::uint16_t>& preferences) {
  HomeAgentList list;
  for (unsigned i = 0; i < preferences.size(); ++i) {
    list.on_router_advertisement(
        link_local(i + 1),
        ra(true, 1800, info(preferences[i], 1800), {router_address(global(i + 1))}), kT0);
  }
  return list;
}

TEST(HomeAgentList, ReplySortedByDecreasingPreference_10_5_1) {
  auto list = list_of({1, 9, 5, 9, 1, 5});
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    SplitMix64 rng(seed);
    auto reply = list.reply_addresses(rng, 100, kT0);
    ASSERT_EQ(reply.size(), 6u);
    std::vector<std::uint16_t> preferences;
    for (const auto& address : reply) {
      for (const auto& entry : list.entries()) {
        if (entry.global_addresses[0].address == address) preferences.push_back(entry.preference);
      }
    }
    EXPECT_TRUE(std::is_sorted(preferences.rbegin(), preferences.rend())) << seed;
  }
}

TEST(HomeAgentList, EqualPreferencesShuffledAcrossSeeds_10_5_1) {
  auto list = list_of({3, 3, 3, 3, 3});
  std::set<std::vector<Ipv6Address>> orders;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    SplitMix64 rng(seed);
    orders.insert(list.reply_addresses(rng, 100, kT0));
  }
  EXPECT_GT(orders.size(), 5u);
  SplitMix64 a(42);
  SplitMix64 b(42);
  EXPECT_EQ(list.reply_addresses(a, 100, kT0), list.reply_addresses(b, 100, kT0))
      << "same seed, same order";
}

TEST(HomeAgentList, SelfListedWithConfiguredPreference_10_5_1) {
  auto list = list_of({5});
  list.set_self({addr("2001:db8:1::ff")}, 10);
  SplitMix64 rng(1);
  auto reply = list.reply_addresses(rng, 100, kT0);
  ASSERT_EQ(reply.size(), 2u);
  EXPECT_EQ(reply[0], addr("2001:db8:1::ff"));
  EXPECT_EQ(reply[1], global(1));
}

TEST(HomeAgentList, OwnAddressHeardInOwnRaListedOnce_10_5_1) {
  auto list = list_of({5});
  list.set_self({global(1)}, 5);
  SplitMix64 rng(1);
  EXPECT_EQ(list.reply_addresses(rng, 100, kT0).size(), 1u);
}

TEST(HomeAgentList, ReplyTruncationKeepsMostPreferred_10_5_1) {
  auto list = list_of({1, 2, 3, 4});
  SplitMix64 rng(1);
  auto reply = list.reply_addresses(rng, 2, kT0);
  ASSERT_EQ(reply.size(), 2u);
  EXPECT_EQ(reply[0], global(4));
  EXPECT_EQ(reply[1], global(3));
}

// --- §10.5 DHAAD through the engine -----------------------------------------------------------

class DhaadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HomeAgentConfig config;
    config.home_ifindex = 2;
    config.addresses = {addr("2001:db8:1::1")};
    config.link_local_address = addr("fe80::1");
    config.prefixes = {
        HomePrefix{addr("2001:db8:1::"), 64, std::nullopt, std::nullopt, true, true}};
    config.preference = 20;
    ha_ = std::make_unique<HomeAgent>(config, cache_, rng_);
  }
  void feed(const wire::Bytes& bytes, std::uint32_t ifindex) {
    auto packet = make_rx_packet(bytes, ifindex);
    ASSERT_TRUE(packet.has_value());
    ha_->on_packet(*packet, kT0);
  }
  void hear_ra(unsigned n, std::uint16_t preference) {
    wire::Icmpv6Message message;
    message.body = ra(true, 1800, info(preference, 1800), {router_address(global(n + 100))});
    feed(build_icmpv6_packet(
             {link_local(n + 100), addr("ff02::1"), std::nullopt, std::nullopt, 255}, message),
         2);
  }
  wire::Bytes request(const Ipv6Address& destination) {
    wire::Icmpv6Message message;
    message.body = wire::HomeAgentAddressDiscoveryRequest{0x4242, 0};
    return build_icmpv6_packet(
        {addr("2001:db8:2::100"), destination, std::nullopt, std::nullopt, 64}, message);
  }
  std::vector<Transmit> transmits() {
    std::vector<Transmit> out;
    for (auto& action : ha_->take_actions()) {
      if (auto* transmit = std::get_if<Transmit>(&action)) out.push_back(std::move(*transmit));
    }
    return out;
  }

  BindingCache cache_{16};
  SplitMix64 rng_{3};
  std::unique_ptr<HomeAgent> ha_;
};

TEST_F(DhaadTest, RequestToAnycastAnsweredWithList_10_5) {
  hear_ra(1, 30);
  hear_ra(2, 10);
  feed(request(addr("2001:db8:1::fdff:ffff:ffff:fffe")), 1);
  auto out = transmits();
  ASSERT_EQ(out.size(), 1u);
  auto packet = *make_rx_packet(out[0].packet, 0);
  EXPECT_EQ(packet.layout.ipv6.destination, addr("2001:db8:2::100"));
  EXPECT_EQ(packet.layout.ipv6.source, addr("2001:db8:1::1"));
  auto message = *wire::decode_icmpv6(packet.upper());
  const auto& reply = std::get<wire::HomeAgentAddressDiscoveryReply>(message.body);
  EXPECT_EQ(reply.identifier, 0x4242);
  ASSERT_EQ(reply.home_agent_addresses.size(), 3u);
  EXPECT_EQ(reply.home_agent_addresses[0], global(101));            // preference 30
  EXPECT_EQ(reply.home_agent_addresses[1], addr("2001:db8:1::1"));  // ourselves, 20
  EXPECT_EQ(reply.home_agent_addresses[2], global(102));            // 10
  EXPECT_EQ(ha_->counters().ra_received, 2u);
}

TEST_F(DhaadTest, RequestNotToAnycastIgnored_10_5) {
  feed(request(addr("2001:db8:1::1")), 1);
  EXPECT_TRUE(transmits().empty());
  EXPECT_EQ(ha_->counters().dropped_dhaad_not_anycast, 1u);
}

TEST_F(DhaadTest, ReplyNeverExceedsMinimumMtu_10_5) {
  for (unsigned n = 1; n <= 120; ++n)
    hear_ra(n, static_cast<std::uint16_t>(n % 4));
  feed(request(addr("2001:db8:1::fdff:ffff:ffff:fffe")), 1);
  auto out = transmits();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_LE(out[0].packet.size(), kIpv6MinimumMtu);
  auto packet = *make_rx_packet(out[0].packet, 0);
  auto message = *wire::decode_icmpv6(packet.upper());
  const auto& reply = std::get<wire::HomeAgentAddressDiscoveryReply>(message.body);
  EXPECT_EQ(reply.home_agent_addresses.size(), (kIpv6MinimumMtu - 48) / 16);
  EXPECT_EQ(reply.home_agent_addresses[0], addr("2001:db8:1::1")) << "preference 20 is highest";
}

TEST_F(DhaadTest, RaOffHomeLinkOrNotLinkLocalIgnored_10_5_1) {
  wire::Icmpv6Message message;
  message.body = ra(true, 1800, std::nullopt);
  feed(build_icmpv6_packet({link_local(7), addr("ff02::1"), std::nullopt, std::nullopt, 255},
                           message),
       1);
  feed(build_icmpv6_packet({global(7), addr("ff02::1"), std::nullopt, std::nullopt, 255}, message),
       2);
  feed(build_icmpv6_packet({link_local(7), addr("ff02::1"), std::nullopt, std::nullopt, 64},
                           message),
       2);
  EXPECT_TRUE(ha_->home_agent_list().entries().empty());
  EXPECT_EQ(ha_->counters().dropped_bad_icmp, 3u);
}

}  // namespace
}  // namespace mipv6::core
