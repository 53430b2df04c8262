// The mobile node's route optimisation (RFC 6275 §5.2, §11.3, §11.6, §11.7.2): the return
// routability initiator and the correspondent registrations, one Binding Update List entry
// (§11.1) per (correspondent, home address). A sans-I/O component the MobileNode owns and
// feeds (DESIGN.md §2): the home addresses with their registration state, the primary care-of
// address, the packets that concern route optimisation, and the time; it queues Transmit and
// Log actions (take_actions) and RouteOptimized changes (take_route_changes) for the data plane.
//
// Decisions the RFC leaves open, and where this component stands:
//  - What a "failed attempt" is (§5.2.9): a HoTI/CoTI round or a BU that timed out without an
//    answer. Timeouts start at INITIAL_BINDACK_TIMEOUT and double up to MAX_BINDACK_TIMEOUT
//    (§11.8); after MAX_RO_FAILURE failed attempts in a row the entry reverts to the tunnel and
//    stays there for `retry_hold` (then a new trigger may start over).
//  - Token reuse (§5.2.7): a keygen token is reused until MAX_TOKEN_LIFETIME after it was
//    received; the care-of token only for the care-of address it was issued for. So after a
//    move only a CoTI is sent while the home token is fresh (§11.6.1), and a refresh, a BRR or a
//    135 sends a BU at once when both tokens are still fresh.
//  - Retransmitted BUs carry a new sequence number (§11.8) and are re-authenticated.
//  - BA status 136/137/138 carry no Binding Authorization Data (§9.5.4: the correspondent had no
//    Kbm), so they are accepted when they match the outstanding BU's sequence number, and only
//    make the node fetch the expired token(s) again.
//  - Other rejections (>= 128 except 135-138): the entry reverts to the tunnel for `retry_hold`.
//  - Refresh (§11.7.2): only bindings the data plane sent on (send_path) since the last BU are
//    refreshed, `refresh_lead` before expiry (at most half the lifetime); others expire.
//  - BE status 1 (§11.3.6): there is no upper-layer progress information here, so the entry's
//    binding is dropped (back to the tunnel) and return routability starts again.
//  - ICMP Parameter Problem code 2 (§11.3.5 says log and discard): logged; and since that
//    correspondent drops packets with a Home Address option, the entry also stops route
//    optimisation for `retry_hold` like code 1 (issue 4), so traffic keeps flowing via the tunnel.
//  - MAX_UPDATE_RATE (§11.8) is met by the back-off: no message type is sent to a
//    correspondent more than once per INITIAL_BINDACK_TIMEOUT except on new inputs.
//  - Timers are found by scanning the entries (a mobile node has few correspondents).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/constants.h"
#include "core/engine.h"
#include "core/return_routability.h"
#include "core/rng.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/mobility.h"

