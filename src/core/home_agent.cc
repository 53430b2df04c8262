#include "core/home_agent.h"

#include <algorithm>
#include <string>

#include "core/constants.h"
#include "wire/chain.h"
#include "wire/icmpv6.h"
#include "wire/nd_options.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

constexpr std::uint16_t kMaxLifetimeUnits = 0xffff;
constexpr std::uint32_t kInfiniteLifetime = 0xffffffffu;

// A Duration in the BU / BA 4-second lifetime units (§6.1.7), rounded down.
std::uint16_t lifetime_units(Duration d) {
  auto units = std::max<std::int64_t>(0, whole_seconds(d)) / wire::kLifetimeUnitSeconds;
  return static_cast<std::uint16_t>(std::min<std::int64_t>(units, kMaxLifetimeUnits));
}

Duration from_units(std::uint16_t units) {
  return std::chrono::seconds(std::int64_t{units} * wire::kLifetimeUnitSeconds);
}

const Ipv6Address kAllNodes = *Ipv6Address::parse("ff02::1");

// Remaining seconds until `until` for a PIO (RFC 4861 §4.6.2: all ones is infinity).
std::uint32_t remaining_seconds(const std::optional<TimePoint>& until, TimePoint now) {
  if (!until) return kInfiniteLifetime;
  auto left = std::max<std::int64_t>(0, whole_seconds(*until - now));
  return static_cast<std::uint32_t>(std::min<std::int64_t>(left, kInfiniteLifetime - 1));
}

std::optional<TimePoint> until_from(const std::optional<Duration>& lifetime, TimePoint now) {
  if (!lifetime) return std::nullopt;
  return now + *lifetime;
}

Ipv6Address address_at(wire::ByteSpan bytes, std::size_t offset) {
  Ipv6Address address;
  for (std::size_t i = 0; i < address.bytes.size(); ++i)
    address.bytes[i] = std::to_integer<std::uint8_t>(bytes[offset + i]);
  return address;
}

}  // namespace

Ipv6Address derived_link_local(const Ipv6Address& home_address) {
  Ipv6Address link_local = home_address;
  // RFC 6275 §10.3.1, L=1: the home subnet prefix replaced by fe80::/64.
  link_local.bytes[0] = 0xfe;
  link_local.bytes[1] = 0x80;
  for (std::size_t i = 2; i < 8; ++i)
    link_local.bytes[i] = 0;
  return link_local;
}

std::vector<std::pair<std::string_view, std::uint64_t>> HomeAgentCounters::list() const {
  return {{"bu_received", bu_received},
          {"ra_own_ignored", ra_own_ignored},
          {"ba_sent", ba_sent},
          {"ba_accepted", ba_accepted},
          {"ba_rejected", ba_rejected},
          {"registrations", registrations},
          {"refreshes", refreshes},
          {"deregistrations", deregistrations},
          {"bindings_expired", bindings_expired},
          {"bindings_deleted", bindings_deleted},
          {"dad_started", dad_started},
          {"dad_failed", dad_failed},
          {"dad_timeouts", dad_timeouts},
          {"na_sent", na_sent},
          {"brr_sent", brr_sent},
          {"be_sent", be_sent},
          {"param_problem_sent", param_problem_sent},
          {"ra_received", ra_received},
          {"dhaad_requests", dhaad_requests},
          {"dhaad_replies", dhaad_replies},
          {"mps_received", mps_received},
          {"mpa_sent", mpa_sent},
          {"mpa_retransmitted", mpa_retransmitted},
          {"icmp_errors_relayed", icmp_errors_relayed},
          {"packets_tunnelled", packets_tunnelled},
          {"reverse_tunnel_accepted", reverse_tunnel_accepted},
          {"dropped_bad_checksum", dropped_bad_checksum},
          {"dropped_malformed", dropped_malformed},
          {"dropped_unknown_mh_type", dropped_unknown_mh_type},
          {"dropped_bad_mh_field", dropped_bad_mh_field},
          {"dropped_unexpected_mh", dropped_unexpected_mh},
          {"dropped_unprotected", dropped_unprotected},
          {"dropped_bad_home_address", dropped_bad_home_address},
          {"dropped_nonce_indices", dropped_nonce_indices},
          {"dropped_no_alternate_care_of", dropped_no_alternate_care_of},
          {"dropped_correspondent_bu", dropped_correspondent_bu},
          {"dropped_bad_icmp", dropped_bad_icmp},
          {"dropped_dhaad_not_anycast", dropped_dhaad_not_anycast},
          {"dropped_link_local_destination", dropped_link_local_destination},
          {"dropped_multicast", dropped_multicast},
          {"dropped_reverse_tunnel", dropped_reverse_tunnel},
          {"rate_limited", rate_limited},
          {"bu_rate_limited", bu_rate_limited}};
}

HomeAgent::HomeAgent(HomeAgentConfig config, BindingCache& cache, Rng& rng)
    : config_(std::move(config)),
      cache_(cache),
      rng_(rng),
      bu_limiter_(config_.bu_rate_per_source, config_.bu_rate_global, config_.rate_limiter_capacity,
                  config_.rate_limiter_hash_seed),
      error_limiter_(config_.error_rate_per_destination, config_.error_rate_global,
                     config_.rate_limiter_capacity, config_.rate_limiter_hash_seed) {
  // §10.5.1: this home agent is in its own list, with its configured preference.
  if (config_.home_agent) list_.set_self(config_.addresses, config_.preference);
}

// ---------------------------------------------------------------------------------------------
// Dispatch

void HomeAgent::on_packet(const RxPacket& packet, TimePoint now) {
  if (packet.layout.upper_protocol == wire::kIpProtoMobility) {
    on_mobility(packet, now);
  } else if (packet.layout.upper_protocol == wire::kIcmpv6NextHeader) {
    on_icmpv6(packet, now);
  }
}

void HomeAgent::on_event(const NodeEvent& event, TimePoint now) {
  if (const auto* dad = std::get_if<DadResult>(&event)) {
    on_dad_result(*dad, now);
  } else if (const auto* update = std::get_if<PrefixUpdate>(&event)) {
    on_prefix_update(*update, now);
  } else if (const auto* added = std::get_if<AddressAdded>(&event)) {
    on_address_added(*added);
  } else if (const auto* removed = std::get_if<AddressRemoved>(&event)) {
    on_address_removed(*removed);
  }
}

