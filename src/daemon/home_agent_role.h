// The home agent role of mipv6d (issue 8): core::HomeAgent driven over the Linux data plane.
//
//  - Interception (RFC 6275 §10.4.1): a proxy neighbour entry on the home link draws the packets
//    for a registered home address to this node, and a route {home address/128 dev TUN} in
//    kHomeAgentTable (looked up first by a rule without selectors) hands them to the role, which
//    encapsulates them to the care-of address (RFC 2473) and sends them with the daemon's Sender.
//  - Reverse tunnel (§10.4.5): an IPv6-in-IPv6 packet from a registered care-of address is
//    decapsulated by the daemon, checked by the engine, and its inner packet written into the
//    TUN, so that the kernel forwards it (or delivers it locally).
//  - Duplicate Address Detection of a home address on the home link (§10.3.1, RFC 4862 §5.4) is
//    run here: a Neighbor Solicitation from ::, then RetransTimer for a Neighbor Advertisement or
//    another node's DAD solicitation.
//  - DHAAD (§10.5): the role joins the Home-Agents anycast address of every home prefix, so that
//    the kernel accepts requests sent to it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/binding_cache.h"
#include "core/home_agent.h"
#include "daemon/role.h"
#include "linux/raw_socket.h"
#include "linux/tun.h"

namespace mipv6::daemon {

// What the role itself counts (the engine counts the protocol): every packet it drops, by reason.
struct HomeAgentRoleCounters {
  std::uint64_t tun_packets_read = 0;
  std::uint64_t tun_read_failed = 0;
  std::uint64_t tun_not_ipv6 = 0;            // did not walk as an IPv6 packet
  std::uint64_t intercepted_not_ours = 0;    // routed into the TUN without a binding (race)
  std::uint64_t intercepted_link_local = 0;  // §10.4.1: never tunnelled
  std::uint64_t intercepted_multicast = 0;
  std::uint64_t intercepted_not_tunnelled = 0;  // multicast the engine does not tunnel
  std::uint64_t packets_encapsulated = 0;
  std::uint64_t reverse_tunnel_forwarded = 0;
  std::uint64_t reverse_tunnel_gro_packets = 0;  // of those: TCP merged by GRO (partial checksum)
  std::uint64_t reverse_tunnel_refused = 0;  // §10.4.5: not from the registered care-of address
  std::uint64_t reverse_tunnel_malformed = 0;
  std::uint64_t tun_write_failed = 0;
  std::uint64_t send_failed = 0;
  std::uint64_t tun_superpackets = 0;       // TCP superpackets the TUN handed over (TSO offload)
  std::uint64_t tun_segments = 0;           // the segments they were cut into
  std::uint64_t tun_offload_malformed = 0;  // a vnet header the role could not act on
  std::uint64_t signalling_received = 0;
  std::uint64_t dad_started = 0;
  std::uint64_t dad_unique = 0;
  std::uint64_t dad_duplicate = 0;
  std::uint64_t dad_own_address = 0;  // the kernel holds the address already: duplicate at once
  std::uint64_t dad_looped_back = 0;  // our own solicitation, recognised by its nonce
  std::uint64_t kernel_failed = 0;    // a proxy entry or route the kernel refused
  std::uint64_t home_neighbor_forgotten = 0;  // stale home-link neighbour entries deleted

  std::vector<std::pair<std::string_view, std::uint64_t>> list() const;
};

class HomeAgentRole final : public Role {
 public:
  HomeAgentRole(const HomeAgentSection& config, Services& services);
  ~HomeAgentRole() override;
  HomeAgentRole(const HomeAgentRole&) = delete;
  HomeAgentRole& operator=(const HomeAgentRole&) = delete;

  RoleKind kind() const override { return RoleKind::kHomeAgent; }
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
  const core::HomeAgent& engine() const { return *engine_; }
  const HomeAgentRoleCounters& counters() const { return counters_; }
  std::uint32_t home_ifindex() const { return home_ifindex_; }
  // The TUN device ("mip6ha0"...); 0 / empty before start() and after stop().
  std::uint32_t tun_ifindex() const { return tun_ ? tun_->ifindex() : 0; }
  std::string tun_name() const { return tun_ ? tun_->name() : std::string(); }

  // RFC 4862 §5.4: DupAddrDetectTransmits 1, RetransTimer 1000 ms (RFC 4861 §10).
  static constexpr core::Duration kDadWait = std::chrono::seconds(1);
  static constexpr std::uint32_t kTunnelHeader = 40;  // RFC 2473: the outer IPv6 header

