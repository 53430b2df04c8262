// The home agent engine (RFC 6275 §10), sans I/O: home registration and de-registration
// (§10.3), interception of the home addresses by proxy Neighbor Discovery (§10.4.1), the
// tunnelling decisions of §10.4, the Home Agents List and DHAAD (§10.5), Mobile Prefix
// Advertisements (§10.6), Binding Refresh Requests, forwarding from a previous care-of address
// (draft-ietf-mobileip-ipv6-04 §9.6) and virtual home links (SEEDS §3.2.10).
//
// Decisions this engine makes where the RFC leaves a choice (see also the comments at each rule):
//  - a BU that needs DAD is answered when the DadResult arrives; a BU for the same home address
//    arriving meanwhile updates the pending answer instead of starting DAD again. An entry waits
//    kDadWait at most for its result, then is dropped without an answer;
//  - "prefix discovery necessary" (status 1): the home prefix is deprecated, or its preferred
//    lifetime ends before the granted lifetime, or its valid lifetime cut the granted lifetime
//    (the binding then ends with the prefix), all compared in 4-second units (§10.3.1);
//  - a BA answers every home registration, whatever its A bit (§10.3.1: "Regardless of the
//    setting of the Acknowledge (A) bit ... MUST return a Binding Acknowledgement");
//  - global-scope multicast is tunnelled only when `mld_through_tunnel` is set and the mobile
//    node joined the group (join_group); otherwise it is not tunnelled (§10.4.1);
//  - ICMP errors about tunnelled packets (RFC 2473 §8): Packet Too Big is relayed to the inner
//    packet's source with the MTU less the 40-octet tunnel header; Destination Unreachable and
//    Time Exceeded become Destination Unreachable code 3 (address unreachable) to the inner
//    source (§8.3); Parameter Problems are not relayed (they concern the tunnel header);
//  - unsolicited MPAs are sent at once when a home prefix is added, changed or removed (no
//    RAND_ADV_DELAY), to every mobile node registered on the home link, at most one MPA per
//    second per mobile node (§10.6.2); an MPA that would break that rate is delayed to the next
//    allowed instant, not dropped. MPAs carry Transmit::protect = kNone: the data plane's SPD
//    decides their ESP protection (§10.6.2 SHOULD);
//  - a refresh that sets the L bit on an existing binding starts defending the link-local
//    address without a new DAD (DAD runs only before a first registration, §10.3.1);
//  - a BU with H = 0 and no home registration for its home address is left to the
//    correspondent engine (counted, no answer); a BU from the care-of address with no Home
//    Address option is treated as coming from its source address as home address (so: 132);
//  - flood resistance (§15): BUs are limited per IPv6 source address and in total, errors per
//    destination and in total (HomeAgentConfig::bu_rate_*, error_rate_*); the per-address
//    state is a fixed-size table (KeyedRateLimiter), whatever the number of senders.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/binding_cache.h"
#include "core/constants.h"
#include "core/engine.h"
#include "core/home_agent_list.h"
#include "core/rng.h"
#include "core/signalling.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/mobility.h"

