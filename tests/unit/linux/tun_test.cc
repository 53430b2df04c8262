// TUN devices against the real kernel, in a network namespace the test creates and removes:
// the device exists while its descriptor is open, a packet written into it is routed by the
// kernel, and what the kernel routes to it is read back whole.
#include "linux/tun.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux/sysctl.h"
#include "wire/checksum.h"
#include "wire/ipv6.h"

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

// Issue 8 benchmark: the kernel dropped what a busy tunnel endpoint had not read yet at the
// default 500 packets; the queue length is what was set, and the default before that.
TEST_F(TunTest, TransmitQueueLengthIsSetAndReadBack) {
  auto tun = TunDevice::create("mtun%d");
  ASSERT_TRUE(tun) << tun.error().message;
  auto before = tun->tx_queue_length();
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(*before, 500u);
  ASSERT_TRUE(tun->set_tx_queue_length(8192));
  auto after = tun->tx_queue_length();
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(*after, 8192u);
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

// ---------------------------------------------------------------------------------------------
// What a vnet header leaves to the reader (no kernel needed).

constexpr std::size_t kIpv6 = 40;

wire::Bytes tcp_superpacket(std::uint32_t sequence, std::uint8_t flags, std::size_t payload) {
  wire::Bytes packet(kIpv6 + 32 + payload);
  const auto source = addr("2001:db8:3::2");
  const auto destination = addr("2001:db8:1::100");
  packet[0] = std::byte{0x60};
  packet[4] = static_cast<std::byte>((32 + payload) >> 8);
  packet[5] = static_cast<std::byte>(32 + payload);
  packet[6] = std::byte{6};
  packet[7] = std::byte{63};
  std::memcpy(packet.data() + 8, source.bytes.data(), 16);
  std::memcpy(packet.data() + 24, destination.bytes.data(), 16);
  auto* tcp = packet.data() + kIpv6;
  tcp[0] = std::byte{0x13}, tcp[1] = std::byte{0x88}, tcp[2] = std::byte{0xc3},
  tcp[3] = std::byte{0x50};
  for (int i = 0; i < 4; ++i)
    tcp[4 + i] = static_cast<std::byte>(sequence >> (24 - 8 * i));
  tcp[8] = std::byte{0x11}, tcp[11] = std::byte{0x22};  // Acknowledgment Number
  tcp[12] = std::byte{0x80};                            // Data Offset 8: 12 octets of options
  tcp[13] = static_cast<std::byte>(flags);
  tcp[14] = std::byte{0x01}, tcp[15] = std::byte{0xf5};  // Window
  tcp[20] = std::byte{1}, tcp[21] = std::byte{1}, tcp[22] = std::byte{8}, tcp[23] = std::byte{10};
  tcp[27] = std::byte{0x42};  // TSval
  for (std::size_t i = 0; i < payload; ++i)
    tcp[32 + i] = static_cast<std::byte>(i * 7 + i / 251);
  return packet;
}

std::uint32_t sequence_of(wire::ByteSpan segment) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = (value << 8) | std::to_integer<std::uint32_t>(segment[kIpv6 + 4 + i]);
  return value;
}

wire::Ipv6Address address_at(wire::ByteSpan packet, std::size_t offset) {
  wire::Ipv6Address address;
  std::memcpy(address.bytes.data(), packet.data() + offset, 16);
  return address;
}

constexpr VnetHeader kTcpGso{.flags = VnetHeader::kNeedsChecksum,
                             .gso_type = VnetHeader::kGsoTcpv6,
                             .header_length = kIpv6 + 32,
                             .gso_size = 1200,
                             .checksum_start = kIpv6,
                             .checksum_offset = 16};