// A global address configured on the home link after start (renumbering, §10.6.2): the home
// agent answers Binding Updates and DHAAD on it too (§10.5.1: it is in its own list).
void HomeAgent::on_address_added(const AddressAdded& added) {
  if (added.ifindex != config_.home_ifindex || added.tentative || added.address.is_link_local() ||
      added.address.is_multicast() || is_own_address(added.address))
    return;
  config_.addresses.push_back(added.address);
  if (config_.home_agent) list_.set_self(config_.addresses, config_.preference);
}

// The primary address (the first) stays: it is the source of this agent's signalling.
void HomeAgent::on_address_removed(const AddressRemoved& removed) {
  auto& addresses = config_.addresses;
  if (removed.ifindex != config_.home_ifindex || addresses.size() < 2) return;
  auto it = std::find(addresses.begin() + 1, addresses.end(), removed.address);
  if (it == addresses.end()) return;
  addresses.erase(it);
  if (config_.home_agent) list_.set_self(config_.addresses, config_.preference);
}

void HomeAgent::on_timeout(TimePoint now) {
  run_timers(now);
}

void HomeAgent::on_mobility(const RxPacket& packet, TimePoint now) {
  MhInput input = check_mobility_header(packet);
  switch (input.verdict) {
    case MhVerdict::kAccept:
      break;
    case MhVerdict::kBadChecksum:  // §9.2: silently discarded
      ++counters_.dropped_bad_checksum;
      return;
    case MhVerdict::kUnknownType:  // §9.2: Binding Error status 2 (home agents too, §4.2)
      ++counters_.dropped_unknown_mh_type;
      send_binding_error(packet, wire::kBeStatusUnrecognizedMhType,
                         packet.layout.home_address.value_or(Ipv6Address{}), now);
      return;
    case MhVerdict::kBadPayloadProto:
    case MhVerdict::kBadHeaderLen:  // §9.2: Parameter Problem code 0 at the field
      ++counters_.dropped_bad_mh_field;
      if (may_send_icmp_error(packet) && error_limiter_.allow(packet.layout.ipv6.source, now)) {
        ++counters_.param_problem_sent;
        emit(Transmit{
            build_parameter_problem(packet.layout.ipv6.destination, packet, 0, input.pointer), 0,
            std::nullopt, Protection::kNone});
      } else {
        ++counters_.rate_limited;
      }
      return;
    case MhVerdict::kMalformed:
    case MhVerdict::kFragmented:
      ++counters_.dropped_malformed;
      return;
  }
  if (wire::find_message<wire::BindingUpdate>(input.header) != nullptr) {
    on_binding_update(packet, input.header, now);
  } else {
    ++counters_.dropped_unexpected_mh;
  }
}

// ---------------------------------------------------------------------------------------------
// Binding Updates (§9.5.1, §10.3.1, §10.3.2)

bool HomeAgent::bu_passes_filters(const RxPacket& packet, const wire::MobilityHeader& mh,
                                  const wire::BindingUpdate& bu, const Ipv6Address& home) {
  // §5.1: the policy says what must protect a BU; the data plane reports what did.
  if (config_.require_protection && packet.protection == Protection::kNone) {
    ++counters_.dropped_unprotected;
    return false;
  }
  // §9.5.1: the home address must be unicast routable.
  if (!home.is_unicast_routable()) {
    ++counters_.dropped_bad_home_address;
    return false;
  }
  // §9.5.1: Nonce Indices in a home registration make the BU invalid (silently discarded).
  if (bu.h() && wire::find_option<wire::NonceIndices>(mh) != nullptr) {
    ++counters_.dropped_nonce_indices;
    return false;
  }
  const auto* alternate = wire::find_option<wire::AlternateCareOfAddress>(mh);
  bool from_home = !packet.layout.home_address || packet.layout.ipv6.source == home;
  bool deregistration = bu.lifetime == 0 || from_home ||
                        (alternate != nullptr && alternate->alternate_care_of_address == home);
  // §11.7.1: the option MUST be in every home registration (ESP does not cover the source
  // address); a de-registration (from home or not) binds no care-of address to protect.
  if (bu.h() && config_.require_alternate_care_of && alternate == nullptr && !deregistration) {
    ++counters_.dropped_no_alternate_care_of;
    return false;
  }
  return true;
}

void HomeAgent::on_binding_update(const RxPacket& packet, const wire::MobilityHeader& mh,
                                  TimePoint now) {
  ++counters_.bu_received;
  const auto& bu = *wire::find_message<wire::BindingUpdate>(mh);
  const auto& ip = packet.layout.ipv6;
  Ipv6Address home = packet.layout.home_address.value_or(ip.source);
  if (!bu_passes_filters(packet, mh, bu, home)) return;
  // §15 (denial of service): per source and global limits, after the silent filters so that
  // packets they drop cost no one's budget; over them the BU is dropped without an answer.
  if (!bu_limiter_.allow(ip.source, now)) {
    ++counters_.bu_rate_limited;
    return;
  }
  const auto* alternate = wire::find_option<wire::AlternateCareOfAddress>(mh);
  Ipv6Address care_of = alternate != nullptr ? alternate->alternate_care_of_address : ip.source;

  // §9.5.4: the BA goes to the BU's source, with a type 2 routing header when it had a HAO;
  // §10.3.2: a rejection to a node on the home link goes to its link-layer address.
  Reply reply{
      ip.source,    ip.destination,     packet.layout.home_address,       packet.ifindex,
      std::nullopt, bu.sequence_number, bu.k() && config_.dynamic_keying, packet.protection};
  if (packet.ifindex == config_.home_ifindex && !config_.virtual_home_link)
    reply.link_destination = packet.link_source;

  auto reject = [&](std::uint8_t status) {
    send_ba(reply, status, Duration{}, false);
    log_bu(home, care_of, bu, status);
  };
  BindingCacheEntry* entry = cache_.find(home);
  // §9.5.1: not newer than the last accepted number -> 135 carrying that number.
  if (entry != nullptr && !sequence_newer(bu.sequence_number, entry->sequence_number)) {
    reply.sequence = entry->sequence_number;
    reply.k = false;
    return reject(wire::kBaStatusSequenceNumberOutOfWindow);
  }
  // §9.5.1: an entry whose home-registration flag differs from H -> 139, flag unchanged.
  bool entry_is_home = entry != nullptr && entry->home_registration;
  if (entry != nullptr && entry_is_home != bu.h())
    return reject(wire::kBaStatusRegistrationTypeChangeDisallowed);
  if (!bu.h()) {  // a correspondent registration: the correspondent engine's business
    ++counters_.dropped_correspondent_bu;
    return;
  }
  // §10.3.1, in the RFC's order: not a home agent -> 131; not on-link -> 132.
  if (!config_.home_agent && !config_.forward_from_previous_care_of)
    return reject(wire::kBaStatusHomeRegistrationNotSupported);
  if (served_prefix(home, now) == nullptr) return reject(wire::kBaStatusNotHomeSubnet);
  // §10.3.2: lifetime 0, or the care-of address is the home address.
  if (bu.lifetime == 0 || care_of == home) {
    log_bu(home, care_of, bu, deregister(home, reply, now));
    return;
  }
  if (auto status = registration_rejection(home, care_of)) return reject(*status);
  Grant grant = grant_for(bu, home, care_of, now);
  if (grant.status >= wire::kBaStatusRejectedThreshold) return reject(grant.status);
  log_bu(home, care_of, bu, register_binding(grant, reply, now));
}

