// The extension-header chain walker: locates every header of an IPv6 packet, the upper layer,
// the Home Address option and the Routing header's final destination, under hard limits that
// keep abusive chains cheap to reject (RFC 8200 §4, RFC 7112, RFC 8504 §5.3). It is a hot path
// (every packet the data plane inspects), so it never allocates: fixed-capacity arrays only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"
#include "wire/ipv6.h"

namespace mipv6::wire {

inline constexpr std::size_t kMaxChainCapacity = 16;  // storage for located headers

struct ChainLimits {
  std::size_t max_headers = 8;              // extension headers before the upper layer
  std::size_t max_extension_bytes = 512;    // their total size
  std::size_t max_options_per_header = 16;  // TLV options in one HbH/DestOpt header
  std::size_t max_padding_bytes = 7;        // consecutive Pad1/PadN octets (RFC 8504 §5.3)
};

struct HeaderLocation {
  std::uint8_t type = 0;   // protocol number of the header
  std::size_t offset = 0;  // from the IPv6 header start
  std::size_t length = 0;  // whole header, in octets
};

struct PacketLayout {
  Ipv6Header ipv6;
  std::array<HeaderLocation, kMaxChainCapacity> headers{};
  std::size_t header_count = 0;  // extension headers located (ESP included)

  // Where the walk ended: the upper layer (MH, ICMPv6, UDP, TCP, IPv6-in-IPv6, No Next Header,
  // ESP, unknown protocols) or, for a non-first fragment, the fragment's data.
  std::uint8_t upper_protocol = ip_proto::kNoNextHeader;
  std::size_t upper_offset = 0;
  std::size_t upper_length = 0;
  std::size_t upper_next_header_offset = 0;  // the Next Header octet that named the upper layer

  std::optional<Ipv6Address> home_address;  // from the Home Address option (RFC 6275 §6.3)
  std::size_t home_address_option_offset = 0;
  std::optional<Ipv6Address> type2_address;  // from a Type 2 Routing header (RFC 6275 §6.4)
  std::size_t type2_offset = 0;
  std::uint8_t type2_segments_left = 0;
  std::optional<Ipv6Address> routing_final_destination;  // RFC 8200 §8.1

  bool fragmented = false;      // a Fragment header is present
  bool first_fragment = true;   // Fragment Offset 0
  bool more_fragments = false;  // M flag
  // The upper layer is whole: not a fragment (or a fragment with offset 0 and M clear).
  bool upper_complete() const { return !fragmented || (first_fragment && !more_fragments); }
  std::size_t packet_length() const { return kIpv6HeaderSize + ipv6.payload_length; }
};

// Walks `packet` (starting at its IPv6 header). Errors, with offsets from the IPv6 header:
//  - IPv6 header errors (see decode_ipv6_header);
//  - header framing errors (see extension_headers.h);
//  - a Hop-by-Hop header anywhere but first -> bad_order at the Next Header octet naming it
//    (RFC 8200 §4.1; what a Parameter Problem code 1 pointer would show);
//  - a second Home Address option -> bad_value at the option (RFC 6275 §6.3), a Home Address
//    option in a Destination Options header that follows a Fragment, AH or ESP header ->
//    bad_order at the option (RFC 6275 §6.3 placement);
//  - more than max_headers headers, more than max_extension_bytes in them, more than
//    max_options_per_header options or more than max_padding_bytes consecutive padding octets
//    -> chain_too_long at the header or option that crossed the limit.
// `layout` receives everything found before an error (for diagnostics).
Status walk_chain_into(ByteSpan packet, PacketLayout& layout, const ChainLimits& limits = {});
Expected<PacketLayout> walk_chain(ByteSpan packet, const ChainLimits& limits = {});

// The upper-layer pseudo-header addresses (RFC 8200 §8.1 with RFC 6275 §6.1.1, §6.3, §11.3.1):
// source = the Home Address option's address if present, else the IPv6 source; destination =
// the final destination of a Routing header with Segments Left > 0 (a Type 2 header's home
// address), else the IPv6 destination.
struct PseudoHeaderAddresses {
  Ipv6Address source;
  Ipv6Address destination;
};
PseudoHeaderAddresses pseudo_header_addresses(const PacketLayout& layout);

// Offset of the Checksum field within the upper-layer message: MH +4 (RFC 6275 §6.1.1), ICMPv6
// +2 (RFC 4443 §2.1), UDP +6 (RFC 768), TCP +16 (RFC 9293); nullopt for other protocols.
std::optional<std::size_t> checksum_field_offset(std::uint8_t protocol);

// Verifies the upper-layer checksum with the pseudo-header above. Errors: unsupported at the
// upper-layer offset for a protocol without a checksum or an incomplete (fragmented) upper
// layer; truncated when the message is too short to hold its checksum field; bad_checksum at
// the checksum field, also for a UDP checksum of 0 (RFC 8200 §8.1).
Status verify_upper_checksum(ByteSpan packet, const PacketLayout& layout);

}  // namespace mipv6::wire
