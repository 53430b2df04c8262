#include "core/binding_cache.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace mipv6::core {
namespace {

std::uint64_t rotl(std::uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

std::int64_t ticks(TimePoint t) {
  return t.time_since_epoch().count();
}

}  // namespace

BindingCache::BindingCache(std::size_t max_entries, std::uint64_t hash_seed)
    : max_entries_(std::min(max_entries, kMaxEntriesLimit)), hash_seed_(hash_seed) {
  // Load factor at most 3/4, and always one empty slot so that every probe terminates.
  const std::size_t slot_count = std::max<std::size_t>(max_entries_ + max_entries_ / 3 + 1, 8);
  slots_.assign(slot_count, Slot{});
  nodes_.reserve(max_entries_);
  heap_time_.reserve(max_entries_);
  heap_node_.reserve(max_entries_);
}

// --- hash table ---------------------------------------------------------------------------

std::uint32_t BindingCache::tag_of(const wire::Ipv6Address& key) const {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.bytes.data(), 8);
  std::memcpy(&low, key.bytes.data() + 8, 8);
  // Both halves matter: many home addresses share their /64 prefix and differ only in the
  // interface identifier, others share an identifier across prefixes.
  const std::uint64_t mixed = (high ^ hash_seed_) * 0x9e3779b97f4a7c15ull +
                              rotl((low ^ rotl(hash_seed_, 32)) * 0xc2b2ae3d27d4eb4full, 31);
  return static_cast<std::uint32_t>(fmix64(mixed) >> 32);
}

std::size_t BindingCache::bucket_of(std::uint32_t tag) const {
  // Lemire's fast range reduction: any table size, no modulo.
  return static_cast<std::size_t>((static_cast<std::uint64_t>(tag) * slots_.size()) >> 32);
}

std::pair<std::size_t, bool> BindingCache::probe(const wire::Ipv6Address& key,
                                                 std::uint32_t tag) const {
  std::size_t i = bucket_of(tag);
  while (true) {
    const Slot& slot = slots_[i];
    if (slot.node == kNil) return {i, false};
    if (slot.tag == tag && nodes_[slot.node].entry.home_address == key) return {i, true};
    i = next_slot(i);
  }
}

void BindingCache::erase_slot(std::size_t hole) {
  // Backward-shift deletion: pull later members of the probe run into the hole unless their
  // home bucket lies cyclically in (hole, j], so no tombstones accumulate.
  std::size_t j = hole;
  while (true) {
    j = next_slot(j);
    if (slots_[j].node == kNil) break;
    const std::size_t home = bucket_of(slots_[j].tag);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = slots_[j];
    hole = j;
  }
  slots_[hole] = Slot{};
}

// --- nodes --------------------------------------------------------------------------------

std::uint32_t BindingCache::index_of(const BindingCacheEntry& entry) const {
  // `entry` is the first member of a standard-layout Node, so the addresses coincide.
  const auto* node = reinterpret_cast<const Node*>(&entry);
  return static_cast<std::uint32_t>(node - nodes_.data());
}

std::uint32_t BindingCache::allocate_node() {
  if (free_head_ != kNil) {
    const std::uint32_t node = free_head_;
    free_head_ = nodes_[node].lru_next;
    return node;
  }
  // Within the reserved capacity (size_ < max_entries_), so entries never move.
  nodes_.emplace_back();
  return static_cast<std::uint32_t>(nodes_.size() - 1);
}

BindingCacheEntry BindingCache::remove_node(std::uint32_t node) {
  Node& n = nodes_[node];
  const auto [slot, found] = probe(n.entry.home_address, tag_of(n.entry.home_address));
  if (found) erase_slot(slot);
  if (n.lru_prev != kDetached) lru_unlink(node);
  heap_remove(n.heap_pos);
  BindingCacheEntry removed = n.entry;
  // A node left in the dirty list stays there; sync_dirty() skips it while it is free.
  n.lru_prev = kFree;
  n.lru_next = free_head_;
  free_head_ = node;
  --size_;
  return removed;
}

BindingCacheEntry* BindingCache::find(const wire::Ipv6Address& home_address) {
  const auto [slot, found] = probe(home_address, tag_of(home_address));
  if (!found) return nullptr;
  mark_dirty(slots_[slot].node);  // the caller may change `expires` through the pointer
  return &nodes_[slots_[slot].node].entry;
}

