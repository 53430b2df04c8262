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

MobileHost::~MobileHost() {
  scheduler().cancel(udp_.event);
}

void MobileHost::start(core::MobileNodeConfig config) {
  if (!interfaces().empty()) {
    const Interface& first = *interfaces().front();
    if (config.link_layer_address == core::LinkLayerAddress{})
      config.link_layer_address = first.mac().bytes;
    if (!config.link_local_address)
      config.link_local_address = eui64_address(*wire::Ipv6Address::parse("fe80::"), first.mac());
  }
  // Each radio speaks with its own MAC and link-local address (RFC 4291 App. A).
  if (interfaces().size() > 1 && config.interfaces.empty()) {
    for (const auto& iface : interfaces())
      config.interfaces.push_back(
          {iface->ifindex(), iface->mac().bytes,
           eui64_address(*wire::Ipv6Address::parse("fe80::"), iface->mac())});
  }
  if (!config.home_addresses.empty()) home_address_ = config.home_addresses.front().home_address;
  if (!log_enabled_) config.log_bindings = false;
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
  if (!log_enabled_) return;
  std::string label = mobility_label(packet);
  if (!label.empty()) note(std::string(direction) + " " + label);
}

void MobileHost::on_link_up(Interface& in) {
  if (log_enabled_) note("up " + in.name());
  ra_seen_ = false;
  Host::on_link_up(in);
  if (!engine_) return;
  engine_->on_event(core::LinkUp{in.ifindex()}, scheduler().now());
  // Two radios, make before break: the one that came up last is preferred, so the node moves
  // to the new link as soon as a care-of address is ready there (draft-04 §9.2).
  if (interfaces().size() > 1) prefer_interface(in.ifindex());
  drain();
}

void MobileHost::prefer_interface(std::uint32_t ifindex) {
  std::vector<std::uint32_t> order{ifindex};
  for (const auto& iface : interfaces()) {
    if (iface->ifindex() != ifindex) order.push_back(iface->ifindex());
  }
  engine_->set_interface_preference(std::move(order), scheduler().now());
}

void MobileHost::on_link_down(Interface& in) {
  if (log_enabled_) note("down " + in.name());
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
      if (log_enabled_)
        note(std::string(e.kind == Kind::kAdded ? "addr+ " : "addr ready ") +
             e.address.to_string());
      if (!engine_) return;
      engine_->on_event(core::AddressAdded{in.ifindex(), e.address, e.prefix_len, std::nullopt,
                                           std::nullopt, tentative},
                        now);
      break;
    }
    case Kind::kRemoved:
    case Kind::kDuplicate:
      if (log_enabled_) note("addr- " + e.address.to_string());
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
    if (log_enabled_) note("rx RA " + nd->ip.source.to_string());
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
  if (auto sequence = udp_cbr_sequence(packet))
    udp_received_.push_back(UdpReceived{*sequence, scheduler().now(), path});
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
      send_from_source(
          core::build_icmpv6_packet({home, peer, std::nullopt, std::nullopt, 64}, message));
      break;
    case core::SendPath::kReverseTunnel: {
      // §11.3.1: encapsulated from the care-of address to the home agent (RFC 2473).
      auto agent = engine_->home_agent(home);
      if (!agent) break;
      ++sent_.reverse_tunnel;
      auto inner = core::build_icmpv6_packet({home, peer, std::nullopt, std::nullopt, 64}, message);
      send_from_source(wire::encapsulate(inner, {decision.care_of_address, *agent}));
      break;
    }
    case core::SendPath::kRouteOptimized:
      // §6.3, §11.3.1: from the care-of address, the home address in a Home Address option.
      ++sent_.route_optimized;
      send_from_source(core::build_icmpv6_packet(
          {decision.care_of_address, peer, home, std::nullopt, 64}, message));
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
  if (interfaces().size() > 1) home_addresses_on_home_link();
  track_registration();
  timer_->rearm();
}

// At home, the home addresses live on the interface attached to the home link — with two radios
// not necessarily the one SLAAC formed them on — as the daemon configures them (§11.5.5).
void MobileHost::home_addresses_on_home_link() {
  const core::MovementDetector& movement = engine_->movement();
  const core::RouterEntry* router = movement.default_router();
  if (!movement.at_home() || router == nullptr) return;
  Interface* home = interface(router->ifindex);
  if (home == nullptr) return;
  for (const wire::Ipv6Address& address : engine_->home_addresses()) {
    if (!home->has_address(address)) home->add_address(address);
  }
}