namespace mipv6::core {

// A prefix this home agent serves on its home link (its Prefix List entry, RFC 4861 §6.2.1).
struct HomePrefix {
  wire::Ipv6Address prefix;
  std::uint8_t length = 64;
  std::optional<TimePoint> valid_until;      // nullopt: infinite
  std::optional<TimePoint> preferred_until;  // nullopt: infinite
  bool on_link = true;                       // PIO L flag, for MPAs
  bool autonomous = true;                    // PIO A flag
};

struct HomeAgentConfig {
  // false: only the draft-04 §9.6 forwarding role (if enabled) or nothing: BA 131 (§10.3.1).
  bool home_agent = true;
  std::uint32_t home_ifindex = 0;
  std::vector<wire::Ipv6Address> addresses;  // global addresses on the home link (first: primary)
  std::optional<wire::Ipv6Address> link_local_address;  // source of NAs on the home link
  LinkLayerAddress link_layer_address{};                // TLLA of the proxy NAs (§10.4.1)
  std::vector<HomePrefix> prefixes;
  Duration max_lifetime = 3600s;  // local policy bound on a home registration (§10.3.1)
  std::uint16_t preference = 0;   // in DHAAD replies (§10.5.1)
  // §5.1: when set, an unprotected BU is dropped silently and counted.
  bool require_protection = false;
  // §11.7.1: the mobile node MUST put an Alternate Care-of Address option in every home
  // registration; when set, a registration (not a de-registration) without one is dropped.
  bool require_alternate_care_of = true;
  // Policy (BA 129): when non-empty, only these home addresses may register.
  std::vector<wire::Ipv6Address> allowed_home_addresses;
  // Policy (BA 129): when set, must return true for the registration to be accepted.
  std::function<bool(const wire::Ipv6Address& home, const wire::Ipv6Address& care_of)> policy;
  // Binding Refresh Advice = this fraction of the granted lifetime (0: no BRA) (§10.3.1).
  double refresh_fraction = 0.5;
  bool nonvolatile_cache = false;  // §10.3.1: then the BRA MUST be omitted
  bool dynamic_keying = false;     // SAs set up by IKE: K can be 1 (§10.3.1)
  // §9.5.5 / §10.3.1: send a Binding Refresh Request this long before a home registration
  // expires (nullopt: never).
  std::optional<Duration> refresh_request_lead;
  // draft-04 §9.6: act as a temporary home agent for the previous care-of addresses of nodes
  // that left this (access router's) link, whose prefixes are `prefixes`.
  bool forward_from_previous_care_of = false;
  // SEEDS §3.2.10: the home prefixes have no physical link: no proxy ND, and DAD only checks
  // that no other binding holds the address.
  bool virtual_home_link = false;
  bool mld_through_tunnel = false;                 // §10.4.3 support (see join_group)
  std::size_t dhaad_size_limit = kIpv6MinimumMtu;  // §10.5: whole reply packet, octets
  bool log_bindings = true;                        // a Log action per BU (off in benchmarks)
  // Flood resistance (RFC 6275 §15: a flood of BUs, each costing a lookup, maybe DAD, and a BA
  // sent back; issue 7). A BU over either limit is dropped silently and counted
  // (bu_rate_limited). Per source: the BU's IPv6 source address (the care-of address, or the
  // home address from home), so one sender cannot use up the others' budget and the BAs sent
  // to one address are bounded; global: many distinct (forged) sources cannot multiply the
  // total. Only BUs that passed the silent filters (protection, home address, §11.7.1) are
  // counted against a source, so unprotected forgeries cannot spend a mobile node's budget
  // when protection is required. A mobile node sends a few BUs per movement (§11.8
  // retransmissions back off from 1 s), far below these defaults.
  RateLimit bu_rate_per_source{10.0, 20.0};
  RateLimit bu_rate_global{20000.0, 20000.0};
  // Binding Errors and ICMPv6 errors (§9.3.3 "rate-limited like ICMP", RFC 4443 §2.4(f)): a
  // global limit, and one per destination so that one source of bad packets cannot take the
  // whole error budget from the others.
  RateLimit error_rate_global{10.0, 10.0};
  RateLimit error_rate_per_destination{2.0, 5.0};
  // Addresses tracked by each per-address limiter (fixed memory, least recently used
  // forgotten first) and the seed of their hash tables (the daemon passes a random one).
  std::size_t rate_limiter_capacity = KeyedRateLimiter::kDefaultCapacity;
  std::uint64_t rate_limiter_hash_seed = 0;
};

// Every message counted, every drop counted by its reason.
struct HomeAgentCounters {
  std::uint64_t bu_received = 0;
  std::uint64_t ba_sent = 0;
  std::uint64_t ba_accepted = 0;    // status < 128
  std::uint64_t ba_rejected = 0;    // status >= 128
  std::uint64_t registrations = 0;  // new home registrations completed
  std::uint64_t refreshes = 0;      // existing ones updated
  std::uint64_t deregistrations = 0;
  std::uint64_t bindings_expired = 0;
  std::uint64_t bindings_deleted = 0;  // after MAX_DELETE_BCE_TIMEOUT
  std::uint64_t dad_started = 0;
  std::uint64_t dad_failed = 0;
  std::uint64_t dad_timeouts = 0;
  std::uint64_t na_sent = 0;
  std::uint64_t brr_sent = 0;
  std::uint64_t be_sent = 0;
  std::uint64_t param_problem_sent = 0;
  std::uint64_t ra_received = 0;
  std::uint64_t ra_own_ignored = 0;  // our own RAs looped back (radvd on this node)
  std::uint64_t dhaad_requests = 0;
  std::uint64_t dhaad_replies = 0;
  std::uint64_t mps_received = 0;
  std::uint64_t mpa_sent = 0;
  std::uint64_t mpa_retransmitted = 0;
  std::uint64_t icmp_errors_relayed = 0;
  std::uint64_t packets_tunnelled = 0;
  std::uint64_t reverse_tunnel_accepted = 0;
  std::uint64_t dropped_bad_checksum = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_unknown_mh_type = 0;
  std::uint64_t dropped_bad_mh_field = 0;   // Payload Proto / Header Len (Parameter Problem)
  std::uint64_t dropped_unexpected_mh = 0;  // MH types a home agent does not take
  std::uint64_t dropped_unprotected = 0;
  std::uint64_t dropped_bad_home_address = 0;  // not unicast routable (§9.5.1)
  std::uint64_t dropped_nonce_indices = 0;     // in a home registration (§9.5.1)
  std::uint64_t dropped_no_alternate_care_of = 0;
  std::uint64_t dropped_correspondent_bu = 0;  // H = 0: not for this engine
  std::uint64_t dropped_bad_icmp = 0;
  std::uint64_t dropped_dhaad_not_anycast = 0;
  std::uint64_t dropped_link_local_destination = 0;
  std::uint64_t dropped_multicast = 0;
  std::uint64_t dropped_reverse_tunnel = 0;
  std::uint64_t rate_limited = 0;     // errors and MPAs held back by their rate limits
  std::uint64_t bu_rate_limited = 0;  // BUs dropped over bu_rate_per_source / bu_rate_global

