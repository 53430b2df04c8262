// The Binding Cache (RFC 6275 §9.1, §10.1), shared by the correspondent and home-agent roles:
// one entry per home address, O(1) lookup in an open-addressing table sized for millions of
// entries, a configured size limit with least-recently-used replacement that never evicts a
// home registration before its lifetime ends (RFC 6275 §9.6, draft-04 §7.7), and expiry.
//
// Layout (about 120 bytes per binding at 10 M, see memory_bytes()):
//  - entries live in a node array reserved up front for max_entries and never reallocated, so
//    an entry's address is stable until that entry is erased, evicted or expired;
//  - a linear-probing table of (node index, 32-bit hash tag) slots, load factor at most 3/4,
//    with backward-shift deletion (no tombstones);
//  - an intrusive doubly-linked LRU list of the entries that may be replaced; live home
//    registrations are taken off it (lazily, when met at its tail);
//  - an indexed binary min-heap of `expires` for expire() and earliest_expiry(), whose keys
//    are lower bounds: a lifetime extended in place (every refresh) costs nothing until the
//    stale key reaches the top, where it is corrected and sifted down once.
// Callers change entries in place through the pointers find() and find_or_insert() return.
// Every entry handed out that way is remembered, and its `expires` (and H flag) re-read before
// the cache next relies on them (expire, earliest_expiry, replacement), so a changed lifetime
// always takes effect. `home_address` is the key: never change it in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/time.h"
#include "wire/address.h"

namespace mipv6::core {

// RFC 6275 §9.5.1: `received` is newer than `last` when it lies in the half of the 2^16
// sequence space after `last` (modulo arithmetic); equal is not newer.
constexpr bool sequence_newer(std::uint16_t received, std::uint16_t last) {
  auto distance = static_cast<std::uint16_t>(received - last);
  return distance != 0 && distance < 0x8000;
}

enum class BindingState : std::uint8_t {
  kValid,
  kPendingDad,     // HA: first home registration waiting for DAD (RFC 6275 §10.3.1)
  kPendingDelete,  // HA: de-registered, kept for MAX_DELETE_BCE_TIMEOUT (§10.3.2)
};

struct BindingCacheEntry {
  wire::Ipv6Address home_address;  // the key
  wire::Ipv6Address care_of_address;
  wire::Ipv6Address local_address;     // this node's address the BU was sent to
  TimePoint expires{};                 // end of the granted lifetime
  TimePoint last_used{};               // usage information for BRR and replacement (§9.1)
  std::uint16_t sequence_number = 0;   // highest accepted (§9.1)
  std::uint16_t home_nonce_index = 0;  // CN: indices of the last accepted BU (§5.2.8, §9.5.3)
  std::uint16_t care_of_nonce_index = 0;
  bool home_registration = false;      // H (§10.1)
  bool link_local_compatible = false;  // L: the link-local address is defended too (§10.3.1)
  bool key_management = false;         // K
  BindingState state = BindingState::kValid;
};

class BindingCache {
 public:
  // max_entries: the configured limit (at most kMaxEntriesLimit). The table reserves its
  // memory up front. hash_seed: mixes the home-address hash, so that addresses chosen by a peer
  // cannot be aimed at one probe sequence without knowing it (the daemon passes a random seed).
  explicit BindingCache(std::size_t max_entries, std::uint64_t hash_seed = 0);

  static constexpr std::size_t kMaxEntriesLimit = 0xfffffff0u;

  BindingCacheEntry* find(const wire::Ipv6Address& home_address);
  const BindingCacheEntry* find(const wire::Ipv6Address& home_address) const;

  enum class Insert : std::uint8_t {
    kExisting,  // an entry for the home address existed; returned unchanged
    kInserted,  // a new entry (possibly after evicting the least recently used non-home entry)
    kFull,      // no room: every entry is a live home registration (answer BA 130, §10.3.1)
  };
  struct InsertResult {
    BindingCacheEntry* entry = nullptr;  // null when kFull
    Insert outcome = Insert::kFull;
    // The entry replaced to make room (kInserted into a full cache), so that the caller can
    // withdraw whatever it installed for it (routes, proxy ND...).
    std::optional<BindingCacheEntry> evicted;
  };
  // Finds or creates the entry for `home_address`. A new entry has its key set, last_used =
  // now, and is the most recently used; everything else is default (expires is the epoch, so
  // set it). When the cache is full, the entry to replace is, in this order: an expired entry
  // (home registration or not), else the least recently used entry that is not a live home
  // registration (§9.6, §10.1, draft-04 §7.7).
  InsertResult find_or_insert(const wire::Ipv6Address& home_address, TimePoint now);

