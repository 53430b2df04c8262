#include "linux/next_hop.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <iterator>

namespace mipv6::linux_dp {
namespace {

// Neighbour states whose link-layer address may be used as it is (RFC 4861 §7.3.2): confirmed,
// or being confirmed by the kernel right now (DELAY, PROBE), or administratively fixed.
bool usable(std::uint16_t state) {
  return (state & (NUD_REACHABLE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT)) != 0;
}

}  // namespace

NextHopCache::NextHopCache(Netlink netlink, std::uint32_t mark)
    : netlink_(std::move(netlink)), mark_(mark) {}

std::optional<NextHop> NextHopCache::find(const wire::Ipv6Address& source,
                                          const wire::Ipv6Address& destination,
                                          core::TimePoint now) {
  const auto key = std::pair{source, destination};
  if (auto it = entries_.find(key); it != entries_.end() && now - it->second.resolved_at < kMaxAge)
    return it->second.hop;
  Resolved resolved = resolve(source, destination);
  if (entries_.size() >= kCapacity && !entries_.contains(key)) make_room(now);
  entries_[key] = Entry{resolved.hop, now};
  if (resolved.stale) return std::nullopt;
  return resolved.hop;
}

NextHopCache::Resolved NextHopCache::resolve(const wire::Ipv6Address& source,
                                             const wire::Ipv6Address& destination) {
  auto route =
      netlink_.route_to(RouteQuery{.destination = destination, .source = source, .mark = mark_});
  if (!route || route->type != RTN_UNICAST || route->ifindex == 0) return {};
  auto link = netlink_.link(route->ifindex);
  if (!link || !link->link_layer_address || !link->up) return {};
  auto neighbor = netlink_.neighbor(route->ifindex, route->gateway.value_or(destination));
  if (!neighbor || !*neighbor || !(*neighbor)->link_address) return {};
  const std::uint16_t state = (*neighbor)->state;
  if (!usable(state) && state != NUD_STALE) return {};
  NextHop hop{.ifindex = route->ifindex,
              .link_address = *(*neighbor)->link_address,
              .mtu = route->mtu != 0 ? std::min(route->mtu, link->mtu) : link->mtu};
  return Resolved{hop, state == NUD_STALE};
}

void NextHopCache::make_room(core::TimePoint now) {
  std::erase_if(entries_, [&](const auto& e) { return now - e.second.resolved_at >= kMaxAge; });
  if (entries_.size() >= kCapacity) entries_.clear();
}

}  // namespace mipv6::linux_dp
