// Where a packet to a given address leaves this node — the device and the next hop's link-layer
// address — as the kernel's own tables say (RTM_GETROUTE for the route under the policy rules,
// RTM_GETNEIGH for the neighbour), asked again at most every kMaxAge.
//
// Why (issue 8): a home agent sends every tunnelled packet to a care-of address (RFC 6275
// §10.4.1, RFC 2473 §3). Through a raw socket the kernel looks the route up, builds the packet
// in ip6_append_data (checksumming the payload it copies, for nothing) and runs the output
// hooks, per packet — a third of the home agent's time. Knowing the next hop, the packet can go
// through a packet socket instead (LinkSender::send_batch), which only copies it and queues it on
// the device.
//
// What the kernel keeps doing: resolving neighbours and checking that they are reachable (RFC
// 4861 §7.3). A next hop is only given while its neighbour entry is usable; when it is STALE
// the first find() after a refresh answers nullopt, so that the caller sends that packet through
// the kernel, whose use of a STALE entry starts its reachability confirmation (DELAY, PROBE).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "core/engine.h"
#include "core/time.h"
#include "linux/route_netlink.h"
#include "wire/address.h"

namespace mipv6::linux_dp {

struct NextHop {
  std::uint32_t ifindex = 0;
  core::LinkLayerAddress link_address{};
  std::uint32_t mtu = 0;  // the largest packet the route takes (path MTU or the device's)
  friend bool operator==(const NextHop&, const NextHop&) = default;
};

class NextHopCache {
 public:
  // How stale a next hop may be: a route or neighbour change is followed within this time.
  static constexpr core::Duration kMaxAge = std::chrono::milliseconds(500);
  // Entries kept at most; when full, the expired ones are dropped (all of them if none is).
  static constexpr std::size_t kCapacity = 4096;

  // `mark`: the SO_MARK of the packets (policy rules may route by it).
  NextHopCache(Netlink netlink, std::uint32_t mark);

  // The next hop of packets from `source` to `destination`; nullopt when the kernel's output
  // must send them: no unicast route out of the node, a device without link-layer addresses
  // (TUN), no usable neighbour entry yet (the kernel resolves it), or a STALE one (see above).
  std::optional<NextHop> find(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                              core::TimePoint now);
  // Forgets every next hop (routes, links or addresses changed).
  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::optional<NextHop> hop;
    core::TimePoint resolved_at;
  };
  struct Resolved {
    std::optional<NextHop> hop;
    bool stale = false;  // the neighbour entry is STALE: one packet through the kernel first
  };

  Resolved resolve(const wire::Ipv6Address& source, const wire::Ipv6Address& destination);
  void make_room(core::TimePoint now);

  Netlink netlink_;
  std::uint32_t mark_ = 0;
  std::map<std::pair<wire::Ipv6Address, wire::Ipv6Address>, Entry> entries_;
};

}  // namespace mipv6::linux_dp