 private:
  // §10.6.2 renumbering, when the home prefixes are those of the interface's addresses: each
  // prefix on the home link and whether it is deprecated (its addresses' preferred lifetime
  // ended), as last told to the engine.
  struct LinkPrefix {
    wire::Ipv6Address prefix;
    std::uint8_t length = 64;
    std::optional<std::chrono::seconds> valid;      // nullopt: infinite
    std::optional<std::chrono::seconds> preferred;  // nullopt: infinite; 0: deprecated
    bool deprecated = false;
  };
  struct Tunnel {  // what a TunnelRoute installed (§10.4.1)
    wire::Ipv6Address care_of_address;
    wire::Ipv6Address local_address;
  };
  struct Dad {  // a DAD probe under way (RFC 4862 §5.4)
    std::uint32_t ifindex = 0;
    core::TimePoint deadline{};
    std::array<std::uint8_t, 6> nonce{};  // RFC 7527: recognises our own looped-back NS
  };

  linux_dp::Status configure_engine();
  linux_dp::Status open_anycast(const std::vector<core::HomePrefix>& prefixes);
  linux_dp::Status open_tun(std::uint32_t home_mtu);

  void drain(core::TimePoint now);
  void carry_out(core::Action& action, core::TimePoint now);
  void transmit(const core::Transmit& transmit);
  // ifindex 0: routed by destination (Sender::send); failures counted as send_failed.
  void send_routed(wire::ByteSpan packet, std::uint32_t ifindex = 0);
  void proxy(const core::ProxyNeighbor& change);
  std::vector<LinkPrefix> read_link_prefixes();
  void follow_renumbering(core::TimePoint now);
  void forget_home_neighbor(const wire::Ipv6Address& home_address);
  void tunnel_route(const core::TunnelRoute& change);
  void log(core::LogLevel level, std::string_view message);
  void arm_timer();
  void on_timer();

  void start_dad(const core::StartDad& start, core::TimePoint now);
  void end_dad(const wire::Ipv6Address& address, bool duplicate);
  bool kernel_has_address(const wire::Ipv6Address& address);
  // An NS or NA that answers (or competes with) one of our DAD probes; true when it was one.
  bool on_neighbor_discovery(const core::RxPacket& packet);
  void set_group(const wire::Ipv6Address& group, std::uint32_t ifindex, bool join);

  void on_tun_readable();
  // `slot`: kTunnelHeader free octets, then the `length` octets of the packet read from the TUN
  // (so that a packet tunnelled to one care-of address needs no copy, only a header in front).
  void intercept(std::span<std::byte> slot, std::size_t length, const linux_dp::VnetHeader& vnet,
                 core::TimePoint now);
  // A TCP superpacket: cut into segments_ (each with a tunnel header's room), each tunnelled.
  void tunnel_superpacket(wire::ByteSpan packet, const linux_dp::VnetHeader& vnet,
                          const std::vector<core::TunnelTarget>& targets);
  void tunnel(std::span<std::byte> slot, std::size_t length,
              const std::vector<core::TunnelTarget>& targets);
  void write_tunnel_header(std::span<std::byte> out, const core::TunnelTarget& target,
                           std::size_t inner_length);
  // Sends what intercept() queued in batch_, with one Sender::send_batch.
  void flush_batch();

  nlohmann::json show_bindings(core::TimePoint now) const;
  nlohmann::json show_home_agents(core::TimePoint now) const;

  HomeAgentSection config_;
  Services& services_;
  std::uint32_t home_ifindex_ = 0;
  std::vector<wire::Ipv6Address> addresses_;  // global addresses on the home link
  std::optional<wire::Ipv6Address> link_local_;
  // §10.6.2 renumbering: the home link's prefixes as last told to the engine.
  std::vector<LinkPrefix> link_prefixes_;
  std::unique_ptr<core::BindingCache> cache_;
  std::unique_ptr<core::HomeAgent> engine_;
  std::optional<linux_dp::RawSocket> anycast_socket_;  // holds the DHAAD anycast memberships
  std::optional<linux_dp::TunDevice> tun_;
  std::optional<linux_dp::EventLoop::TimerId> timer_;
  std::map<wire::Ipv6Address, Tunnel> tunnels_;  // home address -> tunnel
  std::map<wire::Ipv6Address, Dad> dads_;
  std::map<wire::Ipv6Address, int> groups_;  // solicited-node groups joined for DAD -> users
  std::optional<core::TimePoint> armed_;     // the timer's deadline
  // One slot per packet of a TUN wakeup: a tunnel header's room, then the packet (RFC 2473 §3).
  std::vector<std::byte> slots_;
  std::vector<wire::ByteSpan> batch_;  // encapsulated packets of this wakeup, not yet sent
  std::vector<std::byte> segments_;    // segments of superpackets, kSegmentStride apart
  std::vector<std::size_t> segment_lengths_;
  std::size_t segments_used_ = 0;         // segment slots holding packets in batch_
  std::vector<core::NodeEvent> results_;  // DadResults to hand to the engine after the batch
  bool home_link_down_ = false;
  HomeAgentRoleCounters counters_;
};

}  // namespace mipv6::daemon
