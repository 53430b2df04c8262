#include "daemon/correspondent_role.h"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <utility>
#include <variant>

#include <net/if.h>

#include "linux/packet_rewrite.h"
#include "wire/ipv6.h"

namespace mipv6::daemon {
namespace {

constexpr std::string_view kSource = "correspondent";
constexpr std::uint32_t kIpv6MinimumMtu = 1280;  // RFC 8200 §5
constexpr std::uint32_t kDefaultLinkMtu = 1500;
constexpr std::size_t kTunBufferSize = 65535 + wire::kIpv6HeaderSize;
// Packets handled per readable event, so that a busy TUN cannot starve the other sockets (the
// loop is level-triggered: what is left is read on the next round).
constexpr int kTunReadsPerEvent = 64;
constexpr std::size_t kDestinationOffset = 24;

// Addresses this node is reached at for route optimisation: global scope, not loopback or
// link-local (§9.5.1 wants unicast routable addresses on both ends).
bool is_global(const wire::Ipv6Address& address) {
  return !address.is_unspecified() && !address.is_loopback() && !address.is_multicast() &&
         !address.is_link_local();
}

wire::Ipv6Address address_at(wire::ByteSpan bytes, std::size_t offset) {
  wire::Ipv6Address address;
  for (std::size_t i = 0; i < address.bytes.size(); ++i)
    address.bytes[i] = std::to_integer<std::uint8_t>(bytes[offset + i]);
  return address;
}

std::string binding_flags(const core::BindingCacheEntry& entry) {
  // Flags of the BU the entry holds, in the order H A L K (the A flag is not kept: it only
  // asked for the acknowledgement, §6.1.7).
  std::string flags;
  if (entry.home_registration) flags += 'H';
  if (entry.link_local_compatible) flags += 'L';
  if (entry.key_management) flags += 'K';
  return flags;
}

}  // namespace

CorrespondentRole::CorrespondentRole(const CorrespondentSection& config, Services& services,
                                     bool also_mobile_node)
    : config_(config), services_(services), also_mobile_node_(also_mobile_node) {}

CorrespondentRole::~CorrespondentRole() {
  stop(linux_dp::MonotonicClock::now());
}

// ---------------------------------------------------------------------------------------------
// Start and stop

linux_dp::Status CorrespondentRole::start(core::TimePoint now) {
  if (auto s = start_engine(now); !s) return s;
  if (auto s = start_tun(); !s) return s;
  // Lookups consult our table before main; only home addresses with a binding are in it.
  const linux_dp::RuleSpec rule{.table = kCorrespondentTable,
                                .priority = kCorrespondentRulePriority};
  if (auto s = services_.installed.install(rule); !s) return s;
  if (auto s = start_timer(); !s) return s;
  log(core::LogLevel::kInfo, "started: TUN " + tun_->name() + ", route optimization " +
                                 (config_.route_optimization ? "on" : "off"));
  drain();
  return {};
}

linux_dp::Status CorrespondentRole::start_engine(core::TimePoint now) {
  auto addresses = services_.netlink.dump_addresses(0);
  if (!addresses) return addresses.error();
  core::CorrespondentNodeConfig engine_config;
  for (const auto& info : *addresses) {
    if (!is_global(info.address)) continue;
    if (std::find(engine_config.addresses.begin(), engine_config.addresses.end(), info.address) ==
        engine_config.addresses.end())
      engine_config.addresses.push_back(info.address);
  }
  addresses_.insert(engine_config.addresses.begin(), engine_config.addresses.end());
  engine_config.max_bindings = config_.max_bindings;
  engine_config.route_optimization = config_.route_optimization;
  // §8.2: a node that is also a mobile node leaves Type 2 Routing headers to that role.
  engine_config.mobile_node = also_mobile_node_;
  // Keeps peers from aiming home addresses at one probe sequence (binding_cache.h).
  engine_config.cache_hash_seed = services_.rng.next_u64();
  engine_.emplace(std::move(engine_config), services_.rng, now);
  return {};
}

linux_dp::Status CorrespondentRole::start_tun() {
  auto tun = linux_dp::TunDevice::create(kTunName);
  if (!tun) return tun.error();
  tun_.emplace(std::move(*tun));
  buffer_.resize(kTunBufferSize);
  // No link-local address on the TUN: the kernel then sends no MLD reports, Router
  // Solicitations or DAD probes into it, so everything read from it is traffic for a binding.
  // Best effort: without it those reads are counted and dropped.
  const std::string key = "net/ipv6/conf/" + tun_->name() + "/addr_gen_mode";
  if (auto s = services_.sysctls.set(key, "1"); !s) log(core::LogLevel::kDebug, s.error().message);
  if (auto s = services_.netlink.set_mtu(tun_->ifindex(), tun_mtu()); !s) return s;
  if (auto s = services_.netlink.set_link_up(tun_->ifindex(), true); !s) return s;
  auto watched =
      services_.loop.watch(tun_->fd(), [this] { read_tun(linux_dp::MonotonicClock::now()); });
  if (!watched) return watched;
  tun_watched_ = true;
  return {};
}

// The Type 2 Routing header adds 24 octets (§6.4.1) to what the kernel routes into the TUN:
// a TUN MTU 24 below the smallest link MTU (at most 1500) keeps the result within the link.
// Never below the IPv6 minimum (RFC 8200 §5), which the kernel requires of an IPv6 device.
std::uint32_t CorrespondentRole::tun_mtu() {
  std::uint32_t smallest = kDefaultLinkMtu;
  if (auto links = services_.netlink.dump_links()) {
    for (const auto& link : *links) {
      if ((link.flags & IFF_LOOPBACK) != 0 || link.ifindex == tun_->ifindex() || !link.up ||
          link.mtu < kIpv6MinimumMtu)
        continue;
      smallest = std::min(smallest, link.mtu);
    }
  }
  return std::max(smallest - kType2HeaderSize, kIpv6MinimumMtu);
}

linux_dp::Status CorrespondentRole::start_timer() {
  auto timer = services_.loop.add_timer([this] {
    engine_->on_timeout(linux_dp::MonotonicClock::now());
    drain();
  });
  if (!timer) return timer.error();
  timer_ = *timer;
  return {};
}

void CorrespondentRole::stop(core::TimePoint) {
  if (timer_) {
    (void)services_.loop.remove_timer(*timer_);
    timer_.reset();
  }
  if (tun_ && tun_watched_) (void)services_.loop.unwatch(tun_->fd());
  tun_watched_ = false;
  // Closing the descriptor deletes the device, and the kernel its routes; the daemon then
  // forgets them with installed.remove_all().
  tun_.reset();
  routed_.clear();
}

// ---------------------------------------------------------------------------------------------
// Inputs

void CorrespondentRole::on_signalling(const core::RxPacket& packet, core::TimePoint now) {
  if (!engine_) return;
  engine_->on_packet(packet, now);
  drain();
}

bool CorrespondentRole::on_tunnelled(const core::RxPacket&, wire::ByteSpan, core::TimePoint) {
  return false;  // a correspondent terminates no tunnels (§9)
}

std::optional<linux_dp::Verdict> CorrespondentRole::on_queued(linux_dp::QueuedPacket& queued,
                                                              const core::RxPacket& packet,
                                                              core::TimePoint now) {
  if (!engine_) return std::nullopt;
  const auto& layout = packet.layout;
  // A Type 2 Routing header alone: the mobile node role's, if this node is one (§8.2).
  if (!layout.home_address && layout.type2_address && also_mobile_node_) return std::nullopt;
  ++counters_.queued_packets;
  // §8.2: a node that is not a mobile node silently discards packets with a Type 2 header.
  if (layout.type2_address && !also_mobile_node_) {
    ++counters_.queued_type2_discarded;
    return linux_dp::Verdict::drop();
  }
  if (queued.original_length) {
    // Only part of the packet was copied: a rewritten part would replace the whole packet.
    ++counters_.queued_truncated;
    return linux_dp::Verdict::drop();
  }
  if (!layout.home_address) return linux_dp::Verdict::accept();  // nothing of ours to apply
  const auto verdict = engine_->check_home_address_option(packet, now);
  drain();  // a Binding Error (§9.3.3) or Parameter Problem may be queued
  switch (verdict) {
    case core::HaoVerdict::kNoOption:
      return linux_dp::Verdict::accept();
    case core::HaoVerdict::kDrop:
      ++counters_.queued_dropped;
      return linux_dp::Verdict::drop();
    case core::HaoVerdict::kAcceptWithBinding:
      ++counters_.queued_accepted_with_binding;
      break;
    case core::HaoVerdict::kAcceptWithoutBinding:
      ++counters_.queued_accepted_without_binding;
      break;
  }
  return accept_home_address_option(queued, packet);
}

// §9.3.1: the home address becomes the source, so that the packet reaches the socket talking
// to it, and the option is neutralised so that the kernel (which discards an unknown option of
// type 0xC9) delivers it.
linux_dp::Verdict CorrespondentRole::accept_home_address_option(linux_dp::QueuedPacket& queued,
                                                                const core::RxPacket& packet) {
  if (packet.layout.type2_address) {
    // From a mobile node to this node while it is away too: the routing header must name one of
    // this node's addresses (§6.4: never forwarded elsewhere), then both are applied.
    if (!addresses_.contains(*packet.layout.type2_address)) {
      ++counters_.queued_not_ours;
      return linux_dp::Verdict::drop();
    }
    if (auto applied = linux_dp::apply_mobility_headers(queued.packet); !applied) {
      ++counters_.queued_malformed;
      log(core::LogLevel::kDebug, "queued packet dropped: " + applied.error().message);
      return linux_dp::Verdict::drop();
    }
    return linux_dp::Verdict::accept_with(queued.packet);
  }
  if (auto applied = linux_dp::apply_home_address_option(queued.packet); !applied) {
    ++counters_.queued_malformed;
    log(core::LogLevel::kDebug, "queued packet dropped: " + applied.error().message);
    return linux_dp::Verdict::drop();
  }
  return linux_dp::Verdict::accept_with(queued.packet);
}

void CorrespondentRole::on_netlink(const linux_dp::NetlinkEvent& event, core::TimePoint now) {
  const auto* address = std::get_if<linux_dp::AddressEvent>(&event);
  if (!engine_ || address == nullptr || !is_global(address->address)) return;
  // The engine answers only for this node's own addresses (§9.2 destination checks), so it
  // follows them as they come and go.
  if (address->added) {
    addresses_.insert(address->address);
    engine_->on_event(
        core::AddressAdded{address->ifindex, address->address, address->prefix_length, std::nullopt,
                           std::nullopt,
                           (address->flags & linux_dp::address_flags::kTentative) != 0},
        now);
  } else {
    addresses_.erase(address->address);
    engine_->on_event(core::AddressRemoved{address->ifindex, address->address}, now);
  }
  drain();
}

// ---------------------------------------------------------------------------------------------
// The sending side (§9.3.2)

void CorrespondentRole::read_tun(core::TimePoint now) {
  if (!tun_) return;
  for (int i = 0; i < kTunReadsPerEvent; ++i) {
    auto length = tun_->read(buffer_);
    if (!length) {
      if (length.error().code != EAGAIN && length.error().code != EWOULDBLOCK) {
        ++counters_.tun_read_errors;
        log(core::LogLevel::kWarn, length.error().message);
      }
      return;
    }
    handle_tun_packet(std::span(buffer_).first(*length), now);
  }
}

void CorrespondentRole::handle_tun_packet(std::span<std::byte> packet, core::TimePoint now) {
  ++counters_.tun_packets;
  if (packet.size() < wire::kIpv6HeaderSize || (std::to_integer<unsigned>(packet[0]) >> 4) != 6) {
    ++counters_.tun_not_ipv6;
    return;
  }
  const auto destination = address_at(packet, kDestinationOffset);
  if (!destination.is_unicast_routable()) {
    ++counters_.tun_not_unicast;
    return;
  }
  const auto care_of = engine_->care_of_address_for(destination, now);
  if (!care_of) {
    // The binding ended after the kernel routed the packet here: sent the normal way (the
    // sender's mark routes it by the main table, towards the home agent).
    ++counters_.tun_sent_unchanged;
    send(packet, 0);
  } else if (auto rewritten = linux_dp::insert_type2_routing_header(packet, *care_of)) {
    ++counters_.tun_sent_route_optimized;
    send(*rewritten, 0);
  } else if (rewritten.error().code == EMSGSIZE) {
    ++counters_.tun_too_big;
  } else {
    ++counters_.tun_malformed;
    log(core::LogLevel::kDebug, "TUN packet dropped: " + rewritten.error().message);
  }
  drain();  // care_of_address_for() may have expired bindings on the way
}

// ---------------------------------------------------------------------------------------------
// Actions

void CorrespondentRole::drain() {
  if (!engine_) return;
  for (auto actions = engine_->take_actions(); !actions.empty();
       actions = engine_->take_actions()) {
    for (const core::Action& action : actions) {
      if (const auto* transmit = std::get_if<core::Transmit>(&action)) {
        send(transmit->packet, transmit->ifindex);
      } else if (const auto* route = std::get_if<core::BindingRoute>(&action)) {
        apply_route(*route);
      } else if (const auto* line = std::get_if<core::Log>(&action)) {
        log(line->level, line->message);
      }
      // A correspondent engine emits no DAD, proxy or tunnel actions.
    }
  }
  rearm();
}

void CorrespondentRole::send(wire::ByteSpan packet, std::uint32_t ifindex) {
  auto sent = services_.sender.send(packet, ifindex);
  if (sent) return;
  const int code = sent.error().code;
  if (code == EMSGSIZE) {
    ++counters_.send_failed_too_big;
  } else if (code == ENETUNREACH || code == EHOSTUNREACH || code == EADDRNOTAVAIL) {
    ++counters_.send_failed_no_route;
  } else {
    ++counters_.send_failed_other;
  }
  log(core::LogLevel::kDebug, "send failed: " + sent.error().message);
}

// §9.3.2: while a binding exists, what this node sends to the home address is routed into the
// TUN, where the Type 2 Routing header is added. The route does not depend on the care-of
// address, so a binding that moves keeps it.
void CorrespondentRole::apply_route(const core::BindingRoute& route) {
  if (!tun_) return;
  const linux_dp::RouteSpec spec{.destination = route.home_address,
                                 .prefix_length = 128,
                                 .ifindex = tun_->ifindex(),
                                 .table = kCorrespondentTable};
  if (route.change == core::Change::kAdd) {
    if (routed_.contains(route.home_address)) return;
    if (auto s = services_.installed.install(spec); !s) {
      // Not fatal: packets to the home address then go through the home agent (§9.3.2 is an
      // optimisation).
      ++counters_.route_install_failed;
      log(core::LogLevel::kWarn, s.error().message);
      return;
    }
    routed_.insert(route.home_address);
    return;
  }
  if (routed_.erase(route.home_address) == 0) return;
  if (auto s = services_.installed.remove(spec); !s) {
    ++counters_.route_remove_failed;
    log(core::LogLevel::kWarn, s.error().message);
  }
}

void CorrespondentRole::rearm() {
  if (!timer_) return;
  const auto deadline = engine_->next_deadline();
  auto s = deadline ? services_.loop.arm_timer(*timer_, *deadline)
                    : services_.loop.disarm_timer(*timer_);
  if (!s) log(core::LogLevel::kError, "timer: " + s.error().message);
}

void CorrespondentRole::log(core::LogLevel level, std::string_view message) const {
  services_.logger.log(level, kSource, message);
}

// ---------------------------------------------------------------------------------------------
// Control

nlohmann::json CorrespondentRole::show(std::string_view table, core::TimePoint now) const {
  if (table != "bc" || !engine_) return nullptr;
  auto bindings = nlohmann::json::array();
  engine_->cache().for_each([&](const core::BindingCacheEntry& entry) {
    const auto remaining = std::max<core::Duration>(entry.expires - now, core::Duration::zero());
    bindings.push_back({{"home_address", entry.home_address.to_string()},
                        {"care_of_address", entry.care_of_address.to_string()},
                        {"lifetime_s", core::whole_seconds(remaining)},
                        {"sequence", entry.sequence_number},
                        {"flags", binding_flags(entry)},
                        {"home_registration", entry.home_registration},
                        {"role", std::string(kSource)}});
  });
  return {{"bindings", std::move(bindings)}};
}

nlohmann::json CorrespondentRole::stats() const {
  auto out = nlohmann::json::object();
  if (engine_) {
    for (const auto& [name, value] : engine_->counters().list())
      out[std::string(name)] = value;
  }
#define MIPV6_CN_ROLE_COUNTER_JSON(name) out[#name] = counters_.name;
  MIPV6_CN_ROLE_COUNTERS(MIPV6_CN_ROLE_COUNTER_JSON)
#undef MIPV6_CN_ROLE_COUNTER_JSON
  return out;
}

std::string CorrespondentRole::flush(core::TimePoint now) {
  if (!engine_) return "correspondent: not started";
  const auto count = engine_->flush(now);
  drain();
  return "correspondent: " + std::to_string(count) + " binding" + (count == 1 ? "" : "s") +
         " deleted";
}

// The engine takes route_optimization and max_bindings at construction (the Binding Cache
// reserves its memory for max_bindings), so both need a restart.
std::vector<std::string> CorrespondentRole::reload(const DaemonConfig& config, core::TimePoint) {
  std::vector<std::string> restart;
  if (!config.correspondent || config.has_role(RoleKind::kMobileNode) != also_mobile_node_) {
    restart.emplace_back("node.roles");
    return restart;
  }
  if (config.correspondent->route_optimization != config_.route_optimization)
    restart.emplace_back("correspondent.route_optimization");
  if (config.correspondent->max_bindings != config_.max_bindings)
    restart.emplace_back("correspondent.max_bindings");
  return restart;
}

}  // namespace mipv6::daemon
