#include "linux/tun.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wire/checksum.h"

namespace mipv6::linux_dp {

Result<TunDevice> TunDevice::create(std::string_view name, TunOptions options) {
  if (name.size() >= IFNAMSIZ) return make_error("TUN name " + std::string(name), ENAMETOOLONG);
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (options.vnet_header) ifr.ifr_flags |= IFF_VNET_HDR;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return errno_error("TUNSETIFF " + std::string(name));
  // A device the daemon creates must not outlive it (issue 8: no trace after exit).
  if (::ioctl(fd.get(), TUNSETPERSIST, 0) < 0) return errno_error("TUNSETPERSIST 0");
  std::string actual(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  unsigned ifindex = ::if_nametoindex(actual.c_str());
  if (ifindex == 0) return errno_error("if_nametoindex " + actual);
  return TunDevice(std::move(fd), std::move(actual), ifindex, options.vnet_header);
}

Status TunDevice::set_mtu(std::uint32_t mtu) {
  UniqueFd control(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control.valid()) return errno_error("socket for SIOCSIFMTU");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(control.get(), SIOCSIFMTU, &ifr) < 0)
    return errno_error("SIOCSIFMTU " + std::to_string(mtu) + " on " + name_);
  return {};
}

Status TunDevice::set_tx_queue_length(std::uint32_t packets) {
  UniqueFd control(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control.valid()) return errno_error("socket for SIOCSIFTXQLEN");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  ifr.ifr_qlen = static_cast<int>(packets);
  if (::ioctl(control.get(), SIOCSIFTXQLEN, &ifr) < 0)
    return errno_error("SIOCSIFTXQLEN " + std::to_string(packets) + " on " + name_);
  return {};
}

Result<std::uint32_t> TunDevice::tx_queue_length() const {
  UniqueFd control(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control.valid()) return errno_error("socket for SIOCGIFTXQLEN");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  if (::ioctl(control.get(), SIOCGIFTXQLEN, &ifr) < 0)
    return errno_error("SIOCGIFTXQLEN on " + name_);
  return static_cast<std::uint32_t>(ifr.ifr_qlen);
}

Result<std::size_t> TunDevice::read(std::span<std::byte> buffer) {
  while (true) {
    ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return errno_error("read " + name_);
  }
}

Status TunDevice::set_offload(unsigned flags) {
  if (::ioctl(fd_.get(), TUNSETOFFLOAD, static_cast<unsigned long>(flags)) < 0)
    return errno_error("TUNSETOFFLOAD on " + name_);
  return {};
}

Status TunDevice::write(wire::ByteSpan packet) {
  if (!vnet_header_) return write_parts(nullptr, packet);
  const std::array<std::byte, kVnetHeaderSize> nothing_to_do{};  // GSO_NONE, no flags
  return write_parts(nothing_to_do.data(), packet);
}

Status TunDevice::write(const VnetHeader& header, wire::ByteSpan packet) {
  if (!vnet_header_) return make_error("write with a vnet header on " + name_, EINVAL);
  const auto encoded = header.encode();
  return write_parts(encoded.data(), packet);
}

Status TunDevice::write_parts(const std::byte* vnet, wire::ByteSpan packet) {
  std::array<iovec, 2> parts{};
  std::size_t count = 0;
  if (vnet != nullptr) parts[count++] = iovec{const_cast<std::byte*>(vnet), kVnetHeaderSize};
  parts[count++] = iovec{const_cast<std::byte*>(packet.data()), packet.size()};
  const std::size_t total = packet.size() + (vnet != nullptr ? kVnetHeaderSize : 0);
  while (true) {
    ssize_t n = ::writev(fd_.get(), parts.data(), static_cast<int>(count));
    if (n >= 0) {
      // The TUN driver takes a packet whole or not at all.
      if (static_cast<std::size_t>(n) != total) return make_error("write " + name_, EIO);
      return {};
    }
    if (errno != EINTR) return errno_error("write " + name_);
  }
}

Status TunDevice::write_with_vnet_header(wire::ByteSpan bytes) {
  if (!vnet_header_ || bytes.size() < kVnetHeaderSize)
    return make_error("write with a vnet header on " + name_, EINVAL);
  while (true) {
    ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n >= 0) {
      if (static_cast<std::size_t>(n) != bytes.size()) return make_error("write " + name_, EIO);
      return {};
    }
    if (errno != EINTR) return errno_error("write " + name_);
  }
}