  // Marks the entry most recently used (a packet was sent with it, or a BU refreshed it) and
  // sets its last_used.
  void touch(BindingCacheEntry& entry, TimePoint now);
  bool erase(const wire::Ipv6Address& home_address);

  // Removes every entry whose `expires` <= now and returns them, earliest first (for
  // withdrawing routes, proxy entries...). O(expired · log size).
  std::vector<BindingCacheEntry> expire(TimePoint now);
  // The earliest `expires` among the entries, for next_deadline().
  std::optional<TimePoint> earliest_expiry() const;

  std::size_t size() const { return size_; }
  std::size_t max_entries() const { return max_entries_; }
  // Approximate bytes of memory held per entry at the current capacity (benchmark figure):
  // total_memory_bytes() / max_entries().
  std::size_t memory_bytes() const;
  // Bytes held by the cache's storage (node array, slot table, heap), as reserved.
  std::size_t total_memory_bytes() const;

  template <class F>
  void for_each(F&& f) const;  // f(const BindingCacheEntry&)

 private:
  // Markers in a node's link fields (real node indices stay below kMaxEntriesLimit).
  static constexpr std::uint32_t kNil = 0xffffffffu;       // end of a list
  static constexpr std::uint32_t kDetached = 0xfffffffeu;  // lru_prev: live, not in the LRU
  static constexpr std::uint32_t kFree = 0xfffffffdu;      // lru_prev: node unused
  static constexpr std::uint32_t kClean = 0xffffffffu;     // dirty_next: not in the dirty list
  static constexpr std::uint32_t kDirtyEnd = 0xfffffffeu;  // dirty_next: last of the list

  struct Node {
    BindingCacheEntry entry;
    std::uint32_t lru_prev = kFree;  // towards the most recently used; or kDetached / kFree
    std::uint32_t lru_next = kNil;   // towards the least recently used; next free when free
    std::uint32_t heap_pos = 0;
    std::uint32_t dirty_next = kClean;
  };
  struct Slot {
    std::uint32_t node = kNil;  // kNil: empty
    std::uint32_t tag = 0;      // high 32 bits of the hash; the home bucket derives from it
  };

  std::uint32_t tag_of(const wire::Ipv6Address& key) const;
  std::size_t bucket_of(std::uint32_t tag) const;
  std::size_t next_slot(std::size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }
  // The slot holding `key`, or the empty slot where it would go (second: found).
  std::pair<std::size_t, bool> probe(const wire::Ipv6Address& key, std::uint32_t tag) const;
  void erase_slot(std::size_t slot);

  std::uint32_t index_of(const BindingCacheEntry& entry) const;
  bool live(std::uint32_t node) const { return nodes_[node].lru_prev != kFree; }
  std::uint32_t allocate_node();
  BindingCacheEntry remove_node(std::uint32_t node);
  std::optional<BindingCacheEntry> evict_one(TimePoint now);

  void lru_link_front(std::uint32_t node);
  void lru_unlink(std::uint32_t node);  // leaves the node kDetached

  void mark_dirty(std::uint32_t node);
  void sync_dirty();
  void sync_node(std::uint32_t node);
  void settle_top();  // syncs, then makes the heap's top key exact

  void heap_push(std::uint32_t node);
  void heap_remove(std::uint32_t pos);
  void heap_set(std::uint32_t pos, std::int64_t time);
  void heap_place(std::uint32_t pos, std::int64_t time, std::uint32_t node);
  void sift_up(std::uint32_t pos);
  void sift_down(std::uint32_t pos);

  std::size_t max_entries_;
  std::uint64_t hash_seed_;
  std::size_t size_ = 0;
  std::vector<Node> nodes_;  // reserved for max_entries_: never reallocates
  std::vector<Slot> slots_;
  std::vector<std::int64_t> heap_time_;  // expires, ns since the epoch, min-heap order
  std::vector<std::uint32_t> heap_node_;
  std::uint32_t free_head_ = kNil;
  std::uint32_t lru_head_ = kNil;  // most recently used
  std::uint32_t lru_tail_ = kNil;  // least recently used
  std::uint32_t dirty_head_ = kDirtyEnd;
};

template <class F>
void BindingCache::for_each(F&& f) const {
  for (const Node& node : nodes_) {
    if (node.lru_prev != kFree) f(static_cast<const BindingCacheEntry&>(node.entry));
  }
}

}  // namespace mipv6::core
