// NextHopCache and the two rtnetlink questions it asks (Netlink::route_to, Netlink::neighbor),
// against the real kernel: namespaces A and B joined by a veth (va, vb), each test's own. What
// the kernel decides is set up with iproute2 and a datagram that makes it resolve B,
// independently of our own requests.
#include "linux/next_hop.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux_test_util.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;
using test_util::shell;
using namespace std::chrono_literals;

constexpr const char* kA = "2001:db8:9::1";
constexpr const char* kB = "2001:db8:9::2";
constexpr const char* kBeyondB = "2001:db8:99::5";  // behind B, when a test routes it there

class NextHopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "!!! NOT ROOT: next-hop tests need root (namespaces), SKIPPED !!!";
    ASSERT_NO_FATAL_FAILURE(pair_.create("nh", kA, kB));
    auto guard = NamespaceGuard::enter(pair_.a());
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    auto netlink = Netlink::open();
    ASSERT_TRUE(netlink) << netlink.error().message;
    netlink_.emplace(std::move(*netlink));
    va_ = ::if_nametoindex("va");
    ASSERT_NE(va_, 0u);
    b_mac_ = b_link_layer_address();
  }

  void TearDown() override {
    netlink_.reset();
    guard_.reset();
  }

  core::LinkLayerAddress b_link_layer_address() {
    auto guard = NamespaceGuard::enter(pair_.b());
    EXPECT_TRUE(guard);
    auto netlink = Netlink::open();
    EXPECT_TRUE(netlink);
    auto link = netlink->link(::if_nametoindex("vb"));
    EXPECT_TRUE(link && link->link_layer_address);
    return link && link->link_layer_address ? *link->link_layer_address : core::LinkLayerAddress{};
  }

  // Commands run in A (the test's current namespace).
  void in_a(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }
  void resolve_b() { test_util::resolve_neighbor("va", kB); }
  void route_beyond_b(const std::string& extra = "") {
    in_a("ip -6 route add 2001:db8:99::/64 via " + std::string(kB) + " dev va " + extra);
  }

  NextHopCache cache() {
    auto netlink = Netlink::open();
    EXPECT_TRUE(netlink);
    return NextHopCache(std::move(*netlink), 0);
  }

  test_util::VethPair pair_;
  std::optional<NamespaceGuard> guard_;
  std::optional<Netlink> netlink_;
  std::uint32_t va_ = 0;
  core::LinkLayerAddress b_mac_{};
  core::TimePoint t0_{};
};

// --- Netlink::route_to (RTM_GETROUTE) ---

TEST_F(NextHopTest, RouteToAnOnLinkAddressNamesTheDeviceAndNoGateway) {
  auto route = netlink_->route_to(RouteQuery{.destination = addr(kB)});
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->type, RTN_UNICAST);
  EXPECT_EQ(route->ifindex, va_);
  EXPECT_FALSE(route->gateway);
  EXPECT_EQ(route->mtu, 0u);
}

TEST_F(NextHopTest, RouteThroughARouterNamesTheGatewayAndTheRoutesMtu) {
  route_beyond_b("mtu 1400");
  auto route = netlink_->route_to(RouteQuery{.destination = addr(kBeyondB)});
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->ifindex, va_);
  ASSERT_TRUE(route->gateway);
  EXPECT_EQ(*route->gateway, addr(kB));
  EXPECT_EQ(route->mtu, 1400u);
}

TEST_F(NextHopTest, RouteToNowhereIsAnError) {
  auto route = netlink_->route_to(RouteQuery{.destination = addr("2001:db8:77::1")});
  ASSERT_FALSE(route);
  EXPECT_NE(route.error().message.find("RTM_GETROUTE 2001:db8:77::1"), std::string::npos);
}

TEST_F(NextHopTest, RouteToALocalAddressIsLocal) {
  auto route = netlink_->route_to(RouteQuery{.destination = addr(kA)});
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->type, RTN_LOCAL);
}

// The daemon's packets carry a mark that its policy rule routes by the main table (role.h): the
// question must carry it too.
TEST_F(NextHopTest, RouteQueryCarriesTheMarkThePolicyRulesMatch) {
  route_beyond_b();
  in_a("ip -6 route add 2001:db8:99::/64 dev va table 100");
  in_a("ip -6 rule add fwmark 0x42 lookup 100 priority 100");
  auto marked = netlink_->route_to(RouteQuery{.destination = addr(kBeyondB), .mark = 0x42});
  auto unmarked = netlink_->route_to(RouteQuery{.destination = addr(kBeyondB)});
  ASSERT_TRUE(marked && unmarked);
  EXPECT_FALSE(marked->gateway);
  EXPECT_TRUE(unmarked->gateway);
}

// --- Netlink::neighbor (RTM_GETNEIGH) ---

