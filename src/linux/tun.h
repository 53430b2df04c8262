// A TUN device (IFF_TUN | IFF_NO_PI): whole IPv6 packets in and out of the kernel's routing, the
// data plane's way to catch what policy routes send to a home address (DESIGN.md §3). Not
// persistent: the device disappears when the descriptor is closed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "linux/result.h"
#include "linux/unique_fd.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

// IFF_VNET_HDR: every packet read from (and written into) the TUN follows a virtio_net_hdr of
// this size, which says what the kernel left undone (virtio 1.1 §5.1.6: checksum, segmentation).
inline constexpr std::size_t kVnetHeaderSize = 10;

// TUNSETOFFLOAD flags: what the reader is ready to finish itself.
namespace tun_offload {
inline constexpr unsigned kChecksum = 0x01;  // TUN_F_CSUM: packets may lack their checksum
inline constexpr unsigned kTcpv6 = 0x04;     // TUN_F_TSO6: TCP/IPv6 superpackets (GSO)
}  // namespace tun_offload

// A virtio_net_hdr, decoded (host byte order, as the TUN driver writes it on this machine).
struct VnetHeader {
  static constexpr std::uint8_t kNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t kGsoNone = 0;
  static constexpr std::uint8_t kGsoTcpv6 = 4;  // VIRTIO_NET_HDR_GSO_TCPV6
  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t header_length = 0;  // hint: octets of headers before the TCP payload
  std::uint16_t gso_size = 0;       // payload octets per segment
  std::uint16_t checksum_start = 0;
  std::uint16_t checksum_offset = 0;  // from checksum_start to the checksum field

  static VnetHeader decode(std::span<const std::byte, kVnetHeaderSize> bytes);
  std::array<std::byte, kVnetHeaderSize> encode() const;
};

// NEEDS_CSUM: the checksum field holds the pseudo-header sum; the Internet checksum from
// checksum_start to the end completes it (virtio 1.1 §5.1.6.2.1). EINVAL when the offsets do
// not fit the packet.
Status complete_checksum(const VnetHeader& header, std::span<std::byte> packet);

// A TCP/IPv6 superpacket (GSO_TCPV6, TCP right after the 40-octet IPv6 header) cut into the
// segments the sender's TCP would have sent with an MSS of gso_size (what the kernel's
// tcp_gso_segment does): segment i is written at out[i * stride], its length into lengths[i].
// Each carries the headers with Payload Length, Sequence Number and checksum of its own; CWR
// only on the first, FIN and PSH only on the last. Returns the number of segments; EINVAL for
// a packet of another kind or malformed, EMSGSIZE when out, stride or lengths are too small.
Result<std::size_t> segment_tcpv6(const VnetHeader& header, wire::ByteSpan packet,
                                  std::span<std::byte> out, std::size_t stride,
                                  std::span<std::size_t> lengths);

// A TCP/IPv6 packet the kernel's GRO merged from several segments before a raw socket got it
// (tcp6_gro_complete): longer than any segment, and its checksum field holds only the folded
// pseudo-header sum, left for a device to complete. A raw socket says neither (it has no virtio
// header); the field does. For TCP right after the IPv6 header whose field equals that sum,
// returns the vnet header under which a TUN takes the packet as it stands: NEEDS_CSUM, plus
// GSO_TCPV6 in segments of at most `max_segment` octets (IPv6 header included) when its payload
// is longer. nullopt for every other packet (write it as it is). A complete checksum that
// happens to equal the pseudo-header sum (1 in 65536) is recomputed by the kernel: harmless for
// an intact segment.
std::optional<VnetHeader> offloaded_tcp_header(wire::ByteSpan packet, std::size_t max_segment);

// GRO in user space: consecutive in-order TCP/IPv6 segments of one connection (TCP right after
// the IPv6 header, every header octet equal but the Sequence Number, PSH and checksum; each
// segment but the last of the MSS the first one had; checksums verified) are appended into one
// superpacket, which a TUN with a vnet header takes whole (GSO_TCPV6): the kernel's TCP then
// handles one packet, and acknowledges once, where it would have handled dozens.
class TcpCoalescer {
 public:
  TcpCoalescer();

  // Appends `packet` to the superpacket under way, or starts one. false: it does not fit (take()
  // the pending one first, then try again) or can never be coalesced (write it as it is).
  bool add(wire::ByteSpan packet);
  bool empty() const { return segments_ == 0; }
  std::size_t segments() const { return segments_; }
  // The pending packet with its vnet header in front, ready for a write into the TUN (valid
  // until the next add()); the coalescer is empty afterwards.
  wire::ByteSpan take();

 private:
  bool start(wire::ByteSpan packet);
  bool fits(wire::ByteSpan packet) const;
  static bool copy_verified(wire::ByteSpan packet, std::size_t headers, std::byte* to);

  std::vector<std::byte> buffer_;  // vnet header, then the superpacket
  std::size_t length_ = 0;         // octets of the superpacket
  std::size_t headers_ = 0;        // IPv6 + TCP header octets
  std::size_t mss_ = 0;            // payload of the first segment
  std::size_t last_payload_ = 0;
  std::uint32_t next_sequence_ = 0;
  std::size_t segments_ = 0;
  bool closed_ = false;  // PSH or a short segment ended it
};

struct TunOptions {
  bool vnet_header = false;  // IFF_VNET_HDR
};

class TunDevice {
 public:
  // `name` may be empty (the kernel picks tunN) or hold a %d pattern ("mip%d").
  static Result<TunDevice> create(std::string_view name = {}, TunOptions options = {});

  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  std::uint32_t ifindex() const { return ifindex_; }

  Status set_mtu(std::uint32_t mtu);
  // The device's transmit queue (txqueuelen): packets the kernel routed into the TUN and the
  // reader has not taken yet. Past it the kernel drops them, so a reader that works in bursts
  // (a tunnel endpoint under a TCP stream) needs more than the default 500.
  Status set_tx_queue_length(std::uint32_t packets);
  Result<std::uint32_t> tx_queue_length() const;
  // TUNSETOFFLOAD (tun_offload flags); only with a vnet header. The kernel then hands the
  // reader packets without checksum and superpackets, instead of doing that work itself.
  Status set_offload(unsigned flags);
  bool vnet_header() const { return vnet_header_; }

  // One packet into `buffer`; the packet's length. EAGAIN when none is queued (nonblocking).
  // With a vnet header, the buffer starts with the kVnetHeaderSize octets of it.
  Result<std::size_t> read(std::span<std::byte> buffer);
  // One whole packet, as if it had arrived on the device (complete: with a vnet header, one
  // saying "nothing to do" is put in front of it).
  Status write(wire::ByteSpan packet);
  // With a vnet header: `bytes` starts with one (TcpCoalescer::take()), written as given.
  Status write_with_vnet_header(wire::ByteSpan bytes);
  // With a vnet header: `packet` under `header` (offloaded_tcp_header()).
  Status write(const VnetHeader& header, wire::ByteSpan packet);

 private:
  TunDevice(UniqueFd fd, std::string name, std::uint32_t ifindex, bool vnet_header)
      : fd_(std::move(fd)), name_(std::move(name)), ifindex_(ifindex), vnet_header_(vnet_header) {}
  // One writev: the vnet header (when `vnet` is not null), then the packet.
  Status write_parts(const std::byte* vnet, wire::ByteSpan packet);

  UniqueFd fd_;
  std::string name_;
  std::uint32_t ifindex_ = 0;
  bool vnet_header_ = false;
};

}  // namespace mipv6::linux_dp
