// What a scenario file says (scenarios/*.toml, read by sim/scenario_file.h), as plain data: the
// standard topology's link parameters and Router Advertisement timing, the home agents, the mobile
// nodes, their moves, the failures and the traffic. sim/scenario.h builds and runs it; nothing
// here knows about TOML, so tests can also write a spec in code.
//
// The standard topology (fixed names):
//
//        home (2001:db8:1::/64)      a (2001:db8:a::/64)      b (2001:db8:b::/64)
//              |                          |                        |
//          HA(s), MN                    AR-A                     AR-B
//              |__________________________|________________________|__ backbone
//                                         |                           (2001:db8:ff::/64)
//                                       core
//                                         |
//                                    cn (2001:db8:c::/64) -- CN
//
// One or two home agents sit on the home link (the second one, if any, has its own uplink on
// the backbone; the core router reaches the home prefix through the first). Times are virtual,
// from the start of the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.h"
#include "sim/link.h"
#include "wire/address.h"

namespace mipv6::sim {

using core::Duration;
using core::TimePoint;

// Names of the links of the standard topology.
inline constexpr const char* kStandardLinks[] = {"home", "a", "b", "backbone", "cn"};

struct LinkSpec {
  std::string name;  // one of kStandardLinks
  LinkParams params;
};

// RFC 4861 §6.2.1 default intervals (MinRtrAdvInterval 200 s, MaxRtrAdvInterval 600 s, RAs to
// solicitations after 0..500 ms), or RFC 6275 §7.5's fast ones (0.03 / 0.07 s) with the
// Advertisement Interval option (§7.3).
enum class RaTiming : std::uint8_t { kDefault, kFast };

struct HomeAgentSpec {
  std::string name = "ha";       // node name; "ha", "ha2"
  wire::Ipv6Address address;     // global address on the home link
  std::uint16_t preference = 0;  // Home Agent Information option, DHAAD (§10.5.1)
  Duration max_lifetime = std::chrono::seconds(3600);  // §10.3.1 local policy
  std::size_t max_bindings = 1024;  // Binding Cache capacity (BA 130 beyond, §10.3.1)
};

struct MobileNodesSpec {
  std::size_t count = 1;  // node i (0-based) is "mn" for i = 0, "mn<i+1>" otherwise
  // Home agent address to register with, or nullopt: Dynamic Home Agent Address Discovery
  // (§11.4.1).
  std::optional<wire::Ipv6Address> home_agent;
  std::string start_link = "home";
  bool route_optimization = true;         // §11.7.2 with the correspondent
  bool optimistic_dad = false;            // RFC 4429 for care-of addresses
  bool link_hints = true;                 // link up/down tells the movement detector (§11.5.1)
  std::optional<Duration> probe_timeout;  // previous-router probe (§11.5.1); nullopt: 3 s
  Duration registration_lifetime = std::chrono::seconds(420);
  // Node i starts (attaches to start_link) at i * start_stagger, and moves at move.at +
  // i * move_stagger: a population does not act in lock step.
  Duration start_stagger{0};
  Duration move_stagger{0};
  bool forward_from_previous_care_of = false;  // draft-04 §9.6 (SEEDS)
};

struct MoveSpec {
  TimePoint at;
  std::string link;  // "home", "a" or "b"
  // Overlapping coverage (make before break): the node's second radio attaches to the new link
  // at `at`, the current one leaves the old link at `at + overlap`. Zero: break before make.
  Duration overlap{0};
  std::optional<std::size_t> node;  // one mobile node (index), or every one
};

enum class EventKind : std::uint8_t {
  kHomeAgentCrash,       // the home agent stops: every frame to it is lost, its state is gone
  kHomeAgentRestart,     // it comes back with an empty Binding Cache (§10.3.1 volatile cache)
  kCorrespondentReboot,  // the correspondent's Binding Cache and nonces are lost
  kLossBurst,            // frames starting on `link` in [at, at + duration) lost with `loss`
  kRenumberHome,         // the home prefix becomes `new_prefix` (RAs, HA, MPA to away nodes)
};

struct EventSpec {
  TimePoint at;
  EventKind kind{};
  std::string target;  // home agent name (crash/restart) or link name (loss burst)
  Duration duration{0};
  double loss = 1.0;
  std::optional<wire::Ipv6Address> new_prefix;  // kRenumberHome, a /64
};

// Traffic between the correspondent and mobile node 0 (the observed node).
struct TrafficSpec {
  // ICMPv6 Echo Requests from the correspondent to the home address, answered by the node.
  std::optional<Duration> ping_interval;
  // Constant-bit-rate UDP, one datagram of `cbr_payload` octets per `cbr_interval`.
  std::optional<Duration> cbr_interval;
  bool cbr_to_mobile = true;    // correspondent -> home address
  bool cbr_from_mobile = true;  // home address -> correspondent
  std::size_t cbr_payload = 160;
  TimePoint start = TimePoint(std::chrono::seconds(1));
  std::optional<TimePoint> stop;  // default: the end of the run
};

struct ScenarioSpec {
  std::string name;
  std::string description;
  std::uint64_t seed = 1;
  Duration duration = std::chrono::seconds(35);
  RaTiming ra = RaTiming::kDefault;
  std::vector<LinkSpec> links;  // overrides; unlisted links: access 1 ms, backbone/cn 5 ms
  std::vector<HomeAgentSpec> home_agents;  // 1 or 2; empty: one at 2001:db8:1::1
  MobileNodesSpec mobile_nodes;
  std::vector<MoveSpec> moves;
  std::vector<EventSpec> events;
  TrafficSpec traffic;
  // Capture every link to a pcap (off for large populations: memory).
  bool capture = true;
  // Record the observed node's signalling for the message sequence chart.
  bool trace = true;
};

}  // namespace mipv6::sim
