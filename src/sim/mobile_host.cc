#include "sim/mobile_host.h"

#include <utility>

#include "core/signalling.h"
#include "sim/slaac.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace mipv6::sim {

namespace {

constexpr std::uint8_t kIcmpNeighborSolicitation = 135;  // RFC 4861 §4.3

std::optional<wire::Icmpv6Message> icmp_of(const core::RxPacket& rx) {
  if (rx.layout.upper_protocol != wire::ip_proto::kIcmpv6) return std::nullopt;
  auto message = wire::decode_icmpv6(rx.upper());
  if (!message) return std::nullopt;
  return *message;
}

std::string bu_label(const wire::BindingUpdate& bu) {
  std::string out = bu.h() ? "BU(H" : "BU(";
  if (bu.lifetime == 0) out += bu.h() ? ",dereg" : "del";
  return out + ")";
}

}  // namespace

std::string mobility_label(wire::ByteSpan packet) {
  auto rx = core::make_rx_packet(packet, 0);
  if (!rx) return {};
  if (rx->layout.upper_protocol == wire::ip_proto::kIpv6) {
    auto inner = wire::decapsulate(packet);
    if (!inner) return {};
    std::string label = mobility_label(*inner);
    return label.empty() ? label : label + " (tunnel)";
  }
  if (rx->layout.upper_protocol != wire::ip_proto::kMobility) return {};
  auto mh = wire::decode_mobility_header(rx->upper());
  if (!mh) return "MH?";
  const auto& m = mh->message;
  if (const auto* bu = std::get_if<wire::BindingUpdate>(&m)) return bu_label(*bu);
  if (const auto* ba = std::get_if<wire::BindingAcknowledgement>(&m))
    return "BA " + std::to_string(ba->status);
  if (std::holds_alternative<wire::HomeTestInit>(m)) return "HoTI";
  if (std::holds_alternative<wire::CareOfTestInit>(m)) return "CoTI";
  if (std::holds_alternative<wire::HomeTest>(m)) return "HoT";
  if (std::holds_alternative<wire::CareOfTest>(m)) return "CoT";
  if (std::holds_alternative<wire::BindingRefreshRequest>(m)) return "BRR";
  if (std::holds_alternative<wire::BindingError>(m)) return "BE";
  return "MH " + std::to_string(mh->mh_type());
}

MobileHost::MobileHost(Scheduler& scheduler, std::string name, HostConfig config,
                       std::uint64_t seed)
    : Host(scheduler, std::move(name), config), rng_(seed) {
  set_address_callback([this](Interface& in, const AddressEvent& e) { on_address(in, e); });
  set_packet_callback([this](Interface& in, const Frame& f) { on_packet(in, f); });
}

MobileHost::~MobileHost() = default;

void MobileHost::start(core::MobileNodeConfig config) {
  if (!interfaces().empty()) {
    const Interface& first = *interfaces().front();
    if (config.link_layer_address == core::LinkLayerAddress{})
      config.link_layer_address = first.mac().bytes;
    if (!config.link_local_address)
      config.link_local_address = eui64_address(*wire::Ipv6Address::parse("fe80::"), first.mac());
  }
  engine_ = std::make_unique<core::MobileNode>(std::move(config), rng_);
  timer_ = std::make_unique<EngineTimer>(scheduler(), *engine_, [this] { drain(); });
  for (const auto& iface : interfaces()) {
    // RFC 4429 §3.3: an Optimistic address answers Neighbor Solicitations (Linux does, with
    // O = 0); without that, the access router cannot resolve a fresh care-of address and the
    // Binding Acknowledgement waits for DAD to end. (The plain Host answers only once DAD
    // passed; its NA sets O = 1, which does not matter for a router's INCOMPLETE entry.)
    if (Slaac* slaac = this->slaac(*iface)) {
      iface->nd()->set_owns_target([in = iface.get(), slaac](const wire::Ipv6Address& a) {
        return in->has_address(a) && !slaac->is_tentative(a);
      });
    }
    iface->nd()->set_nud_callback(
        [this, ifindex = iface->ifindex()](const wire::Ipv6Address& neighbour, NudResult result) {
          // §11.5.1: the outcome of a router probe.
          if (!engine_) return;
          engine_->on_event(
              core::NeighborReachability{ifindex, neighbour, result == NudResult::kReachable},
              scheduler().now());
          drain();
        });
  }
}

