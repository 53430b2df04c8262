#include "sim/home_agent_node.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "sim/link.h"
#include "sim/neighbor_discovery.h"
#include "sim/slaac.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::sim {

HomeAgentNode::HomeAgentNode(Scheduler& scheduler, std::string name, std::uint64_t seed)
    : Router(scheduler, std::move(name)), rng_(seed) {}

HomeAgentNode::~HomeAgentNode() {
  for (EventId id : dad_events_)
    scheduler().cancel(id);
}

void HomeAgentNode::set_max_bindings(std::size_t n) {
  max_bindings_ = n;
}

void HomeAgentNode::start(core::HomeAgentConfig config) {
  if (Interface* home = interface(config.home_ifindex)) {
    if (config.link_layer_address == core::LinkLayerAddress{})
      config.link_layer_address = home->mac().bytes;
    if (!config.link_local_address) {
      for (const InterfaceAddress& a : home->addresses()) {
        if (a.address.is_link_local()) config.link_local_address = a.address;
      }
    }
  }
  config_ = std::move(config);
  create_engine();
}

void HomeAgentNode::create_engine() {
  timer_.reset();
  engine_.reset();
  cache_ = std::make_unique<core::BindingCache>(max_bindings_);
  if (!log_enabled_) config_.log_bindings = false;
  engine_ = std::make_unique<core::HomeAgent>(config_, *cache_, rng_);
  timer_ = std::make_unique<EngineTimer>(scheduler(), *engine_, [this] { drain(); });
}

void HomeAgentNode::crash() {
  if (crashed_) return;
  crashed_ = true;
  ++counters_.crashes;
  for (EventId id : dad_events_)
    scheduler().cancel(id);
  dad_events_.clear();
  clear_proxies();  // and the neighbour caches
  set_advertising(false);
  timer_.reset();
  engine_.reset();
  cache_.reset();
}

// §10.3.1: the Binding Cache is volatile here (nonvolatile_cache is off), so the fresh engine
// starts empty and its BAs carry a Binding Refresh Advice.
void HomeAgentNode::restart() {
  if (!crashed_) return;
  crashed_ = false;
  ++counters_.restarts;
  create_engine();
  set_advertising(true);
}

void HomeAgentNode::clear_proxies() {
  for (const auto& [address, ifindex] : proxies_) {
    Interface* iface = interface(ifindex);
    if (iface != nullptr && iface->nd() != nullptr) iface->nd()->remove_proxy(address);
  }
  proxies_.clear();
  // Neighbour caches are memory too: a restarted router resolves its neighbours again.
  for (const auto& iface : interfaces()) {
    if (iface->nd() != nullptr) iface->nd()->flush();
  }
}

// RFC 4861 §6.2.4: advertising starts afresh (initial RAs) when the router comes back.
void HomeAgentNode::set_advertising(bool on) {
  for (const auto& iface : interfaces()) {
    RaSender* ra = ra_sender(*iface);
    if (ra == nullptr) continue;
    if (!on) {
      ra->stop();
    } else if (iface->attached()) {
      ra->start();
    }
  }
}

namespace {

// The address with `prefix`'s first 64 bits and `address`'s interface identifier.
wire::Ipv6Address with_prefix(const wire::Ipv6Address& prefix, const wire::Ipv6Address& address) {
  wire::Ipv6Address out = address;
  for (std::size_t i = 0; i < 8; ++i)
    out.bytes[i] = prefix.bytes[i];
  return out;
}

std::optional<Duration> seconds_or_infinite(std::uint32_t seconds) {
  if (seconds == 0xffffffffu) return std::nullopt;  // RFC 4861 §4.6.2: infinity
  return std::chrono::seconds(seconds);
}

std::optional<TimePoint> until(std::optional<Duration> lifetime, TimePoint now) {
  if (!lifetime) return std::nullopt;
  return now + *lifetime;
}

}  // namespace

