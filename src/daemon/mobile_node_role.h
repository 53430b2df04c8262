// The mobile node role of mipv6d (issue 8): drives a core::MobileNode over the real kernel.
//
// What it owns:
//  - the engine, fed with what the daemon dispatches to it (role.h) and with the state of its
//    interfaces (rtnetlink events), and one EventLoop timer armed at the engine's deadline;
//  - the TUN device "mip6mn%d": while away from home, a policy rule "from <home address> lookup
//    kMobileNodeTable" and a default route into the TUN there make the kernel hand the
//    applications' packets from the home address to this role, which sends them as the engine
//    says (reverse tunnel, Home Address option, or unchanged; RFC 6275 §11.3.1);
//  - the home address itself: on the physical interface at home (§11.5.5), on the TUN away, so
//    applications keep using it across moves.
//
// Returning home (§11.5.5 step 3): a Transmit with a link_destination (the de-registration to
// the home agent, which still defends the home address) is sent as a frame to that link-layer
// address on a packet socket, not through the kernel's neighbour resolution.
//
// Router probes (§11.5.1, RFC 4861 §7.3.3): the engine's movement detector asks for a unicast
// Neighbor Solicitation to a router and expects a NeighborReachability event back. The engine
// builds the NS itself (a Transmit); this role remembers each one it sends and, when a
// Neighbor Advertisement for that target arrives on that interface, feeds NeighborReachability
// {reachable}. Unreachability needs no event: the detector gives the router up itself once
// MovementDetectorConfig::probe_timeout (3 s = MAX_UNICAST_SOLICIT × RetransTimer 1 s) passes
// without an answer; this role forgets its record at the same time.
//
// Leaving a link (issue 8): when the primary care-of address moves to a new link (or the node
// returns home), the kernel still holds the old link's addresses, prefix routes and default
// routers on that interface until their lifetimes run out, and would keep sending on-link to
// a link the node has left. The role deletes, on the interface of the new link, the global
// addresses outside the prefixes the new default router advertises (the home address is kept)
// — their prefix routes go with them — and the default routes via any other router. These are
// the kernel's objects (SLAAC's), so they are deleted directly, not through InstalledState.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/mobile_node.h"
#include "daemon/config.h"
#include "daemon/role.h"
#include "linux/tun.h"
#include "linux/unique_fd.h"

namespace mipv6::daemon {

class MobileNodeRole final : public Role {
 public:
  MobileNodeRole(const MobileNodeSection& section, Services& services);
  ~MobileNodeRole() override;
  MobileNodeRole(const MobileNodeRole&) = delete;
  MobileNodeRole& operator=(const MobileNodeRole&) = delete;

  RoleKind kind() const override { return RoleKind::kMobileNode; }
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

  // Valid after a successful start().
  const core::MobileNode& engine() const { return *engine_; }
  // The TUN's interface index (0 before start()).
  std::uint32_t tun_ifindex() const;
  // Called when the TUN is readable: every queued packet is handled (tests may call it).
  void on_tun_readable(core::TimePoint now);
  void on_timeout(core::TimePoint now);

 private:
  struct Interface {
    std::string name;
    std::uint32_t ifindex = 0;
    std::uint32_t mtu = 0;
    bool up = false;  // administratively up with carrier: what the engine was last told
    std::optional<core::LinkLayerAddress> link_layer_address;
    std::optional<wire::Ipv6Address> link_local_address;
  };
  struct Probe {  // a router probe sent (§11.5.1), waiting for its Neighbor Advertisement
    std::uint32_t ifindex = 0;
    wire::Ipv6Address target;
    core::TimePoint deadline{};
  };
  // The link the primary care-of address (or the home address, at home) is on.
  struct LinkView {
    std::uint32_t ifindex = 0;
    wire::Ipv6Address router;
    bool at_home = false;
    std::optional<wire::Ipv6Address> care_of;
    friend bool operator==(const LinkView&, const LinkView&) = default;
  };

