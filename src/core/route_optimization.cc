#include "core/route_optimization.h"

#include <algorithm>
#include <array>

#include "core/signalling.h"
#include "crypto/crypto.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::core {

namespace {

std::string text(const wire::Ipv6Address& address) {
  return address.to_string();
}

std::string peer_text(const CorrespondentEntry& entry) {
  return "correspondent " + text(entry.correspondent) + " home address " + text(entry.home_address);
}

constexpr std::uint8_t kIpProtoTcp = 6;
constexpr std::uint8_t kIpProtoUdp = 17;

// The two ports of a TCP or UDP packet (RFC 768, RFC 9293: source then destination first).
std::vector<std::uint16_t> ports_of(const RxPacket& packet) {
  const auto protocol = packet.layout.upper_protocol;
  const auto upper = packet.upper();
  if ((protocol != kIpProtoTcp && protocol != kIpProtoUdp) || upper.size() < 4) return {};
  return {wire::load_be16(upper.data()), wire::load_be16(upper.data() + 2)};
}

// §11.7.2: the trigger is "not a Home Test, Home Test Init, Care-of Test, or Care-of Test Init
// message". No Mobility Header triggers here: a BRR or BE from a node without an entry must not
// start return routability either (§11.7.4, §11.3.6: spoofed signalling wastes resources).
bool is_mobility_signalling(const RxPacket& packet) {
  return packet.layout.upper_protocol == wire::kIpProtoMobility;
}

wire::Ipv6Address address_at(wire::ByteSpan bytes, std::size_t offset) {
  wire::Ipv6Address address;
  for (std::size_t i = 0; i < address.bytes.size(); ++i)
    address.bytes[i] = std::to_integer<std::uint8_t>(bytes[offset + i]);
  return address;
}

std::uint16_t lifetime_units(Duration lifetime) {
  const auto units = whole_seconds(lifetime) / wire::kLifetimeUnitSeconds;
  return static_cast<std::uint16_t>(std::clamp<std::int64_t>(units, 0, 0xffff));
}

}  // namespace

RouteOptimization::RouteOptimization(RouteOptimizationConfig config, Rng& rng)
    : config_(std::move(config)), rng_(rng) {}

// ---------------------------------------------------------------------------------------------
// Inputs from the MobileNode

void RouteOptimization::set_home_address(const RoHomeAddress& home, TimePoint now) {
  auto it = std::find_if(homes_.begin(), homes_.end(),
                         [&](const auto& h) { return h.home_address == home.home_address; });
  const bool was_home = it != homes_.end() && it->at_home;
  if (it == homes_.end()) {
    homes_.push_back(home);
  } else {
    *it = home;
  }
  for (auto& [key, entry] : entries_) {
    if (entry.home_address != home.home_address) continue;
    if (home.at_home && !was_home) {
      // §11.5.5, §11.7.2: returning home, bindings at correspondents are deleted: BU with
      // care-of address = home address, Lifetime 0, authorised by the home token only.
      if (!entry.bu_sent) {
        finished_.push_back(key);
        continue;
      }
      drop_binding(entry);
      entry.deleting = true;
      entry.do_not_send = false;
      entry.failures = 0;
      entry.care_of_init_cookie.reset();
      proceed(entry, now);
    } else if (!home.at_home && !registered(home, now)) {
      // §11.7.2: no correspondent binding without a home registration.
      drop_binding(entry);
      finished_.push_back(key);
    }
  }
  sweep();
}

void RouteOptimization::remove_home_address(const wire::Ipv6Address& home_address, TimePoint) {
  std::erase_if(homes_, [&](const auto& h) { return h.home_address == home_address; });
  for (auto& [key, entry] : entries_) {
    if (entry.home_address != home_address) continue;
    drop_binding(entry);
    finished_.push_back(key);
  }
  sweep();
}

