// Raw IPv6 sockets for the data plane (DESIGN.md §3, issue 8):
//  - Mobility Header (protocol 135) with IPV6_CHECKSUM at offset 4, so that the kernel fills the
//    MH checksum on send and drops messages whose checksum is wrong (RFC 6275 §6.1.1);
//  - ICMPv6, filtered to the types the caller handles (DHAAD, MPS/MPA, RA, NS...);
//  - IPv6-in-IPv6 (protocol 41, RFC 2473): receives the inner packet of tunnelled traffic, and
//    sending on it puts the payload in an outer header the kernel builds;
//  - IPPROTO_RAW, header-included: whole packets, extension headers and all, sent as given.
// Every socket reports the destination and arrival interface (IPV6_RECVPKTINFO) and the hop
// limit (IPV6_RECVHOPLIMIT) of what it receives. All are nonblocking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "linux/result.h"
#include "linux/unique_fd.h"
#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

inline constexpr int kProtocolMobility = 135;      // IPPROTO_MH (RFC 6275 §6.1)
inline constexpr int kProtocolIpv6InIpv6 = 41;     // IPPROTO_IPV6 (RFC 2473)
inline constexpr int kProtocolEsp = 50;            // IPPROTO_ESP (RFC 4303)
inline constexpr int kMobilityChecksumOffset = 4;  // Checksum field of the MH (RFC 6275 §6.1.1)

struct ReceivedPacket {
  std::size_t length = 0;  // bytes stored in the buffer (what follows the headers the kernel ate)
  bool truncated = false;  // the packet was longer than the buffer
  wire::Ipv6Address source;
  wire::Ipv6Address destination;  // from IPV6_PKTINFO
  std::uint32_t ifindex = 0;      // arrival interface, from IPV6_PKTINFO
  std::optional<int> hop_limit{};
  // The Destination Options header that preceded the payload, as on the wire, when
  // receive_destination_options(true) was asked for and the packet had one.
  std::optional<wire::Bytes> destination_options{};
};

// What a batch send did: how many packets the kernel took, how many it refused, and why the
// first refused one was.
struct BatchSendResult {
  std::size_t sent = 0;
  std::size_t failed = 0;
  std::optional<Error> first_error{};
};

struct SendOptions {
  std::optional<wire::Ipv6Address> source{};  // IPV6_PKTINFO source (must be local)
  std::uint32_t ifindex = 0;                  // IPV6_PKTINFO outgoing interface; 0: routed
  std::optional<int> hop_limit{};             // IPV6_HOPLIMIT for this packet
};

// An IPv6 header with Next Header 41 right after it (RFC 2473), Flow Label 0 and a Payload
// Length that is the rest of the packet: what a protocol-41 socket's kernel header rebuilds.
bool is_plain_tunnel_packet(wire::ByteSpan packet);

class RawSocket {
 public:
  static Result<RawSocket> open_mobility();
  // Only ICMPv6 messages whose type is in `accepted_types` are delivered (ICMP6_FILTER).
  static Result<RawSocket> open_icmpv6(std::span<const std::uint8_t> accepted_types);
  static Result<RawSocket> open_ipv6_in_ipv6();
  // ESP the daemon opens itself (issue 7): with no xfrm state the kernel has no use for it,
  // but a raw socket still gets its copy (ip6_protocol_deliver_rcu delivers to raw sockets
  // before the protocol handler).
  static Result<RawSocket> open_esp();
  static Result<RawSocket> open_header_included();
  // Protocol 41 for sending only (it receives nothing): send_packets() of plain tunnel packets,
  // whose outer header the kernel builds again. Unlike a header-included socket, which makes
  // the kernel clone the route of every packet to an on-link destination (FLOWI_FLAG_KNOWN_NH),
  // it uses the routing table's cached route (issue 8: 3 % of a tunnel endpoint's CPU).
  static Result<RawSocket> open_tunnel_sender();

  int fd() const { return fd_.get(); }
  int protocol() const { return protocol_; }

  // Only traffic of this interface is received, and everything sent leaves through it.
  Status bind_to_device(std::string_view interface_name);
  // Marks what this socket sends, so that a policy rule can route the daemon's own signalling
  // around its TUN routes (DESIGN.md §3).
  Status set_mark(std::uint32_t mark);
  // IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP: receive (or stop receiving) `group` on `ifindex`, e.g.
  // the solicited-node group of an address under Duplicate Address Detection (RFC 4862 §5.4).
  Status set_multicast_group(const wire::Ipv6Address& group, std::uint32_t ifindex, bool join);
  // The kernel queues up to `bytes` of received packets for this socket; past that it drops
  // them (a tunnel endpoint under a TCP stream needs megabytes, not the 208 KiB default).
  Status set_receive_buffer(int bytes);
  // Off: multicast this socket sends is not looped back to this host's own sockets (the daemon
  // must not hear its own DAD Neighbor Solicitation as another node's, RFC 4862 §5.4.3).
  Status set_multicast_loop(bool enabled);
  Status bind_address(const wire::Ipv6Address& address);
  Status receive_destination_options(bool enabled);
  // IPV6_JOIN_ANYCAST: this node answers `address` on `ifindex` (a home agent's DHAAD address,
  // RFC 6275 §10.5 / RFC 2526). The kernel allows it on a forwarding interface, or for an
  // address inside a prefix on the link.
  Status join_anycast(const wire::Ipv6Address& address, std::uint32_t ifindex);

  // One packet; EAGAIN when none is queued.
  Result<ReceivedPacket> receive(std::span<std::byte> buffer);
  // Up to min(buffers.size(), packets.size(), kBatchSize) queued packets with one recvmmsg():
  // packet i into buffers[i], described by packets[i]. Returns how many (at least 1); EAGAIN
  // when none is queued. The tunnel socket's way to take a burst at the cost of one call.
  Result<std::size_t> receive_batch(std::span<const std::span<std::byte>> buffers,
                                    std::span<ReceivedPacket> packets);
  // `payload` follows an IPv6 header the kernel builds (for the MH socket the checksum is filled
  // by the kernel; for protocol 41 the payload is the inner packet). Not for header-included.
  Status send(wire::ByteSpan payload, const wire::Ipv6Address& destination,
              const SendOptions& options = {});
  // Header-included socket only: `packet` is a whole IPv6 packet, sent unchanged and routed by
  // its Destination Address (or out of `ifindex` when not 0).
  Status send_packet(wire::ByteSpan packet, std::uint32_t ifindex = 0);
  // Header-included socket: send_packet() for many packets with one sendmmsg() per kBatchSize,
  // the system call cost a tunnel endpoint pays per packet otherwise. The Source Address of
  // every packet must be one of this node's: it goes to the kernel as IPV6_PKTINFO, so that the
  // route lookup skips source address selection. A packet the kernel refuses is counted and
  // the rest still go. On a protocol-41 socket (open_tunnel_sender) every packet must be a
  // plain tunnel packet (is_plain_tunnel_packet); any other is refused and counted.
  BatchSendResult send_packets(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex = 0);

  static constexpr std::size_t kBatchSize = 64;

 private:
  RawSocket(UniqueFd fd, int protocol) : fd_(std::move(fd)), protocol_(protocol) {}
  static Result<RawSocket> open(int protocol, std::string_view what);
  Status set_option(int level, int name, int value, std::string_view what);

  UniqueFd fd_;
  int protocol_ = 0;
};

}  // namespace mipv6::linux_dp
