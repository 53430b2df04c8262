#include "core/source_selection.h"

#include <gtest/gtest.h>

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kResolver = addr("2001:db8:2::53");

TEST(SourceSelection, EmptyRuleMatchesEverything_draft04_9_1) {
  EXPECT_TRUE(rule_matches(SourceRule{}, kResolver, 6, 443));
}

TEST(SourceSelection, EveryFieldSetMustMatch_draft04_9_1) {
  SourceRule dns{addr("2001:db8:2::"), 64, 17, 53};
  EXPECT_TRUE(rule_matches(dns, kResolver, 17, 53));
  EXPECT_FALSE(rule_matches(dns, addr("2001:db8:3::53"), 17, 53));
  EXPECT_FALSE(rule_matches(dns, kResolver, 6, 53));
  EXPECT_FALSE(rule_matches(dns, kResolver, 17, 54));
}

TEST(SourceSelection, PortOnlyRuleIgnoresDestination_draft04_9_1) {
  SourceRule port{std::nullopt, 128, std::nullopt, 53};
  EXPECT_TRUE(rule_matches(port, addr("2001:db8:99::1"), 6, 53));
  EXPECT_FALSE(rule_matches(port, addr("2001:db8:99::1"), 6, 80));
}

TEST(SourceSelection, NoRulesMeansHomeAddress_SEEDS_3_2_6) {
  EXPECT_FALSE(prefers_care_of(SourceSelectionConfig{}, kResolver, 17, 53));
}

TEST(SourceSelection, AnyMatchingRulePrefersCareOf_draft04_9_1) {
  SourceSelectionConfig config;
  config.care_of_rules = {SourceRule{std::nullopt, 128, 17, 53},
                          SourceRule{addr("2001:db8:2::"), 64, std::nullopt, std::nullopt}};
  EXPECT_TRUE(prefers_care_of(config, addr("2001:db8:2::80"), 6, 80));
  EXPECT_TRUE(prefers_care_of(config, addr("2001:db8:7::1"), 17, 53));
  EXPECT_FALSE(prefers_care_of(config, addr("2001:db8:7::1"), 6, 80));
}

TEST(Multicast, DefaultModeWithoutRules_draft04_10) {
  MulticastConfig config;
  EXPECT_EQ(multicast_mode(config, addr("ff0e::1")), MulticastMode::kLocal);
  config.default_mode = MulticastMode::kHomeTunnel;
  EXPECT_EQ(multicast_mode(config, addr("ff0e::1")), MulticastMode::kHomeTunnel);
}

TEST(Multicast, FirstMatchingRuleWins_draft04_10) {
  MulticastConfig config;
  config.rules = {MulticastRule{addr("ff0e::1"), 128, MulticastMode::kHomeTunnel},
                  MulticastRule{addr("ff0e::"), 16, MulticastMode::kLocal}};
  config.default_mode = MulticastMode::kHomeTunnel;
  EXPECT_EQ(multicast_mode(config, addr("ff0e::1")), MulticastMode::kHomeTunnel);
  EXPECT_EQ(multicast_mode(config, addr("ff0e::2")), MulticastMode::kLocal);
  EXPECT_EQ(multicast_mode(config, addr("ff05::2")), MulticastMode::kHomeTunnel);
}

}  // namespace
}  // namespace mipv6::core
