// Raw sockets between two network namespaces joined by a veth pair (created by each test and
// removed after it): the Mobility Header socket's kernel-side checksum (RFC 6275 §6.1.1,
// DESIGN.md §3), IPv6-in-IPv6 reception, header-included sending with extension headers, the
// ICMPv6 type filter, and the ancillary data every received packet carries.
#include "linux/raw_socket.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <stdexcept>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux/sysctl.h"
#include "wire/checksum.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;
using test_util::shell;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint8_t kNoNextHeader = 59;
constexpr std::uint8_t kDestinationOptions = 60;
constexpr std::uint8_t kUdp = 17;
constexpr std::uint8_t kEchoRequest = 128;
constexpr std::uint8_t kEchoReply = 129;
constexpr std::uint8_t kPrivateExperimentation = 200;  // RFC 4443 §2.1
constexpr std::uint8_t kSkippableOption = 0x1E;        // RFC 4727 experimental, action bits 00

wire::Bytes bytes(std::initializer_list<int> values) {
  wire::Bytes out;
  for (int v : values)
    out.push_back(static_cast<std::byte>(v));
  return out;
}

// A Binding Refresh Request (RFC 6275 §6.1.2): the smallest Mobility Header. `reserved` tags it.
wire::Bytes binding_refresh_request(std::uint16_t reserved) {
  return bytes({kNoNextHeader, 0, 0, 0, 0, 0, reserved >> 8, reserved & 0xFF});
}

void fill_checksum(wire::Bytes& upper, const wire::Ipv6Address& source,
                   const wire::Ipv6Address& destination, std::uint8_t next_header,
                   std::size_t offset) {
  wire::store_be16(upper.data() + offset, 0);
  wire::store_be16(upper.data() + offset,
                   wire::upper_layer_checksum(source, destination, next_header, upper));
}

wire::Bytes ipv6_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                        std::uint8_t next_header, const wire::Bytes& payload) {
  wire::Bytes packet;
  wire::Writer w(packet);
  w.u32(0x60000000);
  w.u16(static_cast<std::uint16_t>(payload.size()));
  w.u8(next_header);
  w.u8(64);
  w.address(source);
  w.address(destination);
  w.bytes(payload);
  return packet;
}

std::uint16_t reserved_of(std::span<const std::byte> mh) {
  return wire::load_be16(mh.data() + 6);
}

