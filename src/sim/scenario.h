// Scenarios: the standard topology of sim/scenario_spec.h built from a ScenarioSpec and run to
// a ScenarioResult, with the real engines in every node:
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
// Addresses: the first home agent fe80::1 / its spec address (default 2001:db8:1::1) on the
// home link and 2001:db8:ff::1 on the backbone; a second one fe80::2 / its spec address and
// 2001:db8:ff::2; access routers fe80::a, 2001:db8:a::1, 2001:db8:ff::a (and b); the core
// 2001:db8:ff::ff and fe80::c, 2001:db8:c::1; the correspondent 2001:db8:c::c. Mobile node i
// has the MAC 02:00:... handed out after the routers' and the correspondent's, and the EUI-64
// home address on 2001:db8:1::/64 (RFC 4291 App. A).
//
// Routing: the core reaches the home prefix through the first home agent and the second home
// agent's own address through its uplink. When the first home agent crashes, the core learns
// (as a routing protocol would) to reach the home link through the second one.
//
// Mobile nodes: node 0 ("mn") is the observed one: it carries the traffic, keeps its log (the
// handover reports read it) and its signalling is traced; beyond 1,000 nodes the others keep no
// log. A node that makes a move with overlapping coverage gets a second radio, which it prefers
// (MovementDetectorConfig::interface_preference). Not modelled: forwarding from the previous
// care-of address (draft-04 §9.6, MobileNodesSpec::forward_from_previous_care_of): the access
// routers would have to be forwarding agents; the field is ignored.
//
// Home agents learn each other from their RAs on the home link (§10.5.1), so that the one
// answering DHAAD (the first: it holds the Home-Agents anycast address, RFC 2526) lists both.
//
// HandoverScenario is the basic handover of issue 5 (home -> A -> B -> home with Echo Requests
// from the correspondent) expressed as such a spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/correspondent_host.h"
#include "sim/home_agent_node.h"
#include "sim/mobile_host.h"
#include "sim/router.h"
#include "sim/scenario_result.h"
#include "sim/scenario_spec.h"
#include "sim/signal_trace.h"
#include "sim/simulation.h"

namespace mipv6::sim {

struct ScenarioProgress {
  TimePoint now;
  TimePoint end;
  std::uint64_t events = 0;
};

// The Echo Request of the ping flow with sequence number `sequence`, as the observed mobile
// node received it.
struct PingArrival {
  std::optional<TimePoint> at;
  std::optional<PathKind> path;
};

class Scenario {
 public:
  // How long the run continues after spec.duration so that packets in flight are not lost.
  static constexpr Duration kDrain = std::chrono::seconds(1);

  // Builds the network; `spec` is already validated (names of links and home agents exist).
  explicit Scenario(ScenarioSpec spec);
  ~Scenario();
  Scenario(const Scenario&) = delete;
  Scenario& operator=(const Scenario&) = delete;

  // Runs to spec.duration plus kDrain; `progress` is called about once per simulated second.
  void run(const std::function<void(const ScenarioProgress&)>& progress = {});
  ScenarioResult result() const;  // after run()
  // Writes each link's capture to `directory`/<link>.pcap. False and `error` when a file cannot
  // be written or nothing was captured (spec.capture off).
  bool write_pcaps(const std::string& directory, std::string& error) const;

  const ScenarioSpec& spec() const { return spec_; }
  Simulation& simulation() { return sim_; }
  MobileHost& mobile(std::size_t i = 0) { return *mobiles_[i]; }
  HomeAgentNode& home_agent(std::size_t i = 0) { return *home_agents_[i]; }
  CorrespondentHost& correspondent() { return *cn_; }
  wire::Ipv6Address home_address(std::size_t i = 0) const;
  const wire::Ipv6Address& correspondent_address() const { return cn_address_; }
  // The in-memory capture of a link (empty when spec.capture is off).
  const wire::Bytes& pcap(const std::string& link) const;
  // Indexed by Echo sequence number: the ping flow's requests at the observed node.
  const std::vector<PingArrival>& ping_arrivals() const { return ping_arrivals_; }
  std::vector<HandoverReport> handovers() const;