// RFC 793 §3.3 / the kernel's tcp_gso_segment: the segments carry the superpacket's payload in
// order, each with its own sequence number (here wrapping past 2^32), Payload Length and valid
// checksum; CWR only on the first, PSH and FIN only on the last.
TEST(TunOffloadTest, TcpSuperpacketIsCutIntoTheSegmentsOfTheOriginalStream) {
  constexpr std::uint8_t kAck = 0x10, kPsh = 0x08, kFin = 0x01, kCwr = 0x80;
  const std::uint32_t first = 0xfffff000;
  const auto packet = tcp_superpacket(first, kAck | kPsh | kFin | kCwr, 5000);
  std::vector<std::byte> out(8 * 2048);
  std::array<std::size_t, 8> lengths{};
  auto count = segment_tcpv6(kTcpGso, packet, out, 2048, lengths);
  ASSERT_TRUE(count) << count.error().message;
  ASSERT_EQ(*count, 5u);
  wire::Bytes stream;
  for (std::size_t i = 0; i < *count; ++i) {
    const std::size_t payload = i < 4 ? 1200 : 200;
    ASSERT_EQ(lengths[i], kIpv6 + 32 + payload);
    const wire::ByteSpan segment(out.data() + i * 2048, lengths[i]);
    auto header = wire::decode_ipv6_header(segment);
    ASSERT_TRUE(header);
    EXPECT_EQ(header->payload_length, 32 + payload);
    EXPECT_EQ(header->hop_limit, 63);
    EXPECT_EQ(sequence_of(segment), first + static_cast<std::uint32_t>(i * 1200)) << i;
    const auto flags = std::to_integer<std::uint8_t>(segment[kIpv6 + 13]);
    EXPECT_EQ(flags & kAck, kAck);
    EXPECT_EQ((flags & kCwr) != 0, i == 0) << i;
    EXPECT_EQ((flags & (kPsh | kFin)) != 0, i == 4) << i;
    // Every other header octet is the superpacket's (ports, ACK, window, options).
    EXPECT_TRUE(std::equal(segment.begin() + kIpv6 + 8, segment.begin() + kIpv6 + 13,
                           packet.begin() + kIpv6 + 8));
    EXPECT_TRUE(std::equal(segment.begin() + kIpv6 + 14, segment.begin() + kIpv6 + 16,
                           packet.begin() + kIpv6 + 14));
    EXPECT_TRUE(std::equal(segment.begin() + kIpv6 + 18, segment.begin() + kIpv6 + 32,
                           packet.begin() + kIpv6 + 18));
    EXPECT_EQ(wire::upper_layer_checksum(address_at(segment, 8), address_at(segment, 24), 6,
                                         segment.subspan(kIpv6)),
              0)
        << "segment " << i << " checksum";
    stream.insert(stream.end(), segment.begin() + kIpv6 + 32, segment.end());
  }
  EXPECT_TRUE(std::equal(stream.begin(), stream.end(), packet.begin() + kIpv6 + 32, packet.end()));
  EXPECT_EQ(stream.size(), 5000u);
}

TEST(TunOffloadTest, SegmentingRefusesOtherPacketsAndTooSmallBuffers) {
  const auto packet = tcp_superpacket(1, 0x10, 5000);
  std::vector<std::byte> out(8 * 2048);
  std::array<std::size_t, 8> lengths{};
  VnetHeader none = kTcpGso;
  none.gso_type = VnetHeader::kGsoNone;
  EXPECT_EQ(segment_tcpv6(none, packet, out, 2048, lengths).error().code, EINVAL);
  VnetHeader after_extension = kTcpGso;
  after_extension.checksum_start = kIpv6 + 8;
  EXPECT_EQ(segment_tcpv6(after_extension, packet, out, 2048, lengths).error().code, EINVAL);
  std::array<std::size_t, 4> too_few{};
  EXPECT_EQ(segment_tcpv6(kTcpGso, packet, out, 2048, too_few).error().code, EMSGSIZE);
  EXPECT_EQ(segment_tcpv6(kTcpGso, packet, out, 1000, lengths).error().code, EMSGSIZE);
}

// virtio 1.1 §5.1.6.2.1: the field holds the pseudo-header sum; completing it gives the packet
// the checksum a receiver verifies (RFC 8200 §8.1).
TEST(TunOffloadTest, NeedsChecksumPacketGetsItsUpperLayerChecksum) {
  const auto source = addr("2001:db8:3::2");
  const auto destination = addr("2001:db8:1::100");
  wire::Bytes udp = {std::byte{0x10}, std::byte{0},   std::byte{0x10}, std::byte{1},
                     std::byte{0},    std::byte{13},  std::byte{0},    std::byte{0},
                     std::byte{'m'},  std::byte{'i'}, std::byte{'p'},  std::byte{'6'},
                     std::byte{'!'}};
  wire::Bytes packet(kIpv6);
  packet[0] = std::byte{0x60};
  packet[5] = static_cast<std::byte>(udp.size());
  packet[6] = std::byte{17};
  std::memcpy(packet.data() + 8, source.bytes.data(), 16);
  std::memcpy(packet.data() + 24, destination.bytes.data(), 16);
  // The pseudo-header sum, folded and not complemented, as the sending stack leaves it.
  std::uint32_t sum = wire::checksum_add(0, wire::ByteSpan(packet).subspan(8, 32));
  sum += static_cast<std::uint32_t>(udp.size()) + 17;
  const auto partial = static_cast<std::uint16_t>(~wire::checksum_finish(sum));
  udp[6] = static_cast<std::byte>(partial >> 8);
  udp[7] = static_cast<std::byte>(partial);
  packet.insert(packet.end(), udp.begin(), udp.end());
  const VnetHeader vnet{
      .flags = VnetHeader::kNeedsChecksum, .checksum_start = kIpv6, .checksum_offset = 6};
  ASSERT_TRUE(complete_checksum(vnet, packet));
  EXPECT_EQ(
      wire::upper_layer_checksum(source, destination, 17, wire::ByteSpan(packet).subspan(kIpv6)),
      0);
  const VnetHeader beyond{
      .flags = VnetHeader::kNeedsChecksum, .checksum_start = kIpv6, .checksum_offset = 200};
  EXPECT_EQ(complete_checksum(beyond, packet).error().code, EINVAL);
}

