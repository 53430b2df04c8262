// A home agent as a simulated router (RFC 6275 §10): a Router (home link + uplink) hosting the
// real core::HomeAgent engine, with the data-plane duties the Linux daemon has (DESIGN.md §3)
// carried out in-process:
//  - every packet for the router itself (Mobility Header, ICMPv6 DHAAD / MPS) goes to the engine;
//  - Transmit: sent on the given interface / link-layer address, else routed by destination;
//  - StartDad: answered with a DadResult after RetransTimer (1 s, RFC 4862 §5.4 with
//    DupAddrDetectTransmits 1): duplicate when another interface on the home link holds the
//    address (the link's neighbour table);
//  - ProxyNeighbor: the home interface's Neighbor Discovery answers for the address (§10.4.1);
//  - interception: a packet routed through this node to an address the engine tunnels
//    (decide_intercepted, §10.4.1-§10.4.2) is encapsulated to each care-of address (RFC 2473);
//  - reverse tunnel: IPv6-in-IPv6 packets for the router are decapsulated and, when
//    accept_reverse_tunnelled allows it (§10.4.5), the inner packet is forwarded.
// Failures a scenario can script: a crash (the node is dead until restart(), which brings a
// fresh engine with an empty, volatile Binding Cache, §10.3.1) and the renumbering of the home
// link (RAs, the home agent's address, and Mobile Prefix Advertisements, §10.6.2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/binding_cache.h"
#include "core/home_agent.h"
#include "core/rng.h"
#include "sim/engine_timer.h"
#include "sim/router.h"

namespace mipv6::sim {

struct HomeAgentNodeCounters {
  std::uint64_t tunnelled = 0;          // packets encapsulated to a care-of address
  std::uint64_t reverse_tunnelled = 0;  // decapsulated and forwarded
  std::uint64_t reverse_rejected = 0;   // refused by accept_reverse_tunnelled
  std::uint64_t engine_packets = 0;     // handed to the engine
  std::uint64_t transmits_dropped = 0;  // Transmit actions that could not be sent
  std::uint64_t dropped_crashed = 0;    // frames that arrived while crashed
  std::uint64_t crashes = 0;
  std::uint64_t restarts = 0;
};

class HomeAgentNode : public Router {
 public:
  // `seed` feeds the engine's random stream (sim/random.h derives it from the scenario).
  HomeAgentNode(Scheduler& scheduler, std::string name, std::uint64_t seed);
  ~HomeAgentNode() override;

  // Creates the engine once the interfaces exist; `config.home_ifindex` names the home link.
  // Unset fields are filled from the home interface: link-layer and link-local address.
  void start(core::HomeAgentConfig config);
  core::HomeAgent& engine() { return *engine_; }
  const HomeAgentNodeCounters& node_counters() const { return counters_; }
  // The engine's Log actions, "<seconds> <message>".
  const std::vector<std::string>& log() const { return log_; }
  // Duration of the simulated DAD (RFC 4861 §10 RetransTimer).
  void set_dad_time(Duration d) { dad_time_ = d; }
  // Binding Cache capacity, before start(): beyond it a registration gets BA 130
  // (Insufficient resources, §10.3.1).
  void set_max_bindings(std::size_t n);
  // Off: the engine's Log actions are not turned into log lines (populations of many mobile
  // nodes); before start() it also turns off HomeAgentConfig::log_bindings.
  void set_log_enabled(bool enabled) { log_enabled_ = enabled; }

  // The node dies: every frame to it is ignored; its engine, Binding Cache, pending DAD and
  // timers are gone, its proxy Neighbor Discovery entries removed and its neighbour caches
  // flushed, interception and Router Advertisements stop. Its routes and addresses stay (they
  // are configuration). engine() must not be called while crashed.
  void crash();
  bool crashed() const { return crashed_; }
  // Back from a crash: a fresh engine with the configuration of start() (and of any
  // renumbering since), an empty Binding Cache (§10.3.1: a volatile cache is lost), RAs resume.
  void restart();
  // The home link moves from `old_prefix` to `new_prefix` (both /64): the RAs advertise the new
  // prefix and the old one with preferred lifetime 0 (deprecated, RFC 4862 §5.5.3), the home
  // interface gets the new-prefix address with the same interface identifier as the primary
  // address, and the engine is told (PrefixUpdate), so it sends Mobile Prefix Advertisements to
  // the registered mobile nodes (RFC 6275 §10.6.2).
  void renumber_home(const wire::Ipv6Address& old_prefix, const wire::Ipv6Address& new_prefix);

  void on_frame(Interface& in, const Frame& frame) override;
  void on_link_up(Interface& in) override;

 protected:
  void on_local_packet(Interface& in, const Frame& frame) override;

 private:
  bool intercept(const Frame& frame, std::uint32_t ifindex);
  void learn_home_agent(Interface& in, const Frame& frame);
  void reverse_tunnel(Interface& in, const Frame& frame);
  void drain();
  void carry_out(core::Action& action);
  void transmit(core::Transmit& transmit);
  void start_dad(const core::StartDad& dad);
  bool send_routed(wire::Bytes packet);
  void create_engine();
  void clear_proxies();
  void set_advertising(bool on);
  void remember_prefix(const core::PrefixUpdate& update, TimePoint now);

  core::SplitMix64 rng_;
  std::size_t max_bindings_ = 1024;
  core::HomeAgentConfig config_;  // as given to start(), updated by renumbering
  std::unique_ptr<core::BindingCache> cache_;
  std::unique_ptr<core::HomeAgent> engine_;
  std::unique_ptr<EngineTimer> timer_;
  HomeAgentNodeCounters counters_;
  Duration dad_time_ = std::chrono::seconds(1);
  std::vector<EventId> dad_events_;
  std::vector<std::string> log_;
  bool log_enabled_ = true;
  bool crashed_ = false;
  // Proxy ND entries the engine asked for (§10.4.1): address -> ifindex, removed on a crash.
  std::unordered_map<wire::Ipv6Address, std::uint32_t> proxies_;
};

}  // namespace mipv6::sim
