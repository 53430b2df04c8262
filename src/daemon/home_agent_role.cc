#include "daemon/home_agent_role.h"

#include <algorithm>
#include <cerrno>
#include <exception>
#include <type_traits>
#include <utility>

#include "core/signalling.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/nd_options.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using wire::Ipv6Address;

constexpr std::string_view kSource = "home_agent";
constexpr std::uint8_t kNonceOption = 14;  // RFC 7527 §4: Nonce option of a DAD NS
constexpr std::uint8_t kNdHopLimit = 255;  // RFC 4861 §7.1: ND messages are link-local only
constexpr std::uint32_t kMinimumMtu = 1280;
constexpr std::uint32_t kDefaultTunnelMtu = 1500 - HomeAgentRole::kTunnelHeader;
constexpr std::size_t kMaxPacket = 65535;
constexpr std::size_t kPacketsPerWakeup = 64;  // other descriptors get their turn after that
constexpr std::uint32_t kTunQueueLength = 4096;
constexpr std::size_t kIpv6Header = 40;
// Room for the tunnel header, then the largest IPv6 packet (a TSO superpacket can be one).
constexpr std::size_t kSlotSize = HomeAgentRole::kTunnelHeader + kIpv6Header + kMaxPacket;
// A segment: tunnel header, then at most the TUN's MTU (at most kDefaultTunnelMtu).
constexpr std::size_t kSegmentStride = 2048;
constexpr std::size_t kSegmentSlots = 1024;  // a 64 KiB superpacket down to 64-octet segments
constexpr std::size_t kMaxTcpHeader = 60;

// RFC 4291 §2.7.1: ff02::1:ff00:0/104 followed by the low 24 bits of the address.
Ipv6Address solicited_node(const Ipv6Address& address) {
  Ipv6Address group = *Ipv6Address::parse("ff02::1:ff00:0");
  std::copy(address.bytes.begin() + 13, address.bytes.end(), group.bytes.begin() + 13);
  return group;
}

Ipv6Address masked(const Ipv6Address& address, std::uint8_t length) {
  Ipv6Address prefix = address;
  for (std::size_t i = 0; i < prefix.bytes.size(); ++i) {
    std::size_t first_bit = i * 8;
    if (first_bit >= length) {
      prefix.bytes[i] = 0;
    } else if (first_bit + 8 > length) {
      auto keep = static_cast<unsigned>(length - first_bit);
      prefix.bytes[i] = static_cast<std::uint8_t>(prefix.bytes[i] & (0xffu << (8 - keep)));
    }
  }
  return prefix;
}

std::int64_t remaining_seconds(core::TimePoint until, core::TimePoint now) {
  return std::max<std::int64_t>(0, core::whole_seconds(until - now));
}

