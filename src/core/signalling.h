// What the correspondent, home-agent and mobile-node engines share about signalling: the
// receive checks every node applies to a Mobility Header (RFC 6275 §9.2), building whole
// packets that carry an MH or an ICMPv6 message (with the Home Address option or Type 2 Routing
// header where the RFC places them), ICMPv6 error generation (RFC 4443), and rate limiting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/engine.h"
#include "core/time.h"
#include "wire/icmpv6.h"
#include "wire/mobility.h"

namespace mipv6::core {

// The outcome of RFC 6275 §9.2's checks on a received Mobility Header, in the RFC's order.
enum class MhVerdict : std::uint8_t {
  kAccept,           // `header` holds the decoded message
  kBadChecksum,      // silently discard (§9.2)
  kUnknownType,      // discard; send Binding Error status 2 (§9.2)
  kBadPayloadProto,  // discard; SHOULD send Parameter Problem code 0 at Payload Proto
  kBadHeaderLen,     // discard; SHOULD send Parameter Problem code 0 at Header Len
  kMalformed,        // any other decode failure (option overruns, bad lengths): discard
  kFragmented,       // not a whole MH (a fragment): discard
};

struct MhInput {
  MhVerdict verdict = MhVerdict::kMalformed;
  wire::MobilityHeader header;  // valid when verdict == kAccept
  std::uint8_t mh_type = 0;     // the MH Type octet, when present
  std::uint32_t pointer = 0;    // for Parameter Problems: offset in the packet of the bad octet
};

// Applies §9.2 to the MH of `packet` (its layout's upper protocol must be 135).
MhInput check_mobility_header(const RxPacket& packet);

// An ICMPv6 message is processed only when it is whole (not a fragment), its checksum verifies
// with the pseudo-header rules (RFC 4443 §2.3, RFC 6275 §6.3/§6.4) and it decodes.
enum class IcmpVerdict : std::uint8_t { kAccept, kBadChecksum, kMalformed };
struct IcmpInput {
  IcmpVerdict verdict = IcmpVerdict::kMalformed;
  wire::Icmpv6Message message;  // valid when verdict == kAccept
};
// Applies those checks to the ICMPv6 message of `packet` (upper protocol 58).
IcmpInput check_icmpv6(const RxPacket& packet);

// A whole IPv6 packet carrying `mh` (its options auto-padded, Header Len and checksum computed
// with the RFC 6275 §6.1.1 pseudo-header). With `home_address_option` a Destination Options
// header with the Home Address option is added (§6.3: a BU from a mobile node away from home);
// with `type2_home_address` a Type 2 Routing header (§6.4: a BA to a mobile node's care-of
// address).
struct SignallingAddresses {
  wire::Ipv6Address source;
  wire::Ipv6Address destination;
  std::optional<wire::Ipv6Address> home_address_option;
  std::optional<wire::Ipv6Address> type2_home_address;
  std::uint8_t hop_limit = 64;
};
wire::Bytes build_mobility_packet(const SignallingAddresses& addresses,
                                  const wire::MobilityHeader& mh);
wire::Bytes build_icmpv6_packet(const SignallingAddresses& addresses,
                                const wire::Icmpv6Message& message);

// RFC 4443 §2.4(c): an ICMPv6 error carries as much of the invoking packet as fits in the
// IPv6 minimum MTU (1280 octets).
inline constexpr std::size_t kIpv6MinimumMtu = 1280;

// An ICMPv6 Parameter Problem (RFC 4443 §3.4) about `invoking`, from `source` back to the
// invoking packet's source.
wire::Bytes build_parameter_problem(const wire::Ipv6Address& source, const RxPacket& invoking,
                                    std::uint8_t code, std::uint32_t pointer);
// An ICMPv6 Destination Unreachable (RFC 4443 §3.1) about `invoking`.
wire::Bytes build_destination_unreachable(const wire::Ipv6Address& source, const RxPacket& invoking,
                                          std::uint8_t code);

// RFC 4443 §2.4(e): errors are never sent about ICMPv6 errors, or to multicast, unspecified or
// non-unicast sources. True when an error may be sent about `invoking`.
bool may_send_icmp_error(const RxPacket& invoking);

// A token bucket's parameters: `rate_per_second` events per second on average, bursts of up
// to `burst`.
struct RateLimit {
  double rate_per_second = 10.0;
  double burst = 10.0;
};

// A token bucket: `rate` events per second on average, bursts of up to `burst`. Used for
// Binding Errors (§9.3.3: "rate-limited like ICMP") and ICMPv6 errors (RFC 4443 §2.4(f)).
class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst)
      : rate_(rate_per_second), burst_(burst), tokens_(burst) {}
  explicit RateLimiter(RateLimit limit) : RateLimiter(limit.rate_per_second, limit.burst) {}
  bool allow(TimePoint now);
  // The same decision without spending a token (the bucket is refilled up to `now`).
  bool can_allow(TimePoint now);

 private:
  void refill(TimePoint now);

  double rate_;
  double burst_;
  double tokens_;
  std::optional<TimePoint> last_;
};