  // name / value pairs, in declaration order, for mipv6ctl and logs.
  std::vector<std::pair<std::string_view, std::uint64_t>> list() const;
};

// What the data plane does with a packet the home agent intercepted (§10.4.1, §10.4.2).
enum class InterceptVerdict : std::uint8_t {
  kNotOurs,        // no binding covers the destination: deliver / forward normally
  kTunnel,         // encapsulate to each target (RFC 2473)
  kDropLinkLocal,  // unicast to a mobile node's link-local address; `icmp_error` if any
  kDropMulticast,  // link-local scope multicast: local delivery only, not tunnelled
  kDoNotTunnel,    // multicast of site/organization scope, or global not joined / no MLD
};
struct TunnelTarget {
  wire::Ipv6Address care_of_address;  // outer destination (the primary care-of address)
  wire::Ipv6Address local_address;    // outer source (the HA address registered with)
};
struct InterceptDecision {
  InterceptVerdict verdict = InterceptVerdict::kNotOurs;
  std::vector<TunnelTarget> targets;
  std::optional<wire::Bytes> icmp_error;  // Destination Unreachable code 3 to send back
};

class HomeAgent final : public Engine {
 public:
  // `cache` may be shared with a correspondent engine of the same node: home registrations
  // are told apart by their H flag (§10.1), and a type change is refused with 139.
  HomeAgent(HomeAgentConfig config, BindingCache& cache, Rng& rng);