TEST_F(NextHopTest, NeighbourIsAbsentUntilResolvedThenReachableWithItsAddress) {
  auto before = netlink_->neighbor(va_, addr(kB));
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_FALSE(*before);
  ASSERT_NO_FATAL_FAILURE(resolve_b());
  auto after = netlink_->neighbor(va_, addr(kB));
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->state, NUD_REACHABLE);
  ASSERT_TRUE((*after)->link_address);
  EXPECT_EQ(*(*after)->link_address, b_mac_);
}

// --- NextHopCache ---

// No entry yet: the kernel's output must send, which resolves the address (RFC 4861 §7.2.2).
TEST_F(NextHopTest, UnresolvedNeighbourLeavesThePacketToTheKernel_RFC4861_7_2_2) {
  auto next_hops = cache();
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kB), t0_));
}

TEST_F(NextHopTest, ReachableNeighbourGivesTheDeviceItsLinkLayerAddressAndMtu) {
  ASSERT_NO_FATAL_FAILURE(resolve_b());
  auto next_hops = cache();
  auto hop = next_hops.find(addr(kA), addr(kB), t0_);
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->ifindex, va_);
  EXPECT_EQ(hop->link_address, b_mac_);
  EXPECT_EQ(hop->mtu, 1500u);
}

TEST_F(NextHopTest, DestinationBehindARouterGoesToTheRoutersAddressWithinTheRoutesMtu) {
  route_beyond_b("mtu 1400");
  ASSERT_NO_FATAL_FAILURE(resolve_b());
  auto next_hops = cache();
  auto hop = next_hops.find(addr(kA), addr(kBeyondB), t0_);
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->link_address, b_mac_);
  EXPECT_EQ(hop->mtu, 1400u);
}

// A STALE entry is only confirmed when the kernel uses it (RFC 4861 §7.3.3): the first answer
// after asking sends one packet the kernel's way, later ones go direct.
TEST_F(NextHopTest, StaleNeighbourSendsOnceThroughTheKernelThenDirect_RFC4861_7_3_3) {
  in_a("ip -6 neigh replace " + std::string(kB) + " lladdr " +
       shell("ip netns exec " + pair_.b().name() + " cat /sys/class/net/vb/address").substr(0, 17) +
       " nud stale dev va");
  auto next_hops = cache();
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kB), t0_));
  auto hop = next_hops.find(addr(kA), addr(kB), t0_ + 1ms);
  ASSERT_TRUE(hop);
  EXPECT_EQ(hop->link_address, b_mac_);
}

TEST_F(NextHopTest, AnswerIsKeptForMaxAgeThenAskedAgainOrAtOnceAfterClear) {
  auto next_hops = cache();
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kB), t0_));
  ASSERT_NO_FATAL_FAILURE(resolve_b());
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kB), t0_ + NextHopCache::kMaxAge - 1ms));
  EXPECT_TRUE(next_hops.find(addr(kA), addr(kB), t0_ + NextHopCache::kMaxAge));
  // The route changes (to one that names no usable neighbour): seen at once after clear().
  in_a("ip -6 route add " + std::string(kB) + "/128 via 2001:db8:9::3 dev va");
  EXPECT_TRUE(next_hops.find(addr(kA), addr(kB), t0_ + NextHopCache::kMaxAge + 1ms));
  next_hops.clear();
  EXPECT_EQ(next_hops.size(), 0u);
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kB), t0_ + NextHopCache::kMaxAge + 2ms));
}

TEST_F(NextHopTest, LocalAndUnroutableDestinationsHaveNoNextHop) {
  auto next_hops = cache();
  EXPECT_FALSE(next_hops.find(addr(kA), addr(kA), t0_));
  EXPECT_FALSE(next_hops.find(addr(kA), addr("2001:db8:77::1"), t0_));
}

// A TUN device has no link-layer addresses: only the kernel's output can send there.
TEST_F(NextHopTest, DeviceWithoutLinkLayerAddressesHasNoNextHop) {
  in_a(
      "ip tuntap add mode tun name nt0 && ip link set nt0 up && "
      "ip -6 route add 2001:db8:55::/64 dev nt0");
  auto next_hops = cache();
  EXPECT_FALSE(next_hops.find(addr(kA), addr("2001:db8:55::1"), t0_));
}

// Many care-of addresses (a flood of them) do not grow the cache without bound.
TEST_F(NextHopTest, CacheHoldsAtMostItsCapacity) {
  auto next_hops = cache();
  for (std::size_t i = 0; i <= NextHopCache::kCapacity; ++i) {
    wire::Ipv6Address destination = addr(kB);
    destination.bytes[14] = static_cast<std::uint8_t>(i >> 8);
    destination.bytes[15] = static_cast<std::uint8_t>(i);
    (void)next_hops.find(addr(kA), destination, t0_ + std::chrono::milliseconds(i));
  }
  EXPECT_LE(next_hops.size(), NextHopCache::kCapacity);
  EXPECT_GT(next_hops.size(), 0u);
}

}  // namespace
}  // namespace mipv6::linux_dp
