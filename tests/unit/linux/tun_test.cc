// TUN devices against the real kernel, in a network namespace the test creates and removes:
// the device exists while its descriptor is open, a packet written into it is routed by the
// kernel, and what the kernel routes to it is read back whole.
#include "linux/tun.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "wire/checksum.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;
using test_util::shell;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint8_t kIcmpv6 = 58;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kEchoRequest = 128;
constexpr std::uint8_t kEchoReply = 129;

// IPv6 header + upper-layer bytes, with the upper-layer checksum filled at `checksum_offset`.
wire::Bytes ipv6_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                        std::uint8_t next_header, wire::Bytes upper, std::size_t checksum_offset) {
  std::uint16_t checksum = wire::upper_layer_checksum(source, destination, next_header, upper);
  wire::store_be16(upper.data() + checksum_offset, checksum);
  wire::Bytes packet;
  wire::Writer w(packet);
  w.u32(0x60000000);
  w.u16(static_cast<std::uint16_t>(upper.size()));
  w.u8(next_header);
  w.u8(64);
  w.address(source);
  w.address(destination);
  w.bytes(upper);
  return packet;
}

class TunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: TUN tests need root, SKIPPED !!!";
    auto ns = NetworkNamespace::create("mipv6t-" + std::to_string(::getpid()) + "-tun");
    ASSERT_TRUE(ns) << ns.error().message;
    ns_.emplace(std::move(*ns));
    auto guard = NamespaceGuard::enter(*ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    auto netlink = Netlink::open();
    ASSERT_TRUE(netlink) << netlink.error().message;
    netlink_.emplace(std::move(*netlink));
    // Local delivery in a fresh namespace needs the loopback device up.
    auto lo = netlink_->link_index("lo");
    ASSERT_TRUE(lo);
    ASSERT_TRUE(netlink_->set_link_up(*lo, true));
  }

  void TearDown() override {
    netlink_.reset();
    guard_.reset();
    if (ns_) {
      auto s = ns_->remove();
      EXPECT_TRUE(s) << s.error().message;
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-")));
  }

  // A TUN, up, holding local/64 (no DAD), with `routed`/64 routed into it as well. Returns once
  // the address's local route is in place: the kernel installs it from a work queue after
  // RTM_NEWADDR is acknowledged, so a packet written at once could still find no local route.
  TunDevice make_tun(const wire::Ipv6Address& local, const wire::Ipv6Address& routed) {
    auto monitor = NetlinkMonitor::open();
    EXPECT_TRUE(monitor) << monitor.error().message;
    auto tun = TunDevice::create("mtun%d");
    EXPECT_TRUE(tun) << tun.error().message;
    EXPECT_TRUE(tun->set_mtu(1400));
    EXPECT_TRUE(netlink_->set_link_up(tun->ifindex(), true));
    EXPECT_TRUE(netlink_->add_address(
        AddressSpec{.ifindex = tun->ifindex(), .address = local, .flags = address_flags::kNoDad}));
    EXPECT_TRUE(netlink_->add_route(
        RouteSpec{.destination = routed, .prefix_length = 64, .ifindex = tun->ifindex()}));
    EXPECT_TRUE(wait_for_local_route(*monitor, local))
        << "no local route for " << local.to_string();
    return std::move(*tun);
  }

  static bool wait_for_local_route(NetlinkMonitor& monitor, const wire::Ipv6Address& local) {
    constexpr std::uint32_t kLocalTable = 255;
    for (int i = 0; i < 100; ++i) {
      pollfd pfd{monitor.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 2000) != 1) return false;
      auto events = monitor.read_events();
      if (!events) return false;
      for (const auto& e : *events) {
        const auto* r = std::get_if<RouteEvent>(&e);
        if (r != nullptr && r->added && r->table == kLocalTable && r->destination == local &&
            r->prefix_length == 128)
          return true;
      }
    }
    return false;
  }

  // Reads packets from the TUN until one satisfies `match` (the kernel also sends its own:
  // MLD reports, Router Solicitations); nullopt after two seconds without one.
  template <class Match>
  std::optional<wire::Bytes> read_until(TunDevice& tun, Match match) {
    std::array<std::byte, 2048> buffer{};
    for (int i = 0; i < 50; ++i) {
      pollfd pfd{tun.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 2000) != 1) return std::nullopt;
      auto n = tun.read(buffer);
      if (!n) return std::nullopt;
      wire::Bytes packet(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*n));
      if (match(packet)) return packet;
    }
    return std::nullopt;
  }

  std::optional<NetworkNamespace> ns_;
  std::optional<NamespaceGuard> guard_;
  std::optional<Netlink> netlink_;
};

