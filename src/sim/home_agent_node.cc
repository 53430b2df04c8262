#include "sim/home_agent_node.h"

#include <utility>

#include "sim/link.h"
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
  engine_ = std::make_unique<core::HomeAgent>(std::move(config), cache_, rng_);
  timer_ = std::make_unique<EngineTimer>(scheduler(), *engine_, [this] { drain(); });
}

void HomeAgentNode::on_frame(Interface& in, const Frame& frame) {
  if (engine_ && intercept(frame, in.ifindex())) return;
  Router::on_frame(in, frame);
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
    } else {
      iface->nd()->remove_proxy(proxy->address);
    }
  } else if (const auto* log = std::get_if<core::Log>(&action)) {
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
