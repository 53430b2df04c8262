#include "daemon/mobile_node_role.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <variant>

#include "core/signalling.h"
#include "linux/packet_rewrite.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::daemon {

namespace {

constexpr std::string_view kRoleName = "mobile_node";
constexpr std::uint32_t kTunnelHeaderSize = 40;  // RFC 2473 §3: the reverse tunnel's header
constexpr std::uint32_t kMinimumMtu = 1280;      // RFC 8200 §5
constexpr std::size_t kTunBufferSize = linux_dp::kVnetHeaderSize + 65535 + 40;
constexpr std::uint8_t kIcmpNeighborSolicitation = 135;   // RFC 4861 §4.3
constexpr std::uint8_t kIcmpNeighborAdvertisement = 136;  // RFC 4861 §4.4
constexpr std::uint8_t kAddrGenModeNone = 1;              // IN6_ADDR_GEN_MODE_NONE
constexpr std::uint8_t kScopeUniverse = 0;                // RT_SCOPE_UNIVERSE

// Every counter the role keeps, so that `show stats` lists each drop reason even at zero.
constexpr std::array kRoleCounters = {
    "tun_packets",                    // read from the TUN (sent by applications from the HoA)
    "tun_not_ipv6",                   // dropped: not an IPv6 packet
    "tun_not_from_home_address",      // dropped: not from a home address (e.g. MLD from ::)
    "tun_no_care_of",                 // dropped: away without a usable care-of address
    "tun_no_home_agent",              // dropped: no home agent known yet
    "tun_rewrite_failed",             // dropped: the Home Address option could not be inserted
    "reverse_tunnelled",              // sent through the home agent (§11.3.1)
    "route_optimized",                // sent with a Home Address option (§11.3.1)
    "sent_from_home",                 // sent unchanged (at home)
    "send_failed",                    // any Sender failure (also counted by errno below)
    "tunnelled_received",             // IPv6-in-IPv6 to one of our care-of addresses
    "tunnelled_malformed",            // dropped: the inner packet does not parse
    "tunnelled_not_from_home_agent",  // dropped: §11.3.3 outer source check
    "tunnelled_not_home_address",     // not delivered: the inner destination is no home address
    "tunnelled_delivered",            // written into the TUN for the applications
    "tunnelled_gro_packets",          // of those: TCP the kernel's GRO had merged already
    "tun_write_failed",
    "queued_type2_accepted",  // data with a Type 2 Routing header, rewritten and accepted
    "dropped_bad_type2",      // §11.3.3 checks failed (added to the engine's counter)
    "queued_rewrite_failed",  // the Type 2 Routing header could not be applied
    "router_probe_answers",   // NAs fed back as NeighborReachability (§11.5.1)
    "home_address_install_failed",
    "link_addresses_removed",  // left a link: stale addresses deleted
    "link_routes_removed",     // left a link: default routes via other routers deleted
    "netlink_failed",
};

std::string errno_counter(int code) {
  switch (code) {
    case ENETUNREACH:
      return "send_failed_enetunreach";
    case EHOSTUNREACH:
      return "send_failed_ehostunreach";
    case EADDRNOTAVAIL:
      return "send_failed_eaddrnotavail";
    case EMSGSIZE:
      return "send_failed_emsgsize";
    case ENOBUFS:
      return "send_failed_enobufs";
    case EPERM:
    case EACCES:
      return "send_failed_eperm";
    case EINVAL:
      return "send_failed_einval";
    default:
      return "send_failed_other";
  }
}

bool is_home_state(core::HomeState state) {
  return state == core::HomeState::kDeregistering || state == core::HomeState::kAtHome;
}

std::optional<core::Duration> to_duration(const std::optional<linux_dp::Seconds>& seconds) {
  if (!seconds) return std::nullopt;
  return std::chrono::duration_cast<core::Duration>(*seconds);
}

std::optional<std::uint8_t> icmp_type(const core::RxPacket& packet) {
  if (packet.layout.upper_protocol != wire::ip_proto::kIcmpv6 || packet.upper().empty())
    return std::nullopt;
  return std::to_integer<std::uint8_t>(packet.upper()[0]);
}

nlohmann::json address_or_null(const std::optional<wire::Ipv6Address>& address) {
  if (!address) return nullptr;
  return address->to_string();
}

std::int64_t seconds_until(std::optional<core::TimePoint> end, core::TimePoint now) {
  if (!end || *end <= now) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(*end - now).count();
}

}  // namespace

MobileNodeRole::MobileNodeRole(const MobileNodeSection& section, Services& services)
    : section_(section), services_(services) {
  for (const char* name : kRoleCounters)
    counters_[name] = 0;
  tunnelled_received_ = &counter("tunnelled_received");
  tunnelled_delivered_ = &counter("tunnelled_delivered");
}

MobileNodeRole::~MobileNodeRole() {
  if (tun_) (void)services_.loop.unwatch(tun_->fd());
  if (timer_) (void)services_.loop.remove_timer(*timer_);
}

std::uint32_t MobileNodeRole::tun_ifindex() const {
  return tun_ ? tun_->ifindex() : 0;
}

// ---------------------------------------------------------------------------------------------
// Start and stop

