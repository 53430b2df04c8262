#include "core/movement_detector.h"

#include <algorithm>
#include <tuple>

#include "wire/chain.h"

namespace mipv6::core {

namespace {

using wire::Ipv6Address;

// RFC 4861 §4.6.2: a lifetime of all ones is infinity.
constexpr std::uint32_t kInfiniteLifetime = 0xffffffff;

std::optional<TimePoint> lifetime_end(std::uint32_t seconds, TimePoint now) {
  if (seconds == kInfiniteLifetime) return std::nullopt;
  return now + std::chrono::seconds(seconds);
}

std::optional<TimePoint> end_of(const std::optional<Duration>& lifetime, TimePoint now) {
  if (!lifetime) return std::nullopt;
  return now + *lifetime;
}

std::optional<Duration> remaining(const std::optional<TimePoint>& end, TimePoint now) {
  if (!end) return std::nullopt;
  return std::max(Duration::zero(), *end - now);
}

bool reached(const std::optional<TimePoint>& deadline, TimePoint now) {
  return deadline && *deadline <= now;
}

void earliest(std::optional<TimePoint>& best, const std::optional<TimePoint>& candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

Ipv6Address masked(const Ipv6Address& address, unsigned prefix_length) {
  Ipv6Address out;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = std::min(8u, prefix_length > i * 8 ? prefix_length - i * 8 : 0u);
    const auto mask = static_cast<std::uint8_t>(0xff00u >> bits);
    out.bytes[i] = static_cast<std::uint8_t>(address.bytes[i] & mask);
  }
  return out;
}

std::optional<LinkLayerAddress> source_link_layer(const wire::RouterAdvertisement& ra) {
  for (const auto& option : ra.options) {
    const auto* sllao = std::get_if<wire::SourceLinkLayerAddressOption>(&option.body);
    if (sllao == nullptr || sllao->link_layer_address.size() < 6) continue;
    LinkLayerAddress out{};
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = std::to_integer<std::uint8_t>(sllao->link_layer_address[i]);
    return out;
  }
  return std::nullopt;
}

std::optional<Duration> advertisement_interval(const wire::RouterAdvertisement& ra) {
  for (const auto& option : ra.options) {
    const auto* interval = std::get_if<wire::AdvertisementIntervalOption>(&option.body);
    if (interval != nullptr && interval->advertisement_interval != 0)
      return std::chrono::milliseconds(interval->advertisement_interval);
  }
  return std::nullopt;
}

// RFC 6275 §7.2: with the R bit set the Prefix field holds the router's whole global address.
std::vector<Ipv6Address> router_addresses(const wire::RouterAdvertisement& ra) {
  std::vector<Ipv6Address> out;
  for (const auto& option : ra.options) {
    const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
    if (pio != nullptr && pio->r && pio->prefix.is_unicast_routable()) out.push_back(pio->prefix);
  }
  return out;
}

bool shares_any(const std::vector<Ipv6Address>& a, const std::vector<Ipv6Address>& b) {
  return std::any_of(a.begin(), a.end(), [&](const Ipv6Address& x) {
    return std::find(b.begin(), b.end(), x) != b.end();
  });
}

}  // namespace

MovementDetector::MovementDetector(MovementDetectorConfig config) : config_(std::move(config)) {}

// ---------------------------------------------------------------------------------------------
// Router Advertisements

void MovementDetector::on_router_advertisement(std::uint32_t ifindex, const Ipv6Address& source,
                                               const wire::RouterAdvertisement& ra, TimePoint now) {
  // RFC 4861 §6.1.2: an RA whose source is not link-local is invalid.
  if (!source.is_link_local()) return;
  expire(now);
  // RFC 4861 §6.3.7: a valid RA ends the solicitation on that interface.
  Interface& link = interface(ifindex);
  link.solicitations_left = 0;
  link.next_solicitation.reset();

  const auto globals = router_addresses(ra);
  const std::size_t index = find_or_add_router(ifindex, source, globals);
  RouterEntry& router = routers_[index];
  for (const auto& global : globals) {
    if (std::find(router.global_addresses.begin(), router.global_addresses.end(), global) ==
        router.global_addresses.end())
      router.global_addresses.push_back(global);
  }
  if (auto lla = source_link_layer(ra)) router.link_layer_address = lla;
  router.home_agent = ra.h;
  router.last_heard = now;
  router.advertisements_overdue = false;
  router.probe_deadline.reset();  // it is there: its RA just arrived (draft-04 §9.2)
  if (auto interval = advertisement_interval(ra)) router.advertisement_interval = interval;
  // RFC 4861 §6.3.4: Router Lifetime 0 means "not a default router".
  router.lifetime_end = ra.router_lifetime == 0
                            ? std::nullopt
                            : std::optional(now + std::chrono::seconds(ra.router_lifetime));
  learn_prefixes(router, ra, now);
  if (current_ == index && !router.lifetime_end) {
    // Still a neighbor, so its link stays reachable: nothing is invalidated, a new default
    // router is chosen and the old primary is kept as a non-primary address.
    current_.reset();
    pending_reason_ = MoveReason::kMovement;
  }
  reconcile(now);
}

bool MovementDetector::on_packet(const RxPacket& packet, TimePoint now) {
  const auto& layout = packet.layout;
  if (packet.tunnel || layout.upper_protocol != wire::kIcmpv6NextHeader || !layout.upper_complete())
    return false;
  // RFC 4861 §6.1.2: hop limit 255 proves the RA was not forwarded.
  if (layout.ipv6.hop_limit != 255 || !layout.ipv6.source.is_link_local()) return false;
  auto message = wire::decode_icmpv6(packet.upper());
  if (!message || message->code != 0) return false;
  const auto* ra = std::get_if<wire::RouterAdvertisement>(&message->body);
  if (ra == nullptr || !wire::verify_upper_checksum(packet.bytes, layout)) return false;
  on_router_advertisement(packet.ifindex, layout.ipv6.source, *ra, now);
  return true;
}

// §11.5.1: link-local addresses are not unique, R-bit global addresses are. A router is the
// one sharing a global address; without one in the RA, the one with that link-local address.
std::size_t MovementDetector::find_or_add_router(std::uint32_t ifindex, const Ipv6Address& source,
                                                 const std::vector<Ipv6Address>& globals) {
  auto same = [&](auto predicate) {
    return std::find_if(routers_.begin(), routers_.end(),
                        [&](const RouterEntry& r) { return r.ifindex == ifindex && predicate(r); });
  };
  auto it = routers_.end();
  if (!globals.empty()) {
    it = same([&](const RouterEntry& r) { return shares_any(r.global_addresses, globals); });
    if (it == routers_.end()) {
      // A router that starts sending R-bit options is still the same router.
      it = same([&](const RouterEntry& r) {
        return r.link_local_address == source && r.global_addresses.empty();
      });
    }
  } else {
    it = same([&](const RouterEntry& r) { return r.link_local_address == source; });
  }
  if (it != routers_.end()) return static_cast<std::size_t>(it - routers_.begin());
  RouterEntry entry;
  entry.ifindex = ifindex;
  entry.link_local_address = source;
  routers_.push_back(std::move(entry));
  return routers_.size() - 1;
}

// RFC 4861 §6.3.4 / RFC 4862 §5.5.3: the Prefix List, per router so that the prefixes of an
// unreachable link can be told apart (§11.5.4). Link-local prefixes are ignored; a valid
// lifetime of 0 withdraws the prefix.
void MovementDetector::learn_prefixes(RouterEntry& router, const wire::RouterAdvertisement& ra,
                                      TimePoint now) {
  for (const auto& option : ra.options) {
    const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
    if (pio == nullptr || pio->prefix_length > 128 || (!pio->l && !pio->a)) continue;
    if (pio->prefix.is_link_local()) continue;
    const Ipv6Address prefix = masked(pio->prefix, pio->prefix_length);
    auto it = std::find_if(router.prefixes.begin(), router.prefixes.end(), [&](const auto& p) {
      return p.prefix == prefix && p.prefix_length == pio->prefix_length;
    });
    if (pio->valid_lifetime == 0) {
      if (it != router.prefixes.end()) router.prefixes.erase(it);
      continue;
    }
    if (it == router.prefixes.end()) {
      AdvertisedPrefix added;
      added.prefix = prefix;
      added.prefix_length = pio->prefix_length;
      it = router.prefixes.insert(router.prefixes.end(), added);
    }
    it->on_link = pio->l;
    it->valid_until = lifetime_end(pio->valid_lifetime, now);
  }
}

// ---------------------------------------------------------------------------------------------
// Events

void MovementDetector::on_event(const NodeEvent& event, TimePoint now) {
  expire(now);
  if (const auto* up = std::get_if<LinkUp>(&event)) {
    on_link_up(*up, now);
  } else if (const auto* down = std::get_if<LinkDown>(&event)) {
    on_link_down(*down, now);
  } else if (const auto* added = std::get_if<AddressAdded>(&event)) {
    on_address_added(*added, now);
  } else if (const auto* removed = std::get_if<AddressRemoved>(&event)) {
    on_address_removed(removed->ifindex, removed->address);
  } else if (const auto* dad = std::get_if<DadResult>(&event)) {
    if (dad->duplicate) {
      on_address_removed(dad->ifindex, dad->address);
    } else if (CareOfCandidate* address = find_address(dad->ifindex, dad->address)) {
      address->tentative = false;  // RFC 4862 §5.4: usable once DAD is done
    }
  } else if (const auto* reach = std::get_if<NeighborReachability>(&event)) {
    on_reachability(*reach, now);
  }
  reconcile(now);
}

// §11.5.1: an L2 hint is not proof of movement. When the current router is on that link, first
// check it is still there with a unicast NS; a multicast RS follows only if it is gone (or at
// once when the operator says L2 hints imply movement). A link without the current router has
// nothing to verify: solicit at once (RFC 4861 §6.3.7).
void MovementDetector::on_link_up(const LinkUp& event, TimePoint now) {
  interface(event.ifindex).up = true;
  const RouterEntry* router = default_router();
  const bool router_here = router != nullptr && router->ifindex == event.ifindex;
  if (router_here) probe(routers_[*current_], now);
  if (!router_here || config_.l2_hint_implies_movement) solicit(event.ifindex, now);
}

// The current router cannot be reached through a link that is down: probe it (the probe fails,
// or a quick link flap heals before it does) and look for routers on the other links now.
void MovementDetector::on_link_down(const LinkDown& event, TimePoint now) {
  Interface& link = interface(event.ifindex);
  link.up = false;
  link.solicitations_left = 0;
  link.next_solicitation.reset();
  const RouterEntry* router = default_router();
  if (router == nullptr || router->ifindex != event.ifindex) return;
  probe(routers_[*current_], now);
  solicit_on_other_links(event.ifindex, now);
  // With link-layer hints trusted, a router on another interface that is up, with a care-of
  // address ready, takes over at once (§11.5.1 lets lower-layer indications speed detection up;
  // nothing reaches the current router through a link that is down). The probe still runs, in
  // case the link comes back.
  if (config_.l2_hint_implies_movement && ready_router_elsewhere(event.ifindex, now)) {
    current_.reset();
    pending_reason_ = MoveReason::kMovement;
  }
}

bool MovementDetector::ready_router_elsewhere(std::uint32_t ifindex, TimePoint now) const {
  return std::any_of(routers_.begin(), routers_.end(), [&](const RouterEntry& r) {
    return r.ifindex != ifindex && usable_default(r, now) &&
           (home_prefix_on_link(r) || best_care_of(r) != nullptr);
  });
}

// Care-of addresses come from anything that configures addresses (SLAAC, DHCPv6, static):
// only global unicast ones matter (§11.5.3). A known address is updated (lifetimes, DAD state).
void MovementDetector::on_address_added(const AddressAdded& event, TimePoint now) {
  if (!event.address.is_unicast_routable()) return;
  CareOfCandidate* address = find_address(event.ifindex, event.address);
  if (address == nullptr) {
    CareOfCandidate added;
    added.ifindex = event.ifindex;
    added.address = event.address;
    addresses_.push_back(added);
    address = &addresses_.back();
  }
  address->prefix_length = event.prefix_length;
  address->tentative = event.tentative;
  address->valid_until = end_of(event.valid_lifetime, now);
  // RFC 4862 §5.5.4: preferred lifetime 0 means deprecated.
  address->deprecated = event.preferred_lifetime && *event.preferred_lifetime <= Duration::zero();
  address->preferred_until =
      address->deprecated ? std::nullopt : end_of(event.preferred_lifetime, now);
}

void MovementDetector::on_address_removed(std::uint32_t ifindex, const Ipv6Address& address) {
  lose(address, ifindex, CareOfLostReason::kRemoved);
  std::erase_if(addresses_, [&](const CareOfCandidate& a) {
    return a.ifindex == ifindex && a.address == address;
  });
}

// NUD and probe results. A global (R-bit) address names one router; a link-local one only when
// no other router on that link uses it too (§11.5.1), or when the router has no global address.
void MovementDetector::on_reachability(const NeighborReachability& event, TimePoint now) {
  std::vector<std::size_t> matches;
  for (std::size_t i = 0; i < routers_.size(); ++i) {
    const RouterEntry& r = routers_[i];
    if (r.ifindex != event.ifindex) continue;
    const auto& globals = r.global_addresses;
    if (std::find(globals.begin(), globals.end(), event.neighbor) != globals.end()) {
      matches = {i};
      break;
    }
    if (r.link_local_address == event.neighbor) matches.push_back(i);
  }
  if (matches.size() > 1) {
    std::erase_if(matches, [&](std::size_t i) { return !routers_[i].global_addresses.empty(); });
  }
  if (event.reachable) {
    for (std::size_t i : matches) {
      routers_[i].probe_deadline.reset();
      routers_[i].advertisements_overdue = false;
      routers_[i].last_heard = now;
    }
    return;
  }
  // Highest index first, so that erasing keeps the other indices valid.
  for (auto it = matches.rbegin(); it != matches.rend(); ++it)
    router_gone(*it, now);
}

// ---------------------------------------------------------------------------------------------
// Time

void MovementDetector::on_timeout(TimePoint now) {
  expire(now);
  reconcile(now);
}

void MovementDetector::set_interface_preference(std::vector<std::uint32_t> order, TimePoint now) {
  config_.interface_preference = std::move(order);
  reconcile(now);
}

void MovementDetector::add_home_prefix(const HomeLinkPrefix& prefix, TimePoint now) {
  auto& prefixes = config_.home_prefixes;
  if (std::find(prefixes.begin(), prefixes.end(), prefix) != prefixes.end()) return;
  prefixes.push_back(prefix);
  reconcile(now);
}

std::optional<TimePoint> MovementDetector::next_deadline() const {
  std::optional<TimePoint> best;
  for (const auto& router : routers_) {
    earliest(best, router.lifetime_end);
    earliest(best, router.probe_deadline);
    earliest(best, advertisement_deadline(router));
    for (const auto& prefix : router.prefixes)
      earliest(best, prefix.valid_until);
  }
  for (const auto& address : addresses_) {
    earliest(best, address.valid_until);
    earliest(best, address.preferred_until);
  }
  for (const auto& link : interfaces_)
    earliest(best, link.next_solicitation);
  return best;
}

void MovementDetector::expire(TimePoint now) {
  for (auto& link : interfaces_) {
    if (!reached(link.next_solicitation, now)) continue;
    decisions_.push_back(SendRouterSolicitation{link.ifindex});
    --link.solicitations_left;
    link.next_solicitation =
        link.solicitations_left > 0 ? std::optional(now + kRtrSolicitationInterval) : std::nullopt;
  }
  for (auto& address : addresses_) {
    if (!reached(address.preferred_until, now)) continue;
    address.preferred_until.reset();
    address.deprecated = true;  // §11.5.3: a new primary is wanted
  }
  std::vector<std::pair<std::uint32_t, Ipv6Address>> ended;
  for (const auto& address : addresses_) {
    if (reached(address.valid_until, now)) ended.emplace_back(address.ifindex, address.address);
  }
  for (const auto& [ifindex, address] : ended)
    on_address_removed(ifindex, address);
  for (auto& router : routers_) {
    std::erase_if(router.prefixes, [&](const auto& p) { return reached(p.valid_until, now); });
  }
  // A router whose probe went unanswered, or whose Router Lifetime ended, is gone (RFC 4861
  // §6.3.5, §7.3.3).
  for (std::size_t i = routers_.size(); i-- > 0;) {
    const RouterEntry& router = routers_[i];
    if (reached(router.probe_deadline, now) || reached(router.lifetime_end, now)) {
      router_gone(i, now);
    } else if (!router.lifetime_end && router.prefixes.empty() && current_ != i) {
      routers_.erase(routers_.begin() + static_cast<std::ptrdiff_t>(i));
      if (current_ && *current_ > i) --*current_;
    }
  }
  check_advertisement_loss(now);
}

// §7.3: the Advertisement Interval is the longest the router waits between RAs; §11.5.1: local
// policy (ra_loss_threshold) decides how many missing RAs make the current router suspect.
std::optional<TimePoint> MovementDetector::advertisement_deadline(const RouterEntry& router) const {
  const RouterEntry* current = default_router();
  if (current != &router || !router.advertisement_interval || router.advertisements_overdue ||
      router.probe_deadline)
    return std::nullopt;
  const auto losses = static_cast<Duration::rep>(std::max(1u, config_.ra_loss_threshold));
  return router.last_heard + *router.advertisement_interval * losses;
}

// RAs are late: probe the router (§11.5.1, draft-04 §9.2) and solicit, so that a router on a
// new link answers at once and the handover does not wait for its next periodic RA.
void MovementDetector::check_advertisement_loss(TimePoint now) {
  if (!current_) return;
  RouterEntry& router = routers_[*current_];
  if (!reached(advertisement_deadline(router), now)) return;
  router.advertisements_overdue = true;
  probe(router, now);
  solicit(router.ifindex, now);
}

void MovementDetector::probe(RouterEntry& router, TimePoint now) {
  const Ipv6Address target =
      router.global_addresses.empty() ? router.link_local_address : router.global_addresses[0];
  decisions_.push_back(ProbeRouter{router.ifindex, target, router.link_local_address});
  router.probe_deadline = now + config_.probe_timeout;
}

// The router is unreachable: drop it with its prefixes, invalidate the care-of addresses of
// its link (§11.5.4) and, when it was the default router, look for another (§11.5.1).
void MovementDetector::router_gone(std::size_t index, TimePoint now) {
  const RouterEntry gone = routers_[index];
  const bool was_current = current_ == index;
  routers_.erase(routers_.begin() + static_cast<std::ptrdiff_t>(index));
  if (current_ && *current_ > index) --*current_;
  if (was_current) {
    current_.reset();
    pending_reason_ = MoveReason::kMovement;
  }
  invalidate_link(gone);
  if (!was_current) return;
  select_default_router(now);
  if (!current_) {
    solicit(gone.ifindex, now);
    solicit_on_other_links(gone.ifindex, now);
  }
}

// §11.5.4: "invalidate all care-of addresses associated with address prefixes that it
// discovered from routers on the unreachable link that are not in the current set of address
// prefixes advertised by the (possibly new) current default router". Prefixes that a router
// still considered reachable advertises are kept: that router's link is not unreachable.
void MovementDetector::invalidate_link(const RouterEntry& gone) {
  auto still_advertised = [&](const Ipv6Address& address, std::uint32_t ifindex) {
    return std::any_of(routers_.begin(), routers_.end(), [&](const RouterEntry& r) {
      return r.ifindex == ifindex && prefix_of(r, address) != nullptr;
    });
  };
  std::vector<std::pair<std::uint32_t, Ipv6Address>> lost;
  for (const auto& address : addresses_) {
    if (address.ifindex != gone.ifindex || prefix_of(gone, address.address) == nullptr) continue;
    if (!still_advertised(address.address, address.ifindex))
      lost.emplace_back(address.ifindex, address.address);
  }
  for (const auto& [ifindex, address] : lost)
    lose(address, ifindex, CareOfLostReason::kLinkUnreachable);
}

void MovementDetector::lose(const Ipv6Address& address, std::uint32_t ifindex,
                            CareOfLostReason reason) {
  if (primary_ == address && primary_ifindex_ == ifindex) {
    decisions_.push_back(CareOfLost{address, ifindex, true, reason});
    primary_.reset();
    if (!pending_reason_) pending_reason_ = MoveReason::kPrimaryInvalid;
  }
  auto it = std::find(retained_.begin(), retained_.end(), std::pair(ifindex, address));
  if (it != retained_.end()) {
    decisions_.push_back(CareOfLost{address, ifindex, false, reason});
    retained_.erase(it);
  }
}

// ---------------------------------------------------------------------------------------------
// Selection

void MovementDetector::reconcile(TimePoint now) {
  select_default_router(now);
  maybe_switch_interface(now);
  update_home_state();
  update_primary(now);
}

bool MovementDetector::usable_default(const RouterEntry& router, TimePoint now) const {
  return router.lifetime_end && *router.lifetime_end > now && interface_up(router.ifindex);
}

std::size_t MovementDetector::interface_rank(std::uint32_t ifindex) const {
  const auto& order = config_.interface_preference;
  return static_cast<std::size_t>(std::find(order.begin(), order.end(), ifindex) - order.begin());
}

// draft-04 §9.2: one router of the Default Router List. Preferred: the best interface, then a
// router the node can use at once (home, or a care-of address ready), then the freshest.
void MovementDetector::select_default_router(TimePoint now) {
  if (current_) return;
  std::optional<std::size_t> best;
  auto key = [&](const RouterEntry& r) {
    const bool ready = home_prefix_on_link(r) || best_care_of(r) != nullptr;
    return std::tuple(interface_rank(r.ifindex), !ready, now - r.last_heard);
  };
  for (std::size_t i = 0; i < routers_.size(); ++i) {
    if (!usable_default(routers_[i], now)) continue;
    if (!best || key(routers_[i]) < key(routers_[*best])) best = i;
  }
  current_ = best;
}

// A router on a better interface, ready to be used, replaces a reachable one (draft-04 §9.2:
// lower-layer information MAY justify a switch); the old primary stays acceptable.
void MovementDetector::maybe_switch_interface(TimePoint now) {
  if (!config_.switch_to_preferred_interface || !current_) return;
  std::size_t rank = interface_rank(routers_[*current_].ifindex);
  std::optional<std::size_t> better;
  for (std::size_t i = 0; i < routers_.size(); ++i) {
    const RouterEntry& r = routers_[i];
    if (interface_rank(r.ifindex) >= rank || !usable_default(r, now)) continue;
    if (!home_prefix_on_link(r) && best_care_of(r) == nullptr) continue;
    better = i;
    rank = interface_rank(r.ifindex);
  }
  if (!better) return;
  current_ = better;
  pending_reason_ = MoveReason::kPreferredInterface;
}

std::optional<HomeLinkPrefix> MovementDetector::home_prefix_on_link(
    const RouterEntry& router) const {
  for (const auto& home : config_.home_prefixes) {
    for (const auto& p : router.prefixes) {
      if (p.on_link && p.prefix_length == home.prefix_length &&
          p.prefix == masked(home.prefix, home.prefix_length))
        return home;
    }
  }
  return std::nullopt;
}

// §11.5.2: the home prefix among the on-link prefixes of the current router's RA means home.
void MovementDetector::update_home_state() {
  const RouterEntry* router = default_router();
  if (router == nullptr) return;
  const auto home = home_prefix_on_link(*router);
  if (home && !at_home_) {
    at_home_ = true;
    pending_reason_.reset();
    if (primary_) retained_.emplace_back(primary_ifindex_, *primary_);
    primary_.reset();
    const auto global = router->global_addresses.empty()
                            ? std::nullopt
                            : std::optional(router->global_addresses[0]);
    decisions_.push_back(AtHome{router->ifindex, router->link_local_address, global,
                                router->link_layer_address, router->home_agent, *home});
  } else if (!home && at_home_) {
    at_home_ = false;
    if (!pending_reason_) pending_reason_ = MoveReason::kInitial;
  }
}

MoveReason MovementDetector::pending_reason_or(MoveReason fallback) {
  const MoveReason reason = pending_reason_.value_or(fallback);
  pending_reason_.reset();
  return reason;
}

// §11.5.3/§11.5.4: the primary care-of address has a prefix of the current default router and
// is replaced when it is deprecated or no longer advertised; the old one is retained.
void MovementDetector::update_primary(TimePoint now) {
  const RouterEntry* router = default_router();
  if (at_home_ || router == nullptr) return;
  const CareOfCandidate* best = best_care_of(*router);
  if (best == nullptr) return;  // wait for one (e.g. DAD still running)
  if (primary_ == best->address && primary_ifindex_ == best->ifindex) {
    pending_reason_.reset();  // e.g. a new router on the same link: no movement
    return;
  }
  MoveReason fallback = MoveReason::kInitial;
  std::optional<Ipv6Address> previous;
  if (primary_) {
    const CareOfCandidate* old = find_address(primary_ifindex_, *primary_);
    fallback =
        old != nullptr && old->deprecated ? MoveReason::kDeprecated : MoveReason::kPrimaryInvalid;
    previous = primary_;
    retained_.emplace_back(primary_ifindex_, *primary_);
  }
  std::erase(retained_, std::pair(best->ifindex, best->address));
  primary_ = best->address;
  primary_ifindex_ = best->ifindex;
  const AdvertisedPrefix* prefix = prefix_of(*router, best->address);
  MovedTo moved;
  moved.care_of_address = best->address;
  moved.ifindex = best->ifindex;
  moved.router = router->link_local_address;
  if (!router->global_addresses.empty()) moved.router_global = router->global_addresses[0];
  moved.prefix = prefix->prefix;
  moved.prefix_length = prefix->prefix_length;
  moved.valid_lifetime = remaining(best->valid_until, now);
  moved.preferred_lifetime =
      best->deprecated ? std::optional(Duration::zero()) : remaining(best->preferred_until, now);
  moved.previous_care_of_address = previous;
  moved.reason = pending_reason_or(fallback);
  decisions_.push_back(std::move(moved));
}

// Usable: on the router's interface, up, DAD done, in a prefix the router advertises, not a
// home address. Best: not deprecated, then the current primary (no needless change), then the
// oldest.
const CareOfCandidate* MovementDetector::best_care_of(const RouterEntry& router) const {
  const CareOfCandidate* best = nullptr;
  auto key = [&](const CareOfCandidate& a) {
    const bool is_primary = primary_ == a.address && primary_ifindex_ == a.ifindex;
    return std::pair(a.deprecated, !is_primary);
  };
  for (const auto& address : addresses_) {
    if (!usable_care_of(address, router)) continue;
    if (best == nullptr || key(address) < key(*best)) best = &address;
  }
  return best;
}

bool MovementDetector::usable_care_of(const CareOfCandidate& address,
                                      const RouterEntry& router) const {
  return address.ifindex == router.ifindex && !address.tentative && interface_up(address.ifindex) &&
         !is_home_address(address.address) && prefix_of(router, address.address) != nullptr;
}

const AdvertisedPrefix* MovementDetector::prefix_of(const RouterEntry& router,
                                                    const Ipv6Address& address) const {
  for (const auto& p : router.prefixes) {
    if (address.in_prefix(p.prefix, p.prefix_length)) return &p;
  }
  return nullptr;
}

bool MovementDetector::is_home_address(const Ipv6Address& address) const {
  return std::any_of(
      config_.home_prefixes.begin(), config_.home_prefixes.end(),
      [&](const HomeLinkPrefix& h) { return address.in_prefix(h.prefix, h.prefix_length); });
}

std::vector<Ipv6Address> MovementDetector::accepted_care_of_addresses() const {
  std::vector<Ipv6Address> out;
  if (primary_) out.push_back(*primary_);
  for (const auto& [ifindex, address] : retained_)
    out.push_back(address);
  return out;
}

const RouterEntry* MovementDetector::default_router() const {
  return current_ ? &routers_[*current_] : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Interfaces and solicitation

MovementDetector::Interface& MovementDetector::interface(std::uint32_t ifindex) {
  auto it = std::find_if(interfaces_.begin(), interfaces_.end(),
                         [&](const Interface& i) { return i.ifindex == ifindex; });
  if (it != interfaces_.end()) return *it;
  Interface added;
  added.ifindex = ifindex;
  interfaces_.push_back(added);
  return interfaces_.back();
}

// Interfaces never reported down are taken as up: the node heard RAs or got addresses there.
bool MovementDetector::interface_up(std::uint32_t ifindex) const {
  return std::none_of(interfaces_.begin(), interfaces_.end(),
                      [&](const Interface& i) { return i.ifindex == ifindex && !i.up; });
}

// RFC 4861 §6.3.7: up to MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart, until an RA.
void MovementDetector::solicit(std::uint32_t ifindex, TimePoint now) {
  if (!interface_up(ifindex)) return;
  Interface& link = interface(ifindex);
  decisions_.push_back(SendRouterSolicitation{ifindex});
  link.solicitations_left = kMaxRtrSolicitations - 1;
  link.next_solicitation = now + kRtrSolicitationInterval;
}

void MovementDetector::solicit_on_other_links(std::uint32_t except_ifindex, TimePoint now) {
  std::vector<std::uint32_t> others;
  for (const auto& link : interfaces_) {
    if (link.ifindex != except_ifindex && link.up) others.push_back(link.ifindex);
  }
  for (const auto& router : routers_) {
    if (router.ifindex != except_ifindex && interface_up(router.ifindex) &&
        std::find(others.begin(), others.end(), router.ifindex) == others.end())
      others.push_back(router.ifindex);
  }
  for (std::uint32_t ifindex : others)
    solicit(ifindex, now);
}

CareOfCandidate* MovementDetector::find_address(std::uint32_t ifindex, const Ipv6Address& address) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(), [&](const CareOfCandidate& a) {
    return a.ifindex == ifindex && a.address == address;
  });
  return it == addresses_.end() ? nullptr : &*it;
}

}  // namespace mipv6::core