// decode() reads the layout the TUN driver writes (struct virtio_net_hdr, host byte order).
TEST(TunOffloadTest, VnetHeaderIsDecodedFromTheDriversLayout) {
  std::array<std::byte, kVnetHeaderSize> raw{};
  raw[0] = std::byte{1};
  raw[1] = std::byte{4};
  const std::uint16_t words[] = {72, 1428, 40, 16};
  std::memcpy(raw.data() + 2, words, sizeof words);
  const auto header = VnetHeader::decode(raw);
  EXPECT_EQ(header.flags, VnetHeader::kNeedsChecksum);
  EXPECT_EQ(header.gso_type, VnetHeader::kGsoTcpv6);
  EXPECT_EQ(header.header_length, 72);
  EXPECT_EQ(header.gso_size, 1428);
  EXPECT_EQ(header.checksum_start, 40);
  EXPECT_EQ(header.checksum_offset, 16);
}

// The segments of a stream, one by one.
std::vector<wire::Bytes> segments_of(const wire::Bytes& superpacket) {
  std::vector<std::byte> out(8 * 2048);
  std::array<std::size_t, 8> lengths{};
  auto count = segment_tcpv6(kTcpGso, superpacket, out, 2048, lengths);
  EXPECT_TRUE(count);
  std::vector<wire::Bytes> segments;
  for (std::size_t i = 0; count && i < *count; ++i)
    segments.emplace_back(out.begin() + static_cast<long>(i * 2048),
                          out.begin() + static_cast<long>(i * 2048 + lengths[i]));
  return segments;
}

// GRO in user space gives back the superpacket the segments were cut from: same headers and
// payload, a GSO_TCPV6 vnet header with the MSS, and a checksum that completes to a valid one.
TEST(TunOffloadTest, CoalescedSegmentsGiveBackTheSuperpacket) {
  constexpr std::uint8_t kAck = 0x10, kPsh = 0x08;
  const auto original = tcp_superpacket(0xfffff000, kAck | kPsh, 5000);
  TcpCoalescer gro;
  for (const auto& segment : segments_of(original))
    ASSERT_TRUE(gro.add(segment));
  EXPECT_EQ(gro.segments(), 5u);
  const auto taken_span = gro.take();
  const wire::Bytes taken(taken_span.begin(), taken_span.end());
  EXPECT_TRUE(gro.empty());
  ASSERT_EQ(taken.size(), kVnetHeaderSize + original.size());
  const auto vnet = VnetHeader::decode(std::span<const std::byte>(taken).first<kVnetHeaderSize>());
  EXPECT_EQ(vnet.gso_type, VnetHeader::kGsoTcpv6);
  EXPECT_EQ(vnet.gso_size, 1200);
  EXPECT_EQ(vnet.flags, VnetHeader::kNeedsChecksum);
  EXPECT_EQ(vnet.checksum_start, kIpv6);
  EXPECT_EQ(vnet.checksum_offset, 16);
  EXPECT_EQ(vnet.header_length, kIpv6 + 32);
  wire::Bytes packet(taken.begin() + kVnetHeaderSize, taken.end());
  EXPECT_TRUE(std::equal(packet.begin(), packet.begin() + kIpv6 + 16, original.begin()));
  EXPECT_TRUE(std::equal(packet.begin() + kIpv6 + 18, packet.end(), original.begin() + kIpv6 + 18));
  ASSERT_TRUE(complete_checksum(vnet, packet));
  EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:3::2"), addr("2001:db8:1::100"), 6,
                                       wire::ByteSpan(packet).subspan(kIpv6)),
            0);
}