  // start() steps
  linux_dp::Status resolve_interfaces();
  linux_dp::Status set_sysctls();
  core::MobileNodeConfig engine_config() const;
  linux_dp::Status open_tun();
  void feed_initial_state(core::TimePoint now);

  // After every engine input: carry out the actions, reconcile the kernel, re-arm the timer.
  void after_input(core::TimePoint now);
  void carry_out(const core::Transmit& transmit);
  void remember_probe(const core::Transmit& transmit, core::TimePoint now);
  void reconcile_home_address();
  std::vector<linux_dp::InstalledObject> wanted_objects() const;
  std::optional<std::uint32_t> home_interface() const;
  void leave_old_link();
  void prune_interface(const LinkView& link, const core::RouterEntry& router);
  void log_movement(const LinkView& view);
  bool is_old_prefix_route(const linux_dp::RouteSpec& route, const core::RouterEntry& router) const;
  void rearm_timer();

  // Inputs
  void on_link_event(const linux_dp::LinkEvent& event, core::TimePoint now);
  void on_address_event(const linux_dp::AddressEvent& event, core::TimePoint now);
  void feed_address(std::uint32_t ifindex, const wire::Ipv6Address& address,
                    std::uint8_t prefix_length, std::uint32_t flags, core::TimePoint now);
  void note_neighbor_advertisement(const core::RxPacket& packet, core::TimePoint now);
  void handle_tun_packet(wire::ByteSpan packet, core::TimePoint now);
  // RFC 2473 §3: the decapsulated packet into the TUN, TCP segments coalesced (gro_).
  void deliver(wire::ByteSpan inner);
  void flush_coalesced();
  // Schedules the flush after this round's events (once per burst); false before start().
  bool arm_flush();
  void on_flush();
  void send_data(wire::ByteSpan packet, std::string_view drop_reason);

  Interface* find_interface(std::uint32_t ifindex);
  bool is_home_address(const wire::Ipv6Address& address) const;
  bool is_care_of_address(const wire::Ipv6Address& address) const;
  void count(std::string_view name);
  std::uint64_t& counter(std::string_view name);  // created at 0 if new; never removed
  void log(core::LogLevel level, const std::string& message);

  MobileNodeSection section_;
  Services& services_;
  core::MobileNodeConfig config_;
  std::unique_ptr<core::MobileNode> engine_;
  std::vector<Interface> interfaces_;
  std::optional<linux_dp::TunDevice> tun_;
  std::uint32_t tun_mtu_ = 0;          // the largest inner packet the tunnel carries
  std::vector<std::byte> tun_buffer_;  // one packet read from the TUN
  std::optional<linux_dp::EventLoop::TimerId> timer_;
  // What one burst of tunnelled packets coalesces into; written when the burst is over (the
  // flush timer, armed already expired, fires once the daemon's read loop has drained the
  // tunnel socket) or when a packet that does not fit arrives.
  linux_dp::TcpCoalescer gro_;
  std::optional<linux_dp::EventLoop::TaskId> flush_task_;  // runs after a round's packets
  bool flush_armed_ = false;                               // flush_task_ is scheduled
  // Counted for every tunnelled data packet: looked up once (a map's entries stay put).
  std::uint64_t* tunnelled_received_ = nullptr;
  std::uint64_t* tunnelled_delivered_ = nullptr;
  bool input_pending_ = false;  // data fed to the engine whose after_input() waits for the flush
  // The reverse tunnels that exist, by home address (§11.3.1).
  std::map<wire::Ipv6Address, core::TunnelRoute> tunnels_;
  std::vector<linux_dp::InstalledObject> home_objects_;  // installed for the home address
  std::vector<linux_dp::InstalledObject> preexisting_;   // wanted, but the kernel's already
  std::vector<Probe> probes_;
  std::optional<LinkView> link_;  // last seen, for leaving a link
  std::map<std::string, std::uint64_t, std::less<>> counters_;
};

}  // namespace mipv6::daemon
