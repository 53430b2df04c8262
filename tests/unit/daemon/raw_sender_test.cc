// RawSender's tunnel output (issue 8): with direct output, batches of IPv6-in-IPv6 packets go
// straight to a reachable next hop through a packet socket; what has no usable next hop or does
// not fit its MTU goes through the kernel's output. Either way every packet arrives, whole and
// in order — checked by a protocol-41 raw socket in the namespace of the tunnel's exit point.
#include "daemon/raw_sender.h"

#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "../linux/linux_test_util.h"
#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux/unique_fd.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using linux_dp::NamespaceGuard;
using linux_dp::test_util::addr;

constexpr const char* kHomeAgent = "2001:db8:a::1";
constexpr const char* kCareOf = "2001:db8:a::2";

class RawSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "!!! NOT ROOT: RawSender tests need root (namespaces), SKIPPED !!!";
    ASSERT_NO_FATAL_FAILURE(pair_.create("rs", kHomeAgent, kCareOf));
    auto guard = NamespaceGuard::enter(pair_.b());
    ASSERT_TRUE(guard);
    exit_point_ = linux_dp::UniqueFd(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_IPV6));
    ASSERT_TRUE(exit_point_.valid());
    // Room for every packet of a test's burst (the default buffer holds about 90 of 1,400 o).
    const int buffer = 8 << 20;
    ASSERT_EQ(::setsockopt(exit_point_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer),
              0);
  }

  // Inner packets of `sizes` octets (UDP, each with its number in its first payload octet),
  // encapsulated from the home agent to the care-of address (RFC 2473 §3).
  static std::vector<wire::Bytes> tunnel_packets(const std::vector<std::size_t>& sizes) {
    std::vector<wire::Bytes> packets;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      wire::PacketSpec spec;
      spec.header.source = addr("2001:db8:3::2");
      spec.header.destination = addr("2001:db8:1::100");
      spec.upper_protocol = wire::ip_proto::kUdp;
      spec.upper.assign(sizes[i], std::byte{0});
      spec.upper[4] = std::byte{static_cast<std::uint8_t>(sizes[i] >> 8)};
      spec.upper[5] = std::byte{static_cast<std::uint8_t>(sizes[i])};
      spec.upper[8] = std::byte{static_cast<std::uint8_t>(i)};
      packets.push_back(wire::encapsulate(
          wire::build_packet(spec), {.source = addr(kHomeAgent), .destination = addr(kCareOf)}));
    }
    return packets;
  }

  // Sends `packets` from the home agent's namespace with one send_batch(); its RawSender's
  // sent_direct() afterwards.
  std::uint64_t send(const std::vector<wire::Bytes>& packets, bool direct, bool resolved) {
    auto guard = NamespaceGuard::enter(pair_.a());
    EXPECT_TRUE(guard);
    if (resolved) linux_dp::test_util::resolve_neighbor("va", kCareOf);
    auto sender = RawSender::open();
    EXPECT_TRUE(sender) << sender.error().message;
    if (!sender) return 0;
    if (direct) {
      auto used = sender->use_direct_tunnel_output();
      EXPECT_TRUE(used) << used.error().message;
    }
    std::vector<wire::ByteSpan> spans(packets.begin(), packets.end());
    EXPECT_EQ(sender->send_batch(spans), packets.size());
    EXPECT_EQ(sender->sent(), packets.size());
    EXPECT_EQ(sender->failed(), 0u);
    return sender->sent_direct();
  }

  // What the exit point receives: each packet's payload (the inner packet) in arrival order.
  std::vector<wire::Bytes> received(std::size_t count) {
    std::vector<wire::Bytes> inner;
    std::vector<std::byte> buffer(65536);
    while (inner.size() < count) {
      pollfd pfd{exit_point_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 2000) != 1) break;
      const auto n = ::recv(exit_point_.get(), buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      inner.emplace_back(buffer.begin(), buffer.begin() + n);
    }
    return inner;
  }

  void expect_arrived_in_order(const std::vector<wire::Bytes>& sent) {
    const auto inner = received(sent.size());
    ASSERT_EQ(inner.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
      auto expected = wire::decapsulate(sent[i]);
      ASSERT_TRUE(expected);
      EXPECT_TRUE(std::equal(inner[i].begin(), inner[i].end(), expected->begin(), expected->end()))
          << "packet " << i;
    }
  }

  linux_dp::test_util::VethPair pair_;
  linux_dp::UniqueFd exit_point_;
};

TEST_F(RawSenderTest, TunnelPacketsGoStraightToAReachableNextHopAndArriveIntact_RFC2473_3) {
  const auto packets = tunnel_packets(std::vector<std::size_t>(100, 1400));
  EXPECT_EQ(send(packets, /*direct=*/true, /*resolved=*/true), 100u);
  expect_arrived_in_order(packets);
}

// Nothing resolved yet: the kernel's output sends them (and resolves the neighbour).
TEST_F(RawSenderTest, WithoutAResolvedNeighbourTheKernelSendsThem_RFC4861_7_2_2) {
  const auto packets = tunnel_packets(std::vector<std::size_t>(5, 200));
  EXPECT_EQ(send(packets, /*direct=*/true, /*resolved=*/false), 0u);
  expect_arrived_in_order(packets);
}

// Larger than the route's MTU (1,280 here, the veth's is 1,500): the kernel fragments it (RFC
// 2473 §7); it and what follows it in the run go that way, so that the order holds.
TEST_F(RawSenderTest, PacketLargerThanTheNextHopsMtuGoesThroughTheKernel_RFC2473_7) {
  {
    auto guard = NamespaceGuard::enter(pair_.a());
    ASSERT_EQ(std::system("ip -6 route add 2001:db8:a::2/128 dev va mtu 1280"), 0);
  }
  const auto packets = tunnel_packets({1000, 1000, 1300, 1000});
  EXPECT_EQ(send(packets, /*direct=*/true, /*resolved=*/true), 2u);
  expect_arrived_in_order(packets);
}

TEST_F(RawSenderTest, WithoutDirectOutputEveryTunnelPacketGoesThroughTheKernel) {
  const auto packets = tunnel_packets(std::vector<std::size_t>(10, 500));
  EXPECT_EQ(send(packets, /*direct=*/false, /*resolved=*/true), 0u);
  expect_arrived_in_order(packets);
}

}  // namespace
}  // namespace mipv6::daemon
