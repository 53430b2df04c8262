// ICMPv6 (RFC 4443) messages that Mobile IPv6 sends, receives or reads: the error messages, Echo,
// Neighbor Discovery (RFC 4861, with RFC 6275 §7's Router Advertisement changes), and RFC 6275's
// Home Agent Address Discovery and Mobile Prefix messages (§6.5-§6.8). Unknown types are kept raw.
//
// RFC 4443 §2.1 — every message starts with:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                         Message Body                          |
//
// The message type is implied by the body alternative (UnknownIcmpv6Body carries its own).
// Every reserved field and flag bit is kept raw, so decode -> encode reproduces the bytes. The
// checksum is carried, not verified: it needs the pseudo-header, which only the packet layer
// knows (RFC 6275 §6.3/§6.4 put the home address into it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"
#include "wire/nd_options.h"

namespace mipv6::wire {

inline constexpr std::uint8_t kIcmpv6NextHeader = 58;  // RFC 4443 §1

// RFC 4443 §3.1: | Unused (32) | As much of the invoking packet as fits the minimum MTU |
struct DestinationUnreachable {
  static constexpr std::uint8_t kType = 1;
  std::uint32_t unused = 0;
  Bytes invoking_packet;
  friend bool operator==(const DestinationUnreachable&, const DestinationUnreachable&) = default;
};

// RFC 4443 §3.2: | MTU (32) | invoking packet |
struct PacketTooBig {
  static constexpr std::uint8_t kType = 2;
  std::uint32_t mtu = 0;
  Bytes invoking_packet;
  friend bool operator==(const PacketTooBig&, const PacketTooBig&) = default;
};

// RFC 4443 §3.3: | Unused (32) | invoking packet |
struct TimeExceeded {
  static constexpr std::uint8_t kType = 3;
  std::uint32_t unused = 0;
  Bytes invoking_packet;
  friend bool operator==(const TimeExceeded&, const TimeExceeded&) = default;
};

// RFC 4443 §3.4: | Pointer (32) | invoking packet |. RFC 6275 §9.2 sends code 0 with the
// pointer at an MH field; code 1 answering HoTI/CoTI means "no MH support" (§11.3.5).
struct ParameterProblem {
  static constexpr std::uint8_t kType = 4;
  std::uint32_t pointer = 0;
  Bytes invoking_packet;
  friend bool operator==(const ParameterProblem&, const ParameterProblem&) = default;
};

// RFC 4443 §4.1/§4.2: | Identifier | Sequence Number | Data ... |
struct EchoFields {
  std::uint16_t identifier = 0;
  std::uint16_t sequence_number = 0;
  Bytes data;
  friend bool operator==(const EchoFields&, const EchoFields&) = default;
};
struct EchoRequest : EchoFields {
  static constexpr std::uint8_t kType = 128;
  friend bool operator==(const EchoRequest&, const EchoRequest&) = default;
};
struct EchoReply : EchoFields {
  static constexpr std::uint8_t kType = 129;
  friend bool operator==(const EchoReply&, const EchoReply&) = default;
};

// RFC 4861 §4.1: | Reserved (32) | Options ... |
struct RouterSolicitation {
  static constexpr std::uint8_t kType = 133;
  std::uint32_t reserved = 0;
  NdOptions options;
  friend bool operator==(const RouterSolicitation&, const RouterSolicitation&) = default;
};

// RFC 4861 §4.2 with RFC 6275 §7.1 (H bit: the router is a home agent on this link):
//   | Cur Hop Limit |M|O|H| Reserved|       Router Lifetime         |
//   |                         Reachable Time                        |
//   |                          Retrans Timer                        |
//   |   Options ...
struct RouterAdvertisement {
  static constexpr std::uint8_t kType = 134;
  static constexpr std::uint8_t kFlagM = 0x80;         // managed address configuration
  static constexpr std::uint8_t kFlagO = 0x40;         // other configuration
  static constexpr std::uint8_t kFlagH = 0x20;         // home agent (RFC 6275 §7.1)
  static constexpr std::uint8_t kReservedMask = 0x1f;  // Prf (RFC 4191), Proxy (RFC 4389)...
  std::uint8_t cur_hop_limit = 0;
  bool m = false;
  bool o = false;
  bool h = false;
  std::uint8_t reserved = 0;          // the 5 low-order bits of the flags byte, as on the wire
  std::uint16_t router_lifetime = 0;  // seconds
  std::uint32_t reachable_time = 0;   // milliseconds
  std::uint32_t retrans_timer = 0;    // milliseconds
  NdOptions options;
  friend bool operator==(const RouterAdvertisement&, const RouterAdvertisement&) = default;
};

// RFC 4861 §4.3: | Reserved (32) | Target Address (128) | Options ... |
struct NeighborSolicitation {
  static constexpr std::uint8_t kType = 135;
  std::uint32_t reserved = 0;
  Ipv6Address target_address;
  NdOptions options;
  friend bool operator==(const NeighborSolicitation&, const NeighborSolicitation&) = default;
};

// RFC 4861 §4.4: |R|S|O| Reserved (29) | Target Address (128) | Options ... |
struct NeighborAdvertisement {
  static constexpr std::uint8_t kType = 136;
  static constexpr std::uint32_t kFlagR = 0x80000000;  // router
  static constexpr std::uint32_t kFlagS = 0x40000000;  // solicited
  static constexpr std::uint32_t kFlagO = 0x20000000;  // override
  static constexpr std::uint32_t kReservedMask = 0x1fffffff;
  bool r = false;
  bool s = false;
  bool o = false;
  std::uint32_t reserved = 0;  // the 29 low-order bits of the flags word, as on the wire
  Ipv6Address target_address;
  NdOptions options;
  friend bool operator==(const NeighborAdvertisement&, const NeighborAdvertisement&) = default;
};

// RFC 4861 §4.5: | Reserved (32) | Target Address | Destination Address | Options ... |
struct Redirect {
  static constexpr std::uint8_t kType = 137;
  std::uint32_t reserved = 0;
  Ipv6Address target_address;
  Ipv6Address destination_address;
  NdOptions options;
  friend bool operator==(const Redirect&, const Redirect&) = default;
};

// RFC 6275 §6.5: | Identifier | Reserved |. Sent to the Home-Agents anycast address.
struct HomeAgentAddressDiscoveryRequest {
  static constexpr std::uint8_t kType = 144;
  std::uint16_t identifier = 0;
  std::uint16_t reserved = 0;  // kept raw: NEMO (RFC 3963) uses its top bit 0x8000 as R
  friend bool operator==(const HomeAgentAddressDiscoveryRequest&,
                         const HomeAgentAddressDiscoveryRequest&) = default;
};

// RFC 6275 §6.6: | Identifier | Reserved | Home Agent Addresses (n × 128) |
// "The number of addresses ... is indicated by the remaining length of the IPv6 packet".
struct HomeAgentAddressDiscoveryReply {
  static constexpr std::uint8_t kType = 145;
  std::uint16_t identifier = 0;
  std::uint16_t reserved = 0;
  std::vector<Ipv6Address> home_agent_addresses;
  friend bool operator==(const HomeAgentAddressDiscoveryReply&,
                         const HomeAgentAddressDiscoveryReply&) = default;
};

// RFC 6275 §6.7: | Identifier | Reserved | Options ... | (ND format, none defined yet).
struct MobilePrefixSolicitation {
  static constexpr std::uint8_t kType = 146;
  std::uint16_t identifier = 0;
  std::uint16_t reserved = 0;
  NdOptions options;
  friend bool operator==(const MobilePrefixSolicitation&,
                         const MobilePrefixSolicitation&) = default;
};

// RFC 6275 §6.8: | Identifier |M|O| Reserved (14) | Options ... | (Prefix Information options)
struct MobilePrefixAdvertisement {
  static constexpr std::uint8_t kType = 147;
  static constexpr std::uint16_t kFlagM = 0x8000;
  static constexpr std::uint16_t kFlagO = 0x4000;
  static constexpr std::uint16_t kReservedMask = 0x3fff;
  std::uint16_t identifier = 0;
  bool m = false;
  bool o = false;
  std::uint16_t reserved = 0;  // the 14 low-order bits of the flags word, as on the wire
  NdOptions options;
  friend bool operator==(const MobilePrefixAdvertisement&,
                         const MobilePrefixAdvertisement&) = default;
};

// Any other type: the bytes after the Checksum, raw.
struct UnknownIcmpv6Body {
  std::uint8_t type = 0;
  Bytes body;
  friend bool operator==(const UnknownIcmpv6Body&, const UnknownIcmpv6Body&) = default;
};

using Icmpv6Body =
    std::variant<DestinationUnreachable, PacketTooBig, TimeExceeded, ParameterProblem, EchoRequest,
                 EchoReply, RouterSolicitation, RouterAdvertisement, NeighborSolicitation,
                 NeighborAdvertisement, Redirect, HomeAgentAddressDiscoveryRequest,
                 HomeAgentAddressDiscoveryReply, MobilePrefixSolicitation,
                 MobilePrefixAdvertisement, UnknownIcmpv6Body>;

struct Icmpv6Message {
  std::uint8_t code = 0;
  std::uint16_t checksum = 0;  // as received / to be written verbatim
  Icmpv6Body body;
  friend bool operator==(const Icmpv6Message&, const Icmpv6Message&) = default;
};

// The Type byte of a message.
std::uint8_t icmpv6_type(const Icmpv6Message& message);

// Decodes one message, from its Type byte to the end of `msg` (the IPv6 payload length decides
// where it ends). Error offsets are relative to msg[0]:
//   - shorter than the type's fixed part (RFC 4443: 4 + 4 octets at least; RA 16, NS/NA 24,
//     Redirect 40)                              -> kTruncated at the first missing field;
//   - DHAAD Reply whose address area is not a multiple of 16 (RFC 6275 §6.6)
//                                               -> kBadLength at the partial address;
//   - DHAAD Request longer than 8 octets        -> kTrailingBytes at offset 8;
//   - bad ND options                            -> as decode_nd_options().
// The checksum is not verified here (see icmpv6_checksum()).
Expected<Icmpv6Message> decode_icmpv6(ByteSpan msg);

// Appends the message's bytes, the Checksum field holding message.checksum verbatim.
void encode_icmpv6(const Icmpv6Message& message, Bytes& out);

// RFC 4443 §2.3: the checksum over the RFC 8200 §8.1 pseudo-header (Next Header 58) and `msg`.
// With the Checksum field zeroed it returns the value to store; over a message whose checksum
// is right it returns 0. For an MPS (carrying a Home Address option) `source` is the home
// address; for an MPA (carrying a type 2 routing header) `destination` is (RFC 6275 §6.3, §6.4).
std::uint16_t icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                              ByteSpan msg);
// Computes the checksum of `msg` (whatever its Checksum field holds) and stores it there.
void fill_icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                          std::span<std::byte> msg);

// The Mobile IPv6 Home-Agents subnet anycast address of a prefix (RFC 6275 §6.5, RFC 2526 §2):
// the prefix followed by an interface identifier of all ones except the 7-bit anycast ID 0x7E.
// For a /64 (EUI-64 format interface identifiers, RFC 4291 §2.5.1) the universal/local bit is 0,
// giving ::fdff:ffff:ffff:fffe. Bits of `prefix` beyond prefix_len are ignored. Empty when the
// interface identifier would be shorter than the 7-bit anycast ID (prefix_len > 121).
std::optional<Ipv6Address> home_agents_anycast(const Ipv6Address& prefix, unsigned prefix_len);

}  // namespace mipv6::wire
