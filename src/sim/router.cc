#include "sim/router.h"

#include <algorithm>

#include "wire/chain.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::sim {
namespace {

constexpr std::size_t kHopLimitOffset = 7;  // RFC 8200 §3: the eighth octet of the header
// RFC 4443 §2.4 (c): an error message must not exceed the minimum IPv6 MTU (1280, RFC 8200 §5):
// 40 bytes of IPv6 header and 8 of ICMPv6 header leave 1232 for the invoking packet.
constexpr std::size_t kMaxInvokingBytes = 1280 - 40 - 8;
constexpr std::uint8_t kIcmpv6InformationalTypes = 128;  // RFC 4443 §2.1: types below are errors

// RFC 4443 §2.4 (e): no error in answer to an ICMPv6 error, to a packet sent to a multicast
// group or link-layer multicast address, or from a source that does not identify one node.
// A packet whose header chain does not walk cannot be shown not to be an error: no answer.
bool may_answer_with_error(const Frame& frame, const wire::Ipv6Header& header) {
  if (frame.destination.is_multicast() || header.destination.is_multicast()) return false;
  if (header.source.is_unspecified() || header.source.is_multicast()) return false;
  auto layout = wire::walk_chain(frame.packet);
  if (!layout) return false;
  if (layout->upper_protocol == wire::ip_proto::kIcmpv6 && layout->upper_length > 0) {
    const auto type = std::to_integer<std::uint8_t>(frame.packet[layout->upper_offset]);
    if (type < kIcmpv6InformationalTypes) return false;
  }
  return true;
}

// RFC 4443 §2.2: the error's source is an address of the interface the packet came in on
// (a global one when there is one).
std::optional<wire::Ipv6Address> error_source(const Interface& in) {
  std::optional<wire::Ipv6Address> any;
  for (const InterfaceAddress& a : in.addresses()) {
    if (!a.address.is_link_local()) return a.address;
    if (!any) any = a.address;
  }
  return any;
}

}  // namespace

void Router::add_route(const Route& route) {
  // Stable insertion keeps "first added wins" among equal prefix lengths.
  auto at = std::find_if(routes_.begin(), routes_.end(),
                         [&](const Route& r) { return r.prefix_len < route.prefix_len; });
  routes_.insert(at, route);
}

void Router::add_connected_routes() {
  for (const auto& iface : interfaces()) {
    for (const InterfaceAddress& a : iface->addresses()) {
      if (a.address.is_link_local()) continue;
      add_route(Route{a.address, a.prefix_len, iface.get(), std::nullopt});
    }
  }
}

const Route* Router::lookup(const wire::Ipv6Address& destination) const {
  for (const Route& r : routes_) {
    if (destination.in_prefix(r.prefix, r.prefix_len)) return &r;
  }
  return nullptr;
}

void Router::on_frame(Interface& in, const Frame& frame) {
  auto header = wire::decode_ipv6_header(frame.packet);
  if (!header) {
    ++counters_.dropped_malformed;
    return;
  }
  // RFC 4861 §7.1: ND messages (Hop Limit 255) are for the interface's ND, whatever the
  // destination (a proxied address, a solicited-node group); they are never forwarded.
  if (header->hop_limit == 255 && handle_nd(in, frame)) {
    ++counters_.local;
    return;
  }
  if (header->destination.is_multicast() || owns_address(header->destination)) {
    ++counters_.local;
    on_local_packet(in, frame);
    return;
  }
  // RFC 4291 §2.5.6: routers must not forward packets with link-local source or destination.
  if (header->destination.is_link_local() || header->source.is_link_local()) {
    ++counters_.dropped_scope;
    return;
  }
  forward(in, *header, frame);
}

NeighborDiscovery& Router::enable_nd(Interface& iface, NdConfig config) {
  config.is_router = true;  // RFC 4861 §4.4: the R flag of our NAs
  NeighborDiscovery& nd = iface.enable_nd(config);
  nd.set_drop_callback([this](const wire::Bytes& packet) { on_resolution_failed(packet); });
  return nd;
}

void Router::on_resolution_failed(const wire::Bytes& packet) {
  // RFC 4861 §7.2.2: each queued packet gets an ICMPv6 Destination Unreachable, code 3
  // (RFC 4443 §3.1), sent back the way its source is reached.
  ++counters_.dropped_no_neighbour;
  --counters_.forwarded;  // it was counted when handed to ND
  auto header = wire::decode_ipv6_header(packet);
  if (!header) return;
  const Route* back = lookup(header->source);
  if (back == nullptr || back->out == nullptr) return;
  send_icmp_error(*back->out, *header, Frame{{}, {}, packet}, Error::kAddressUnreachable);
}