// struct virtio_net_hdr: flags, gso_type, then hdr_len, gso_size, csum_start, csum_offset as
// 16-bit words in the host's byte order (<linux/virtio_net.h> itself does not compile as C++).
VnetHeader VnetHeader::decode(std::span<const std::byte, kVnetHeaderSize> bytes) {
  auto word = [&](std::size_t offset) {
    std::uint16_t value = 0;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
  };
  return VnetHeader{.flags = std::to_integer<std::uint8_t>(bytes[0]),
                    .gso_type = std::to_integer<std::uint8_t>(bytes[1]),
                    .header_length = word(2),
                    .gso_size = word(4),
                    .checksum_start = word(6),
                    .checksum_offset = word(8)};
}

std::array<std::byte, kVnetHeaderSize> VnetHeader::encode() const {
  std::array<std::byte, kVnetHeaderSize> bytes{};
  bytes[0] = std::byte{flags};
  bytes[1] = std::byte{gso_type};
  const std::uint16_t words[] = {header_length, gso_size, checksum_start, checksum_offset};
  std::memcpy(bytes.data() + 2, words, sizeof words);
  return bytes;
}

namespace {

constexpr std::size_t kIpv6Header = 40;
constexpr std::uint8_t kTcp = 6;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;

// RFC 8200 §8.1: `payload_sum` (checksum_add() over the TCP payload, taken while it was
// copied), plus the pseudo-header of TCP right after the IPv6 header (the segment's own
// addresses and length), plus the TCP header's `tcp_header` octets as they stand.
std::uint32_t tcp_segment_sum(wire::ByteSpan segment, std::size_t tcp_header,
                              std::uint32_t payload_sum) {
  const auto tcp_length = static_cast<std::uint32_t>(segment.size() - kIpv6Header);
  std::uint32_t sum = wire::checksum_add(payload_sum, segment.subspan(8, 32));
  sum = wire::checksum_add(sum, segment.subspan(kIpv6Header, tcp_header));
  const std::uint64_t total =
      std::uint64_t{sum} + (tcp_length >> 16) + (tcp_length & 0xffffu) + kTcp;
  return static_cast<std::uint32_t>((total & 0xffffffffu) + (total >> 32));
}

void fill_tcp_checksum(std::span<std::byte> segment, std::size_t tcp_header,
                       std::uint32_t payload_sum) {
  wire::store_be16(segment.data() + kIpv6Header + 16, 0);
  wire::store_be16(segment.data() + kIpv6Header + 16,
                   wire::checksum_finish(tcp_segment_sum(segment, tcp_header, payload_sum)));
}

}  // namespace

Status complete_checksum(const VnetHeader& header, std::span<std::byte> packet) {
  const std::size_t field = std::size_t{header.checksum_start} + header.checksum_offset;
  if (header.checksum_start >= packet.size() || field + 2 > packet.size())
    return make_error("NEEDS_CSUM offsets beyond the packet", EINVAL);
  std::uint16_t sum =
      wire::checksum_finish(wire::checksum_add(0, packet.subspan(header.checksum_start)));
  // RFC 768 / RFC 8200 §8.1: a computed 0 goes out as its other one's-complement form.
  if (sum == 0) sum = 0xffff;
  wire::store_be16(packet.data() + field, sum);
  return {};
}

Result<std::size_t> segment_tcpv6(const VnetHeader& header, wire::ByteSpan packet,
                                  std::span<std::byte> out, std::size_t stride,
                                  std::span<std::size_t> lengths) {
  if (header.gso_type != VnetHeader::kGsoTcpv6 || header.gso_size == 0 ||
      header.checksum_start != kIpv6Header || packet.size() < kIpv6Header + kTcpMinHeader ||
      std::to_integer<std::uint8_t>(packet[6]) != kTcp)
    return make_error("GSO packet other than TCP right after IPv6", EINVAL);
  const std::size_t tcp_header = (std::to_integer<std::size_t>(packet[kIpv6Header + 12]) >> 4) * 4;
  const std::size_t headers = kIpv6Header + tcp_header;
  if (tcp_header < kTcpMinHeader || headers > packet.size())
    return make_error("GSO packet with a malformed TCP header", EINVAL);
  const std::size_t payload = packet.size() - headers;
  const std::size_t count = payload == 0 ? 1 : (payload + header.gso_size - 1) / header.gso_size;
  if (count > lengths.size() || count * stride > out.size() || headers + header.gso_size > stride)
    return make_error("GSO packet larger than the segment buffers", EMSGSIZE);
  const std::uint32_t sequence = wire::load_be32(packet.data() + kIpv6Header + 4);
  const std::uint8_t flags = std::to_integer<std::uint8_t>(packet[kIpv6Header + 13]);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t offset = i * header.gso_size;
    const std::size_t chunk = std::min<std::size_t>(header.gso_size, payload - offset);
    auto segment = out.subspan(i * stride, headers + chunk);
    std::memcpy(segment.data(), packet.data(), headers);
    const std::uint32_t payload_sum =
        wire::checksum_copy(0, packet.subspan(headers + offset, chunk), segment.subspan(headers));
    wire::store_be16(segment.data() + 4, static_cast<std::uint16_t>(segment.size() - kIpv6Header));
    wire::store_be32(segment.data() + kIpv6Header + 4,
                     sequence + static_cast<std::uint32_t>(offset));
    std::uint8_t segment_flags = flags;
    if (i + 1 < count) segment_flags &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh));
    if (i > 0) segment_flags &= static_cast<std::uint8_t>(~kTcpCwr);
    segment[kIpv6Header + 13] = static_cast<std::byte>(segment_flags);
    fill_tcp_checksum(segment, tcp_header, payload_sum);
    lengths[i] = segment.size();
  }
  return count;
}