class RawSocketTest : public ::testing::Test {
 protected:
  const wire::Ipv6Address a_address_ = addr("2001:db8:7::1");
  const wire::Ipv6Address b_address_ = addr("2001:db8:7::2");

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: raw socket tests need root, SKIPPED !!!";
    std::string prefix = "mipv6t-" + std::to_string(::getpid());
    auto a = NetworkNamespace::create(prefix + "-ra");
    ASSERT_TRUE(a) << a.error().message;
    a_.emplace(std::move(*a));
    auto b = NetworkNamespace::create(prefix + "-rb");
    ASSERT_TRUE(b) << b.error().message;
    b_.emplace(std::move(*b));
    ASSERT_EQ(std::system(("ip link add va netns " + a_->name() + " type veth peer name vb netns " +
                           b_->name())
                              .c_str()),
              0);
    configure(*a_, "va", a_address_);
    configure(*b_, "vb", b_address_);
    in(*b_, [&] { vb_index_ = ::if_nametoindex("vb"); });
    ASSERT_NE(vb_index_, 0u);
    wait_operational(*a_, "va");
    wait_operational(*b_, "vb");
    wait_until_reachable();
  }

  void TearDown() override {
    for (auto* ns : {&a_, &b_}) {
      if (*ns) {
        auto s = (*ns)->remove();
        EXPECT_TRUE(s) << s.error().message;
      }
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-")));
  }

  // Runs `f` with the calling thread inside `ns`: sockets it opens stay in that namespace.
  static void in(const NetworkNamespace& ns, const std::function<void()>& f) {
    auto guard = NamespaceGuard::enter(ns);
    ASSERT_TRUE(guard) << guard.error().message;
    f();
  }

  // lo and the veth end up, the address without DAD (also none for the link-local one, so that
  // Neighbor Discovery can run at once), and only once its local route is installed.
  void configure(const NetworkNamespace& ns, const char* device, const wire::Ipv6Address& address) {
    in(ns, [&] {
      auto netlink = Netlink::open();
      ASSERT_TRUE(netlink);
      auto monitor = NetlinkMonitor::open();
      ASSERT_TRUE(monitor);
      std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + device + "/accept_dad") << "0\n";
      auto lo = netlink->link_index("lo");
      auto dev = netlink->link_index(device);
      ASSERT_TRUE(lo && dev);
      ASSERT_TRUE(netlink->set_link_up(*lo, true));
      ASSERT_TRUE(netlink->add_address(
          AddressSpec{.ifindex = *dev, .address = address, .flags = address_flags::kNoDad}));
      ASSERT_TRUE(netlink->set_link_up(*dev, true));
      ASSERT_TRUE(wait_for_local_route(*monitor, address));
    });
  }

  void wait_operational(const NetworkNamespace& ns, const char* device) {
    in(ns, [&] { test_util::wait_operational(device); });
  }

  // One Echo Request answered: the path works and A has resolved B's link-layer address, so
  // nothing a test sends waits in the Neighbor Discovery queue.
  void wait_until_reachable() {
    const std::uint8_t reply_type[] = {kEchoReply};
    RawSocket ping = open_in(*a_, [&] { return RawSocket::open_icmpv6(reply_type); });
    std::array<std::byte, 256> buffer{};
    for (int attempt = 0; attempt < 10; ++attempt) {
      ASSERT_TRUE(ping.send(bytes({kEchoRequest, 0, 0, 0, 0, 1, 0, attempt}), b_address_));
      if (receive(ping, buffer, 300)) return;
    }
    FAIL() << "B never answered an Echo Request";
  }

  static bool wait_for_local_route(NetlinkMonitor& monitor, const wire::Ipv6Address& local) {
    for (int i = 0; i < 100; ++i) {
      pollfd pfd{monitor.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 2000) != 1) return false;
      auto events = monitor.read_events();
      if (!events) return false;
      for (const auto& e : *events) {
        const auto* r = std::get_if<RouteEvent>(&e);
        if (r != nullptr && r->added && r->table == 255 && r->destination == local) return true;
      }
    }
    return false;
  }

  template <class Open>
  RawSocket open_in(const NetworkNamespace& ns, Open open) {
    std::optional<RawSocket> socket;
    in(ns, [&] {
      auto s = open();
      EXPECT_TRUE(s) << s.error().message;
      if (s) socket.emplace(std::move(*s));
    });
    if (!socket) throw std::runtime_error("socket");
    return std::move(*socket);
  }

  // The next packet on `socket` within two seconds (payload into `buffer`).
  static std::optional<ReceivedPacket> receive(RawSocket& socket, std::span<std::byte> buffer,
                                               int timeout_ms = 2000) {
    pollfd pfd{socket.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1) return std::nullopt;
    auto packet = socket.receive(buffer);
    if (!packet) return std::nullopt;
    return *packet;
  }

  std::optional<NetworkNamespace> a_;
  std::optional<NetworkNamespace> b_;
  std::uint32_t vb_index_ = 0;
};

