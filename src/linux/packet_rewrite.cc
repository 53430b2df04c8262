#include "linux/packet_rewrite.h"

#include <cerrno>
#include <string>
#include <string_view>

#include "wire/chain.h"
#include "wire/expected.h"
#include "wire/extension_headers.h"
#include "wire/ipv6.h"

namespace mipv6::linux_dp {
namespace {

constexpr std::size_t kSourceOffset = 8;        // RFC 8200 §3
constexpr std::size_t kDestinationOffset = 24;  // RFC 8200 §3
constexpr std::size_t kRoutingTypeOffset = 2;   // within a Routing header (RFC 8200 §4.4)
constexpr std::size_t kSegmentsLeftOffset = 3;
constexpr std::size_t kType2AddressOffset = 8;  // RFC 6275 §6.4.1: after the Reserved field

Error bad_message(std::string_view rule, std::size_t offset) {
  return Error{EBADMSG, std::string(rule) + " at offset " + std::to_string(offset)};
}

Error nothing_to_rewrite(std::string_view what) {
  return Error{ENOMSG, "no " + std::string(what) + " in the packet"};
}

void put_address(std::span<std::byte> packet, std::size_t offset, const wire::Ipv6Address& a) {
  for (std::size_t i = 0; i < a.bytes.size(); ++i)
    packet[offset + i] = static_cast<std::byte>(a.bytes[i]);
}

// The chain, and a packet whose bytes are exactly what its Payload Length says: NFQUEUE hands
// over the whole packet, so anything else means it was cut or padded on the way.
Result<wire::PacketLayout> walk(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  if (!layout) {
    return bad_message(
        "malformed packet (" + std::string(wire::to_string(layout.error().code)) + ")",
        layout.error().offset);
  }
  if (layout->packet_length() != packet.size()) {
    return bad_message("Payload Length " + std::to_string(layout->ipv6.payload_length) +
                           " does not match the " + std::to_string(packet.size()) + "-byte packet",
                       4);
  }
  return std::move(*layout);
}

// The Next Header octet of the options header that holds the option at `option_offset`.
std::uint8_t next_header_around(wire::ByteSpan packet, const wire::PacketLayout& layout,
                                std::size_t option_offset) {
  for (std::size_t i = 0; i < layout.header_count; ++i) {
    const auto& h = layout.headers[i];
    if (h.offset < option_offset && option_offset < h.offset + h.length)
      return std::to_integer<std::uint8_t>(packet[h.offset]);
  }
  return wire::ip_proto::kNoNextHeader;
}

Result<HomeAddressOptionInfo> home_address_option(wire::ByteSpan packet,
                                                  const wire::PacketLayout& layout) {
  if (!layout.home_address) return nothing_to_rewrite("Home Address option");
  const std::size_t option = layout.home_address_option_offset;
  // RFC 6275 §9.3.1: dropped if the home address is not unicast routable.
  if (!layout.home_address->is_unicast_routable())
    return bad_message("home address not unicast routable (RFC 6275 §9.3.1)", option + 2);
  return HomeAddressOptionInfo{.home_address = *layout.home_address,
                               .care_of_address = layout.ipv6.source,
                               .option_offset = option,
                               .next_header = next_header_around(packet, layout, option)};
}

Result<Type2RoutingInfo> type2_routing_header(wire::ByteSpan packet,
                                              const wire::PacketLayout& layout) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < layout.header_count; ++i) {
    const auto& h = layout.headers[i];
    if (h.type != wire::ip_proto::kRouting) continue;
    if (std::to_integer<std::uint8_t>(packet[h.offset + kRoutingTypeOffset]) !=
        wire::routing_type::kType2)
      continue;
    // RFC 6275 §6.4: the header carries the one home address of the one destination node.
    if (++count > 1) return bad_message("second Type 2 Routing header (RFC 6275 §6.4)", h.offset);
  }
  if (!layout.type2_address) return nothing_to_rewrite("Type 2 Routing header");
  const std::size_t header = layout.type2_offset;
  const wire::Ipv6Address& home = *layout.type2_address;
  const wire::Ipv6Address& care_of = layout.ipv6.destination;
  // RFC 6275 §11.3.3: Segments Left is 1 on the wire (the decoder already checked the length).
  if (layout.type2_segments_left != 1)
    return bad_message("Segments Left " + std::to_string(layout.type2_segments_left) +
                           " instead of 1 (RFC 6275 §11.3.3)",
                       header + kSegmentsLeftOffset);
  // RFC 6275 §6.4.1: a unicast routable home address. (Its other rule, no smaller a scope than
  // the care-of address's, cannot fail once the home address is routable: that is global scope.)
  if (!home.is_unicast_routable())
    return bad_message("home address not unicast routable (RFC 6275 §6.4.1)",
                       header + kType2AddressOffset);
  return Type2RoutingInfo{
      .home_address = home, .care_of_address = care_of, .header_offset = header};
}