linux_dp::Status MobileNodeRole::start(core::TimePoint now) {
  if (auto s = resolve_interfaces(); !s) return s;
  if (auto s = set_sysctls(); !s) return s;
  config_ = engine_config();
  engine_ = std::make_unique<core::MobileNode>(config_, services_.rng);
  if (auto s = open_tun(); !s) return s;
  auto timer = services_.loop.add_timer([this] { on_timeout(linux_dp::MonotonicClock::now()); });
  if (!timer) return timer.error();
  timer_ = *timer;
  feed_initial_state(now);
  return {};
}

linux_dp::Status MobileNodeRole::resolve_interfaces() {
  if (section_.interfaces.empty()) return linux_dp::Error{EINVAL, "no mobile node interface"};
  for (const std::string& name : section_.interfaces) {
    auto index = services_.netlink.link_index(name);
    if (!index) return linux_dp::Error{ENODEV, "interface " + name + " not found"};
    auto link = services_.netlink.link(*index);
    if (!link) return link.error();
    Interface iface;
    iface.name = name;
    iface.ifindex = *index;
    iface.mtu = link->mtu;
    iface.link_layer_address = link->link_layer_address;
    auto addresses = services_.netlink.dump_addresses(*index);
    if (!addresses) return addresses.error();
    for (const auto& a : *addresses) {
      if (a.address.is_link_local() && !a.dad_failed()) iface.link_local_address = a.address;
    }
    interfaces_.push_back(std::move(iface));
  }
  return {};
}

// RFC 4862: SLAAC forms the care-of addresses from the visited routers' prefixes; RFC 4429: an
// optimistic address is usable at once, so the binding does not wait for DAD (DESIGN.md §3).
linux_dp::Status MobileNodeRole::set_sysctls() {
  for (const Interface& iface : interfaces_) {
    const std::string base = "net/ipv6/conf/" + iface.name + "/";
    for (const char* key : {"accept_ra", "optimistic_dad", "use_optimistic"}) {
      if (auto s = services_.sysctls.set(base + key, "1"); !s) return s;
    }
  }
  return {};
}

core::MobileNodeConfig MobileNodeRole::engine_config() const {
  core::MobileNodeConfig config;
  core::HomeAddressConfig home;
  home.home_address = section_.home_address;
  home.prefix_length = section_.prefix_length;
  // §11.4.1: no configured home agent means Dynamic Home Agent Address Discovery.
  if (section_.home_agent) home.home_agents = {*section_.home_agent};
  config.home_addresses = {home};
  config.registration_lifetime = std::chrono::duration_cast<core::Duration>(section_.lifetime);
  // §5.1, §11.7.1: BUs to the home agent are protected (the sender applies the SA) and its
  // acknowledgements must be.
  if (services_.signalling != Signalling::kNone) {
    config.protection = services_.signalling == Signalling::kEsp ? core::Protection::kEspTransport
                                                                 : core::Protection::kAuthOption;
    config.require_protected_replies = true;
  }
  const Interface& first = interfaces_.front();
  config.link_local_address = first.link_local_address;
  config.link_layer_address = first.link_layer_address.value_or(core::LinkLayerAddress{});
  for (const Interface& iface : interfaces_) {
    config.interfaces.push_back({iface.ifindex,
                                 iface.link_layer_address.value_or(core::LinkLayerAddress{}),
                                 iface.link_local_address});
    config.movement.interface_preference.push_back(iface.ifindex);
  }
  auto& ro = config.route_optimization;
  switch (section_.route_optimization) {
    case RouteOptimizationPolicy::kAlways:
      ro.route_optimize_by_default = true;
      break;
    case RouteOptimizationPolicy::kNever:
      ro.route_optimize_by_default = false;
      break;
    case RouteOptimizationPolicy::kPrefixes:
      // Correspondents in the listed prefixes are route-optimised, every other one is not.
      ro.route_optimize_by_default = false;
      for (const Prefix& p : section_.route_optimization_prefixes)
        ro.rules.push_back(core::RoPolicyRule{p.prefix, p.length, std::nullopt, true});
      break;
  }
  return config;
}

// The TUN carries the reverse tunnel's inner packets: its MTU leaves room for the outer header
// on the smallest interface (RFC 2473 §7), never below the IPv6 minimum.
linux_dp::Status MobileNodeRole::open_tun() {
  // A vnet header lets deliver() hand the kernel coalesced TCP superpackets (issue 8 benchmark).
  auto tun = linux_dp::TunDevice::create("mip6mn%d", {.vnet_header = true});
  if (!tun) return tun.error();
  tun_.emplace(std::move(*tun));
  flush_task_ = services_.loop.add_task([this] { on_flush(); });
  flush_armed_ = false;
  // No link-local address on the TUN: nothing but the home address is ever sent from it.
  (void)services_.sysctls.set("net/ipv6/conf/" + tun_->name() + "/addr_gen_mode",
                              std::to_string(kAddrGenModeNone));
  std::uint32_t smallest = 0;
  for (const Interface& iface : interfaces_)
    smallest = smallest == 0 ? iface.mtu : std::min(smallest, iface.mtu);
  const std::uint32_t mtu = std::max(kMinimumMtu, smallest - std::min(smallest, kTunnelHeaderSize));
  if (auto s = tun_->set_mtu(mtu); !s) return s;
  tun_mtu_ = mtu;
  if (auto s = services_.netlink.set_link_up(tun_->ifindex(), true); !s) return s;
  return services_.loop.watch(tun_->fd(),
                              [this] { on_tun_readable(linux_dp::MonotonicClock::now()); });
}

