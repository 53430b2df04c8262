// Link-layer vocabulary of the simulated links: 48-bit MAC addresses and Ethernet frames that
// carry one IPv6 packet each (EtherType 0x86DD, RFC 2464 §3).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::sim {

inline constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;  // RFC 2464 §3
inline constexpr std::size_t kEthernetHeaderSize = 14;   // destination, source, EtherType

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};

  // RFC 2464 §7: an IPv6 multicast destination maps to 33:33 followed by the last four octets
  // of the group address.
  static MacAddress for_ipv6_multicast(const wire::Ipv6Address& group);
  // A locally administered unicast address (02:00:nn:nn:nn:nn, IEEE 802 U/L bit set), numbered
  // so every run of a scenario hands out the same addresses.
  static MacAddress synthetic(std::uint32_t n);
  static constexpr MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }

  // The I/G bit (IEEE 802): group addresses, 33:33:xx and broadcast included.
  bool is_multicast() const { return (bytes[0] & 0x01) != 0; }
  std::string to_string() const;  // "02:00:00:00:00:01"

  friend auto operator<=>(const MacAddress&, const MacAddress&) = default;
};

// One frame on a simulated link. The Ethernet header is implicit (EtherType IPv6); it is
// materialised only for pcap output.
struct Frame {
  MacAddress destination;
  MacAddress source;
  wire::Bytes packet;  // the whole IPv6 packet

  std::size_t wire_size() const { return kEthernetHeaderSize + packet.size(); }
};

// The Ethernet II encoding of `frame` (no preamble, no FCS: what a capture shows).
void append_ethernet_frame(wire::Bytes& out, const Frame& frame);

}  // namespace mipv6::sim

template <>
struct std::hash<mipv6::sim::MacAddress> {
  std::size_t operator()(const mipv6::sim::MacAddress& m) const noexcept;
};