void MobileHost::note(std::string what) {
  log_.push_back(MobileEvent{scheduler().now(), std::move(what)});
}

void MobileHost::note_packet(const char* direction, wire::ByteSpan packet) {
  std::string label = mobility_label(packet);
  if (!label.empty()) note(std::string(direction) + " " + label);
}

void MobileHost::on_link_up(Interface& in) {
  note("up " + in.name());
  ra_seen_ = false;
  Host::on_link_up(in);
  if (!engine_) return;
  engine_->on_event(core::LinkUp{in.ifindex()}, scheduler().now());
  drain();
}

void MobileHost::on_link_down(Interface& in) {
  note("down " + in.name());
  Host::on_link_down(in);
  if (!engine_) return;
  engine_->on_event(core::LinkDown{in.ifindex()}, scheduler().now());
  drain();
}

// SLAAC's addresses are the engine's candidate care-of (or home) addresses.
void MobileHost::on_address(Interface& in, const AddressEvent& e) {
  if (e.address.is_link_local()) return;
  using Kind = AddressEvent::Kind;
  const TimePoint now = scheduler().now();
  switch (e.kind) {
    case Kind::kAdded:
    case Kind::kReady: {
      const bool tentative = e.state == AddressState::kTentative;
      note(std::string(e.kind == Kind::kAdded ? "addr+ " : "addr ready ") + e.address.to_string());
      if (!engine_) return;
      engine_->on_event(core::AddressAdded{in.ifindex(), e.address, e.prefix_len, std::nullopt,
                                           std::nullopt, tentative},
                        now);
      break;
    }
    case Kind::kRemoved:
    case Kind::kDuplicate:
      note("addr- " + e.address.to_string());
      if (!engine_) return;
      engine_->on_event(core::AddressRemoved{in.ifindex(), e.address}, now);
      break;
    case Kind::kDeprecated:
      return;
  }
  drain();
}

void MobileHost::on_frame(Interface& in, const Frame& frame) {
  // ND messages (RA, NS, NA) go to the engine as well as to the host's ND / SLAAC: movement
  // detection reads the RAs (§11.5.1), and the engine answers for home addresses (§11.5.5).
  auto nd = parse_nd(frame.packet);
  // Only the first RA after each link-up is logged: the movement-detection instant.
  if (nd && std::holds_alternative<wire::RouterAdvertisement>(nd->message.body) && !ra_seen_) {
    ra_seen_ = true;
    note("rx RA " + nd->ip.source.to_string());
  }
  if (engine_ && nd) {
    if (auto rx = core::make_rx_packet(frame.packet, in.ifindex())) {
      rx->link_source = frame.source.bytes;
      feed(*rx);
    }
  }
  Host::on_frame(in, frame);
}

void MobileHost::on_packet(Interface& in, const Frame& frame) {
  if (!engine_) return;
  auto rx = core::make_rx_packet(frame.packet, in.ifindex());
  if (!rx) return;
  note_packet("rx", frame.packet);
  if (rx->layout.upper_protocol == wire::ip_proto::kIpv6) {
    // RFC 2473: the home agent's tunnel (§10.4.1); the engine sees the inner packet.
    auto inner = wire::decapsulate(frame.packet);
    if (!inner) return;
    auto inner_rx = core::make_rx_packet(*inner, in.ifindex());
    if (!inner_rx) return;
    inner_rx->tunnel = core::TunnelOuter{rx->layout.ipv6.source, rx->layout.ipv6.destination};
    feed(*inner_rx);
    deliver(*inner_rx, DataPath::kTunnel);
    return;
  }
  // §11.3.3: a Type 2 Routing header is processed only when the engine accepts it.
  if (rx->layout.type2_address && !engine_->accept_type2(*rx)) return;
  feed(*rx);
  deliver(*rx, rx->layout.type2_address ? DataPath::kRouteOptimized : DataPath::kHome);
}

void MobileHost::feed(const core::RxPacket& packet) {
  engine_->on_packet(packet, scheduler().now());
  drain();
}

