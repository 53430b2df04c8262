// A correspondent node as a simulated host (RFC 6275 §9): a Host hosting the real
// core::CorrespondentNode engine, with the data-plane duties (DESIGN.md §3):
//  - Mobility Header and ICMPv6 packets for it go to the engine; a packet with a Home Address
//    option is checked with check_home_address_option (§9.3.1) before the application sees it;
//  - Transmit: routed by destination (Host::send);
//  - BindingRoute: packets for the home address go to the care-of address with a Type 2 Routing
//    header (§9.3.2; care_of_address_for decides, per packet, and records the use).
// It also carries a constant-bit-rate source: ICMPv6 Echo Requests to a home address at a fixed
// interval, each recorded with its send time (the traffic report matches receptions to them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/correspondent_node.h"
#include "core/rng.h"
#include "sim/engine_timer.h"
#include "sim/host.h"

namespace mipv6::sim {

struct CbrSent {
  std::uint16_t sequence = 0;
  TimePoint at;
  bool route_optimized = false;  // sent to the care-of address with a Type 2 Routing header
};

class CorrespondentHost : public Host {
 public:
  static constexpr std::uint16_t kCbrIdentifier = 0x4342;  // Echo identifier of the CBR flow

  CorrespondentHost(Scheduler& scheduler, std::string name, HostConfig config, std::uint64_t seed);
  ~CorrespondentHost() override;

  void start(core::CorrespondentNodeConfig config);
  core::CorrespondentNode& engine() { return *engine_; }

  // Sends an Echo Request from `source` to `home_address` every `interval` in [from, until).
  void start_cbr(const wire::Ipv6Address& source, const wire::Ipv6Address& home_address,
                 Duration interval, TimePoint from, TimePoint until);
  const std::vector<CbrSent>& cbr_sent() const { return cbr_; }
  std::uint64_t hao_rejected() const { return hao_rejected_; }
  // Echo Replies of the CBR flow received: sequence number, when, and whether they came from
  // the care-of address with a Home Address option (route-optimised, §9.3.1).
  struct CbrReply {
    std::uint16_t sequence = 0;
    TimePoint at;
    bool home_address_option = false;
  };
  const std::vector<CbrReply>& cbr_replies() const { return replies_; }

 private:
  void on_packet(Interface& in, const Frame& frame);
  void send_cbr();
  void note_reply(const core::RxPacket& packet);
  void drain();

  core::SplitMix64 rng_;
  std::unique_ptr<core::CorrespondentNode> engine_;
  std::unique_ptr<EngineTimer> timer_;
  std::vector<CbrSent> cbr_;
  wire::Ipv6Address cbr_source_;
  wire::Ipv6Address cbr_destination_;
  Duration cbr_interval_{};
  TimePoint cbr_until_{};
  EventId cbr_event_;
  std::uint64_t hao_rejected_ = 0;
  std::vector<CbrReply> replies_;
};

}  // namespace mipv6::sim