// Token buckets keyed by an IPv6 address (a message's source, an error's destination), with a
// global bucket on top (RFC 6275 §15 denial of service; RFC 4443 §2.4(f) allows a limit per
// destination). An event is allowed only when both its key's bucket and the global bucket hold
// a token, and then spends one of each: one busy peer cannot use up the budget of the others,
// and many distinct (forged) keys cannot multiply the total rate beyond the global one.
//
// Memory is bounded: at most `capacity` keys are tracked, in storage reserved up front, and it
// never grows beyond that whatever the number of distinct keys seen. A key not tracked behaves
// as a full bucket (which is what it would have refilled to), so when the table is full the
// least recently used key is forgotten to make room: the most likely one to have refilled,
// and never a key being limited right now unless `capacity` distinct keys were allowed since
// its last event — which the global bucket bounds. A refused event never adds a key, so a
// flood the global bucket already refuses does not churn the table. Deterministic: no clock
// (the time is passed in); the table is hashed with `hash_seed` so that a sender cannot aim
// the keys it picks at one hash chain without knowing it (the daemon passes a random seed).
class KeyedRateLimiter {
 public:
  static constexpr std::size_t kDefaultCapacity = 4096;

  KeyedRateLimiter(RateLimit per_key, RateLimit global, std::size_t capacity = kDefaultCapacity,
                   std::uint64_t hash_seed = 0);

  bool allow(const wire::Ipv6Address& key, TimePoint now);

  std::size_t size() const { return index_.size(); }  // keys tracked, <= capacity()
  std::size_t capacity() const { return capacity_; }

 private:
  static constexpr std::uint32_t kNil = 0xffffffffu;
  struct Slot {
    wire::Ipv6Address key;
    double tokens = 0;
    TimePoint last{};
    std::uint32_t newer = kNil;  // towards the most recently used
    std::uint32_t older = kNil;  // towards the least recently used
  };
  struct SeededHash {
    std::uint64_t seed = 0;
    std::size_t operator()(const wire::Ipv6Address& address) const noexcept;
  };

  double refilled(const Slot& slot, TimePoint now) const;
  void unlink(std::uint32_t index);
  void push_most_recent(std::uint32_t index);
  std::uint32_t take_slot();  // a free slot, evicting the least recently used key if full

  RateLimit per_key_;
  RateLimiter global_;
  std::size_t capacity_;
  std::vector<Slot> slots_;  // reserved to capacity_, never beyond
  std::unordered_map<wire::Ipv6Address, std::uint32_t, SeededHash> index_;
  std::uint32_t most_recent_ = kNil;
  std::uint32_t least_recent_ = kNil;
};

}  // namespace mipv6::core
