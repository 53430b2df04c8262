#include "sim/neighbor_discovery.h"

#include <utility>

#include "sim/node.h"
#include "wire/chain.h"
#include "wire/packet.h"

namespace mipv6::sim {
namespace {

constexpr std::uint8_t kNdHopLimit = 255;  // RFC 4861 §7.1.1/§7.1.2, §6.1.1/§6.1.2

bool is_nd_type(std::uint8_t type) {
  return type >= wire::RouterSolicitation::kType && type <= wire::Redirect::kType;
}

template <class Option>
std::optional<MacAddress> find_lla(const wire::NdOptions& options) {
  for (const wire::NdOption& o : options) {
    if (const auto* lla = std::get_if<Option>(&o.body))
      return mac_from_option(lla->link_layer_address);
  }
  return std::nullopt;
}

}  // namespace

wire::Ipv6Address solicited_node_multicast(const wire::Ipv6Address& address) {
  wire::Ipv6Address group{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0}};
  for (std::size_t i = 13; i < 16; ++i)
    group.bytes[i] = address.bytes[i];
  return group;
}

wire::Bytes mac_bytes(const MacAddress& mac) {
  wire::Bytes out;
  for (std::uint8_t b : mac.bytes)
    out.push_back(std::byte{b});
  return out;
}

std::optional<MacAddress> mac_from_option(const wire::Bytes& data) {
  // RFC 2464 §8: six octets of MAC (the option's Length 1 leaves exactly six).
  if (data.size() < 6) return std::nullopt;
  MacAddress mac;
  for (std::size_t i = 0; i < 6; ++i)
    mac.bytes[i] = std::to_integer<std::uint8_t>(data[i]);
  return mac;
}

std::optional<NdInput> parse_nd(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  if (!layout || layout->upper_protocol != wire::ip_proto::kIcmpv6 || layout->upper_length == 0) {
    return std::nullopt;
  }
  auto msg = packet.subspan(layout->upper_offset, layout->upper_length);
  if (!is_nd_type(std::to_integer<std::uint8_t>(msg[0]))) return std::nullopt;
  // RFC 4861 §6.1, §7.1: Hop Limit 255 (not forwarded by a router), valid checksum, code 0.
  if (layout->ipv6.hop_limit != kNdHopLimit) return std::nullopt;
  if (wire::icmpv6_checksum(layout->ipv6.source, layout->ipv6.destination, msg) != 0) {
    return std::nullopt;
  }
  auto message = wire::decode_icmpv6(msg);
  if (!message || message->code != 0) return std::nullopt;
  return NdInput{layout->ipv6, std::move(*message)};
}

wire::Bytes build_nd_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                            wire::Icmpv6Body body) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.header.hop_limit = kNdHopLimit;
  spec.upper_protocol = wire::ip_proto::kIcmpv6;
  wire::Icmpv6Message message;
  message.body = std::move(body);
  wire::encode_icmpv6(message, spec.upper);
  return wire::build_packet(spec);
}

NeighborDiscovery::NeighborDiscovery(Interface& iface, NdConfig config)
    : iface_(iface), config_(config) {
  owns_target_ = [this](const wire::Ipv6Address& a) { return iface_.has_address(a); };
}

NeighborDiscovery::~NeighborDiscovery() {
  for (auto& [address, e] : cache_)
    iface_.node().scheduler().cancel(e.timer);
}

std::optional<wire::Ipv6Address> NeighborDiscovery::source_address() const {
  std::optional<wire::Ipv6Address> any;
  for (const InterfaceAddress& a : iface_.addresses()) {
    if (a.address.is_link_local()) return a.address;
    if (!any) any = a.address;
  }
  return any;
}

NeighborDiscovery::Entry& NeighborDiscovery::entry(const wire::Ipv6Address& neighbour) {
  return cache_[neighbour];
}

void NeighborDiscovery::arm(const wire::Ipv6Address& neighbour, Entry& e, Duration d) {
  Scheduler& s = iface_.node().scheduler();
  s.cancel(e.timer);
  e.timer = s.schedule_in(d, [this, neighbour] { on_timer(neighbour); });
}