TEST_F(RawSocketTest, MobilityHeaderChecksumIsFilledOnSendAndVerifiedOnReceive_6_1_1) {
  RawSocket sender = open_in(*a_, RawSocket::open_mobility);
  RawSocket receiver = open_in(*b_, RawSocket::open_mobility);
  ASSERT_TRUE(sender.send(binding_refresh_request(0x0102), b_address_));
  std::array<std::byte, 256> buffer{};
  auto packet = receive(receiver, buffer);
  ASSERT_TRUE(packet) << "the Mobility Header did not arrive";
  ASSERT_EQ(packet->length, 8u);
  EXPECT_FALSE(packet->truncated);
  auto mh = std::span<const std::byte>(buffer).first(packet->length);
  EXPECT_EQ(reserved_of(mh), 0x0102);
  EXPECT_NE(wire::load_be16(mh.data() + 4), 0);  // the kernel filled it...
  EXPECT_EQ(wire::upper_layer_checksum(a_address_, b_address_, kProtocolMobility, mh), 0);  // right
  EXPECT_EQ(packet->source, a_address_);
  EXPECT_EQ(packet->destination, b_address_);
  EXPECT_EQ(packet->ifindex, vb_index_);
  EXPECT_EQ(packet->hop_limit, 64);
  EXPECT_FALSE(packet->destination_options);
}

TEST_F(RawSocketTest, SendOptionsSetTheHopLimitAndSource) {
  RawSocket sender = open_in(*a_, RawSocket::open_mobility);
  RawSocket receiver = open_in(*b_, RawSocket::open_mobility);
  SendOptions options;
  options.hop_limit = 7;
  options.source = a_address_;
  ASSERT_TRUE(sender.send(binding_refresh_request(1), b_address_, options));
  std::array<std::byte, 256> buffer{};
  auto packet = receive(receiver, buffer);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->hop_limit, 7);
  EXPECT_EQ(packet->source, a_address_);
  // A source the node does not own is refused.
  options.source = addr("2001:db8:99::1");
  auto s = sender.send(binding_refresh_request(2), b_address_, options);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("to 2001:db8:7::2"));
}

TEST_F(RawSocketTest, MobilityHeaderWithABadChecksumIsDroppedByTheKernel_6_1_1) {
  RawSocket sender = open_in(*a_, RawSocket::open_header_included);
  RawSocket receiver = open_in(*b_, RawSocket::open_mobility);
  wire::Bytes bad = binding_refresh_request(0xBAD);
  fill_checksum(bad, a_address_, b_address_, kProtocolMobility, 4);
  bad[5] ^= std::byte{0x01};
  wire::Bytes good = binding_refresh_request(0x600D);
  fill_checksum(good, a_address_, b_address_, kProtocolMobility, 4);
  ASSERT_TRUE(sender.send_packet(ipv6_packet(a_address_, b_address_, kProtocolMobility, bad)));
  ASSERT_TRUE(sender.send_packet(ipv6_packet(a_address_, b_address_, kProtocolMobility, good)));
  std::array<std::byte, 256> buffer{};
  auto first = receive(receiver, buffer);
  ASSERT_TRUE(first) << "not even the good Mobility Header arrived";
  EXPECT_EQ(reserved_of(buffer), 0x600D);
  EXPECT_FALSE(receive(receiver, buffer, 200)) << "the bad checksum was delivered";
}

TEST_F(RawSocketTest, TunnelledPacketsAreReceivedOnTheProtocol41Socket) {
  RawSocket sender = open_in(*a_, RawSocket::open_ipv6_in_ipv6);
  RawSocket receiver = open_in(*b_, RawSocket::open_ipv6_in_ipv6);
  wire::Bytes udp = bytes({0x10, 0x00, 0x10, 0x01, 0, 12, 0, 0, 'm', 'i', 'p', '6'});
  const auto home = addr("2001:db8:1::100");
  const auto correspondent = addr("2001:db8:2::1");
  fill_checksum(udp, home, correspondent, kUdp, 6);
  wire::Bytes inner = ipv6_packet(home, correspondent, kUdp, udp);
  // RFC 2473: the kernel builds the outer header; the payload is the whole inner packet.
  ASSERT_TRUE(sender.send(inner, b_address_));
  std::array<std::byte, 256> buffer{};
  auto packet = receive(receiver, buffer);
  ASSERT_TRUE(packet) << "the tunnelled packet did not reach the protocol 41 socket";
  ASSERT_EQ(packet->length, inner.size());
  EXPECT_TRUE(std::equal(inner.begin(), inner.end(), buffer.begin()));
  EXPECT_EQ(packet->source, a_address_);
  EXPECT_EQ(packet->destination, b_address_);
  EXPECT_EQ(packet->ifindex, vb_index_);
}

