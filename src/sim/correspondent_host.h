// A correspondent node as a simulated host (RFC 6275 §9): a Host hosting the real
// core::CorrespondentNode engine, with the data-plane duties (DESIGN.md §3):
//  - Mobility Header and ICMPv6 packets for it go to the engine; a packet with a Home Address
//    option is checked with check_home_address_option (§9.3.1) before the application sees it;
//  - Transmit: routed by destination (Host::send);
//  - BindingRoute: packets for the home address go to the care-of address with a Type 2 Routing
//    header (§9.3.2; care_of_address_for decides, per packet, and records the use).
// It also carries constant-bit-rate sources: ICMPv6 Echo Requests to a home address at a fixed
// interval, each recorded with its send time (the traffic report matches receptions to them),
// and UDP datagrams (sim/udp_cbr.h) both ways: a source to a home address and a sink.
// reboot() loses the engine's state (Binding Cache, nonces: §9.5) while the sources keep running.
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
#include "sim/udp_cbr.h"

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
  // The node reboots: a fresh engine with the configuration of start() and a new Kcn; its
  // Binding Cache and nonces are lost (§9.5, §5.2.7). The CBR sources keep running.
  void reboot();
  std::uint64_t reboots() const { return reboots_; }

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

  // Sends a UDP datagram of `payload` octets from `source` to `destination` (a home address)
  // every `interval` in [from, until): to the care-of address with a Type 2 Routing header
  // when the engine holds a binding (§9.3.2), else to the home address.
  void start_udp_cbr(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                     Duration interval, std::size_t payload, TimePoint from, TimePoint until);
  const std::vector<UdpSent>& udp_sent() const { return udp_sent_; }
  // CBR datagrams received (any source), in arrival order.
  const std::vector<UdpReceived>& udp_received() const { return udp_received_; }

 private:
  void on_packet(Interface& in, const Frame& frame);
  void send_cbr();
  void note_reply(const core::RxPacket& packet);
  void note_udp(const core::RxPacket& packet);
  void send_udp();
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
  core::CorrespondentNodeConfig config_;
  std::uint64_t reboots_ = 0;
  struct UdpSource {
    wire::Ipv6Address source;
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

}  // namespace mipv6::sim
