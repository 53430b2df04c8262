#include "sim/mac.h"

#include <gtest/gtest.h>

#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;

TEST(MacAddress, Ipv6MulticastMapsTo3333AndLastFourOctets_Rfc2464_7) {
  EXPECT_EQ(MacAddress::for_ipv6_multicast(addr("ff02::1")).to_string(), "33:33:00:00:00:01");
  EXPECT_EQ(MacAddress::for_ipv6_multicast(addr("ff02::1:ff12:3456")).to_string(),
            "33:33:ff:12:34:56");
  EXPECT_TRUE(MacAddress::for_ipv6_multicast(addr("ff02::2")).is_multicast());
}

TEST(MacAddress, SyntheticAddressesAreLocallyAdministeredUnicast) {
  MacAddress m = MacAddress::synthetic(0x01020304);
  EXPECT_EQ(m.to_string(), "02:00:01:02:03:04");
  EXPECT_FALSE(m.is_multicast());
  EXPECT_NE(MacAddress::synthetic(1), MacAddress::synthetic(2));
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
}

TEST(MacAddress, HashDistinguishesAddresses) {
  std::hash<MacAddress> h;
  EXPECT_NE(h(MacAddress::synthetic(1)), h(MacAddress::synthetic(2)));
}

TEST(Frame, EthernetEncodingIsDestinationSourceEtherType86ddPacket_Rfc2464_3) {
  Frame f{MacAddress::synthetic(2), MacAddress::synthetic(1), {std::byte{0x60}, std::byte{0}}};
  EXPECT_EQ(f.wire_size(), 16u);
  wire::Bytes out;
  append_ethernet_frame(out, f);
  ASSERT_EQ(out.size(), 16u);
  EXPECT_EQ(out[5], std::byte{2});
  EXPECT_EQ(out[11], std::byte{1});
  EXPECT_EQ(out[12], std::byte{0x86});
  EXPECT_EQ(out[13], std::byte{0xdd});
  EXPECT_EQ(out[14], std::byte{0x60});
}

}  // namespace
}  // namespace mipv6::sim