void MobileHost::deliver(const core::RxPacket& packet, DataPath path) {
  bool data = packet.layout.upper_protocol == wire::ip_proto::kUdp;
  if (auto icmp = icmp_of(packet)) {
    const auto* echo = std::get_if<wire::EchoRequest>(&icmp->body);
    data = echo != nullptr;
    if (echo != nullptr && echo_reply_) echo_reply(packet, *echo);
  }
  if (!data || !data_cb_) return;
  data_cb_(DeliveredData{scheduler().now(), path,
                         wire::Bytes(packet.bytes.begin(), packet.bytes.end())});
}

void MobileHost::echo_reply(const core::RxPacket& request, const wire::EchoRequest& echo) {
  // §11.3.3 / §10.4.1: the home address is the Type 2 Routing header's, or the destination of
  // the (inner) packet.
  const wire::Ipv6Address home =
      request.layout.type2_address.value_or(request.layout.ipv6.destination);
  const wire::Ipv6Address peer = request.layout.ipv6.source;
  wire::EchoReply reply;
  reply.identifier = echo.identifier;
  reply.sequence_number = echo.sequence_number;
  reply.data = echo.data;
  wire::Icmpv6Message message;
  message.body = reply;
  const auto decision = engine_->send_path(home, peer, scheduler().now());
  switch (decision.path) {
    case core::SendPath::kHome:
      ++sent_.home;
      send(core::build_icmpv6_packet({home, peer, std::nullopt, std::nullopt, 64}, message));
      break;
    case core::SendPath::kReverseTunnel: {
      // §11.3.1: encapsulated from the care-of address to the home agent (RFC 2473).
      auto agent = engine_->home_agent(home);
      if (!agent) break;
      ++sent_.reverse_tunnel;
      auto inner = core::build_icmpv6_packet({home, peer, std::nullopt, std::nullopt, 64}, message);
      send(wire::encapsulate(inner, {decision.care_of_address, *agent}));
      break;
    }
    case core::SendPath::kRouteOptimized:
      // §6.3, §11.3.1: from the care-of address, the home address in a Home Address option.
      ++sent_.route_optimized;
      send(core::build_icmpv6_packet({decision.care_of_address, peer, home, std::nullopt, 64},
                                     message));
      break;
  }
}

void MobileHost::drain() {
  for (auto actions = engine_->take_actions(); !actions.empty();
       actions = engine_->take_actions()) {
    for (core::Action& action : actions)
      carry_out(action);
  }
  engine_->take_route_changes();
  timer_->rearm();
}

void MobileHost::carry_out(core::Action& action) {
  if (auto* transmit = std::get_if<core::Transmit>(&action)) {
    this->transmit(*transmit);
  } else if (const auto* tunnel = std::get_if<core::TunnelRoute>(&action)) {
    tunnels_.push_back(*tunnel);
  }
}

// §11.5.1: a unicast NS to a router is a reachability probe: NUD on the interface answers it.
bool MobileHost::router_probe(const core::Transmit& transmit) {
  auto rx = core::make_rx_packet(transmit.packet, transmit.ifindex);
  if (!rx || rx->layout.ipv6.destination.is_multicast()) return false;
  if (rx->layout.upper_protocol != wire::ip_proto::kIcmpv6) return false;
  auto upper = rx->upper();
  if (upper.empty() || std::to_integer<std::uint8_t>(upper[0]) != kIcmpNeighborSolicitation)
    return false;
  Interface* iface = interface(transmit.ifindex);
  if (iface == nullptr || iface->nd() == nullptr) return false;
  iface->nd()->probe(rx->layout.ipv6.destination);
  return true;
}

void MobileHost::transmit(core::Transmit& transmit) {
  if (router_probe(transmit)) return;
  note_packet("tx", transmit.packet);
  auto header = wire::decode_ipv6_header(transmit.packet);
  if (!header) return;
  Interface* iface = interface(transmit.ifindex);
  if (iface != nullptr && transmit.link_destination) {
    iface->send_frame(MacAddress{*transmit.link_destination}, std::move(transmit.packet));
  } else if (iface != nullptr && header->destination.is_multicast()) {
    iface->send_frame(MacAddress::for_ipv6_multicast(header->destination),
                      std::move(transmit.packet));
  } else {
    send(std::move(transmit.packet));
  }
}

}  // namespace mipv6::sim