void HomeAgentNode::renumber_home(const wire::Ipv6Address& old_prefix,
                                  const wire::Ipv6Address& new_prefix) {
  Interface* home = interface(config_.home_ifindex);
  if (home == nullptr || config_.addresses.empty()) return;
  const TimePoint now = scheduler().now();
  const wire::Ipv6Address address = with_prefix(new_prefix, config_.addresses.front());
  if (!home->has_address(address)) home->add_address(address, 64);
  add_route(Route{new_prefix, 64, home, std::nullopt});
  if (std::find(config_.addresses.begin(), config_.addresses.end(), address) ==
      config_.addresses.end())
    config_.addresses.push_back(address);

  // RFC 4862 §5.5.3 / RFC 4192 §2: the old prefix stays valid but is no longer preferred.
  RaPrefix fresh{new_prefix, 64};
  RaPrefix old{old_prefix, 64};
  if (RaSender* ra = ra_sender(*home)) {
    std::vector<RaPrefix> prefixes = ra->config().prefixes;
    for (RaPrefix& p : prefixes) {
      if (p.prefix != old_prefix) continue;
      fresh = p;
      fresh.prefix = new_prefix;
      p.preferred_lifetime = 0;
      old = p;
    }
    prefixes.push_back(fresh);
    ra->set_prefixes(std::move(prefixes));
    // RFC 4861 §6.2.4: changed information MAY be advertised at once, as initial RAs.
    if (!crashed_ && home->attached()) ra->start();
  }
  old.preferred_lifetime = 0;

  const core::PrefixUpdate updates[] = {
      {home->ifindex(), new_prefix, 64, seconds_or_infinite(fresh.valid_lifetime),
       seconds_or_infinite(fresh.preferred_lifetime)},
      {home->ifindex(), old_prefix, 64, seconds_or_infinite(old.valid_lifetime), Duration{0}},
  };
  for (const core::PrefixUpdate& update : updates)
    remember_prefix(update, now);
  if (crashed_) return;
  // §10.6.2: the engine sends Mobile Prefix Advertisements to the registered mobile nodes.
  // The new address is the agent's own from now on (BUs and DHAAD to it, §10.6.2).
  engine_->on_event(
      core::AddressAdded{home->ifindex(), address, 64, std::nullopt, std::nullopt, false}, now);
  for (const core::PrefixUpdate& update : updates)
    engine_->on_event(update, now);
  drain();
}

// The configuration a restart() uses follows the renumbering too.
void HomeAgentNode::remember_prefix(const core::PrefixUpdate& update, TimePoint now) {
  auto it = std::find_if(config_.prefixes.begin(), config_.prefixes.end(),
                         [&](const core::HomePrefix& p) { return p.prefix == update.prefix; });
  if (it == config_.prefixes.end()) {
    config_.prefixes.push_back(
        core::HomePrefix{update.prefix, update.prefix_length, std::nullopt, std::nullopt});
    it = config_.prefixes.end() - 1;
  }
  it->valid_until = until(update.valid_lifetime, now);
  it->preferred_until = until(update.preferred_lifetime, now);
}

void HomeAgentNode::on_frame(Interface& in, const Frame& frame) {
  if (crashed_) {
    ++counters_.dropped_crashed;
    return;
  }
  if (engine_ && in.ifindex() == config_.home_ifindex) learn_home_agent(in, frame);
  if (engine_ && intercept(frame, in.ifindex())) return;
  Router::on_frame(in, frame);
}

// The Router Advertisements of the other home agents on the home link fill the engine's Home
// Agents List (RFC 6275 §10.5.1), which DHAAD replies are built from; the router part ignores
// them (RFC 4861 §6.2.7 only checks them for consistency).
void HomeAgentNode::learn_home_agent(Interface& in, const Frame& frame) {
  auto nd = parse_nd(frame.packet);
  if (!nd || !std::holds_alternative<wire::RouterAdvertisement>(nd->message.body)) return;
  auto rx = core::make_rx_packet(frame.packet, in.ifindex());
  if (!rx) return;
  rx->link_source = frame.source.bytes;
  engine_->on_packet(*rx, scheduler().now());
  drain();
}

void HomeAgentNode::on_link_up(Interface& in) {
  if (crashed_) return;  // a dead router does not advertise
  Router::on_link_up(in);
}

// §10.4.1: packets for a registered home address are tunnelled instead of forwarded.
bool HomeAgentNode::intercept(const Frame& frame, std::uint32_t ifindex) {
  auto header = wire::decode_ipv6_header(frame.packet);
  if (!header || header->hop_limit == 255 || header->destination.is_link_local() ||
      owns_address(header->destination) || header->destination.is_multicast())
    return false;
  auto rx = core::make_rx_packet(frame.packet, ifindex);
  if (!rx) return false;
  auto decision = engine_->decide_intercepted(*rx, scheduler().now());
  if (decision.icmp_error) send_routed(std::move(*decision.icmp_error));
  switch (decision.verdict) {
    case core::InterceptVerdict::kNotOurs:
      return false;
    case core::InterceptVerdict::kTunnel: {
      // The home agent forwards the packet into the tunnel as a router: its Hop Limit drops by
      // one (RFC 8200 §3); one that would reach 0 is left to the router's own rules.
      if (header->hop_limit <= 1) return false;
      wire::Bytes inner = frame.packet;
      inner[7] = std::byte{static_cast<std::uint8_t>(header->hop_limit - 1)};
      for (const core::TunnelTarget& target : decision.targets) {
        ++counters_.tunnelled;
        send_routed(wire::encapsulate(inner, {target.local_address, target.care_of_address}));
      }
      drain();
      return true;
    }
    default:
      drain();
      return true;  // dropped by the engine's verdict (§10.4.1)
  }
}

void HomeAgentNode::on_local_packet(Interface& in, const Frame& frame) {
  if (!engine_) return;
  auto rx = core::make_rx_packet(frame.packet, in.ifindex());
  if (!rx) return;
  if (rx->layout.upper_protocol == wire::ip_proto::kIpv6) {
    reverse_tunnel(in, frame);
    return;
  }
  rx->link_source = frame.source.bytes;
  ++counters_.engine_packets;
  engine_->on_packet(*rx, scheduler().now());
  drain();
}

