// The sans-I/O contract every protocol engine follows (DESIGN.md §2): parsed packets, events and
// the current time in; actions out, in a queue the caller drains and carries out. An engine
// never reads a clock, never calls the OS, never opens a socket. The daemon (src/linux) and the
// simulator (src/sim) drive the same engines through this interface.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/time.h"
#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/chain.h"

namespace mipv6::core {

// ---------------------------------------------------------------------------------------------
// Inputs

// What protected a received message. The data plane verifies the protection before the packet
// reaches an engine (ESP, RFC 4303) or the engine verifies it (RFC 4285 authentication option);
// the engine's policy decides what is required (RFC 6275 §5.1, issue 7).
enum class Protection : std::uint8_t {
  kNone,
  kEspTransport,  // ESP transport mode SA between mobile node and home agent (RFC 3776/4877)
  kEspTunnel,     // ESP tunnel mode (HoTI/HoT through the home agent)
  kAuthOption,    // RFC 4285 MN-HA Mobility Message Authentication option, verified
};

using LinkLayerAddress = std::array<std::uint8_t, 6>;

// The IPv6-in-IPv6 header a packet arrived in (RFC 2473), when it was tunnelled.
struct TunnelOuter {
  wire::Ipv6Address source;
  wire::Ipv6Address destination;
};

// A packet handed to an engine: the whole IPv6 packet (the inner one if it was tunnelled) and
// its extension-header walk. The engine decodes the upper layer itself, so that it can apply
// RFC 6275 §9.2's checking order and point Parameter Problems at the offending octet. The bytes
// are only valid during on_packet().
struct RxPacket {
  wire::ByteSpan bytes;
  wire::PacketLayout layout;
  std::uint32_t ifindex = 0;
  Protection protection = Protection::kNone;
  std::uint32_t spi = 0;                        // the SA that protected it, if any
  std::optional<TunnelOuter> tunnel;            // set when it arrived IPv6-in-IPv6
  std::optional<LinkLayerAddress> link_source;  // sender's link-layer address, if known

  wire::ByteSpan upper() const { return bytes.subspan(layout.upper_offset, layout.upper_length); }
};

// Walks `bytes` and fills an RxPacket; the walk's error when it does not parse.
wire::Expected<RxPacket> make_rx_packet(wire::ByteSpan bytes, std::uint32_t ifindex,
                                        const wire::ChainLimits& limits = {});

// Things that happen to the node that are not packets.
struct LinkUp {
  std::uint32_t ifindex = 0;
};
struct LinkDown {
  std::uint32_t ifindex = 0;
};
struct AddressAdded {  // from SLAAC, DHCPv6, static configuration: the engine does not care
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint8_t prefix_length = 64;
  std::optional<Duration> valid_lifetime;      // nullopt: infinite
  std::optional<Duration> preferred_lifetime;  // nullopt: infinite
  bool tentative = false;                      // DAD not finished yet
};
struct AddressRemoved {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
};
struct DadResult {  // answer to a StartDad action
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  bool duplicate = false;
};
struct NeighborReachability {  // Neighbor Unreachability Detection result (RFC 4861 §7.3)
  std::uint32_t ifindex = 0;
  wire::Ipv6Address neighbor;
  bool reachable = true;
};
struct PrefixUpdate {  // a home prefix on a home agent's link was added, changed or removed
  std::uint32_t ifindex = 0;
  wire::Ipv6Address prefix;
  std::uint8_t prefix_length = 64;
  std::optional<Duration> valid_lifetime;  // nullopt: infinite; zero: removed
  std::optional<Duration> preferred_lifetime;
};

using NodeEvent = std::variant<LinkUp, LinkDown, AddressAdded, AddressRemoved, DadResult,
                               NeighborReachability, PrefixUpdate>;

// ---------------------------------------------------------------------------------------------
// Outputs

struct Transmit {
  wire::Bytes packet;                                // a whole IPv6 packet, checksums filled
  std::uint32_t ifindex = 0;                         // 0: the data plane routes by destination
  std::optional<LinkLayerAddress> link_destination;  // e.g. a BA to a node on the home link
  Protection protect = Protection::kNone;            // SA the data plane must apply
};
struct StartDad {  // Duplicate Address Detection on the data plane's side; DadResult comes back
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
};
enum class Change : std::uint8_t { kAdd, kRemove };
struct ProxyNeighbor {  // defend / stop defending an address on a link (RFC 6275 §10.4.1)
  Change change = Change::kAdd;
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
};
// Home agent: tunnel what is intercepted for home_address to care_of_address, from local_address,
// and accept reverse-tunnelled packets from care_of_address (RFC 6275 §10.4.1, §10.4.5).
// Mobile node: reverse-tunnel what is sent from home_address (§11.3.1).
struct TunnelRoute {
  Change change = Change::kAdd;
  wire::Ipv6Address home_address;
  wire::Ipv6Address care_of_address;
  wire::Ipv6Address local_address;
};
// Correspondent: packets to home_address go directly to care_of_address with a Type 2 Routing
// header (RFC 6275 §9.3.2), and a Home Address option from it is accepted (§9.3.1).
struct BindingRoute {
  Change change = Change::kAdd;
  wire::Ipv6Address home_address;
  wire::Ipv6Address care_of_address;
};
enum class LogLevel : std::uint8_t { kError, kWarn, kInfo, kDebug };
struct Log {
  LogLevel level = LogLevel::kInfo;
  std::string message;
};

using Action = std::variant<Transmit, StartDad, ProxyNeighbor, TunnelRoute, BindingRoute, Log>;

// ---------------------------------------------------------------------------------------------

class Engine {
 public:
  virtual ~Engine() = default;

  virtual void on_packet(const RxPacket& packet, TimePoint now) = 0;
  virtual void on_event(const NodeEvent& event, TimePoint now) = 0;
  virtual void on_timeout(TimePoint now) = 0;
  // The earliest instant on_timeout() has something to do; nullopt when nothing is scheduled.
  virtual std::optional<TimePoint> next_deadline() const = 0;

  std::vector<Action> take_actions() { return std::exchange(actions_, {}); }

 protected:
  void emit(Action action) { actions_.push_back(std::move(action)); }
  void log(LogLevel level, std::string message) { emit(Log{level, std::move(message)}); }

 private:
  std::vector<Action> actions_;
};

}  // namespace mipv6::core
