// The Internet checksum (RFC 1071) and the IPv6 upper-layer pseudo-header (RFC 8200 §8.1).
// Which addresses go into the pseudo-header when a Home Address option or a Type 2 Routing
// header is present (RFC 6275 §6.1.1, §6.3, §6.4) is decided by the packet layer, which passes
// the chosen addresses here.
#pragma once

#include <cstdint>

#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::wire {

// Adds `data` to a running 32-bit one's-complement sum (big-endian 16-bit words; an odd final
// byte is padded with zero). Chain calls only on even-length pieces except the last.
std::uint32_t checksum_add(std::uint32_t sum, ByteSpan data);
// checksum_add(), copying `data` into `out` on the way (as much of it as `out` holds): one pass
// over the octets where a copy and then a sum would take two.
std::uint32_t checksum_copy(std::uint32_t sum, ByteSpan data, std::span<std::byte> out);
// Folds the carries and returns the one's complement: the value to store in a checksum field.
std::uint16_t checksum_finish(std::uint32_t sum);

// Checksum of `data` alone (ICMPv4-style; used by tests).
std::uint16_t internet_checksum(ByteSpan data);

// Upper-layer checksum with the RFC 8200 §8.1 pseudo-header. With the checksum field zeroed in
// `upper`, returns the value to store; over a message with a correct checksum it returns 0.
std::uint16_t upper_layer_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                                   std::uint8_t next_header, ByteSpan upper);

}  // namespace mipv6::wire