std::optional<std::uint8_t> HomeAgent::registration_rejection(const Ipv6Address& home,
                                                              const Ipv6Address& care_of) const {
  // §10.3.1 "any other reason": local policy -> 129.
  const auto& allowed = config_.allowed_home_addresses;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), home) == allowed.end())
    return wire::kBaStatusAdministrativelyProhibited;
  if (config_.policy && !config_.policy(home, care_of))
    return wire::kBaStatusAdministrativelyProhibited;
  // §6.1.7, §9.5.1: the care-of address must be a unicast routable address away from home —
  // not one of ours, not on a home prefix (174, new in RFC 6275).
  bool on_home_prefix =
      std::any_of(config_.prefixes.begin(), config_.prefixes.end(),
                  [&](const HomePrefix& p) { return care_of.in_prefix(p.prefix, p.length); });
  if (!care_of.is_unicast_routable() || is_own_address(care_of) || on_home_prefix)
    return wire::kBaStatusInvalidCareOfAddress;
  return std::nullopt;
}

HomeAgent::Grant HomeAgent::grant_for(const wire::BindingUpdate& bu, const Ipv6Address& home,
                                      const Ipv6Address& care_of, TimePoint now) const {
  Grant grant{
      home, care_of, Duration{}, wire::kBaStatusAccepted, bu.l(), bu.k() && config_.dynamic_keying};
  const HomePrefix& prefix = *served_prefix(home, now);
  // §10.3.1: no longer than asked, than local policy, than the prefix's remaining valid
  // lifetime (its preferred lifetime does not shorten the binding).
  Duration lifetime =
      std::min<Duration>(std::chrono::seconds(bu.lifetime_seconds()), config_.max_lifetime);
  bool cut_by_prefix = false;
  if (prefix.valid_until && *prefix.valid_until - now < lifetime) {
    lifetime = *prefix.valid_until - now;
    cut_by_prefix = true;
  }
  std::uint16_t units = lifetime_units(lifetime);
  // The prefix ends within 4 s: as good as gone from the Prefix List.
  if (units == 0) {
    grant.status = wire::kBaStatusNotHomeSubnet;
    return grant;
  }
  grant.lifetime = from_units(units);
  // §10.3.1: status 1 when the prefix is deprecated, becomes deprecated during the binding, or
  // becomes invalid at its end; prefix lifetimes compared in 4-second units (">> 2").
  auto preferred_units =
      static_cast<std::uint64_t>(remaining_seconds(prefix.preferred_until, now)) >> 2;
  bool deprecates = prefix.preferred_until && preferred_units < units;
  if (deprecates || cut_by_prefix) grant.status = wire::kBaStatusAcceptedPrefixDiscoveryNecessary;
  return grant;
}

std::optional<std::uint8_t> HomeAgent::register_binding(const Grant& grant, const Reply& reply,
                                                        TimePoint now) {
  BindingCacheEntry* entry = cache_.find(grant.home_address);
  if (entry == nullptr) {
    auto inserted = cache_.find_or_insert(grant.home_address, now);
    // §10.3.1 "insufficient resources": every slot holds a live home registration.
    if (inserted.outcome == BindingCache::Insert::kFull) {
      send_ba(reply, wire::kBaStatusInsufficientResources, Duration{}, false);
      return wire::kBaStatusInsufficientResources;
    }
    if (inserted.evicted) handle_expired(*inserted.evicted);
    entry = inserted.entry;
  }
  entry->sequence_number = reply.sequence;
  if (entry->state == BindingState::kPendingDad) {
    // A newer BU while DAD runs: answer it instead of the first one when DAD ends.
    auto& pending = dad_[grant.home_address];
    pending.reply = reply;
    pending.grant = grant;
    entry->care_of_address = grant.care_of_address;
    return std::nullopt;
  }
  bool fresh = entry->state == BindingState::kPendingDelete || !entry->home_registration;
  if (!fresh) {
    complete_registration(*entry, grant, reply, now);
    return grant.status;
  }
  if (config_.virtual_home_link) {
    // SEEDS §3.2.10: no link to probe; only no other binding may hold the addresses.
    if (fast_dad_conflict(grant.home_address, grant.l)) {
      cache_.erase(grant.home_address);
      ++counters_.dad_failed;
      send_ba(reply, wire::kBaStatusDuplicateAddressDetectionFailed, Duration{}, false);
      return wire::kBaStatusDuplicateAddressDetectionFailed;
    }
    complete_registration(*entry, grant, reply, now);
    return grant.status;
  }
  // §10.3.1: DAD on the home link before the BA, for the link-local address too when L = 1.
  entry->state = BindingState::kPendingDad;
  entry->home_registration = true;
  entry->care_of_address = grant.care_of_address;
  entry->local_address = reply.source;
  entry->link_local_compatible = grant.l;
  entry->expires = now + kDadWait;
  dad_[grant.home_address] = PendingDad{reply, grant, grant.l ? 2 : 1};
  ++counters_.dad_started;
  emit(StartDad{config_.home_ifindex, grant.home_address});
  if (grant.l) emit(StartDad{config_.home_ifindex, derived_link_local(grant.home_address)});
  return std::nullopt;
}

