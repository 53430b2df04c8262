#include "core/mobile_node.h"

#include <algorithm>
#include <string>

#include "core/home_agent.h"
#include "wire/chain.h"

namespace mipv6::core {

using wire::Ipv6Address;

namespace {

const Ipv6Address kAllNodes = *Ipv6Address::parse("ff02::1");

// §6.1.7: the Lifetime field counts 4-second units.
constexpr Duration kLifetimeUnit = std::chrono::seconds(wire::kLifetimeUnitSeconds);
constexpr std::uint32_t kInfiniteLifetime = 0xffffffff;  // RFC 4861 §4.6.2

std::uint16_t to_units(Duration d) {
  auto units = whole_seconds(d) / wire::kLifetimeUnitSeconds;
  return static_cast<std::uint16_t>(std::clamp<std::int64_t>(units, 0, 0xffff));
}

std::string seconds_text(Duration d) {
  return std::to_string(whole_seconds(d)) + "s";
}

bool same_interface_id(const Ipv6Address& a, const Ipv6Address& b) {
  return std::equal(a.bytes.begin() + 8, a.bytes.end(), b.bytes.begin() + 8);
}

bool same_route(const TunnelRoute& a, const TunnelRoute& b) {
  return a.home_address == b.home_address && a.care_of_address == b.care_of_address &&
         a.local_address == b.local_address;
}

void earliest(std::optional<TimePoint>& best, const std::optional<TimePoint>& candidate) {
  if (candidate && (!best || *candidate < *best)) best = candidate;
}

bool due(const std::optional<TimePoint>& at, TimePoint now) {
  return at && *at <= now;
}

const Ipv6Address kAllRouters = *Ipv6Address::parse("ff02::2");

Ipv6Address masked(Ipv6Address address, std::uint8_t length) {
  for (std::size_t i = 0; i < address.bytes.size(); ++i) {
    const int keep = std::clamp(static_cast<int>(length) - static_cast<int>(i * 8), 0, 8);
    address.bytes[i] &= static_cast<std::uint8_t>(0xff00 >> keep);
  }
  return address;
}

// §11.5.1: the detector must know the home prefixes to recognise the home link.
MovementDetectorConfig movement_config(const MobileNodeConfig& config) {
  MovementDetectorConfig movement = config.movement;
  for (const auto& home : config.home_addresses) {
    HomeLinkPrefix prefix{masked(home.home_address, home.prefix_length), home.prefix_length};
    if (std::find(movement.home_prefixes.begin(), movement.home_prefixes.end(), prefix) ==
        movement.home_prefixes.end())
      movement.home_prefixes.push_back(prefix);
  }
  return movement;
}

// RFC 4291 §2.7.1: ff02::1:ff00:0/104 plus the low 24 bits of the target.
Ipv6Address solicited_node(const Ipv6Address& target) {
  Ipv6Address group = *Ipv6Address::parse("ff02::1:ff00:0");
  std::copy(target.bytes.begin() + 13, target.bytes.end(), group.bytes.begin() + 13);
  return group;
}

wire::Bytes link_layer_bytes(const LinkLayerAddress& address) {
  wire::Bytes out;
  for (auto octet : address)
    out.push_back(static_cast<std::byte>(octet));
  return out;
}

std::optional<LinkLayerAddress> to_link_layer(const wire::Bytes& bytes) {
  LinkLayerAddress address{};
  if (bytes.size() != address.size()) return std::nullopt;
  for (std::size_t i = 0; i < address.size(); ++i)
    address[i] = std::to_integer<std::uint8_t>(bytes[i]);
  return address;
}

// RFC 3810 §5, RFC 2710 §3: MLD Query, v1 Report, Done, v2 Report.
bool is_mld_type(std::uint8_t type) {
  return type == 130 || type == 131 || type == 132 || type == 143;
}

bool same_ro_home(const RoHomeAddress& a, const RoHomeAddress& b) {
  return a.home_address == b.home_address && a.home_agent == b.home_agent &&
         a.registration_expires == b.registration_expires && a.at_home == b.at_home;
}

}  // namespace

std::string_view home_state_name(HomeState state) {
  switch (state) {
    case HomeState::kIdle:
      return "idle";
    case HomeState::kDiscovering:
      return "discovering";
    case HomeState::kRegistering:
      return "registering";
    case HomeState::kRegistered:
      return "registered";
    case HomeState::kDeregistering:
      return "deregistering";
    case HomeState::kAtHome:
      return "at-home";
    case HomeState::kFailed:
      return "failed";
  }
  return "";
}

std::vector<std::pair<std::string_view, std::uint64_t>> MobileNodeCounters::list() const {
  return {{"bu_sent", bu_sent},
          {"bu_retransmitted", bu_retransmitted},
          {"bu_rate_limited", bu_rate_limited},
          {"ba_received", ba_received},
          {"ba_accepted", ba_accepted},
          {"ba_rejected", ba_rejected},
          {"registrations", registrations},
          {"refreshes", refreshes},
          {"deregistrations", deregistrations},
          {"failovers", failovers},
          {"home_addresses_given_up", home_addresses_given_up},
          {"home_addresses_formed", home_addresses_formed},
          {"brr_received", brr_received},
          {"be_received", be_received},
          {"dhaad_sent", dhaad_sent},
          {"dhaad_replies", dhaad_replies},
          {"dhaad_failed", dhaad_failed},
          {"mps_sent", mps_sent},
          {"mpa_accepted", mpa_accepted},
          {"mpa_discarded", mpa_discarded},
          {"na_sent", na_sent},
          {"dropped_bad_checksum", dropped_bad_checksum},
          {"dropped_malformed", dropped_malformed},
          {"dropped_unexpected_mh", dropped_unexpected_mh},
          {"dropped_unknown_sender", dropped_unknown_sender},
          {"dropped_no_type2", dropped_no_type2},
          {"dropped_sequence", dropped_sequence},
          {"dropped_unprotected", dropped_unprotected},
          {"dropped_bad_icmp", dropped_bad_icmp},
          {"dropped_bad_type2", dropped_bad_type2},
          {"rs_sent", rs_sent},
          {"router_probes_sent", router_probes_sent},
          {"home_agent_solicitations", home_agent_solicitations},
          {"ns_answered", ns_answered},
          {"forwarding_bu_sent", forwarding_bu_sent},
          {"forwarding_accepted", forwarding_accepted},
          {"forwarding_rejected", forwarding_rejected}};
}

MobileNode::MobileNode(MobileNodeConfig config, Rng& rng)
    : config_(std::move(config)),
      rng_(rng),
      list_(rng),
      detector_(movement_config(config_)),
      ro_(config_.route_optimization, rng) {
  for (const auto& home_config : config_.home_addresses)
    homes_.push_back(make_home(home_config));
  ro_homes_.resize(homes_.size());
}

MobileNode::Home MobileNode::make_home(const HomeAddressConfig& config) const {
  Home home;
  home.config = config;
  home.candidates = config.home_agents;
  // §11.7.1: L = 1 when the home address and the link-local address share their interface
  // identifier (the home agent then defends both).
  home.link_local_compatible = config_.link_local_address &&
                               same_interface_id(*config_.link_local_address, config.home_address);
  return home;
}

LinkLayerAddress MobileNode::link_layer_address_of(std::uint32_t ifindex) const {
  for (const auto& iface : config_.interfaces) {
    if (iface.ifindex == ifindex) return iface.link_layer_address;
  }
  return config_.link_layer_address;
}

std::optional<Ipv6Address> MobileNode::link_local_address_of(std::uint32_t ifindex) const {
  for (const auto& iface : config_.interfaces) {
    if (iface.ifindex == ifindex && iface.link_local_address) return iface.link_local_address;
  }
  return config_.link_local_address;
}

void MobileNode::set_interface_preference(std::vector<std::uint32_t> order, TimePoint now) {
  sync_route_optimization(now);
  detector_.set_interface_preference(std::move(order), now);
  after_input(now);
}

std::vector<Ipv6Address> MobileNode::home_addresses() const {
  std::vector<Ipv6Address> out;
  for (const auto& home : homes_)
    out.push_back(home.config.home_address);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Inputs

void MobileNode::on_packet(const RxPacket& packet, TimePoint now) {
  sync_route_optimization(now);
  dispatch(packet, now);
  after_input(now);
}

void MobileNode::dispatch(const RxPacket& packet, TimePoint now) {
  // §11.5.1: Router Advertisements drive movement detection (the detector ignores tunnelled
  // ones: they were not sent on our link).
  if (detector_.on_packet(packet, now)) return;
  // draft-04 §9.6: the previous router's BA carries the previous care-of address in its Type 2
  // Routing header; that address is a "home address" only for this registration.
  if (on_forwarding_ack(packet, now)) return;
  // §11.3.3: a Type 2 Routing header only for one of our home addresses.
  if (!ro_.accept_type2(packet)) {
    ++counters_.dropped_bad_type2;
    return;
  }
  if (packet.tunnel) note_tunnelled_mld(packet);
  // Return routability, correspondent BAs/BRRs/BEs, Parameter Problems, RO triggers.
  if (ro_.on_packet(packet, now)) return;
  if (packet.layout.upper_protocol == wire::kIpProtoMobility) {
    on_mobility(packet, now);
  } else if (packet.layout.upper_protocol == wire::kIcmpv6NextHeader) {
    if (!on_home_agent_advertisement(packet, now)) on_icmpv6(packet, now);
  }
}

void MobileNode::on_event(const NodeEvent& event, TimePoint now) {
  // Link, address and reachability events are the detector's (§11.5); this engine acts on
  // its decisions.
  sync_route_optimization(now);
  detector_.on_event(event, now);
  after_input(now);
}

void MobileNode::on_timeout(TimePoint now) {
  sync_route_optimization(now);
  detector_.on_timeout(now);
  for (auto& home : homes_)
    run_home_timers(home, now);
  run_resolve_timers(now);
  run_forwarding_timers(now);
  ro_.on_timeout(now);
  after_input(now);
}

std::optional<TimePoint> MobileNode::next_deadline() const {
  std::optional<TimePoint> best = detector_.next_deadline();
  earliest(best, ro_.next_deadline());
  for (const auto& resolve : resolving_)
    earliest(best, resolve.next);
  for (const auto& forwarding : forwardings_) {
    earliest(best, forwarding.ends);
    if (const auto* entry = list_.find(forwarding.agent, forwarding.previous_care_of))
      earliest(best, entry->retransmit_at);
  }
  for (const auto& home : homes_) {
    earliest(best, home.pending_send);
    earliest(best, home.refresh_at);
    earliest(best, home.solicit_at);
    earliest(best, home.dhaad.retransmit_at);
    earliest(best, home.solicit.retransmit_at);
    earliest(best, home.advertise.next);
    if (auto ha = target_ha(home)) {
      if (const auto* entry = list_.find(*ha, home.config.home_address)) {
        earliest(best, entry->retransmit_at);
        if (home.state == HomeState::kRegistered || home.state == HomeState::kDeregistering)
          earliest(best, entry->expiry);
      }
    }
  }
  return best;
}

void MobileNode::set_primary_care_of(std::optional<CareOf> coa, TimePoint now) {
  bool same = coa && care_of_ && coa->address == care_of_->address;
  // draft-04 §9.6: the previous care-of address, also when it was lost shortly before (its
  // link became unreachable: exactly when packets in flight need forwarding).
  std::optional<Ipv6Address> previous;
  if (care_of_) {
    previous = care_of_->address;
    if (!coa) lost_care_of_ = std::make_pair(care_of_->address, now);
  } else if (lost_care_of_ && now - lost_care_of_->second < config_.previous_care_of_lifetime) {
    previous = lost_care_of_->first;
  }
  if (coa) lost_care_of_.reset();
  care_of_ = coa;
  care_of_valid_until_.reset();
  if (coa && coa->valid_lifetime) care_of_valid_until_ = now + *coa->valid_lifetime;
  if (same) return;  // only the validity changed
  for (auto& home : homes_) {
    if (home.state == HomeState::kFailed) continue;
    if (!coa) {
      // No usable care-of address: nothing can be sent or tunnelled until the next one.
      move_tunnel(home, std::nullopt);
      home.pending_send.reset();
      home.dhaad.retransmit_at.reset();
      home.solicit.retransmit_at.reset();
      if (auto* entry = current_entry(home)) {
        entry->awaiting_ack = false;
        entry->retransmit_at.reset();
      }
      if (home.state != HomeState::kRegistered) home.state = HomeState::kIdle;
      continue;
    }
    home.home_link.reset();
    start(home, now);
  }
  // draft-04 §9.6: after the home registration, ask the previous link's agent to forward.
  if (coa && previous && *previous != coa->address && config_.forward_from_previous_care_of)
    start_forwarding(*previous, now);
}

void MobileNode::returned_home(const HomeLink& link, TimePoint now) {
  for (auto& home : homes_) {
    if (home.state == HomeState::kFailed) continue;
    if (link.prefix && !home.config.home_address.in_prefix(*link.prefix, link.prefix_length))
      continue;
    home.home_link = link;
    home.home_agent_sent_mld = false;  // the tunnel is gone (draft-04 §10)
    // §11.5.5: at home the reverse tunnel and the away-from-home procedures stop.
    move_tunnel(home, std::nullopt);
    home.pending_send.reset();
    home.refresh_at.reset();
    home.solicit_at.reset();
    home.dhaad.retransmit_at.reset();
    home.solicit.retransmit_at.reset();
    home.awaiting_prefixes = false;
    home.refresh_deferred = false;
    auto* entry = current_entry(home);
    bool binding_may_exist = home.registered_with || (entry && entry->sent_any);
    if (!binding_may_exist) {
      home.state = HomeState::kAtHome;
      continue;
    }
    // §11.5.5 step 3: delete the binding at the home agent.
    home.state = HomeState::kDeregistering;
    register_home(home, now);
  }
}

HomeState MobileNode::state(const Ipv6Address& home_address) const {
  const Home* home = find_home(home_address);
  return home ? home->state : HomeState::kIdle;
}

std::optional<Ipv6Address> MobileNode::home_agent(const Ipv6Address& home_address) const {
  const Home* home = find_home(home_address);
  return home ? target_ha(*home) : std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Received signalling

void MobileNode::on_mobility(const RxPacket& packet, TimePoint now) {
  MhInput input = check_mobility_header(packet);
  if (input.verdict == MhVerdict::kBadChecksum) {  // §9.2: silently discarded
    ++counters_.dropped_bad_checksum;
    return;
  }
  if (input.verdict != MhVerdict::kAccept) {
    ++counters_.dropped_malformed;
    return;
  }
  const auto& message = input.header.message;
  if (std::holds_alternative<wire::BindingAcknowledgement>(message)) {
    on_binding_ack(packet, input.header, now);
  } else if (std::holds_alternative<wire::BindingRefreshRequest>(message)) {
    on_refresh_request(packet, now);
  } else if (const auto* be = std::get_if<wire::BindingError>(&message)) {
    on_binding_error(packet, *be, now);
  } else {
    // HoT/CoT belong to the RouteOptimization component; a BU is not for a mobile node.
    ++counters_.dropped_unexpected_mh;
  }
}

void MobileNode::on_binding_ack(const RxPacket& packet, const wire::MobilityHeader& mh,
                                TimePoint now) {
  const auto& ba = std::get<wire::BindingAcknowledgement>(mh.message);
  ++counters_.ba_received;
  const auto& layout = packet.layout;
  Ipv6Address home_address = layout.type2_address.value_or(layout.ipv6.destination);
  Home* home = home_for_ha(layout.ipv6.source, home_address);
  BindingUpdateListEntry* entry = home ? current_entry(*home) : nullptr;
  if (entry == nullptr) {  // §11.7.3: no Binding Update went to that node
    ++counters_.dropped_unknown_sender;
    return;
  }
  // §11.7.3, §6.4: away from home, a BA from the home agent comes with a Type 2 Routing header
  // carrying the home address; at home (de-registration) it comes straight to the home address.
  if (home->state != HomeState::kDeregistering && !layout.type2_address) {
    ++counters_.dropped_no_type2;
    return;
  }
  if (!reply_protected_enough(packet)) return;  // §11.7.3: "MUST be protected" per policy
  if (!entry->awaiting_ack) {
    ++counters_.dropped_sequence;
    return;
  }
  // §11.7.3: status 135 carries the home agent's last accepted number, not ours.
  if (ba.status != wire::kBaStatusSequenceNumberOutOfWindow &&
      ba.sequence_number != entry->sequence) {
    ++counters_.dropped_sequence;
    return;
  }
  if (config_.log_bindings) {
    log(LogLevel::kInfo, "BA from " + layout.ipv6.source.to_string() + " status " +
                             std::to_string(ba.status) + " lifetime " +
                             std::to_string(ba.lifetime_seconds()) + "s");
  }
  if (ba.accepted()) {
    ++counters_.ba_accepted;
    on_ba_accepted(*home, *entry, mh, now);
  } else {
    ++counters_.ba_rejected;
    on_ba_rejected(*home, *entry, ba, now);
  }
}

void MobileNode::on_ba_accepted(Home& home, BindingUpdateListEntry& entry,
                                const wire::MobilityHeader& mh, TimePoint now) {
  const auto& ba = std::get<wire::BindingAcknowledgement>(mh.message);
  Duration granted = std::chrono::seconds(ba.lifetime_seconds());
  BindingUpdateList::acknowledge(entry, granted, now);
  if (home.state == HomeState::kDeregistering) {
    // §11.5.5 step 6: the binding is gone; claim the home address back on the home link.
    ++counters_.deregistrations;
    list_.erase(entry.destination, entry.home_address);
    home.registered_with.reset();
    home.home_agent_sent_mld = false;
    home.state = HomeState::kAtHome;
    send_advertisements(home, now);
    return;
  }
  bool refresh = home.registered_with == entry.destination;
  if (!refresh) home.home_agent_sent_mld = false;  // a new tunnel (draft-04 §10)
  ++(refresh ? counters_.refreshes : counters_.registrations);
  home.registered_with = entry.destination;
  home.state = HomeState::kRegistered;
  // §11.7.3 / §6.2.4: refresh at the Binding Refresh Advice interval from the home agent, and
  // in any case before the binding expires.
  TimePoint sent = entry.last_sent.value_or(now);
  home.refresh_at = sent + std::chrono::duration_cast<Duration>(granted * config_.refresh_fraction);
  if (const auto* advice = wire::find_option<wire::BindingRefreshAdvice>(mh)) {
    TimePoint at_advice = now + advice->refresh_interval * kLifetimeUnit;
    if (at_advice < *home.refresh_at) home.refresh_at = at_advice;
  }
  home.refresh_deferred = false;
  // §11.7.3: status 1: learn the home prefixes (§11.4.2) before registering again.
  if (ba.status == wire::kBaStatusAcceptedPrefixDiscoveryNecessary) {
    home.awaiting_prefixes = true;
    start_solicit(home, now);
  }
}

void MobileNode::on_ba_rejected(Home& home, BindingUpdateListEntry& entry,
                                const wire::BindingAcknowledgement& ba, TimePoint now) {
  entry.awaiting_ack = false;
  entry.retransmit_at.reset();
  std::string what = "BA status " + std::to_string(ba.status) + " (" +
                     std::string(wire::ba_status_name(ba.status)) + ") for " +
                     home.config.home_address.to_string();
  if (ba.status == wire::kBaStatusSequenceNumberOutOfWindow) {
    // §11.7.3, SEEDS §3.4: continue from the home agent's number, + 1.
    BindingUpdateList::adopt_sequence(entry, ba.sequence_number);
    register_home(home, now);
  } else if (home.state == HomeState::kDeregistering) {
    log(LogLevel::kWarn, what + ": de-registration refused");
    home.state = HomeState::kAtHome;
  } else if (ba.status == wire::kBaStatusDuplicateAddressDetectionFailed) {
    // §11.7.3: 134: the home address is in use on the home link; never use it again.
    give_up(home, "duplicate address detection failed at the home agent", now);
  } else if (ba.status >= wire::kBaStatusAdministrativelyProhibited &&
             ba.status <= wire::kBaStatusNotHomeAgentForThisMobileNode) {
    // §11.7.3, §11.4.1: 129-133: this home agent will not serve us; try the next one.
    log(LogLevel::kWarn, what + ": trying the next home agent");
    next_home_agent(home, now);
  } else {
    log(LogLevel::kWarn, what + ": registration stopped");
  }
}

void MobileNode::on_refresh_request(const RxPacket& packet, TimePoint now) {
  ++counters_.brr_received;
  const auto& layout = packet.layout;
  Ipv6Address home_address = layout.type2_address.value_or(layout.ipv6.destination);
  Home* home = home_for_ha(layout.ipv6.source, home_address);
  // §11.7.4: only from a node in the Binding Update List, here the home agent we are
  // registered with (anything else could make us send BUs on an attacker's behalf).
  if (home == nullptr || home->state != HomeState::kRegistered ||
      home->registered_with != layout.ipv6.source) {
    ++counters_.dropped_unknown_sender;
    return;
  }
  if (!reply_protected_enough(packet)) return;
  register_home(*home, now);
}

void MobileNode::on_binding_error(const RxPacket& packet, const wire::BindingError& be,
                                  TimePoint now) {
  ++counters_.be_received;
  const auto& layout = packet.layout;
  Ipv6Address home_address = be.home_address.is_unspecified()
                                 ? layout.type2_address.value_or(layout.ipv6.destination)
                                 : be.home_address;
  Home* home = home_for_ha(layout.ipv6.source, home_address);
  BindingUpdateListEntry* entry = home ? current_entry(*home) : nullptr;
  // §11.3.6: ignored unless the sender is in the Binding Update List.
  if (entry == nullptr) {
    ++counters_.dropped_unknown_sender;
    return;
  }
  if (be.status == wire::kBeStatusUnknownBindingForHomeAddressDestinationOption) {
    // §11.3.6: status 1 from the home agent: it lost the binding; register again.
    if (home->state == HomeState::kRegistered || home->state == HomeState::kRegistering)
      register_home(*home, now);
  } else if (be.status == wire::kBeStatusUnrecognizedMhType && entry->awaiting_ack) {
    // §11.3.6: status 2 while waiting for a reply: the home agent does not know Binding
    // Updates; stop sending them to it.
    entry->do_not_send = true;
    entry->do_not_send_since = now;
    entry->awaiting_ack = false;
    entry->retransmit_at.reset();
    log(LogLevel::kWarn, "home agent " + entry->destination.to_string() +
                             " does not recognise Binding Updates; not sending more");
  }
}

void MobileNode::on_icmpv6(const RxPacket& packet, TimePoint now) {
  auto input = check_icmpv6(packet);
  if (input.verdict != IcmpVerdict::kAccept) {
    ++counters_.dropped_bad_icmp;
    return;
  }
  const auto* decoded = &input.message;
  if (const auto* ns = std::get_if<wire::NeighborSolicitation>(&decoded->body)) {
    on_neighbor_solicitation(packet, *ns);
  } else if (const auto* reply =
                 std::get_if<wire::HomeAgentAddressDiscoveryReply>(&decoded->body)) {
    on_dhaad_reply(packet, *reply, now);
  } else if (const auto* mpa = std::get_if<wire::MobilePrefixAdvertisement>(&decoded->body)) {
    on_mpa(packet, *mpa, now);
  }
}

void MobileNode::on_dhaad_reply(const RxPacket& packet,
                                const wire::HomeAgentAddressDiscoveryReply& reply, TimePoint now) {
  for (auto& home : homes_) {
    // §11.4.1: the reply answers our request: same identifier, to our care-of address.
    if (home.state != HomeState::kDiscovering || home.dhaad.identifier != reply.identifier ||
        !care_of_ || packet.layout.ipv6.destination != care_of_->address)
      continue;
    if (reply.home_agent_addresses.empty()) return;  // keep asking
    ++counters_.dhaad_replies;
    home.dhaad.retransmit_at.reset();
    home.candidates = reply.home_agent_addresses;
    // §11.4.1: with a registration still valid, the current home agent is tried first.
    if (home.registered_with) {
      auto it = std::find(home.candidates.begin(), home.candidates.end(), *home.registered_with);
      if (it != home.candidates.end()) std::rotate(home.candidates.begin(), it, it + 1);
    }
    home.candidate = 0;
    home.state = HomeState::kRegistering;
    register_home(home, now);
    return;
  }
  ++counters_.dropped_bad_icmp;
}

void MobileNode::on_mpa(const RxPacket& packet, const wire::MobilePrefixAdvertisement& mpa,
                        TimePoint now) {
  const auto& layout = packet.layout;
  Home* home = layout.type2_address ? find_home(*layout.type2_address) : nullptr;
  // §11.4.3: from the home agent of the last accepted registration (or the stored one), with a
  // Type 2 Routing header; otherwise silently discarded.
  std::optional<Ipv6Address> ha;
  if (home) ha = home->registered_with ? home->registered_with : target_ha(*home);
  if (!home || !ha || layout.ipv6.source != *ha || !reply_protected_enough(packet)) {
    ++counters_.mpa_discarded;
    return;
  }
  // §11.4.3: solicited = the identifier of the most recent MPS, and the first MPA for it.
  if (!home->solicit.outstanding || mpa.identifier != home->solicit.identifier) {
    ++counters_.mpa_discarded;
    // §11.4.3: "SHOULD send a Mobile Prefix Solicitation": the outstanding one again if there
    // is one (a new identifier would orphan the answer already on its way), else a new one.
    if (home->solicit.outstanding)
      send_mps(*home, now);
    else
      start_solicit(*home, now);
    return;
  }
  ++counters_.mpa_accepted;
  home->solicit.outstanding = false;
  home->solicit.retransmit_at.reset();
  for (auto& formed : apply_prefixes(*home, mpa, now)) {
    std::optional<Duration> valid;
    for (const auto& option : mpa.options) {
      const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
      if (pio && formed.home_address.in_prefix(pio->prefix, pio->prefix_length) &&
          pio->valid_lifetime != kInfiniteLifetime)
        valid = std::chrono::seconds(pio->valid_lifetime);
    }
    add_home(std::move(formed), valid, now);
  }
}

// §11.4.3: the PIOs of an accepted MPA are processed "as if they arrived in a Router
// Advertisement on the mobile node's home link": a new autonomous (A) /64 forms a home address
// with the same interface identifier (RFC 4862 §5.5.3 d), registered with the same home agent.
std::optional<HomeAddressConfig> MobileNode::formed_home(const Home& home,
                                                         const wire::PrefixInformationOption& pio,
                                                         const Ipv6Address& agent) const {
  if (!pio.a || pio.prefix_length != 64 || pio.valid_lifetime == 0 ||
      pio.preferred_lifetime > pio.valid_lifetime || pio.prefix.is_link_local() ||
      pio.prefix.is_multicast())
    return std::nullopt;
  for (const auto& other : homes_) {
    if (other.config.home_address.in_prefix(pio.prefix, pio.prefix_length)) return std::nullopt;
  }
  HomeAddressConfig config;
  config.home_address = masked(pio.prefix, 64);
  std::copy(home.config.home_address.bytes.begin() + 8, home.config.home_address.bytes.end(),
            config.home_address.bytes.begin() + 8);
  config.prefix_length = 64;
  config.home_agents = {agent};
  return config;
}

void MobileNode::add_home(HomeAddressConfig config, std::optional<Duration> valid, TimePoint now) {
  ++counters_.home_addresses_formed;
  log(LogLevel::kInfo, "home address " + config.home_address.to_string() +
                           " formed from a Mobile Prefix Advertisement");
  detector_.add_home_prefix(
      HomeLinkPrefix{masked(config.home_address, config.prefix_length), config.prefix_length}, now);
  Home home = make_home(config);
  if (valid) {
    home.valid_until = now + *valid;
    home.solicit_at = std::max(now, *home.valid_until - config_.prefix_solicit_lead);
  }
  homes_.push_back(std::move(home));
  ro_homes_.resize(homes_.size());
  // Away from home: register it at once (§11.7.1), like the others after a move.
  if (care_of_ && !detector_.at_home()) start(homes_.back(), now);
}

std::vector<HomeAddressConfig> MobileNode::apply_prefixes(
    Home& home, const wire::MobilePrefixAdvertisement& mpa, TimePoint now) {
  std::vector<HomeAddressConfig> formed;
  const auto agent = home.registered_with ? home.registered_with : target_ha(home);
  for (const auto& option : mpa.options) {
    const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
    if (!pio) continue;
    if (!home.config.home_address.in_prefix(pio->prefix, pio->prefix_length)) {
      if (agent) {
        if (auto config = formed_home(home, *pio, *agent)) formed.push_back(std::move(*config));
      }
      continue;
    }
    // §11.4.3: processed as a PIO in an RA on the home link: it sets the home address's
    // valid lifetime (RFC 4862 §5.5.3), so the solicitation before it ends (§11.4.2).
    if (pio->valid_lifetime == kInfiniteLifetime) {
      home.valid_until.reset();
      home.solicit_at.reset();
    } else {
      home.valid_until = now + std::chrono::seconds(pio->valid_lifetime);
      home.solicit_at = std::max(now, *home.valid_until - config_.prefix_solicit_lead);
    }
  }
  bool reregister = home.refresh_deferred;
  home.awaiting_prefixes = false;
  home.refresh_deferred = false;
  // §11.4.2: a binding must not outlive the home address's valid lifetime.
  auto* entry = current_entry(home);
  if (home.state == HomeState::kRegistered && entry && entry->expiry && home.valid_until &&
      *home.valid_until < *entry->expiry)
    reregister = true;
  if (reregister && home.state == HomeState::kRegistered) register_home(home, now);
  return formed;
}

// ---------------------------------------------------------------------------------------------
// Home registration (§11.7.1)

void MobileNode::start(Home& home, TimePoint now) {
  if (home.candidate >= home.candidates.size()) {
    // Discovery mode, or every home agent tried: start over (§11.4.1).
    home.candidate = 0;
    if (home.config.home_agents.empty()) {
      home.candidates.clear();
      start_dhaad(home, now);
      return;
    }
    home.candidates = home.config.home_agents;
  }
  home.state = HomeState::kRegistering;
  register_home(home, now);
}

std::optional<Ipv6Address> MobileNode::target_ha(const Home& home) const {
  if (home.state == HomeState::kDeregistering && home.registered_with) return home.registered_with;
  if (home.candidate < home.candidates.size()) return home.candidates[home.candidate];
  return std::nullopt;
}

BindingUpdateListEntry* MobileNode::current_entry(Home& home) {
  auto ha = target_ha(home);
  return ha ? list_.find(*ha, home.config.home_address) : nullptr;
}

void MobileNode::register_home(Home& home, TimePoint now, bool retransmission) {
  auto ha = target_ha(home);
  bool deregistering = home.state == HomeState::kDeregistering;
  if (!ha || (!care_of_ && !deregistering)) return;
  auto& entry = list_.find_or_insert(*ha, home.config.home_address);
  entry.home_registration = true;
  if (entry.do_not_send) return;  // §11.1, §11.3.6
  if (!retransmission) {
    // §11.8: InitialBindackTimeoutFirstReg when the home agent holds no binding for us yet
    // (it runs DAD first, §10.3.1), INITIAL_BINDACK_TIMEOUT otherwise.
    bool has_binding = home.registered_with == *ha && entry.expiry && *entry.expiry > now;
    entry.retransmit_timeout =
        has_binding ? kInitialBindackTimeout : config_.initial_bindack_timeout_first_reg;
    entry.sends_at_max_timeout = 0;
  }
  // §11.8: MAX_UPDATE_RATE Binding Updates a second to one destination at most.
  if (!list_.rate_allows(*ha, now)) {
    ++counters_.bu_rate_limited;
    home.pending_send = list_.next_allowed(*ha, now);
    entry.retransmit_at.reset();
    return;
  }
  send_home_bu(home, entry, retransmission, now);
}

std::optional<Duration> MobileNode::registration_lifetime(const Home& home, TimePoint now) const {
  // §11.7.1: no longer than policy, than the care-of address's and than the home address's
  // remaining valid lifetimes.
  Duration lifetime = config_.registration_lifetime;
  if (care_of_valid_until_) lifetime = std::min(lifetime, *care_of_valid_until_ - now);
  if (home.valid_until) lifetime = std::min(lifetime, *home.valid_until - now);
  std::uint16_t units = to_units(lifetime);
  if (units == 0) return std::nullopt;
  return units * kLifetimeUnit;
}

void MobileNode::send_home_bu(Home& home, BindingUpdateListEntry& entry, bool retransmission,
                              TimePoint now) {
  const Ipv6Address& home_address = home.config.home_address;
  bool deregistering = home.state == HomeState::kDeregistering;
  Duration lifetime{};
  if (!deregistering) {
    auto allowed = registration_lifetime(home, now);
    if (!allowed) {
      log(LogLevel::kWarn, "no lifetime left to register " + home_address.to_string());
      return;
    }
    lifetime = *allowed;
  }
  wire::BindingUpdate bu;
  bu.sequence_number = BindingUpdateList::next_sequence(entry);
  bu.lifetime = to_units(lifetime);
  bu.set_flag(wire::kBuFlagA, true);  // §11.7.1: A = 1, H = 1
  bu.set_flag(wire::kBuFlagH, true);
  bu.set_flag(wire::kBuFlagL, home.link_local_compatible && !deregistering);
  wire::MobilityHeader mh;
  mh.message = bu;
  Transmit transmit;
  transmit.protect = config_.protection;
  Ipv6Address care_of = home_address;
  if (deregistering) {
    // §11.5.5 step 3: from the home address, no Home Address option, lifetime 0, care-of
    // address = home address, to the home agent's link-layer address.
    transmit.packet = build_mobility_packet(
        {home_address, entry.destination, std::nullopt, std::nullopt, 64}, mh);
    transmit.ifindex = home.home_link->ifindex;
    transmit.link_destination = home.home_link->home_agent_link_address;
  } else {
    // §11.7.1: from the care-of address, Home Address option = home address, and the
    // Alternate Care-of Address option (so that IPsec covers the care-of address).
    care_of = care_of_->address;
    mh.options.push_back(wire::AlternateCareOfAddress{care_of});
    transmit.packet =
        build_mobility_packet({care_of, entry.destination, home_address, std::nullopt, 64}, mh);
    transmit.ifindex = care_of_->ifindex;
  }
  emit(std::move(transmit));
  list_.record_send(entry, lifetime, now);
  entry.care_of_address = care_of;
  entry.awaiting_ack = true;
  if (entry.retransmit_timeout >= kMaxBindackTimeout) ++entry.sends_at_max_timeout;
  entry.retransmit_at = now + entry.retransmit_timeout;
  ++(retransmission ? counters_.bu_retransmitted : counters_.bu_sent);
  if (config_.log_bindings) {
    log(LogLevel::kInfo, "BU to " + entry.destination.to_string() + " HoA " +
                             home_address.to_string() + " CoA " + care_of.to_string() + " seq " +
                             std::to_string(bu.sequence_number) + " lifetime " +
                             seconds_text(lifetime));
  }
  // §11.6.3: the new primary care-of address is the tunnel source as soon as the BU is sent.
  if (!deregistering)
    move_tunnel(home, TunnelRoute{Change::kAdd, home_address, care_of, entry.destination});
}

void MobileNode::on_retransmit_timeout(Home& home, BindingUpdateListEntry& entry, TimePoint now) {
  entry.retransmit_at.reset();
  bool other_home_agent = home.candidate + 1 < home.candidates.size();
  // §11.8, SEEDS §3.2.7: once the back-off reached MAX_BINDACK_TIMEOUT without an answer, try
  // the next home agent; with none left, keep retrying at that rate.
  if (home.state == HomeState::kRegistering && other_home_agent &&
      entry.sends_at_max_timeout >= config_.max_timeout_attempts) {
    log(LogLevel::kWarn,
        "home agent " + entry.destination.to_string() + " does not answer; trying the next one");
    next_home_agent(home, now);
    return;
  }
  // §11.8: exponential back-off, each retransmission with a new sequence number.
  entry.retransmit_timeout = std::min(entry.retransmit_timeout * 2, kMaxBindackTimeout);
  register_home(home, now, true);
}

void MobileNode::next_home_agent(Home& home, TimePoint now) {
  if (auto ha = target_ha(home)) {
    if (home.registered_with != *ha) list_.erase(*ha, home.config.home_address);
  }
  ++home.candidate;
  ++counters_.failovers;
  if (home.candidate >= home.candidates.size()) {
    log(LogLevel::kError,
        "no home agent accepted home address " + home.config.home_address.to_string());
    move_tunnel(home, std::nullopt);
    home.state = HomeState::kIdle;
    return;
  }
  home.state = HomeState::kRegistering;
  register_home(home, now);
}

void MobileNode::give_up(Home& home, std::string_view why, TimePoint) {
  ++counters_.home_addresses_given_up;
  log(LogLevel::kError,
      "giving up home address " + home.config.home_address.to_string() + ": " + std::string(why));
  if (auto ha = target_ha(home)) list_.erase(*ha, home.config.home_address);
  move_tunnel(home, std::nullopt);
  home.state = HomeState::kFailed;
  home.pending_send.reset();
  home.refresh_at.reset();
  home.solicit_at.reset();
  home.dhaad.retransmit_at.reset();
  home.solicit.retransmit_at.reset();
}

void MobileNode::move_tunnel(Home& home, std::optional<TunnelRoute> route) {
  if (home.tunnel && route && same_route(*home.tunnel, *route)) return;
  if (home.tunnel) {
    TunnelRoute removal = *home.tunnel;
    removal.change = Change::kRemove;
    emit(removal);
  }
  home.tunnel = route;
  if (route) emit(*route);
}

// ---------------------------------------------------------------------------------------------
// Home agent discovery (§11.4.1) and mobile prefix discovery (§11.4.2)

void MobileNode::start_dhaad(Home& home, TimePoint now) {
  if (!care_of_) return;
  home.state = HomeState::kDiscovering;
  home.dhaad.identifier = rng_.next_u16();  // §11.4.1: a random identifier
  home.dhaad.sent = 0;
  home.dhaad.timeout = kInitialDhaadTimeout;
  send_dhaad(home, now);
}

void MobileNode::send_dhaad(Home& home, TimePoint now) {
  auto anycast = wire::home_agents_anycast(home.config.home_address, home.config.prefix_length);
  if (!anycast) {
    give_up(home, "home prefix too long for a home agents anycast address", now);
    return;
  }
  wire::Icmpv6Message message;
  message.body = wire::HomeAgentAddressDiscoveryRequest{home.dhaad.identifier, 0};
  // §11.4.1: from the care-of address to the Home-Agents anycast address of the home prefix.
  emit(Transmit{
      build_icmpv6_packet({care_of_->address, *anycast, std::nullopt, std::nullopt, 64}, message),
      care_of_->ifindex, std::nullopt, Protection::kNone});
  ++counters_.dhaad_sent;
  ++home.dhaad.sent;
  home.dhaad.retransmit_at = now + home.dhaad.timeout;
}

void MobileNode::start_solicit(Home& home, TimePoint now) {
  if (!care_of_ || !target_ha(home)) return;
  home.solicit.identifier = rng_.next_u16();  // §11.4.2: a random identifier
  home.solicit.outstanding = true;
  home.solicit.timeout = kInitialSolicitTimer;  // §11.8
  send_mps(home, now);
}

void MobileNode::send_mps(Home& home, TimePoint now) {
  auto ha = home.registered_with ? home.registered_with : target_ha(home);
  if (!care_of_ || !ha) return;
  wire::Icmpv6Message message;
  message.body = wire::MobilePrefixSolicitation{home.solicit.identifier, 0, {}};
  // §11.4.2: to the home agent, with the Home Address option, protected per policy.
  emit(Transmit{build_icmpv6_packet(
                    {care_of_->address, *ha, home.config.home_address, std::nullopt, 64}, message),
                care_of_->ifindex, std::nullopt, config_.protection});
  ++counters_.mps_sent;
  home.solicit.retransmit_at = now + home.solicit.timeout;
}

void MobileNode::send_advertisements(Home& home, TimePoint now) {
  // §11.5.5 step 6: for each home address, link-local included when L was used.
  home.advertise.targets = {home.config.home_address};
  if (home.link_local_compatible)
    home.advertise.targets.push_back(derived_link_local(home.config.home_address));
  home.advertise.remaining = kMaxNeighborAdvertisement;
  home.advertise.next = now;
  run_home_timers(home, now);
}

// ---------------------------------------------------------------------------------------------
// Timers

void MobileNode::run_home_timers(Home& home, TimePoint now) {
  if (due(home.pending_send, now)) {
    home.pending_send.reset();
    register_home(home, now);
  }
  if (auto* entry = current_entry(home); entry && due(entry->retransmit_at, now))
    on_retransmit_timeout(home, *entry, now);
  if (due(home.dhaad.retransmit_at, now)) on_dhaad_timeout(home, now);
  if (due(home.solicit.retransmit_at, now)) {
    home.solicit.timeout = std::min(home.solicit.timeout * 2, kMaxBindackTimeout);
    send_mps(home, now);
  }
  if (due(home.solicit_at, now)) {
    home.solicit_at.reset();
    start_solicit(home, now);
  }
  if (due(home.refresh_at, now)) {
    home.refresh_at.reset();
    // §11.7.3 status 1: no re-registration until the prefixes are known.
    if (home.awaiting_prefixes)
      home.refresh_deferred = true;
    else if (home.state == HomeState::kRegistered)
      register_home(home, now);
  }
  if (auto* entry = current_entry(home); entry && due(entry->expiry, now))
    on_binding_expired(home, *entry, now);
  if (due(home.advertise.next, now)) send_neighbor_advertisements(home, now);
}

void MobileNode::on_dhaad_timeout(Home& home, TimePoint now) {
  home.dhaad.retransmit_at.reset();
  // §11.4.1: up to DHAAD_RETRIES requests, each wait twice the previous.
  if (home.dhaad.sent >= kDhaadRetries) {
    ++counters_.dhaad_failed;
    home.state = HomeState::kIdle;
    log(LogLevel::kError,
        "home agent discovery failed for " + home.config.home_address.to_string());
    return;
  }
  home.dhaad.timeout *= 2;
  send_dhaad(home, now);
}

void MobileNode::on_binding_expired(Home& home, BindingUpdateListEntry& entry, TimePoint now) {
  entry.expiry.reset();
  if (home.state == HomeState::kRegistered) {
    // The binding lapsed at the home agent (§11.1: remaining lifetime 0): register anew.
    log(LogLevel::kWarn,
        "home registration of " + home.config.home_address.to_string() + " expired");
    home.registered_with.reset();
    home.home_agent_sent_mld = false;
    home.state = HomeState::kRegistering;
    home.awaiting_prefixes = false;
    register_home(home, now);
  } else if (home.state == HomeState::kDeregistering) {
    // Unanswered, but the binding is gone anyway (§11.5.5 step 4).
    list_.erase(entry.destination, entry.home_address);
    home.registered_with.reset();
    home.home_agent_sent_mld = false;
    home.state = HomeState::kAtHome;
    send_advertisements(home, now);
  }
}

void MobileNode::send_neighbor_advertisements(Home& home, TimePoint now) {
  home.advertise.next.reset();
  if (!home.home_link) return;
  wire::Bytes tlla;
  for (auto octet : home.home_link->link_layer_address)
    tlla.push_back(static_cast<std::byte>(octet));
  for (const auto& target : home.advertise.targets) {
    // §11.5.5 step 6: S = 0, O = 1 (override the home agent's proxy entries), TLLA = our
    // link-layer address, to all-nodes with hop limit 255 (RFC 4861 §7.2.6).
    wire::NeighborAdvertisement na;
    na.o = true;
    na.target_address = target;
    na.options = {wire::NdOption{wire::TargetLinkLayerAddressOption{tlla}}};
    wire::Icmpv6Message message;
    message.body = std::move(na);
    emit(Transmit{
        build_icmpv6_packet({home.config.home_address, kAllNodes, std::nullopt, std::nullopt, 255},
                            message),
        home.home_link->ifindex, std::nullopt, Protection::kNone});
    ++counters_.na_sent;
  }
  // §11.5.5: up to MAX_NEIGHBOR_ADVERTISEMENT times; RFC 4861 §7.2.6: RetransTimer apart.
  if (--home.advertise.remaining > 0) home.advertise.next = now + kRetransTimer;
}

// ---------------------------------------------------------------------------------------------

MobileNode::Home* MobileNode::find_home(const Ipv6Address& home_address) {
  for (auto& home : homes_) {
    if (home.config.home_address == home_address) return &home;
  }
  return nullptr;
}

const MobileNode::Home* MobileNode::find_home(const Ipv6Address& home_address) const {
  for (const auto& home : homes_) {
    if (home.config.home_address == home_address) return &home;
  }
  return nullptr;
}

MobileNode::Home* MobileNode::home_for_ha(const Ipv6Address& ha, const Ipv6Address& home_address) {
  Home* home = find_home(home_address);
  if (home == nullptr) return nullptr;
  auto target = target_ha(*home);
  return target && *target == ha ? home : nullptr;
}

bool MobileNode::reply_protected_enough(const RxPacket& packet) {
  if (!config_.require_protected_replies || packet.protection != Protection::kNone) return true;
  ++counters_.dropped_unprotected;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Composition: movement detection (§11.5) and route optimisation (§11.6, §11.7.2)

void MobileNode::after_input(TimePoint now) {
  // A decision may lead to more (set_primary_care_of does not feed the detector, so this ends).
  for (auto decisions = detector_.take_decisions(); !decisions.empty();
       decisions = detector_.take_decisions()) {
    for (const auto& decision : decisions)
      carry_out(decision, now);
  }
  sync_route_optimization(now);
  for (auto& action : ro_.take_actions())
    emit(std::move(action));
}

void MobileNode::carry_out(const MovementDecision& decision, TimePoint now) {
  if (const auto* rs = std::get_if<SendRouterSolicitation>(&decision)) {
    send_router_solicitation(*rs);
  } else if (const auto* probe = std::get_if<ProbeRouter>(&decision)) {
    send_router_probe(*probe);
  } else if (const auto* moved = std::get_if<MovedTo>(&decision)) {
    on_moved(*moved, now);
  } else if (const auto* home = std::get_if<AtHome>(&decision)) {
    on_at_home(*home, now);
  } else if (const auto* lost = std::get_if<CareOfLost>(&decision)) {
    // §11.5.4: without a usable primary care-of address nothing can be registered; a lost
    // non-primary one only stops being accepted (the detector's business).
    if (lost->was_primary) set_primary_care_of(std::nullopt, now);
  }
}

void MobileNode::send_router_solicitation(const SendRouterSolicitation& rs) {
  // RFC 4861 §6.3.7, §4.1: to all-routers, hop limit 255, from a link-local address (with our
  // SLLAO) or, without one, from the unspecified address (and then no SLLAO, §4.1).
  wire::RouterSolicitation solicitation;
  Ipv6Address source{};
  if (auto link_local = link_local_address_of(rs.ifindex)) {
    source = *link_local;
    solicitation.options = {wire::NdOption{
        wire::SourceLinkLayerAddressOption{link_layer_bytes(link_layer_address_of(rs.ifindex))}}};
  }
  wire::Icmpv6Message message;
  message.body = std::move(solicitation);
  emit(
      Transmit{build_icmpv6_packet({source, kAllRouters, std::nullopt, std::nullopt, 255}, message),
               rs.ifindex, std::nullopt, Protection::kNone});
  ++counters_.rs_sent;
}

void MobileNode::send_router_probe(const ProbeRouter& probe) {
  // §11.5.1, RFC 4861 §7.3.3: a unicast Neighbor Solicitation to the router, hop limit 255;
  // the data plane reports the outcome as a NeighborReachability event.
  Ipv6Address source{};
  if (auto link_local = link_local_address_of(probe.ifindex)) {
    source = *link_local;
  } else if (care_of_) {
    source = care_of_->address;
  }
  wire::NeighborSolicitation ns;
  ns.target_address = probe.address;
  if (!source.is_unspecified()) {
    ns.options = {wire::NdOption{wire::SourceLinkLayerAddressOption{
        link_layer_bytes(link_layer_address_of(probe.ifindex))}}};
  }
  wire::Icmpv6Message message;
  message.body = std::move(ns);
  emit(Transmit{
      build_icmpv6_packet({source, probe.address, std::nullopt, std::nullopt, 255}, message),
      probe.ifindex, std::nullopt, Protection::kNone});
  ++counters_.router_probes_sent;
}

void MobileNode::on_moved(const MovedTo& moved, TimePoint now) {
  // §11.5.4, §11.7.1: register the new primary care-of address; leaving home cancels any
  // home-agent resolution still running.
  resolving_.clear();
  // draft-04 §9.6: a router advertising itself as a home agent (H bit) with a global R-bit
  // address can forward from this care-of address after the next move.
  std::optional<Ipv6Address> agent;
  for (const auto& router : detector_.routers()) {
    if (router.ifindex != moved.ifindex || router.link_local_address != moved.router ||
        !router.home_agent)
      continue;
    if (moved.router_global) {
      agent = moved.router_global;
    } else if (!router.global_addresses.empty()) {
      agent = router.global_addresses.front();
    }
  }
  set_primary_care_of(CareOf{moved.care_of_address, moved.ifindex, moved.valid_lifetime}, now);
  learned_agent_.reset();
  if (agent) learned_agent_ = std::make_pair(moved.care_of_address, *agent);
}

void MobileNode::on_at_home(const AtHome& at_home, TimePoint now) {
  HomeLink link;
  link.ifindex = at_home.ifindex;
  link.link_layer_address = link_layer_address_of(at_home.ifindex);
  link.prefix = at_home.home_prefix.prefix;
  link.prefix_length = at_home.home_prefix.prefix_length;
  // The home addresses of that prefix return home together (returned_home); the home agent of
  // the first of them is the one whose link-layer address is used.
  for (const auto& home : homes_) {
    if (!home.config.home_address.in_prefix(*link.prefix, link.prefix_length)) continue;
    auto ha = home.registered_with ? home.registered_with : target_ha(home);
    // §11.5.5 step 2: the router's link-layer address is the home agent's when the router is
    // that home agent (H bit, and its R-bit address, when sent, is the home agent's).
    const bool router_is_ha = at_home.router_is_home_agent && at_home.router_link_layer_address &&
                              (!ha || !at_home.router_global || *at_home.router_global == *ha);
    if (!ha || router_is_ha) {
      HomeLink direct = link;
      if (router_is_ha) direct.home_agent_link_address = at_home.router_link_layer_address;
      returned_home(direct, now);
      return;
    }
    const bool already = std::any_of(resolving_.begin(), resolving_.end(),
                                     [&](const Resolve& r) { return r.home_agent == *ha; });
    if (already) return;
    resolving_.push_back(Resolve{*ha, link, 0, now});
    solicit_home_agent(resolving_.back(), now);
    return;
  }
}

void MobileNode::solicit_home_agent(Resolve& resolve, TimePoint now) {
  // §11.5.5 step 2: our home address is still defended by the home agent, so the Neighbor
  // Solicitation comes from the unspecified address (the answer goes to all-nodes,
  // RFC 4861 §7.2.4), to the home agent's solicited-node group, hop limit 255.
  wire::NeighborSolicitation ns;
  ns.target_address = resolve.home_agent;
  wire::Icmpv6Message message;
  message.body = std::move(ns);
  emit(Transmit{build_icmpv6_packet({Ipv6Address{}, solicited_node(resolve.home_agent),
                                     std::nullopt, std::nullopt, 255},
                                    message),
                resolve.link.ifindex, std::nullopt, Protection::kNone});
  ++counters_.home_agent_solicitations;
  ++resolve.sent;
  resolve.next = now + kRetransTimer;
}

bool MobileNode::on_home_agent_advertisement(const RxPacket& packet, TimePoint now) {
  if (resolving_.empty() || packet.tunnel || packet.layout.ipv6.hop_limit != 255) return false;
  auto input = check_icmpv6(packet);
  const auto* na = input.verdict == IcmpVerdict::kAccept
                       ? std::get_if<wire::NeighborAdvertisement>(&input.message.body)
                       : nullptr;
  if (na == nullptr) return false;
  for (auto it = resolving_.begin(); it != resolving_.end(); ++it) {
    if (na->target_address != it->home_agent) continue;
    for (const auto& option : na->options) {
      const auto* tlla = std::get_if<wire::TargetLinkLayerAddressOption>(&option.body);
      if (!tlla || tlla->link_layer_address.size() != 6) continue;
      LinkLayerAddress address{};
      for (std::size_t i = 0; i < address.size(); ++i)
        address[i] = std::to_integer<std::uint8_t>(tlla->link_layer_address[i]);
      HomeLink link = it->link;
      link.home_agent_link_address = address;
      resolving_.erase(it);
      // §11.5.5 step 3: now the de-registration can go to the home agent's link-layer address.
      returned_home(link, now);
      return true;
    }
  }
  return false;
}

void MobileNode::run_resolve_timers(TimePoint now) {
  std::vector<HomeLink> give_up_on;
  for (auto& resolve : resolving_) {
    if (resolve.next > now) continue;
    if (resolve.sent < kMaxResolveSolicitations) {
      solicit_home_agent(resolve, now);
    } else {
      give_up_on.push_back(resolve.link);
    }
  }
  // RFC 4861 §7.2.2: MAX_MULTICAST_SOLICIT solicitations, RetransTimer apart, then give up.
  std::erase_if(resolving_, [now](const Resolve& r) {
    return r.sent >= kMaxResolveSolicitations && r.next <= now;
  });
  for (const auto& link : give_up_on) {
    log(LogLevel::kWarn, "home agent's link-layer address unknown; de-registering anyway");
    returned_home(link, now);
  }
}

RoHomeAddress MobileNode::ro_view(const Home& home) const {
  RoHomeAddress view;
  view.home_address = home.config.home_address;
  auto ha = home.registered_with ? home.registered_with : target_ha(home);
  view.home_agent = ha.value_or(Ipv6Address{});
  // §11.7.2: correspondent bindings live no longer than the home registration, which still
  // holds while a registration for a new care-of address is on its way.
  if (home.registered_with) {
    if (const auto* entry = list_.find(*home.registered_with, home.config.home_address))
      view.registration_expires = entry->expiry;
  }
  view.at_home = home.state == HomeState::kAtHome;
  return view;
}

std::optional<Ipv6Address> MobileNode::ro_care_of(TimePoint now) const {
  if (!care_of_) return std::nullopt;
  for (const auto& home : homes_) {
    if (home.home_link) return std::nullopt;  // at home (§11.5.5)
  }
  // §11.7.2: correspondents learn a new care-of address after the home agent accepted it.
  for (const auto& home : homes_) {
    if (home.state != HomeState::kRegistered || !home.registered_with) continue;
    const auto* entry = list_.find(*home.registered_with, home.config.home_address);
    if (entry && entry->care_of_address == care_of_->address && entry->expiry &&
        *entry->expiry > now)
      return care_of_->address;
  }
  return ro_care_of_;
}

void MobileNode::sync_route_optimization(TimePoint now) {
  for (std::size_t i = 0; i < homes_.size(); ++i) {
    // While de-registering, route optimisation stays as it was (see the header).
    if (homes_[i].state == HomeState::kDeregistering) continue;
    RoHomeAddress view = ro_view(homes_[i]);
    if (ro_homes_[i] && same_ro_home(*ro_homes_[i], view)) continue;
    ro_homes_[i] = view;
    ro_.set_home_address(view, now);
  }
  auto care_of = ro_care_of(now);
  if (care_of != ro_care_of_) {
    ro_care_of_ = care_of;
    ro_.set_primary_care_of_address(care_of, now);
  }
}

SendDecision MobileNode::send_path(const Ipv6Address& home_address,
                                   const Ipv6Address& correspondent, TimePoint now) {
  return ro_.send_path(home_address, correspondent, now);
}

// ---------------------------------------------------------------------------------------------
// Neighbor Solicitations for a home address on the home link (§11.5.5)

const MobileNode::Home* MobileNode::home_for_target(const Ipv6Address& target,
                                                    std::uint32_t ifindex) const {
  for (const auto& home : homes_) {
    if (!home.home_link || home.home_link->ifindex != ifindex) continue;
    // §11.5.5: "after the mobile node sends the Binding Update"; before that the home agent
    // still defends the address. At home and de-registered the node answers as any owner.
    bool answering = home.state == HomeState::kAtHome;
    if (home.state == HomeState::kDeregistering && home.registered_with) {
      const auto* entry = list_.find(*home.registered_with, home.config.home_address);
      answering = entry != nullptr && entry->awaiting_ack;
    }
    if (!answering) continue;
    // §11.5.5 step 4: the derived link-local address too when L was set.
    if (target == home.config.home_address ||
        (home.link_local_compatible && target == derived_link_local(home.config.home_address)))
      return &home;
  }
  return nullptr;
}

void MobileNode::on_neighbor_solicitation(const RxPacket& packet,
                                          const wire::NeighborSolicitation& ns) {
  // RFC 4861 §7.1.1: hop limit 255, i.e. from our link (and not through a tunnel).
  if (packet.tunnel || packet.layout.ipv6.hop_limit != 255) return;
  const Home* home = home_for_target(ns.target_address, packet.ifindex);
  if (home == nullptr) return;
  std::optional<LinkLayerAddress> solicitor = packet.link_source;
  bool has_sllao = false;
  for (const auto& option : ns.options) {
    if (const auto* sllao = std::get_if<wire::SourceLinkLayerAddressOption>(&option.body)) {
      has_sllao = true;
      if (auto address = to_link_layer(sllao->link_layer_address)) solicitor = address;
    }
  }
  const Ipv6Address& source = packet.layout.ipv6.source;
  const bool from_unspecified = source.is_unspecified();
  // RFC 4861 §7.1.1: no SLLAO from the unspecified address.
  if (from_unspecified && has_sllao) return;
  // §11.5.5: a unicast NA to the solicitor's link-layer address; RFC 4861 §7.2.4: S = 1, and
  // O = 1 since we own the address (the home agent's proxy entry must be overridden). A
  // solicitation from the unspecified address (someone's DAD) is answered to all-nodes, S = 0.
  wire::NeighborAdvertisement na;
  na.s = !from_unspecified;
  na.o = true;
  na.target_address = ns.target_address;
  na.options = {wire::NdOption{
      wire::TargetLinkLayerAddressOption{link_layer_bytes(home->home_link->link_layer_address)}}};
  wire::Icmpv6Message message;
  message.body = std::move(na);
  const Ipv6Address destination = from_unspecified ? kAllNodes : source;
  emit(Transmit{build_icmpv6_packet(
                    {ns.target_address, destination, std::nullopt, std::nullopt, 255}, message),
                home->home_link->ifindex, from_unspecified ? std::nullopt : solicitor,
                Protection::kNone});
  ++counters_.ns_answered;
}

// ---------------------------------------------------------------------------------------------
// Source address selection (SEEDS §3.2.6, draft-04 §9.1) and multicast (draft-04 §10)

const MobileNode::Home* MobileNode::usable_home() const {
  for (const auto& home : homes_) {
    if (home.state != HomeState::kFailed) return &home;
  }
  return nullptr;
}

Ipv6Address MobileNode::select_source(const Ipv6Address& destination, std::uint8_t protocol,
                                      std::uint16_t destination_port) const {
  const Home* home = usable_home();
  // Without a home address only the care-of address is left.
  if (home == nullptr) return care_of_ ? care_of_->address : Ipv6Address{};
  // At home, or with no care-of address, the home address is the node's only address.
  if (home->home_link || !care_of_) return home->config.home_address;
  // draft-04 §9.1: configured short-lived traffic avoids the detour through the home agent.
  if (prefers_care_of(config_.source_selection, destination, protocol, destination_port))
    return care_of_->address;
  // SEEDS §3.2.6: the home address is the default.
  return home->config.home_address;
}

void MobileNode::note_tunnelled_mld(const RxPacket& packet) {
  // draft-04 §10: the home agent's MLD message through the tunnel shows that it forwards
  // multicast for us; only then is membership through the tunnel used.
  if (packet.layout.upper_protocol != wire::kIcmpv6NextHeader || !packet.layout.upper_complete() ||
      packet.upper().empty() || !is_mld_type(std::to_integer<std::uint8_t>(packet.upper()[0])) ||
      !wire::verify_upper_checksum(packet.bytes, packet.layout))
    return;
  for (auto& home : homes_) {
    if (home.registered_with && *home.registered_with == packet.tunnel->source)
      home.home_agent_sent_mld = true;
  }
}

MulticastPath MobileNode::multicast_path(const Ipv6Address& group) const {
  using Kind = MulticastPath::Kind;
  const Home* home = usable_home();
  // At home the node is an ordinary node of its home link.
  if (home && home->home_link)
    return {Kind::kLocal, home->config.home_address, home->home_link->ifindex, {}, {}};
  if (!care_of_) return {};
  // §11.3.4 / draft-04 §10: local membership uses the care-of address and no Home Address
  // option, so that MLD on the visited link sees a topologically correct source.
  if (home == nullptr || multicast_mode(config_.multicast, group) == MulticastMode::kLocal)
    return {Kind::kLocal, care_of_->address, care_of_->ifindex, {}, {}};
  // draft-04 §10: through the tunnel only once a binding exists and the home agent has sent
  // an MLD message through it; inner source = the home address.
  if (!home->registered_with || !home->home_agent_sent_mld)
    return {Kind::kNotYet, home->config.home_address, care_of_->ifindex, {}, {}};
  return {Kind::kHomeTunnel, home->config.home_address, care_of_->ifindex, care_of_->address,
          home->registered_with};
}

// ---------------------------------------------------------------------------------------------
// Forwarding from the previous care-of address (draft-04 §9.6)

std::optional<Ipv6Address> MobileNode::agent_for(const Ipv6Address& care_of) const {
  if (learned_agent_ && learned_agent_->first == care_of) return learned_agent_->second;
  for (const auto& agent : config_.forwarding_agents) {
    if (care_of.in_prefix(agent.prefix, agent.prefix_length)) return agent.agent;
  }
  return std::nullopt;
}

void MobileNode::start_forwarding(const Ipv6Address& previous, TimePoint now) {
  // Forwardings still running follow the node to its newest care-of address.
  for (auto& forwarding : forwardings_) {
    if (forwarding.state == ForwardingState::kRejected || forwarding.previous_care_of == previous ||
        forwarding.care_of == care_of_->address)
      continue;
    forwarding.care_of = care_of_->address;
    forwarding.state = ForwardingState::kRegistering;
    send_forwarding_bu(forwarding, false, now);
  }
  auto agent = agent_for(previous);
  if (!agent || find_home(previous) != nullptr) return;
  std::erase_if(forwardings_, [&](const Forwarding& f) { return f.previous_care_of == previous; });
  auto& entry = list_.find_or_insert(*agent, previous);
  entry.home_registration = true;
  forwardings_.push_back(Forwarding{*agent, previous, care_of_->address,
                                    ForwardingState::kRegistering,
                                    now + config_.previous_care_of_lifetime});
  send_forwarding_bu(forwardings_.back(), false, now);
}

void MobileNode::send_forwarding_bu(Forwarding& forwarding, bool retransmission, TimePoint now) {
  auto* entry = list_.find(forwarding.agent, forwarding.previous_care_of);
  if (entry == nullptr || !care_of_ || entry->do_not_send) return;
  std::uint16_t units = to_units(forwarding.ends - now);
  if (units == 0) return;  // nothing left worth forwarding
  // The agent runs DAD on the previous address first, as on a first registration (§11.8).
  if (!retransmission) entry->retransmit_timeout = config_.initial_bindack_timeout_first_reg;
  // A home registration (A = 1, H = 1) whose home address is the previous care-of address,
  // from the new care-of address with the Alternate Care-of Address option (as §11.7.1).
  wire::BindingUpdate bu;
  bu.sequence_number = BindingUpdateList::next_sequence(*entry);
  bu.lifetime = units;
  bu.set_flag(wire::kBuFlagA, true);
  bu.set_flag(wire::kBuFlagH, true);
  wire::MobilityHeader mh;
  mh.message = bu;
  mh.options.push_back(wire::AlternateCareOfAddress{forwarding.care_of});
  // No SA exists with a visited link's router: the BU goes unprotected.
  emit(Transmit{build_mobility_packet({forwarding.care_of, forwarding.agent,
                                       forwarding.previous_care_of, std::nullopt, 64},
                                      mh),
                care_of_->ifindex, std::nullopt, Protection::kNone});
  list_.record_send(*entry, units * kLifetimeUnit, now);
  entry->care_of_address = forwarding.care_of;
  entry->awaiting_ack = true;
  entry->retransmit_at = now + entry->retransmit_timeout;
  ++counters_.forwarding_bu_sent;
  if (config_.log_bindings) {
    log(LogLevel::kInfo, "forwarding BU to " + forwarding.agent.to_string() + " from " +
                             forwarding.previous_care_of.to_string() + " to " +
                             forwarding.care_of.to_string() + " seq " +
                             std::to_string(bu.sequence_number));
  }
}

bool MobileNode::on_forwarding_ack(const RxPacket& packet, TimePoint now) {
  const auto& layout = packet.layout;
  if (layout.upper_protocol != wire::kIpProtoMobility || !layout.type2_address) return false;
  auto it = std::find_if(forwardings_.begin(), forwardings_.end(), [&](const Forwarding& f) {
    return f.previous_care_of == *layout.type2_address && f.agent == layout.ipv6.source;
  });
  if (it == forwardings_.end()) return false;
  MhInput input = check_mobility_header(packet);
  const auto* ba = input.verdict == MhVerdict::kAccept
                       ? std::get_if<wire::BindingAcknowledgement>(&input.header.message)
                       : nullptr;
  if (ba == nullptr) {
    ++counters_.dropped_malformed;
    return true;
  }
  ++counters_.ba_received;
  auto* entry = list_.find(it->agent, it->previous_care_of);
  // §11.7.3: only the answer to the outstanding Binding Update (135 carries the agent's).
  if (entry == nullptr || !entry->awaiting_ack ||
      (ba->status != wire::kBaStatusSequenceNumberOutOfWindow &&
       ba->sequence_number != entry->sequence)) {
    ++counters_.dropped_sequence;
    return true;
  }
  entry->awaiting_ack = false;
  entry->retransmit_at.reset();
  if (ba->accepted()) {
    BindingUpdateList::acknowledge(*entry, std::chrono::seconds(ba->lifetime_seconds()), now);
    it->state = ForwardingState::kRegistered;
    ++counters_.forwarding_accepted;
  } else if (ba->status == wire::kBaStatusSequenceNumberOutOfWindow) {
    BindingUpdateList::adopt_sequence(*entry, ba->sequence_number);
    send_forwarding_bu(*it, false, now);
  } else {
    // No fallback: forwarding is an optimisation; packets in flight are lost as without it.
    it->state = ForwardingState::kRejected;
    ++counters_.forwarding_rejected;
    log(LogLevel::kWarn, "previous router " + it->agent.to_string() +
                             " refused to forward, BA status " + std::to_string(ba->status));
  }
  return true;
}

void MobileNode::run_forwarding_timers(TimePoint now) {
  for (auto& forwarding : forwardings_) {
    auto* entry = list_.find(forwarding.agent, forwarding.previous_care_of);
    if (entry == nullptr || !due(entry->retransmit_at, now) || forwarding.ends <= now) continue;
    // §11.8: exponential back-off, until the requested lifetime would have ended.
    entry->retransmit_at.reset();
    entry->retransmit_timeout = std::min(entry->retransmit_timeout * 2, kMaxBindackTimeout);
    send_forwarding_bu(forwarding, true, now);
  }
  std::erase_if(forwardings_, [&](const Forwarding& f) {
    if (f.ends > now) return false;
    list_.erase(f.agent, f.previous_care_of);
    return true;
  });
}

}  // namespace mipv6::core