// A tunnel endpoint's batch (issue 8 benchmark): more packets than one sendmmsg() takes, each a
// whole IPv6-in-IPv6 packet (RFC 2473), all arrive, unchanged and in order.
TEST_F(RawSocketTest, BatchOfHeaderIncludedPacketsAllArriveInOrder) {
  RawSocket sender = open_in(*a_, RawSocket::open_header_included);
  RawSocket receiver = open_in(*b_, RawSocket::open_ipv6_in_ipv6);
  ASSERT_TRUE(receiver.set_receive_buffer(4 << 20));
  const auto home = addr("2001:db8:1::100");
  const auto correspondent = addr("2001:db8:2::1");
  constexpr std::size_t kCount = RawSocket::kBatchSize * 2 + 7;
  std::vector<wire::Bytes> inners;
  std::vector<wire::Bytes> packets;
  for (std::size_t i = 0; i < kCount; ++i) {
    wire::Bytes udp = bytes({0x10, 0x00, 0x10, 0x01, 0, 10, 0, 0, static_cast<std::uint8_t>(i >> 8),
                             static_cast<std::uint8_t>(i)});
    fill_checksum(udp, home, correspondent, kUdp, 6);
    inners.push_back(ipv6_packet(home, correspondent, kUdp, udp));
    packets.push_back(ipv6_packet(a_address_, b_address_, kProtocolIpv6InIpv6, inners.back()));
  }
  std::vector<wire::ByteSpan> spans(packets.begin(), packets.end());
  auto result = sender.send_packets(spans);
  EXPECT_EQ(result.sent, kCount);
  EXPECT_EQ(result.failed, 0u);
  EXPECT_FALSE(result.first_error);
  std::array<std::byte, 256> buffer{};
  for (std::size_t i = 0; i < kCount; ++i) {
    auto packet = receive(receiver, buffer);
    ASSERT_TRUE(packet) << "packet " << i << " of " << kCount << " did not arrive";
    ASSERT_EQ(packet->length, inners[i].size());
    EXPECT_TRUE(std::equal(inners[i].begin(), inners[i].end(), buffer.begin())) << "packet " << i;
    EXPECT_EQ(packet->source, a_address_);
  }
}