void RouteOptimization::set_primary_care_of_address(std::optional<wire::Ipv6Address> care_of,
                                                    TimePoint now) {
  if (care_of == care_of_) return;
  care_of_ = care_of;
  if (!care_of_) return;
  // §11.7.2: a new primary care-of address SHOULD trigger correspondent registrations for the
  // entries in the Binding Update List. The care-of token names the old address, so a CoTI is
  // needed; the home token is reused while fresh (§5.2.7, §11.6.1).
  for (auto& [key, entry] : entries_) {
    if (entry.deleting || entry.do_not_send) continue;
    drop_binding(entry);
    restart(entry, now);
  }
  sweep();
}

void RouteOptimization::start(const wire::Ipv6Address& correspondent,
                              const wire::Ipv6Address& home_address, TimePoint now,
                              std::span<const std::uint16_t> ports) {
  const auto* home = home_of(home_address);
  // §11.7.2: only after a successful home registration, and only while away.
  if (!home || home->at_home || !registered(*home, now)) return;
  // §11.3.1: never toward link-local peers (nor anything not unicast routable).
  if (!correspondent.is_unicast_routable()) return;
  if (!policy_allows(correspondent, ports)) return;
  auto [it, inserted] = entries_.try_emplace(Key{correspondent, home_address});
  auto& entry = it->second;
  if (inserted) {
    entry.correspondent = correspondent;
    entry.home_address = home_address;
    // §11.7.2: a random initial sequence number for a new Binding Update List entry.
    entry.sequence_number = rng_.next_u16();
    log(LogLevel::kInfo, "route optimisation started toward " + peer_text(entry));
  } else if (entry.do_not_send || entry.deadline || route_optimized(entry, now)) {
    return;  // already running, established, or held off (§11.3.5, §5.2.9)
  }
  restart(entry, now);
}

// ---------------------------------------------------------------------------------------------
// Decisions

const RoHomeAddress* RouteOptimization::home_of(const wire::Ipv6Address& address) const {
  auto it = std::find_if(homes_.begin(), homes_.end(),
                         [&](const auto& h) { return h.home_address == address; });
  return it == homes_.end() ? nullptr : &*it;
}

bool RouteOptimization::policy_allows(const wire::Ipv6Address& correspondent,
                                      std::span<const std::uint16_t> ports) const {
  for (const auto& rule : config_.rules) {
    if (!correspondent.in_prefix(rule.prefix, rule.prefix_length)) continue;
    if (rule.port && std::find(ports.begin(), ports.end(), *rule.port) == ports.end()) continue;
    return rule.route_optimize;
  }
  return config_.route_optimize_by_default;
}

bool RouteOptimization::registered(const RoHomeAddress& home, TimePoint now) const {
  return home.registration_expires && *home.registration_expires > now;
}

bool RouteOptimization::token_fresh(const std::optional<ReceivedToken>& token,
                                    const wire::Ipv6Address& address, TimePoint now) const {
  // §5.2.7: a token may be reused until MAX_TOKEN_LIFETIME after it was received, for the
  // address it was issued for.
  return token && token->address == address && now - token->received < config_.token_lifetime;
}

bool RouteOptimization::route_optimized(const CorrespondentEntry& entry, TimePoint now) const {
  // §11.3.1: acknowledged, lifetime left, for the current care-of address.
  return entry.acknowledged && !entry.deleting && entry.expires && *entry.expires > now &&
         care_of_ && entry.care_of_address == *care_of_;
}

SendDecision RouteOptimization::send_path(const wire::Ipv6Address& home_address,
                                          const wire::Ipv6Address& correspondent, TimePoint now) {
  const auto* home = home_of(home_address);
  if (home && home->at_home) return {SendPath::kHome, home_address};
  const auto care_of = care_of_.value_or(wire::Ipv6Address{});
  auto it = entries_.find(Key{correspondent, home_address});
  if (it == entries_.end() || !route_optimized(it->second, now))
    return {SendPath::kReverseTunnel, care_of};
  it->second.used = true;
  return {SendPath::kRouteOptimized, care_of};
}