// §10.4.5: a reverse-tunnelled packet is forwarded only from the registered care-of address.
void HomeAgentNode::reverse_tunnel(Interface& in, const Frame& frame) {
  auto inner = wire::decapsulate(frame.packet);
  if (!inner) return;
  auto outer = wire::decode_ipv6_header(frame.packet);
  auto inner_header = wire::decode_ipv6_header(*inner);
  if (!outer || !inner_header) return;
  if (!engine_->accept_reverse_tunnelled(outer->source, inner_header->source,
                                         core::Protection::kNone)) {
    ++counters_.reverse_rejected;
    drain();
    return;
  }
  ++counters_.reverse_tunnelled;
  wire::Bytes bytes(inner->begin(), inner->end());
  if (owns_address(inner_header->destination)) {
    auto rx = core::make_rx_packet(bytes, in.ifindex());
    if (!rx) return;
    rx->tunnel = core::TunnelOuter{outer->source, outer->destination};
    engine_->on_packet(*rx, scheduler().now());
    drain();
    return;
  }
  // The inner packet continues as if it had arrived here (interception included).
  Frame inner_frame{frame.destination, frame.source, std::move(bytes)};
  on_frame(in, inner_frame);
}

void HomeAgentNode::drain() {
  for (auto actions = engine_->take_actions(); !actions.empty();
       actions = engine_->take_actions()) {
    for (core::Action& action : actions)
      carry_out(action);
  }
  timer_->rearm();
}

void HomeAgentNode::carry_out(core::Action& action) {
  if (auto* transmit = std::get_if<core::Transmit>(&action)) {
    this->transmit(*transmit);
  } else if (const auto* dad = std::get_if<core::StartDad>(&action)) {
    start_dad(*dad);
  } else if (const auto* proxy = std::get_if<core::ProxyNeighbor>(&action)) {
    Interface* iface = interface(proxy->ifindex);
    if (iface == nullptr || iface->nd() == nullptr) return;
    if (proxy->change == core::Change::kAdd) {
      iface->nd()->add_proxy(proxy->address);
      proxies_[proxy->address] = proxy->ifindex;
    } else {
      iface->nd()->remove_proxy(proxy->address);
      proxies_.erase(proxy->address);
    }
  } else if (const auto* log = std::get_if<core::Log>(&action); log != nullptr && log_enabled_) {
    log_.push_back(
        std::to_string(
            std::chrono::duration<double>(scheduler().now().time_since_epoch()).count()) +
        " " + log->message);
  }
  // TunnelRoute: decide_intercepted already consults the binding cache.
}

void HomeAgentNode::transmit(core::Transmit& transmit) {
  auto header = wire::decode_ipv6_header(transmit.packet);
  if (!header) return;
  Interface* iface = interface(transmit.ifindex);
  bool sent = false;
  if (iface != nullptr && transmit.link_destination) {
    sent = iface->send_frame(MacAddress{*transmit.link_destination}, std::move(transmit.packet));
  } else if (iface != nullptr && header->destination.is_multicast()) {
    sent = iface->send_frame(MacAddress::for_ipv6_multicast(header->destination),
                             std::move(transmit.packet));
  } else if (iface != nullptr && iface->on_link(header->destination)) {
    sent = iface->send_ipv6(header->destination, std::move(transmit.packet));
  } else {
    sent = send_routed(std::move(transmit.packet));
  }
  if (!sent) ++counters_.transmits_dropped;
}

bool HomeAgentNode::send_routed(wire::Bytes packet) {
  auto header = wire::decode_ipv6_header(packet);
  if (!header) return false;
  const Route* route = lookup(header->destination);
  if (route == nullptr || route->out == nullptr) return false;
  return route->out->send_ipv6(route->gateway.value_or(header->destination), std::move(packet));
}

// RFC 4862 §5.4 as seen from the link: after RetransTimer, a duplicate when another interface
// on the home link holds the address.
void HomeAgentNode::start_dad(const core::StartDad& dad) {
  // Forgetting finished DADs at each power-of-two size keeps this amortised O(1) when
  // thousands of registrations are in DAD at once (a population of mobile nodes).
  if (std::has_single_bit(dad_events_.size()))
    std::erase_if(dad_events_, [this](EventId id) { return !scheduler().pending(id); });
  dad_events_.push_back(scheduler().schedule_in(dad_time_, [this, dad] {
    Interface* iface = interface(dad.ifindex);
    bool duplicate = false;
    if (iface != nullptr && iface->link() != nullptr) {
      auto owner = iface->link()->resolve(dad.address);
      duplicate = owner.has_value() && *owner != iface->mac();
    }
    engine_->on_event(core::DadResult{dad.ifindex, dad.address, duplicate}, scheduler().now());
    drain();
  }));
}

}  // namespace mipv6::sim