// The protocol-41 sender (issue 8): the kernel rebuilds each tunnel packet's outer header from
// its addresses and Hop Limit, so the far end receives exactly the inner packets; the sender
// takes no copy of tunnelled packets arriving for this node; a packet of another shape is
// refused and counted, and the rest still go (RFC 2473 §3).
TEST_F(RawSocketTest, TunnelSenderRebuildsTheOuterHeaderAndReceivesNothing) {
  RawSocket sender = open_in(*a_, RawSocket::open_tunnel_sender);
  auto hop_limit = [](std::size_t i) { return i == 4 ? 64 : 30 + static_cast<int>(i); };
  RawSocket a_receiver = open_in(*a_, RawSocket::open_ipv6_in_ipv6);
  RawSocket b_receiver = open_in(*b_, RawSocket::open_ipv6_in_ipv6);
  const auto home = addr("2001:db8:1::100");
  const auto correspondent = addr("2001:db8:2::1");
  std::vector<wire::Bytes> inners;
  std::vector<wire::Bytes> packets;
  for (std::size_t i = 0; i < 5; ++i) {
    wire::Bytes udp = bytes({0x10, 0x00, 0x10, 0x01, 0, 9, 0, 0, static_cast<int>(i)});
    fill_checksum(udp, home, correspondent, kUdp, 6);
    inners.push_back(ipv6_packet(home, correspondent, kUdp, udp));
    packets.push_back(ipv6_packet(a_address_, b_address_, kProtocolIpv6InIpv6, inners.back()));
    packets.back()[7] = static_cast<std::byte>(hop_limit(i));  // the socket's default last
  }
  packets[2][2] = std::byte{0x01};  // a Flow Label: not rebuilt by the kernel, so refused
  std::vector<wire::ByteSpan> spans(packets.begin(), packets.end());
  auto result = sender.send_packets(spans);
  EXPECT_EQ(result.sent, 4u);
  EXPECT_EQ(result.failed, 1u);
  ASSERT_TRUE(result.first_error);
  EXPECT_EQ(result.first_error->code, EINVAL);
  std::array<std::byte, 256> buffer{};
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    auto packet = receive(b_receiver, buffer);
    ASSERT_TRUE(packet) << "packet " << i << " did not arrive";
    ASSERT_EQ(packet->length, inners[i].size());
    EXPECT_TRUE(std::equal(inners[i].begin(), inners[i].end(), buffer.begin())) << i;
    EXPECT_EQ(packet->source, a_address_);
    EXPECT_EQ(packet->hop_limit, hop_limit(i));
  }
  RawSocket b_sender = open_in(*b_, RawSocket::open_ipv6_in_ipv6);
  ASSERT_TRUE(b_sender.send(inners[0], a_address_));
  EXPECT_TRUE(receive(a_receiver, buffer)) << "the receiving socket gets it";
  EXPECT_FALSE(receive(sender, buffer, 200)) << "the sender must not";
  EXPECT_FALSE(is_plain_tunnel_packet(inners[0])) << "UDP, not IPv6-in-IPv6";
  EXPECT_FALSE(is_plain_tunnel_packet(wire::ByteSpan(packets[0]).first(60)));
}

// The receiving tunnel endpoint's side: a burst is taken kBatchSize packets per call, each
// with its own length, addresses and arrival interface, in order; then EAGAIN.
TEST_F(RawSocketTest, BatchReceiveTakesABurstInOrder) {
  RawSocket sender = open_in(*a_, RawSocket::open_ipv6_in_ipv6);
  RawSocket receiver = open_in(*b_, RawSocket::open_ipv6_in_ipv6);
  ASSERT_TRUE(receiver.set_receive_buffer(4 << 20));
  const auto home = addr("2001:db8:1::100");
  const auto correspondent = addr("2001:db8:2::1");
  constexpr std::size_t kCount = RawSocket::kBatchSize + 36;
  std::vector<wire::Bytes> inners;
  for (std::size_t i = 0; i < kCount; ++i) {
    wire::Bytes udp = bytes({0x10, 0x00, 0x10, 0x01, 0, 10, 0, 0, static_cast<std::uint8_t>(i >> 8),
                             static_cast<std::uint8_t>(i)});
    udp.resize(udp.size() + i % 7);  // lengths differ
    udp[5] = static_cast<std::byte>(udp.size());
    fill_checksum(udp, home, correspondent, kUdp, 6);
    inners.push_back(ipv6_packet(home, correspondent, kUdp, udp));
    ASSERT_TRUE(sender.send(inners.back(), b_address_));
  }
  std::vector<std::vector<std::byte>> storage(RawSocket::kBatchSize, std::vector<std::byte>(256));
  std::vector<std::span<std::byte>> buffers(storage.begin(), storage.end());
  std::vector<ReceivedPacket> packets(RawSocket::kBatchSize);
  std::size_t received = 0;
  while (received < kCount) {
    pollfd pfd{receiver.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 2000), 1) << received << " of " << kCount << " arrived";
    auto count = receiver.receive_batch(buffers, packets);
    ASSERT_TRUE(count) << count.error().message;
    ASSERT_GE(*count, 1u);
    ASSERT_LE(*count, RawSocket::kBatchSize);
    for (std::size_t i = 0; i < *count; ++i, ++received) {
      const auto& inner = inners[received];
      ASSERT_EQ(packets[i].length, inner.size()) << "packet " << received;
      EXPECT_TRUE(std::equal(inner.begin(), inner.end(), storage[i].begin()));
      EXPECT_FALSE(packets[i].truncated);
      EXPECT_EQ(packets[i].source, a_address_);
      EXPECT_EQ(packets[i].destination, b_address_);
      EXPECT_EQ(packets[i].ifindex, vb_index_);
    }
  }
  EXPECT_EQ(receiver.receive_batch(buffers, packets).error().code, EAGAIN);
}

