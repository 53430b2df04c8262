#include "sim/node.h"

#include <gtest/gtest.h>

#include "sim/link.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::make_packet;
using testing::RecordingNode;

TEST(Node, InterfacesAreNumberedFromOneAndNamed) {
  Scheduler s;
  RecordingNode n(s, "n");
  Interface& a = n.add_interface(MacAddress::synthetic(1));
  Interface& b = n.add_interface(MacAddress::synthetic(2), "wlan0");
  EXPECT_EQ(a.ifindex(), 1u);
  EXPECT_EQ(b.ifindex(), 2u);
  EXPECT_EQ(a.name(), "eth0");
  EXPECT_EQ(b.name(), "wlan0");
  EXPECT_EQ(n.interface(2), &b);
  EXPECT_EQ(n.interface(0), nullptr);
  EXPECT_EQ(n.interface(3), nullptr);
  EXPECT_FALSE(a.attached());
}

TEST(Node, AddressesAreOwnedPerInterfaceAndDefineOnLinkPrefixes) {
  Scheduler s;
  RecordingNode n(s, "n");
  Interface& a = n.add_interface(MacAddress::synthetic(1));
  a.add_address(addr("2001:db8:1::a"), 64);
  a.add_address(addr("2001:db8:1::a"), 64);  // once only
  EXPECT_EQ(a.addresses().size(), 1u);
  EXPECT_TRUE(n.owns_address(addr("2001:db8:1::a")));
  EXPECT_TRUE(a.on_link(addr("2001:db8:1::ffff")));
  EXPECT_FALSE(a.on_link(addr("2001:db8:2::1")));
  EXPECT_TRUE(a.remove_address(addr("2001:db8:1::a")));
  EXPECT_FALSE(a.remove_address(addr("2001:db8:1::a")));
  EXPECT_FALSE(n.owns_address(addr("2001:db8:1::a")));
}

TEST(Node, SendIpv6MapsMulticastAndResolvesUnicastFromTheLink) {
  Scheduler s;
  Link link(s, "lan", LinkParams{}, 1);
  RecordingNode a(s, "a"), b(s, "b");
  Interface& ia = a.add_interface(MacAddress::synthetic(1));
  Interface& ib = b.add_interface(MacAddress::synthetic(2));
  ib.add_address(addr("2001:db8::b"));
  auto packet = make_packet(addr("2001:db8::a"), addr("2001:db8::b"));
  EXPECT_FALSE(ia.send_ipv6(addr("2001:db8::b"), packet));  // not attached
  link.attach(ia);
  link.attach(ib);
  EXPECT_TRUE(ia.send_ipv6(addr("2001:db8::b"), packet));
  EXPECT_TRUE(ia.send_ipv6(addr("ff02::1"), packet));
  EXPECT_FALSE(ia.send_ipv6(addr("2001:db8::c"), packet));  // no such neighbour
  s.run_all();
  ASSERT_EQ(b.received.size(), 2u);
  EXPECT_EQ(b.received[0].frame.destination, ib.mac());
  EXPECT_EQ(b.received[1].frame.destination.to_string(), "33:33:00:00:00:01");
  EXPECT_EQ(b.received[0].frame.packet, packet);
}

TEST(Node, DestroyedInterfaceLeavesItsLinkWithoutCallbacks) {
  Scheduler s;
  Link link(s, "lan", LinkParams{}, 1);
  {
    RecordingNode n(s, "n");
    Interface& i = n.add_interface(MacAddress::synthetic(1));
    i.add_address(addr("2001:db8::1"));
    link.attach(i);
    EXPECT_EQ(link.attached_count(), 1u);
  }
  EXPECT_EQ(link.attached_count(), 0u);
  EXPECT_EQ(link.resolve(addr("2001:db8::1")), std::nullopt);
}

}  // namespace
}  // namespace mipv6::sim
