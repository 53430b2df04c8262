// LinkSender (AF_PACKET): a packet sent to a link-layer address reaches that host without any
// neighbour resolution (RFC 6275 §10.3.2, §11.5.5 step 3), and to another address it does not.
#include "linux/packet_socket.h"

#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <gtest/gtest.h>

#include "core/signalling.h"
#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux/unique_fd.h"
#include "linux_test_util.h"
#include "wire/packet.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;

class LinkSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "!!! NOT ROOT: packet socket tests need root, SKIPPED !!!";
    ASSERT_NO_FATAL_FAILURE(pair_.create("ls", "2001:db8:8::1", "2001:db8:8::2"));
    auto guard = NamespaceGuard::enter(pair_.b());
    ASSERT_TRUE(guard);
    auto netlink = Netlink::open();
    ASSERT_TRUE(netlink);
    auto index = netlink->link_index("vb");
    ASSERT_TRUE(index);
    auto link = netlink->link(*index);
    ASSERT_TRUE(link && link->link_layer_address);
    b_mac_ = *link->link_layer_address;
    // A UDP socket in B on port 9000 of its address.
    udp_ = UniqueFd(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(udp_.valid());
    sockaddr_in6 local{};
    local.sin6_family = AF_INET6;
    local.sin6_port = htons(9000);
    const auto b = addr("2001:db8:8::2");
    std::copy(b.bytes.begin(), b.bytes.end(), local.sin6_addr.s6_addr);
    ASSERT_EQ(::bind(udp_.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local), 0);
  }

  // A UDP datagram from A to B's address, checksum filled.
  static wire::Bytes datagram() {
    wire::PacketSpec spec;
    spec.header.source = addr("2001:db8:8::1");
    spec.header.destination = addr("2001:db8:8::2");
    spec.upper_protocol = wire::ip_proto::kUdp;
    spec.upper = {std::byte{0x23}, std::byte{0x28}, std::byte{0x23}, std::byte{0x28},
                  std::byte{0},    std::byte{12},   std::byte{0},    std::byte{0},
                  std::byte{'p'},  std::byte{'i'},  std::byte{'n'},  std::byte{'g'}};
    return wire::build_packet(spec);
  }

  void send_from_a(const core::LinkLayerAddress& destination) {
    auto guard = NamespaceGuard::enter(pair_.a());
    ASSERT_TRUE(guard);
    auto sender = LinkSender::open();
    ASSERT_TRUE(sender) << sender.error().message;
    const auto va = ::if_nametoindex("va");
    ASSERT_NE(va, 0u);
    auto sent = sender->send(datagram(), va, destination);
    ASSERT_TRUE(sent) << sent.error().message;
  }

  BatchSendResult send_batch_from_a(std::span<const wire::ByteSpan> packets) {
    auto guard = NamespaceGuard::enter(pair_.a());
    EXPECT_TRUE(guard);
    auto sender = LinkSender::open();
    EXPECT_TRUE(sender);
    if (!sender) return {};
    return sender->send_batch(packets, ::if_nametoindex("va"), b_mac_);
  }

  bool received_within(int ms) {
    pollfd pfd{udp_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, ms) != 1) return false;
    char buffer[64];
    return ::recv(udp_.get(), buffer, sizeof buffer, 0) == 4;
  }

  test_util::VethPair pair_;
  core::LinkLayerAddress b_mac_{};
  UniqueFd udp_;
};

// No neighbour entry for B exists in A: only the given link-layer address can deliver it.
TEST_F(LinkSenderTest, PacketToTheHostsLinkLayerAddressIsDelivered) {
  send_from_a(b_mac_);
  EXPECT_TRUE(received_within(2000));
}

TEST_F(LinkSenderTest, PacketToAnotherLinkLayerAddressIsNotDelivered) {
  core::LinkLayerAddress other = b_mac_;
  other[5] ^= 0x01;
  send_from_a(other);
  EXPECT_FALSE(received_within(300));
}

// Many datagrams with sendmmsg(): all arrive, in order.
TEST_F(LinkSenderTest, BatchToTheHostsLinkLayerAddressArrivesWhole) {
  std::vector<wire::Bytes> packets;
  std::vector<wire::ByteSpan> spans;
  for (int i = 0; i < 100; ++i)
    packets.push_back(datagram());
  for (const auto& p : packets)
    spans.emplace_back(p);
  const BatchSendResult result = send_batch_from_a(spans);
  EXPECT_EQ(result.sent, 100u);
  EXPECT_EQ(result.failed, 0u);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(received_within(2000)) << "datagram " << i;
}

// The batch stops at the first packet the device does not take (here: larger than its MTU), so
// that the caller can send it and the rest another way.
TEST_F(LinkSenderTest, BatchStopsAtThePacketTheDeviceRefuses) {
  const wire::Bytes small = datagram();
  const wire::Bytes too_big(2000, std::byte{0x60});
  const wire::ByteSpan spans[] = {small, small, too_big, small};
  const BatchSendResult result = send_batch_from_a(spans);
  EXPECT_EQ(result.sent, 2u);
  EXPECT_EQ(result.failed, 1u);
  ASSERT_TRUE(result.first_error);
  EXPECT_EQ(result.first_error->code, EMSGSIZE);
}

TEST_F(LinkSenderTest, MissingInterfaceIsAnError) {
  auto guard = NamespaceGuard::enter(pair_.a());
  auto sender = LinkSender::open();
  ASSERT_TRUE(sender);
  auto sent = sender->send(datagram(), 999999, b_mac_);
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message.find("ifindex 999999"), std::string::npos);
}

}  // namespace
}  // namespace mipv6::linux_dp