void Router::on_link_up(Interface& in) {
  if (RaSender* ra = ra_sender(in)) ra->start();
}

void Router::on_link_down(Interface& in) {
  if (RaSender* ra = ra_sender(in)) ra->stop();
}

RaSender& Router::advertise(Interface& iface, const RaConfig& config, std::uint64_t seed) {
  if (iface.nd() == nullptr) enable_nd(iface);
  ra_senders_.push_back(std::make_unique<RaSender>(iface, config, seed));
  ra_senders_.back()->start();
  return *ra_senders_.back();
}

RaSender* Router::ra_sender(const Interface& iface) const {
  for (const auto& r : ra_senders_) {
    if (&r->interface() == &iface) return r.get();
  }
  return nullptr;
}

bool Router::handle_nd(Interface& in, const Frame& frame) {
  if (in.nd() == nullptr) return false;
  auto input = parse_nd(frame.packet);
  if (!input) return false;
  if (std::holds_alternative<wire::RouterSolicitation>(input->message.body)) {
    // RFC 4861 §6.2.6: answered by the interface's advertiser, if any.
    if (RaSender* ra = ra_sender(in)) ra->on_router_solicitation(*input);
    return true;
  }
  if (in.nd()->on_packet(*input, frame)) return true;
  // Other routers' RAs and Redirects: nothing for this router to do (RFC 4861 §6.2.7 checks
  // for consistency only).
  return std::holds_alternative<wire::RouterAdvertisement>(input->message.body);
}

void Router::forward(Interface& in, const wire::Ipv6Header& header, const Frame& frame) {
  // RFC 8200 §3: each forwarding node decrements Hop Limit by 1 and discards the packet when
  // it reaches zero.
  if (header.hop_limit <= 1) {
    ++counters_.dropped_hop_limit;
    send_icmp_error(in, header, frame, Error::kHopLimitExceeded);
    return;
  }
  const Route* route = lookup(header.destination);
  if (route == nullptr || route->out == nullptr) {
    ++counters_.dropped_no_route;
    send_icmp_error(in, header, frame, Error::kNoRoute);
    return;
  }
  wire::Bytes packet = frame.packet;
  packet[kHopLimitOffset] = std::byte{static_cast<std::uint8_t>(header.hop_limit - 1)};
  if (!route->out->send_ipv6(route->gateway.value_or(header.destination), std::move(packet))) {
    ++counters_.dropped_no_neighbour;
    send_icmp_error(in, header, frame, Error::kAddressUnreachable);
    return;
  }
  ++counters_.forwarded;
}

void Router::send_icmp_error(Interface& in, const wire::Ipv6Header& header, const Frame& frame,
                             Error error) {
  if (!icmp_errors_ || !may_answer_with_error(frame, header)) return;
  auto source = error_source(in);
  const Route* back = lookup(header.source);
  if (!source || back == nullptr || back->out == nullptr) return;
  // RFC 4443 §2.4 (c): as much of the invoking packet as fits in the minimum MTU.
  const std::size_t keep = std::min(frame.packet.size(), kMaxInvokingBytes);
  wire::Bytes invoking(frame.packet.begin(),
                       frame.packet.begin() + static_cast<std::ptrdiff_t>(keep));
  wire::Icmpv6Message message;
  switch (error) {
    case Error::kNoRoute:  // RFC 4443 §3.1 code 0
      message.body = wire::DestinationUnreachable{0, std::move(invoking)};
      break;
    case Error::kAddressUnreachable:  // RFC 4443 §3.1 code 3
      message.code = 3;
      message.body = wire::DestinationUnreachable{0, std::move(invoking)};
      break;
    case Error::kHopLimitExceeded:  // RFC 4443 §3.3 code 0
      message.body = wire::TimeExceeded{0, std::move(invoking)};
      break;
  }
  wire::PacketSpec spec;
  spec.header.source = *source;
  spec.header.destination = header.source;
  spec.upper_protocol = wire::ip_proto::kIcmpv6;
  wire::encode_icmpv6(message, spec.upper);
  if (back->out->send_ipv6(back->gateway.value_or(header.source), wire::build_packet(spec))) {
    ++counters_.icmp_errors_sent;
  }
}

}  // namespace mipv6::sim