// A packet the kernel refuses (a source that is not this node's, one too short to be IPv6) is
// counted, and the packets around it still go.
TEST_F(RawSocketTest, BatchCountsRefusedPacketsAndSendsTheRest) {
  RawSocket sender = open_in(*a_, RawSocket::open_header_included);
  std::vector<wire::Bytes> packets{
      ipv6_packet(a_address_, b_address_, kNoNextHeader, {}),
      ipv6_packet(addr("2001:db8:77::1"), b_address_, kNoNextHeader, {}),
      bytes({0x60, 0, 0}),
      ipv6_packet(a_address_, b_address_, kNoNextHeader, {}),
  };
  std::vector<wire::ByteSpan> spans(packets.begin(), packets.end());
  auto result = sender.send_packets(spans);
  EXPECT_EQ(result.sent, 2u);
  EXPECT_EQ(result.failed, 2u);
  ASSERT_TRUE(result.first_error);
  EXPECT_NE(result.first_error->code, 0);
  RawSocket mh = open_in(*b_, RawSocket::open_mobility);
  EXPECT_EQ(mh.send_packets(spans).failed, packets.size());
}

TEST_F(RawSocketTest, HeaderIncludedPacketKeepsItsDestinationOptionsHeader) {
  RawSocket sender = open_in(*a_, RawSocket::open_header_included);
  RawSocket mh_receiver = open_in(*b_, RawSocket::open_mobility);
  ASSERT_TRUE(mh_receiver.receive_destination_options(true));
  std::optional<UniqueFd> capture;
  in(*b_, [&] {
    int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
    ASSERT_GE(fd, 0);
    capture.emplace(fd);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IPV6);
    ll.sll_ifindex = static_cast<int>(vb_index_);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&ll), sizeof ll), 0);
  });
  ASSERT_TRUE(capture);

  const wire::Bytes destination_options =
      bytes({kProtocolMobility, 0, kSkippableOption, 4, 0xDE, 0xAD, 0xBE, 0xEF});
  wire::Bytes mh = binding_refresh_request(0x0D0D);
  fill_checksum(mh, a_address_, b_address_, kProtocolMobility, 4);
  wire::Bytes payload = destination_options;
  payload.insert(payload.end(), mh.begin(), mh.end());
  wire::Bytes packet = ipv6_packet(a_address_, b_address_, kDestinationOptions, payload);
  ASSERT_TRUE(sender.send_packet(packet));

  // On the wire, byte for byte what was handed to the socket.
  std::optional<wire::Bytes> seen;
  std::array<std::byte, 2048> frame{};
  for (int i = 0; i < 20 && !seen; ++i) {
    pollfd pfd{capture->get(), POLLIN, 0};
    if (::poll(&pfd, 1, 2000) != 1) break;
    ssize_t n = ::recv(capture->get(), frame.data(), frame.size(), 0);
    ASSERT_GT(n, 40);
    if (std::to_integer<std::uint8_t>(frame[6]) == kDestinationOptions)
      seen = wire::Bytes(frame.begin(), frame.begin() + n);
  }
  ASSERT_TRUE(seen) << "the packet was not seen on vb";
  EXPECT_EQ(*seen, packet);

  // And the receiving stack parsed it: the MH socket gets the MH and the options header.
  std::array<std::byte, 256> buffer{};
  auto received = receive(mh_receiver, buffer);
  ASSERT_TRUE(received);
  ASSERT_EQ(received->length, mh.size());
  EXPECT_EQ(reserved_of(buffer), 0x0D0D);
  ASSERT_TRUE(received->destination_options);
  EXPECT_EQ(*received->destination_options, destination_options);
}

