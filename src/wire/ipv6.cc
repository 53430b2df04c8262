#include "wire/ipv6.h"

#include <array>
#include <cstring>

namespace mipv6::wire {

// Field by field from fixed offsets: every tunnelled packet is decoded several times on the
// data path (issue 8), so no Reader bookkeeping here.
Expected<Ipv6Header> decode_ipv6_header(ByteSpan packet) {
  if (packet.size() < kIpv6HeaderSize) return WireError{WireErrc::kTruncated, packet.size()};
  const std::byte* p = packet.data();
  const std::uint32_t first = load_be32(p);
  Ipv6Header h;
  h.version = static_cast<std::uint8_t>(first >> 28);
  // RFC 8200 §3: Version is 6; anything else is not an IPv6 packet.
  if (h.version != 6) return WireError{WireErrc::kBadValue, 0};
  h.traffic_class = static_cast<std::uint8_t>(first >> 20);
  h.flow_label = first & 0xfffffu;
  h.payload_length = load_be16(p + 4);
  h.next_header = std::to_integer<std::uint8_t>(p[6]);
  h.hop_limit = std::to_integer<std::uint8_t>(p[7]);
  std::memcpy(h.source.bytes.data(), p + 8, 16);
  std::memcpy(h.destination.bytes.data(), p + 24, 16);
  std::size_t available = packet.size() - kIpv6HeaderSize;
  if (h.payload_length > available) return WireError{WireErrc::kTruncated, 4};
  // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a Jumbo Payload.
  if (h.payload_length == 0 && h.next_header == ip_proto::kHopByHop && available > 0) {
    return WireError{WireErrc::kUnsupported, 4};
  }
  return h;
}

void write_ipv6_header(std::span<std::byte, kIpv6HeaderSize> out, const Ipv6Header& header) {
  store_be32(out.data(), static_cast<std::uint32_t>(header.version & 0x0fu) << 28 |
                             static_cast<std::uint32_t>(header.traffic_class) << 20 |
                             (header.flow_label & 0xfffffu));
  store_be16(out.data() + 4, header.payload_length);
  out[6] = std::byte{header.next_header};
  out[7] = std::byte{header.hop_limit};
  std::memcpy(out.data() + 8, header.source.bytes.data(), 16);
  std::memcpy(out.data() + 24, header.destination.bytes.data(), 16);
}

void encode_ipv6_header(Writer& out, const Ipv6Header& header) {
  std::array<std::byte, kIpv6HeaderSize> bytes;
  write_ipv6_header(bytes, header);
  out.bytes(bytes);
}

}  // namespace mipv6::wire
