// The correspondent node (RFC 6275 §9, §5.2): route optimisation for any IPv6 node that talks
// with mobile nodes — the Mobility Header checks (§9.2), the Home Address option check (§9.3.1),
// Binding Errors (§9.3.3), the return routability responder (§9.4, §5.2), Binding Update
// validation and the Binding Cache (§9.5), Binding Acknowledgements (§9.5.4), Binding Refresh
// Requests (§9.5.5) and deletion after persistent ICMP Destination Unreachable (§9.3.4).
// Sans I/O (DESIGN.md §2): packets, events and the current time in; actions out.
//
// Decisions the RFC leaves open, and where this engine stands:
//  - Order of the §9.5.1 tests for H = 0. The statuses a correspondent sends for a refused BU
//    (135, 139, 174, 130) carry Binding Authorization Data computed with Kbm (§9.5.4), and Kbm
//    can only be computed from recognised nonces, so the engine checks: addresses (silent) ->
//    Nonce Indices present (silent) -> nonce indices recognised (136/137/138, the only answers
//    to a BU that cannot be authenticated) -> authenticator (silent) -> sequence number (135)
//    -> registration type (139) -> care-of address = home address (174) -> resources (130).
//    So nothing about a binding (its sequence number) is told to a sender who cannot prove it
//    holds the keygen tokens.
//  - A Binding Update with H = 1. This engine "implements only correspondent node
//    functionality" (§10.3.1): it answers 131, after §9.5.1's sequence (135) and registration
//    type (139) tests; none of these carry Binding Authorization Data (there is no Kbm: home
//    registrations are protected by IPsec, §5.1). A node that is also a home agent gives such
//    BUs to its HomeAgent engine instead.
//  - Deletion is a BU with Lifetime 0 (§6.1.7, §9.5.1). RFC 6275 no longer treats care-of
//    address = home address as a deletion: with a non-zero Lifetime it is answered 174 (§9.5.1,
//    whether the home address came in a Home Address option or as the source).
//  - Replay protection after a binding is gone (§5.2.8, §9.5.3, §9.6). When a binding is
//    deleted, expires, is evicted or is dropped after ICMP errors, and when a deletion BU is
//    accepted, the engine keeps the home address's last accepted sequence number for
//    MAX_NONCE_LIFETIME: every nonce that could have authorised an earlier BU was first used
//    before that instant, so it cannot be accepted later (§5.2.7). During that time a BU for the
//    home address must carry a newer sequence number, exactly as if the binding were still
//    cached (135 otherwise). These "replay guards" are bounded: bindings + guards never exceed
//    max_bindings + max_replay_guards; a BU that would need more is answered 130 (§9.5.2).
//  - Route optimisation disabled (§8.2 "SHOULD allow route optimization to be administratively
//    enabled or disabled"): the engine then behaves as a node with basic IPv6 support only
//    (§8.1): a Mobility Header gets ICMP Parameter Problem code 1 at the Next Header octet that
//    names it (the signal §11.3.5 tells mobile nodes to fall back to tunnelling on), and a
//    packet with a Home Address option gets Parameter Problem code 2 at the option (RFC 8200
//    §4.2: option type 0xC9 has action bits 11).
//  - Type 2 Routing headers: a correspondent that is not also a mobile node ignores them and
//    silently discards packets that carry one (§8.2).
//  - Binding Refresh Request (§9.5.5): one per binding per granted lifetime, brr_lead before
//    expiry (at most half the lifetime), and only if the binding was used for sending
//    (care_of_address_for) since the BU that set it and within brr_recent_use. Sent to the home
//    address without a Type 2 Routing header: "always sent to the home address" (§9.5.5), and
//    Mobility Header messages other than the BA bypass the Binding Cache (§6.1).
//  - "Persistent" ICMP Destination Unreachable (§9.3.4): at least unreachable_threshold errors
//    about packets sent to the binding's care-of address, all within unreachable_window of the
//    first, and the last at least unreachable_min_span after the first (not one burst caused by
//    one short outage).
//  - A Home Address option never changes the Binding Cache (§9.1), not even its usage
//    information; a Home Address option with a home address that is not unicast routable drops
//    the packet without a Binding Error (§9.3.1: such a packet has no binding to be unknown).
//  - Flood resistance (§15): HoTIs and CoTIs are limited per IPv6 source and in total, Binding
//    Errors and ICMPv6 errors per destination and in total. The per-address state this needs
//    is a fixed-size table (KeyedRateLimiter), not per-MN state in the §5.2.5 sense: it holds
//    no keys, and forgetting an entry only makes its sender's limit start afresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/binding_cache.h"
#include "core/engine.h"
#include "core/return_routability.h"
#include "core/rng.h"
#include "core/signalling.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/mobility.h"