 private:
  struct MoveStep;
  void build_links();
  void build_home_agents();
  void build_access_routers();
  void build_core();
  void build_correspondent();
  void build_mobile_nodes();
  void build_mobile(std::size_t index);
  void start_traffic();
  void schedule_moves();
  void schedule_move(const MoveSpec& move, std::size_t node);
  void schedule_events();
  void schedule_event(const EventSpec& event);
  void start_trace();
  void note(TimePoint at, std::string what);
  void reroute_home_link();
  Interface& router_interface(Router& router, Link& link, const wire::Ipv6Address* link_local,
                              const wire::Ipv6Address& global);
  RaConfig ra_config(const wire::Ipv6Address& prefix, bool home_agent,
                     std::uint16_t preference) const;
  HomeAgentNode* find_home_agent(const std::string& name) const;
  TimePoint end() const { return TimePoint(spec_.duration); }
  TimePoint traffic_stop() const;
  HandoverReport handover_for(std::size_t index, const std::vector<PacketRecord>& down) const;
  std::vector<PacketRecord> packets() const;
  std::vector<FlowSummary> flows(const std::vector<PacketRecord>& packets) const;
  PopulationReport population() const;

  ScenarioSpec spec_;
  Simulation sim_;
  std::vector<HomeAgentNode*> home_agents_;
  Router* ar_a_ = nullptr;
  Router* ar_b_ = nullptr;
  Router* core_ = nullptr;
  Interface* core_up_ = nullptr;
  CorrespondentHost* cn_ = nullptr;
  wire::Ipv6Address cn_address_;
  std::vector<MobileHost*> mobiles_;
  // The radio each mobile node currently uses (0 or 1), for overlapping moves; empty when no
  // move overlaps.
  std::vector<std::uint8_t> radio_;
  std::vector<PingArrival> ping_arrivals_;
  std::vector<EventRecord> timeline_;
  std::unique_ptr<SignalTrace> trace_;
  // Moves of the observed node (node 0), in time order: the handover reports.
  std::vector<MoveSpec> observed_moves_;
  bool rerouted_ = false;
  std::uint64_t events_ = 0;  // scheduler events run, at the end of run()
};

// ---------------------------------------------------------------------------------------------
// The basic handover scenario of issue 5 (kept for its exact regression test).

struct Move {
  TimePoint at;
  std::string link;  // "home", "a" or "b"
};

struct HandoverScenarioConfig {
  std::uint64_t seed = 1;
  // Fast Router Advertisements (RFC 6275 §7.5: MinRtrAdvInterval 0.03 s, Max 0.07 s) and
  // Optimistic DAD (RFC 4429); otherwise RFC 4861's default intervals and standard DAD.
  bool fast = false;
  std::vector<Move> moves;
  Duration access_delay = std::chrono::milliseconds(1);    // home, a, b links
  Duration backbone_delay = std::chrono::milliseconds(5);  // backbone and cn links
  Duration cbr_interval = std::chrono::milliseconds(10);
  TimePoint cbr_start = TimePoint(std::chrono::seconds(1));
  TimePoint end = TimePoint(std::chrono::seconds(35));
  bool route_optimization = true;
  // The mobile node answers the Echo Requests (ping): replies take the engine's send_path.
  bool echo_reply = false;
  // How long the mobile node waits for its previous router to answer a probe before it counts
  // as gone (§11.5.1; the movement detector's default is 3 s). nullopt: that default.
  std::optional<Duration> probe_timeout;
};

// The three moves of issue 5: to A at 5 s, to B at 15 s, home at 25 s.
std::vector<Move> basic_moves();

// The spec of the basic handover scenario: one home agent at 2001:db8:1::1 configured in the
// mobile node, Echo Requests from the correspondent every cbr_interval.
ScenarioSpec handover_spec(const HandoverScenarioConfig& config);

struct CbrRecord {
  std::uint16_t sequence = 0;
  TimePoint sent;
  std::optional<TimePoint> received;
  std::optional<DataPath> path;
};

class HandoverScenario {
 public:
  explicit HandoverScenario(HandoverScenarioConfig config);

  // Runs until config.end (and a second more for packets in flight).
  void run();

  Simulation& simulation() { return scenario_.simulation(); }
  MobileHost& mobile() { return scenario_.mobile(); }
  HomeAgentNode& home_agent() { return scenario_.home_agent(); }
  CorrespondentHost& correspondent() { return scenario_.correspondent(); }
  const wire::Ipv6Address& home_address() const { return home_address_; }
  const std::vector<CbrRecord>& traffic() const { return traffic_; }
  std::vector<HandoverReport> report() const { return scenario_.handovers(); }
  const wire::Bytes& pcap(const std::string& link) const { return scenario_.pcap(link); }
  bool write_pcaps(const std::string& directory, std::string& error) const {
    return scenario_.write_pcaps(directory, error);
  }

 private:
  Scenario scenario_;
  wire::Ipv6Address home_address_;
  std::vector<CbrRecord> traffic_;
};

}  // namespace mipv6::sim