// §11.7.1: the first home registration runs from its first Binding Update to the first
// accepted acknowledgement; the engine's counters tell when each happened.
void MobileHost::track_registration() {
  const core::MobileNodeCounters& c = engine_->counters();
  if (!first_bu_home_ && c.bu_sent > 0) first_bu_home_ = scheduler().now();
  if (first_bu_home_ && !first_ba_accepted_ && c.ba_accepted > 0)
    first_ba_accepted_ = scheduler().now();
}

MobileHost::RegistrationStats MobileHost::registration_stats() const {
  RegistrationStats stats;
  if (!engine_) return stats;
  const core::MobileNodeCounters& c = engine_->counters();
  stats.bu_home_sent = c.bu_sent + c.bu_retransmitted;
  stats.ba_received = c.ba_received;
  stats.ba_rejected = c.ba_rejected;
  if (first_bu_home_ && first_ba_accepted_)
    stats.first_registration = *first_ba_accepted_ - *first_bu_home_;
  return stats;
}

void MobileHost::start_udp_cbr(const wire::Ipv6Address& destination, Duration interval,
                               std::size_t payload, TimePoint from, TimePoint until) {
  scheduler().cancel(udp_.event);
  udp_ = UdpSource{destination, interval, payload, until, {}};
  udp_.event = scheduler().schedule(from, [this] { send_udp(); });
}

// §11.3.1: from the home address, as the engine's send_path says: normally at home,
// reverse-tunnelled to the home agent, or from the care-of address with a Home Address option.
void MobileHost::send_udp() {
  const TimePoint now = scheduler().now();
  if (now >= udp_.until) return;
  udp_.event = scheduler().schedule_in(udp_.interval, [this] { send_udp(); });
  UdpSent record{static_cast<std::uint32_t>(udp_sent_.size()), now, false, std::nullopt};
  if (!engine_ || !home_address_) {
    udp_sent_.push_back(record);
    return;
  }
  const wire::Ipv6Address& home = *home_address_;
  const auto decision = engine_->send_path(home, udp_.destination, now);
  const bool has_care_of = !decision.care_of_address.is_unspecified();
  switch (decision.path) {
    case core::SendPath::kHome:
      record.path = PathKind::kHome;
      send_from_source(build_udp_cbr_packet(
          {home, udp_.destination, std::nullopt, std::nullopt, 64}, record.sequence, udp_.payload));
      break;
    case core::SendPath::kReverseTunnel: {
      // No care-of address or no home agent yet: nowhere to send it (counted as lost).
      auto agent = engine_->home_agent(home);
      if (!agent || !has_care_of) break;
      record.path = PathKind::kTunnel;
      auto inner = build_udp_cbr_packet({home, udp_.destination, std::nullopt, std::nullopt, 64},
                                        record.sequence, udp_.payload);
      send_from_source(wire::encapsulate(inner, {decision.care_of_address, *agent}));
      break;
    }
    case core::SendPath::kRouteOptimized:
      if (!has_care_of) break;
      record.path = PathKind::kRouteOptimized;
      record.route_optimized = true;
      send_from_source(
          build_udp_cbr_packet({decision.care_of_address, udp_.destination, home, std::nullopt, 64},
                               record.sequence, udp_.payload));
      break;
  }
  udp_sent_.push_back(record);
  drain();
}

// With one radio the host's routing decides. With several, a packet leaves by the radio that
// holds its source address (its care-of address belongs to that link) through a default router
// learnt there (RFC 4861 §6.3.6), so the old and the new link are both usable during overlap.
bool MobileHost::send_from_source(wire::Bytes packet) {
  if (interfaces().size() > 1) {
    auto header = wire::decode_ipv6_header(packet);
    if (!header) return false;
    for (const auto& iface : interfaces()) {
      if (!iface->attached() || !iface->has_address(header->source)) continue;
      if (iface->on_link(header->destination))
        return iface->send_ipv6(header->destination, std::move(packet));
      for (const DefaultRouter& router : default_routers()) {
        if (router.ifindex == iface->ifindex())
          return iface->send_ipv6(router.address, std::move(packet));
      }
    }
  }
  return send(std::move(packet));
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
    send_from_source(std::move(transmit.packet));
  }
}

}  // namespace mipv6::sim