namespace mipv6::core {

// Per-correspondent policy: the first rule whose prefix (and port, when set) matches decides;
// otherwise RouteOptimizationConfig::route_optimize_by_default.
struct RoPolicyRule {
  wire::Ipv6Address prefix;
  std::uint8_t prefix_length = 0;     // 0: every correspondent
  std::optional<std::uint16_t> port;  // either port of the TCP/UDP packet that triggered it
  bool route_optimize = true;
};

struct RouteOptimizationConfig {
  bool route_optimize_by_default = true;  // "always" (true) / "never" (false)
  std::vector<RoPolicyRule> rules;
  Duration requested_lifetime = kMaxRrBindingLifetime;  // capped by §5.2.6 and §11.7.2
  Duration initial_timeout = kInitialBindackTimeout;    // §11.8
  Duration max_timeout = kMaxBindackTimeout;            // §11.8
  int max_ro_failure = kMaxRoFailure;                   // §5.2.9
  Duration token_lifetime = kMaxTokenLifetime;          // §5.2.7
  Duration refresh_lead = 30s;                          // at most half the granted lifetime
  Duration retry_hold = 300s;  // §11.3.5: the "do not send" mark is removed after this
  Protection home_test_protection = Protection::kNone;  // §5.1: ESP tunnel mode if configured
};

// A home address as the MobileNode sees it.
struct RoHomeAddress {
  wire::Ipv6Address home_address;
  wire::Ipv6Address home_agent;
  // When the home registration expires; nullopt while not registered. §11.7.2: route
  // optimisation starts only after a successful home registration, and correspondent
  // bindings never outlive it.
  std::optional<TimePoint> registration_expires;
  bool at_home = false;
};

// Output for the data plane: packets from home_address to correspondent go directly from
// care_of_address with a Home Address option (kAdd), or through the reverse tunnel again
// (kRemove) (§11.3.1). send_path() gives the same answer per packet.
struct RouteOptimized {
  Change change = Change::kAdd;
  wire::Ipv6Address correspondent;
  wire::Ipv6Address home_address;
  wire::Ipv6Address care_of_address;
  friend bool operator==(const RouteOptimized&, const RouteOptimized&) = default;
};

struct ReceivedToken {
  KeygenToken token = 0;
  std::uint16_t nonce_index = 0;
  TimePoint received{};
  wire::Ipv6Address address;  // the home or care-of address it was issued for
};

// The Binding Update List entry for one correspondent and home address (§11.1), with its
// return routability state (§11.6).
struct CorrespondentEntry {
  wire::Ipv6Address correspondent;
  wire::Ipv6Address home_address;
  // Return routability (§11.6.1): cookies outstanding, tokens received.
  std::optional<std::uint64_t> home_init_cookie;
  std::optional<std::uint64_t> care_of_init_cookie;
  wire::Ipv6Address care_of_test_address;  // source of the outstanding CoTI
  std::optional<TimePoint> hoti_sent;
  std::optional<TimePoint> coti_sent;
  std::optional<ReceivedToken> home_token;
  std::optional<ReceivedToken> care_of_token;
  // Binding Update (§11.1, §11.7.2).
  std::uint16_t sequence_number = 0;  // the highest sent
  wire::Ipv6Address care_of_address;  // in the last BU (the home address for a deletion)
  Duration lifetime_sent{};
  std::optional<TimePoint> bu_sent;
  bool bu_outstanding = false;
  bool deleting = false;          // the outstanding BU is a deletion
  std::optional<BindingKey> kbm;  // of the last BU, to verify its BA (§11.7.3)
  bool acknowledged = false;
  std::optional<TimePoint> expires;  // of the acknowledged binding
  Duration lifetime_granted{};
  bool route_on = false;  // a RouteOptimized kAdd is in force
  bool used = false;      // sent on since the last BU (refresh decision)
  // Retransmission (§11.8) and failures (§5.2.9, §11.3.5).
  std::optional<TimePoint> deadline;  // next RR or BU retransmission
  Duration timeout{};
  int failures = 0;
  bool do_not_send = false;
  std::optional<TimePoint> retry_after;
  std::string last_failure;
};

enum class SendPath : std::uint8_t {
  kHome,            // the home address is at home: send normally
  kReverseTunnel,   // §11.3.1: through the home agent
  kRouteOptimized,  // §11.3.1: from the care-of address with a Home Address option
};
struct SendDecision {
  SendPath path = SendPath::kReverseTunnel;
  wire::Ipv6Address care_of_address;  // kRouteOptimized, kReverseTunnel: the source to use
};

class RouteOptimization {
 public:
  // `rng` draws cookies and initial sequence numbers; it must outlive this object.
  RouteOptimization(RouteOptimizationConfig config, Rng& rng);