void NeighborDiscovery::set_state(const wire::Ipv6Address& neighbour, Entry& e, NeighborState s) {
  e.state = s;
  switch (s) {
    case NeighborState::kReachable:  // §7.3.3: REACHABLE lasts ReachableTime
      e.probes_sent = 0;
      arm(neighbour, e, config_.reachable_time);
      break;
    case NeighborState::kStale:  // §7.3.3: no timer; the next packet sent moves it to DELAY
      iface_.node().scheduler().cancel(e.timer);
      e.timer = {};
      break;
    case NeighborState::kDelay:  // §7.3.3: DELAY_FIRST_PROBE_TIME before probing
      arm(neighbour, e, config_.delay_first_probe);
      break;
    case NeighborState::kIncomplete:
    case NeighborState::kProbe:  // §7.2.2, §7.3.3: one NS now, then every RetransTimer
      e.probes_sent = 0;
      solicit(neighbour, e);
      arm(neighbour, e, config_.retrans_timer);
      break;
  }
}

void NeighborDiscovery::solicit(const wire::Ipv6Address& neighbour, const Entry& e) {
  auto source = source_address();
  if (!source) return;
  wire::NeighborSolicitation ns;
  ns.target_address = neighbour;
  ns.options.emplace_back(wire::SourceLinkLayerAddressOption{mac_bytes(iface_.mac())});
  // §7.2.2: resolution goes to the solicited-node multicast address; §7.3.3: NUD probes are
  // unicast to the cached link-layer address.
  if (e.state == NeighborState::kIncomplete || !e.mac) {
    auto group = solicited_node_multicast(neighbour);
    iface_.send_frame(MacAddress::for_ipv6_multicast(group), build_nd_packet(*source, group, ns));
  } else {
    iface_.send_frame(*e.mac, build_nd_packet(*source, neighbour, ns));
  }
  ++counters_.ns_sent;
}

void NeighborDiscovery::on_timer(const wire::Ipv6Address& neighbour) {
  auto it = cache_.find(neighbour);
  if (it == cache_.end()) return;
  Entry& e = it->second;
  e.timer = {};
  switch (e.state) {
    case NeighborState::kReachable:  // §7.3.3: ReachableTime passed without confirmation
      set_state(neighbour, e, NeighborState::kStale);
      return;
    case NeighborState::kDelay:  // §7.3.3: no confirmation within DELAY_FIRST_PROBE_TIME
      set_state(neighbour, e, NeighborState::kProbe);
      return;
    case NeighborState::kIncomplete:
    case NeighborState::kProbe: {
      // §7.2.2 / §7.3.3: retransmit every RetransTimer until MAX_*_SOLICIT have gone unanswered.
      const unsigned limit = e.state == NeighborState::kIncomplete ? config_.max_multicast_solicit
                                                                   : config_.max_unicast_solicit;
      if (++e.probes_sent >= limit) {
        fail(neighbour);
        return;
      }
      solicit(neighbour, e);
      arm(neighbour, e, config_.retrans_timer);
      return;
    }
    case NeighborState::kStale:
      return;
  }
}

void NeighborDiscovery::fail(const wire::Ipv6Address& neighbour) {
  // §7.2.2 / §7.3.3: the entry is deleted and queued packets dropped (an ICMP Destination
  // Unreachable to their senders is not modelled).
  auto node = cache_.extract(neighbour);
  counters_.queue_dropped += node.mapped().queue.size();
  if (drop_callback_) {
    for (const wire::Bytes& packet : node.mapped().queue)
      drop_callback_(packet);
  }
  if (nud_callback_) nud_callback_(neighbour, NudResult::kUnreachable);
}

void NeighborDiscovery::flush_queue(Entry& e) {
  auto queue = std::move(e.queue);
  e.queue.clear();
  for (auto& packet : queue)
    iface_.send_frame(*e.mac, std::move(packet));
}