TEST_F(RawSocketTest, IcmpFilterDeliversOnlyTheAcceptedTypes) {
  const std::uint8_t reply_types[] = {kEchoReply};
  const std::uint8_t request_types[] = {kEchoRequest};
  RawSocket a = open_in(*a_, [&] { return RawSocket::open_icmpv6(reply_types); });
  RawSocket b = open_in(*b_, [&] { return RawSocket::open_icmpv6(request_types); });
  // The kernel computes ICMPv6 checksums itself on ICMPv6 raw sockets (RFC 3542 §3.1).
  ASSERT_TRUE(a.send(bytes({kPrivateExperimentation, 0, 0, 0, 1, 2, 3, 4}), b_address_));
  ASSERT_TRUE(a.send(bytes({kEchoRequest, 0, 0, 0, 0x12, 0x34, 0, 1}), b_address_));
  std::array<std::byte, 256> buffer{};
  // B's socket sees the Echo Request only: not type 200, not the Neighbor Solicitation.
  auto request = receive(b, buffer);
  ASSERT_TRUE(request);
  EXPECT_EQ(std::to_integer<int>(buffer[0]), kEchoRequest);
  EXPECT_FALSE(receive(b, buffer, 200));
  // A's socket sees the kernel's Echo Reply, and not the Neighbor Advertisement before it.
  auto reply = receive(a, buffer);
  ASSERT_TRUE(reply);
  EXPECT_EQ(std::to_integer<int>(buffer[0]), kEchoReply);
  EXPECT_EQ(reply->source, b_address_);
  EXPECT_EQ(wire::load_be16(buffer.data() + 4), 0x1234);
}