  // Inputs from the MobileNode, each stamped with the current time.
  void set_home_address(const RoHomeAddress& home, TimePoint now);
  void remove_home_address(const wire::Ipv6Address& home_address, TimePoint now);
  void set_primary_care_of_address(std::optional<wire::Ipv6Address> care_of, TimePoint now);
  // A received packet (the inner one, with RxPacket::tunnel, when it came tunnelled). True when
  // it was route-optimisation signalling for an entry (HoT, CoT, BA, BRR, BE from a
  // correspondent, or a Parameter Problem about our signalling): the MobileNode need not look
  // further. Tunnelled data packets may trigger route optimisation and return false.
  bool on_packet(const RxPacket& packet, TimePoint now);
  void on_timeout(TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  // Starts route optimisation toward `correspondent` for `home_address` if the policy allows.
  // `ports`: those of the packet that prompted it, for port rules (empty: none known).
  void start(const wire::Ipv6Address& correspondent, const wire::Ipv6Address& home_address,
             TimePoint now, std::span<const std::uint16_t> ports = {});

  // §11.3.1: how to send a packet from `home_address` to `correspondent`; records the use.
  SendDecision send_path(const wire::Ipv6Address& home_address,
                         const wire::Ipv6Address& correspondent, TimePoint now);
  // §11.3.3: true when a packet with a Type 2 Routing header may be processed: Hdr Ext Len 2,
  // Segments Left 1, the address one of our home addresses, and its scope not smaller than the
  // care-of address's (§6.4). Also true for packets without one.
  bool accept_type2(const RxPacket& packet) const;

  std::vector<Action> take_actions() { return std::exchange(actions_, {}); }
  std::vector<RouteOptimized> take_route_changes() { return std::exchange(route_changes_, {}); }

  // For `show bul` and tests.
  using Key = std::pair<wire::Ipv6Address, wire::Ipv6Address>;  // (correspondent, home address)
  const std::map<Key, CorrespondentEntry>& entries() const { return entries_; }
  const CorrespondentEntry* find(const wire::Ipv6Address& correspondent,
                                 const wire::Ipv6Address& home_address) const;

 private:
  const RoHomeAddress* home_of(const wire::Ipv6Address& address) const;
  bool policy_allows(const wire::Ipv6Address& correspondent,
                     std::span<const std::uint16_t> ports) const;
  bool registered(const RoHomeAddress& home, TimePoint now) const;
  bool token_fresh(const std::optional<ReceivedToken>& token, const wire::Ipv6Address& address,
                   TimePoint now) const;
  bool route_optimized(const CorrespondentEntry& entry, TimePoint now) const;

  void proceed(CorrespondentEntry& entry, TimePoint now);
  void send_tests(CorrespondentEntry& entry, bool home, bool care_of, TimePoint now);
  void send_home_test_init(CorrespondentEntry& entry, const RoHomeAddress& home, TimePoint now);
  void send_care_of_test_init(CorrespondentEntry& entry, TimePoint now);
  void send_binding_update(CorrespondentEntry& entry, TimePoint now);
  void retransmit(CorrespondentEntry& entry, TimePoint now);
  void fail(CorrespondentEntry& entry, std::string why, TimePoint now);
  void drop_binding(CorrespondentEntry& entry);
  void refresh_or_expire(CorrespondentEntry& entry, TimePoint now);
  void restart(CorrespondentEntry& entry, TimePoint now);
  void sweep();
  std::optional<TimePoint> entry_deadline(const CorrespondentEntry& entry) const;

  void maybe_trigger(const RxPacket& packet, TimePoint now);
  bool handle_mobility(const RxPacket& packet, TimePoint now);
  bool handle_home_test(const RxPacket& packet, const wire::HomeTest& hot, TimePoint now);
  bool handle_care_of_test(const RxPacket& packet, const wire::CareOfTest& cot, TimePoint now);
  bool handle_binding_ack(const RxPacket& packet, const wire::MobilityHeader& mh, TimePoint now);
  bool handle_refresh_request(const RxPacket& packet, TimePoint now);
  bool handle_binding_error(const RxPacket& packet, const wire::BindingError& error, TimePoint now);
  bool handle_icmp(const RxPacket& packet, TimePoint now);

  void transmit(wire::Bytes packet, Protection protect = Protection::kNone);
  void log(LogLevel level, std::string message);
  void notify(CorrespondentEntry& entry, Change change);

  RouteOptimizationConfig config_;
  Rng& rng_;
  std::vector<RoHomeAddress> homes_;
  std::optional<wire::Ipv6Address> care_of_;
  std::map<Key, CorrespondentEntry> entries_;
  std::vector<Action> actions_;
  std::vector<RouteOptimized> route_changes_;
  std::vector<Key> finished_;  // entries to erase at the end of the current input
};

}  // namespace mipv6::core