bool NeighborDiscovery::send(const wire::Ipv6Address& next_hop, wire::Bytes packet) {
  auto [it, created] = cache_.try_emplace(next_hop);
  Entry& e = it->second;
  if (created) {
    // §7.2.2: create an INCOMPLETE entry, queue the packet, start resolution.
    e.queue.push_back(std::move(packet));
    set_state(next_hop, e, NeighborState::kIncomplete);
    return true;
  }
  if (e.state == NeighborState::kIncomplete) {
    if (e.queue.size() >= config_.queue_limit) {
      // §7.2.2: when the queue overflows, the oldest packets go first.
      e.queue.erase(e.queue.begin());
      ++counters_.queue_dropped;
    }
    e.queue.push_back(std::move(packet));
    return true;
  }
  // §7.3.3: sending to a STALE neighbour starts the DELAY timer.
  if (e.state == NeighborState::kStale) set_state(next_hop, e, NeighborState::kDelay);
  return iface_.send_frame(*e.mac, std::move(packet));
}

void NeighborDiscovery::learn(const wire::Ipv6Address& neighbour, const MacAddress& mac) {
  // §7.2.3 / §6.3.4: a new entry, or a different link-layer address, becomes STALE; the same
  // address leaves the state alone.
  auto [it, created] = cache_.try_emplace(neighbour);
  Entry& e = it->second;
  if (!created && e.mac == mac && e.state != NeighborState::kIncomplete) return;
  const bool was_incomplete = !created && e.state == NeighborState::kIncomplete;
  e.mac = mac;
  set_state(neighbour, e, NeighborState::kStale);
  if (was_incomplete) flush_queue(e);
}

bool NeighborDiscovery::on_packet(const NdInput& input, const Frame& frame) {
  (void)frame;
  if (const auto* ns = std::get_if<wire::NeighborSolicitation>(&input.message.body)) {
    ++counters_.ns_received;
    on_solicitation(input, *ns);
    return true;
  }
  if (const auto* na = std::get_if<wire::NeighborAdvertisement>(&input.message.body)) {
    ++counters_.na_received;
    // §7.1.2: the target is not multicast; a multicast NA is never solicited.
    if (na->target_address.is_multicast() || (input.ip.destination.is_multicast() && na->s)) {
      ++counters_.invalid_received;
      return true;
    }
    on_advertisement(*na);
    return true;
  }
  return false;
}

void NeighborDiscovery::on_solicitation(const NdInput& input,
                                        const wire::NeighborSolicitation& ns) {
  const bool dad = input.ip.source.is_unspecified();
  auto sllao = find_lla<wire::SourceLinkLayerAddressOption>(ns.options);
  // §7.1.1: the target is not multicast; a DAD NS goes to a solicited-node group, without SLLAO.
  if (ns.target_address.is_multicast() ||
      (dad && (sllao || !input.ip.destination.is_multicast()))) {
    ++counters_.invalid_received;
    return;
  }
  const bool own = owns_target_(ns.target_address);
  const bool proxied = !own && proxies(ns.target_address);
  if (!own && !proxied) return;
  if (dad) {
    // §7.2.4: a DAD NS is answered to all-nodes with S=0 (RFC 4862 §5.4.3: we defend).
    advertise(ns.target_address, kAllNodes, false, own);
    return;
  }
  if (sllao) learn(input.ip.source, *sllao);
  // §7.2.4: a solicited NA to the source, S=1; §7.2.8 / RFC 6275 §10.4.1: a proxy answers
  // with O=0 so that the real owner's own answer wins when it is present.
  advertise(ns.target_address, input.ip.source, true, own);
}

void NeighborDiscovery::advertise(const wire::Ipv6Address& target,
                                  const wire::Ipv6Address& destination, bool solicited,
                                  bool override_flag) {
  auto source = iface_.has_address(target) ? std::optional(target) : source_address();
  if (!source) return;
  wire::NeighborAdvertisement na;
  na.r = config_.is_router;
  na.s = solicited;
  na.o = override_flag;
  na.target_address = target;
  na.options.emplace_back(wire::TargetLinkLayerAddressOption{mac_bytes(iface_.mac())});
  auto packet = build_nd_packet(*source, destination, na);
  if (destination.is_multicast()) {
    iface_.send_frame(MacAddress::for_ipv6_multicast(destination), std::move(packet));
  } else if (auto mac = link_address(destination)) {
    iface_.send_frame(*mac, std::move(packet));
  } else {
    send(destination, std::move(packet));  // §7.2.4: resolve first when no SLLAO came
  }
  ++counters_.na_sent;
}

