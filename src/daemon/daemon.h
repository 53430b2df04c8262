// mipv6d (issue 8): one process, any set of the three roles, over the Linux data plane.
//
// The daemon owns what the roles share and routes every received packet to the role it is for
// (role.h): the Mobility Header, ICMPv6 and IPv6-in-IPv6 raw sockets, one NFQUEUE fed by
// ip6tables rules for packets with a Destination Options header or a Type 2 Routing header (the
// kernel here would drop a Home Address option or a Type 2 header with Segments Left 1,
// DESIGN.md §3), the rtnetlink monitor, the control socket and the signals.
//
// Its life: recover what a crashed predecessor left (state file, routes and rules tagged with
// protocol 109, ip6tables rules tagged "mipv6d") → install the bypass rule for its own packets
// → start the roles → serve until SIGTERM / SIGINT (SIGHUP and `mipv6ctl reload` re-read the
// configuration) → stop the roles and remove every kernel object it created, newest first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "core/rng.h"
#include "daemon/config.h"
#include "daemon/logger.h"
#include "daemon/raw_sender.h"
#include "daemon/role.h"
#include "daemon/signalling_security.h"
#include "linux/event_loop.h"
#include "linux/ip6tables.h"
#include "linux/nfqueue.h"
#include "linux/raw_socket.h"
#include "linux/result.h"
#include "linux/route_netlink.h"
#include "linux/sysctl.h"
#include "wire/address.h"

namespace mipv6::daemon {

class ControlServer;

// The NFQUEUE number the daemon binds (queues are per network namespace).
inline constexpr std::uint16_t kDefaultQueueNumber = 109;

// Everything the intake counted, by reason (mipv6ctl show stats, "daemon").
// clang-format off
#define MIPV6D_DAEMON_COUNTERS(X) \
  X(mh_received) X(icmpv6_received) X(tunnelled_received) X(queued_received) \
  X(receive_errors) X(dropped_truncated) X(dropped_malformed) \
  X(dropped_no_role) X(dropped_tunnel_not_ours) X(dropped_hao_without_correspondent) \
  X(dropped_type2_without_mobile_node) X(queued_not_local) X(queued_signalling) \
  X(netlink_overruns) X(control_requests) X(reloads) X(reload_failures)
// clang-format on
struct DaemonCounters {
#define MIPV6D_COUNTER_FIELD(name) std::uint64_t name = 0;
  MIPV6D_DAEMON_COUNTERS(MIPV6D_COUNTER_FIELD)
#undef MIPV6D_COUNTER_FIELD
  nlohmann::json to_json() const;
};

class Daemon {
 public:
  // Sets everything up; on failure, what was installed is removed again before returning.
  static linux_dp::Result<std::unique_ptr<Daemon>> start(DaemonConfig config, Logger& logger);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until SIGTERM or SIGINT, then shuts down cleanly. The error that ended the loop
  // otherwise.
  linux_dp::Status run();
  // Removes every kernel object the daemon installed (also done by the destructor).
  linux_dp::Status shutdown();

  // The control socket's request handler (control.h), public for tests.
  nlohmann::json handle_request(const nlohmann::json& request);
  const DaemonCounters& counters() const { return counters_; }
  // The loop run() runs (tests add timers to it).
  linux_dp::EventLoop& loop() { return loop_; }

 private:
  Daemon(DaemonConfig config, Logger& logger, linux_dp::EventLoop loop, linux_dp::Netlink netlink,
         linux_dp::NetlinkMonitor monitor, RawSender sender);

  linux_dp::Status claim_queue();
  void use_direct_tunnel_output();
  linux_dp::Status recover();
  linux_dp::Status open_intake();
  linux_dp::Status install_queue_rules();
  linux_dp::Status start_roles(core::TimePoint now);
  linux_dp::Status open_control();
  void record_state();
  void refresh_local_addresses();

  void read_socket(linux_dp::RawSocket& socket);
  // `slot`: room for the IPv6 header the kernel took off, then the received payload.
  void on_received(const linux_dp::RawSocket& socket, const linux_dp::ReceivedPacket& received,
                   std::span<std::byte> slot);
  void on_tunnelled(wire::ByteSpan outer, std::uint32_t ifindex, core::TimePoint now,
                    core::Protection protection = core::Protection::kNone, std::uint32_t spi = 0);
  void on_esp(wire::ByteSpan packet, const wire::PacketLayout& layout, std::uint32_t ifindex,
              core::TimePoint now);
  void dispatch_signalling(core::RxPacket& packet, core::TimePoint now);
  void dispatch_mobility(const core::RxPacket& packet, core::TimePoint now);
  void dispatch_icmpv6(const core::RxPacket& packet, core::TimePoint now);
  linux_dp::Verdict on_queued(linux_dp::QueuedPacket& queued);
  void read_netlink();
  void on_signal(int signal_number);
  nlohmann::json reload();
  nlohmann::json show(const std::string& table);
  nlohmann::json flush();

  bool is_local(const wire::Ipv6Address& address) const;
  Role* role(RoleKind kind) const;

  DaemonConfig config_;
  Logger& logger_;
  linux_dp::EventLoop loop_;
  linux_dp::Netlink netlink_;
  linux_dp::NetlinkMonitor monitor_;
  RawSender sender_;
  linux_dp::InstalledState installed_;
  linux_dp::Sysctls sysctls_;
  std::unique_ptr<core::Rng> rng_;
  std::optional<linux_dp::Ip6tables> ip6tables_;
  std::unique_ptr<linux_dp::Ip6tablesRuleSet> queue_rules_;
  std::optional<linux_dp::RawSocket> mobility_socket_;
  std::optional<linux_dp::RawSocket> icmpv6_socket_;
  std::optional<linux_dp::RawSocket> tunnel_socket_;
  std::optional<linux_dp::RawSocket> esp_socket_;  // signalling = "esp" only
  std::unique_ptr<SignallingSecurity> security_;
  std::unique_ptr<ProtectingSender> protecting_sender_;
  std::optional<linux_dp::NfQueue> queue_;
  std::unique_ptr<Services> services_;
  std::vector<std::unique_ptr<Role>> roles_;
  std::unique_ptr<ControlServer> control_;
  std::unordered_set<wire::Ipv6Address> local_addresses_;
  DaemonCounters counters_;
  bool shut_down_ = false;
};

}  // namespace mipv6::daemon
