// The mobile node's Binding Update List (RFC 6275 §11.1, draft-ietf-mobileip-ipv6-04 §4.3): one
// entry per destination (home agent or correspondent) and home address, holding the most recent
// Binding Update sent there, its retransmission state and what the acknowledgement granted.
// Return-routability state lives in the RouteOptimization component, not here.
//
// It also enforces MAX_UPDATE_RATE (§11.8): at most kMaxUpdateRate Binding Updates a second to
// any one destination, whatever home address they are for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <optional>
#include <unordered_map>

#include "core/rng.h"
#include "core/time.h"
#include "wire/address.h"

namespace mipv6::core {

struct BindingUpdateListEntry {
  // §11.1: "the IP address of the node to which a Binding Update was sent".
  wire::Ipv6Address destination;
  wire::Ipv6Address home_address;
  wire::Ipv6Address care_of_address;  // the care-of address sent in that Binding Update
  bool home_registration = false;     // H flag of the entry's Binding Updates
  // §11.1: "the initial value of the Lifetime field sent in that Binding Update".
  Duration lifetime_sent{};
  std::optional<Duration> lifetime_granted;  // from the accepting acknowledgement
  // §11.1 "remaining lifetime": the binding at the destination ends here (nullopt: none held).
  std::optional<TimePoint> expiry;
  // §11.1: "the maximum value of the Sequence Number field sent in previous Binding Updates".
  std::uint16_t sequence = 0;
  bool sent_any = false;
  std::optional<TimePoint> last_sent;  // §11.1: for rate limiting and L_remain
  // Retransmission state (§11.8): the wait after the last send, and when it ends.
  bool awaiting_ack = false;
  Duration retransmit_timeout{};
  std::optional<TimePoint> retransmit_at;
  int sends_at_max_timeout = 0;  // Binding Updates sent while the timeout was at its cap
  // §11.1: "a flag indicating whether or not future Binding Updates should be sent" (§11.3.5,
  // §11.3.6, §11.7.3), and when it was set so the owner can clear it after a while.
  bool do_not_send = false;
  std::optional<TimePoint> do_not_send_since;
  bool acknowledged = false;  // an accepting acknowledgement matched the last Binding Update
};

class BindingUpdateList {
 public:
  // `rng` chooses the first sequence number of each new entry (SEEDS §3.4: a node that
  // restarted does not know its last sequence number, so it starts from a random one).
  explicit BindingUpdateList(Rng& rng) : rng_(rng) {}

  BindingUpdateListEntry* find(const wire::Ipv6Address& destination,
                               const wire::Ipv6Address& home_address);
  const BindingUpdateListEntry* find(const wire::Ipv6Address& destination,
                                     const wire::Ipv6Address& home_address) const;
  BindingUpdateListEntry& find_or_insert(const wire::Ipv6Address& destination,
                                         const wire::Ipv6Address& home_address);
  bool erase(const wire::Ipv6Address& destination, const wire::Ipv6Address& home_address);
  // A list, so that references to entries stay valid while others are added or erased.
  const std::list<BindingUpdateListEntry>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

  // The sequence number for the next Binding Update of `entry` (§11.7.1: each one, including a
  // retransmission, carries a larger number than the last, modulo 2^16).
  static std::uint16_t next_sequence(BindingUpdateListEntry& entry);
  // §11.7.3 status 135: continue from the number the acknowledgement carries.
  static void adopt_sequence(BindingUpdateListEntry& entry, std::uint16_t acknowledged);

  // §11.8 MAX_UPDATE_RATE: may a Binding Update go to `destination` at `now`?
  bool rate_allows(const wire::Ipv6Address& destination, TimePoint now);
  // The earliest instant another Binding Update may go to `destination` (now if allowed).
  TimePoint next_allowed(const wire::Ipv6Address& destination, TimePoint now);
  // Records a Binding Update sent at `now` (rate accounting and §11.1 "time last sent").
  void record_send(BindingUpdateListEntry& entry, Duration lifetime, TimePoint now);

  // §11.7.3: an accepting acknowledgement granted `granted` for the Binding Update sent at
  // entry.last_sent: L_remain = max(L_remain - (L_update - L_ack), 0), which puts the end of
  // the binding at (time sent + L_ack). Stops the retransmissions.
  static void acknowledge(BindingUpdateListEntry& entry, Duration granted, TimePoint now);

 private:
  Rng& rng_;
  std::list<BindingUpdateListEntry> entries_;
  std::unordered_map<wire::Ipv6Address, std::deque<TimePoint>> sends_;  // last second, per dest
};

}  // namespace mipv6::core
