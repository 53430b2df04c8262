// The correspondent role of mipv6d (issue 8): route optimisation for this node's own traffic
// with mobile nodes (RFC 6275 §9), carried out by the sans-I/O core::CorrespondentNode against
// the real kernel.
//
// Data plane (DESIGN.md §3, no in-kernel Mobile IPv6 here):
//  - sending (§9.3.2): a binding installs "home address/128 dev <TUN> table kCorrespondentTable",
//    looked up by a rule at kCorrespondentRulePriority. What this node sends to a home address
//    with a binding is thus read from the TUN, given a Type 2 Routing header naming the home
//    address, addressed to the care-of address and sent by Services::sender (marked, so it is
//    routed by the main table and never comes back into the TUN);
//  - receiving (§9.3.1): data packets with a Home Address option come from NFQUEUE (on_queued);
//    the engine decides, and an accepted packet gets the home address as its source and the
//    option neutralised, so that the kernel delivers it to the socket that talks to the home
//    address;
//  - signalling (HoTI, CoTI, BU with H = 0, unknown MH types, ICMPv6 errors) goes to the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/correspondent_node.h"
#include "daemon/config.h"
#include "daemon/role.h"
#include "linux/tun.h"

namespace mipv6::daemon {

// The role's own data-plane counters (stats() lists them next to the engine's).
// clang-format off
#define MIPV6_CN_ROLE_COUNTERS(X) \
  /* TUN reads: packets this node sends to a home address with a route in our table */ \
  X(tun_packets) \
  X(tun_sent_route_optimized) \
  X(tun_sent_unchanged) \
  X(tun_not_ipv6) \
  X(tun_not_unicast) \
  X(tun_malformed) \
  X(tun_too_big) \
  X(tun_read_errors) \
  /* NFQUEUE: data packets with a Home Address option (§9.3.1) */ \
  X(queued_packets) \
  X(queued_accepted_with_binding) \
  X(queued_accepted_without_binding) \
  X(queued_dropped) \
  X(queued_truncated) \
  X(queued_malformed) \
  X(queued_type2_discarded) \
  X(queued_not_ours) \
  /* carrying out the engine's actions */ \
  X(send_failed_too_big) \
  X(send_failed_no_route) \
  X(send_failed_other) \
  X(route_install_failed) \
  X(route_remove_failed)
// clang-format on

struct CorrespondentRoleCounters {
#define MIPV6_CN_ROLE_COUNTER_FIELD(name) std::uint64_t name = 0;
  MIPV6_CN_ROLE_COUNTERS(MIPV6_CN_ROLE_COUNTER_FIELD)
#undef MIPV6_CN_ROLE_COUNTER_FIELD
};

class CorrespondentRole final : public Role {
 public:
  // TUN device name pattern, and the room a Type 2 Routing header takes (RFC 6275 §6.4.1).
  static constexpr std::string_view kTunName = "mip6cn%d";
  static constexpr std::uint32_t kType2HeaderSize = 24;

  // also_mobile_node: this node is a mobile node too, so Type 2 Routing headers are the mobile
  // node role's (§8.2) and not discarded here.
  CorrespondentRole(const CorrespondentSection& config, Services& services, bool also_mobile_node);
  ~CorrespondentRole() override;
  CorrespondentRole(const CorrespondentRole&) = delete;
  CorrespondentRole& operator=(const CorrespondentRole&) = delete;

  RoleKind kind() const override { return RoleKind::kCorrespondent; }
  linux_dp::Status start(core::TimePoint now) override;
  void stop(core::TimePoint now) override;

  void on_signalling(const core::RxPacket& packet, core::TimePoint now) override;
  bool on_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner,
                    core::TimePoint now) override;
  std::optional<linux_dp::Verdict> on_queued(linux_dp::QueuedPacket& queued,
                                             const core::RxPacket& packet,
                                             core::TimePoint now) override;
  void on_netlink(const linux_dp::NetlinkEvent& event, core::TimePoint now) override;

  nlohmann::json show(std::string_view table, core::TimePoint now) const override;
  nlohmann::json stats() const override;
  std::string flush(core::TimePoint now) override;
  std::vector<std::string> reload(const DaemonConfig& config, core::TimePoint now) override;

  // Valid only between start() and destruction.
  const core::CorrespondentNode& engine() const { return *engine_; }
  const CorrespondentRoleCounters& counters() const { return counters_; }
  // The TUN device (0 / empty before start() and after stop()).
  std::uint32_t tun_ifindex() const { return tun_ ? tun_->ifindex() : 0; }
  std::string tun_name() const { return tun_ ? tun_->name() : std::string(); }

  // Reads and handles every packet queued on the TUN now (the loop calls it when readable).
  void read_tun(core::TimePoint now);

 private:
  linux_dp::Status start_engine(core::TimePoint now);
  linux_dp::Status start_tun();
  std::uint32_t tun_mtu();
  linux_dp::Status start_timer();

  void handle_tun_packet(std::span<std::byte> packet, core::TimePoint now);
  linux_dp::Verdict accept_home_address_option(linux_dp::QueuedPacket& queued,
                                               const core::RxPacket& packet);

  // Carries out every action the engine queued, then re-arms the timer (role.h: after every
  // input).
  void drain();
  void send(wire::ByteSpan packet, std::uint32_t ifindex);
  void apply_route(const core::BindingRoute& route);
  void rearm();
  void log(core::LogLevel level, std::string_view message) const;

  CorrespondentSection config_;
  Services& services_;
  bool also_mobile_node_;
  std::optional<core::CorrespondentNode> engine_;
  std::optional<linux_dp::TunDevice> tun_;
  bool tun_watched_ = false;
  std::optional<linux_dp::EventLoop::TimerId> timer_;
  std::set<wire::Ipv6Address> routed_;     // home addresses with a route into the TUN
  std::set<wire::Ipv6Address> addresses_;  // this node's global addresses (as the engine's)
  std::vector<std::byte> buffer_;          // one TUN read
  CorrespondentRoleCounters counters_;
};

}  // namespace mipv6::daemon