TEST_F(TunTest, DeviceHasTheRequestedNameAndMtuAndVanishesWhenClosed) {
  std::uint32_t ifindex = 0;
  {
    auto tun = TunDevice::create("mtun%d");
    ASSERT_TRUE(tun) << tun.error().message;
    EXPECT_EQ(tun->name(), "mtun0");
    ifindex = tun->ifindex();
    ASSERT_TRUE(tun->set_mtu(1280));
    auto link = netlink_->link(ifindex);
    ASSERT_TRUE(link) << link.error().message;
    EXPECT_EQ(link->name, "mtun0");
    EXPECT_EQ(link->mtu, 1280u);
    // Nothing queued yet: a nonblocking read says so instead of blocking.
    std::array<std::byte, 64> buffer{};
    auto n = tun->read(buffer);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().code, EAGAIN);
  }
  // Not persistent: closing the descriptor deleted the device.
  EXPECT_EQ(netlink_->link(ifindex).error().code, ENODEV);
}

TEST_F(TunTest, OverlongNameIsRefused) {
  auto tun = TunDevice::create("a-name-longer-than-ifnamsiz");
  ASSERT_FALSE(tun);
  EXPECT_EQ(tun.error().code, ENAMETOOLONG);
}

TEST_F(TunTest, PacketWrittenIntoTheTunIsRoutedByTheKernel) {
  const auto local = addr("2001:db8:5::1");
  const auto peer = addr("2001:db8:5::2");
  TunDevice tun = make_tun(local, addr("2001:db8:6::"));
  // An Echo Request from a (virtual) peer behind the TUN to the TUN's own address: the kernel
  // accepts it as arriving on the device and routes its Echo Reply back out through it.
  wire::Bytes echo = {std::byte{kEchoRequest}, std::byte{0},    std::byte{0},   std::byte{0},
                      std::byte{0x12},         std::byte{0x34}, std::byte{0},   std::byte{1},
                      std::byte{'m'},          std::byte{'i'},  std::byte{'p'}, std::byte{'6'}};
  ASSERT_TRUE(tun.write(ipv6_packet(peer, local, kIcmpv6, echo, 2)));
  auto reply = read_until(tun, [](const wire::Bytes& p) {
    return p.size() >= 48 && std::to_integer<std::uint8_t>(p[6]) == kIcmpv6 &&
           std::to_integer<std::uint8_t>(p[40]) == kEchoReply;
  });
  ASSERT_TRUE(reply) << "no Echo Reply came out of the TUN";
  wire::Reader r(*reply);
  ASSERT_TRUE(r.skip(8));
  EXPECT_EQ(*r.address(), local);
  EXPECT_EQ(*r.address(), peer);
  ASSERT_EQ(reply->size(), 40u + echo.size());
  // Identifier, sequence number and data are echoed (RFC 4443 §4.2).
  EXPECT_TRUE(std::equal(echo.begin() + 4, echo.end(), reply->begin() + 44));
  EXPECT_EQ(wire::upper_layer_checksum(local, peer, kIcmpv6, wire::ByteSpan(*reply).subspan(40)),
            0);
}

TEST_F(TunTest, DatagramSentToTheTunsRouteIsReadBackWhole) {
  const auto local = addr("2001:db8:5::1");
  const auto remote = addr("2001:db8:6::9");
  TunDevice tun = make_tun(local, addr("2001:db8:6::"));
  int s = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  UniqueFd socket(s);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(4242);
  std::memcpy(&to.sin6_addr, remote.bytes.data(), 16);
  const char payload[] = "through the tun";
  ASSERT_EQ(
      ::sendto(s, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(sizeof payload));
  auto packet = read_until(tun, [](const wire::Bytes& p) {
    return p.size() >= 48 && std::to_integer<std::uint8_t>(p[6]) == kUdp;
  });
  ASSERT_TRUE(packet) << "the UDP datagram did not come out of the TUN";
  ASSERT_EQ(packet->size(), 40u + 8u + sizeof payload);
  wire::Reader r(*packet);
  ASSERT_TRUE(r.skip(8));
  EXPECT_EQ(*r.address(), local);  // the kernel chose the TUN's address as source
  EXPECT_EQ(*r.address(), remote);
  ASSERT_TRUE(r.skip(2));
  EXPECT_EQ(*r.u16(), 4242);
  EXPECT_EQ(std::memcmp(packet->data() + 48, payload, sizeof payload), 0);
}

TEST_F(TunTest, WriteOfAGarbagePacketIsReportedOrDroppedNotFatal) {
  auto tun = TunDevice::create("mtun%d");
  ASSERT_TRUE(tun);
  ASSERT_TRUE(netlink_->set_link_up(tun->ifindex(), true));
  // Not an IPv4 or IPv6 header: the kernel refuses or drops it; the device keeps working.
  wire::Bytes garbage(20, std::byte{0xFF});
  auto s = tun->write(garbage);
  if (!s) {
    EXPECT_EQ(s.error().code, EINVAL) << s.error().message;
  }
  auto link = netlink_->link(tun->ifindex());
  ASSERT_TRUE(link);
  EXPECT_TRUE(link->up);
}

}  // namespace
}  // namespace mipv6::linux_dp
