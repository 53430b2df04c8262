#include "wire/address.h"

#include <gtest/gtest.h>

namespace mipv6::wire {
namespace {

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

TEST(Ipv6Address, ParsesAndPrintsCanonicalForm_RFC5952) {
  EXPECT_EQ(addr("2001:0db8:0000:0000:0000:0000:0000:0001").to_string(), "2001:db8::1");
  EXPECT_EQ(addr("::").to_string(), "::");
  EXPECT_EQ(addr("::1").to_string(), "::1");
  EXPECT_EQ(addr("fe80::").to_string(), "fe80::");
  EXPECT_EQ(addr("2001:db8:0:1:1:1:1:1").to_string(), "2001:db8:0:1:1:1:1:1");  // no lone ::
  EXPECT_EQ(addr("2001:0:0:1:0:0:0:1").to_string(), "2001:0:0:1::1");           // longest run
  EXPECT_EQ(addr("::ffff:192.0.2.1").to_string(), "::ffff:c000:201");
}

TEST(Ipv6Address, RejectsMalformedText) {
  for (const char* bad : {"", ":", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7",
                          "1:2:3:4:5:6:7:8:9", "::1.2.3", "::256.1.1.1", "1:2:3:4:5:6:7:8::"}) {
    EXPECT_FALSE(Ipv6Address::parse(bad).has_value()) << bad;
  }
}

TEST(Ipv6Address, ClassifiesUnicastRoutable_6275_6_1_7) {
  EXPECT_TRUE(addr("2001:db8::1").is_unicast_routable());
  EXPECT_TRUE(addr("fd00::1").is_unicast_routable());
  EXPECT_FALSE(addr("::").is_unicast_routable());
  EXPECT_FALSE(addr("::1").is_unicast_routable());
  EXPECT_FALSE(addr("ff02::1").is_unicast_routable());
  EXPECT_FALSE(addr("fe80::1").is_unicast_routable());
  EXPECT_TRUE(addr("fd00::1").is_unique_local());
}

TEST(Ipv6Address, ScopeForTheHomeVsCareOfTest_6275_6_4) {
  EXPECT_EQ(addr("fe80::1").scope(), 2);
  EXPECT_EQ(addr("2001:db8::1").scope(), 14);
  EXPECT_EQ(addr("ff05::2").scope(), 5);
}

TEST(Ipv6Address, PrefixMatch) {
  EXPECT_TRUE(addr("2001:db8:1::100").in_prefix(addr("2001:db8:1::"), 64));
  EXPECT_FALSE(addr("2001:db8:2::100").in_prefix(addr("2001:db8:1::"), 64));
  EXPECT_TRUE(addr("2001:db8:1::100").in_prefix(addr("2001:db8::"), 47));
  EXPECT_FALSE(addr("2001:db8:1::100").in_prefix(addr("2001:db8::"), 48));
  EXPECT_FALSE(addr("::").in_prefix(addr("::"), 129));
}

}  // namespace
}  // namespace mipv6::wire
