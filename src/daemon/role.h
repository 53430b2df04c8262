// What the daemon's three roles share, and the interface each role implements (issue 8).
//
// The daemon (daemon.h) owns the I/O every role needs — one Mobility Header socket, one ICMPv6
// socket, one IPv6-in-IPv6 socket, one NFQUEUE fed by the ip6tables rules for Destination
// Options and Type 2 Routing headers, the rtnetlink monitor — decodes each packet once and hands
// it to the role it is for (dispatch.h says which). A role owns its engine, its TUN device, its
// routes and its timers. What it installs in the kernel goes through Services::installed and
// Services::sysctls, so that shutdown (and the next start after a crash) removes all of it.
//
// Routing (DESIGN.md §3): packets to a home address with a binding (home agent, correspondent)
// and packets from a home address while away (mobile node) are routed into the role's TUN by
// routes in the role's own table; the daemon's own packets carry SO_MARK kSignallingMark, which
// a rule sends to the main table first, so they never loop back into a TUN.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "core/rng.h"
#include "core/time.h"
#include "daemon/config.h"
#include "daemon/logger.h"
#include "linux/event_loop.h"
#include "linux/nfqueue.h"
#include "linux/raw_socket.h"
#include "linux/result.h"
#include "linux/route_netlink.h"
#include "linux/sysctl.h"
#include "wire/bytes.h"

namespace mipv6::daemon {

// SO_MARK of every packet the daemon sends itself (signalling, tunnel headers, rewritten data).
inline constexpr std::uint32_t kSignallingMark = 0x6d69;
// Policy routing rules (ip -6 rule), lowest priority value first.
inline constexpr std::uint32_t kBypassRulePriority = 1000;      // fwmark kSignallingMark → main
inline constexpr std::uint32_t kMobileNodeRulePriority = 1001;  // from home address → table
inline constexpr std::uint32_t kHomeAgentRulePriority = 1002;   // → kHomeAgentTable
inline constexpr std::uint32_t kCorrespondentRulePriority = 1003;  // → kCorrespondentTable
// Routing tables of the roles.
inline constexpr std::uint32_t kMobileNodeTable = 1091;     // default dev <mobile node TUN>
inline constexpr std::uint32_t kHomeAgentTable = 1092;      // home address/128 dev <HA TUN>
inline constexpr std::uint32_t kCorrespondentTable = 1093;  // home address/128 dev <CN TUN>

// Sends whole IPv6 packets (header included, checksums already filled) with SO_MARK
// kSignallingMark. ifindex 0: routed by destination (main table); otherwise sent on that
// interface (link-local and multicast destinations need it).
class Sender {
 public:
  virtual ~Sender() = default;
  virtual linux_dp::Status send(wire::ByteSpan packet, std::uint32_t ifindex = 0) = 0;
  // Sends on `ifindex` to the link-layer address `destination`, without neighbour resolution
  // (core::Transmit::link_destination: §10.3.2, §11.5.5 step 3).
  virtual linux_dp::Status send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                        const core::LinkLayerAddress& destination) = 0;
  // send() for each packet, as cheaply as the Sender can (the data path's tunnel packets: a
  // whole TUN wakeup at once). The Source Address of each must be one of this node's. Returns
  // how many were sent; the others are lost like any datagram.
  virtual std::size_t send_batch(std::span<const wire::ByteSpan> packets,
                                 std::uint32_t ifindex = 0) {
    std::size_t sent = 0;
    for (const auto& packet : packets) {
      if (send(packet, ifindex)) ++sent;
    }
    return sent;
  }
};

// What the daemon lends every role. All references outlive the role.
struct Services {
  linux_dp::EventLoop& loop;
  linux_dp::Netlink& netlink;
  linux_dp::InstalledState& installed;  // addresses, routes, rules, proxy entries
  linux_dp::Sysctls& sysctls;           // restored at shutdown
  Sender& sender;
  Logger& logger;
  core::Rng& rng;  // CSPRNG-backed
  // How signalling with the home agent is protected (the sender applies it, issue 7): the
  // engines are told to require it.
  Signalling signalling = Signalling::kNone;
};

class Role {
 public:
  virtual ~Role() = default;

  virtual RoleKind kind() const = 0;

  // Sets up what the role needs (sysctls, TUN, routes, rules, its engine, its timer). An error
  // stops the daemon (exit 1) after what was installed is removed again.
  virtual linux_dp::Status start(core::TimePoint now) = 0;
  // SIGTERM / SIGINT: the role stops its timers and closes its TUN; the daemon then removes
  // everything `installed` and `sysctls` hold.
  virtual void stop(core::TimePoint now) = 0;

  // A Mobility Header or ICMPv6 message for this role (dispatch.h). `packet` is the packet as it
  // was received: a Home Address option or Type 2 Routing header is still in it (packet.layout
  // says), and packet.tunnel is set when it came out of an IPv6-in-IPv6 tunnel.
  virtual void on_signalling(const core::RxPacket& packet, core::TimePoint now) = 0;
  // An IPv6-in-IPv6 packet (RFC 2473) to one of this node's addresses. `outer` is the whole
  // packet, `inner` the decapsulated one. false: not for this role (the next one is asked).
  virtual bool on_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner,
                            core::TimePoint now) = 0;
  // A data packet (not signalling) to one of this node's addresses, carrying a Home Address
  // option or a Type 2 Routing header, held by NFQUEUE. The role returns the verdict (accept
  // the rewritten packet, or drop), or nullopt when the packet is not for it.
  virtual std::optional<linux_dp::Verdict> on_queued(linux_dp::QueuedPacket& queued,
                                                     const core::RxPacket& packet,
                                                     core::TimePoint now) = 0;
  // Every rtnetlink event (links, addresses, routes), in the order the kernel sent them.
  virtual void on_netlink(const linux_dp::NetlinkEvent& event, core::TimePoint now) = 0;

  // mipv6ctl show bc / bul / hal: a JSON object, or null when this role has no such table.
  virtual nlohmann::json show(std::string_view table, core::TimePoint now) const = 0;
  // mipv6ctl show stats: {"counter_name": value, ...}, every drop reason included.
  virtual nlohmann::json stats() const = 0;
  // mipv6ctl flush: forget the role's bindings (what that means per role: docs/mipv6ctl.md).
  // Returns a one-line description of what was done.
  virtual std::string flush(core::TimePoint now) = 0;
  // SIGHUP / mipv6ctl reload, with a configuration already validated: apply what can change
  // at run time, and return the keys that need a restart (logged by the daemon).
  virtual std::vector<std::string> reload(const DaemonConfig& config, core::TimePoint now) = 0;
};

}  // namespace mipv6::daemon