void HomeAgent::complete_registration(BindingCacheEntry& entry, const Grant& grant,
                                      const Reply& reply, TimePoint now) {
  bool was_live = entry.state == BindingState::kValid && entry.home_registration;
  Ipv6Address old_care_of = entry.care_of_address;
  bool old_l = entry.link_local_compatible;
  entry.care_of_address = grant.care_of_address;
  entry.local_address = reply.source;
  entry.expires = now + grant.lifetime;
  entry.home_registration = true;
  entry.link_local_compatible = grant.l;
  entry.key_management = grant.k;
  entry.state = BindingState::kValid;
  cache_.touch(entry, now);
  if (!was_live) {
    ++counters_.registrations;
    start_interception(entry, now);
  } else {
    ++counters_.refreshes;
    // §10.4.1: tunnel to the new primary care-of address from now on.
    if (old_care_of != entry.care_of_address)
      emit(TunnelRoute{Change::kAdd, entry.home_address, entry.care_of_address,
                       entry.local_address});
    if (old_l != grant.l && !config_.virtual_home_link) {
      Ipv6Address link_local = derived_link_local(entry.home_address);
      emit(ProxyNeighbor{grant.l ? Change::kAdd : Change::kRemove, config_.home_ifindex,
                         link_local});
      if (grant.l)
        link_locals_[link_local] = entry.home_address;
      else
        link_locals_.erase(link_local);
    }
  }
  if (config_.refresh_request_lead && grant.lifetime > *config_.refresh_request_lead) {
    refresh_request_at_[entry.home_address] = entry.expires - *config_.refresh_request_lead;
    wake_at(entry.home_address, entry.expires - *config_.refresh_request_lead);
  } else {
    refresh_request_at_.erase(entry.home_address);
  }
  send_ba(reply, grant.status, grant.lifetime, true);
}

std::uint8_t HomeAgent::deregister(const Ipv6Address& home, const Reply& reply, TimePoint now) {
  BindingCacheEntry* entry = cache_.find(home);
  // §10.3.2: no home registration for this node -> 133.
  if (entry == nullptr || !entry->home_registration ||
      entry->state == BindingState::kPendingDelete) {
    send_ba(reply, wire::kBaStatusNotHomeAgentForThisMobileNode, Duration{}, false);
    return wire::kBaStatusNotHomeAgentForThisMobileNode;
  }
  entry->sequence_number = reply.sequence;
  if (entry->state == BindingState::kValid) stop_interception(*entry);
  dad_.erase(home);
  forget(home);
  // §10.3.2: keep the entry, invalid, for MAX_DELETE_BCE_TIMEOUT so a late BU from the visited
  // link fails the sequence check; interception stops at once.
  entry->state = BindingState::kPendingDelete;
  entry->expires = now + kMaxDeleteBceTimeout;
  ++counters_.deregistrations;
  // Status 0, lifetime 0, no Binding Refresh Advice.
  send_ba(reply, wire::kBaStatusAccepted, Duration{}, false);
  return wire::kBaStatusAccepted;
}

std::unordered_map<Ipv6Address, HomeAgent::PendingDad>::iterator HomeAgent::find_dad(
    const Ipv6Address& address) {
  if (auto it = dad_.find(address); it != dad_.end() || !address.is_link_local()) return it;
  // A link-local address: the home address with its interface identifier on a home prefix.
  for (const auto& prefix : config_.prefixes) {
    Ipv6Address home = address;
    std::copy(prefix.prefix.bytes.begin(), prefix.prefix.bytes.begin() + 8, home.bytes.begin());
    auto it = dad_.find(home);
    if (it != dad_.end() && it->second.grant.l) return it;
  }
  return dad_.end();
}

void HomeAgent::on_dad_result(const DadResult& result, TimePoint now) {
  auto it = find_dad(result.address);
  if (it == dad_.end()) return;
  Ipv6Address home = it->first;
  if (result.duplicate) {
    // §10.3.1: DAD failed for the home address or its link-local address: reject all of it.
    Reply reply = it->second.reply;
    dad_.erase(it);
    cache_.erase(home);
    ++counters_.dad_failed;
    send_ba(reply, wire::kBaStatusDuplicateAddressDetectionFailed, Duration{}, false);
    log(LogLevel::kWarn, "DAD failed for " + home.to_string() + " -> BA status 134");
    return;
  }
  if (--it->second.outstanding > 0) return;
  PendingDad pending = it->second;
  dad_.erase(it);
  BindingCacheEntry* entry = cache_.find(home);
  if (entry == nullptr) return;
  complete_registration(*entry, pending.grant, pending.reply, now);
  // The BU was logged "-> DAD"; its outcome gets its own line (one line per protocol event).
  if (config_.log_bindings)
    log(LogLevel::kInfo, "DAD done for " + home.to_string() + " -> BA status " +
                             std::to_string(pending.grant.status));
}

// ---------------------------------------------------------------------------------------------
// Interception (§10.4.1)

void HomeAgent::start_interception(const BindingCacheEntry& entry, TimePoint now) {
  emit(TunnelRoute{Change::kAdd, entry.home_address, entry.care_of_address, entry.local_address});
  if (entry.link_local_compatible)
    link_locals_[derived_link_local(entry.home_address)] = entry.home_address;
  if (config_.virtual_home_link) return;  // SEEDS §3.2.10: nothing to defend on a wire
  emit(ProxyNeighbor{Change::kAdd, config_.home_ifindex, entry.home_address});
  if (entry.link_local_compatible)
    emit(ProxyNeighbor{Change::kAdd, config_.home_ifindex, derived_link_local(entry.home_address)});
  // §10.4.1: unsolicited NAs to all-nodes, up to MAX_NEIGHBOR_ADVERTISEMENT of them, spaced by
  // RETRANS_TIMER (RFC 4861 §7.2.6), so that neighbours update their caches to our address.
  send_neighbor_advertisement(entry.home_address);
  if (entry.link_local_compatible)
    send_neighbor_advertisement(derived_link_local(entry.home_address));
  advertising_[entry.home_address] =
      Advertising{kMaxNeighborAdvertisement - 1, now + kRetransTimer};
  wake_at(entry.home_address, now + kRetransTimer);
}

void HomeAgent::stop_interception(const BindingCacheEntry& entry) {
  Ipv6Address link_local = derived_link_local(entry.home_address);
  if (entry.link_local_compatible) link_locals_.erase(link_local);
  if (!config_.virtual_home_link) {
    emit(ProxyNeighbor{Change::kRemove, config_.home_ifindex, entry.home_address});
    if (entry.link_local_compatible)
      emit(ProxyNeighbor{Change::kRemove, config_.home_ifindex, link_local});
  }
  emit(
      TunnelRoute{Change::kRemove, entry.home_address, entry.care_of_address, entry.local_address});
}

