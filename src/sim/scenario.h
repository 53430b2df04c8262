// The basic handover scenario of issue 5, built in code: a home link with the home agent (its
// RAs carry the H flag, RFC 6275 §7.1), foreign links A and B each with an access router, a
// backbone with a core router, and a correspondent on its own link:
//
//        home (2001:db8:1::/64)      a (2001:db8:a::/64)      b (2001:db8:b::/64)
//              |                          |                        |
//             HA                        AR-A                     AR-B
//              |__________________________|________________________|__ backbone
//                                         |                           (2001:db8:ff::/64)
//                                       core
//                                         |
//                                    cn (2001:db8:c::/64) -- CN
//
// The mobile node starts at home and moves (detach + attach, link-layer hints on) along
// `moves`; the correspondent sends a constant-bit-rate flow of Echo Requests to the home
// address. The report gives, per handover, the phases the mobile node's log shows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/correspondent_host.h"
#include "sim/home_agent_node.h"
#include "sim/mobile_host.h"
#include "sim/router.h"
#include "sim/scenario_result.h"
#include "sim/simulation.h"

namespace mipv6::sim {

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

struct CbrRecord {
  std::uint16_t sequence = 0;
  TimePoint sent;
  std::optional<TimePoint> received;
  std::optional<DataPath> path;
};

class HandoverScenario {
 public:
  explicit HandoverScenario(HandoverScenarioConfig config);

  // Runs until config.end.
  void run();

  Simulation& simulation() { return sim_; }
  MobileHost& mobile() { return *mn_; }
  HomeAgentNode& home_agent() { return *ha_; }
  CorrespondentHost& correspondent() { return *cn_; }
  const wire::Ipv6Address& home_address() const { return home_address_; }
  const std::vector<CbrRecord>& traffic() const { return traffic_; }
  std::vector<HandoverReport> report() const;
  // The in-memory capture of a link ("home", "a", "b", "backbone", "cn").
  const wire::Bytes& pcap(const std::string& link) const;
  // Writes each link's capture to `directory`/<link>.pcap (for Wireshark / tshark). False and
  // `error` when a file cannot be written.
  bool write_pcaps(const std::string& directory, std::string& error) const;

 private:
  void build_links();
  void build_routers();
  void build_hosts();
  Interface& router_interface(Router& router, Link& link, const char* link_local,
                              const char* global);
  RaConfig ra_config(const char* prefix, bool home_agent) const;
  HandoverReport report_for(std::size_t index) const;

  HandoverScenarioConfig config_;
  Simulation sim_;
  HomeAgentNode* ha_ = nullptr;
  Router* ar_a_ = nullptr;
  Router* ar_b_ = nullptr;
  Router* core_ = nullptr;
  MobileHost* mn_ = nullptr;
  CorrespondentHost* cn_ = nullptr;
  wire::Ipv6Address home_address_;
  wire::Ipv6Address cn_address_;
  std::vector<CbrRecord> traffic_;
};

}  // namespace mipv6::sim
