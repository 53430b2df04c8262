// Rewriting of queued packets that carry the Mobile IPv6 headers the kernel here cannot process
// (DESIGN.md §3: no CONFIG_IPV6_MIP6, so a Home Address option is an unknown option whose action
// bits say "discard", and a Type 2 Routing header with Segments Left 1 is refused). The daemon
// receives such packets through NFQUEUE (nfqueue.h), checks the addresses these functions report
// against its Binding Cache or Binding Update List, and hands the rewritten packet back to the
// kernel, which then delivers it as if the Mobile IPv6 processing had happened in the stack.
//
// Pure functions: no system calls, so they are unit-tested without root. Each one validates the
// whole packet before writing a byte: on error the packet is untouched.
//
// Errors (Error::code):
//  - EBADMSG: the packet is malformed for this purpose (truncated, Payload Length not matching
//    the bytes, a broken extension-header chain, two Home Address options, two Type 2 Routing
//    headers, Segments Left other than 1, an address that RFC 6275 forbids there);
//  - ENOMSG: the packet carries no Home Address option / no Type 2 Routing header (nothing to
//    rewrite; the caller can accept it as it is).
// The message names the rule and the offset of the offending field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "linux/result.h"
#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

// RFC 4727 §5.1: an experimental Destination Option type whose two high-order bits are 00
// ("skip over this option and continue processing") and whose third bit is 0 (data does not
// change en route). A neutralised Home Address option gets this type, so the kernel skips it.
inline constexpr std::uint8_t kSkippedOptionType = 0x1E;

// What a Home Address option said (RFC 6275 §6.3, §9.3.1).
struct HomeAddressOptionInfo {
  wire::Ipv6Address home_address;     // from the option
  wire::Ipv6Address care_of_address;  // the IPv6 Source Address on the wire
  std::size_t option_offset = 0;      // of the Option Type octet, from the IPv6 header
  // The Next Header of the Destination Options header holding the option: with ESP (50), AH
  // (51) or the Mobility Header (135) §9.3.1 says the packet is processed without a binding.
  std::uint8_t next_header = 0;
};

// What a Type 2 Routing header said (RFC 6275 §6.4, §11.3.3).
struct Type2RoutingInfo {
  wire::Ipv6Address home_address;     // from the routing header
  wire::Ipv6Address care_of_address;  // the IPv6 Destination Address on the wire
  std::size_t header_offset = 0;      // of the routing header, from the IPv6 header
};

// Both, for a packet that may carry either or both (a mobile node talking to a mobile node).
struct MobilityHeadersInfo {
  std::optional<HomeAddressOptionInfo> home_address_option;
  std::optional<Type2RoutingInfo> type2_routing;
};

// Reads the Home Address option without changing anything (the check a correspondent makes
// before deciding between rewriting and a Binding Error, RFC 6275 §9.3.1).
Result<HomeAddressOptionInfo> find_home_address_option(wire::ByteSpan packet);

// RFC 6275 §9.3.1 on a correspondent (or home agent): exchanges the IPv6 Source Address with the
// option's home address and neutralises the option (type kSkippedOptionType, same length, so the
// header keeps its size and its 8-octet alignment). The upper-layer checksum stays valid: the
// sender computed it over a pseudo-header holding the home address (§6.3), and once the home
// address is in the IPv6 header the kernel's pseudo-header holds it too.
Result<HomeAddressOptionInfo> apply_home_address_option(std::span<std::byte> packet);

// Reads the Type 2 Routing header without changing anything.
Result<Type2RoutingInfo> find_type2_routing_header(wire::ByteSpan packet);

// RFC 6275 §11.3.3 on a mobile node: exchanges the IPv6 Destination Address with the routing
// header's home address and sets Segments Left to 0, which the kernel accepts (DESIGN.md §3).
// The checksum stays valid for the same reason: the sender used the final destination, the home
// address, in its pseudo-header (RFC 8200 §8.1). The caller must first check that the home
// address is one of its own (§6.4: the node must not forward the packet elsewhere).
Result<Type2RoutingInfo> apply_type2_routing_header(std::span<std::byte> packet);

// Applies whichever of the two the packet carries (the routing header first: it names the
// destination, the option names the source). ENOMSG when it carries neither.
Result<MobilityHeadersInfo> apply_mobility_headers(std::span<std::byte> packet);

// The sending side, for packets the kernel routed into a TUN device (a new Wire copy each time;
// the input is not changed). Errors: EBADMSG for a packet that does not walk or whose Payload
// Length does not match; EMSGSIZE when the result would exceed 65,535 octets of payload.
//
// RFC 6275 §9.3.2 / §6.4 (correspondent → mobile node): inserts a Type 2 Routing header
// (Segments Left 1, Address = the packet's Destination Address, the home address) after the
// Hop-by-Hop Options header if there is one, and sets the Destination Address to
// `care_of_address`. The upper-layer checksum stays valid (its pseudo-header uses the final
// destination, the home address, §6.4). EEXIST if the packet already has a Type 2 header.
Result<wire::Bytes> insert_type2_routing_header(wire::ByteSpan packet,
                                                const wire::Ipv6Address& care_of_address);
// RFC 6275 §11.3.1 / §6.3 (mobile node → correspondent, route optimised): inserts a Destination
// Options header holding a Home Address option (Home Address = the packet's Source Address) after
// the Hop-by-Hop Options and Routing headers and before any Fragment, AH, ESP or other
// Destination Options header, aligned 8n+6 (§6.3), and sets the Source Address to
// `care_of_address`. The checksum stays valid (§6.3: it was computed with the home address).
// EEXIST if the packet already has a Home Address option.
Result<wire::Bytes> insert_home_address_option(wire::ByteSpan packet,
                                               const wire::Ipv6Address& care_of_address);

}  // namespace mipv6::linux_dp
