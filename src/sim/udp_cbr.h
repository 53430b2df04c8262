// Constant-bit-rate UDP between the correspondent and a mobile node's home address: the records
// both ends keep and the datagrams themselves. A datagram goes from port kUdpCbrPort to
// kUdpCbrPort (RFC 768) and its payload starts with a 32-bit sequence number in network byte
// order, counting from 0 per source; the rest of the payload is zeros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/engine.h"
#include "core/signalling.h"
#include "core/time.h"
#include "sim/scenario_result.h"
#include "wire/bytes.h"

namespace mipv6::sim {

inline constexpr std::uint16_t kUdpCbrPort = 5001;
inline constexpr std::size_t kUdpHeaderSize = 8;         // RFC 768
inline constexpr std::size_t kUdpCbrMinimumPayload = 4;  // the sequence number

// A datagram as its source sent it.
struct UdpSent {
  std::uint32_t sequence = 0;
  TimePoint at;
  // Correspondent: to the care-of address with a Type 2 Routing header (§9.3.2). Mobile node:
  // from the care-of address with a Home Address option (§11.3.1).
  bool route_optimized = false;
  // The path it took. Mobile node: kHome, kTunnel (reverse-tunnelled through the home agent) or
  // kRouteOptimized; nullopt: no usable path, dropped at the source. Correspondent:
  // kRouteOptimized, else kHome (sent to the home address, whatever the home agent then does).
  std::optional<PathKind> path;
};

// A datagram as its destination received it. Mobile node: the path it came by (home link,
// the home agent's tunnel, Type 2 Routing header). Correspondent: kRouteOptimized when it
// carried a Home Address option (§9.3.1), else kHome (the sender's record tells home from
// reverse tunnel).
struct UdpReceived {
  std::uint32_t sequence = 0;
  TimePoint at;
  PathKind path = PathKind::kHome;
};

// A CBR datagram with `payload` octets (at least kUdpCbrMinimumPayload), checksum filled with
// RFC 6275's pseudo-header rules (§6.3: the home address for a Home Address option, §6.4: the
// final destination for a Type 2 Routing header).
wire::Bytes build_udp_cbr_packet(const core::SignallingAddresses& addresses, std::uint32_t sequence,
                                 std::size_t payload);

// The sequence number of a received CBR datagram (port kUdpCbrPort, payload long enough);
// nullopt for anything else.
std::optional<std::uint32_t> udp_cbr_sequence(const core::RxPacket& packet);

}  // namespace mipv6::sim
