#include "core/correspondent_node.h"

#include <algorithm>
#include <span>
#include <string>
#include <variant>

#include "core/constants.h"
#include "crypto/crypto.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

namespace mipv6::core {
namespace {

std::string text(const wire::Ipv6Address& address) {
  return address.to_string();
}

std::string seconds_text(Duration d) {
  return std::to_string(whole_seconds(d)) + "s";
}

std::string status_text(std::uint8_t status) {
  return std::to_string(status) + " (" + std::string(wire::ba_status_name(status)) + ")";
}

// A unicast source: what §9.3.3 and §9.5.4 require before answering a packet at all.
bool is_unicast(const wire::Ipv6Address& address) {
  return !address.is_multicast() && !address.is_unspecified();
}

bool is_expired_nonce_status(std::uint8_t status) {
  return status == wire::kBaStatusExpiredHomeNonceIndex ||
         status == wire::kBaStatusExpiredCareOfNonceIndex || status == wire::kBaStatusExpiredNonces;
}

wire::Ipv6Address address_at(wire::ByteSpan bytes, std::size_t offset) {
  wire::Ipv6Address address;
  for (std::size_t i = 0; i < address.bytes.size(); ++i) {
    address.bytes[i] = std::to_integer<std::uint8_t>(bytes[offset + i]);
  }
  return address;
}

// RFC 6275 §9.3.1: the Next Header of the Destination Options header that carries the Home
// Address option (ESP, AH and MH are processed without a binding).
std::optional<std::uint8_t> next_header_after_hao(const RxPacket& packet) {
  const auto& layout = packet.layout;
  for (std::size_t i = 0; i < layout.header_count; ++i) {
    const auto& header = layout.headers[i];
    if (header.type != wire::ip_proto::kDestinationOptions) continue;
    const auto hao = layout.home_address_option_offset;
    if (hao >= header.offset && hao < header.offset + header.length) {
      return std::to_integer<std::uint8_t>(packet.bytes[header.offset]);
    }
  }
  return std::nullopt;
}

constexpr std::size_t kType2HeaderSize = 24;  // RFC 6275 §6.4.1: 8 octets + one address
constexpr std::size_t kRoutingTypeOffset = 2;
constexpr std::size_t kRoutingAddressOffset = 8;

}  // namespace

std::vector<std::pair<std::string_view, std::uint64_t>> CorrespondentNodeCounters::list() const {
  return {
#define MIPV6_CN_COUNTER_ITEM(name) {#name, name},
      MIPV6_CN_COUNTERS(MIPV6_CN_COUNTER_ITEM)
#undef MIPV6_CN_COUNTER_ITEM
  };
}

// Everything §9.5.1 derives from a received Binding Update.
struct CorrespondentNode::BuContext {
  const RxPacket& packet;
  const wire::MobilityHeader& mh;
  const wire::BindingUpdate& update;
  TimePoint now;
  wire::Ipv6Address source;           // wire value (§9.5.4: the BA goes there)
  wire::Ipv6Address local;            // the address the BU was sent to (the BA's source)
  wire::Ipv6Address correspondent;    // "correspondent" in the authenticator (§6.2.7)
  wire::Ipv6Address home_address;     // HAO, else source (§9.5.1)
  wire::Ipv6Address care_of_address;  // Alternate CoA option, else source (§9.5.1)
  bool home_address_option = false;
  bool deletion = false;  // Lifetime 0 (§6.1.7, §9.5.1)
  std::optional<BindingKey> kbm;