// tcp_gro_receive's limits: only in-order plain data of one connection, valid checksums, and
// nothing after PSH; a single segment comes back as it was, with an empty vnet header.
TEST(TunOffloadTest, CoalescerRefusesWhatTcpMustSeeAlone) {
  constexpr std::uint8_t kAck = 0x10, kPsh = 0x08, kSyn = 0x02;
  const auto stream = segments_of(tcp_superpacket(1000, kAck, 3000));
  ASSERT_EQ(stream.size(), 3u);
  TcpCoalescer gro;
  ASSERT_TRUE(gro.add(stream[0]));
  EXPECT_FALSE(gro.add(stream[2])) << "out of order";
  EXPECT_FALSE(gro.add(stream[0])) << "a retransmission";
  auto other_port = stream[1];
  other_port[kIpv6 + 1] = std::byte{0x89};
  EXPECT_FALSE(gro.add(other_port));
  auto corrupted = stream[1];
  corrupted[kIpv6 + 100] ^= std::byte{0x01};
  EXPECT_FALSE(gro.add(corrupted)) << "bad checksum";
  const auto alone_span = gro.take();
  const wire::Bytes alone(alone_span.begin(), alone_span.end());
  ASSERT_EQ(alone.size(), kVnetHeaderSize + stream[0].size());
  EXPECT_TRUE(std::all_of(alone.begin(), alone.begin() + kVnetHeaderSize,
                          [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_TRUE(std::equal(stream[0].begin(), stream[0].end(), alone.begin() + kVnetHeaderSize));
  EXPECT_FALSE(gro.add(segments_of(tcp_superpacket(1, kSyn | kAck, 100))[0])) << "SYN";
  EXPECT_FALSE(gro.add(tcp_superpacket(1, kAck, 0))) << "no payload";
  const auto pushed = segments_of(tcp_superpacket(1, kAck | kPsh, 1200));
  ASSERT_TRUE(gro.add(pushed[0]));
  EXPECT_FALSE(gro.add(segments_of(tcp_superpacket(1201, kAck, 1200))[0])) << "after PSH";
}

// What tcp6_gro_complete leaves in a merged packet: the checksum field holds the folded
// pseudo-header sum (not complemented) over the merged length.
wire::Bytes gro_merged(std::size_t payload) {
  auto packet = tcp_superpacket(7000, 0x10, payload);
  const auto tcp_length = static_cast<std::uint32_t>(packet.size() - kIpv6);
  std::uint32_t sum = wire::checksum_add(0, wire::ByteSpan(packet).subspan(8, 32));
  sum += (tcp_length >> 16) + (tcp_length & 0xffffu) + 6;
  wire::store_be16(packet.data() + kIpv6 + 16,
                   static_cast<std::uint16_t>(~wire::checksum_finish(sum)));
  return packet;
}

// A merged packet longer than a segment: NEEDS_CSUM and GSO_TCPV6 in segments of at most
// max_segment octets; completing the checksum gives the packet a valid one (RFC 8200 §8.1).
TEST(TunOffloadTest, GroMergedTcpGetsNeedsChecksumAndSegmentsOfTheTunnelsSize) {
  auto packet = gro_merged(5000);
  const auto header = offloaded_tcp_header(packet, 1400);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->flags, VnetHeader::kNeedsChecksum);
  EXPECT_EQ(header->gso_type, VnetHeader::kGsoTcpv6);
  EXPECT_EQ(header->gso_size, 1400 - (kIpv6 + 32));
  EXPECT_EQ(header->header_length, kIpv6 + 32);
  EXPECT_EQ(header->checksum_start, kIpv6);
  EXPECT_EQ(header->checksum_offset, 16);
  ASSERT_TRUE(complete_checksum(*header, packet));
  EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:3::2"), addr("2001:db8:1::100"), 6,
                                       wire::ByteSpan(packet).subspan(kIpv6)),
            0);
}

// Two small segments merged fit one segment: only the checksum is left to the kernel.
TEST(TunOffloadTest, GroMergedTcpWithinOneSegmentGetsNeedsChecksumOnly) {
  const auto header = offloaded_tcp_header(gro_merged(300), 1400);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->flags, VnetHeader::kNeedsChecksum);
  EXPECT_EQ(header->gso_type, VnetHeader::kGsoNone);
  EXPECT_EQ(header->gso_size, 0);
}