// The engine starts from what the kernel holds now: the links with carrier and their global
// addresses (whatever configured them), as if each had just appeared.
void MobileNodeRole::feed_initial_state(core::TimePoint now) {
  for (Interface& iface : interfaces_) {
    auto link = services_.netlink.link(iface.ifindex);
    if (!link || !link->up || !link->running) continue;
    iface.up = true;
    engine_->on_event(core::LinkUp{iface.ifindex}, now);
  }
  for (const Interface& iface : interfaces_) {
    auto addresses = services_.netlink.dump_addresses(iface.ifindex);
    if (!addresses) {
      count("netlink_failed");
      continue;
    }
    for (const auto& a : *addresses) {
      if (a.scope != kScopeUniverse || a.address.is_link_local() || is_home_address(a.address) ||
          a.dad_failed())
        continue;
      feed_address(iface.ifindex, a.address, a.prefix_length, a.flags, now);
    }
  }
  after_input(now);
}

void MobileNodeRole::stop(core::TimePoint /*now*/) {
  if (timer_) {
    (void)services_.loop.remove_timer(*timer_);
    timer_.reset();
  }
  flush_coalesced();
  if (flush_task_) {
    services_.loop.remove_task(*flush_task_);
    flush_task_.reset();
    flush_armed_ = false;
    input_pending_ = false;
  }
  if (tun_) {
    (void)services_.loop.unwatch(tun_->fd());
    tun_.reset();
  }
  // The installed objects are the daemon's to remove (installed.remove_all()); they are
  // forgotten here so that nothing is removed twice.
  home_objects_.clear();
  preexisting_.clear();
}

// ---------------------------------------------------------------------------------------------
// After every input

void MobileNodeRole::after_input(core::TimePoint now) {
  if (!engine_) return;
  std::vector<core::Transmit> transmits;
  for (auto actions = engine_->take_actions(); !actions.empty();
       actions = engine_->take_actions()) {
    for (core::Action& action : actions) {
      if (auto* transmit = std::get_if<core::Transmit>(&action)) {
        transmits.push_back(std::move(*transmit));
      } else if (const auto* tunnel = std::get_if<core::TunnelRoute>(&action)) {
        if (tunnel->change == core::Change::kAdd) {
          tunnels_[tunnel->home_address] = *tunnel;
        } else {
          tunnels_.erase(tunnel->home_address);
        }
      } else if (const auto* entry = std::get_if<core::Log>(&action)) {
        services_.logger.log(entry->level, kRoleName, entry->message);
      }
    }
  }
  // send_path() answers per packet; the changes themselves need nothing in the kernel.
  (void)engine_->take_route_changes();
  std::erase_if(probes_, [&](const Probe& p) { return p.deadline <= now; });
  // The kernel first, then the packets: a de-registration from the home address on the home
  // link (§11.5.5) must find the address there, not in the TUN.
  reconcile_home_address();
  leave_old_link();
  for (const core::Transmit& transmit : transmits) {
    remember_probe(transmit, now);
    carry_out(transmit);
  }
  rearm_timer();
}

void MobileNodeRole::carry_out(const core::Transmit& transmit) {
  // §11.5.5 step 3: on returning home the de-registration goes straight to the home agent's
  // link-layer address, because the home agent still defends the home address: the kernel's own
  // resolution would solicit from the home address, and the home agent's answer to it would be
  // intercepted for the mobile node and tunnelled away.
  auto status = transmit.link_destination && transmit.ifindex != 0
                    ? services_.sender.send_to_link(transmit.packet, transmit.ifindex,
                                                    *transmit.link_destination)
                    : services_.sender.send(transmit.packet, transmit.ifindex);
  if (status) return;
  count("send_failed");
  count(errno_counter(status.error().code));
  services_.logger.debug(kRoleName, "send failed: " + status.error().message);
}

// §11.5.1: a unicast Neighbor Solicitation the engine sends is a router probe; its answer is
// looked for in the Neighbor Advertisements that arrive (note_neighbor_advertisement).
void MobileNodeRole::remember_probe(const core::Transmit& transmit, core::TimePoint now) {
  auto rx = core::make_rx_packet(transmit.packet, transmit.ifindex);
  if (!rx || rx->layout.ipv6.destination.is_multicast()) return;
  if (icmp_type(*rx) != kIcmpNeighborSolicitation) return;
  auto input = core::check_icmpv6(*rx);
  const auto* ns = std::get_if<wire::NeighborSolicitation>(&input.message.body);
  if (input.verdict != core::IcmpVerdict::kAccept || ns == nullptr) return;
  probes_.push_back(
      Probe{transmit.ifindex, ns->target_address, now + config_.movement.probe_timeout});
}

void MobileNodeRole::rearm_timer() {
  if (!timer_) return;
  auto deadline = engine_->next_deadline();
  auto status = deadline ? services_.loop.arm_timer(*timer_, *deadline)
                         : services_.loop.disarm_timer(*timer_);
  if (!status) services_.logger.warn(kRoleName, "timer: " + status.error().message);
}

void MobileNodeRole::on_timeout(core::TimePoint now) {
  if (!engine_) return;
  engine_->on_timeout(now);
  after_input(now);
}