void rewrite_home_address_option(std::span<std::byte> packet, const HomeAddressOptionInfo& info) {
  // §9.3.1: the option's address goes into the IPv6 header; the care-of address takes its place
  // in the option, which the kernel now skips (RFC 4727 type, action bits 00).
  put_address(packet, kSourceOffset, info.home_address);
  put_address(packet, info.option_offset + 2, info.care_of_address);
  packet[info.option_offset] = static_cast<std::byte>(kSkippedOptionType);
}

void rewrite_type2_routing_header(std::span<std::byte> packet, const Type2RoutingInfo& info) {
  // §11.3.3 (RFC 8200 §4.4 processing): swap the destination with the header's address and
  // decrement Segments Left from 1 to 0.
  put_address(packet, kDestinationOffset, info.home_address);
  put_address(packet, info.header_offset + kType2AddressOffset, info.care_of_address);
  packet[info.header_offset + kSegmentsLeftOffset] = std::byte{0};
}

constexpr std::size_t kPayloadLengthOffset = 4;  // RFC 8200 §3
constexpr std::size_t kNextHeaderOffset = 6;
constexpr std::size_t kMaxPayloadLength = 65535;  // no jumbograms (RFC 2675) here
constexpr std::size_t kInsertedHeaderSize = 24;   // both headers below are 24 octets
static_assert(wire::kType2RoutingHeaderSize == kInsertedHeaderSize);
static_assert(wire::kHomeAddressDestinationOptionsSize == kInsertedHeaderSize);

// Where a new header goes: `offset` of its first octet, and the Next Header octet (of the IPv6
// header or of the extension header before it) that must now name it.
struct InsertionPoint {
  std::size_t offset = wire::kIpv6HeaderSize;
  std::size_t next_header_offset = kNextHeaderOffset;
};

InsertionPoint after(const wire::HeaderLocation& h) {
  return {.offset = h.offset + h.length, .next_header_offset = h.offset};
}

// RFC 6275 §9.3.2 / RFC 8200 §4.1: the Routing header comes right after Hop-by-Hop Options.
InsertionPoint type2_insertion_point(const wire::PacketLayout& layout) {
  if (layout.header_count > 0 && layout.headers[0].type == wire::ip_proto::kHopByHop)
    return after(layout.headers[0]);
  return {};
}

// RFC 6275 §6.3: the option goes after the Routing header (if present) and before a Fragment,
// AH or ESP header; RFC 8200 §4.1 puts Hop-by-Hop first. A Destination Options header that
// precedes the Routing header is skipped with it, any later one stays after ours.
InsertionPoint home_address_insertion_point(const wire::PacketLayout& layout) {
  InsertionPoint point;
  for (std::size_t i = 0; i < layout.header_count; ++i) {
    const auto& h = layout.headers[i];
    if (h.type == wire::ip_proto::kFragment || h.type == wire::ip_proto::kAuthentication ||
        h.type == wire::ip_proto::kEsp)
      break;
    if (h.type == wire::ip_proto::kHopByHop || h.type == wire::ip_proto::kRouting) point = after(h);
  }
  return point;
}

Status check_room(const wire::PacketLayout& layout) {
  if (std::size_t{layout.ipv6.payload_length} + kInsertedHeaderSize > kMaxPayloadLength)
    return make_error("inserting a " + std::to_string(kInsertedHeaderSize) +
                          "-octet header into a payload of " +
                          std::to_string(layout.ipv6.payload_length) + " octets",
                      EMSGSIZE);
  return {};
}