// Everything else is written as it is: a complete checksum (valid or not), another protocol,
// a Payload Length that is not the packet's, a TCP header longer than the packet.
TEST(TunOffloadTest, PacketsWithoutAnOffloadedChecksumAreLeftAlone) {
  const auto complete = segments_of(tcp_superpacket(1, 0x10, 1000)).front();
  EXPECT_FALSE(offloaded_tcp_header(complete, 1400));
  auto corrupted = complete;
  corrupted[kIpv6 + 100] ^= std::byte{0x01};
  EXPECT_FALSE(offloaded_tcp_header(corrupted, 1400));
  auto udp = gro_merged(300);
  udp[6] = std::byte{17};
  EXPECT_FALSE(offloaded_tcp_header(udp, 1400));
  auto truncated = gro_merged(300);
  truncated.resize(truncated.size() - 1);
  EXPECT_FALSE(offloaded_tcp_header(truncated, 1400));
  auto long_header = gro_merged(0);
  long_header[kIpv6 + 12] = std::byte{0xf0};  // Data Offset 15: 60 octets, past the packet
  EXPECT_FALSE(offloaded_tcp_header(long_header, 1400));
  EXPECT_FALSE(offloaded_tcp_header(wire::Bytes(30), 1400));
}

TEST(TunOffloadTest, VnetHeaderEncodesTheLayoutItDecodes) {
  const VnetHeader header{.flags = VnetHeader::kNeedsChecksum,
                          .gso_type = VnetHeader::kGsoTcpv6,
                          .header_length = 72,
                          .gso_size = 1188,
                          .checksum_start = 40,
                          .checksum_offset = 16};
  const auto bytes = header.encode();
  const auto back = VnetHeader::decode(bytes);
  EXPECT_EQ(back.flags, header.flags);
  EXPECT_EQ(back.gso_type, header.gso_type);
  EXPECT_EQ(back.header_length, header.header_length);
  EXPECT_EQ(back.gso_size, header.gso_size);
  EXPECT_EQ(back.checksum_start, header.checksum_start);
  EXPECT_EQ(back.checksum_offset, header.checksum_offset);
}

// The kernel takes a GRO-merged packet written under its offload header: forwarded to a TUN
// without offloads, it comes out as segments of at most the given size, each with a valid
// checksum, carrying the whole payload in order.
TEST_F(TunTest, GroMergedPacketWrittenUnderItsOffloadHeaderIsForwardedAsValidSegments) {
  std::optional<Sysctls> sysctls(std::in_place);
  ASSERT_TRUE(sysctls->set("net/ipv6/conf/all/forwarding", "1"));
  auto in = TunDevice::create("mtun%d", {.vnet_header = true});
  ASSERT_TRUE(in) << in.error().message;
  ASSERT_TRUE(netlink_->set_link_up(in->ifindex(), true));
  TunDevice out = make_tun(addr("2001:db8:5::1"), addr("2001:db8:1::"));
  const auto original = gro_merged(5000);
  auto packet = original;
  const auto header = offloaded_tcp_header(packet, 1400);
  ASSERT_TRUE(header);
  ASSERT_TRUE(in->write(*header, packet));
  wire::Bytes stream;
  std::vector<std::size_t> sizes;
  while (stream.size() < 5000) {
    auto segment = read_until(out, [](const wire::Bytes& p) {
      return p.size() > kIpv6 + 32 && std::to_integer<std::uint8_t>(p[6]) == 6;
    });
    ASSERT_TRUE(segment) << "after " << stream.size() << " octets";
    sizes.push_back(segment->size());
    EXPECT_LE(segment->size(), 1400u);
    EXPECT_EQ(std::to_integer<std::uint8_t>((*segment)[7]), 62) << "forwarded once";
    EXPECT_EQ(wire::upper_layer_checksum(addr("2001:db8:3::2"), addr("2001:db8:1::100"), 6,
                                         wire::ByteSpan(*segment).subspan(kIpv6)),
              0);
    stream.insert(stream.end(), segment->begin() + kIpv6 + 32, segment->end());
  }
  EXPECT_GE(sizes.size(), 4u);
  EXPECT_TRUE(
      std::equal(stream.begin(), stream.end(), original.begin() + kIpv6 + 32, original.end()));
}

}  // namespace
}  // namespace mipv6::linux_dp
