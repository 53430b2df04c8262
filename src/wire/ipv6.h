// The IPv6 header (RFC 8200 §3) and the protocol numbers the Mobile IPv6 packet layer meets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"

namespace mipv6::wire {

// IANA "Assigned Internet Protocol Numbers", as used in Next Header fields (RFC 8200 §4).
namespace ip_proto {
inline constexpr std::uint8_t kHopByHop = 0;             // RFC 8200 §4.3
inline constexpr std::uint8_t kTcp = 6;                  // RFC 9293
inline constexpr std::uint8_t kUdp = 17;                 // RFC 768
inline constexpr std::uint8_t kIpv6 = 41;                // IPv6-in-IPv6, RFC 2473
inline constexpr std::uint8_t kRouting = 43;             // RFC 8200 §4.4
inline constexpr std::uint8_t kFragment = 44;            // RFC 8200 §4.5
inline constexpr std::uint8_t kEsp = 50;                 // RFC 4303
inline constexpr std::uint8_t kAuthentication = 51;      // RFC 4302
inline constexpr std::uint8_t kIcmpv6 = 58;              // RFC 4443
inline constexpr std::uint8_t kNoNextHeader = 59;        // RFC 8200 §4.7
inline constexpr std::uint8_t kDestinationOptions = 60;  // RFC 8200 §4.6
inline constexpr std::uint8_t kMobility = 135;           // RFC 6275 §6.1
}  // namespace ip_proto

inline constexpr std::size_t kIpv6HeaderSize = 40;

// RFC 8200 §3:
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Source Address (128 bits)                     |
//  |              Destination Address (128 bits)                   |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct Ipv6Header {
  std::uint8_t version = 6;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;  // 20 bits
  std::uint16_t payload_length = 0;
  std::uint8_t next_header = ip_proto::kNoNextHeader;
  std::uint8_t hop_limit = 64;
  Ipv6Address source;
  Ipv6Address destination;
  friend bool operator==(const Ipv6Header&, const Ipv6Header&) = default;
};

// Decodes the fixed header at the start of `packet`.
// Errors: fewer than 40 bytes -> truncated at packet.size(); version != 6 -> bad_value at 0;
// Payload Length beyond the captured bytes -> truncated at 4; Payload Length 0 with a
// Hop-by-Hop header and more bytes (a jumbogram, RFC 2675) -> unsupported at 4.
// Bytes after Payload Length (link-layer padding) are not part of the packet and are ignored.
Expected<Ipv6Header> decode_ipv6_header(ByteSpan packet);

// Appends the 40-byte header, fields exactly as given (version and flow label masked to size).
void encode_ipv6_header(Writer& out, const Ipv6Header& header);
// The same 40 octets, written over `out` (room left in front of a packet).
void write_ipv6_header(std::span<std::byte, kIpv6HeaderSize> out, const Ipv6Header& header);

}  // namespace mipv6::wire
