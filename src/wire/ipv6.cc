#include "wire/ipv6.h"

namespace mipv6::wire {

Expected<Ipv6Header> decode_ipv6_header(ByteSpan packet) {
  if (packet.size() < kIpv6HeaderSize) return WireError{WireErrc::kTruncated, packet.size()};
  Reader r(packet);
  Ipv6Header h;
  MIPV6_TRY(std::uint32_t first, r.u32());
  h.version = static_cast<std::uint8_t>(first >> 28);
  // RFC 8200 §3: Version is 6; anything else is not an IPv6 packet.
  if (h.version != 6) return WireError{WireErrc::kBadValue, 0};
  h.traffic_class = static_cast<std::uint8_t>(first >> 20);
  h.flow_label = first & 0xfffffu;
  MIPV6_TRY(h.payload_length, r.u16());
  MIPV6_TRY(h.next_header, r.u8());
  MIPV6_TRY(h.hop_limit, r.u8());
  MIPV6_TRY(h.source, r.address());
  MIPV6_TRY(h.destination, r.address());
  std::size_t available = packet.size() - kIpv6HeaderSize;
  if (h.payload_length > available) return WireError{WireErrc::kTruncated, 4};
  // RFC 2675 §3: Payload Length 0 with a Hop-by-Hop header announces a Jumbo Payload.
  if (h.payload_length == 0 && h.next_header == ip_proto::kHopByHop && available > 0) {
    return WireError{WireErrc::kUnsupported, 4};
  }
  return h;
}

void encode_ipv6_header(Writer& out, const Ipv6Header& header) {
  out.u32(static_cast<std::uint32_t>(header.version & 0x0fu) << 28 |
          static_cast<std::uint32_t>(header.traffic_class) << 20 | (header.flow_label & 0xfffffu));
  out.u16(header.payload_length);
  out.u8(header.next_header);
  out.u8(header.hop_limit);
  out.address(header.source);
  out.address(header.destination);
}

}  // namespace mipv6::wire
