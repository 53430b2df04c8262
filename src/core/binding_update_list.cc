#include "core/binding_update_list.h"

#include <algorithm>

#include "core/constants.h"

namespace mipv6::core {

using wire::Ipv6Address;

namespace {

// §11.8: MAX_UPDATE_RATE counts Binding Updates over one second.
constexpr Duration kRateWindow = 1s;

void forget_old(std::deque<TimePoint>& sends, TimePoint now) {
  while (!sends.empty() && now - sends.front() >= kRateWindow)
    sends.pop_front();
}

}  // namespace

BindingUpdateListEntry* BindingUpdateList::find(const Ipv6Address& destination,
                                                const Ipv6Address& home_address) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& entry) {
    return entry.destination == destination && entry.home_address == home_address;
  });
  return it == entries_.end() ? nullptr : &*it;
}

const BindingUpdateListEntry* BindingUpdateList::find(const Ipv6Address& destination,
                                                      const Ipv6Address& home_address) const {
  return const_cast<BindingUpdateList*>(this)->find(destination, home_address);
}

BindingUpdateListEntry& BindingUpdateList::find_or_insert(const Ipv6Address& destination,
                                                          const Ipv6Address& home_address) {
  if (auto* entry = find(destination, home_address)) return *entry;
  BindingUpdateListEntry entry;
  entry.destination = destination;
  entry.home_address = home_address;
  // SEEDS §3.4: with no known last value, start from a random sequence number.
  entry.sequence = rng_.next_u16();
  entries_.push_back(entry);
  return entries_.back();
}

bool BindingUpdateList::erase(const Ipv6Address& destination, const Ipv6Address& home_address) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const auto& entry) {
    return entry.destination == destination && entry.home_address == home_address;
  });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

std::uint16_t BindingUpdateList::next_sequence(BindingUpdateListEntry& entry) {
  // The random start itself is used first; every later Binding Update adds one (mod 2^16).
  if (entry.sent_any) entry.sequence = static_cast<std::uint16_t>(entry.sequence + 1);
  entry.sent_any = true;
  return entry.sequence;
}

void BindingUpdateList::adopt_sequence(BindingUpdateListEntry& entry, std::uint16_t acknowledged) {
  // next_sequence() then yields acknowledged + 1 (§11.7.3, SEEDS §3.4).
  entry.sequence = acknowledged;
  entry.sent_any = true;
}

bool BindingUpdateList::rate_allows(const Ipv6Address& destination, TimePoint now) {
  auto& sends = sends_[destination];
  forget_old(sends, now);
  return sends.size() < static_cast<std::size_t>(kMaxUpdateRate);
}

TimePoint BindingUpdateList::next_allowed(const Ipv6Address& destination, TimePoint now) {
  if (rate_allows(destination, now)) return now;
  // The oldest of the last kMaxUpdateRate sends leaves the window one second after it was sent.
  const auto& sends = sends_[destination];
  return sends[sends.size() - static_cast<std::size_t>(kMaxUpdateRate)] + kRateWindow;
}

void BindingUpdateList::record_send(BindingUpdateListEntry& entry, Duration lifetime,
                                    TimePoint now) {
  auto& sends = sends_[entry.destination];
  forget_old(sends, now);
  sends.push_back(now);
  entry.last_sent = now;
  entry.lifetime_sent = lifetime;
  entry.acknowledged = false;
}

void BindingUpdateList::acknowledge(BindingUpdateListEntry& entry, Duration granted,
                                    TimePoint now) {
  // §11.7.3: L_remain = max(L_remain - (L_update - L_ack), 0), with L_remain counted from the
  // send: (sent + L_update - now) - (L_update - L_ack) = sent + L_ack - now.
  TimePoint sent = entry.last_sent.value_or(now);
  entry.expiry = std::max(sent + granted, now);
  entry.lifetime_granted = granted;
  entry.acknowledged = true;
  entry.awaiting_ack = false;
  entry.retransmit_at.reset();
  entry.sends_at_max_timeout = 0;
}

}  // namespace mipv6::core