  // §6.2.7: the care-of address in the authenticator is the home address for a deletion.
  const wire::Ipv6Address& authenticated_care_of() const {
    return deletion ? home_address : care_of_address;
  }
  std::string summary() const {
    return "BU from " + text(home_address) + " CoA " + text(care_of_address) + " seq " +
           std::to_string(update.sequence_number) + " lifetime " +
           std::to_string(update.lifetime_seconds()) + "s";
  }
};

CorrespondentNode::CorrespondentNode(CorrespondentNodeConfig config, Rng& rng, TimePoint now)
    : config_(std::move(config)),
      cache_(config_.max_bindings, config_.cache_hash_seed),
      nonces_(rng, now, config_.nonce_rotation),
      binding_errors_(config_.error_rate_per_destination,
                      {config_.binding_error_rate, config_.binding_error_burst},
                      config_.rate_limiter_capacity, config_.cache_hash_seed),
      icmp_errors_(config_.error_rate_per_destination,
                   {config_.icmp_error_rate, config_.icmp_error_burst},
                   config_.rate_limiter_capacity, config_.cache_hash_seed),
      home_test_inits_(config_.test_init_rate_per_source, config_.test_init_rate_global,
                       config_.rate_limiter_capacity, config_.cache_hash_seed),
      care_of_test_inits_(config_.test_init_rate_per_source, config_.test_init_rate_global,
                          config_.rate_limiter_capacity, config_.cache_hash_seed) {}

// ---------------------------------------------------------------------------------------------
// Engine inputs

void CorrespondentNode::on_packet(const RxPacket& packet, TimePoint now) {
  advance(now);
  const auto& layout = packet.layout;
  if (!layout.ipv6.destination.is_multicast() && !is_ours(layout.ipv6.destination)) {
    ++counters_.not_for_us;
    return;
  }
  // §8.2: unless also a mobile node, ignore Type 2 Routing headers and silently discard.
  if (layout.type2_address && !config_.mobile_node) {
    ++counters_.type2_discarded;
    log(LogLevel::kDebug, "packet from " + text(layout.ipv6.source) +
                              " dropped: Type 2 Routing header at a correspondent (§8.2)");
    return;
  }
  if (layout.upper_protocol == wire::kIpProtoMobility) {
    handle_mobility(packet, now);
    return;
  }
  if (layout.home_address && check_home_address_option(packet, now) == HaoVerdict::kDrop) return;
  if (layout.upper_protocol == wire::kIcmpv6NextHeader) {
    handle_icmp(packet, now);
    return;
  }
  ++counters_.packets_ignored;
}

void CorrespondentNode::on_event(const NodeEvent& event, TimePoint now) {
  advance(now);
  auto& addresses = config_.addresses;
  if (const auto* added = std::get_if<AddressAdded>(&event)) {
    if (std::find(addresses.begin(), addresses.end(), added->address) == addresses.end())
      addresses.push_back(added->address);
  } else if (const auto* removed = std::get_if<AddressRemoved>(&event)) {
    std::erase(addresses, removed->address);
  }
}

void CorrespondentNode::on_timeout(TimePoint now) {
  advance(now);
}

std::optional<TimePoint> CorrespondentNode::next_deadline() const {
  std::optional<TimePoint> earliest = cache_.earliest_expiry();
  auto consider = [&earliest](TimePoint t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  if (!refresh_schedule_.empty()) consider(refresh_schedule_.begin()->first);
  // A replay guard lapses strictly after its `until` (purge_replay_guards).
  if (!replay_order_.empty()) consider(replay_order_.front().first + Duration(1));
  return earliest;
}

void CorrespondentNode::advance(TimePoint now) {
  // §9.5.2, §9.6: an entry MUST be deleted when its lifetime ends.
  for (const auto& entry : cache_.expire(now)) {
    ++counters_.bindings_expired;
    remove_binding(entry, now, "lifetime expired (§9.5.2)");
  }
  purge_replay_guards(now);
  send_refresh_requests(now);
}

bool CorrespondentNode::is_ours(const wire::Ipv6Address& address) const {
  const auto& addresses = config_.addresses;
  return addresses.empty() ||
         std::find(addresses.begin(), addresses.end(), address) != addresses.end();
}

std::optional<wire::Ipv6Address> CorrespondentNode::reply_source(const RxPacket& packet) const {
  const auto& destination = packet.layout.ipv6.destination;
  if (is_unicast(destination)) return destination;
  if (!config_.addresses.empty()) return config_.addresses.front();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Mobility Header (§9.2) and return routability (§9.4)

void CorrespondentNode::handle_mobility(const RxPacket& packet, TimePoint now) {
  ++counters_.mh_received;
  if (!config_.route_optimization) {
    // §8.1, §11.3.5: a node without Mobile IPv6 support answers Parameter Problem code 1
    // ("unrecognized Next Header") at the octet naming the MH; mobile nodes then tunnel.
    ++counters_.mh_route_optimization_disabled;
    send_parameter_problem(packet, 1,
                           static_cast<std::uint32_t>(packet.layout.upper_next_header_offset), now);
    return;
  }
  handle_mh_verdict(packet, check_mobility_header(packet), now);
}

void CorrespondentNode::handle_mh_verdict(const RxPacket& packet, const MhInput& input,
                                          TimePoint now) {
  const std::string from = "MH from " + text(packet.layout.ipv6.source);
  switch (input.verdict) {
    case MhVerdict::kBadChecksum:  // §9.2: silently discard
      ++counters_.mh_bad_checksum;
      log(LogLevel::kDebug, from + " dropped: bad checksum (§9.2)");
      return;
    case MhVerdict::kUnknownType:  // §9.2: discard, Binding Error status 2
      ++counters_.mh_unknown_type;
      log(LogLevel::kDebug, from + " dropped: unknown MH Type " + std::to_string(input.mh_type) +
                                " (§9.2), Binding Error status 2");
      send_binding_error(packet, wire::kBeStatusUnrecognizedMhType, now);
      return;
    case MhVerdict::kBadPayloadProto:  // §9.2: discard, Parameter Problem code 0
      ++counters_.mh_bad_payload_proto;
      log(LogLevel::kDebug, from + " dropped: Payload Proto is not 59 (§9.2)");
      send_parameter_problem(packet, 0, input.pointer, now);
      return;
    case MhVerdict::kBadHeaderLen:
      ++counters_.mh_bad_header_len;
      log(LogLevel::kDebug, from + " dropped: Header Len below the minimum (§9.2)");
      send_parameter_problem(packet, 0, input.pointer, now);
      return;
    case MhVerdict::kMalformed:
      ++counters_.mh_malformed;
      log(LogLevel::kDebug, from + " dropped: malformed at octet " + std::to_string(input.pointer));
      return;
    case MhVerdict::kFragmented:
      ++counters_.mh_fragmented;
      log(LogLevel::kDebug, from + " dropped: not a whole Mobility Header (fragment)");
      return;
    case MhVerdict::kAccept:
      break;
  }
  const auto& message = input.header.message;
  if (const auto* hoti = std::get_if<wire::HomeTestInit>(&message)) {
    handle_home_test_init(packet, *hoti, now);
  } else if (const auto* coti = std::get_if<wire::CareOfTestInit>(&message)) {
    handle_care_of_test_init(packet, *coti, now);
  } else if (std::holds_alternative<wire::BindingUpdate>(message)) {
    handle_binding_update(packet, input.header, now);
  } else {
    // Known types a correspondent does not act on (BRR, HoT, CoT, BA, BE are for mobile nodes).
    ++counters_.mh_unexpected_type;
    log(LogLevel::kDebug, from + " ignored: MH Type " + std::to_string(input.mh_type) +
                              " is not for a correspondent node");
  }
}

void CorrespondentNode::handle_home_test_init(const RxPacket& packet,
                                              const wire::HomeTestInit& hoti, TimePoint now) {
  ++counters_.hoti_received;
  const auto& layout = packet.layout;
  // §9.4.1: a HoTI carrying a Home Address option MUST be silently ignored.
  if (layout.home_address) {
    ++counters_.hoti_with_hao_ignored;
    log(LogLevel::kDebug, "HoTI from " + text(layout.ipv6.source) +
                              " ignored: it carries a Home Address option (§9.4.1)");
    return;
  }
  const auto source = reply_source(packet);
  // The home keygen token binds the home address (§5.2.5): it must be one a HoT can reach.
  if (!layout.ipv6.source.is_unicast_routable() || !source) {
    ++counters_.hoti_bad_source;
    return;
  }
  // §15: a HoTI flood is not answered HoT for HoTI beyond the per-source and global limits.
  if (!home_test_inits_.allow(layout.ipv6.source, now)) {
    ++counters_.hoti_rate_limited;
    return;
  }
  // §9.4.3: the current nonce index, a home keygen token for the HoTI's source (the home
  // address), the cookie copied; sent to the home address. No per-MN state (§5.2.5).
  const auto& generation = nonces_.current(now);
  wire::HomeTest hot;
  hot.home_nonce_index = generation.index;
  hot.home_init_cookie = hoti.home_init_cookie;
  hot.home_keygen_token = home_keygen_token(generation.kcn, layout.ipv6.source, generation.nonce);
  wire::MobilityHeader mh;
  mh.message = hot;
  transmit(
      build_mobility_packet({*source, layout.ipv6.source, std::nullopt, std::nullopt, 64}, mh));
  ++counters_.hot_sent;
  log(LogLevel::kDebug, "HoTI from " + text(layout.ipv6.source) + " -> HoT nonce index " +
                            std::to_string(generation.index));
}

void CorrespondentNode::handle_care_of_test_init(const RxPacket& packet,
                                                 const wire::CareOfTestInit& coti, TimePoint now) {
  ++counters_.coti_received;
  const auto& layout = packet.layout;
  // §9.4.2: a CoTI carrying a Home Address option MUST be silently ignored.
  if (layout.home_address) {
    ++counters_.coti_with_hao_ignored;
    log(LogLevel::kDebug, "CoTI from " + text(layout.ipv6.source) +
                              " ignored: it carries a Home Address option (§9.4.2)");
    return;
  }
  const auto source = reply_source(packet);
  if (!layout.ipv6.source.is_unicast_routable() || !source) {
    ++counters_.coti_bad_source;
    return;
  }
  // §15: the same limits for CoTIs and the CoTs they ask for.
  if (!care_of_test_inits_.allow(layout.ipv6.source, now)) {
    ++counters_.coti_rate_limited;
    return;
  }
  // §9.4.4: a care-of keygen token for the CoTI's source, sent to that care-of address.
  const auto& generation = nonces_.current(now);
  wire::CareOfTest cot;
  cot.care_of_nonce_index = generation.index;
  cot.care_of_init_cookie = coti.care_of_init_cookie;
  cot.care_of_keygen_token =
      care_of_keygen_token(generation.kcn, layout.ipv6.source, generation.nonce);
  wire::MobilityHeader mh;
  mh.message = cot;
  transmit(
      build_mobility_packet({*source, layout.ipv6.source, std::nullopt, std::nullopt, 64}, mh));
  ++counters_.cot_sent;
  log(LogLevel::kDebug, "CoTI from " + text(layout.ipv6.source) + " -> CoT nonce index " +
                            std::to_string(generation.index));
}

// ---------------------------------------------------------------------------------------------
// Binding Updates (§9.5.1 - §9.5.4)

void CorrespondentNode::handle_binding_update(const RxPacket& packet,
                                              const wire::MobilityHeader& mh, TimePoint now) {
  ++counters_.bu_received;
  const auto& layout = packet.layout;
  const auto& update = std::get<wire::BindingUpdate>(mh.message);
  BuContext bu{packet,
               mh,
               update,
               now,
               layout.ipv6.source,
               layout.ipv6.destination,
               layout.ipv6.destination,
               layout.home_address.value_or(layout.ipv6.source),
               layout.ipv6.source,
               layout.home_address.has_value(),
               update.lifetime == 0,
               std::nullopt};
  // §6.2.7: a correspondent that is itself mobile is named by its home address.
  if (config_.mobile_node && layout.type2_address) bu.correspondent = *layout.type2_address;
  // §9.5.1: the Alternate Care-of Address option, if present, names the care-of address.
  if (const auto* alternate = wire::find_option<wire::AlternateCareOfAddress>(mh))
    bu.care_of_address = alternate->alternate_care_of_address;

  // §9.5.4: no unicast source, no BA: the BU is silently discarded.
  if (!is_unicast(bu.source))
    return drop_bu(bu, counters_.bu_source_not_unicast, "source is not unicast (§9.5.4)");
  // §9.5.1: a unicast routable home address.
  if (!bu.home_address.is_unicast_routable())
    return drop_bu(bu, counters_.bu_home_address_not_routable,
                   "home address is not unicast routable (§9.5.1)");
  // §6.1.7: BUs for a care-of address that is not unicast routable are silently discarded.
  if (!bu.care_of_address.is_unicast_routable())
    return drop_bu(bu, counters_.bu_care_of_not_routable,
                   "care-of address is not unicast routable (§6.1.7)");
  if (update.h()) return handle_home_registration(bu);
  // §9.5.1, H = 0: Nonce Indices MUST be present.
  if (!wire::find_option<wire::NonceIndices>(mh))
    return drop_bu(bu, counters_.bu_missing_nonce_indices, "no Nonce Indices option (§9.5.1)");
  if (!check_nonces(bu) || !verify_authenticator(bu) || !check_sequence(bu)) return;
  // §9.5.1: the home registration flag of an existing entry MUST NOT change: 139.
  if (const auto* entry = cache_.find(bu.home_address); entry && entry->home_registration) {
    ++counters_.bu_registration_type_change;
    log(LogLevel::kInfo, bu.summary() + " -> BA status " +
                             status_text(wire::kBaStatusRegistrationTypeChangeDisallowed) +
                             ": the binding is a home registration (§9.5.1)");
    return send_binding_ack(bu, wire::kBaStatusRegistrationTypeChangeDisallowed,
                            update.sequence_number, 0);
  }
  // §9.5.1: a non-zero Lifetime with care-of address = home address: 174.
  if (!bu.deletion && bu.care_of_address == bu.home_address) {
    ++counters_.bu_invalid_care_of;
    log(LogLevel::kInfo, bu.summary() + " -> BA status " +
                             status_text(wire::kBaStatusInvalidCareOfAddress) +
                             ": care-of address equals the home address (§9.5.1)");
    return send_binding_ack(bu, wire::kBaStatusInvalidCareOfAddress, update.sequence_number, 0);
  }
  if (bu.deletion) return delete_binding(bu);
  accept_binding(bu);
}

void CorrespondentNode::handle_home_registration(BuContext& bu) {
  // §9.5.1: with H set, the Nonce Indices option MUST NOT be present.
  if (wire::find_option<wire::NonceIndices>(bu.mh))
    return drop_bu(bu, counters_.bu_nonce_indices_with_h,
                   "H set with a Nonce Indices option (§9.5.1)");
  if (!check_sequence(bu)) return;
  const auto* entry = cache_.find(bu.home_address);
  if (entry && !entry->home_registration) {
    // §9.5.1: registration type change: 139, the entry unchanged.
    ++counters_.bu_registration_type_change;
    log(LogLevel::kInfo, bu.summary() + " H=1 -> BA status " +
                             status_text(wire::kBaStatusRegistrationTypeChangeDisallowed) +
                             ": the binding is not a home registration (§9.5.1)");
    return send_binding_ack(bu, wire::kBaStatusRegistrationTypeChangeDisallowed,
                            bu.update.sequence_number, 0);
  }
  // §10.3.1: a node that implements only correspondent node functionality MUST reject it and
  // return 131.
  ++counters_.bu_home_registration_not_supported;
  log(LogLevel::kInfo, bu.summary() + " H=1 -> BA status " +
                           status_text(wire::kBaStatusHomeRegistrationNotSupported) +
                           ": not a home agent (§10.3.1)");
  send_binding_ack(bu, wire::kBaStatusHomeRegistrationNotSupported, bu.update.sequence_number, 0);
}

bool CorrespondentNode::check_nonces(BuContext& bu) {
  const auto& indices = *wire::find_option<wire::NonceIndices>(bu.mh);
  const auto* home = nonces_.find(indices.home_nonce_index, bu.now);
  // §9.5.1, §5.2.6: the care-of nonce index is not inspected for a deletion.
  const auto* care_of = bu.deletion ? nullptr : nonces_.find(indices.care_of_nonce_index, bu.now);
  const bool care_of_ok = bu.deletion || care_of != nullptr;
  if (home && care_of_ok) {
    // §5.2.5: Kbm = SHA1(home token | care-of token); for a deletion SHA1(home token).
    const auto home_token = home_keygen_token(home->kcn, bu.home_address, home->nonce);
    std::optional<KeygenToken> care_of_token;
    if (care_of)
      care_of_token = care_of_keygen_token(care_of->kcn, bu.care_of_address, care_of->nonce);
    bu.kbm = binding_management_key(home_token, care_of_token);
    return true;
  }
  // §9.5.1: unrecognised indices: 136, 137 or 138, sent even without A (§9.5.4).
  std::uint8_t status = wire::kBaStatusExpiredNonces;
  if (home == nullptr && care_of_ok) status = wire::kBaStatusExpiredHomeNonceIndex;
  if (home != nullptr) status = wire::kBaStatusExpiredCareOfNonceIndex;
  auto& counter = status == wire::kBaStatusExpiredNonces ? counters_.bu_expired_nonces
                  : status == wire::kBaStatusExpiredHomeNonceIndex
                      ? counters_.bu_expired_home_nonce
                      : counters_.bu_expired_care_of_nonce;
  ++counter;
  log(LogLevel::kInfo, bu.summary() + " nonce indices " + std::to_string(indices.home_nonce_index) +
                           "/" + std::to_string(indices.care_of_nonce_index) + " -> BA status " +
                           status_text(status) + " (§9.5.1)");
  send_binding_ack(bu, status, bu.update.sequence_number, 0);
  return false;
}

bool CorrespondentNode::verify_authenticator(BuContext& bu) {
  // §9.5.1: Binding Authorization Data MUST be present, last and unpadded (the decoder has
  // rejected any that is not last, §6.2.7), and verify (§6.2.7, §5.2.6).
  const auto* data = wire::find_option<wire::BindingAuthorizationData>(bu.mh);
  if (!data) {
    drop_bu(bu, counters_.bu_missing_authorization, "no Binding Authorization Data (§9.5.1)");
    return false;
  }
  auto input = wire::authenticator_input(bu.packet.upper());
  bool valid = false;
  if (input && data->authenticator.size() == std::tuple_size_v<Authenticator>) {
    const auto expected =
        binding_authenticator(*bu.kbm, bu.authenticated_care_of(), bu.correspondent, *input);
    valid = crypto::equal_constant_time(expected, data->authenticator);
  }
  if (!valid) {
    drop_bu(bu, counters_.bu_bad_authenticator, "authenticator does not verify (§9.5.1)");
    return false;
  }
  return true;
}

std::optional<std::uint16_t> CorrespondentNode::last_sequence(
    const wire::Ipv6Address& home_address) const {
  if (const auto* entry = cache_.find(home_address)) return entry->sequence_number;
  // §5.2.8: a replay guard stands for a binding that is gone while its nonces may be valid.
  if (auto guard = replay_guards_.find(home_address); guard != replay_guards_.end())
    return guard->second.sequence_number;
  return std::nullopt;
}

bool CorrespondentNode::check_sequence(BuContext& bu) {
  // §9.5.1: with no entry any sequence number is accepted; otherwise it must be newer
  // (modulo 2^16), else 135 carrying the last accepted number, sent even without A (§9.5.4).
  const auto last = last_sequence(bu.home_address);
  if (!last || sequence_newer(bu.update.sequence_number, *last)) return true;
  ++counters_.bu_sequence_out_of_window;
  log(LogLevel::kInfo, bu.summary() + " -> BA status " +
                           status_text(wire::kBaStatusSequenceNumberOutOfWindow) +
                           ": last accepted seq " + std::to_string(*last) + " (§9.5.1)");
  send_binding_ack(bu, wire::kBaStatusSequenceNumberOutOfWindow, *last, 0);
  return false;
}

bool CorrespondentNode::has_room_for_state(const wire::Ipv6Address& home_address) const {
  if (cache_.find(home_address) || replay_guards_.contains(home_address)) return true;
  // Bindings become replay guards one for one, so this bounds both (see the header).
  return cache_.size() + replay_guards_.size() < config_.max_bindings + config_.max_replay_guards;
}

void CorrespondentNode::accept_binding(BuContext& bu) {
  const auto& update = bu.update;
  auto refuse = [&](std::string_view why) {
    // §9.5.2: refused for lack of resources: 130, sent even without A (§9.5.4).
    ++counters_.bu_insufficient_resources;
    log(LogLevel::kWarn, bu.summary() + " -> BA status " +
                             status_text(wire::kBaStatusInsufficientResources) + ": " +
                             std::string(why) + " (§9.5.2)");
    send_binding_ack(bu, wire::kBaStatusInsufficientResources, update.sequence_number, 0);
  };
  if (!has_room_for_state(bu.home_address)) return refuse("replay guards full");
  auto inserted = cache_.find_or_insert(bu.home_address, bu.now);
  if (!inserted.entry) return refuse("cache full of home registrations");
  if (inserted.evicted) {
    // §9.6: a replaced entry leaves a replay guard like any deleted one (§5.2.8).
    ++counters_.bindings_evicted;
    remove_binding(*inserted.evicted, bu.now, "replaced, least recently used (§9.6)");
  }
  auto& entry = *inserted.entry;
  const bool created = inserted.outcome == BindingCache::Insert::kInserted;
  const bool moved = created || entry.care_of_address != bu.care_of_address;
  // §5.2.6: RR bindings MUST NOT exceed MAX_RR_BINDING_LIFETIME; §9.5.2: nor the BU Lifetime.
  const Duration granted =
      std::min<Duration>(std::chrono::seconds(update.lifetime_seconds()), kMaxRrBindingLifetime);
  const auto& indices = *wire::find_option<wire::NonceIndices>(bu.mh);
  entry.care_of_address = bu.care_of_address;
  entry.local_address = bu.local;
  entry.expires = bu.now + granted;
  entry.sequence_number = update.sequence_number;  // §9.5.1: stored
  entry.home_nonce_index = indices.home_nonce_index;
  entry.care_of_nonce_index = indices.care_of_nonce_index;
  entry.home_registration = false;
  entry.key_management = false;  // §6.1.7: correspondents ignore K
  cache_.touch(entry, bu.now);
  replay_guards_.erase(bu.home_address);  // the entry holds the sequence number again
  unschedule_refresh(bu.home_address);    // before its schedule is forgotten with the rest
  extras_[bu.home_address] = BindingExtra{};
  schedule_refresh(entry, granted, bu.now);
  ++(created ? counters_.bindings_created : counters_.bindings_updated);
  ++counters_.bu_accepted;
  if (moved) emit(BindingRoute{Change::kAdd, bu.home_address, bu.care_of_address});
  const auto units =
      static_cast<std::uint16_t>(whole_seconds(granted) / wire::kLifetimeUnitSeconds);
  // §9.5.4: on acceptance a BA only when A is set.
  std::string outcome = update.a() ? "BA status " + status_text(wire::kBaStatusAccepted)
                                   : std::string("accepted, no BA (A=0)");
  log(LogLevel::kInfo, bu.summary() + " -> " + outcome + ", binding " +
                           (created ? "created" : "updated") + " for " + seconds_text(granted));
  if (update.a()) send_binding_ack(bu, wire::kBaStatusAccepted, update.sequence_number, units);
}

void CorrespondentNode::delete_binding(BuContext& bu) {
  const auto& update = bu.update;
  auto* entry = cache_.find(bu.home_address);
  if (!entry && !has_room_for_state(bu.home_address)) {
    ++counters_.bu_insufficient_resources;
    log(LogLevel::kWarn, bu.summary() + " -> BA status " +
                             status_text(wire::kBaStatusInsufficientResources) +
                             ": replay guards full (§9.5.3)");
    return send_binding_ack(bu, wire::kBaStatusInsufficientResources, update.sequence_number, 0);
  }
  ++counters_.bu_deletions;
  if (entry) {
    // §9.5.3: any existing binding MUST be deleted.
    entry->sequence_number = update.sequence_number;
    const BindingCacheEntry removed = *entry;
    cache_.erase(bu.home_address);
    ++counters_.bindings_deleted;
    remove_binding(removed, bu.now, "deleted by a Binding Update (§9.5.3)");
  } else {
    // §9.5.3: never created by a deletion, but the combination stays illegal (§5.2.8).
    add_replay_guard(bu.home_address, update.sequence_number, bu.now);
  }
  std::string outcome = update.a() ? "BA status " + status_text(wire::kBaStatusAccepted)
                                   : std::string("accepted, no BA (A=0)");
  log(LogLevel::kInfo, bu.summary() + " -> " + outcome + ", binding " +
                           (entry ? "deleted" : "absent") + " (§9.5.3)");
  if (update.a()) send_binding_ack(bu, wire::kBaStatusAccepted, update.sequence_number, 0);
}

void CorrespondentNode::send_binding_ack(const BuContext& bu, std::uint8_t status,
                                         std::uint16_t sequence, std::uint16_t lifetime_units) {
  wire::BindingAcknowledgement ba;
  ba.status = status;
  ba.sequence_number = sequence;
  ba.lifetime = lifetime_units;  // K stays 0: a correspondent MUST clear it (§6.1.8)
  wire::MobilityHeader mh;
  mh.message = ba;
  // §9.5.4: Binding Authorization Data in every BA except 136/137/138, computed with Kbm over
  // care-of address | correspondent | BA (§5.2.6, §6.2.7), before the checksum. Without Kbm
  // (H = 1: no return routability) there is nothing to compute it with.
  if (bu.kbm && !is_expired_nonce_status(status)) {
    mh.options.emplace_back(
        wire::BindingAuthorizationData{wire::Bytes(std::tuple_size_v<Authenticator>)});
    wire::Bytes encoded;
    (void)wire::encode_mobility_header(mh, encoded);
    if (auto input = wire::authenticator_input(encoded)) {
      const auto mac =
          binding_authenticator(*bu.kbm, bu.authenticated_care_of(), bu.correspondent, *input);
      std::get<wire::BindingAuthorizationData>(mh.options.back())
          .authenticator.assign(mac.begin(), mac.end());
    }
  }
  // §9.5.4: to the BU's source; with a Type 2 Routing header carrying the home address unless
  // the BU came from the home address itself (no Home Address option).
  std::optional<wire::Ipv6Address> type2;
  if (bu.home_address_option) type2 = bu.home_address;
  transmit(build_mobility_packet({bu.local, bu.source, std::nullopt, type2, 64}, mh));
  ++counters_.ba_sent;
}

void CorrespondentNode::drop_bu(const BuContext& bu, std::uint64_t& counter, std::string_view why) {
  // §9.5.1: every failure other than sequence, registration type or nonces: silent discard.
  ++counter;
  log(LogLevel::kDebug, bu.summary() + " dropped: " + std::string(why));
}

// ---------------------------------------------------------------------------------------------
// Data packets (§9.3)

HaoVerdict CorrespondentNode::check_home_address_option(const RxPacket& packet, TimePoint now) {
  const auto& layout = packet.layout;
  if (!layout.home_address) return HaoVerdict::kNoOption;
  advance(now);
  const auto& home_address = *layout.home_address;
  const std::string from =
      "packet from " + text(layout.ipv6.source) + " home address " + text(home_address);
  if (!config_.route_optimization) {
    // §8.1: as a node without Mobile IPv6: option type 0xC9 has action bits 11, so discard
    // and, unless sent to multicast, Parameter Problem code 2 at the option (RFC 8200 §4.2).
    ++counters_.hao_route_optimization_disabled;
    if (!layout.ipv6.destination.is_multicast())
      send_parameter_problem(packet, 2,
                             static_cast<std::uint32_t>(layout.home_address_option_offset), now);
    return HaoVerdict::kDrop;
  }
  // §9.3.1: a home address that is not unicast routable: dropped.
  if (!home_address.is_unicast_routable()) {
    ++counters_.hao_not_routable;
    log(LogLevel::kDebug, from + " dropped: home address not unicast routable (§9.3.1)");
    return HaoVerdict::kDrop;
  }
  // §9.3.1: ESP, AH or MH after the Destination Options header: processed normally.
  const auto next = next_header_after_hao(packet);
  if (next && (*next == wire::ip_proto::kEsp || *next == wire::ip_proto::kAuthentication ||
               *next == wire::kIpProtoMobility)) {
    ++counters_.hao_accepted_without_binding;
    return HaoVerdict::kAcceptWithoutBinding;
  }
  // §9.3.1: a binding for the home address whose care-of address is the packet's source.
  // Looked up without touching it: a Home Address option never changes the cache (§9.1).
  const auto& cache = cache_;
  const auto* entry = cache.find(home_address);
  if (entry && entry->care_of_address == layout.ipv6.source) {
    ++counters_.hao_accepted;
    return HaoVerdict::kAcceptWithBinding;
  }
  ++counters_.hao_no_binding;
  log(LogLevel::kDebug, from + " dropped: no binding with that care-of address (§9.3.1)");
  send_binding_error(packet, wire::kBeStatusUnknownBindingForHomeAddressDestinationOption, now);
  return HaoVerdict::kDrop;
}

std::optional<wire::Ipv6Address> CorrespondentNode::care_of_address_for(
    const wire::Ipv6Address& home_address, TimePoint now) {
  advance(now);
  auto* entry = cache_.find(home_address);
  if (!entry) return std::nullopt;
  // §9.1: usage information, for replacement (§9.6) and refresh requests (§9.5.5).
  cache_.touch(*entry, now);
  extras_[home_address].used = true;
  return entry->care_of_address;
}

std::size_t CorrespondentNode::flush(TimePoint now) {
  advance(now);
  std::vector<BindingCacheEntry> entries;
  entries.reserve(cache_.size());
  cache_.for_each([&entries](const BindingCacheEntry& entry) { entries.push_back(entry); });
  for (const auto& entry : entries) {
    cache_.erase(entry.home_address);
    ++counters_.bindings_deleted;
    remove_binding(entry, now, "flushed by the administrator");
  }
  return entries.size();
}

void CorrespondentNode::send_binding_error(const RxPacket& packet, std::uint8_t status,
                                           TimePoint now) {
  const auto& layout = packet.layout;
  // §9.3.3: to the wire source address, only if it is unicast.
  const auto source = reply_source(packet);
  if (!is_unicast(layout.ipv6.source) || !source) return;
  // §9.3.3: rate-limited like ICMPv6 errors.
  if (!binding_errors_.allow(layout.ipv6.source, now)) {
    ++counters_.be_rate_limited;
    return;
  }
  wire::BindingError error;
  error.status = status;
  // §9.3.3: the Home Address option's address, or the unspecified address.
  error.home_address = layout.home_address.value_or(wire::Ipv6Address{});
  wire::MobilityHeader mh;
  mh.message = error;
  transmit(
      build_mobility_packet({*source, layout.ipv6.source, std::nullopt, std::nullopt, 64}, mh));
  ++counters_.be_sent;
  log(LogLevel::kDebug, "Binding Error status " + std::to_string(status) + " (" +
                            std::string(wire::be_status_name(status)) + ") to " +
                            text(layout.ipv6.source));
}

void CorrespondentNode::send_parameter_problem(const RxPacket& packet, std::uint8_t code,
                                               std::uint32_t pointer, TimePoint now) {
  // RFC 4443 §2.4(e): never about errors or to non-unicast sources; §2.4(f): rate-limited.
  const auto source = reply_source(packet);
  if (!source || !may_send_icmp_error(packet) ||
      !icmp_errors_.allow(packet.layout.ipv6.source, now)) {
    ++counters_.icmp_errors_suppressed;
    return;
  }
  transmit(build_parameter_problem(*source, packet, code, pointer));
  ++counters_.icmp_errors_sent;
  log(LogLevel::kDebug, "Parameter Problem code " + std::to_string(code) + " pointer " +
                            std::to_string(pointer) + " to " + text(packet.layout.ipv6.source));
}

void CorrespondentNode::transmit(wire::Bytes bytes) {
  emit(Transmit{std::move(bytes), 0, std::nullopt, Protection::kNone});
}

// ---------------------------------------------------------------------------------------------
// ICMPv6 errors about packets sent on a binding (§9.3.4)

void CorrespondentNode::handle_icmp(const RxPacket& packet, TimePoint now) {
  ++counters_.icmp_received;
  auto input = check_icmpv6(packet);
  if (input.verdict == IcmpVerdict::kBadChecksum) {
    ++counters_.icmp_bad_checksum;
    return;
  }
  if (input.verdict == IcmpVerdict::kMalformed) {
    ++counters_.icmp_malformed;
    return;
  }
  const auto* message = &input.message;
  if (const auto* unreachable = std::get_if<wire::DestinationUnreachable>(&message->body)) {
    handle_destination_unreachable(unreachable->invoking_packet, now);
    return;
  }
  ++counters_.packets_ignored;
}

void CorrespondentNode::handle_destination_unreachable(wire::ByteSpan invoking, TimePoint now) {
  // The invoking packet as this node's data plane sends it on a binding (§9.3.2): IPv6 header
  // to the care-of address, then the Type 2 Routing header with the home address. It is
  // usually truncated, so only these fixed positions are read.
  constexpr std::size_t kNeeded = wire::kIpv6HeaderSize + kType2HeaderSize;
  constexpr std::size_t kNextHeaderOffset = 6;
  constexpr std::size_t kSourceOffset = 8;
  constexpr std::size_t kDestinationOffset = 24;
  auto ignore = [this] { ++counters_.icmp_unreachable_ignored; };
  if (invoking.size() < kNeeded ||
      std::to_integer<std::uint8_t>(invoking[kNextHeaderOffset]) != wire::ip_proto::kRouting ||
      std::to_integer<std::uint8_t>(invoking[wire::kIpv6HeaderSize + kRoutingTypeOffset]) != 2)
    return ignore();
  const auto source = address_at(invoking, kSourceOffset);
  const auto care_of = address_at(invoking, kDestinationOffset);
  const auto home = address_at(invoking, wire::kIpv6HeaderSize + kRoutingAddressOffset);
  const auto* entry = cache_.find(home);
  if (!is_ours(source) || !entry || entry->care_of_address != care_of) return ignore();
  ++counters_.icmp_unreachable_counted;
  auto& extra = extras_[home];
  if (extra.unreachable_count == 0 || now - extra.first_unreachable > config_.unreachable_window) {
    extra.unreachable_count = 0;
    extra.first_unreachable = now;
  }
  ++extra.unreachable_count;
  // §9.3.4: only persistent errors delete the entry (see the header for "persistent").
  if (extra.unreachable_count < config_.unreachable_threshold ||
      now - extra.first_unreachable < config_.unreachable_min_span)
    return;
  const BindingCacheEntry removed = *entry;
  cache_.erase(home);
  ++counters_.bindings_unreachable;
  remove_binding(removed, now, "persistent ICMP Destination Unreachable (§9.3.4)");
}

// ---------------------------------------------------------------------------------------------
// Binding lifecycle: removal, refresh requests (§9.5.5), replay guards (§5.2.8)

void CorrespondentNode::remove_binding(const BindingCacheEntry& entry, TimePoint now,
                                       std::string_view why) {
  emit(BindingRoute{Change::kRemove, entry.home_address, entry.care_of_address});
  add_replay_guard(entry.home_address, entry.sequence_number, now);
  unschedule_refresh(entry.home_address);
  extras_.erase(entry.home_address);
  log(LogLevel::kInfo, "binding " + text(entry.home_address) + " -> " +
                           text(entry.care_of_address) + " removed: " + std::string(why));
}

void CorrespondentNode::schedule_refresh(const BindingCacheEntry& entry, Duration granted,
                                         TimePoint now) {
  unschedule_refresh(entry.home_address);
  if (!config_.send_binding_refresh_requests) return;
  const Duration lead = std::min(config_.brr_lead, granted / 2);
  const TimePoint at = entry.expires - lead;
  if (at <= now) return;
  refresh_schedule_.emplace(at, entry.home_address);
  extras_[entry.home_address].brr_at = at;
}

void CorrespondentNode::unschedule_refresh(const wire::Ipv6Address& home_address) {
  auto extra = extras_.find(home_address);
  if (extra == extras_.end() || !extra->second.brr_at) return;
  refresh_schedule_.erase({*extra->second.brr_at, home_address});
  extra->second.brr_at.reset();
}

void CorrespondentNode::send_refresh_requests(TimePoint now) {
  while (!refresh_schedule_.empty() && refresh_schedule_.begin()->first <= now) {
    const auto home_address = refresh_schedule_.begin()->second;
    refresh_schedule_.erase(refresh_schedule_.begin());
    auto extra = extras_.find(home_address);
    const auto* entry = cache_.find(home_address);
    if (extra == extras_.end() || !entry) continue;
    extra->second.brr_at.reset();
    // §9.5.5: only for an entry still in active use.
    if (!extra->second.used || now - entry->last_used > config_.brr_recent_use ||
        extra->second.brr_sent) {
      log(LogLevel::kDebug, "binding " + text(home_address) +
                                " nears expiry unused: no Binding Refresh Request (§9.5.5)");
      continue;
    }
    // §9.5.5: always to the home address; §6.1: no Type 2 Routing header, no cache lookup.
    wire::MobilityHeader mh;
    mh.message = wire::BindingRefreshRequest{};
    transmit(build_mobility_packet(
        {entry->local_address, home_address, std::nullopt, std::nullopt, 64}, mh));
    extra->second.brr_sent = true;
    ++counters_.brr_sent;
    log(LogLevel::kInfo, "binding " + text(home_address) + " in use expires in " +
                             seconds_text(entry->expires - now) +
                             " -> Binding Refresh Request (§9.5.5)");
  }
}

void CorrespondentNode::add_replay_guard(const wire::Ipv6Address& home_address,
                                         std::uint16_t sequence, TimePoint now) {
  // §5.2.8: every nonce that authorised a BU so far was first used by `now`, so none is
  // accepted after now + MAX_NONCE_LIFETIME (§5.2.7).
  const TimePoint until = now + kMaxNonceLifetime;
  replay_guards_[home_address] = ReplayGuard{sequence, until};
  replay_order_.emplace_back(until, home_address);
  ++counters_.replay_guards_added;
}

void CorrespondentNode::purge_replay_guards(TimePoint now) {
  while (!replay_order_.empty() && replay_order_.front().first < now) {
    const auto& [until, home_address] = replay_order_.front();
    auto guard = replay_guards_.find(home_address);
    // A guard renewed or removed since keeps (or has) another `until`.
    if (guard != replay_guards_.end() && guard->second.until == until) replay_guards_.erase(guard);
    replay_order_.pop_front();
  }
}

}  // namespace mipv6::core