// ---------------------------------------------------------------------------------------------
// The home address in the kernel

// At home (de-registering or de-registered, §11.5.5) the home address is an ordinary address
// of the home link. Away (or before anything is known) it lives on the TUN as a /128 without a
// prefix route, so that a home-prefix route into the TUN cannot capture the daemon's own
// signalling to the home agent; once the reverse tunnel exists (§11.3.1), the applications'
// packets from it are routed into the TUN.
std::vector<linux_dp::InstalledObject> MobileNodeRole::wanted_objects() const {
  using namespace linux_dp::address_flags;
  const wire::Ipv6Address& hoa = section_.home_address;
  std::vector<linux_dp::InstalledObject> wanted;
  auto home_if = home_interface();
  if (is_home_state(engine_->state(hoa)) && home_if) {
    wanted.emplace_back(linux_dp::AddressSpec{.ifindex = *home_if,
                                              .address = hoa,
                                              .prefix_length = section_.prefix_length,
                                              .flags = kNoDad | kHomeAddress});
    return wanted;
  }
  if (!tun_) return wanted;
  // Away: every home address in use — the configured one and those formed from a Mobile Prefix
  // Advertisement after the home link was renumbered (§11.4.3) — is the TUN's, so that
  // applications can use it, and what is sent from it while its reverse tunnel exists goes
  // into the TUN (§11.3.1).
  std::vector<wire::Ipv6Address> homes = engine_->home_addresses();
  if (std::find(homes.begin(), homes.end(), hoa) == homes.end()) homes.insert(homes.begin(), hoa);
  for (const wire::Ipv6Address& home : homes)
    wanted.emplace_back(linux_dp::AddressSpec{.ifindex = tun_->ifindex(),
                                              .address = home,
                                              .prefix_length = 128,
                                              .flags = kNoDad | kHomeAddress | kNoPrefixRoute});
  bool any_tunnel = false;
  for (const wire::Ipv6Address& home : homes) {
    if (!tunnels_.contains(home)) continue;
    if (!any_tunnel)
      wanted.emplace_back(linux_dp::RouteSpec{.destination = wire::Ipv6Address{},
                                              .prefix_length = 0,
                                              .ifindex = tun_->ifindex(),
                                              .table = kMobileNodeTable});
    any_tunnel = true;
    wanted.emplace_back(linux_dp::RuleSpec{.source = home,
                                           .source_length = 128,
                                           .table = kMobileNodeTable,
                                           .priority = kMobileNodeRulePriority});
  }
  return wanted;
}

// The interface of the home link: the current default router's while at home, else the
// primary care-of address's, else the most preferred one.
std::optional<std::uint32_t> MobileNodeRole::home_interface() const {
  if (const core::RouterEntry* router = engine_->movement().default_router())
    return router->ifindex;
  if (engine_->primary_care_of()) return engine_->primary_care_of()->ifindex;
  if (interfaces_.empty()) return std::nullopt;
  return interfaces_.front().ifindex;
}