const BindingCacheEntry* BindingCache::find(const wire::Ipv6Address& home_address) const {
  const auto [slot, found] = probe(home_address, tag_of(home_address));
  return found ? &nodes_[slots_[slot].node].entry : nullptr;
}

BindingCache::InsertResult BindingCache::find_or_insert(const wire::Ipv6Address& home_address,
                                                        TimePoint now) {
  const std::uint32_t tag = tag_of(home_address);
  auto [slot, found] = probe(home_address, tag);
  if (found) {
    mark_dirty(slots_[slot].node);
    return {&nodes_[slots_[slot].node].entry, Insert::kExisting, std::nullopt};
  }
  InsertResult result;
  if (size_ >= max_entries_) {
    result.evicted = evict_one(now);
    if (!result.evicted) return result;     // kFull
    slot = probe(home_address, tag).first;  // the shift may have moved the empty slot
  }
  const std::uint32_t node = allocate_node();
  Node& n = nodes_[node];
  n.entry = BindingCacheEntry{};
  n.entry.home_address = home_address;
  n.entry.last_used = now;
  n.lru_prev = kDetached;
  lru_link_front(node);
  heap_push(node);
  mark_dirty(node);
  slots_[slot] = Slot{node, tag};
  ++size_;
  result.entry = &n.entry;
  result.outcome = Insert::kInserted;
  return result;
}

std::optional<BindingCacheEntry> BindingCache::evict_one(TimePoint now) {
  settle_top();
  // An expired entry goes first, home registration or not: its lifetime has ended.
  if (!heap_time_.empty() && heap_time_[0] <= ticks(now)) return remove_node(heap_node_[0]);
  // §9.6, §10.1, draft-04 §7.7: LRU replacement, never of a live home registration; those met
  // at the tail leave the list (they return when touched or synced as non-home).
  while (lru_tail_ != kNil) {
    const std::uint32_t node = lru_tail_;
    const BindingCacheEntry& e = nodes_[node].entry;
    if (e.home_registration && e.expires > now) {
      lru_unlink(node);
      continue;
    }
    return remove_node(node);
  }
  return std::nullopt;
}

void BindingCache::touch(BindingCacheEntry& entry, TimePoint now) {
  const std::uint32_t node = index_of(entry);
  entry.last_used = now;
  mark_dirty(node);
  if (nodes_[node].lru_prev != kDetached) lru_unlink(node);
  // A home registration is exempt from replacement while live (§10.1): keep it off the list.
  if (!entry.home_registration) lru_link_front(node);
}

bool BindingCache::erase(const wire::Ipv6Address& home_address) {
  const auto [slot, found] = probe(home_address, tag_of(home_address));
  if (!found) return false;
  remove_node(slots_[slot].node);
  return true;
}

std::vector<BindingCacheEntry> BindingCache::expire(TimePoint now) {
  std::vector<BindingCacheEntry> removed;
  settle_top();
  while (!heap_time_.empty() && heap_time_[0] <= ticks(now)) {
    removed.push_back(remove_node(heap_node_[0]));
    settle_top();
  }
  return removed;
}

std::optional<TimePoint> BindingCache::earliest_expiry() const {
  // Logically const: re-reading the entries handed out changes no observable state.
  const_cast<BindingCache*>(this)->settle_top();
  if (heap_time_.empty()) return std::nullopt;
  return TimePoint(Duration(heap_time_[0]));
}

std::size_t BindingCache::total_memory_bytes() const {
  return sizeof(*this) + nodes_.capacity() * sizeof(Node) + slots_.capacity() * sizeof(Slot) +
         heap_time_.capacity() * sizeof(std::int64_t) +
         heap_node_.capacity() * sizeof(std::uint32_t);
}

std::size_t BindingCache::memory_bytes() const {
  return total_memory_bytes() / std::max<std::size_t>(max_entries_, 1);
}

// --- LRU list -----------------------------------------------------------------------------

void BindingCache::lru_link_front(std::uint32_t node) {
  Node& n = nodes_[node];
  n.lru_prev = kNil;
  n.lru_next = lru_head_;
  if (lru_head_ != kNil) nodes_[lru_head_].lru_prev = node;
  lru_head_ = node;
  if (lru_tail_ == kNil) lru_tail_ = node;
}