bool RouteOptimization::accept_type2(const RxPacket& packet) const {
  const auto& layout = packet.layout;
  if (!layout.type2_address) return true;
  // §11.3.3: Hdr Ext Len exactly 2 and Segments Left 1 as received.
  const auto hdr_ext_len = std::to_integer<std::uint8_t>(packet.bytes[layout.type2_offset + 1]);
  if (hdr_ext_len != 2 || layout.type2_segments_left != 1) return false;
  // §11.3.3: the address must be one of our home addresses.
  if (!home_of(*layout.type2_address)) return false;
  // §6.4: a home address of smaller scope than the care-of address is discarded.
  return layout.type2_address->scope() >= layout.ipv6.destination.scope();
}

// ---------------------------------------------------------------------------------------------
// Return routability and Binding Updates

void RouteOptimization::restart(CorrespondentEntry& entry, TimePoint now) {
  entry.failures = 0;
  entry.home_init_cookie.reset();
  entry.care_of_init_cookie.reset();
  entry.bu_outstanding = false;
  entry.deadline.reset();
  proceed(entry, now);
}

void RouteOptimization::proceed(CorrespondentEntry& entry, TimePoint now) {
  const auto* home = home_of(entry.home_address);
  if (!home || entry.do_not_send) return;
  entry.timeout = config_.initial_timeout;
  const bool home_fresh = token_fresh(entry.home_token, entry.home_address, now);
  if (home->at_home) {
    // §5.2.5, §11.6.1: a deletion needs the home keygen token only.
    if (home_fresh) return send_binding_update(entry, now);
    return send_tests(entry, true, false, now);
  }
  if (!registered(*home, now) || !care_of_) return;
  const bool care_of_fresh = token_fresh(entry.care_of_token, *care_of_, now);
  if (home_fresh && care_of_fresh) return send_binding_update(entry, now);
  send_tests(entry, !home_fresh, !care_of_fresh, now);
}

void RouteOptimization::send_tests(CorrespondentEntry& entry, bool home, bool care_of,
                                   TimePoint now) {
  entry.bu_outstanding = false;
  if (home) {
    send_home_test_init(entry, *home_of(entry.home_address), now);
  } else {
    entry.home_init_cookie.reset();
  }
  if (care_of) {
    send_care_of_test_init(entry, now);
  } else {
    entry.care_of_init_cookie.reset();
  }
  entry.deadline = now + entry.timeout;
}

void RouteOptimization::send_home_test_init(CorrespondentEntry& entry, const RoHomeAddress& home,
                                            TimePoint now) {
  // §5.2.3, §11.8: a fresh cookie for every HoTI, retransmissions included.
  entry.home_init_cookie = rng_.next_u64();
  entry.hoti_sent = now;
  wire::MobilityHeader mh;
  mh.message = wire::HomeTestInit{0, *entry.home_init_cookie};
  auto inner = build_mobility_packet(
      {entry.home_address, entry.correspondent, std::nullopt, std::nullopt, 64}, mh);
  if (home.at_home || !care_of_) {
    // At home the home address is on link: the HoTI goes directly (§11.6.1, deletion).
    transmit(std::move(inner));
  } else {
    // §11.6.1: from the home address through the reverse tunnel to the home agent.
    transmit(wire::encapsulate(inner, {*care_of_, home.home_agent}), config_.home_test_protection);
  }
  log(LogLevel::kDebug, "HoTI to " + peer_text(entry));
}

void RouteOptimization::send_care_of_test_init(CorrespondentEntry& entry, TimePoint now) {
  // §11.6.1: directly from the care-of address, with a fresh cookie (§5.2.3, §11.8).
  entry.care_of_init_cookie = rng_.next_u64();
  entry.care_of_test_address = *care_of_;
  entry.coti_sent = now;
  wire::MobilityHeader mh;
  mh.message = wire::CareOfTestInit{0, *entry.care_of_init_cookie};
  transmit(
      build_mobility_packet({*care_of_, entry.correspondent, std::nullopt, std::nullopt, 64}, mh));
  log(LogLevel::kDebug, "CoTI from " + text(*care_of_) + " to " + peer_text(entry));
}