namespace {

constexpr std::size_t kMaxIpv6Packet = kIpv6Header + 65535;
constexpr std::uint8_t kTcpAck = 0x10;
constexpr std::size_t kFlagsOffset = kIpv6Header + 13;

// Only plain data segments: ACK, perhaps PSH; never SYN, FIN, RST, URG, ECE, CWR, which the
// receiving TCP must see on the segment they came with.
bool plain_data_flags(wire::ByteSpan packet) {
  const auto flags = std::to_integer<std::uint8_t>(packet[kFlagsOffset]);
  return (flags & kTcpAck) != 0 && (flags & ~(kTcpAck | kTcpPsh)) == 0;
}

// The TCP header length of a segment that is TCP right after a complete IPv6 header, or 0.
std::size_t tcp_header_length(wire::ByteSpan packet) {
  if (packet.size() < kIpv6Header + kTcpMinHeader) return 0;
  if (std::to_integer<std::uint8_t>(packet[6]) != kTcp) return 0;
  if (wire::load_be16(packet.data() + 4) != packet.size() - kIpv6Header) return 0;
  const std::size_t length = (std::to_integer<std::size_t>(packet[kIpv6Header + 12]) >> 4) * 4;
  if (length < kTcpMinHeader || kIpv6Header + length > packet.size()) return 0;
  return length;
}

// RFC 8200 §8.1: the pseudo-header of TCP right after the IPv6 header, summed and folded but
// not complemented — what a NEEDS_CSUM checksum field holds (virtio 1.1 §5.1.6.2.1).
std::uint16_t pseudo_header_sum(wire::ByteSpan packet) {
  const auto tcp_length = static_cast<std::uint32_t>(packet.size() - kIpv6Header);
  std::uint32_t sum = wire::checksum_add(0, packet.subspan(8, 32));
  sum += (tcp_length >> 16) + (tcp_length & 0xffffu) + kTcp;
  return static_cast<std::uint16_t>(~wire::checksum_finish(sum));
}

}  // namespace

std::optional<VnetHeader> offloaded_tcp_header(wire::ByteSpan packet, std::size_t max_segment) {
  const std::size_t tcp_header = tcp_header_length(packet);
  if (tcp_header == 0 ||
      wire::load_be16(packet.data() + kIpv6Header + 16) != pseudo_header_sum(packet))
    return std::nullopt;
  const std::size_t headers = kIpv6Header + tcp_header;
  VnetHeader header{.flags = VnetHeader::kNeedsChecksum,
                    .header_length = static_cast<std::uint16_t>(headers),
                    .checksum_start = kIpv6Header,
                    .checksum_offset = 16};
  // Segments the size the tunnel carried at most: the kernel cuts the packet again only where
  // it must (forwarding to a link, not delivery to a local socket).
  if (max_segment > headers && packet.size() > max_segment) {
    header.gso_type = VnetHeader::kGsoTcpv6;
    header.gso_size = static_cast<std::uint16_t>(max_segment - headers);
  }
  return header;
}

TcpCoalescer::TcpCoalescer() : buffer_(kVnetHeaderSize + kMaxIpv6Packet) {}

