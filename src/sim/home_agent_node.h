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
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

  void on_frame(Interface& in, const Frame& frame) override;

 protected:
  void on_local_packet(Interface& in, const Frame& frame) override;

 private:
  bool intercept(const Frame& frame, std::uint32_t ifindex);
  void reverse_tunnel(Interface& in, const Frame& frame);
  void drain();
  void carry_out(core::Action& action);
  void transmit(core::Transmit& transmit);
  void start_dad(const core::StartDad& dad);
  bool send_routed(wire::Bytes packet);

  core::SplitMix64 rng_;
  core::BindingCache cache_{1024};
  std::unique_ptr<core::HomeAgent> engine_;
  std::unique_ptr<EngineTimer> timer_;
  HomeAgentNodeCounters counters_;
  Duration dad_time_ = std::chrono::seconds(1);
  std::vector<EventId> dad_events_;
  std::vector<std::string> log_;
};

}  // namespace mipv6::sim