void HomeAgent::forget(const Ipv6Address& home) {
  advertising_.erase(home);
  mpa_.erase(home);  // §10.6.2: scheduled MPAs end with the registration
  refresh_request_at_.erase(home);
  groups_.erase(home);
}

void HomeAgent::handle_expired(const BindingCacheEntry& entry) {
  if (!entry.home_registration) {
    // A correspondent binding in a shared cache: withdraw its route for the other engine.
    emit(BindingRoute{Change::kRemove, entry.home_address, entry.care_of_address});
    return;
  }
  switch (entry.state) {
    case BindingState::kValid:
      ++counters_.bindings_expired;
      stop_interception(entry);
      forget(entry.home_address);
      log(LogLevel::kInfo, "home registration of " + entry.home_address.to_string() + " expired");
      return;
    case BindingState::kPendingDelete:
      ++counters_.bindings_deleted;
      return;
    case BindingState::kPendingDad:
      ++counters_.dad_timeouts;
      dad_.erase(entry.home_address);
      return;
  }
}

InterceptDecision HomeAgent::decide_intercepted(const RxPacket& packet, TimePoint now) {
  InterceptDecision decision;
  const auto& destination = packet.layout.ipv6.destination;
  const auto& source = packet.layout.ipv6.source;
  if (destination.is_multicast()) {
    std::uint8_t scope = destination.scope();
    if (scope <= 2) {  // §10.4.1: link-local scope multicast MUST NOT be tunnelled
      ++counters_.dropped_multicast;
      decision.verdict = InterceptVerdict::kDropMulticast;
      return decision;
    }
    decision.verdict = InterceptVerdict::kDoNotTunnel;
    // §10.4.1: scopes between link-local and global SHOULD NOT be tunnelled; global ones only
    // to members, and only with MLD through the tunnel (§10.4.3).
    if (scope < 14 || !config_.mld_through_tunnel) return decision;
    for (const auto& [home, groups] : groups_) {
      if (std::find(groups.begin(), groups.end(), destination) == groups.end()) continue;
      const BindingCacheEntry* entry = cache_.find(home);
      if (entry == nullptr || entry->state != BindingState::kValid) continue;
      decision.targets.push_back({entry->care_of_address, entry->local_address});
    }
    if (!decision.targets.empty()) {
      decision.verdict = InterceptVerdict::kTunnel;
      counters_.packets_tunnelled += decision.targets.size();
    }
    return decision;
  }
  if (destination.is_link_local()) {
    if (!link_locals_.contains(destination)) return decision;
    // §10.4.1: never tunnel to a link-local address; Destination Unreachable code 3 unless the
    // source is multicast.
    ++counters_.dropped_link_local_destination;
    decision.verdict = InterceptVerdict::kDropLinkLocal;
    if (!source.is_multicast() && may_send_icmp_error(packet)) {
      if (error_limiter_.allow(source, now)) {
        Ipv6Address from = config_.link_local_address.value_or(
            config_.addresses.empty() ? Ipv6Address{} : config_.addresses.front());
        decision.icmp_error = build_destination_unreachable(from, packet, 3);
      } else {
        ++counters_.rate_limited;
      }
    }
    return decision;
  }
  BindingCacheEntry* entry = cache_.find(destination);
  if (entry == nullptr || !entry->home_registration || entry->state != BindingState::kValid)
    return decision;
  cache_.touch(*entry, now);
  decision.verdict = InterceptVerdict::kTunnel;
  decision.targets.push_back({entry->care_of_address, entry->local_address});
  ++counters_.packets_tunnelled;
  return decision;
}

bool HomeAgent::accept_reverse_tunnelled(const Ipv6Address& outer_source,
                                         const Ipv6Address& inner_source, Protection protection) {
  // §10.4.5: the outer source must be the primary care-of address, unless ESP tunnel mode
  // (which authenticates the mobile node itself) protected the packet.
  bool accepted = protection == Protection::kEspTunnel;
  if (!accepted) {
    const BindingCacheEntry* entry = cache_.find(inner_source);
    accepted = entry != nullptr && entry->home_registration &&
               entry->state == BindingState::kValid && entry->care_of_address == outer_source;
  }
  if (accepted)
    ++counters_.reverse_tunnel_accepted;
  else
    ++counters_.dropped_reverse_tunnel;
  return accepted;
}

void HomeAgent::join_group(const Ipv6Address& home_address, const Ipv6Address& group, bool joined) {
  auto& groups = groups_[home_address];
  std::erase(groups, group);
  if (joined) groups.push_back(group);
  if (groups.empty()) groups_.erase(home_address);
}

