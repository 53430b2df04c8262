// A mobile node as a simulated host (RFC 6275 §11): a Host (ND, SLAAC with DAD) hosting the real
// core::MobileNode engine, with the data-plane duties the Linux daemon has (DESIGN.md §3):
//  - inputs: Router Advertisements and other ND messages, Mobility Header and ICMPv6 packets,
//    packets tunnelled from the home agent (decapsulated, RxPacket::tunnel set), Type 2 Routing
//    header packets (only when accept_type2 allows, §11.3.3); NodeEvents from SLAAC
//    (AddressAdded / AddressRemoved), link up / down, and the outcome of router probes
//    (NeighborReachability, from the interface's Neighbor Unreachability Detection);
//  - Transmit: a unicast Neighbor Solicitation to a router is a router probe (§11.5.1) and runs
//    as NUD on the interface; the rest is sent on the given interface / link-layer address or
//    routed by destination (Host::send);
//  - TunnelRoute: recorded (the application's packets from the home address would go through
//    it; the engine encapsulates its own HoTIs);
//  - data (UDP, ICMPv6 Echo Request) is handed to an application callback with the path it came
//    by: on the home link, through the home agent's tunnel, or route-optimised (Type 2).
// Every Mobility Header message sent or received, every address and link event, is logged with
// its virtual time (the handover report and tests read this log) unless the log is turned off
// (populations of many nodes); cheap registration counters are always kept.
// Traffic: a UDP constant-bit-rate source from the home address (sim/udp_cbr.h) sent the way the
// engine's send_path says (§11.3.1), and a sink for the correspondent's datagrams.
// Several radios: each host interface is a radio; packets leave by the interface that holds
// their source address (a care-of address), so two radios on two links work at once (make
// before break: MobileNodeConfig.movement.interface_preference picks the care-of address).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mobile_node.h"
#include "core/rng.h"
#include "sim/engine_timer.h"
#include "sim/host.h"
#include "sim/scenario_result.h"
#include "sim/udp_cbr.h"

namespace mipv6::sim {

// How a data packet reached the node (sim/scenario_result.h).
using DataPath = PathKind;

struct DeliveredData {
  TimePoint at;
  DataPath path;
  wire::Bytes packet;  // the (inner) packet
};

// One line of the mobile node's log: "tx BU(H)", "rx BA 0", "up", "addr+ 2001:db8:a::..."...
struct MobileEvent {
  TimePoint at;
  std::string what;
  friend bool operator==(const MobileEvent&, const MobileEvent&) = default;
};

class MobileHost : public Host {
 public:
  using DataCallback = std::function<void(const DeliveredData&)>;

  MobileHost(Scheduler& scheduler, std::string name, HostConfig config, std::uint64_t seed);
  ~MobileHost() override;

  // Creates the engine once the (host) interfaces exist. Unset link_local_address and
  // link_layer_address are taken from the first interface (EUI-64, RFC 4291 App. A).
  void start(core::MobileNodeConfig config);
  core::MobileNode& engine() { return *engine_; }
  void set_data_callback(DataCallback cb) { data_cb_ = std::move(cb); }
  // Answer Echo Requests for a home address (RFC 4443 §4.2) the way the engine's send_path says
  // (§11.3.1): normally at home, reverse-tunnelled to the home agent, or from the care-of address
  // with a Home Address option once route-optimised.
  void set_echo_reply(bool enabled) { echo_reply_ = enabled; }
  struct SentCounters {
    std::uint64_t home = 0;
    std::uint64_t reverse_tunnel = 0;
    std::uint64_t route_optimized = 0;
  };
  const SentCounters& sent_counters() const { return sent_; }
  const std::vector<MobileEvent>& log() const { return log_; }
  const std::vector<core::TunnelRoute>& tunnel_routes() const { return tunnels_; }
  // Off: no log line (no string) is built per event; log() stays as it was. Before start(), it
  // also turns off the engine's Log actions (MobileNodeConfig::log_bindings).
  void set_log_enabled(bool enabled) { log_enabled_ = enabled; }

  // Home registrations (§11.7.1), counted without parsing or logging.
  struct RegistrationStats {
    std::uint64_t bu_home_sent = 0;  // home registration BUs, retransmissions included
    std::uint64_t ba_received = 0;   // BAs from home agents
    std::uint64_t ba_rejected = 0;   // of those, status >= 128
    // First home-registration BU sent -> first accepted BA.
    std::optional<Duration> first_registration;
  };
  RegistrationStats registration_stats() const;

  // Sends a UDP datagram of `payload` octets from the (first) home address to `destination`
  // every `interval` in [from, until), by the engine's send_path (§11.3.1).
  void start_udp_cbr(const wire::Ipv6Address& destination, Duration interval, std::size_t payload,
                     TimePoint from, TimePoint until);
  const std::vector<UdpSent>& udp_sent() const { return udp_sent_; }
  // CBR datagrams received for a home address, with the path they came by.
  const std::vector<UdpReceived>& udp_received() const { return udp_received_; }

  void on_frame(Interface& in, const Frame& frame) override;
  void on_link_up(Interface& in) override;
  void on_link_down(Interface& in) override;

 private:
  void on_address(Interface& in, const AddressEvent& event);
  void prefer_interface(std::uint32_t ifindex);
  void home_addresses_on_home_link();
  void on_packet(Interface& in, const Frame& frame);
  void feed(const core::RxPacket& packet);
  void deliver(const core::RxPacket& packet, DataPath path);
  void echo_reply(const core::RxPacket& request, const wire::EchoRequest& echo);
  void drain();
  void carry_out(core::Action& action);
  void transmit(core::Transmit& transmit);
  bool router_probe(const core::Transmit& transmit);
  void note(std::string what);
  void note_packet(const char* direction, wire::ByteSpan packet);
  void send_udp();
  // Sends by the interface holding the packet's source address when it has a default router
  // there (one radio per link), else as the host routes it.
  bool send_from_source(wire::Bytes packet);
  void track_registration();

  core::SplitMix64 rng_;
  std::unique_ptr<core::MobileNode> engine_;
  std::unique_ptr<EngineTimer> timer_;
  DataCallback data_cb_;
  std::vector<MobileEvent> log_;
  std::vector<core::TunnelRoute> tunnels_;
  bool ra_seen_ = false;  // since the last link-up
  bool echo_reply_ = false;
  SentCounters sent_;
  bool log_enabled_ = true;
  std::optional<wire::Ipv6Address> home_address_;  // the first configured one
  // When the first home registration started and ended (from the engine's counters).
  std::optional<TimePoint> first_bu_home_;
  std::optional<TimePoint> first_ba_accepted_;
  struct UdpSource {
    wire::Ipv6Address destination;
    Duration interval{};
    std::size_t payload = kUdpCbrMinimumPayload;
    TimePoint until{};
    EventId event;
  };
  UdpSource udp_;
  std::vector<UdpSent> udp_sent_;
  std::vector<UdpReceived> udp_received_;
};

// "BU(H)", "BA 0", "HoTI"... for a packet carrying a Mobility Header; empty otherwise.
std::string mobility_label(wire::ByteSpan packet);

}  // namespace mipv6::sim