void RouteOptimization::send_binding_update(CorrespondentEntry& entry, TimePoint now) {
  const auto& home = *home_of(entry.home_address);
  const bool deletion = home.at_home;
  Duration lifetime{};
  if (!deletion) {
    // §11.7.2: no longer than the home registration; §5.2.6: MAX_RR_BINDING_LIFETIME.
    lifetime = std::min(
        {config_.requested_lifetime, kMaxRrBindingLifetime, *home.registration_expires - now});
    if (lifetime_units(lifetime) == 0) return;  // the home registration is about to end
  }
  // §11.8: every (re)transmission carries a new sequence number.
  entry.sequence_number = static_cast<std::uint16_t>(entry.sequence_number + 1);
  entry.deleting = deletion;
  // §6.2.7: the care-of address authenticated is the home address for a deletion.
  entry.care_of_address = deletion ? entry.home_address : *care_of_;
  const KeygenToken home_token = entry.home_token->token;
  std::optional<KeygenToken> care_of_token;
  if (!deletion) care_of_token = entry.care_of_token->token;
  entry.kbm = binding_management_key(home_token, care_of_token);  // §5.2.5

  wire::BindingUpdate update;
  update.sequence_number = entry.sequence_number;
  update.set_flag(wire::kBuFlagA, true);  // §11.7.2: A set, so the BA proves acceptance
  update.lifetime = lifetime_units(lifetime);
  wire::MobilityHeader mh;
  mh.message = update;
  // §11.7.2: Nonce Indices (care-of index 0 for a deletion, §5.2.5) and Binding
  // Authorization Data, last (§6.2.7).
  mh.options.emplace_back(
      wire::NonceIndices{entry.home_token->nonce_index,
                         deletion ? std::uint16_t{0} : entry.care_of_token->nonce_index});
  mh.options.emplace_back(
      wire::BindingAuthorizationData{wire::Bytes(std::tuple_size_v<Authenticator>)});
  wire::Bytes encoded;
  (void)wire::encode_mobility_header(mh, encoded);
  if (auto input = wire::authenticator_input(encoded)) {
    const auto mac =
        binding_authenticator(*entry.kbm, entry.care_of_address, entry.correspondent, *input);
    std::get<wire::BindingAuthorizationData>(mh.options.back())
        .authenticator.assign(mac.begin(), mac.end());
  }
  // §11.7.2: from the care-of address with a Home Address option; at home from the home address.
  const auto source = deletion ? entry.home_address : *care_of_;
  std::optional<wire::Ipv6Address> hao;
  if (source != entry.home_address) hao = entry.home_address;
  transmit(build_mobility_packet({source, entry.correspondent, hao, std::nullopt, 64}, mh));
  entry.lifetime_sent = lifetime;
  entry.bu_sent = now;
  entry.bu_outstanding = true;
  entry.used = false;
  entry.home_init_cookie.reset();
  entry.care_of_init_cookie.reset();
  entry.deadline = now + entry.timeout;
  log(LogLevel::kInfo, std::string(deletion ? "deletion BU" : "BU") + " seq " +
                           std::to_string(entry.sequence_number) + " lifetime " +
                           std::to_string(whole_seconds(lifetime)) + "s to " + peer_text(entry));
}

void RouteOptimization::retransmit(CorrespondentEntry& entry, TimePoint now) {
  // §5.2.9: MAX_RO_FAILURE failed attempts in a row revert to the tunnel.
  if (++entry.failures >= config_.max_ro_failure)
    return fail(entry, "no answer after " + std::to_string(entry.failures) + " attempts (§5.2.9)",
                now);
  // §11.8: exponential back-off up to MAX_BINDACK_TIMEOUT.
  const auto timeout = std::min(entry.timeout * 2, config_.max_timeout);
  if (entry.bu_outstanding) {
    entry.bu_outstanding = false;
    proceed(entry, now);  // a new sequence number; tokens refetched if they went stale
  } else {
    const auto* home = home_of(entry.home_address);
    if (entry.home_init_cookie) send_home_test_init(entry, *home, now);
    if (entry.care_of_init_cookie && care_of_) send_care_of_test_init(entry, now);
  }
  entry.timeout = timeout;
  entry.deadline = now + timeout;
}

