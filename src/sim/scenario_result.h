// What a scenario run produced (sim/scenario.h fills it; sim/report.h prints it as a summary and
// JSON, sim/svg.h draws it), as plain data. Times are virtual, from the start of the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "sim/link.h"

namespace mipv6::sim {

using core::Duration;
using core::TimePoint;

// One handover of the observed mobile node (node 0). Phase durations are measured from the
// move unless stated; nullopt: the phase did not happen before the next move / the end.
struct HandoverReport {
  std::string to;  // link name
  TimePoint at;
  std::optional<Duration> router_discovery;       // move -> first RA from the new link
  std::optional<Duration> address_configuration;  // that RA -> care-of address usable (DAD)
  // move -> the engine's decision, i.e. its first Binding Update (home registration or
  // de-registration) on the new link: includes the probe of the old router (§11.5.1).
  std::optional<Duration> movement_detection;
  std::optional<Duration> home_registration;   // BU(H) sent -> BA received
  std::optional<Duration> return_routability;  // first HoTI/CoTI -> BA of the CN's binding
  std::optional<Duration> total;               // move -> first data packet received
  std::uint64_t packets_sent = 0;              // packets to the node sent until the next move
  std::uint64_t packets_lost = 0;              // of those, never received
  std::uint64_t received_direct = 0;           // received route-optimised
  std::uint64_t received_tunnel = 0;           // received through the home agent
  std::uint64_t received_home = 0;             // received on the home link

  std::string to_string() const;
};

// How a data packet reached its destination.
enum class PathKind : std::uint8_t { kHome, kTunnel, kRouteOptimized };

// One data packet of a flow ("ping", "cbr-down" = CN -> MN, "cbr-up" = MN -> CN).
struct PacketRecord {
  std::string flow;
  std::uint32_t sequence = 0;
  TimePoint sent;
  std::optional<TimePoint> received;  // nullopt: lost
  std::optional<PathKind> path;
};

struct FlowSummary {
  std::string flow;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t lost = 0;
  std::uint64_t direct = 0;  // route-optimised
  std::uint64_t tunnel = 0;  // via the home agent
  std::uint64_t home = 0;    // on the home link
  std::optional<Duration> delay_min, delay_mean, delay_max;
};

// A signalling message of the observed node, as the message sequence chart shows it: from one
// node to another ("mn", "ha", "ar-a", "cn", ...), e.g. "BU(H) seq 3", "HoTI (tunnel)", "RA".
struct SignalRecord {
  TimePoint at;                      // when it was sent
  std::optional<TimePoint> arrived;  // at the far node; nullopt: lost or not seen
  std::string from;
  std::string to;
  std::string label;
  std::string link;  // where it was first seen
};

// A scripted move or failure, as it happened.
struct EventRecord {
  TimePoint at;
  std::string what;  // "move to a", "ha crash", "loss burst on a for 200 ms", ...
};

// Aggregate over every mobile node (the scale scenarios).
struct PopulationReport {
  std::size_t mobile_nodes = 0;
  std::size_t registered_at_end = 0;  // Binding Cache entries of the home agents at the end
  std::uint64_t binding_updates = 0;  // home registrations sent by all nodes
  std::uint64_t binding_acks = 0;     // received by all nodes
  std::uint64_t ba_rejected = 0;      // status >= 128
  // First registration of each node: BU(H) sent -> BA accepted.
  std::optional<Duration> registration_p50, registration_p99, registration_max;
};

struct ScenarioResult {
  std::string name;
  std::string description;
  std::uint64_t seed = 0;
  Duration simulated{0};
  std::uint64_t events = 0;  // scheduler events run
  std::vector<HandoverReport> handovers;
  std::vector<EventRecord> timeline;
  std::vector<PacketRecord> packets;
  std::vector<FlowSummary> flows;
  std::vector<SignalRecord> signalling;
  PopulationReport population;
  struct LinkResult {
    std::string name;
    LinkCounters counters;
  };
  std::vector<LinkResult> links;
};

const char* path_kind_name(PathKind path);  // "home", "tunnel", "direct"

}  // namespace mipv6::sim