void BindingCache::lru_unlink(std::uint32_t node) {
  Node& n = nodes_[node];
  if (n.lru_prev != kNil) {
    nodes_[n.lru_prev].lru_next = n.lru_next;
  } else {
    lru_head_ = n.lru_next;
  }
  if (n.lru_next != kNil) {
    nodes_[n.lru_next].lru_prev = n.lru_prev;
  } else {
    lru_tail_ = n.lru_prev;
  }
  n.lru_prev = kDetached;
  n.lru_next = kNil;
}

// --- entries changed in place -------------------------------------------------------------

void BindingCache::mark_dirty(std::uint32_t node) {
  Node& n = nodes_[node];
  if (n.dirty_next != kClean) return;
  n.dirty_next = dirty_head_;
  dirty_head_ = node;
}

void BindingCache::sync_dirty() {
  while (dirty_head_ != kDirtyEnd) {
    const std::uint32_t node = dirty_head_;
    dirty_head_ = nodes_[node].dirty_next;
    nodes_[node].dirty_next = kClean;
    if (live(node)) sync_node(node);
  }
}

void BindingCache::sync_node(std::uint32_t node) {
  Node& n = nodes_[node];
  // The heap key is a lower bound of `expires`: a shorter lifetime must move the entry up now;
  // a longer one (every refresh) is applied lazily, when the stale key reaches the top.
  const std::int64_t expires = ticks(n.entry.expires);
  if (expires < heap_time_[n.heap_pos]) heap_set(n.heap_pos, expires);
  // An entry no longer a home registration becomes replaceable again.
  if (!n.entry.home_registration && n.lru_prev == kDetached) lru_link_front(node);
}

void BindingCache::settle_top() {
  sync_dirty();
  while (!heap_time_.empty()) {
    const std::int64_t expires = ticks(nodes_[heap_node_[0]].entry.expires);
    if (heap_time_[0] == expires) return;  // exact, hence the earliest of all entries
    heap_set(0, expires);                  // a deferred increase: sift it down
  }
}

// --- expiry heap --------------------------------------------------------------------------

void BindingCache::heap_place(std::uint32_t pos, std::int64_t time, std::uint32_t node) {
  heap_time_[pos] = time;
  heap_node_[pos] = node;
  nodes_[node].heap_pos = pos;
}

void BindingCache::heap_push(std::uint32_t node) {
  const auto pos = static_cast<std::uint32_t>(heap_time_.size());
  heap_time_.push_back(ticks(nodes_[node].entry.expires));
  heap_node_.push_back(node);
  nodes_[node].heap_pos = pos;
  sift_up(pos);
}

void BindingCache::heap_remove(std::uint32_t pos) {
  const auto last = static_cast<std::uint32_t>(heap_time_.size() - 1);
  if (pos != last) {
    const std::int64_t time = heap_time_[last];
    heap_place(pos, time, heap_node_[last]);
    heap_time_.pop_back();
    heap_node_.pop_back();
    heap_set(pos, time);
    return;
  }
  heap_time_.pop_back();
  heap_node_.pop_back();
}

void BindingCache::heap_set(std::uint32_t pos, std::int64_t time) {
  heap_time_[pos] = time;
  if (pos > 0 && time < heap_time_[(pos - 1) / 2]) {
    sift_up(pos);
  } else {
    sift_down(pos);
  }
}

void BindingCache::sift_up(std::uint32_t pos) {
  const std::int64_t time = heap_time_[pos];
  const std::uint32_t node = heap_node_[pos];
  while (pos > 0) {
    const std::uint32_t parent = (pos - 1) / 2;
    if (heap_time_[parent] <= time) break;
    heap_place(pos, heap_time_[parent], heap_node_[parent]);
    pos = parent;
  }
  heap_place(pos, time, node);
}

void BindingCache::sift_down(std::uint32_t pos) {
  const std::int64_t time = heap_time_[pos];
  const std::uint32_t node = heap_node_[pos];
  const auto count = static_cast<std::uint32_t>(heap_time_.size());
  while (true) {
    std::uint32_t child = 2 * pos + 1;
    if (child >= count) break;
    if (child + 1 < count && heap_time_[child + 1] < heap_time_[child]) ++child;
    if (heap_time_[child] >= time) break;
    heap_place(pos, heap_time_[child], heap_node_[child]);
    pos = child;
  }
  heap_place(pos, time, node);
}

}  // namespace mipv6::core