void RouteOptimization::fail(CorrespondentEntry& entry, std::string why, TimePoint now) {
  log(LogLevel::kWarn, "route optimisation with " + peer_text(entry) + " stopped: " + why);
  entry.last_failure = std::move(why);
  entry.home_init_cookie.reset();
  entry.care_of_init_cookie.reset();
  entry.bu_outstanding = false;
  entry.deadline.reset();
  entry.failures = 0;
  drop_binding(entry);
  if (entry.deleting) {
    finished_.push_back(Key{entry.correspondent, entry.home_address});
    return;
  }
  // §5.2.9 / §11.3.5: back to the tunnel; the mark is removed after retry_hold.
  entry.do_not_send = true;
  entry.retry_after = now + config_.retry_hold;
}

void RouteOptimization::drop_binding(CorrespondentEntry& entry) {
  entry.acknowledged = false;
  entry.expires.reset();
  if (entry.route_on) notify(entry, Change::kRemove);
}

void RouteOptimization::refresh_or_expire(CorrespondentEntry& entry, TimePoint now) {
  if (entry.do_not_send && entry.retry_after && now >= *entry.retry_after) {
    entry.do_not_send = false;  // §11.3.5: allow retrying route optimisation
    entry.retry_after.reset();
  }
  if (entry.deadline && now >= *entry.deadline) retransmit(entry, now);
  if (!entry.acknowledged || !entry.expires) return;
  if (now >= *entry.expires) {
    log(LogLevel::kInfo, "binding with " + peer_text(entry) + " expired");
    drop_binding(entry);
    return;
  }
  const auto lead = std::min(config_.refresh_lead, entry.lifetime_granted / 2);
  // §11.7.2: refresh bindings in use before they expire (via RR when the tokens are stale).
  if (entry.used && !entry.deadline && now >= *entry.expires - lead) {
    entry.used = false;  // one refresh per use: no retry loop if it cannot be sent
    proceed(entry, now);
  }
}

std::optional<TimePoint> RouteOptimization::entry_deadline(const CorrespondentEntry& entry) const {
  std::optional<TimePoint> earliest = entry.deadline;
  auto consider = [&](TimePoint at) {
    if (!earliest || at < *earliest) earliest = at;
  };
  if (entry.do_not_send && entry.retry_after) consider(*entry.retry_after);
  if (entry.acknowledged && entry.expires) {
    consider(*entry.expires);
    if (entry.used && !entry.deadline)
      consider(*entry.expires - std::min(config_.refresh_lead, entry.lifetime_granted / 2));
  }
  return earliest;
}

void RouteOptimization::on_timeout(TimePoint now) {
  for (auto& [key, entry] : entries_)
    refresh_or_expire(entry, now);
  sweep();
}

std::optional<TimePoint> RouteOptimization::next_deadline() const {
  std::optional<TimePoint> earliest;
  for (const auto& [key, entry] : entries_) {
    const auto at = entry_deadline(entry);
    if (at && (!earliest || *at < *earliest)) earliest = at;
  }
  return earliest;
}

void RouteOptimization::sweep() {
  for (const auto& key : finished_)
    entries_.erase(key);
  finished_.clear();
}

