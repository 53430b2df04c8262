#include "sim/udp_cbr.h"

#include <algorithm>

#include "wire/checksum.h"
#include "wire/extension_headers.h"
#include "wire/ipv6.h"

namespace mipv6::sim {

wire::Bytes build_udp_cbr_packet(const core::SignallingAddresses& a, std::uint32_t sequence,
                                 std::size_t payload) {
  payload = std::max(payload, kUdpCbrMinimumPayload);
  const std::uint8_t udp = wire::ip_proto::kUdp;
  // RFC 6275 §6.4.1 / §6.3: the routing header comes before the Destination Options header
  // that carries the Home Address option.
  const std::uint8_t after_routing =
      a.home_address_option ? wire::ip_proto::kDestinationOptions : udp;
  wire::Bytes packet;
  packet.reserve(wire::kIpv6HeaderSize + 48 + kUdpHeaderSize + payload);
  wire::Writer out(packet);
  wire::Ipv6Header header;
  header.source = a.source;
  header.destination = a.destination;
  header.hop_limit = a.hop_limit;
  header.next_header = a.type2_home_address ? wire::ip_proto::kRouting : after_routing;
  wire::encode_ipv6_header(out, header);
  if (a.type2_home_address)
    wire::write_type2_routing_header(out, after_routing, *a.type2_home_address);
  if (a.home_address_option)
    wire::write_home_address_destination_options(out, udp, *a.home_address_option);
  const std::size_t upper = packet.size();
  const auto length = static_cast<std::uint16_t>(kUdpHeaderSize + payload);
  out.u16(kUdpCbrPort);
  out.u16(kUdpCbrPort);
  out.u16(length);
  out.u16(0);
  out.u32(sequence);
  out.zeros(payload - kUdpCbrMinimumPayload);
  out.put_u16_at(4, static_cast<std::uint16_t>(packet.size() - wire::kIpv6HeaderSize));
  // §6.3, §6.4: the pseudo-header holds the home address (HAO) as source and the final
  // destination (Type 2) as destination. RFC 768 / RFC 8200 §8.1: a zero result is sent as
  // 0xffff.
  std::uint16_t checksum = wire::upper_layer_checksum(a.home_address_option.value_or(a.source),
                                                      a.type2_home_address.value_or(a.destination),
                                                      udp, wire::ByteSpan(packet).subspan(upper));
  if (checksum == 0) checksum = 0xffff;
  out.put_u16_at(upper + 6, checksum);
  return packet;
}

std::optional<std::uint32_t> udp_cbr_sequence(const core::RxPacket& packet) {
  if (packet.layout.upper_protocol != wire::ip_proto::kUdp) return std::nullopt;
  const wire::ByteSpan udp = packet.upper();
  if (udp.size() < kUdpHeaderSize + kUdpCbrMinimumPayload) return std::nullopt;
  const auto u8 = [&](std::size_t i) { return std::to_integer<std::uint32_t>(udp[i]); };
  if (((u8(2) << 8) | u8(3)) != kUdpCbrPort) return std::nullopt;
  return (u8(8) << 24) | (u8(9) << 16) | (u8(10) << 8) | u8(11);
}

}  // namespace mipv6::sim
