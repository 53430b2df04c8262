#include "core/home_agent_list.h"

#include <algorithm>
#include <utility>

namespace mipv6::core {
namespace {

// Fisher-Yates with the injected generator, so tests are reproducible per seed.
template <class T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) {
    auto j = static_cast<std::size_t>(rng.uniform(i));
    std::swap(items[i - 1], items[j]);
  }
}

struct Group {
  std::uint16_t preference = 0;
  std::vector<wire::Ipv6Address> addresses;
};

}  // namespace

HomeAgentListEntry* HomeAgentList::find_mutable(const wire::Ipv6Address& link_local_address) {
  for (auto& entry : entries_) {
    if (entry.link_local_address == link_local_address) return &entry;
  }
  return nullptr;
}

const HomeAgentListEntry* HomeAgentList::find(const wire::Ipv6Address& link_local_address) const {
  for (const auto& entry : entries_) {
    if (entry.link_local_address == link_local_address) return &entry;
  }
  return nullptr;
}

void HomeAgentList::remove(const wire::Ipv6Address& link_local_address) {
  std::erase_if(entries_, [&](const HomeAgentListEntry& entry) {
    return entry.link_local_address == link_local_address;
  });
}

void HomeAgentList::on_router_advertisement(const wire::Ipv6Address& source,
                                            const wire::RouterAdvertisement& ra, TimePoint now) {
  // §10.5.1: a router that stopped being a home agent leaves the list.
  if (!ra.h) {
    remove(source);
    return;
  }
  // §7.4: without the Home Agent Information option, preference 0 and Router Lifetime.
  std::uint16_t preference = 0;
  std::uint16_t lifetime = ra.router_lifetime;
  for (const auto& option : ra.options) {
    if (const auto* info = std::get_if<wire::HomeAgentInformationOption>(&option.body)) {
      preference = info->home_agent_preference;
      lifetime = info->home_agent_lifetime;
      break;
    }
  }
  // §10.5.1: a lifetime of 0 removes the entry (and never creates one).
  if (lifetime == 0) {
    remove(source);
    return;
  }
  HomeAgentListEntry* entry = find_mutable(source);
  if (entry == nullptr) {
    entries_.push_back(HomeAgentListEntry{source, {}, 0, {}});
    entry = &entries_.back();
  }
  entry->preference = preference;
  entry->expires = now + std::chrono::seconds(lifetime);
  learn_addresses(*entry, ra, now);
}

void HomeAgentList::learn_addresses(HomeAgentListEntry& entry, const wire::RouterAdvertisement& ra,
                                    TimePoint now) {
  // §10.5.1, §7.2: a PIO with the R bit carries the router's full global address; the address
  // leaves the list when that prefix becomes invalid.
  for (const auto& option : ra.options) {
    const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
    if (pio == nullptr || !pio->r || !pio->prefix.is_unicast_routable()) continue;
    std::optional<TimePoint> until;
    if (pio->valid_lifetime != 0xffffffffu) until = now + std::chrono::seconds(pio->valid_lifetime);
    auto& addresses = entry.global_addresses;
    auto it = std::find_if(addresses.begin(), addresses.end(),
                           [&](const auto& known) { return known.address == pio->prefix; });
    if (pio->valid_lifetime == 0) {
      if (it != addresses.end()) addresses.erase(it);
    } else if (it != addresses.end()) {
      it->valid_until = until;
    } else {
      addresses.push_back({pio->prefix, until});
    }
  }
}

void HomeAgentList::set_self(std::vector<wire::Ipv6Address> global_addresses,
                             std::uint16_t preference) {
  self_addresses_ = std::move(global_addresses);
  self_preference_ = preference;
  has_self_ = true;
}

void HomeAgentList::expire(TimePoint now) {
  std::erase_if(entries_, [&](const HomeAgentListEntry& entry) { return entry.expires <= now; });
  for (auto& entry : entries_) {
    std::erase_if(entry.global_addresses, [&](const HomeAgentGlobalAddress& address) {
      return address.valid_until && *address.valid_until <= now;
    });
  }
}

std::optional<TimePoint> HomeAgentList::next_expiry() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& entry : entries_) {
    consider(entry.expires);
    for (const auto& address : entry.global_addresses) {
      if (address.valid_until) consider(*address.valid_until);
    }
  }
  return next;
}

std::vector<wire::Ipv6Address> HomeAgentList::reply_addresses(Rng& rng, std::size_t max_addresses,
                                                              TimePoint now) const {
  std::vector<Group> groups;
  if (has_self_ && !self_addresses_.empty()) groups.push_back({self_preference_, self_addresses_});
  for (const auto& entry : entries_) {
    if (entry.expires <= now) continue;
    Group group{entry.preference, {}};
    for (const auto& address : entry.global_addresses) {
      if (address.valid_until && *address.valid_until <= now) continue;
      // This home agent may also hear its own RAs: list each address once.
      if (std::find(self_addresses_.begin(), self_addresses_.end(), address.address) !=
          self_addresses_.end())
        continue;
      group.addresses.push_back(address.address);
    }
    if (!group.addresses.empty()) groups.push_back(std::move(group));
  }
  // §10.5.1: equal preferences in random order, so the load spreads across home agents; the
  // shuffle then a stable sort by decreasing preference gives exactly that.
  shuffle(groups, rng);
  for (auto& group : groups)
    shuffle(group.addresses, rng);
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Group& a, const Group& b) { return a.preference > b.preference; });
  std::vector<wire::Ipv6Address> out;
  for (const auto& group : groups) {
    for (const auto& address : group.addresses) {
      if (out.size() == max_addresses) return out;
      out.push_back(address);
    }
  }
  return out;
}

}  // namespace mipv6::core