// The segment's payload copied to `to` and its checksum verified in the same pass; false when
// it does not verify (what was copied is then ignored: it lies past length_).
bool TcpCoalescer::copy_verified(wire::ByteSpan packet, std::size_t headers, std::byte* to) {
  const std::size_t payload = packet.size() - headers;
  const std::uint32_t payload_sum =
      wire::checksum_copy(0, packet.subspan(headers), std::span<std::byte>(to, payload));
  return wire::checksum_finish(tcp_segment_sum(packet, headers - kIpv6Header, payload_sum)) == 0;
}

bool TcpCoalescer::start(wire::ByteSpan packet) {
  const std::size_t tcp_header = tcp_header_length(packet);
  if (tcp_header == 0 || packet.size() == kIpv6Header + tcp_header || !plain_data_flags(packet))
    return false;
  const std::size_t headers = kIpv6Header + tcp_header;
  std::byte* first = buffer_.data() + kVnetHeaderSize;
  if (!copy_verified(packet, headers, first + headers)) return false;
  std::memcpy(first, packet.data(), headers);
  length_ = packet.size();
  headers_ = headers;
  mss_ = packet.size() - headers_;
  last_payload_ = mss_;
  next_sequence_ =
      wire::load_be32(packet.data() + kIpv6Header + 4) + static_cast<std::uint32_t>(mss_);
  segments_ = 1;
  closed_ = (std::to_integer<std::uint8_t>(packet[kFlagsOffset]) & kTcpPsh) != 0;
  return true;
}

// tcp_gro_receive's rules: same flow, same headers, in order, no segment after a short one.
bool TcpCoalescer::fits(wire::ByteSpan packet) const {
  const std::byte* first = buffer_.data() + kVnetHeaderSize;
  const std::size_t payload = packet.size() - headers_;
  if (closed_ || last_payload_ != mss_ || payload == 0 || payload > mss_ ||
      length_ + payload > kMaxIpv6Packet || tcp_header_length(packet) + kIpv6Header != headers_ ||
      !plain_data_flags(packet) ||
      wire::load_be32(packet.data() + kIpv6Header + 4) != next_sequence_)
    return false;
  auto same = [&](std::size_t from, std::size_t to) {
    return std::memcmp(first + from, packet.data() + from, to - from) == 0;
  };
  // Version, Traffic Class, Flow Label; Next Header, Hop Limit, addresses; ports; then the
  // TCP header past the Sequence Number, except flags (PSH) and the checksum.
  return same(0, 4) && same(6, kIpv6Header + 4) && same(kIpv6Header + 8, kFlagsOffset) &&
         same(kFlagsOffset + 1, kIpv6Header + 16) && same(kIpv6Header + 18, headers_);
}

bool TcpCoalescer::add(wire::ByteSpan packet) {
  if (segments_ == 0) return start(packet);
  if (packet.size() < headers_ || !fits(packet) ||
      !copy_verified(packet, headers_, buffer_.data() + kVnetHeaderSize + length_))
    return false;
  const std::size_t payload = packet.size() - headers_;
  length_ += payload;
  last_payload_ = payload;
  next_sequence_ += static_cast<std::uint32_t>(payload);
  ++segments_;
  const auto flags = std::to_integer<std::uint8_t>(packet[kFlagsOffset]);
  if ((flags & kTcpPsh) != 0) {
    buffer_[kVnetHeaderSize + kFlagsOffset] |= std::byte{kTcpPsh};
    closed_ = true;
  }
  return true;
}

wire::ByteSpan TcpCoalescer::take() {
  std::byte* vnet = buffer_.data();
  std::byte* packet = vnet + kVnetHeaderSize;
  std::memset(vnet, 0, kVnetHeaderSize);
  if (segments_ > 1) {
    // virtio 1.1 §5.1.6.2: a GSO packet carries NEEDS_CSUM, its checksum field the pseudo-header
    // sum; the segments' checksums were verified on the way in.
    wire::store_be16(packet + 4, static_cast<std::uint16_t>(length_ - kIpv6Header));
    wire::store_be16(packet + kIpv6Header + 16, pseudo_header_sum(wire::ByteSpan(packet, length_)));
    const std::uint16_t words[] = {static_cast<std::uint16_t>(headers_),
                                   static_cast<std::uint16_t>(mss_),
                                   static_cast<std::uint16_t>(kIpv6Header), 16};
    vnet[0] = std::byte{VnetHeader::kNeedsChecksum};
    vnet[1] = std::byte{VnetHeader::kGsoTcpv6};
    std::memcpy(vnet + 2, words, sizeof words);
  }
  const std::size_t total = kVnetHeaderSize + length_;
  segments_ = 0;
  length_ = 0;
  return wire::ByteSpan(vnet, total);
}

}  // namespace mipv6::linux_dp