  void on_packet(const RxPacket& packet, TimePoint now) override;
  void on_event(const NodeEvent& event, TimePoint now) override;
  void on_timeout(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;

  // §10.4.1-§10.4.2: the verdict for a packet intercepted on the home link (or routed to a
  // virtual home prefix). ICMP errors are rate-limited like any ICMPv6 error.
  InterceptDecision decide_intercepted(const RxPacket& packet, TimePoint now);
  // §10.4.5: may a packet decapsulated from outer source `outer_source` with inner source
  // `inner_source` be forwarded? Only from the registered primary care-of address, unless ESP
  // tunnel mode protected it.
  bool accept_reverse_tunnelled(const wire::Ipv6Address& outer_source,
                                const wire::Ipv6Address& inner_source, Protection protection);
  // §10.4.3: group membership learnt from an MLD Report the mobile node sent through its tunnel
  // (the data plane identifies the node by the tunnel it arrived on).
  void join_group(const wire::Ipv6Address& home_address, const wire::Ipv6Address& group,
                  bool joined);
  // mipv6ctl flush: forgets every home registration as if it had expired now — interception
  // stops (ProxyNeighbor and TunnelRoute removals) and the entries are dropped, those waiting
  // for DAD (unanswered) and those kept after a de-registration (§10.3.2) too. Correspondent
  // bindings of a shared cache stay. Returns how many valid home registrations were ended.
  std::size_t flush(TimePoint now);

  const HomeAgentCounters& counters() const { return counters_; }
  const HomeAgentList& home_agent_list() const { return list_; }
  const std::vector<HomePrefix>& prefixes() const { return config_.prefixes; }
  const BindingCache& cache() const { return cache_; }

  // How long a first registration waits for its DadResult before it is dropped.
  static constexpr Duration kDadWait = 10s;

  // One of the agent's addresses on the home link (global ones or the link-local one).
  bool is_own_address(const wire::Ipv6Address& address) const;

 private:
  struct Reply {                             // where and how a BA goes (§9.5.4, §10.3.2)
    wire::Ipv6Address destination;           // the BU's source
    wire::Ipv6Address source;                // the HA address the BU was sent to
    std::optional<wire::Ipv6Address> type2;  // the home address, when the BU carried a HAO
    std::uint32_t ifindex = 0;
    std::optional<LinkLayerAddress> link_destination;
    std::uint16_t sequence = 0;
    bool k = false;
    Protection protection = Protection::kNone;  // the BA is protected as the BU was
  };
  struct Grant {  // a registration being accepted
    wire::Ipv6Address home_address;
    wire::Ipv6Address care_of_address;
    Duration lifetime{};
    std::uint8_t status = wire::kBaStatusAccepted;
    bool l = false;
    bool k = false;
  };
  struct PendingDad {
    Reply reply;
    Grant grant;
    int outstanding = 0;  // DadResults still expected
  };
  struct Advertising {  // unsolicited NAs still to send (§10.4.1, RFC 4861 §7.2.6)
    int remaining = 0;
    TimePoint next{};
  };
  struct PrefixAdvertising {  // MPA state of one mobile node (§10.6)
    std::optional<TimePoint> last_sent;
    int retries_left = 0;  // unsolicited retransmissions left
    Duration timeout = kPrefixAdvTimeout;
    std::optional<TimePoint> retransmit_at;
    std::uint16_t identifier = 0;            // of the outstanding unsolicited MPA
    std::optional<std::uint16_t> solicited;  // an MPS answer waiting for the rate limit
    std::optional<TimePoint> solicited_at;
  };

  void on_mobility(const RxPacket& packet, TimePoint now);
  void on_icmpv6(const RxPacket& packet, TimePoint now);
  void on_binding_update(const RxPacket& packet, const wire::MobilityHeader& mh, TimePoint now);
  bool bu_passes_filters(const RxPacket& packet, const wire::MobilityHeader& mh,
                         const wire::BindingUpdate& bu, const wire::Ipv6Address& home);
  std::optional<std::uint8_t> registration_rejection(const wire::Ipv6Address& home,
                                                     const wire::Ipv6Address& care_of) const;
  // The BA status sent, or nullopt while DAD runs.
  std::optional<std::uint8_t> register_binding(const Grant& grant, const Reply& reply,
                                               TimePoint now);
  void complete_registration(BindingCacheEntry& entry, const Grant& grant, const Reply& reply,
                             TimePoint now);
  // Returns the BA status sent.
  std::uint8_t deregister(const wire::Ipv6Address& home, const Reply& reply, TimePoint now);
  void on_dad_result(const DadResult& result, TimePoint now);
  void on_prefix_update(const PrefixUpdate& update, TimePoint now);
  void on_address_added(const AddressAdded& added);
  void on_address_removed(const AddressRemoved& removed);

  Grant grant_for(const wire::BindingUpdate& bu, const wire::Ipv6Address& home,
                  const wire::Ipv6Address& care_of, TimePoint now) const;
  const HomePrefix* served_prefix(const wire::Ipv6Address& address, TimePoint now) const;
  bool fast_dad_conflict(const wire::Ipv6Address& home, bool l) const;

  void send_ba(const Reply& reply, std::uint8_t status, Duration lifetime, bool with_advice);
  void send_binding_error(const RxPacket& packet, std::uint8_t status,
                          const wire::Ipv6Address& home, TimePoint now);
  void send_neighbor_advertisement(const wire::Ipv6Address& target);
  void send_mpa(const BindingCacheEntry& entry, std::uint16_t identifier, TimePoint now);
  void send_binding_refresh_request(const BindingCacheEntry& entry);
  void log_bu(const wire::Ipv6Address& home, const wire::Ipv6Address& care_of,
              const wire::BindingUpdate& bu, std::optional<std::uint8_t> status);

  void start_interception(const BindingCacheEntry& entry, TimePoint now);
  void stop_interception(const BindingCacheEntry& entry);
  void forget(const wire::Ipv6Address& home);
  void handle_expired(const BindingCacheEntry& entry);

  void answer_dhaad(const RxPacket& packet, const wire::HomeAgentAddressDiscoveryRequest& request,
                    TimePoint now);
  void answer_mps(const RxPacket& packet, const wire::MobilePrefixSolicitation& mps, TimePoint now);
  void relay_tunnel_error(const RxPacket& packet, const wire::Icmpv6Message& message,
                          TimePoint now);
  void schedule_unsolicited_mpas(TimePoint now);
  void run_timers(TimePoint now);
  // The per-home timers (unsolicited NAs, MPAs, BRRs) of one home address.
  void run_home_timers(const wire::Ipv6Address& home, TimePoint now);
  void run_mpa_timers(const BindingCacheEntry& entry, PrefixAdvertising& state, TimePoint now);
  void wake_at(const wire::Ipv6Address& home, TimePoint at) { wakeups_.push({at, home}); }
  // The pending DAD a result is for: its home address, or the link-local address derived from
  // it for an L-bit registration (§10.3.1).
  std::unordered_map<wire::Ipv6Address, PendingDad>::iterator find_dad(
      const wire::Ipv6Address& address);

  HomeAgentConfig config_;
  BindingCache& cache_;
  Rng& rng_;
  HomeAgentList list_;
  HomeAgentCounters counters_;
  KeyedRateLimiter bu_limiter_;     // BUs per source address (§15)
  KeyedRateLimiter error_limiter_;  // Binding Errors and ICMPv6 errors per destination (§9.3.3)
  std::unordered_map<wire::Ipv6Address, PendingDad> dad_;
  std::unordered_map<wire::Ipv6Address, Advertising> advertising_;
  std::unordered_map<wire::Ipv6Address, PrefixAdvertising> mpa_;
  std::unordered_map<wire::Ipv6Address, TimePoint> refresh_request_at_;
  // When a per-home timer is due, earliest first (ties: by address, so the order is
  // deterministic). An entry may be stale (its timer was changed or ended): popping it only
  // makes run_home_timers look at that home. So next_deadline and the timers cost O(log n),
  // not a walk over every binding — 100,000 of them in the simulator's scale scenario.
  using Wakeup = std::pair<TimePoint, wire::Ipv6Address>;
  std::priority_queue<Wakeup, std::vector<Wakeup>, std::greater<>> wakeups_;
  std::unordered_map<wire::Ipv6Address, std::vector<wire::Ipv6Address>> groups_;  // HoA -> groups
  // Link-local addresses defended for L-bit registrations -> their home address.
  std::unordered_map<wire::Ipv6Address, wire::Ipv6Address> link_locals_;
};

// The link-local address a mobile node with the L bit also owns: fe80::/64 followed by the
// interface identifier of its home address (RFC 6275 §10.3.1, "L=1").
wire::Ipv6Address derived_link_local(const wire::Ipv6Address& home_address);

}  // namespace mipv6::core