TEST_F(RawSocketTest, SocketOptionsAndMisuseAreReportedAsErrors) {
  RawSocket mh = open_in(*b_, RawSocket::open_mobility);
  EXPECT_TRUE(mh.set_mark(0x4d));
  EXPECT_TRUE(mh.bind_address(b_address_));
  auto bad_bind = mh.bind_address(addr("2001:db8:99::1"));
  ASSERT_FALSE(bad_bind);
  EXPECT_EQ(bad_bind.error().code, EADDRNOTAVAIL);
  EXPECT_TRUE(mh.bind_to_device("vb"));
  auto missing = mh.bind_to_device("nosuchdev0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
  EXPECT_THAT(missing.error().message, HasSubstr("nosuchdev0"));
  std::array<std::byte, 64> buffer{};
  EXPECT_EQ(mh.receive(buffer).error().code, EAGAIN);
  EXPECT_EQ(mh.send_packet(ipv6_packet(b_address_, a_address_, kNoNextHeader, {})).error().code,
            EINVAL);
  RawSocket raw = open_in(*b_, RawSocket::open_header_included);
  EXPECT_EQ(raw.send_packet(bytes({0x60, 0, 0})).error().code, EINVAL);
}

// DESIGN.md §3: the daemon's own signalling bypasses the routes it installs for home addresses
// by marking its sockets and adding a rule for the mark.
TEST_F(RawSocketTest, MarkedSocketIsRoutedByTheFwmarkRule) {
  const std::string a = "ip -n " + a_->name() + " -6 ";
  ASSERT_EQ(std::system((a + "route add unreachable 2001:db8:7::2/128").c_str()), 0);
  ASSERT_EQ(std::system((a + "route add 2001:db8:7::/64 dev va table 100").c_str()), 0);
  ASSERT_EQ(std::system((a + "rule add fwmark 0x4d lookup 100 priority 100").c_str()), 0);
  RawSocket unmarked = open_in(*a_, RawSocket::open_mobility);
  RawSocket marked = open_in(*a_, RawSocket::open_mobility);
  ASSERT_TRUE(marked.set_mark(0x4d));
  RawSocket receiver = open_in(*b_, RawSocket::open_mobility);
  auto refused = unmarked.send(binding_refresh_request(1), b_address_);
  ASSERT_FALSE(refused) << "the unreachable route did not apply";
  EXPECT_EQ(refused.error().code, EHOSTUNREACH) << refused.error().message;
  ASSERT_TRUE(marked.send(binding_refresh_request(2), b_address_));
  std::array<std::byte, 64> buffer{};
  ASSERT_TRUE(receive(receiver, buffer));
  EXPECT_EQ(reserved_of(buffer), 2);
}

TEST_F(RawSocketTest, BoundToDeviceSocketIgnoresOtherInterfaces) {
  RawSocket sender = open_in(*a_, RawSocket::open_mobility);
  RawSocket on_lo = open_in(*b_, RawSocket::open_mobility);
  RawSocket on_vb = open_in(*b_, RawSocket::open_mobility);
  ASSERT_TRUE(on_lo.bind_to_device("lo"));
  ASSERT_TRUE(on_vb.bind_to_device("vb"));
  ASSERT_TRUE(sender.send(binding_refresh_request(3), b_address_));
  std::array<std::byte, 64> buffer{};
  EXPECT_TRUE(receive(on_vb, buffer));
  EXPECT_FALSE(receive(on_lo, buffer, 200));
}

// RFC 6275 §10.5: a home agent receives DHAAD requests at the Mobile IPv6 Home-Agents anycast
// address of its home subnet (RFC 2526: interface identifier fdff:ffff:ffff:fffe). B sends Echo
// Requests to it; A answers only once it has joined.
TEST_F(RawSocketTest, JoinedAnycastAddressIsAnsweredAndNotBefore_10_5) {
  const wire::Ipv6Address anycast = addr("2001:db8:7::fdff:ffff:ffff:fffe");
  std::optional<Sysctls> sysctls;
  in(*a_, [&] {
    sysctls.emplace();
    ASSERT_TRUE(sysctls->set("net/ipv6/conf/va/forwarding", "1"));
  });
  const std::uint8_t reply_type[] = {kEchoReply};
  RawSocket pinger = open_in(*b_, [&] { return RawSocket::open_icmpv6(reply_type); });
  std::array<std::byte, 256> buffer{};
  auto answered = [&](int sequence) {
    EXPECT_TRUE(pinger.send(bytes({kEchoRequest, 0, 0, 0, 0, 7, 0, sequence}), anycast));
    return receive(pinger, buffer, 1000).has_value();
  };
  EXPECT_FALSE(answered(1)) << "answered before the join";

  std::uint32_t va_index = 0;
  in(*a_, [&] { va_index = ::if_nametoindex("va"); });
  RawSocket member = open_in(*a_, [&] { return RawSocket::open_icmpv6(reply_type); });
  auto joined = member.join_anycast(anycast, va_index);
  ASSERT_TRUE(joined) << joined.error().message;
  // The first request may be spent on Neighbor Discovery still failing from the attempt above.
  bool ok = false;
  for (int sequence = 2; sequence < 6 && !ok; ++sequence)
    ok = answered(sequence);
  EXPECT_TRUE(ok) << "not answered after the join";
  in(*a_, [&] { sysctls.reset(); });
}

TEST_F(RawSocketTest, AnycastJoinOnAMissingInterfaceIsAnError) {
  const std::uint8_t types[] = {kEchoReply};
  RawSocket socket = open_in(*a_, [&] { return RawSocket::open_icmpv6(types); });
  auto joined = socket.join_anycast(addr("2001:db8:7::fdff:ffff:ffff:fffe"), 9999);
  ASSERT_FALSE(joined);
  EXPECT_THAT(joined.error().message, HasSubstr("IPV6_JOIN_ANYCAST"));
}
}  // namespace
}  // namespace mipv6::linux_dp
