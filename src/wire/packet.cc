#include "wire/packet.h"

#include "wire/checksum.h"

namespace mipv6::wire {
namespace {

// Sets the length octet of a header written at `h` from its size, as its format defines it.
void set_length_octet(const ExtensionHeader& spec, std::span<std::byte> h) {
  if (spec.pin_length || h.size() < 2) return;
  switch (spec.type) {
    case ip_proto::kHopByHop:
    case ip_proto::kDestinationOptions:
    case ip_proto::kRouting:
      // RFC 8200 §4.3, §4.4, §4.6: 8-octet units, not counting the first 8 octets.
      h[1] = static_cast<std::byte>(h.size() >= 8 ? h.size() / 8 - 1 : 0);
      break;
    case ip_proto::kAuthentication:
      // RFC 4302 §2.2: 4-octet units, minus 2.
      h[1] = static_cast<std::byte>(h.size() >= 8 ? h.size() / 4 - 2 : 0);
      break;
    default:  // Fragment: Reserved; ESP: part of the SPI
      break;
  }
}

void set_next_header(const ExtensionHeader& spec, std::span<std::byte> h, std::uint8_t next) {
  // RFC 4303 §2: ESP's Next Header sits in its encrypted trailer, not at octet 0.
  if (spec.pin_next_header || h.empty() || spec.type == ip_proto::kEsp) return;
  h[0] = static_cast<std::byte>(next);
}

}  // namespace

Bytes build_packet(const PacketSpec& spec) {
  const auto& headers = spec.extension_headers;
  Ipv6Header header = spec.header;
  std::size_t payload = spec.upper.size();
  for (const auto& h : headers)
    payload += h.bytes.size();
  if (!spec.pin_payload_length) header.payload_length = static_cast<std::uint16_t>(payload);
  if (!spec.pin_next_header) {
    header.next_header = headers.empty() ? spec.upper_protocol : headers.front().type;
  }
  Bytes packet;
  packet.reserve(kIpv6HeaderSize + payload);
  Writer out(packet);
  encode_ipv6_header(out, header);
  // Each header is copied into place, then its Next Header and length octets are set there.
  for (std::size_t i = 0; i < headers.size(); ++i) {
    std::size_t at = packet.size();
    out.bytes(headers[i].bytes);
    std::span<std::byte> written(packet.data() + at, headers[i].bytes.size());
    std::uint8_t next = i + 1 < headers.size() ? headers[i + 1].type : spec.upper_protocol;
    set_next_header(headers[i], written, next);
    set_length_octet(headers[i], written);
  }
  out.bytes(spec.upper);
  if (spec.compute_checksum) (void)fill_upper_checksum(packet);
  return packet;
}

Status fill_upper_checksum(Bytes& packet) {
  MIPV6_TRY(PacketLayout layout, walk_chain(packet));
  auto field = checksum_field_offset(layout.upper_protocol);
  if (!field || !layout.upper_complete()) {
    return WireError{WireErrc::kUnsupported, layout.upper_offset};
  }
  if (layout.upper_length < *field + 2) {
    return WireError{WireErrc::kTruncated, layout.upper_offset + layout.upper_length};
  }
  std::size_t at = layout.upper_offset + *field;
  store_be16(&packet[at], 0);
  auto addresses = pseudo_header_addresses(layout);
  ByteSpan upper = ByteSpan(packet).subspan(layout.upper_offset, layout.upper_length);
  std::uint16_t sum =
      upper_layer_checksum(addresses.source, addresses.destination, layout.upper_protocol, upper);
  // RFC 768 / RFC 8200 §8.1: a computed UDP checksum of 0 is sent as all ones, since 0 means
  // "no checksum", which IPv6 forbids.
  if (sum == 0 && layout.upper_protocol == ip_proto::kUdp) sum = 0xffff;
  store_be16(&packet[at], sum);
  return {};
}

Bytes encapsulate(ByteSpan inner, const TunnelSpec& tunnel) {
  PacketSpec spec;
  spec.header.traffic_class = tunnel.traffic_class;
  spec.header.flow_label = tunnel.flow_label;
  spec.header.hop_limit = tunnel.hop_limit;
  spec.header.source = tunnel.source;
  spec.header.destination = tunnel.destination;
  spec.upper_protocol = ip_proto::kIpv6;
  spec.upper.assign(inner.begin(), inner.end());
  spec.compute_checksum = false;
  return build_packet(spec);
}

Expected<ByteSpan> decapsulate(ByteSpan outer, const ChainLimits& limits) {
  MIPV6_TRY(PacketLayout layout, walk_chain(outer, limits));
  return decapsulate(outer, layout);
}

Expected<ByteSpan> decapsulate(ByteSpan outer, const PacketLayout& layout) {
  if (layout.upper_protocol != ip_proto::kIpv6 || !layout.upper_complete()) {
    return WireError{WireErrc::kBadValue, layout.upper_next_header_offset};
  }
  return outer.subspan(layout.upper_offset, layout.upper_length);
}

}  // namespace mipv6::wire
