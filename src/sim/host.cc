#include "sim/host.h"

#include <algorithm>

#include "wire/ipv6.h"

namespace mipv6::sim {

Host::Host(Scheduler& scheduler, std::string name, HostConfig config)
    : Node(scheduler, std::move(name)), config_(config) {}

Host::~Host() {
  for (PerInterface& p : per_if_)
    scheduler().cancel(p.rs_timer);
}

Interface& Host::add_host_interface(MacAddress mac, std::string name) {
  Interface& iface = add_interface(mac, std::move(name));
  NeighborDiscovery& nd = iface.enable_nd(config_.nd);
  PerInterface p;
  p.iface = &iface;
  p.slaac = std::make_unique<Slaac>(iface, config_.slaac);
  Slaac* slaac = p.slaac.get();
  // RFC 4862 §5.4: a tentative address is not ours yet: no NA for it.
  nd.set_owns_target([&iface, slaac](const wire::Ipv6Address& a) {
    return iface.has_address(a) && !slaac->is_tentative(a) &&
           slaac->state(a) != AddressState::kOptimistic;
  });
  slaac->set_callback([this, &iface](const AddressEvent& e) {
    if (address_cb_) address_cb_(iface, e);
  });
  per_if_.push_back(std::move(p));
  return iface;
}

Host::PerInterface* Host::state(const Interface& iface) {
  for (PerInterface& p : per_if_) {
    if (p.iface == &iface) return &p;
  }
  return nullptr;
}

Slaac* Host::slaac(const Interface& iface) const {
  for (const PerInterface& p : per_if_) {
    if (p.iface == &iface) return p.slaac.get();
  }
  return nullptr;
}

void Host::on_link_up(Interface& in) {
  PerInterface* p = state(in);
  if (p == nullptr) return;
  p->slaac->start();
  p->rs_count = 0;
  p->got_ra = false;
  if (!config_.send_rs) return;
  scheduler().cancel(p->rs_timer);
  p->rs_timer = scheduler().schedule_in(config_.rs_delay, [this, &in] { send_rs(in); });
}

void Host::on_link_down(Interface& in) {
  PerInterface* p = state(in);
  if (p == nullptr) return;
  scheduler().cancel(p->rs_timer);
  p->slaac->stop();
  if (in.nd() != nullptr) in.nd()->flush();
  std::erase_if(routers_, [&](const DefaultRouter& r) { return r.ifindex == in.ifindex(); });
  std::erase_if(prefixes_, [&](const OnLinkPrefix& r) { return r.ifindex == in.ifindex(); });
}

void Host::send_rs(Interface& in) {
  PerInterface* p = state(in);
  if (p == nullptr || p->got_ra || !in.attached()) return;
  // RFC 4861 §6.3.7: from a usable address with the SLLAO, else from :: without it.
  wire::RouterSolicitation rs;
  wire::Ipv6Address source{};
  for (const InterfaceAddress& a : in.addresses()) {
    if (a.address.is_link_local() && !p->slaac->is_tentative(a.address)) source = a.address;
  }
  if (!source.is_unspecified() && p->slaac->state(source) != AddressState::kOptimistic) {
    rs.options.emplace_back(wire::SourceLinkLayerAddressOption{mac_bytes(in.mac())});
  }
  in.send_frame(MacAddress::for_ipv6_multicast(kAllRouters),
                build_nd_packet(source, kAllRouters, rs));
  ++rs_sent_;
  // §6.3.7: up to MAX_RTR_SOLICITATIONS, RTR_SOLICITATION_INTERVAL apart, until an RA arrives.
  if (++p->rs_count < config_.max_rtr_solicitations) {
    p->rs_timer =
        scheduler().schedule_in(config_.rtr_solicitation_interval, [this, &in] { send_rs(in); });
  }
}

void Host::on_frame(Interface& in, const Frame& frame) {
  auto header = wire::decode_ipv6_header(frame.packet);
  if (!header || !accepts(in, header->destination)) return;
  if (header->hop_limit == 255) {
    if (auto input = parse_nd(frame.packet)) {
      PerInterface* p = state(in);
      if (p != nullptr && p->slaac->on_packet(*input)) return;
      if (in.nd() != nullptr && in.nd()->on_packet(*input, frame)) return;
      if (const auto* ra = std::get_if<wire::RouterAdvertisement>(&input->message.body)) {
        on_ra(in, *input, *ra);
      }
      return;
    }
  }
  if (packet_cb_) packet_cb_(in, frame);
}

bool Host::accepts(const Interface& in, const wire::Ipv6Address& destination) const {
  if (!destination.is_multicast()) return in.has_address(destination);
  // Groups we listen to: all-nodes, and (any) solicited-node group, filtered by target later.
  return destination == kAllNodes || destination.bytes[11] == 0x01 || destination.bytes[1] != 0x02;
}

void Host::on_ra(Interface& in, const NdInput& input, const wire::RouterAdvertisement& ra) {
  // RFC 4861 §6.1.2: an RA comes from a link-local address.
  if (!input.ip.source.is_link_local()) return;
  PerInterface* p = state(in);
  if (p != nullptr) {
    p->got_ra = true;
    scheduler().cancel(p->rs_timer);
  }
  const TimePoint now = scheduler().now();
  // §6.3.4: the Default Router List, by Router Lifetime (0: remove).
  std::erase_if(routers_, [&](const DefaultRouter& r) {
    return r.address == input.ip.source && r.ifindex == in.ifindex();
  });
  if (ra.router_lifetime != 0) {
    routers_.push_back(DefaultRouter{input.ip.source, in.ifindex(),
                                     now + std::chrono::seconds(ra.router_lifetime)});
  }
  for (const wire::NdOption& o : ra.options) {
    if (const auto* sllao = std::get_if<wire::SourceLinkLayerAddressOption>(&o.body)) {
      if (auto mac = mac_from_option(sllao->link_layer_address))
        in.nd()->learn(input.ip.source, *mac);
    } else if (const auto* pio = std::get_if<wire::PrefixInformationOption>(&o.body)) {
      // §6.3.4: the on-link prefix list (L flag), RFC 4862 §5.5.3 for the A flag.
      if (pio->l && !pio->prefix.is_link_local()) {
        std::erase_if(prefixes_, [&](const OnLinkPrefix& x) {
          return x.ifindex == in.ifindex() && x.prefix_len == pio->prefix_length &&
                 x.prefix.in_prefix(pio->prefix, pio->prefix_length);
        });
        if (pio->valid_lifetime != 0) {
          prefixes_.push_back(OnLinkPrefix{pio->prefix, pio->prefix_length, in.ifindex(),
                                           now + std::chrono::seconds(pio->valid_lifetime)});
        }
      }
      if (p != nullptr) p->slaac->on_prefix(*pio);
    }
  }
  if (ra_cb_) ra_cb_(in, input);
}

void Host::expire() {
  const TimePoint now = scheduler().now();
  std::erase_if(routers_, [&](const DefaultRouter& r) { return r.expires <= now; });
  std::erase_if(prefixes_, [&](const OnLinkPrefix& r) { return r.expires <= now; });
}

Interface* Host::route(const wire::Ipv6Address& destination, wire::Ipv6Address& next_hop) {
  next_hop = destination;
  for (const PerInterface& p : per_if_) {
    if (!p.iface->attached()) continue;
    if (destination.is_multicast() || destination.is_link_local() ||
        p.iface->on_link(destination)) {
      return p.iface;
    }
  }
  for (const OnLinkPrefix& x : prefixes_) {
    if (destination.in_prefix(x.prefix, x.prefix_len)) return interface(x.ifindex);
  }
  // RFC 4861 §6.3.6: otherwise a default router (the first that is not known unreachable).
  for (const DefaultRouter& r : routers_) {
    next_hop = r.address;
    return interface(r.ifindex);
  }
  return nullptr;
}

bool Host::send(wire::Bytes packet) {
  auto header = wire::decode_ipv6_header(packet);
  if (!header) return false;
  expire();
  wire::Ipv6Address next_hop;
  Interface* out = route(header->destination, next_hop);
  if (out == nullptr) return false;
  return out->send_ipv6(next_hop, std::move(packet));
}

}  // namespace mipv6::sim