const CorrespondentEntry* RouteOptimization::find(const wire::Ipv6Address& correspondent,
                                                  const wire::Ipv6Address& home_address) const {
  auto it = entries_.find(Key{correspondent, home_address});
  return it == entries_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// Received packets

bool RouteOptimization::on_packet(const RxPacket& packet, TimePoint now) {
  bool consumed = false;
  if (packet.layout.upper_protocol == wire::kIpProtoMobility) {
    consumed = handle_mobility(packet, now);
  } else if (packet.layout.upper_protocol == wire::kIcmpv6NextHeader) {
    consumed = handle_icmp(packet, now);
  }
  if (!consumed) maybe_trigger(packet, now);
  sweep();
  return consumed;
}

void RouteOptimization::maybe_trigger(const RxPacket& packet, TimePoint now) {
  // §11.7.2: a packet that arrived tunnelled, outer destination a care-of address, inner
  // destination a home address, outer source not the inner source, not RR signalling.
  if (!packet.tunnel || !care_of_ || packet.tunnel->destination != *care_of_) return;
  const auto& inner = packet.layout.ipv6;
  const auto* home = home_of(inner.destination);
  if (!home || packet.tunnel->source != home->home_agent) return;
  if (packet.tunnel->source == inner.source) return;
  if (is_mobility_signalling(packet)) return;
  // §11.7.2: the peer is the inner Home Address option's address, else the inner source.
  const auto peer = packet.layout.home_address.value_or(inner.source);
  const auto ports = ports_of(packet);
  start(peer, home->home_address, now, ports);
}

bool RouteOptimization::handle_mobility(const RxPacket& packet, TimePoint now) {
  const auto input = check_mobility_header(packet);
  if (input.verdict != MhVerdict::kAccept) return false;
  const auto& message = input.header.message;
  if (const auto* hot = std::get_if<wire::HomeTest>(&message))
    return handle_home_test(packet, *hot, now);
  if (const auto* cot = std::get_if<wire::CareOfTest>(&message))
    return handle_care_of_test(packet, *cot, now);
  if (std::holds_alternative<wire::BindingAcknowledgement>(message))
    return handle_binding_ack(packet, input.header, now);
  if (std::holds_alternative<wire::BindingRefreshRequest>(message))
    return handle_refresh_request(packet, now);
  if (const auto* error = std::get_if<wire::BindingError>(&message))
    return handle_binding_error(packet, *error, now);
  return false;
}

bool RouteOptimization::handle_home_test(const RxPacket& packet, const wire::HomeTest& hot,
                                         TimePoint now) {
  const auto& layout = packet.layout;
  auto it = entries_.find(Key{layout.ipv6.source, layout.ipv6.destination});
  if (it == entries_.end()) return false;
  auto& entry = it->second;
  const auto& home = *home_of(entry.home_address);
  // §11.6.2: RR in progress with no home token received yet, the cookie matches, and away
  // from home it came through the tunnel from the home agent to the home address.
  bool valid = entry.home_init_cookie && hot.home_init_cookie == *entry.home_init_cookie;
  if (home.at_home) {
    valid = valid && !packet.tunnel;
  } else {
    valid = valid && packet.tunnel && packet.tunnel->source == home.home_agent && care_of_ &&
            packet.tunnel->destination == *care_of_;
  }
  if (!valid) {
    log(LogLevel::kDebug, "HoT from " + peer_text(entry) + " ignored (§11.6.2)");
    return true;
  }
  entry.home_token =
      ReceivedToken{hot.home_keygen_token, hot.home_nonce_index, now, entry.home_address};
  entry.home_init_cookie.reset();
  entry.failures = 0;
  if (!entry.care_of_init_cookie) proceed(entry, now);  // RR complete (§11.6.2)
  return true;
}

bool RouteOptimization::handle_care_of_test(const RxPacket& packet, const wire::CareOfTest& cot,
                                            TimePoint now) {
  const auto& layout = packet.layout;
  bool known = false;
  for (auto& [key, entry] : entries_) {
    if (entry.correspondent != layout.ipv6.source) continue;
    known = true;
    if (!entry.care_of_init_cookie || *entry.care_of_init_cookie != cot.care_of_init_cookie)
      continue;
    // §11.6.2: addressed to the current care-of address, the one the CoTI came from.
    if (packet.tunnel || !care_of_ || layout.ipv6.destination != *care_of_ ||
        entry.care_of_test_address != *care_of_) {
      log(LogLevel::kDebug, "CoT from " + peer_text(entry) + " ignored (§11.6.2)");
      return true;
    }
    entry.care_of_token = ReceivedToken{cot.care_of_keygen_token, cot.care_of_nonce_index, now,
                                        layout.ipv6.destination};
    entry.care_of_init_cookie.reset();
    entry.failures = 0;
    if (!entry.home_init_cookie) proceed(entry, now);  // RR complete (§11.6.2)
    return true;
  }
  if (known) log(LogLevel::kDebug, "CoT from " + text(layout.ipv6.source) + " ignored (§11.6.2)");
  return known;
}

bool RouteOptimization::handle_binding_ack(const RxPacket& packet, const wire::MobilityHeader& mh,
                                           TimePoint now) {
  const auto& layout = packet.layout;
  const auto home_address = layout.type2_address.value_or(layout.ipv6.destination);
  auto it = entries_.find(Key{layout.ipv6.source, home_address});
  if (it == entries_.end()) return false;  // not ours: perhaps the home agent's
  auto& entry = it->second;
  const auto& ba = std::get<wire::BindingAcknowledgement>(mh.message);
  const std::string from = "BA status " + std::to_string(ba.status) + " seq " +
                           std::to_string(ba.sequence_number) + " from " + peer_text(entry);
  // §11.3.3: a Type 2 Routing header only for our own home address.
  if (!accept_type2(packet) || !entry.bu_outstanding || !entry.kbm) {
    log(LogLevel::kDebug, from + " ignored: no outstanding BU (§11.7.3)");
    return true;
  }
  if (ba.status >= wire::kBaStatusExpiredHomeNonceIndex &&
      ba.status <= wire::kBaStatusExpiredNonces) {
    // §9.5.4: no authenticator (no Kbm at the correspondent); §11.7.2: fetch the expired
    // token(s) again and send a new BU.
    if (ba.sequence_number != entry.sequence_number) return true;
    if (ba.status != wire::kBaStatusExpiredCareOfNonceIndex) entry.home_token.reset();
    if (ba.status != wire::kBaStatusExpiredHomeNonceIndex) entry.care_of_token.reset();
    log(LogLevel::kInfo, from + ": refetching keygen tokens (§11.7.2)");
    entry.bu_outstanding = false;
    proceed(entry, now);
    return true;
  }
  // §11.7.3: Binding Authorization Data present, last (checked by the decoder) and valid.
  const auto* data = wire::find_option<wire::BindingAuthorizationData>(mh);
  auto input = wire::authenticator_input(packet.upper());
  bool valid = false;
  if (data && input && data->authenticator.size() == std::tuple_size_v<Authenticator>) {
    const auto expected =
        binding_authenticator(*entry.kbm, entry.care_of_address, entry.correspondent, *input);
    valid = crypto::equal_constant_time(expected, data->authenticator);
  }
  if (!valid) {
    log(LogLevel::kInfo, from + " ignored: authenticator does not verify (§11.7.3)");
    return true;
  }
  if (ba.status == wire::kBaStatusSequenceNumberOutOfWindow) {
    // §11.7.3: resend with the correspondent's last accepted sequence number + 1.
    entry.sequence_number = ba.sequence_number;
    entry.bu_outstanding = false;
    proceed(entry, now);
    return true;
  }
  if (ba.sequence_number != entry.sequence_number) {
    log(LogLevel::kDebug, from + " ignored: sequence number mismatch (§11.7.3)");
    return true;
  }
  entry.bu_outstanding = false;
  entry.deadline.reset();
  entry.failures = 0;
  if (!ba.accepted()) {
    fail(entry, "BA status " + std::to_string(ba.status) + " (§11.7.3)", now);
    return true;
  }
  log(LogLevel::kInfo, from + " accepted");
  if (entry.deleting) {
    finished_.push_back(it->first);  // §11.7.2: the binding is gone; nothing left to keep
    return true;
  }
  // §11.7.3: the lifetime counts down from the BU's transmission, as granted by the BA.
  const Duration granted =
      std::min<Duration>(std::chrono::seconds(ba.lifetime_seconds()), entry.lifetime_sent);
  entry.acknowledged = true;
  entry.lifetime_granted = granted;
  entry.expires = *entry.bu_sent + granted;
  if (route_optimized(entry, now) && !entry.route_on) notify(entry, Change::kAdd);
  return true;
}

bool RouteOptimization::handle_refresh_request(const RxPacket& packet, TimePoint now) {
  const auto& layout = packet.layout;
  // §11.7.4: only from a correspondent with a Binding Update List entry (DoS protection).
  auto it = entries_.find(Key{layout.ipv6.source, layout.ipv6.destination});
  if (it == entries_.end()) return false;
  auto& entry = it->second;
  if (entry.deleting || entry.do_not_send || entry.deadline) return true;
  // §11.7.4: keep the binding: return routability (tokens reused while fresh, §5.2.7), then
  // a BU with a new lifetime, bounded by the home registration (§11.7.2).
  log(LogLevel::kInfo, "BRR from " + peer_text(entry) + ": refreshing (§11.7.4)");
  entry.failures = 0;
  proceed(entry, now);
  return true;
}

bool RouteOptimization::handle_binding_error(const RxPacket& packet,
                                             const wire::BindingError& error, TimePoint now) {
  const auto& source = packet.layout.ipv6.source;
  bool known = false;
  for (auto& [key, entry] : entries_) {
    if (entry.correspondent != source) continue;
    known = true;
    if (error.status == wire::kBeStatusUnknownBindingForHomeAddressDestinationOption &&
        entry.home_address == error.home_address) {
      // §11.3.6: without upper-layer progress information, remove the binding, tunnel, and
      // (MAY) start return routability again.
      log(LogLevel::kInfo, "BE status 1 from " + peer_text(entry) + " (§11.3.6)");
      drop_binding(entry);
      if (!entry.deleting && !entry.do_not_send && !entry.deadline) restart(entry, now);
    } else if (error.status == wire::kBeStatusUnrecognizedMhType && entry.deadline) {
      // §11.3.6: status 2 while expecting an answer: cease route optimisation.
      fail(entry, "Binding Error status 2 (§11.3.6)", now);
    }
  }
  // §11.3.6: no Binding Update List entry for the source: ignored (and not ours).
  return known;
}

bool RouteOptimization::handle_icmp(const RxPacket& packet, TimePoint now) {
  auto message = wire::decode_icmpv6(packet.upper());
  if (!message) return false;
  const auto* problem = std::get_if<wire::ParameterProblem>(&message->body);
  if (!problem || (message->code != 1 && message->code != 2)) return false;
  const auto& invoking = problem->invoking_packet;
  if (invoking.size() < wire::kIpv6HeaderSize) return false;
  const auto source = address_at(invoking, 8);
  const auto destination = address_at(invoking, 24);
  bool matched = false;
  // §11.3.5: never creates entries; only entries for the invoking packet's destination.
  for (auto& [key, entry] : entries_) {
    if (entry.correspondent != destination) continue;
    const bool ours = source == entry.home_address || (care_of_ && source == *care_of_) ||
                      source == entry.care_of_address;
    if (!ours) continue;
    if (message->code == 1 && entry.deadline) {
      // §11.3.5: the correspondent does not know the Mobility Header: no more BUs to it.
      matched = true;
      fail(entry, "ICMP Parameter Problem code 1: no Mobility Header support (§11.3.5)", now);
    } else if (message->code == 2) {
      // §11.3.5: the correspondent does not support the Home Address option: logged; and it
      // would drop our route-optimised packets, so back to the tunnel (see the header).
      matched = true;
      fail(entry, "ICMP Parameter Problem code 2: no Home Address option support (§11.3.5)", now);
    }
  }
  return matched;
}

// ---------------------------------------------------------------------------------------------
// Outputs

void RouteOptimization::transmit(wire::Bytes packet, Protection protect) {
  actions_.emplace_back(Transmit{std::move(packet), 0, std::nullopt, protect});
}

void RouteOptimization::log(LogLevel level, std::string message) {
  actions_.emplace_back(Log{level, std::move(message)});
}

void RouteOptimization::notify(CorrespondentEntry& entry, Change change) {
  entry.route_on = change == Change::kAdd;
  route_changes_.push_back(
      RouteOptimized{change, entry.correspondent, entry.home_address, entry.care_of_address});
}

}  // namespace mipv6::core