namespace mipv6::core {

struct CorrespondentNodeConfig {
  // This node's addresses. Packets to other unicast destinations are not ours and ignored;
  // empty: every destination is accepted (the data plane already filtered). AddressAdded /
  // AddressRemoved events keep the list current.
  std::vector<wire::Ipv6Address> addresses;
  std::size_t max_bindings = 4096;
  // Bound on the replay guards kept after bindings go away (see the header comment).
  std::size_t max_replay_guards = 4096;
  std::uint64_t cache_hash_seed = 0;
  bool route_optimization = true;  // §8.2: administratively enabled by default
  bool mobile_node = false;        // §8.2: also a mobile node (Type 2 Routing headers are not
                                   // discarded here; the mobile-node side handles them)
  Duration nonce_rotation = 30s;   // §5.2.7: a new nonce every 30 s, the last 8 accepted
  // §9.3.3: Binding Errors are rate-limited like ICMPv6 errors (RFC 4443 §2.4(f)).
  double binding_error_rate = 10.0;  // per second
  double binding_error_burst = 10.0;
  double icmp_error_rate = 10.0;
  double icmp_error_burst = 10.0;
  // Besides those global limits, Binding Errors and ICMPv6 errors are limited per destination
  // (RFC 4443 §2.4(f)), so that one source of bad packets cannot take the whole budget.
  RateLimit error_rate_per_destination{2.0, 5.0};
  // §15 / issue 7: every HoTI makes this node send a HoT (and every CoTI a CoT), computing an
  // HMAC: a flood is answered packet for packet, to whatever source it names. HoTIs and CoTIs
  // are limited per IPv6 source (a mobile node sends one of each per binding refresh, §11.6.1,
  // retransmitting with exponential back-off from 1 s) and in total; over a limit the message
  // is dropped silently and counted (hoti_rate_limited, coti_rate_limited).
  RateLimit test_init_rate_per_source{5.0, 10.0};
  RateLimit test_init_rate_global{10000.0, 10000.0};
  // Addresses tracked by each per-address limiter (fixed memory, least recently used
  // forgotten first); their hash tables are seeded with cache_hash_seed.
  std::size_t rate_limiter_capacity = KeyedRateLimiter::kDefaultCapacity;
  // §9.5.5 Binding Refresh Requests.
  bool send_binding_refresh_requests = true;
  Duration brr_lead = 30s;        // sent this long before expiry (at most half the lifetime)
  Duration brr_recent_use = 60s;  // "in active use": sent on within this long
  // §9.3.4 persistent ICMP Destination Unreachable.
  std::uint32_t unreachable_threshold = 3;
  Duration unreachable_window = 10s;
  Duration unreachable_min_span = 1s;
};

// Every drop reason and every message sent or received, by name (X-macro so that the fields
// and the names listed by CorrespondentNodeCounters::list() cannot drift apart).
// clang-format off
#define MIPV6_CN_COUNTERS(X) \
  /* §9.2 Mobility Header checks */ \
  X(mh_received) \
  X(mh_bad_checksum) \
  X(mh_unknown_type) \
  X(mh_bad_payload_proto) \
  X(mh_bad_header_len) \
  X(mh_malformed) \
  X(mh_fragmented) \
  X(mh_unexpected_type) \
  X(mh_route_optimization_disabled) \
  /* packets not handled */ \
  X(not_for_us) \
  X(type2_discarded) \
  X(packets_ignored) \
  /* §9.4 return routability */ \
  X(hoti_received) \
  X(hoti_with_hao_ignored) \
  X(hoti_bad_source) \
  X(hoti_rate_limited) \
  X(hot_sent) \
  X(coti_received) \
  X(coti_with_hao_ignored) \
  X(coti_bad_source) \
  X(coti_rate_limited) \
  X(cot_sent) \
  /* §9.5 Binding Updates */ \
  X(bu_received) \
  X(bu_source_not_unicast) \
  X(bu_home_address_not_routable) \
  X(bu_care_of_not_routable) \
  X(bu_missing_nonce_indices) \
  X(bu_nonce_indices_with_h) \
  X(bu_expired_home_nonce) \
  X(bu_expired_care_of_nonce) \
  X(bu_expired_nonces) \
  X(bu_missing_authorization) \
  X(bu_bad_authenticator) \
  X(bu_sequence_out_of_window) \
  X(bu_registration_type_change) \
  X(bu_home_registration_not_supported) \
  X(bu_invalid_care_of) \
  X(bu_insufficient_resources) \
  X(bu_accepted) \
  X(bu_deletions) \
  /* messages sent */ \
  X(ba_sent) \
  X(brr_sent) \
  X(be_sent) \
  X(be_rate_limited) \
  X(icmp_errors_sent) \
  X(icmp_errors_suppressed) \
  /* §9.3.1 Home Address option */ \
  X(hao_accepted) \
  X(hao_accepted_without_binding) \
  X(hao_no_binding) \
  X(hao_not_routable) \
  X(hao_route_optimization_disabled) \
  /* binding lifecycle */ \
  X(bindings_created) \
  X(bindings_updated) \
  X(bindings_deleted) \
  X(bindings_expired) \
  X(bindings_evicted) \
  X(bindings_unreachable) \
  X(replay_guards_added) \
  /* §9.3.4 ICMP errors */ \
  X(icmp_received) \
  X(icmp_bad_checksum) \
  X(icmp_malformed) \
  X(icmp_unreachable_counted) \
  X(icmp_unreachable_ignored)
// clang-format on

struct CorrespondentNodeCounters {
#define MIPV6_CN_COUNTER_FIELD(name) std::uint64_t name = 0;
  MIPV6_CN_COUNTERS(MIPV6_CN_COUNTER_FIELD)
#undef MIPV6_CN_COUNTER_FIELD