void NeighborDiscovery::on_advertisement(const wire::NeighborAdvertisement& na) {
  auto it = cache_.find(na.target_address);
  if (it == cache_.end()) return;  // §7.2.5: no entry, silently discard
  Entry& e = it->second;
  auto tlla = find_lla<wire::TargetLinkLayerAddressOption>(na.options);
  if (e.state == NeighborState::kIncomplete) {
    if (!tlla) return;  // §7.2.5: no TLLA, nothing to resolve with
    e.mac = tlla;
    const bool report = e.report;
    e.report = false;
    set_state(na.target_address, e, na.s ? NeighborState::kReachable : NeighborState::kStale);
    flush_queue(e);
    if (report && nud_callback_) nud_callback_(na.target_address, NudResult::kReachable);
    return;
  }
  const bool different = tlla && tlla != e.mac;
  // §7.2.5: O=0 with a different address does not update; a REACHABLE entry goes STALE.
  if (!na.o && different) {
    if (e.state == NeighborState::kReachable)
      set_state(na.target_address, e, NeighborState::kStale);
    return;
  }
  if (different) e.mac = tlla;
  if (na.s) {
    const bool probing = e.state == NeighborState::kProbe || e.state == NeighborState::kDelay;
    const bool report = e.report || probing;
    e.report = false;
    set_state(na.target_address, e, NeighborState::kReachable);
    if (report && nud_callback_) nud_callback_(na.target_address, NudResult::kReachable);
  } else if (different) {
    set_state(na.target_address, e, NeighborState::kStale);
  }
}

// RFC 6275 §10.4.1: the home agent "MUST join the solicited-node multicast address" of each
// home address it defends, to hear the solicitations it answers.
// A proxied address is answered by this node from now on: what it knew of the address's owner
// (the mobile node's link-layer address before it left, RFC 6275 §10.4.1) must not be used —
// when the owner returns, it is learned afresh from its Neighbor Advertisement (§11.5.5).
void NeighborDiscovery::add_proxy(const wire::Ipv6Address& address) {
  if (!proxies_.insert(address).second) return;
  iface_.join_group(solicited_node_multicast(address));
  if (auto it = cache_.find(address); it != cache_.end()) {
    iface_.node().scheduler().cancel(it->second.timer);
    counters_.queue_dropped += it->second.queue.size();
    cache_.erase(it);
  }
}

void NeighborDiscovery::remove_proxy(const wire::Ipv6Address& address) {
  if (proxies_.erase(address) != 0) iface_.leave_group(solicited_node_multicast(address));
}

void NeighborDiscovery::confirm_reachable(const wire::Ipv6Address& neighbour) {
  auto it = cache_.find(neighbour);
  if (it == cache_.end() || !it->second.mac) return;
  set_state(neighbour, it->second, NeighborState::kReachable);
}

void NeighborDiscovery::probe(const wire::Ipv6Address& neighbour) {
  Entry& e = entry(neighbour);
  e.report = true;
  set_state(neighbour, e, e.mac ? NeighborState::kProbe : NeighborState::kIncomplete);
}

void NeighborDiscovery::flush() {
  Scheduler& s = iface_.node().scheduler();
  for (auto& [address, e] : cache_) {
    s.cancel(e.timer);
    counters_.queue_dropped += e.queue.size();
  }
  cache_.clear();
}

std::optional<NeighborState> NeighborDiscovery::state(const wire::Ipv6Address& neighbour) const {
  auto it = cache_.find(neighbour);
  if (it == cache_.end()) return std::nullopt;
  return it->second.state;
}

std::optional<MacAddress> NeighborDiscovery::link_address(
    const wire::Ipv6Address& neighbour) const {
  auto it = cache_.find(neighbour);
  if (it == cache_.end() || it->second.state == NeighborState::kIncomplete) return std::nullopt;
  return it->second.mac;
}

}  // namespace mipv6::sim
