#include "linux/raw_socket.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace mipv6::linux_dp {

namespace {

constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kDestinationOffset = 24;
// Room for pktinfo, hop limit and a Destination Options header of the largest size (2048 bytes).
constexpr std::size_t kControlBuffer = 2304;
constexpr int kTunnelSenderHopLimit = 64;  // wire::TunnelSpec's default

sockaddr_in6 socket_address(const wire::Ipv6Address& address) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  std::memcpy(&sa.sin6_addr, address.bytes.data(), 16);
  return sa;
}

wire::Ipv6Address address_of(const in6_addr& a) {
  wire::Ipv6Address out;
  std::memcpy(out.bytes.data(), &a, 16);
  return out;
}

// Ancillary data is walked by hand: the CMSG_* macros cast in ways -Wold-style-cast rejects.
class ControlWriter {
 public:
  explicit ControlWriter(std::span<std::byte> buffer) : buffer_(buffer) {}
  template <class T>
  void add(int level, int type, const T& value) {
    cmsghdr header{};
    header.cmsg_level = level;
    header.cmsg_type = type;
    header.cmsg_len = CMSG_LEN(sizeof(T));
    std::memcpy(buffer_.data() + used_, &header, sizeof header);
    std::memcpy(buffer_.data() + used_ + CMSG_LEN(0), &value, sizeof(T));
    used_ += CMSG_SPACE(sizeof(T));
  }
  void* data() { return used_ == 0 ? nullptr : buffer_.data(); }
  std::size_t size() const { return used_; }

 private:
  std::span<std::byte> buffer_;
  std::size_t used_ = 0;
};

void parse_control(const std::byte* control, std::size_t length, ReceivedPacket& out) {
  std::size_t offset = 0;
  while (offset + sizeof(cmsghdr) <= length) {
    cmsghdr header{};
    std::memcpy(&header, control + offset, sizeof header);
    if (header.cmsg_len < CMSG_LEN(0) || offset + header.cmsg_len > length) return;
    const std::byte* data = control + offset + CMSG_LEN(0);
    std::size_t data_length = header.cmsg_len - CMSG_LEN(0);
    if (header.cmsg_level == IPPROTO_IPV6) {
      if (header.cmsg_type == IPV6_PKTINFO && data_length >= sizeof(in6_pktinfo)) {
        in6_pktinfo info{};
        std::memcpy(&info, data, sizeof info);
        out.destination = address_of(info.ipi6_addr);
        out.ifindex = info.ipi6_ifindex;
      } else if (header.cmsg_type == IPV6_HOPLIMIT && data_length >= sizeof(int)) {
        int hop_limit = 0;
        std::memcpy(&hop_limit, data, sizeof hop_limit);
        out.hop_limit = hop_limit;
      } else if (header.cmsg_type == IPV6_DSTOPTS) {
        out.destination_options = wire::Bytes(data, data + data_length);
      }
    }
    offset += CMSG_ALIGN(header.cmsg_len);
  }
}

}  // namespace