  std::vector<std::pair<std::string_view, std::uint64_t>> list() const;
};

// What the data plane does with a packet carrying a Home Address option (§9.3.1).
enum class HaoVerdict : std::uint8_t {
  kNoOption,              // no Home Address option: nothing to do
  kAcceptWithBinding,     // a binding matches: swap the home address into the source
  kAcceptWithoutBinding,  // next header ESP, AH or MH: processed normally (swap too)
  kDrop,                  // drop it (a Binding Error or Parameter Problem may be queued)
};

class CorrespondentNode final : public Engine {
 public:
  // `rng` draws nonces and Kcn (§5.2.1, §5.2.2); it must outlive the engine.
  CorrespondentNode(CorrespondentNodeConfig config, Rng& rng, TimePoint now);

  void on_packet(const RxPacket& packet, TimePoint now) override;
  void on_event(const NodeEvent& event, TimePoint now) override;
  void on_timeout(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;

  // §9.3.1: the data plane calls this for every received packet with a Home Address option
  // (on_packet does too for non-MH packets it is given). Never changes binding state (§9.1).
  HaoVerdict check_home_address_option(const RxPacket& packet, TimePoint now);
  // §9.3.2: where to send a packet for `home_address` (with a Type 2 Routing header), or
  // nullopt to send it normally. Records the use (replacement and §9.5.5).
  std::optional<wire::Ipv6Address> care_of_address_for(const wire::Ipv6Address& home_address,
                                                       TimePoint now);
  // Deletes every binding (mipv6ctl flush) the way expiry does: a BindingRoute remove for each
  // and a replay guard for its home address (§5.2.8), so that BUs authorised before the flush
  // are not accepted again. Counted as bindings_deleted. Returns how many were deleted.
  std::size_t flush(TimePoint now);

  const CorrespondentNodeCounters& counters() const { return counters_; }
  const BindingCache& cache() const { return cache_; }
  // For a node whose cache also holds home registrations, and for tests.
  BindingCache& cache() { return cache_; }

 private:
  struct BuContext;
  // Per-binding state the Binding Cache entry does not hold.
  struct BindingExtra {
    bool used = false;      // sent on since the last accepted BU (§9.5.5)
    bool brr_sent = false;  // at most one BRR per granted lifetime
    std::optional<TimePoint> brr_at;
    std::uint32_t unreachable_count = 0;  // §9.3.4
    TimePoint first_unreachable{};
  };
  struct ReplayGuard {
    std::uint16_t sequence_number = 0;
    TimePoint until{};
  };

  void advance(TimePoint now);
  bool is_ours(const wire::Ipv6Address& address) const;
  std::optional<wire::Ipv6Address> reply_source(const RxPacket& packet) const;

  void handle_mobility(const RxPacket& packet, TimePoint now);
  void handle_mh_verdict(const RxPacket& packet, const MhInput& input, TimePoint now);
  void handle_home_test_init(const RxPacket& packet, const wire::HomeTestInit& hoti, TimePoint now);
  void handle_care_of_test_init(const RxPacket& packet, const wire::CareOfTestInit& coti,
                                TimePoint now);
  void handle_binding_update(const RxPacket& packet, const wire::MobilityHeader& mh, TimePoint now);
  void handle_home_registration(BuContext& bu);
  bool check_nonces(BuContext& bu);
  bool verify_authenticator(BuContext& bu);
  std::optional<std::uint16_t> last_sequence(const wire::Ipv6Address& home_address) const;
  bool check_sequence(BuContext& bu);
  void accept_binding(BuContext& bu);
  void delete_binding(BuContext& bu);
  void send_binding_ack(const BuContext& bu, std::uint8_t status, std::uint16_t sequence,
                        std::uint16_t lifetime_units);
  void drop_bu(const BuContext& bu, std::uint64_t& counter, std::string_view why);

  void handle_icmp(const RxPacket& packet, TimePoint now);
  void handle_destination_unreachable(wire::ByteSpan invoking, TimePoint now);

  void send_binding_error(const RxPacket& packet, std::uint8_t status, TimePoint now);
  void send_parameter_problem(const RxPacket& packet, std::uint8_t code, std::uint32_t pointer,
                              TimePoint now);
  void transmit(wire::Bytes bytes);

  void remove_binding(const BindingCacheEntry& entry, TimePoint now, std::string_view why);
  void schedule_refresh(const BindingCacheEntry& entry, Duration granted, TimePoint now);
  void unschedule_refresh(const wire::Ipv6Address& home_address);
  void send_refresh_requests(TimePoint now);
  void add_replay_guard(const wire::Ipv6Address& home_address, std::uint16_t sequence,
                        TimePoint now);
  void purge_replay_guards(TimePoint now);
  bool has_room_for_state(const wire::Ipv6Address& home_address) const;

  CorrespondentNodeConfig config_;
  CorrespondentNodeCounters counters_;
  BindingCache cache_;
  NonceTable nonces_;
  KeyedRateLimiter binding_errors_;      // per destination and global (§9.3.3)
  KeyedRateLimiter icmp_errors_;         // per destination and global (RFC 4443 §2.4(f))
  KeyedRateLimiter home_test_inits_;     // HoTIs per source and global (§15)
  KeyedRateLimiter care_of_test_inits_;  // CoTIs per source and global (§15)
  std::unordered_map<wire::Ipv6Address, BindingExtra> extras_;
  std::set<std::pair<TimePoint, wire::Ipv6Address>> refresh_schedule_;
  std::unordered_map<wire::Ipv6Address, ReplayGuard> replay_guards_;
  std::deque<std::pair<TimePoint, wire::Ipv6Address>> replay_order_;  // by `until`
};

}  // namespace mipv6::core