// An object the kernel already holds (e.g. SLAAC formed the home address itself on the home
// link) is not ours: it is taken as present, and neither recorded nor removed later.
void MobileNodeRole::reconcile_home_address() {
  const auto wanted = wanted_objects();
  auto contains = [](const auto& list, const linux_dp::InstalledObject& o) {
    return std::find(list.begin(), list.end(), o) != list.end();
  };
  // Newest first, so that the rule goes before the route it leads to.
  for (auto it = home_objects_.rbegin(); it != home_objects_.rend(); ++it) {
    if (contains(wanted, *it)) continue;
    if (auto s = services_.installed.remove(*it); !s)
      log(core::LogLevel::kWarn, "remove " + linux_dp::describe(*it) + ": " + s.error().message);
  }
  std::erase_if(home_objects_, [&](const auto& o) { return !contains(wanted, o); });
  std::erase_if(preexisting_, [&](const auto& o) { return !contains(wanted, o); });
  for (const auto& object : wanted) {
    if (contains(home_objects_, object) || contains(preexisting_, object)) continue;
    auto s = services_.installed.install(object);
    if (s) {
      home_objects_.push_back(object);
    } else if (s.error().code == EEXIST) {
      preexisting_.push_back(object);
      log(core::LogLevel::kInfo, "already present: " + linux_dp::describe(object));
    } else {
      count("home_address_install_failed");
      log(core::LogLevel::kWarn,
          "install " + linux_dp::describe(object) + ": " + s.error().message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Leaving a link (issue 8)

void MobileNodeRole::leave_old_link() {
  const core::MovementDetector& movement = engine_->movement();
  const core::RouterEntry* router = movement.default_router();
  if (router == nullptr) return;
  LinkView view{router->ifindex, router->link_local_address, movement.at_home(),
                movement.primary_care_of_address()};
  if (!view.at_home && !view.care_of) return;
  const bool in_new_prefixes =
      link_ && link_->care_of &&
      std::any_of(router->prefixes.begin(), router->prefixes.end(), [&](const auto& p) {
        return link_->care_of->in_prefix(p.prefix, p.prefix_length);
      });
  const bool moved =
      link_ && view != *link_ &&
      (view.at_home != link_->at_home || (view.care_of && link_->care_of && !in_new_prefixes));
  if (!link_ || view != *link_) log_movement(view);
  link_ = view;
  if (moved) prune_interface(view, *router);
}

// One line per movement decision (§11.5): where the node is now, as the engine's movement
// detector decided it.
void MobileNodeRole::log_movement(const LinkView& view) {
  const std::string where =
      " on ifindex " + std::to_string(view.ifindex) + " via router " + view.router.to_string();
  if (view.at_home) {
    log(core::LogLevel::kInfo, "movement: at home" + where);
  } else if (view.care_of) {
    log(core::LogLevel::kInfo,
        "movement: away, primary care-of address " + view.care_of->to_string() + where);
  }
}

// Deletes from the new link's interface what belongs to the link left behind: addresses
// outside the new router's prefixes, on-link prefix routes outside them, and default routes via
// other routers (RFC 4861 §6.3.4 would only drop them when their lifetimes end).
void MobileNodeRole::prune_interface(const LinkView& link, const core::RouterEntry& router) {
  const std::string where = " on ifindex " + std::to_string(link.ifindex);
  auto addresses = services_.netlink.dump_addresses(link.ifindex);
  if (!addresses) {
    count("netlink_failed");
    return;
  }
  for (const auto& a : *addresses) {
    // The home address stays on the home link; away, it belongs on the TUN only.
    const bool keep_home = is_home_address(a.address) && link.at_home;
    if (a.scope != kScopeUniverse || a.address.is_link_local() || keep_home) continue;
    const bool current =
        std::any_of(router.prefixes.begin(), router.prefixes.end(),
                    [&](const auto& p) { return a.address.in_prefix(p.prefix, p.prefix_length); });
    if (current) continue;
    if (auto s = services_.netlink.delete_address(link.ifindex, a.address, a.prefix_length); !s) {
      count("netlink_failed");
      continue;
    }
    count("link_addresses_removed");
    log(core::LogLevel::kInfo, "left link: removed address " + a.address.to_string() + "/" +
                                   std::to_string(a.prefix_length) + where);
  }
  auto routes = services_.netlink.dump_routes(linux_dp::kMainTable);
  if (!routes) {
    count("netlink_failed");
    return;
  }
  for (const auto& r : *routes) {
    if (r.ifindex != link.ifindex) continue;
    const bool old_default =
        r.prefix_length == 0 && r.gateway && *r.gateway != router.link_local_address;
    if (!old_default && !is_old_prefix_route(r, router)) continue;
    if (auto s = services_.netlink.delete_route(r); !s) {
      count("netlink_failed");
      continue;
    }
    count("link_routes_removed");
    log(core::LogLevel::kInfo,
        old_default ? "left link: removed default route via " + r.gateway->to_string() + where
                    : "left link: removed on-link prefix " + r.destination.to_string() + "/" +
                          std::to_string(r.prefix_length) + where);
  }
}

// An on-link prefix route of the link left behind: Linux keeps the prefix routes learned from
// Router Advertisements (RFC 4861 §6.3.4) after the address in them is gone, so the node would
// keep resolving those destinations on a link that no longer has them. Link-local, multicast,
// host routes and the daemon's own routes are not prefix routes of a link.
bool MobileNodeRole::is_old_prefix_route(const linux_dp::RouteSpec& route,
                                         const core::RouterEntry& router) const {
  if (route.gateway || route.prefix_length == 0 || route.prefix_length == 128) return false;
  if (route.protocol == linux_dp::kMipv6RouteProtocol) return false;
  if (route.destination.is_link_local() || route.destination.is_multicast()) return false;
  return std::none_of(router.prefixes.begin(), router.prefixes.end(), [&](const auto& p) {
    return p.prefix_length == route.prefix_length &&
           route.destination.in_prefix(p.prefix, p.prefix_length);
  });
}

// ---------------------------------------------------------------------------------------------
// Inputs

void MobileNodeRole::on_signalling(const core::RxPacket& packet, core::TimePoint now) {
  if (!engine_) return;
  // §11.3.3: a Type 2 Routing header that fails the checks makes the packet silently dropped.
  if (packet.layout.type2_address && !engine_->accept_type2(packet)) {
    count("dropped_bad_type2");
    return;
  }
  if (icmp_type(packet) == kIcmpNeighborAdvertisement) note_neighbor_advertisement(packet, now);
  engine_->on_packet(packet, now);
  after_input(now);
}

// §11.5.1, RFC 4861 §7.2.5: an NA for a probed router's address, on that link, from the link
// (not tunnelled), with hop limit 255, confirms the router is reachable.
void MobileNodeRole::note_neighbor_advertisement(const core::RxPacket& packet,
                                                 core::TimePoint now) {
  if (packet.tunnel || packet.layout.ipv6.hop_limit != 255) return;
  auto input = core::check_icmpv6(packet);
  const auto* na = std::get_if<wire::NeighborAdvertisement>(&input.message.body);
  if (input.verdict != core::IcmpVerdict::kAccept || na == nullptr) return;
  auto it = std::find_if(probes_.begin(), probes_.end(), [&](const Probe& p) {
    return p.ifindex == packet.ifindex && p.target == na->target_address;
  });
  if (it == probes_.end()) return;
  probes_.erase(it);
  count("router_probe_answers");
  engine_->on_event(core::NeighborReachability{packet.ifindex, na->target_address, true}, now);
}

bool MobileNodeRole::on_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner,
                                  core::TimePoint now) {
  if (!engine_ || !is_care_of_address(outer.layout.ipv6.destination)) return false;
  ++*tunnelled_received_;
  auto rx = core::make_rx_packet(inner, outer.ifindex);
  if (!rx) {
    count("tunnelled_malformed");
    return true;
  }
  const wire::Ipv6Address& home = rx->layout.ipv6.destination;
  // §11.3.3: "the mobile node MUST check that the IPv6 source address of the tunneled packet
  // is the IP address of its home agent" (or of a previous link's agent forwarding to us,
  // draft-04 §9.6).
  const wire::Ipv6Address& source = outer.layout.ipv6.source;
  const bool from_agent = engine_->home_agent(home) == source ||
                          std::any_of(engine_->forwardings().begin(), engine_->forwardings().end(),
                                      [&](const core::Forwarding& f) { return f.agent == source; });
  if (!from_agent) {
    count("tunnelled_not_from_home_agent");
    return true;
  }
  rx->tunnel = core::TunnelOuter{source, outer.layout.ipv6.destination};
  rx->protection = outer.protection;  // ESP tunnel mode (a HoT, RFC 4877 §4.3)
  rx->spi = outer.spi;
  engine_->on_packet(*rx, now);
  // A Mobility Header was the engine's to consume; data goes to the applications through the
  // TUN, where the kernel delivers it to the socket bound to the home address (RFC 2473 §3).
  const bool data = rx->layout.upper_protocol != wire::ip_proto::kMobility && is_home_address(home);
  // What the engine makes of a data packet (§11.7.2: perhaps a route optimisation to start)
  // is carried out once per burst, at the flush, not once per packet of a stream.
  if (data && arm_flush()) {
    input_pending_ = true;
  } else {
    after_input(now);
  }
  if (rx->layout.upper_protocol == wire::ip_proto::kMobility) return true;
  if (!data) {
    count("tunnelled_not_home_address");
    return true;
  }
  deliver(inner);
  return true;
}

// After the round's events: the burst they brought is complete.
bool MobileNodeRole::arm_flush() {
  if (!flush_task_) return false;
  if (!flush_armed_) services_.loop.schedule_task(*flush_task_);
  flush_armed_ = true;
  return true;
}

void MobileNodeRole::deliver(wire::ByteSpan inner) {
  if (!tun_) {
    count("tun_write_failed");
    return;
  }
  // GRO on the care-of interface already merged this one: it goes whole, after what is pending.
  if (auto offload = linux_dp::offloaded_tcp_header(inner, tun_mtu_)) {
    flush_coalesced();
    if (!tun_->write(*offload, inner)) {
      count("tun_write_failed");
      return;
    }
    count("tunnelled_gro_packets");
    ++*tunnelled_delivered_;
    return;
  }
  // In order: a packet that cannot join the pending superpacket goes after it.
  bool coalesced = gro_.add(inner);
  if (!coalesced) {
    flush_coalesced();
    coalesced = gro_.add(inner);
  }
  if (coalesced) {
    ++*tunnelled_delivered_;
    if (!arm_flush()) flush_coalesced();
    return;
  }
  if (!tun_->write(inner)) {
    count("tun_write_failed");
    return;
  }
  ++*tunnelled_delivered_;
}

void MobileNodeRole::flush_coalesced() {
  if (gro_.empty()) return;
  const std::size_t segments = gro_.segments();
  auto bytes = gro_.take();
  if (!tun_ || !tun_->write_with_vnet_header(bytes)) {
    for (std::size_t i = 0; i < segments; ++i)
      count("tun_write_failed");
    return;
  }
  if (segments > 1) count("tun_superpackets");
}

void MobileNodeRole::on_flush() {
  flush_armed_ = false;
  flush_coalesced();
  if (input_pending_) {
    input_pending_ = false;
    after_input(linux_dp::MonotonicClock::now());
  }
}

// §11.3.3: a data packet to a care-of address whose Type 2 Routing header names our home
// address is processed as if sent to the home address: the routing header is applied here,
// since the kernel refuses Segments Left 1 (DESIGN.md §3). Only a packet to one of our current
// care-of addresses can come from a correspondent holding a binding for it.
std::optional<linux_dp::Verdict> MobileNodeRole::on_queued(linux_dp::QueuedPacket& queued,
                                                           const core::RxPacket& packet,
                                                           core::TimePoint /*now*/) {
  if (!engine_ || !packet.layout.type2_address) return std::nullopt;
  const auto accepted = engine_->movement().accepted_care_of_addresses();
  const bool to_care_of =
      std::find(accepted.begin(), accepted.end(), packet.layout.ipv6.destination) != accepted.end();
  if (!to_care_of || !engine_->accept_type2(packet)) {
    count("dropped_bad_type2");
    return linux_dp::Verdict::drop();
  }
  if (auto applied = linux_dp::apply_type2_routing_header(queued.packet); !applied) {
    count("queued_rewrite_failed");
    return linux_dp::Verdict::drop();
  }
  count("queued_type2_accepted");
  return linux_dp::Verdict::accept_with(queued.packet);
}

void MobileNodeRole::on_netlink(const linux_dp::NetlinkEvent& event, core::TimePoint now) {
  if (!engine_) return;
  if (const auto* link = std::get_if<linux_dp::LinkEvent>(&event)) {
    on_link_event(*link, now);
  } else if (const auto* address = std::get_if<linux_dp::AddressEvent>(&event)) {
    on_address_event(*address, now);
  }
}

// §11.5.1: link-layer hints. Carrier (with the interface up) is what makes a link usable.
void MobileNodeRole::on_link_event(const linux_dp::LinkEvent& event, core::TimePoint now) {
  Interface* iface = find_interface(event.ifindex);
  if (iface == nullptr) return;
  const bool up = !event.removed && event.up && event.running;
  if (up == iface->up) return;
  iface->up = up;
  if (up) {
    engine_->on_event(core::LinkUp{event.ifindex}, now);
  } else {
    engine_->on_event(core::LinkDown{event.ifindex}, now);
  }
  after_input(now);
}

void MobileNodeRole::on_address_event(const linux_dp::AddressEvent& event, core::TimePoint now) {
  if (find_interface(event.ifindex) == nullptr || event.address.is_link_local() ||
      event.address.is_multicast() || is_home_address(event.address))
    return;
  const bool failed = (event.flags & linux_dp::address_flags::kDadFailed) != 0;
  if (!event.added || failed) {
    engine_->on_event(core::AddressRemoved{event.ifindex, event.address}, now);
  } else {
    feed_address(event.ifindex, event.address, event.prefix_length, event.flags, now);
  }
  after_input(now);
}

// RFC 4429 §3.3: an optimistic address is usable at once, so only a tentative address that
// is not optimistic is reported tentative. The lifetimes come from a dump of the interface.
void MobileNodeRole::feed_address(std::uint32_t ifindex, const wire::Ipv6Address& address,
                                  std::uint8_t prefix_length, std::uint32_t flags,
                                  core::TimePoint now) {
  using namespace linux_dp::address_flags;
  core::AddressAdded added{ifindex,       address,
                           prefix_length, std::nullopt,
                           std::nullopt,  (flags & kTentative) != 0 && (flags & kOptimistic) == 0};
  if (auto addresses = services_.netlink.dump_addresses(ifindex)) {
    for (const auto& a : *addresses) {
      if (a.address != address) continue;
      added.valid_lifetime = to_duration(a.valid_lifetime);
      added.preferred_lifetime = to_duration(a.preferred_lifetime);
    }
  } else {
    count("netlink_failed");
  }
  engine_->on_event(added, now);
}

// ---------------------------------------------------------------------------------------------
// Packets from the home address (the TUN), §11.3.1

void MobileNodeRole::on_tun_readable(core::TimePoint now) {
  if (!tun_ || !engine_) return;
  tun_buffer_.resize(kTunBufferSize);
  for (;;) {
    auto length = tun_->read(tun_buffer_);
    if (!length) break;  // EAGAIN: drained (other errors: the next readiness retries)
    if (*length < linux_dp::kVnetHeaderSize) {
      count("tun_not_ipv6");
      continue;
    }
    // No offloads were offered (no TUNSETOFFLOAD): the kernel hands over complete packets, but
    // a checksum left undone would still be finished here.
    const auto vnet = linux_dp::VnetHeader::decode(
        std::span<const std::byte>(tun_buffer_).first<linux_dp::kVnetHeaderSize>());
    auto packet = std::span<std::byte>(tun_buffer_)
                      .subspan(linux_dp::kVnetHeaderSize, *length - linux_dp::kVnetHeaderSize);
    if ((vnet.flags & linux_dp::VnetHeader::kNeedsChecksum) != 0 &&
        !linux_dp::complete_checksum(vnet, packet)) {
      count("tun_not_ipv6");
      continue;
    }
    handle_tun_packet(wire::ByteSpan(packet), now);
  }
  after_input(now);
}

void MobileNodeRole::handle_tun_packet(wire::ByteSpan packet, core::TimePoint now) {
  count("tun_packets");
  auto header = wire::decode_ipv6_header(packet);
  if (!header) {
    count("tun_not_ipv6");
    return;
  }
  if (!is_home_address(header->source)) {
    count("tun_not_from_home_address");
    return;
  }
  const auto decision = engine_->send_path(header->source, header->destination, now);
  switch (decision.path) {
    case core::SendPath::kReverseTunnel: {
      auto agent = engine_->home_agent(header->source);
      if (decision.care_of_address.is_unspecified()) {
        count("tun_no_care_of");
      } else if (!agent) {
        count("tun_no_home_agent");
      } else {
        send_data(wire::encapsulate(packet, {decision.care_of_address, *agent}),
                  "reverse_tunnelled");
      }
      break;
    }
    case core::SendPath::kRouteOptimized: {
      auto rewritten = linux_dp::insert_home_address_option(packet, decision.care_of_address);
      if (!rewritten) {
        count("tun_rewrite_failed");
      } else {
        send_data(*rewritten, "route_optimized");
      }
      break;
    }
    case core::SendPath::kHome:
      send_data(packet, "sent_from_home");
      break;
  }
}

void MobileNodeRole::send_data(wire::ByteSpan packet, std::string_view sent_counter) {
  auto status = services_.sender.send(packet, 0);
  if (status) {
    count(sent_counter);
    return;
  }
  count("send_failed");
  count(errno_counter(status.error().code));
}

// ---------------------------------------------------------------------------------------------
// mipv6ctl

nlohmann::json MobileNodeRole::show(std::string_view table, core::TimePoint now) const {
  if (table != "bul" || !engine_) return nullptr;
  nlohmann::json homes = nlohmann::json::array();
  const auto& care_of = engine_->primary_care_of();
  for (const auto& hoa : engine_->home_addresses()) {
    homes.push_back({{"home_address", hoa.to_string()},
                     {"state", std::string(core::home_state_name(engine_->state(hoa)))},
                     {"home_agent", address_or_null(engine_->home_agent(hoa))},
                     {"care_of_address", care_of ? nlohmann::json(care_of->address.to_string())
                                                 : nlohmann::json(nullptr)}});
  }
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& e : engine_->binding_update_list().entries()) {
    std::string state = e.do_not_send    ? "do-not-send"
                        : e.awaiting_ack ? "awaiting-ack"
                        : e.acknowledged ? "acknowledged"
                                         : "sent";
    entries.push_back({{"peer", e.destination.to_string()},
                       {"home_address", e.home_address.to_string()},
                       {"care_of_address", e.care_of_address.to_string()},
                       {"home_registration", e.home_registration},
                       {"sequence", e.sequence},
                       {"lifetime_s", seconds_until(e.expiry, now)},
                       {"state", state}});
  }
  // Correspondent registrations kept by route optimisation (§11.1, §11.6).
  for (const auto& [key, e] : engine_->route_optimization().entries()) {
    if (engine_->binding_update_list().find(e.correspondent, e.home_address) != nullptr) continue;
    std::string state = e.do_not_send      ? "do-not-send"
                        : e.bu_outstanding ? "awaiting-ack"
                        : e.acknowledged   ? "acknowledged"
                                           : "return-routability";
    entries.push_back({{"peer", e.correspondent.to_string()},
                       {"home_address", e.home_address.to_string()},
                       {"care_of_address", e.care_of_address.to_string()},
                       {"home_registration", false},
                       {"sequence", e.sequence_number},
                       {"lifetime_s", seconds_until(e.expires, now)},
                       {"state", state}});
  }
  return {{"home_addresses", homes}, {"entries", entries}};
}

// The engine's counters and the role's; a name both use (dropped_bad_type2) is added up.
nlohmann::json MobileNodeRole::stats() const {
  nlohmann::json out = nlohmann::json::object();
  if (engine_) {
    for (const auto& [name, value] : engine_->counters().list())
      out[std::string(name)] = value;
  }
  for (const auto& [name, value] : counters_) {
    const std::uint64_t previous = out.contains(name) ? out[name].get<std::uint64_t>() : 0;
    out[name] = previous + value;
  }
  return out;
}

std::string MobileNodeRole::flush(core::TimePoint /*now*/) {
  return "the mobile node has no binding cache to flush";
}

// Nothing of the mobile node section is applied at run time: the home address, its home
// agent, the interfaces and the policies are all built into the engine and the kernel state.
std::vector<std::string> MobileNodeRole::reload(const DaemonConfig& config,
                                                core::TimePoint /*now*/) {
  if (!config.mobile_node) return {"mobile_node"};
  const MobileNodeSection& next = *config.mobile_node;
  std::vector<std::string> keys;
  auto check = [&](bool same, const char* key) {
    if (!same) keys.emplace_back(std::string("mobile_node.") + key);
  };
  check(next.home_address == section_.home_address, "home_address");
  check(next.prefix_length == section_.prefix_length, "prefix_length");
  check(next.home_agent == section_.home_agent, "home_agent");
  check(next.interfaces == section_.interfaces, "interfaces");
  check(next.route_optimization == section_.route_optimization &&
            next.route_optimization_prefixes == section_.route_optimization_prefixes,
        "route_optimization");
  check(next.lifetime == section_.lifetime, "lifetime");
  return keys;
}

// ---------------------------------------------------------------------------------------------

MobileNodeRole::Interface* MobileNodeRole::find_interface(std::uint32_t ifindex) {
  auto it = std::find_if(interfaces_.begin(), interfaces_.end(),
                         [&](const Interface& i) { return i.ifindex == ifindex; });
  return it == interfaces_.end() ? nullptr : &*it;
}

bool MobileNodeRole::is_home_address(const wire::Ipv6Address& address) const {
  if (address == section_.home_address) return true;
  if (!engine_) return false;
  const auto homes = engine_->home_addresses();
  return std::find(homes.begin(), homes.end(), address) != homes.end();
}

// An address of our interfaces the engine knows as a care-of address candidate (§11.5.4).
bool MobileNodeRole::is_care_of_address(const wire::Ipv6Address& address) const {
  const auto& candidates = engine_->movement().addresses();
  return std::any_of(candidates.begin(), candidates.end(),
                     [&](const core::CareOfCandidate& c) { return c.address == address; });
}

void MobileNodeRole::count(std::string_view name) {
  ++counter(name);
}

std::uint64_t& MobileNodeRole::counter(std::string_view name) {
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(std::string(name), 0).first;
  return it->second;
}

void MobileNodeRole::log(core::LogLevel level, const std::string& message) {
  services_.logger.log(level, kRoleName, message);
}

}  // namespace mipv6::daemon