Result<RawSocket> RawSocket::open(int protocol, std::string_view what) {
  UniqueFd fd(::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
  if (!fd.valid()) return errno_error(std::string("socket ") + std::string(what));
  RawSocket socket(std::move(fd), protocol);
  if (auto s = socket.set_option(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"); !s)
    return s.error();
  if (auto s = socket.set_option(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"); !s)
    return s.error();
  return socket;
}

Status RawSocket::set_option(int level, int name, int value, std::string_view what) {
  if (::setsockopt(fd_.get(), level, name, &value, sizeof value) < 0)
    return errno_error("setsockopt " + std::string(what));
  return {};
}

Result<RawSocket> RawSocket::open_mobility() {
  auto socket = open(kProtocolMobility, "Mobility Header");
  if (!socket) return socket;
  // RFC 6275 §6.1.1: the MH checksum covers the pseudo-header; the kernel computes it on send
  // and silently drops a received MH whose checksum is wrong (DESIGN.md §3).
  if (auto s =
          socket->set_option(IPPROTO_IPV6, IPV6_CHECKSUM, kMobilityChecksumOffset, "IPV6_CHECKSUM");
      !s)
    return s.error();
  return socket;
}

Result<RawSocket> RawSocket::open_icmpv6(std::span<const std::uint8_t> accepted_types) {
  auto socket = open(IPPROTO_ICMPV6, "ICMPv6");
  if (!socket) return socket;
  // Linux's ICMP6_FILTER: a set bit blocks the type; start from "block all".
  std::array<std::uint32_t, 8> blocked{};
  blocked.fill(0xFFFFFFFFu);
  for (std::uint8_t type : accepted_types)
    blocked[type >> 5] &= ~(std::uint32_t{1} << (type & 31u));
  icmp6_filter filter{};
  static_assert(sizeof filter == sizeof blocked);
  std::memcpy(&filter, blocked.data(), sizeof filter);
  if (::setsockopt(socket->fd(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0)
    return errno_error("setsockopt ICMP6_FILTER");
  return socket;
}

Result<RawSocket> RawSocket::open_ipv6_in_ipv6() {
  return open(kProtocolIpv6InIpv6, "IPv6-in-IPv6");
}

Result<RawSocket> RawSocket::open_tunnel_sender() {
  auto socket = open(kProtocolIpv6InIpv6, "IPv6-in-IPv6 sender");
  if (!socket) return socket;
  // Raw sockets bound to an address receive only what is sent to it: bound to ::1, this one
  // never takes a copy of the tunnelled packets arriving for the receiving socket.
  wire::Ipv6Address loopback;
  loopback.bytes[15] = 1;
  if (auto bound = socket->bind_address(loopback); !bound) return bound.error();
  // The outer header as wire::encapsulate writes it (RFC 2473 §3): Hop Limit 64 unless a
  // packet says otherwise, and Flow Label 0 — no automatic label (nor its hash per packet).
  if (auto s = socket->set_option(IPPROTO_IPV6, IPV6_UNICAST_HOPS, kTunnelSenderHopLimit,
                                  "IPV6_UNICAST_HOPS");
      !s)
    return s.error();
  if (auto s = socket->set_option(IPPROTO_IPV6, IPV6_AUTOFLOWLABEL, 0, "IPV6_AUTOFLOWLABEL"); !s)
    return s.error();
  return socket;
}

bool is_plain_tunnel_packet(wire::ByteSpan packet) {
  constexpr std::size_t kNextHeaderOffset = 6;
  if (packet.size() < 2 * kIpv6HeaderSize) return false;
  const bool version_6 = (std::to_integer<unsigned>(packet[0]) >> 4) == 6;
  const bool no_flow_label = (std::to_integer<unsigned>(packet[1]) & 0x0f) == 0 &&
                             packet[2] == std::byte{0} && packet[3] == std::byte{0};
  const std::size_t payload_length =
      (std::to_integer<std::size_t>(packet[4]) << 8) | std::to_integer<std::size_t>(packet[5]);
  return version_6 && no_flow_label &&
         std::to_integer<std::uint8_t>(packet[kNextHeaderOffset]) == kProtocolIpv6InIpv6 &&
         payload_length == packet.size() - kIpv6HeaderSize;
}

Result<RawSocket> RawSocket::open_esp() {
  return open(kProtocolEsp, "ESP");
}

Result<RawSocket> RawSocket::open_header_included() {
  // For AF_INET6, IPPROTO_RAW implies IPV6_HDRINCL: the caller's header goes out as given.
  return open(IPPROTO_RAW, "IPPROTO_RAW");
}

Status RawSocket::bind_to_device(std::string_view interface_name) {
  std::string name(interface_name);
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_BINDTODEVICE, name.c_str(),
                   static_cast<socklen_t>(name.size())) < 0)
    return errno_error("SO_BINDTODEVICE " + name);
  return {};
}

Status RawSocket::set_mark(std::uint32_t mark) {
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
    return errno_error("SO_MARK " + std::to_string(mark));
  return {};
}

Status RawSocket::set_multicast_group(const wire::Ipv6Address& group, std::uint32_t ifindex,
                                      bool join) {
  ipv6_mreq request{};
  std::memcpy(&request.ipv6mr_multiaddr, group.bytes.data(), group.bytes.size());
  request.ipv6mr_interface = ifindex;
  const int option = join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP;
  if (::setsockopt(fd_.get(), IPPROTO_IPV6, option, &request, sizeof request) < 0)
    return errno_error(std::string(join ? "IPV6_JOIN_GROUP " : "IPV6_LEAVE_GROUP ") +
                       group.to_string() + " on ifindex " + std::to_string(ifindex));
  return {};
}

Status RawSocket::set_receive_buffer(int bytes) {
  // SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; SO_RCVBUF is the fallback.
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) == 0) return {};
  return set_option(SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF");
}

Status RawSocket::set_multicast_loop(bool enabled) {
  return set_option(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, enabled ? 1 : 0, "IPV6_MULTICAST_LOOP");
}

Status RawSocket::bind_address(const wire::Ipv6Address& address) {
  sockaddr_in6 sa = socket_address(address);
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0)
    return errno_error("bind " + address.to_string());
  return {};
}

Status RawSocket::join_anycast(const wire::Ipv6Address& address, std::uint32_t ifindex) {
  // RFC 6275 §10.5: a home agent answers DHAAD requests sent to the home subnet's Mobile IPv6
  // Home-Agents anycast address (RFC 2526); the kernel then treats it as a local address.
  ipv6_mreq request{};
  std::memcpy(&request.ipv6mr_multiaddr, address.bytes.data(), 16);
  request.ipv6mr_interface = ifindex;
  if (::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_JOIN_ANYCAST, &request, sizeof request) < 0)
    return errno_error("IPV6_JOIN_ANYCAST " + address.to_string() + " on ifindex " +
                       std::to_string(ifindex));
  return {};
}

Status RawSocket::receive_destination_options(bool enabled) {
  return set_option(IPPROTO_IPV6, IPV6_RECVDSTOPTS, enabled ? 1 : 0, "IPV6_RECVDSTOPTS");
}

Result<ReceivedPacket> RawSocket::receive(std::span<std::byte> buffer) {
  sockaddr_in6 from{};
  iovec iov{buffer.data(), buffer.size()};
  alignas(cmsghdr) std::array<std::byte, kControlBuffer> control{};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n = 0;
  do {
    n = ::recvmsg(fd_.get(), &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("recvmsg protocol " + std::to_string(protocol_));
  ReceivedPacket packet;
  packet.length = static_cast<std::size_t>(n);
  packet.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  packet.source = address_of(from.sin6_addr);
  parse_control(control.data(), msg.msg_controllen, packet);
  return packet;
}

Result<std::size_t> RawSocket::receive_batch(std::span<const std::span<std::byte>> buffers,
                                             std::span<ReceivedPacket> packets) {
  const std::size_t wanted = std::min({buffers.size(), packets.size(), kBatchSize});
  if (wanted == 0) return make_error("receive_batch without buffers", EINVAL);
  std::array<sockaddr_in6, kBatchSize> from{};
  std::array<iovec, kBatchSize> iov{};
  // Not zeroed: the kernel writes msg_controllen octets of it.
  alignas(cmsghdr) std::array<std::array<std::byte, kControlBuffer>, kBatchSize> control;
  std::array<mmsghdr, kBatchSize> messages{};
  for (std::size_t i = 0; i < wanted; ++i) {
    iov[i] = iovec{buffers[i].data(), buffers[i].size()};
    msghdr& msg = messages[i].msg_hdr;
    msg.msg_name = &from[i];
    msg.msg_namelen = sizeof from[i];
    msg.msg_iov = &iov[i];
    msg.msg_iovlen = 1;
    msg.msg_control = control[i].data();
    msg.msg_controllen = control[i].size();
  }
  int n = 0;
  do {
    n = ::recvmmsg(fd_.get(), messages.data(), static_cast<unsigned>(wanted), 0, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno_error("recvmmsg protocol " + std::to_string(protocol_));
  const auto count = static_cast<std::size_t>(n);
  for (std::size_t i = 0; i < count; ++i) {
    const msghdr& msg = messages[i].msg_hdr;
    ReceivedPacket& packet = packets[i];
    packet = ReceivedPacket{};
    packet.length = std::min<std::size_t>(messages[i].msg_len, buffers[i].size());
    packet.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
    packet.source = address_of(from[i].sin6_addr);
    parse_control(control[i].data(), msg.msg_controllen, packet);
  }
  return count;
}

Status RawSocket::send(wire::ByteSpan payload, const wire::Ipv6Address& destination,
                       const SendOptions& options) {
  sockaddr_in6 to = socket_address(destination);
  to.sin6_scope_id = options.ifindex;  // needed for a link-local destination
  alignas(cmsghdr) std::array<std::byte, 128> control{};
  ControlWriter writer(control);
  if (options.source || options.ifindex != 0) {
    in6_pktinfo info{};
    if (options.source) std::memcpy(&info.ipi6_addr, options.source->bytes.data(), 16);
    info.ipi6_ifindex = options.ifindex;
    writer.add(IPPROTO_IPV6, IPV6_PKTINFO, info);
  }
  if (options.hop_limit) writer.add(IPPROTO_IPV6, IPV6_HOPLIMIT, *options.hop_limit);
  iovec iov{const_cast<std::byte*>(payload.data()), payload.size()};
  msghdr msg{};
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = writer.data();
  msg.msg_controllen = writer.size();
  ssize_t n = 0;
  do {
    n = ::sendmsg(fd_.get(), &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno_error("sendmsg protocol " + std::to_string(protocol_) + " to " +
                       destination.to_string());
  return {};
}

Status RawSocket::send_packet(wire::ByteSpan packet, std::uint32_t ifindex) {
  if (protocol_ != IPPROTO_RAW)
    return make_error("send_packet on a socket not IPPROTO_RAW", EINVAL);
  if (packet.size() < kIpv6HeaderSize)
    return make_error("send_packet: shorter than an IPv6 header", EINVAL);
  wire::Ipv6Address destination;
  std::memcpy(destination.bytes.data(), packet.data() + kDestinationOffset, 16);
  SendOptions options;
  options.ifindex = ifindex;
  return send(packet, destination, options);
}

namespace {

// One message of a sendmmsg() batch: where it goes and its ancillary data (IPV6_PKTINFO, and
// for a re-encapsulated packet IPV6_HOPLIMIT and IPV6_TCLASS), kept alive until sent.
struct BatchSlot {
  sockaddr_in6 to{};
  iovec iov{};
  alignas(cmsghdr) std::array<std::byte, CMSG_SPACE(sizeof(in6_pktinfo)) +
                                             2 * CMSG_SPACE(sizeof(int))> control{};
};

// `packet` is a whole IPv6 packet. Header-included: it goes as it is. With `strip_header` (a
// protocol-41 socket) only its payload goes, and the kernel builds the same header again from
// the destination, the source (IPV6_PKTINFO), the Hop Limit and the Traffic Class.
void prepare_slot(BatchSlot& slot, mmsghdr& message, wire::ByteSpan packet, std::uint32_t ifindex,
                  bool strip_header) {
  constexpr std::size_t kSourceOffset = 8;
  wire::Ipv6Address destination;
  std::memcpy(destination.bytes.data(), packet.data() + kDestinationOffset, 16);
  slot.to = socket_address(destination);
  slot.to.sin6_scope_id = ifindex;
  in6_pktinfo info{};
  std::memcpy(&info.ipi6_addr, packet.data() + kSourceOffset, 16);
  info.ipi6_ifindex = ifindex;
  ControlWriter writer(slot.control);
  writer.add(IPPROTO_IPV6, IPV6_PKTINFO, info);
  if (strip_header) {
    // Only what differs from the socket's own settings (open_tunnel_sender): each control
    // message costs the kernel a parse per packet.
    const int hop_limit = std::to_integer<int>(packet[7]);
    const int traffic_class =
        (std::to_integer<int>(packet[0]) & 0x0f) << 4 | std::to_integer<int>(packet[1]) >> 4;
    if (hop_limit != kTunnelSenderHopLimit) writer.add(IPPROTO_IPV6, IPV6_HOPLIMIT, hop_limit);
    if (traffic_class != 0) writer.add(IPPROTO_IPV6, IPV6_TCLASS, traffic_class);
    packet = packet.subspan(kIpv6HeaderSize);
  }
  slot.iov = iovec{const_cast<std::byte*>(packet.data()), packet.size()};
  message = mmsghdr{};
  message.msg_hdr.msg_name = &slot.to;
  message.msg_hdr.msg_namelen = sizeof slot.to;
  message.msg_hdr.msg_iov = &slot.iov;
  message.msg_hdr.msg_iovlen = 1;
  message.msg_hdr.msg_control = writer.data();
  message.msg_hdr.msg_controllen = writer.size();
}

void note_failure(BatchSendResult& result, Error error) {
  ++result.failed;
  if (!result.first_error) result.first_error = std::move(error);
}

}  // namespace

BatchSendResult RawSocket::send_packets(std::span<const wire::ByteSpan> packets,
                                        std::uint32_t ifindex) {
  BatchSendResult result;
  const bool strip_header = protocol_ == kProtocolIpv6InIpv6;
  if (protocol_ != IPPROTO_RAW && !strip_header) {
    result.failed = packets.size();
    if (!packets.empty())
      result.first_error =
          make_error("send_packets on a socket neither IPPROTO_RAW nor protocol 41", EINVAL);
    return result;
  }
  std::array<BatchSlot, kBatchSize> slots;
  std::array<mmsghdr, kBatchSize> messages{};
  while (!packets.empty()) {
    std::size_t count = 0;
    for (; count < packets.size() && count < kBatchSize; ++count) {
      if (strip_header ? !is_plain_tunnel_packet(packets[count])
                       : packets[count].size() < kIpv6HeaderSize)
        break;
      prepare_slot(slots[count], messages[count], packets[count], ifindex, strip_header);
    }
    std::size_t done = 0;
    while (done < count) {
      int n = ::sendmmsg(fd_.get(), messages.data() + done, static_cast<unsigned>(count - done), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        // sendmmsg() reports the error of the first message it could not send; skip that one.
        note_failure(result, errno_error("sendmmsg protocol " + std::to_string(protocol_)));
        ++done;
        continue;
      }
      done += static_cast<std::size_t>(n);
      result.sent += static_cast<std::size_t>(n);
    }
    if (count < packets.size() && count < kBatchSize) {
      note_failure(result, make_error(strip_header ? "send_packets: not a plain IPv6-in-IPv6 packet"
                                                   : "send_packets: shorter than an IPv6 header",
                                      EINVAL));
      ++count;
    }
    packets = packets.subspan(count);
  }
  return result;
}

}  // namespace mipv6::linux_dp