// A copy of `packet` with `header` (its Next Header octet still to be set) inserted at `point`,
// chained in, and Payload Length grown to match. Header offsets are multiples of 8 from the
// IPv6 header, so the inserted header keeps the alignment its options were laid out for.
wire::Bytes with_header(wire::ByteSpan packet, const wire::PacketLayout& layout,
                        const InsertionPoint& point, std::uint8_t header_type,
                        wire::ByteSpan header) {
  wire::Bytes out;
  out.reserve(packet.size() + header.size());
  out.insert(out.end(), packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(point.offset));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), packet.begin() + static_cast<std::ptrdiff_t>(point.offset), packet.end());
  out[point.offset] = packet[point.next_header_offset];
  out[point.next_header_offset] = static_cast<std::byte>(header_type);
  wire::store_be16(out.data() + kPayloadLengthOffset,
                   static_cast<std::uint16_t>(layout.ipv6.payload_length + header.size()));
  return out;
}

}  // namespace

Result<wire::Bytes> insert_type2_routing_header(wire::ByteSpan packet,
                                                const wire::Ipv6Address& care_of_address) {
  auto layout = walk(packet);
  if (!layout) return layout.error();
  if (layout->type2_address)
    return make_error("Type 2 Routing header already present (RFC 6275 §6.4)", EEXIST);
  if (auto s = check_room(*layout); !s) return s.error();
  // RFC 6275 §6.4.1: Segments Left 1, the address is the home address the packet was sent to.
  wire::Bytes header;
  wire::Writer writer(header);
  wire::write_type2_routing_header(writer, wire::ip_proto::kNoNextHeader, layout->ipv6.destination);
  wire::Bytes out = with_header(packet, *layout, type2_insertion_point(*layout),
                                wire::ip_proto::kRouting, header);
  // §9.3.2: the care-of address becomes the IPv6 Destination Address.
  put_address(out, kDestinationOffset, care_of_address);
  return out;
}

Result<wire::Bytes> insert_home_address_option(wire::ByteSpan packet,
                                               const wire::Ipv6Address& care_of_address) {
  auto layout = walk(packet);
  if (!layout) return layout.error();
  if (layout->home_address)
    return make_error("Home Address option already present (RFC 6275 §6.3)", EEXIST);
  if (auto s = check_room(*layout); !s) return s.error();
  // RFC 6275 §11.3.1: the option carries the home address, the packet's current source.
  wire::Bytes header;
  wire::Writer writer(header);
  wire::write_home_address_destination_options(writer, wire::ip_proto::kNoNextHeader,
                                               layout->ipv6.source);
  wire::Bytes out = with_header(packet, *layout, home_address_insertion_point(*layout),
                                wire::ip_proto::kDestinationOptions, header);
  // §11.3.1: the care-of address becomes the IPv6 Source Address.
  put_address(out, kSourceOffset, care_of_address);
  return out;
}

Result<HomeAddressOptionInfo> find_home_address_option(wire::ByteSpan packet) {
  auto layout = walk(packet);
  if (!layout) return layout.error();
  return home_address_option(packet, *layout);
}

Result<HomeAddressOptionInfo> apply_home_address_option(std::span<std::byte> packet) {
  auto info = find_home_address_option(packet);
  if (info) rewrite_home_address_option(packet, *info);
  return info;
}

Result<Type2RoutingInfo> find_type2_routing_header(wire::ByteSpan packet) {
  auto layout = walk(packet);
  if (!layout) return layout.error();
  return type2_routing_header(packet, *layout);
}

Result<Type2RoutingInfo> apply_type2_routing_header(std::span<std::byte> packet) {
  auto info = find_type2_routing_header(packet);
  if (info) rewrite_type2_routing_header(packet, *info);
  return info;
}

Result<MobilityHeadersInfo> apply_mobility_headers(std::span<std::byte> packet) {
  auto layout = walk(packet);
  if (!layout) return layout.error();
  // Both are validated before either is written, so that an error leaves the packet untouched.
  MobilityHeadersInfo found;
  auto routing = type2_routing_header(packet, *layout);
  if (routing) {
    found.type2_routing = *routing;
  } else if (routing.error().code != ENOMSG) {
    return routing.error();
  }
  auto option = home_address_option(packet, *layout);
  if (option) {
    found.home_address_option = *option;
  } else if (option.error().code != ENOMSG) {
    return option.error();
  }
  if (!found.type2_routing && !found.home_address_option)
    return nothing_to_rewrite("Home Address option or Type 2 Routing header");
  if (found.type2_routing) rewrite_type2_routing_header(packet, *found.type2_routing);
  if (found.home_address_option) rewrite_home_address_option(packet, *found.home_address_option);
  return found;
}

}  // namespace mipv6::linux_dp