std::size_t HomeAgent::flush(TimePoint /*now*/) {
  std::vector<BindingCacheEntry> homes;
  cache_.for_each([&](const BindingCacheEntry& entry) {
    if (entry.home_registration) homes.push_back(entry);
  });
  std::size_t flushed = 0;
  for (const auto& entry : homes) {
    if (entry.state == BindingState::kValid) {
      stop_interception(entry);
      ++flushed;
    }
    forget(entry.home_address);
    dad_.erase(entry.home_address);
    cache_.erase(entry.home_address);
  }
  log(LogLevel::kInfo, "flushed " + std::to_string(flushed) + " home registrations");
  return flushed;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const HomePrefix* HomeAgent::served_prefix(const Ipv6Address& address, TimePoint now) const {
  for (const auto& prefix : config_.prefixes) {
    if (prefix.valid_until && *prefix.valid_until <= now) continue;
    if (address.in_prefix(prefix.prefix, prefix.length)) return &prefix;
  }
  return nullptr;
}

bool HomeAgent::is_own_address(const Ipv6Address& address) const {
  return std::find(config_.addresses.begin(), config_.addresses.end(), address) !=
             config_.addresses.end() ||
         (config_.link_local_address && *config_.link_local_address == address);
}

bool HomeAgent::fast_dad_conflict(const Ipv6Address& home, bool l) const {
  if (is_own_address(home)) return true;
  if (!l) return false;
  Ipv6Address link_local = derived_link_local(home);
  auto holder = link_locals_.find(link_local);
  return is_own_address(link_local) || (holder != link_locals_.end() && holder->second != home);
}

// ---------------------------------------------------------------------------------------------
// Sending

void HomeAgent::send_ba(const Reply& reply, std::uint8_t status, Duration lifetime,
                        bool with_advice) {
  wire::BindingAcknowledgement ba;
  ba.status = status;
  ba.set_k(reply.k && status < wire::kBaStatusRejectedThreshold);
  ba.sequence_number = reply.sequence;
  ba.lifetime = status < wire::kBaStatusRejectedThreshold ? lifetime_units(lifetime) : 0;
  wire::MobilityHeader mh;
  mh.message = ba;
  // §10.3.1: a Binding Refresh Advice below the Lifetime, never with a non-volatile cache.
  if (with_advice && ba.lifetime > 1 && !config_.nonvolatile_cache &&
      config_.refresh_fraction > 0) {
    auto interval = static_cast<std::uint16_t>(
        std::min<double>(ba.lifetime - 1, ba.lifetime * config_.refresh_fraction));
    if (interval > 0) mh.options.push_back(wire::BindingRefreshAdvice{interval});
  }
  Transmit transmit{
      build_mobility_packet({reply.source, reply.destination, std::nullopt, reply.type2, 64}, mh),
      0, std::nullopt, reply.protection};
  // §10.3.2: a rejection to a node on the home link goes to its link-layer address.
  if (status >= wire::kBaStatusRejectedThreshold && reply.link_destination) {
    transmit.ifindex = reply.ifindex;
    transmit.link_destination = reply.link_destination;
  }
  ++counters_.ba_sent;
  if (status < wire::kBaStatusRejectedThreshold)
    ++counters_.ba_accepted;
  else
    ++counters_.ba_rejected;
  emit(std::move(transmit));
}

void HomeAgent::send_binding_error(const RxPacket& packet, std::uint8_t status,
                                   const Ipv6Address& home, TimePoint now) {
  // §9.3.3: rate-limited like ICMP, sent to the offending packet's source.
  const auto& source = packet.layout.ipv6.source;
  if (!source.is_unicast_routable() && !source.is_link_local()) return;
  if (!error_limiter_.allow(source, now)) {
    ++counters_.rate_limited;
    return;
  }
  wire::BindingError error;
  error.status = status;
  error.home_address = home;
  wire::MobilityHeader mh;
  mh.message = error;
  ++counters_.be_sent;
  emit(Transmit{build_mobility_packet(
                    {packet.layout.ipv6.destination, source, std::nullopt, std::nullopt, 64}, mh),
                0, std::nullopt, Protection::kNone});
}

void HomeAgent::send_neighbor_advertisement(const Ipv6Address& target) {
  // §10.4.1: R = 0, S = 0, O = 1, TLLA = our link-layer address, to all-nodes, hop limit 255
  // (RFC 4861 §7.1.2).
  wire::NeighborAdvertisement na;
  na.o = true;
  na.target_address = target;
  const auto& mac = config_.link_layer_address;
  wire::Bytes tlla;
  for (auto octet : mac)
    tlla.push_back(static_cast<std::byte>(octet));
  na.options.push_back(wire::NdOption{wire::TargetLinkLayerAddressOption{std::move(tlla)}});
  wire::Icmpv6Message message;
  message.body = std::move(na);
  Ipv6Address source = config_.link_local_address.value_or(
      config_.addresses.empty() ? Ipv6Address{} : config_.addresses.front());
  ++counters_.na_sent;
  emit(Transmit{build_icmpv6_packet({source, kAllNodes, std::nullopt, std::nullopt, 255}, message),
                config_.home_ifindex, std::nullopt, Protection::kNone});
}

void HomeAgent::send_mpa(const BindingCacheEntry& entry, std::uint16_t identifier, TimePoint now) {
  // §10.6.2: the full prefix list, to the care-of address with a type 2 routing header, from
  // the address the mobile node registered with.
  wire::MobilePrefixAdvertisement mpa;
  mpa.identifier = identifier;
  for (const auto& prefix : config_.prefixes) {
    if (prefix.valid_until && *prefix.valid_until <= now) continue;
    wire::PrefixInformationOption pio;
    pio.prefix_length = prefix.length;
    pio.l = prefix.on_link;
    pio.a = prefix.autonomous;
    pio.valid_lifetime = remaining_seconds(prefix.valid_until, now);
    pio.preferred_lifetime = remaining_seconds(prefix.preferred_until, now);
    pio.prefix = prefix.prefix;
    mpa.options.push_back(wire::NdOption{pio});
  }
  wire::Icmpv6Message message;
  message.body = std::move(mpa);
  ++counters_.mpa_sent;
  mpa_[entry.home_address].last_sent = now;
  emit(Transmit{build_icmpv6_packet({entry.local_address, entry.care_of_address, std::nullopt,
                                     entry.home_address, 64},
                                    message),
                0, std::nullopt, Protection::kNone});
}

void HomeAgent::send_binding_refresh_request(const BindingCacheEntry& entry) {
  wire::MobilityHeader mh;
  mh.message = wire::BindingRefreshRequest{};
  ++counters_.brr_sent;
  emit(Transmit{
      build_mobility_packet(
          {entry.local_address, entry.care_of_address, std::nullopt, entry.home_address, 64}, mh),
      0, std::nullopt, Protection::kNone});
}

void HomeAgent::log_bu(const Ipv6Address& home, const Ipv6Address& care_of,
                       const wire::BindingUpdate& bu, std::optional<std::uint8_t> status) {
  if (!config_.log_bindings) return;
  bool rejected = status && *status >= wire::kBaStatusRejectedThreshold;
  log(rejected ? LogLevel::kWarn : LogLevel::kInfo,
      "BU from " + home.to_string() + " CoA " + care_of.to_string() + " seq " +
          std::to_string(bu.sequence_number) + " lifetime " +
          std::to_string(bu.lifetime_seconds()) + "s -> " +
          (status ? "BA status " + std::to_string(*status) : std::string("DAD")));
}

// ---------------------------------------------------------------------------------------------
// ICMPv6: RAs, DHAAD, MPS, errors about tunnelled packets

void HomeAgent::on_icmpv6(const RxPacket& packet, TimePoint now) {
  auto input = check_icmpv6(packet);
  if (input.verdict != IcmpVerdict::kAccept) {
    ++counters_.dropped_bad_icmp;
    return;
  }
  const auto* decoded = &input.message;
  const auto& ip = packet.layout.ipv6;
  const auto& body = decoded->body;
  if (const auto* ra = std::get_if<wire::RouterAdvertisement>(&body)) {
    // RFC 4861 §6.1.2: link-local source, hop limit 255, on the home link.
    if (packet.ifindex != config_.home_ifindex || !ip.source.is_link_local() ||
        ip.hop_limit != 255) {
      ++counters_.dropped_bad_icmp;
      return;
    }
    ++counters_.ra_received;
    // Our own RA (radvd on this node, looped back) must not list us a second time (§10.5.1:
    // the list holds the other home agents; this one is in it from its configuration).
    if (is_own_address(ip.source)) {
      ++counters_.ra_own_ignored;
      return;
    }
    list_.on_router_advertisement(ip.source, *ra, now);
  } else if (const auto* request = std::get_if<wire::HomeAgentAddressDiscoveryRequest>(&body)) {
    answer_dhaad(packet, *request, now);
  } else if (const auto* mps = std::get_if<wire::MobilePrefixSolicitation>(&body)) {
    answer_mps(packet, *mps, now);
  } else if (std::holds_alternative<wire::DestinationUnreachable>(body) ||
             std::holds_alternative<wire::PacketTooBig>(body) ||
             std::holds_alternative<wire::TimeExceeded>(body)) {
    relay_tunnel_error(packet, *decoded, now);
  }
}

void HomeAgent::answer_dhaad(const RxPacket& packet,
                             const wire::HomeAgentAddressDiscoveryRequest& request, TimePoint now) {
  ++counters_.dhaad_requests;
  const auto& ip = packet.layout.ipv6;
  // §10.5: only a request to the Home-Agents anycast address of a prefix we serve.
  const HomePrefix* prefix = nullptr;
  for (const auto& candidate : config_.prefixes) {
    auto anycast = wire::home_agents_anycast(candidate.prefix, candidate.length);
    if (anycast && *anycast == ip.destination) prefix = &candidate;
  }
  if (prefix == nullptr || !config_.home_agent || !ip.source.is_unicast_routable()) {
    ++counters_.dropped_dhaad_not_anycast;
    return;
  }
  // §10.5: the reply never exceeds the minimum MTU: 40 (IPv6) + 8 (ICMPv6) + 16 per address.
  constexpr std::size_t kFixed = wire::kIpv6HeaderSize + 8;
  std::size_t room = config_.dhaad_size_limit > kFixed ? config_.dhaad_size_limit - kFixed : 0;
  wire::HomeAgentAddressDiscoveryReply reply;
  reply.identifier = request.identifier;
  reply.reserved = request.reserved & 0x8000;  // NEMO's R flag is echoed (RFC 3963 §6.2)
  reply.home_agent_addresses = list_.reply_addresses(rng_, room / 16, now);
  // Source: our address on that home prefix (the mobile node tries it first).
  Ipv6Address source = config_.addresses.empty() ? Ipv6Address{} : config_.addresses.front();
  for (const auto& own : config_.addresses) {
    if (own.in_prefix(prefix->prefix, prefix->length)) {
      source = own;
      break;
    }
  }
  wire::Icmpv6Message message;
  message.body = std::move(reply);
  ++counters_.dhaad_replies;
  emit(Transmit{build_icmpv6_packet({source, ip.source, std::nullopt, std::nullopt, 64}, message),
                0, std::nullopt, Protection::kNone});
}

void HomeAgent::answer_mps(const RxPacket& packet, const wire::MobilePrefixSolicitation& mps,
                           TimePoint now) {
  ++counters_.mps_received;
  const auto& home = packet.layout.home_address;
  if (!home) {  // §6.7: an MPS carries a Home Address option
    ++counters_.dropped_bad_icmp;
    return;
  }
  const BindingCacheEntry* entry = cache_.find(*home);
  bool bound = entry != nullptr && entry->home_registration &&
               entry->state == BindingState::kValid &&
               entry->care_of_address == packet.layout.ipv6.source;
  if (!bound) {  // §9.3.1: a Home Address option without a binding -> Binding Error 1
    send_binding_error(packet, wire::kBeStatusUnknownBindingForHomeAddressDestinationOption, *home,
                       now);
    return;
  }
  auto& state = mpa_[*home];
  // §10.6.2: an MPS acknowledges the outstanding unsolicited MPA.
  state.retransmit_at.reset();
  state.retries_left = 0;
  // §10.6.2: at most one MPA per second to a mobile node; delay the answer rather than lose it.
  if (state.last_sent && now - *state.last_sent < 1s) {
    state.solicited = mps.identifier;
    state.solicited_at = *state.last_sent + 1s;
    wake_at(*home, *state.solicited_at);
    ++counters_.rate_limited;
    return;
  }
  send_mpa(*entry, mps.identifier, now);
}

void HomeAgent::schedule_unsolicited_mpas(TimePoint now) {
  std::vector<Ipv6Address> homes;
  cache_.for_each([&](const BindingCacheEntry& entry) {
    if (entry.home_registration && entry.state == BindingState::kValid)
      homes.push_back(entry.home_address);
  });
  for (const auto& home : homes) {
    const BindingCacheEntry* entry = cache_.find(home);
    auto& state = mpa_[home];
    state.identifier = rng_.next_u16();
    state.timeout = kPrefixAdvTimeout;
    if (state.last_sent && now - *state.last_sent < 1s) {
      // The first transmission waits for the rate limit; the retries follow it.
      state.retries_left = kPrefixAdvRetries + 1;
      state.retransmit_at = *state.last_sent + 1s;
      wake_at(home, *state.retransmit_at);
      continue;
    }
    send_mpa(*entry, state.identifier, now);
    state.retries_left = kPrefixAdvRetries;
    state.retransmit_at = now + state.timeout;
    wake_at(home, *state.retransmit_at);
  }
}

void HomeAgent::relay_tunnel_error(const RxPacket& packet, const wire::Icmpv6Message& message,
                                   TimePoint now) {
  // RFC 2473 §8: an error about a packet we tunnelled quotes our tunnel header (source = one of
  // our addresses, Next Header 41) followed by the original packet.
  const wire::Bytes* quoted = nullptr;
  std::optional<std::uint32_t> mtu;
  std::visit(
      [&](const auto& body) {
        if constexpr (requires { body.invoking_packet; }) quoted = &body.invoking_packet;
        if constexpr (requires { body.mtu; }) mtu = body.mtu;
      },
      message.body);
  constexpr std::size_t kHeader = wire::kIpv6HeaderSize;
  constexpr std::size_t kNextHeaderOffset = 6;
  constexpr std::size_t kSourceOffset = 8;
  if (quoted == nullptr || quoted->size() < 2 * kHeader ||
      std::to_integer<std::uint8_t>((*quoted)[kNextHeaderOffset]) != wire::ip_proto::kIpv6 ||
      !is_own_address(address_at(*quoted, kSourceOffset)))
    return;  // not about our tunnel: nothing to relay
  wire::ByteSpan inner = wire::ByteSpan(*quoted).subspan(kHeader);
  Ipv6Address inner_source = address_at(inner, kSourceOffset);
  if (!inner_source.is_unicast_routable()) return;
  if (!error_limiter_.allow(inner_source, now)) {
    ++counters_.rate_limited;
    return;
  }
  wire::Icmpv6Message relayed;
  std::size_t room = kIpv6MinimumMtu - kHeader - 8;
  wire::Bytes invoking(inner.begin(),
                       inner.begin() + static_cast<std::ptrdiff_t>(std::min(room, inner.size())));
  if (mtu) {
    // §8.3 / §7.1: the tunnel MTU is the path MTU less the tunnel header, never below 1280.
    auto inner_mtu =
        std::max<std::uint32_t>(static_cast<std::uint32_t>(kIpv6MinimumMtu),
                                *mtu > kHeader ? *mtu - static_cast<std::uint32_t>(kHeader) : 0);
    relayed.body = wire::PacketTooBig{inner_mtu, std::move(invoking)};
  } else {
    relayed.code = 3;  // §8.3: unreachable node / hop limit exceeded -> address unreachable
    relayed.body = wire::DestinationUnreachable{0, std::move(invoking)};
  }
  ++counters_.icmp_errors_relayed;
  emit(Transmit{
      build_icmpv6_packet(
          {packet.layout.ipv6.destination, inner_source, std::nullopt, std::nullopt, 64}, relayed),
      0, std::nullopt, Protection::kNone});
}

// ---------------------------------------------------------------------------------------------
// Prefixes (§10.3.1 lifetimes, §10.6 renumbering)

void HomeAgent::on_prefix_update(const PrefixUpdate& update, TimePoint now) {
  if (update.ifindex != config_.home_ifindex) return;
  auto& prefixes = config_.prefixes;
  auto it = std::find_if(prefixes.begin(), prefixes.end(), [&](const HomePrefix& p) {
    return p.prefix == update.prefix && p.length == update.prefix_length;
  });
  bool removed = update.valid_lifetime && *update.valid_lifetime <= Duration{};
  if (it == prefixes.end()) {
    if (removed) return;
    prefixes.push_back(HomePrefix{update.prefix, update.prefix_length, {}, {}, true, true});
    it = prefixes.end() - 1;
  }
  it->valid_until = until_from(update.valid_lifetime, now);
  it->preferred_until = until_from(update.preferred_lifetime, now);
  // §10.3.1: a binding never outlives its prefix's valid lifetime.
  std::vector<Ipv6Address> homes;
  cache_.for_each([&](const BindingCacheEntry& entry) {
    if (entry.home_registration &&
        entry.home_address.in_prefix(update.prefix, update.prefix_length))
      homes.push_back(entry.home_address);
  });
  for (const auto& home : homes) {
    BindingCacheEntry* entry = cache_.find(home);
    if (it->valid_until && entry->expires > *it->valid_until) entry->expires = *it->valid_until;
  }
  if (removed) prefixes.erase(it);
  run_timers(now);  // bindings on a removed prefix end here
  // §10.6.2: a changed lifetime (not by time passing), a new or a removed prefix -> an
  // unsolicited MPA with the full list. Every prefix is on the one home link, so every mobile
  // node registered there hears about it (renumbering, draft-04 §8.5).
  schedule_unsolicited_mpas(now);
}

// ---------------------------------------------------------------------------------------------
// Timers

void HomeAgent::run_timers(TimePoint now) {
  for (const auto& expired : cache_.expire(now))
    handle_expired(expired);
  list_.expire(now);
  while (!wakeups_.empty() && wakeups_.top().first <= now) {
    const Ipv6Address home = wakeups_.top().second;
    wakeups_.pop();
    run_home_timers(home, now);
  }
}

void HomeAgent::run_home_timers(const Ipv6Address& home, TimePoint now) {
  const BindingCacheEntry* entry = cache_.find(home);
  const bool valid = entry != nullptr && entry->state == BindingState::kValid;
  if (auto it = advertising_.find(home); it != advertising_.end()) {
    Advertising& state = it->second;
    if (!valid) {
      advertising_.erase(it);
    } else if (state.next <= now) {
      send_neighbor_advertisement(home);
      if (entry->link_local_compatible) send_neighbor_advertisement(derived_link_local(home));
      --state.remaining;
      state.next += kRetransTimer;
      if (state.remaining > 0)
        wake_at(home, state.next);
      else
        advertising_.erase(it);
    }
  }
  if (auto it = mpa_.find(home); it != mpa_.end()) {
    // §10.6.2: scheduled MPAs are cancelled when the home registration ends.
    if (!valid)
      mpa_.erase(it);
    else
      run_mpa_timers(*entry, it->second, now);
  }
  if (auto it = refresh_request_at_.find(home);
      it != refresh_request_at_.end() && it->second <= now) {
    if (valid) send_binding_refresh_request(*entry);
    refresh_request_at_.erase(it);
  }
}

void HomeAgent::run_mpa_timers(const BindingCacheEntry& entry, PrefixAdvertising& state,
                               TimePoint now) {
  if (state.solicited_at && *state.solicited_at <= now) {
    send_mpa(entry, *state.solicited, now);
    state.solicited.reset();
    state.solicited_at.reset();
  }
  if (!state.retransmit_at || *state.retransmit_at > now) return;
  if (state.retries_left == 0) {
    state.retransmit_at.reset();
    return;
  }
  // §10.6.2: PREFIX_ADV_TIMEOUT, doubling, PREFIX_ADV_RETRIES times, until an MPS. More
  // retries than that left: this is the rate-limited first transmission.
  if (state.retries_left <= kPrefixAdvRetries) {
    ++counters_.mpa_retransmitted;
    state.timeout *= 2;
  }
  send_mpa(entry, state.identifier, now);
  --state.retries_left;
  state.retransmit_at = now + state.timeout;
  wake_at(entry.home_address, *state.retransmit_at);
}

std::optional<TimePoint> HomeAgent::next_deadline() const {
  std::optional<TimePoint> next = cache_.earliest_expiry();
  auto consider = [&](const std::optional<TimePoint>& t) {
    if (t && (!next || *t < *next)) next = t;
  };
  consider(list_.next_expiry());
  if (!wakeups_.empty()) consider(wakeups_.top().first);
  return next;
}

}  // namespace mipv6::core