// The nonce of a DAD Neighbor Solicitation (RFC 7527 §4), when it carries one of six octets.
std::optional<std::array<std::uint8_t, 6>> nonce_of(const wire::NeighborSolicitation& ns) {
  for (const auto& option : ns.options) {
    const auto* unknown = std::get_if<wire::UnknownNdOption>(&option.body);
    if (unknown == nullptr || unknown->option_type != kNonceOption || unknown->data.size() != 6)
      continue;
    std::array<std::uint8_t, 6> nonce{};
    for (std::size_t i = 0; i < nonce.size(); ++i)
      nonce[i] = std::to_integer<std::uint8_t>(unknown->data[i]);
    return nonce;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::pair<std::string_view, std::uint64_t>> HomeAgentRoleCounters::list() const {
  return {{"tun_packets_read", tun_packets_read},
          {"tun_read_failed", tun_read_failed},
          {"tun_not_ipv6", tun_not_ipv6},
          {"intercepted_not_ours", intercepted_not_ours},
          {"intercepted_link_local", intercepted_link_local},
          {"intercepted_multicast", intercepted_multicast},
          {"intercepted_not_tunnelled", intercepted_not_tunnelled},
          {"packets_encapsulated", packets_encapsulated},
          {"reverse_tunnel_forwarded", reverse_tunnel_forwarded},
          {"reverse_tunnel_gro_packets", reverse_tunnel_gro_packets},
          {"reverse_tunnel_refused", reverse_tunnel_refused},
          {"reverse_tunnel_malformed", reverse_tunnel_malformed},
          {"tun_write_failed", tun_write_failed},
          {"send_failed", send_failed},
          {"signalling_received", signalling_received},
          {"dad_started", dad_started},
          {"dad_unique", dad_unique},
          {"dad_duplicate", dad_duplicate},
          {"dad_own_address", dad_own_address},
          {"dad_looped_back", dad_looped_back},
          {"kernel_failed", kernel_failed},
          {"home_neighbor_forgotten", home_neighbor_forgotten},
          {"tun_superpackets", tun_superpackets},
          {"tun_segments", tun_segments},
          {"tun_offload_malformed", tun_offload_malformed}};
}

HomeAgentRole::HomeAgentRole(const HomeAgentSection& config, Services& services)
    : config_(config),
      services_(services),
      slots_(kPacketsPerWakeup * kSlotSize),
      segments_(kSegmentSlots * kSegmentStride),
      segment_lengths_(kSegmentSlots) {
  batch_.reserve(kPacketsPerWakeup + kSegmentSlots);
}

HomeAgentRole::~HomeAgentRole() {
  stop(core::TimePoint{});
}

// ---------------------------------------------------------------------------------------------
// Start and stop

linux_dp::Status HomeAgentRole::start(core::TimePoint now) {
  auto index = services_.netlink.link_index(config_.interface);
  if (!index) return linux_dp::Error{ENODEV, "interface " + config_.interface + " not found"};
  home_ifindex_ = *index;
  // DESIGN.md §3: proxy ND (§10.4.1) answers only on a forwarding interface with proxy_ndp, and
  // only at once with proxy_delay 0; forwarding is what the home agent does with what it gets.
  const std::string conf = "net/ipv6/conf/" + config_.interface + "/";
  const std::pair<std::string, std::string> settings[] = {
      {"net/ipv6/conf/all/forwarding", "1"},
      {conf + "forwarding", "1"},
      {conf + "proxy_ndp", "1"},
      {"net/ipv6/neigh/" + config_.interface + "/proxy_delay", "0"}};
  for (const auto& [key, value] : settings) {
    if (auto set = services_.sysctls.set(key, value); !set) return set;
  }
  if (auto configured = configure_engine(); !configured) return configured;
  if (auto joined = open_anycast(engine_->prefixes()); !joined) return joined;
  auto link = services_.netlink.link(home_ifindex_);
  if (!link) return link.error();
  if (auto opened = open_tun(link->mtu); !opened) return opened;
  // No selectors: every packet not marked kSignallingMark looks up kHomeAgentTable first, where
  // only the registered home addresses have routes.
  linux_dp::RuleSpec rule{.table = kHomeAgentTable, .priority = kHomeAgentRulePriority};
  if (auto installed = services_.installed.install(rule); !installed) return installed;
  auto timer = services_.loop.add_timer([this] { on_timer(); });
  if (!timer) return timer.error();
  timer_ = *timer;
  log(core::LogLevel::kInfo, "serving " + std::to_string(engine_->prefixes().size()) +
                                 " home prefix(es) on " + config_.interface + " from " +
                                 addresses_.front().to_string() + ", tunnel " + tun_->name());
  drain(now);
  return {};
}

linux_dp::Status HomeAgentRole::configure_engine() {
  auto dumped = services_.netlink.dump_addresses(home_ifindex_);
  if (!dumped) return dumped.error();
  addresses_.clear();
  link_local_.reset();
  std::vector<core::HomePrefix> derived;
  for (const auto& info : *dumped) {
    if (info.dad_failed() || info.address.is_multicast()) continue;
    if (info.address.is_link_local()) {
      if (!link_local_) link_local_ = info.address;
      continue;
    }
    if (!info.address.is_unicast_routable()) continue;
    addresses_.push_back(info.address);
    core::HomePrefix prefix;
    prefix.prefix = masked(info.address, info.prefix_length);
    prefix.length = info.prefix_length;
    bool known = std::any_of(derived.begin(), derived.end(), [&](const core::HomePrefix& p) {
      return p.prefix == prefix.prefix && p.length == prefix.length;
    });
    if (!known) derived.push_back(prefix);
  }
  if (addresses_.empty())
    return linux_dp::Error{EADDRNOTAVAIL,
                           "home_agent.interface " + config_.interface + " has no global address"};
  auto link = services_.netlink.link(home_ifindex_);
  if (!link) return link.error();

  core::HomeAgentConfig engine;
  engine.home_ifindex = home_ifindex_;
  engine.addresses = addresses_;
  engine.link_local_address = link_local_;
  engine.link_layer_address = link->link_layer_address.value_or(core::LinkLayerAddress{});
  if (config_.prefixes.empty()) {
    engine.prefixes = std::move(derived);
    link_prefixes_ = read_link_prefixes();
  } else {
    for (const auto& configured : config_.prefixes) {
      core::HomePrefix prefix;
      prefix.prefix = configured.prefix;
      prefix.length = configured.length;
      engine.prefixes.push_back(prefix);
    }
  }
  engine.max_lifetime = config_.max_lifetime;
  engine.preference = config_.preference;
  // §5.1: with protection configured, an unprotected BU never reaches a binding.
  engine.require_protection = services_.signalling != Signalling::kNone;
  engine.bu_rate_per_source = {static_cast<double>(config_.bu_rate_per_source),
                               2.0 * config_.bu_rate_per_source};
  engine.bu_rate_global = {static_cast<double>(config_.bu_rate_global),
                           static_cast<double>(config_.bu_rate_global)};
  // Seeded per run, so that nobody can pick source addresses that share a limiter bucket.
  engine.rate_limiter_hash_seed = services_.rng.next_u64();
  // §10.3.1: beyond max_bindings live home registrations, BA 130 (insufficient resources). The
  // seed keeps a peer from aiming home addresses at one probe sequence.
  cache_ = std::make_unique<core::BindingCache>(config_.max_bindings, services_.rng.next_u64());
  engine_ = std::make_unique<core::HomeAgent>(std::move(engine), *cache_, services_.rng);
  return {};
}

// §10.5: DHAAD requests go to the Home-Agents anycast address of the home prefix (RFC 2526 §2,
// §6.5); the kernel accepts them only once this node has joined it.
linux_dp::Status HomeAgentRole::open_anycast(const std::vector<core::HomePrefix>& prefixes) {
  // An ICMPv6 socket that accepts no type: it only holds memberships (anycast, solicited-node).
  auto socket = linux_dp::RawSocket::open_icmpv6({});
  if (!socket) return socket.error();
  anycast_socket_.emplace(std::move(*socket));
  for (const auto& prefix : prefixes) {
    auto anycast = wire::home_agents_anycast(prefix.prefix, prefix.length);
    if (!anycast) continue;  // a prefix longer than /121 has no room for it
    if (auto joined = anycast_socket_->join_anycast(*anycast, home_ifindex_); !joined)
      return joined;
  }
  return {};
}

// RFC 2473 §7.1: the tunnel's MTU leaves room for the 40-octet tunnel header, so that the kernel
// itself answers a packet too big for the tunnel with a Packet Too Big before it reaches us.
linux_dp::Status HomeAgentRole::open_tun(std::uint32_t home_mtu) {
  // Offloads: a forwarded TCP stream reaches the daemon as 64 KiB superpackets, one read each,
  // instead of being cut into MTU-sized packets by the kernel and queued one by one (issue 8
  // benchmark); the role cuts them itself (tunnel_superpacket).
  auto tun = linux_dp::TunDevice::create("mip6ha%d", {.vnet_header = true});
  if (!tun) return tun.error();
  tun_.emplace(std::move(*tun));
  if (auto set =
          tun_->set_offload(linux_dp::tun_offload::kChecksum | linux_dp::tun_offload::kTcpv6);
      !set)
    return set;
  std::uint32_t mtu = kDefaultTunnelMtu;
  if (home_mtu > kTunnelHeader) mtu = std::min(mtu, home_mtu - kTunnelHeader);
  mtu = std::max(mtu, kMinimumMtu);
  if (auto set = tun_->set_mtu(mtu); !set) return set;
  // A TCP window arrives in bursts while the daemon is busy with the previous one; the default
  // 500 dropped half of a stream (issue 8 benchmark).
  if (auto set = tun_->set_tx_queue_length(kTunQueueLength); !set) return set;
  if (auto up = services_.netlink.set_link_up(tun_->ifindex(), true); !up) return up;
  return services_.loop.watch(tun_->fd(), [this] { on_tun_readable(); });
}

void HomeAgentRole::stop(core::TimePoint /*now*/) {
  if (timer_) {
    (void)services_.loop.remove_timer(*timer_);
    timer_.reset();
  }
  armed_.reset();
  if (tun_) {
    (void)services_.loop.unwatch(tun_->fd());
    tun_.reset();
  }
  // Closing the socket leaves its anycast and solicited-node groups.
  anycast_socket_.reset();
  groups_.clear();
  dads_.clear();
  results_.clear();
}

// ---------------------------------------------------------------------------------------------
// Engine actions

void HomeAgentRole::drain(core::TimePoint now) {
  if (!engine_) return;
  for (;;) {
    auto actions = engine_->take_actions();
    auto results = std::exchange(results_, {});
    if (actions.empty() && results.empty()) break;
    for (auto& action : actions)
      carry_out(action, now);
    for (const auto& result : results)
      engine_->on_event(result, now);
  }
  arm_timer();
}

void HomeAgentRole::carry_out(core::Action& action, core::TimePoint now) {
  std::visit(
      [&](auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, core::Transmit>) {
          transmit(a);
        } else if constexpr (std::is_same_v<T, core::StartDad>) {
          start_dad(a, now);
        } else if constexpr (std::is_same_v<T, core::ProxyNeighbor>) {
          proxy(a);
        } else if constexpr (std::is_same_v<T, core::TunnelRoute>) {
          tunnel_route(a);
        } else if constexpr (std::is_same_v<T, core::Log>) {
          log(a.level, a.message);
        }
        // BindingRoute: only for a correspondent engine sharing the cache; ours is not shared.
      },
      action);
}

void HomeAgentRole::transmit(const core::Transmit& transmit) {
  // §10.3.2: a rejection to a node on the home link goes to the link-layer address its BU came
  // from (the engine sets link_destination), not through the kernel's neighbour resolution.
  if (transmit.link_destination && transmit.ifindex != 0) {
    auto sent = services_.sender.send_to_link(transmit.packet, transmit.ifindex,
                                              *transmit.link_destination);
    if (sent) return;
    ++counters_.send_failed;
    log(core::LogLevel::kDebug, "send failed: " + sent.error().message);
    return;
  }
  send_routed(transmit.packet, transmit.ifindex);
}

void HomeAgentRole::send_routed(wire::ByteSpan packet, std::uint32_t ifindex) {
  auto sent = services_.sender.send(packet, ifindex);
  if (sent) return;
  ++counters_.send_failed;
  log(core::LogLevel::kDebug, "send failed: " + sent.error().message);
}

// §10.4.1: the kernel answers Neighbor Solicitations for the home address on the home link.
void HomeAgentRole::proxy(const core::ProxyNeighbor& change) {
  linux_dp::ProxyNeighborSpec spec{change.ifindex, change.address};
  auto done = change.change == core::Change::kAdd ? services_.installed.install(spec)
                                                  : services_.installed.remove(spec);
  if (done || (change.change == core::Change::kRemove && done.error().code == ENOENT)) return;
  ++counters_.kernel_failed;
  log(core::LogLevel::kWarn,
      "proxy entry for " + change.address.to_string() + ": " + done.error().message);
}

// §10.4.1: what reaches the home address is routed into the TUN (and tunnelled by intercept()).
void HomeAgentRole::tunnel_route(const core::TunnelRoute& change) {
  if (!tun_) return;
  linux_dp::RouteSpec route{.destination = change.home_address,
                            .prefix_length = 128,
                            .ifindex = tun_->ifindex(),
                            .table = kHomeAgentTable};
  if (change.change == core::Change::kRemove) {
    tunnels_.erase(change.home_address);
    auto removed = services_.installed.remove(route);
    if (!removed && removed.error().code != ENOENT) {
      ++counters_.kernel_failed;
      log(core::LogLevel::kWarn,
          "route for " + change.home_address.to_string() + ": " + removed.error().message);
    }
    return;
  }
  bool routed = tunnels_.contains(change.home_address);
  // A new care-of address only changes where intercept() sends; the route stays.
  tunnels_[change.home_address] = Tunnel{change.care_of_address, change.local_address};
  if (routed) return;
  if (auto installed = services_.installed.install(route); !installed) {
    ++counters_.kernel_failed;
    log(core::LogLevel::kWarn,
        "route for " + change.home_address.to_string() + ": " + installed.error().message);
  }
  forget_home_neighbor(change.home_address);
}

// §10.4.1: from now on the home address is reached through the tunnel. A neighbour entry the
// kernel was still resolving on the home link (the node just left it) would answer its queued
// packets with Address Unreachable once resolution fails — a connect() starting during the move
// would fail — so the entry goes; its packets are dropped silently and retransmitted.
void HomeAgentRole::forget_home_neighbor(const wire::Ipv6Address& home_address) {
  auto forgotten = services_.netlink.forget_neighbor(home_ifindex_, home_address);
  if (forgotten) {
    ++counters_.home_neighbor_forgotten;
  } else if (forgotten.error().code != ENOENT) {
    log(core::LogLevel::kDebug, forgotten.error().message);
  }
}

void HomeAgentRole::log(core::LogLevel level, std::string_view message) {
  services_.logger.log(level, kSource, message);
}

// One timer for the engine's deadline and the DAD probes, re-armed only when it changes.
void HomeAgentRole::arm_timer() {
  if (!timer_ || !engine_) return;
  std::optional<core::TimePoint> next = engine_->next_deadline();
  for (const auto& [address, dad] : dads_) {
    if (!next || dad.deadline < *next) next = dad.deadline;
  }
  if (next == armed_) return;
  armed_ = next;
  auto armed =
      next ? services_.loop.arm_timer(*timer_, *next) : services_.loop.disarm_timer(*timer_);
  if (!armed) log(core::LogLevel::kError, "timer: " + armed.error().message);
}

void HomeAgentRole::on_timer() {
  armed_.reset();
  if (!engine_) return;
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  std::vector<Ipv6Address> finished;
  for (const auto& [address, dad] : dads_) {
    if (dad.deadline <= now) finished.push_back(address);
  }
  // RFC 4862 §5.4.3/§5.4.4: nothing heard within RetransTimer: the address is unique.
  for (const auto& address : finished)
    end_dad(address, false);
  try {
    engine_->on_timeout(now);
    drain(now);
  } catch (const std::exception& e) {  // the event loop must survive anything (issue 8)
    log(core::LogLevel::kError, std::string("timer: ") + e.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Duplicate Address Detection for the mobile node (§10.3.1, RFC 4862 §5.4)

void HomeAgentRole::start_dad(const core::StartDad& start, core::TimePoint now) {
  ++counters_.dad_started;
  if (kernel_has_address(start.address)) {
    // The address is this node's own (on any interface): it cannot be a mobile node's.
    ++counters_.dad_own_address;
    ++counters_.dad_duplicate;
    results_.push_back(core::DadResult{start.ifindex, start.address, true});
    return;
  }
  if (dads_.contains(start.address)) return;
  Dad dad{start.ifindex, now + kDadWait, {}};
  std::uint64_t random = services_.rng.next_u64();
  for (auto& octet : dad.nonce) {
    octet = static_cast<std::uint8_t>(random);
    random >>= 8;
  }
  dads_[start.address] = dad;
  const Ipv6Address group = solicited_node(start.address);
  // Joined so that another node's DAD solicitation for the same address reaches us (§5.4.3).
  set_group(group, start.ifindex, true);
  // RFC 4862 §5.4.2: from the unspecified address, to the solicited-node group, no Source
  // Link-Layer Address option (RFC 4861 §4.3), hop limit 255; a nonce (RFC 7527 §4).
  wire::NeighborSolicitation ns;
  ns.target_address = start.address;
  wire::Bytes nonce;
  for (auto octet : dad.nonce)
    nonce.push_back(std::byte{octet});
  ns.options.push_back(wire::NdOption{wire::UnknownNdOption{kNonceOption, std::move(nonce)}});
  wire::Icmpv6Message message;
  message.body = std::move(ns);
  send_routed(core::build_icmpv6_packet(
                  {Ipv6Address{}, group, std::nullopt, std::nullopt, kNdHopLimit}, message),
              start.ifindex);
}

void HomeAgentRole::end_dad(const Ipv6Address& address, bool duplicate) {
  auto it = dads_.find(address);
  if (it == dads_.end()) return;
  std::uint32_t ifindex = it->second.ifindex;
  dads_.erase(it);
  set_group(solicited_node(address), ifindex, false);
  ++(duplicate ? counters_.dad_duplicate : counters_.dad_unique);
  results_.push_back(core::DadResult{ifindex, address, duplicate});
}

bool HomeAgentRole::kernel_has_address(const Ipv6Address& address) {
  auto dumped = services_.netlink.dump_addresses(0);
  if (!dumped) return false;
  return std::any_of(dumped->begin(), dumped->end(),
                     [&](const linux_dp::AddressInfo& info) { return info.address == address; });
}

void HomeAgentRole::set_group(const Ipv6Address& group, std::uint32_t ifindex, bool join) {
  if (!anycast_socket_) return;
  int& users = groups_[group];
  users += join ? 1 : -1;
  if (users > 0 && !(join && users == 1)) return;
  if (users <= 0) groups_.erase(group);
  if (auto done = anycast_socket_->set_multicast_group(group, ifindex, join); !done)
    log(core::LogLevel::kDebug, done.error().message);
}

bool HomeAgentRole::on_neighbor_discovery(const core::RxPacket& packet) {
  if (packet.layout.upper_protocol != wire::kIcmpv6NextHeader) return false;
  auto input = core::check_icmpv6(packet);
  if (input.verdict != core::IcmpVerdict::kAccept) return false;
  const auto& body = input.message.body;
  const auto& ip = packet.layout.ipv6;
  if (ip.hop_limit != kNdHopLimit) return false;  // RFC 4861 §7.1.1, §7.1.2: not from the link
  if (const auto* na = std::get_if<wire::NeighborAdvertisement>(&body)) {
    // RFC 4862 §5.4.4: an advertisement for the tentative address: someone owns it.
    if (dads_.contains(na->target_address)) end_dad(na->target_address, true);
    return true;
  }
  const auto* ns = std::get_if<wire::NeighborSolicitation>(&body);
  if (ns == nullptr) return false;
  auto it = dads_.find(ns->target_address);
  // RFC 4862 §5.4.3: only a solicitation from :: is another node's DAD; one from a unicast
  // source is address resolution (answered by nobody yet: the address is still tentative).
  if (it == dads_.end() || !ip.source.is_unspecified()) return true;
  if (nonce_of(*ns) == it->second.nonce) {
    ++counters_.dad_looped_back;  // RFC 7527 §4: our own probe, looped back
    return true;
  }
  end_dad(ns->target_address, true);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Packets from the daemon

void HomeAgentRole::on_signalling(const core::RxPacket& packet, core::TimePoint now) {
  if (!engine_) return;
  ++counters_.signalling_received;
  try {
    if (!on_neighbor_discovery(packet)) engine_->on_packet(packet, now);
    drain(now);
  } catch (const std::exception& e) {  // the event loop must survive anything (issue 8)
    log(core::LogLevel::kError, std::string("signalling: ") + e.what());
  }
}

// §10.4.5: a packet the mobile node reverse-tunnelled to this home agent.
bool HomeAgentRole::on_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner,
                                 core::TimePoint /*now*/) {
  if (!engine_ || !tun_ || !engine_->is_own_address(outer.layout.ipv6.destination)) return false;
  auto header = wire::decode_ipv6_header(inner);
  if (!header || inner.size() < wire::kIpv6HeaderSize + header->payload_length) {
    ++counters_.reverse_tunnel_malformed;
    return true;
  }
  if (!engine_->accept_reverse_tunnelled(outer.layout.ipv6.source, header->source,
                                         outer.protection)) {
    ++counters_.reverse_tunnel_refused;
    return true;
  }
  // Into the TUN: the kernel forwards it, as if it had arrived from the mobile node's home link
  // (or delivers it, when it is for this node).
  const auto packet =
      inner.first(static_cast<std::size_t>(wire::kIpv6HeaderSize + header->payload_length));
  // TCP that GRO on the care-of side of this node merged goes whole; the kernel cuts it again
  // on the way out. The segments the mobile node sent were sized for a path this node cannot
  // see, so they are cut to the IPv6 minimum MTU, which every path carries (RFC 8200 §5).
  const auto offload = linux_dp::offloaded_tcp_header(packet, core::kIpv6MinimumMtu);
  if (auto written = offload ? tun_->write(*offload, packet) : tun_->write(packet); !written) {
    ++counters_.tun_write_failed;
    return true;
  }
  if (offload) ++counters_.reverse_tunnel_gro_packets;
  ++counters_.reverse_tunnel_forwarded;
  return true;
}

std::optional<linux_dp::Verdict> HomeAgentRole::on_queued(linux_dp::QueuedPacket& /*queued*/,
                                                          const core::RxPacket& /*packet*/,
                                                          core::TimePoint /*now*/) {
  return std::nullopt;  // a home agent takes no data packets with a HAO or a RH2
}

void HomeAgentRole::on_netlink(const linux_dp::NetlinkEvent& event, core::TimePoint now) {
  if (!engine_) return;
  if (const auto* link = std::get_if<linux_dp::LinkEvent>(&event)) {
    if (link->ifindex != home_ifindex_) return;
    bool down = link->removed || !link->up || !link->running;
    if (down != home_link_down_)
      log(down ? core::LogLevel::kWarn : core::LogLevel::kInfo,
          "home interface " + config_.interface + (down ? " is down" : " is up again"));
    home_link_down_ = down;
    return;
  }
  const auto* address = std::get_if<linux_dp::AddressEvent>(&event);
  if (address == nullptr || address->ifindex != home_ifindex_ ||
      !address->address.is_unicast_routable())
    return;
  // §10.6.2 renumbering: a new global address on the home link is the agent's too.
  auto& own = addresses_;
  auto it = std::find(own.begin(), own.end(), address->address);
  bool tentative = (address->flags & linux_dp::address_flags::kTentative) != 0;
  if (address->added) {
    if ((address->flags & linux_dp::address_flags::kDadFailed) != 0) return;
    if (!tentative && it == own.end()) own.push_back(address->address);
    engine_->on_event(core::AddressAdded{home_ifindex_, address->address, address->prefix_length,
                                         std::nullopt, std::nullopt, tentative},
                      now);
  } else {
    if (it != own.end() && own.size() > 1 && it != own.begin()) own.erase(it);
    engine_->on_event(core::AddressRemoved{home_ifindex_, address->address}, now);
  }
  if (config_.prefixes.empty()) follow_renumbering(now);
  drain(now);
}

// The global prefixes of the home interface's addresses, with the longest lifetimes of the
// addresses in each (RFC 4862 §5.5.4: an address whose preferred lifetime ended is deprecated).
std::vector<HomeAgentRole::LinkPrefix> HomeAgentRole::read_link_prefixes() {
  std::vector<LinkPrefix> out;
  auto dumped = services_.netlink.dump_addresses(home_ifindex_);
  if (!dumped) return link_prefixes_;  // keep what is known rather than "every prefix gone"
  for (const auto& info : *dumped) {
    if (info.dad_failed() || info.tentative() || !info.address.is_unicast_routable()) continue;
    const Ipv6Address prefix = masked(info.address, info.prefix_length);
    auto it = std::find_if(out.begin(), out.end(), [&](const LinkPrefix& p) {
      return p.prefix == prefix && p.length == info.prefix_length;
    });
    const bool deprecated = (info.flags & linux_dp::address_flags::kDeprecated) != 0 ||
                            (info.preferred_lifetime && info.preferred_lifetime->count() == 0);
    LinkPrefix candidate{prefix, info.prefix_length, info.valid_lifetime,
                         deprecated ? std::chrono::seconds(0) : info.preferred_lifetime,
                         deprecated};
    if (it == out.end()) {
      out.push_back(candidate);
    } else if (it->deprecated && !deprecated) {
      *it = candidate;  // one preferred address keeps the prefix preferred
    }
  }
  return out;
}

// §10.6.2: the home link was renumbered (a prefix appeared, became deprecated, or went): the
// engine is told, and sends unsolicited Mobile Prefix Advertisements to the registered mobile
// nodes; a new prefix's Home-Agents anycast address is joined for DHAAD (§10.5). Only changes
// are told: each PrefixUpdate makes the engine advertise.
void HomeAgentRole::follow_renumbering(core::TimePoint now) {
  std::vector<LinkPrefix> current = read_link_prefixes();
  auto same = [](const LinkPrefix& a, const LinkPrefix& b) {
    return a.prefix == b.prefix && a.length == b.length;
  };
  for (const LinkPrefix& p : current) {
    auto old = std::find_if(link_prefixes_.begin(), link_prefixes_.end(),
                            [&](const LinkPrefix& q) { return same(p, q); });
    if (old != link_prefixes_.end() && old->deprecated == p.deprecated) continue;
    log(core::LogLevel::kInfo, "home prefix " + p.prefix.to_string() + "/" +
                                   std::to_string(p.length) +
                                   (old == link_prefixes_.end() ? " added" : "") +
                                   (p.deprecated ? " deprecated" : " preferred"));
    engine_->on_event(core::PrefixUpdate{home_ifindex_, p.prefix, p.length, p.valid, p.preferred},
                      now);
    if (old != link_prefixes_.end() || !anycast_socket_) continue;
    if (auto anycast = wire::home_agents_anycast(p.prefix, p.length)) {
      if (auto joined = anycast_socket_->join_anycast(*anycast, home_ifindex_); !joined)
        log(core::LogLevel::kWarn, joined.error().message);
    }
  }
  for (const LinkPrefix& p : link_prefixes_) {
    if (std::any_of(current.begin(), current.end(),
                    [&](const LinkPrefix& q) { return same(p, q); }))
      continue;
    log(core::LogLevel::kInfo,
        "home prefix " + p.prefix.to_string() + "/" + std::to_string(p.length) + " removed");
    engine_->on_event(core::PrefixUpdate{home_ifindex_, p.prefix, p.length, std::chrono::seconds(0),
                                         std::chrono::seconds(0)},
                      now);
  }
  link_prefixes_ = std::move(current);
}

// ---------------------------------------------------------------------------------------------
// Interception (§10.4.1, §10.4.2)

void HomeAgentRole::on_tun_readable() {
  if (!tun_) return;
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  for (std::size_t i = 0; i < kPacketsPerWakeup && tun_; ++i) {
    // The vnet header lands just before the packet, in the tunnel header's room.
    auto slot = std::span<std::byte>(slots_).subspan(i * kSlotSize, kSlotSize);
    auto vnet_bytes = slot.subspan(kTunnelHeader - linux_dp::kVnetHeaderSize);
    auto length = tun_->read(vnet_bytes);
    if (!length) {
      if (length.error().code != EAGAIN && length.error().code != EWOULDBLOCK)
        ++counters_.tun_read_failed;
      break;
    }
    ++counters_.tun_packets_read;
    if (*length < linux_dp::kVnetHeaderSize) {
      ++counters_.tun_offload_malformed;
      continue;
    }
    const auto vnet = linux_dp::VnetHeader::decode(vnet_bytes.first<linux_dp::kVnetHeaderSize>());
    try {
      intercept(slot, *length - linux_dp::kVnetHeaderSize, vnet, now);
    } catch (const std::exception& e) {
      log(core::LogLevel::kError, std::string("intercept: ") + e.what());
    }
  }
  flush_batch();
  drain(now);
}

void HomeAgentRole::intercept(std::span<std::byte> slot, std::size_t length,
                              const linux_dp::VnetHeader& vnet, core::TimePoint now) {
  const auto packet = slot.subspan(kTunnelHeader, length);
  const bool superpacket = vnet.gso_type != linux_dp::VnetHeader::kGsoNone;
  // TUN_F_CSUM: a packet without its checksum gets it now, before anything reads or sends it.
  if (!superpacket && (vnet.flags & linux_dp::VnetHeader::kNeedsChecksum) != 0 &&
      !linux_dp::complete_checksum(vnet, packet)) {
    ++counters_.tun_offload_malformed;
    return;
  }
  auto rx = core::make_rx_packet(wire::ByteSpan(packet), tun_->ifindex());
  if (!rx) {
    ++counters_.tun_not_ipv6;
    return;
  }
  auto decision = engine_->decide_intercepted(*rx, now);
  if (decision.icmp_error) send_routed(*decision.icmp_error);
  switch (decision.verdict) {
    case core::InterceptVerdict::kTunnel:
      if (superpacket) {
        tunnel_superpacket(packet, vnet, decision.targets);
      } else {
        tunnel(slot, length, decision.targets);
      }
      return;
    case core::InterceptVerdict::kNotOurs:
      ++counters_.intercepted_not_ours;
      return;
    case core::InterceptVerdict::kDropLinkLocal:
      ++counters_.intercepted_link_local;
      return;
    case core::InterceptVerdict::kDropMulticast:
      ++counters_.intercepted_multicast;
      return;
    case core::InterceptVerdict::kDoNotTunnel:
      ++counters_.intercepted_not_tunnelled;
      return;
  }
}

// RFC 2473 §3, §6.3: the whole packet (already forwarded once by the kernel, so its Hop Limit is
// decremented) in a header from the registered HA address to the care-of address. The usual one
// target gets its header in the slot's room and waits for the batch; several (multicast) are
// copied and sent at once.
void HomeAgentRole::tunnel(std::span<std::byte> slot, std::size_t length,
                           const std::vector<core::TunnelTarget>& targets) {
  if (length > kMaxPacket - kTunnelHeader) {
    counters_.send_failed += targets.size();  // RFC 2473 §4: no room for the tunnel header
    return;
  }
  if (targets.size() == 1) {
    write_tunnel_header(slot.first(kTunnelHeader), targets.front(), length);
    batch_.push_back(wire::ByteSpan(slot.first(kTunnelHeader + length)));
    return;
  }
  const wire::ByteSpan inner(slot.subspan(kTunnelHeader, length));
  for (const auto& target : targets) {
    auto outer = wire::encapsulate(
        inner, {.source = target.local_address, .destination = target.care_of_address});
    if (services_.sender.send(outer, 0)) {
      ++counters_.packets_encapsulated;
    } else {
      ++counters_.send_failed;
    }
  }
}

// The engine decided for the superpacket as a whole: its segments share every header it reads.
void HomeAgentRole::tunnel_superpacket(wire::ByteSpan packet, const linux_dp::VnetHeader& vnet,
                                       const std::vector<core::TunnelTarget>& targets) {
  if (vnet.gso_size == 0 ||
      kIpv6Header + kMaxTcpHeader + vnet.gso_size > kSegmentStride - kTunnelHeader) {
    ++counters_.tun_offload_malformed;
    return;
  }
  if (segments_used_ + packet.size() / vnet.gso_size + 1 > kSegmentSlots) flush_batch();
  auto area = std::span<std::byte>(segments_).subspan(segments_used_ * kSegmentStride);
  auto count = linux_dp::segment_tcpv6(vnet, packet, area.subspan(kTunnelHeader), kSegmentStride,
                                       std::span<std::size_t>(segment_lengths_));
  if (!count) {
    ++counters_.tun_offload_malformed;
    return;
  }
  ++counters_.tun_superpackets;
  counters_.tun_segments += *count;
  segments_used_ += *count;
  for (std::size_t i = 0; i < *count; ++i)
    tunnel(area.subspan(i * kSegmentStride, kSegmentStride), segment_lengths_[i], targets);
}

// The header wire::encapsulate builds (hop limit 64, traffic class and flow label 0), written
// in front of the packet.
void HomeAgentRole::write_tunnel_header(std::span<std::byte> out, const core::TunnelTarget& target,
                                        std::size_t inner_length) {
  wire::write_ipv6_header(out.first<wire::kIpv6HeaderSize>(),
                          {.payload_length = static_cast<std::uint16_t>(inner_length),
                           .next_header = wire::ip_proto::kIpv6,
                           .hop_limit = wire::TunnelSpec{}.hop_limit,
                           .source = target.local_address,
                           .destination = target.care_of_address});
}

void HomeAgentRole::flush_batch() {
  if (batch_.empty()) return;
  const std::size_t sent = services_.sender.send_batch(batch_, 0);
  counters_.packets_encapsulated += sent;
  counters_.send_failed += batch_.size() - sent;
  batch_.clear();
  segments_used_ = 0;
}

// ---------------------------------------------------------------------------------------------
// mipv6ctl

nlohmann::json HomeAgentRole::show(std::string_view table, core::TimePoint now) const {
  if (table == "bc") return show_bindings(now);
  if (table == "hal") return show_home_agents(now);
  return nullptr;
}

nlohmann::json HomeAgentRole::show_bindings(core::TimePoint now) const {
  auto bindings = nlohmann::json::array();
  if (cache_) {
    cache_->for_each([&](const core::BindingCacheEntry& entry) {
      if (!entry.home_registration || entry.state != core::BindingState::kValid) return;
      // §11.7.1: every home registration is acknowledged (A) — §10.3.1 answers it whatever A.
      std::string flags = "HA";
      if (entry.link_local_compatible) flags += 'L';
      if (entry.key_management) flags += 'K';
      bindings.push_back({{"home_address", entry.home_address.to_string()},
                          {"care_of_address", entry.care_of_address.to_string()},
                          {"lifetime_s", remaining_seconds(entry.expires, now)},
                          {"sequence", entry.sequence_number},
                          {"flags", flags},
                          {"home_registration", true},
                          {"role", "home_agent"}});
    });
  }
  return {{"bindings", std::move(bindings)}};
}

// §10.1 / §10.5.1: this home agent first (it never expires: lifetime_s null), then those heard.
nlohmann::json HomeAgentRole::show_home_agents(core::TimePoint now) const {
  auto agents = nlohmann::json::array();
  nlohmann::json link_local =
      link_local_ ? nlohmann::json(link_local_->to_string()) : nlohmann::json(nullptr);
  for (const auto& address : addresses_) {
    agents.push_back({{"address", address.to_string()},
                      {"link_local", link_local},
                      {"preference", config_.preference},
                      {"lifetime_s", nullptr}});
  }
  if (!engine_) return {{"home_agents", std::move(agents)}};
  for (const auto& entry : engine_->home_agent_list().entries()) {
    for (const auto& global : entry.global_addresses) {
      agents.push_back({{"address", global.address.to_string()},
                        {"link_local", entry.link_local_address.to_string()},
                        {"preference", entry.preference},
                        {"lifetime_s", remaining_seconds(entry.expires, now)}});
    }
  }
  return {{"home_agents", std::move(agents)}};
}

nlohmann::json HomeAgentRole::stats() const {
  auto out = nlohmann::json::object();
  if (engine_) {
    for (const auto& [name, value] : engine_->counters().list())
      out[std::string(name)] = value;
  }
  for (const auto& [name, value] : counters_.list())
    out[std::string(name)] = value;
  return out;
}

std::string HomeAgentRole::flush(core::TimePoint now) {
  std::size_t flushed = 0;
  if (engine_) {
    flushed = engine_->flush(now);
    drain(now);
  }
  return "flushed " + std::to_string(flushed) + " home registrations";
}

// Nothing of [home_agent] is applied at run time yet: every changed key needs a restart.
std::vector<std::string> HomeAgentRole::reload(const DaemonConfig& config,
                                               core::TimePoint /*now*/) {
  if (!config.home_agent) return {"home_agent"};
  const HomeAgentSection& next = *config.home_agent;
  std::vector<std::string> changed;
  if (next.interface != config_.interface) changed.emplace_back("home_agent.interface");
  if (next.prefixes != config_.prefixes) changed.emplace_back("home_agent.prefixes");
  if (next.max_bindings != config_.max_bindings) changed.emplace_back("home_agent.max_bindings");
  if (next.max_lifetime != config_.max_lifetime) changed.emplace_back("home_agent.max_lifetime");
  if (next.preference != config_.preference) changed.emplace_back("home_agent.preference");
  if (next.bu_rate_per_source != config_.bu_rate_per_source)
    changed.emplace_back("home_agent.bu_rate_per_source");
  if (next.bu_rate_global != config_.bu_rate_global)
    changed.emplace_back("home_agent.bu_rate_global");
  if (next.direct_tunnel_output != config_.direct_tunnel_output)
    changed.emplace_back("home_agent.direct_tunnel_output");
  return changed;
}

}  // namespace mipv6::daemon
