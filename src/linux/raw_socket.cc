#include "linux/raw_socket.h"

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

}  // namespace mipv6::linux_dp
