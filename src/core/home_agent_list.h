// The Home Agents List (RFC 6275 §10.1, §10.5.1): the home agents a home agent learns from the
// Router Advertisements on its home link, and the ordered address list of a Dynamic Home Agent
// Address Discovery Reply (§10.5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/icmpv6.h"

namespace mipv6::core {

struct HomeAgentGlobalAddress {
  wire::Ipv6Address address;
  std::optional<TimePoint> valid_until;  // the R-bit PIO's valid lifetime; nullopt: infinite
};

// One home agent on the link (§10.1): keyed by the link-local source of its RAs.
struct HomeAgentListEntry {
  wire::Ipv6Address link_local_address;
  std::vector<HomeAgentGlobalAddress> global_addresses;
  std::uint16_t preference = 0;  // higher is better (§7.4)
  TimePoint expires{};
};

class HomeAgentList {
 public:
  // RFC 6275 §10.5.1: a valid RA from `source` (link-local, RFC 4861 §6.1.2) on the home link.
  // H = 0 removes the sender; H = 1 adds or refreshes it with the Home Agent Information
  // option's preference and lifetime (defaults 0 and Router Lifetime), removes it when that
  // lifetime is 0, then records the global addresses of R-bit Prefix Information options.
  void on_router_advertisement(const wire::Ipv6Address& source, const wire::RouterAdvertisement& ra,
                               TimePoint now);

  // This home agent itself, listed in every reply with its configured preference (§10.5.1);
  // it never expires.
  void set_self(std::vector<wire::Ipv6Address> global_addresses, std::uint16_t preference);

  // Drops entries and addresses whose lifetime ended.
  void expire(TimePoint now);
  std::optional<TimePoint> next_expiry() const;

  const std::vector<HomeAgentListEntry>& entries() const { return entries_; }
  const HomeAgentListEntry* find(const wire::Ipv6Address& link_local_address) const;

  // The addresses of a DHAAD Reply (§10.5): every live global address of every listed home
  // agent and of this one, by decreasing preference, home agents of equal preference in a fresh
  // random order each call (and the addresses of one home agent shuffled too), at most
  // `max_addresses` (keeping the most preferred).
  std::vector<wire::Ipv6Address> reply_addresses(Rng& rng, std::size_t max_addresses,
                                                 TimePoint now) const;

 private:
  HomeAgentListEntry* find_mutable(const wire::Ipv6Address& link_local_address);
  void remove(const wire::Ipv6Address& link_local_address);
  static void learn_addresses(HomeAgentListEntry& entry, const wire::RouterAdvertisement& ra,
                              TimePoint now);

  std::vector<HomeAgentListEntry> entries_;
  std::vector<wire::Ipv6Address> self_addresses_;
  std::uint16_t self_preference_ = 0;
  bool has_self_ = false;
};

}  // namespace mipv6::core
