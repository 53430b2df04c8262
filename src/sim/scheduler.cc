#include "sim/scheduler.h"

#include <algorithm>
#include <utility>

namespace mipv6::sim {
namespace {

// Min-heap order on (time, sequence): the sequence breaks ties in scheduling order. The order is
// total, so any correct heap pops the same sequence of events.
template <class E>
bool earlier(const E& a, const E& b) {
  return a.at != b.at ? a.at < b.at : a.seq < b.seq;
}

// A 4-ary heap: half the levels of a binary one, and the four children of a node share one or
// two cache lines, which is what a pop in a queue of 100,000+ pending timers waits on.
constexpr std::size_t kArity = 4;
// Below this many cancelled entries, purging is not worth a pass over the heap.
constexpr std::size_t kPurgeMinimum = 4096;

}  // namespace

static_assert(sizeof(Callback) + sizeof(std::uint64_t) <= 64, "a slot is one cache line");

Scheduler::Reservation Scheduler::reserve(TimePoint at) {
  if (at < now_) at = now_;
  const std::uint32_t i = allocate_slot();
  const std::uint64_t seq = next_seq_++;
  Slot& s = slot(i);
  s.seq = seq;
  ++live_;
  push(Entry{at.time_since_epoch().count(), seq, i});
  return Reservation{EventId(seq, i), s.callback};
}

bool Scheduler::cancel(EventId id) {
  if (!pending(id)) return false;
  release_slot(id.slot_);
  --live_;
  ++stale_;
  drop_stale_top();
  if (stale_ >= kPurgeMinimum && stale_ * 2 > heap_.size()) purge_stale();
  return true;
}

bool Scheduler::pending(EventId id) const {
  return id.valid() && id.slot_ < slot_count_ && slot(id.slot_).seq == id.seq_;
}

std::optional<TimePoint> Scheduler::next_time() const {
  if (heap_.empty()) return std::nullopt;
  return TimePoint(Duration(heap_.front().at));
}

bool Scheduler::step() {
  if (heap_.empty()) return false;
  Entry e = pop();
  Slot& running = slot(e.slot);
  now_ = TimePoint(Duration(e.at));
  running.seq = 0;  // running: no longer pending, and its slot is not reused until it returns
  --live_;
  ++executed_;
  running.callback();
  release_slot(e.slot);
  drop_stale_top();
  // The next event's slot is cold in a deep queue: start loading it now.
  if (!heap_.empty()) __builtin_prefetch(&slot(heap_.front().slot));
  return true;
}

std::uint64_t Scheduler::run_until(TimePoint until) {
  std::uint64_t n = 0;
  const std::int64_t limit = until.time_since_epoch().count();
  while (!heap_.empty() && heap_.front().at <= limit) {
    step();
    ++n;
  }
  if (until > now_) now_ = until;
  return n;
}

std::uint64_t Scheduler::run_all() {
  std::uint64_t n = 0;
  while (step())
    ++n;
  return n;
}

std::uint32_t Scheduler::allocate_slot() {
  if (free_head_ != kNoSlot) {
    std::uint32_t i = free_head_;
    free_head_ = static_cast<std::uint32_t>(slot(i).seq & ~kFree);
    return i;
  }
  if ((slot_count_ & kChunkMask) == 0) chunks_.push_back(std::make_unique<Slot[]>(kChunkMask + 1));
  return slot_count_++;
}

void Scheduler::release_slot(std::uint32_t i) {
  Slot& s = slot(i);
  s.callback.reset();
  s.seq = kFree | free_head_;
  free_head_ = i;
}

// Keeps the invariant "the heap is empty or its top is a live event", so next_time() is exact.
void Scheduler::drop_stale_top() {
  while (stale_ != 0 && !heap_.empty() && !is_live(heap_.front())) {
    pop();
    --stale_;
  }
}

// Sifts the new entry up from the end into its place (a hole moves down instead of swaps).
void Scheduler::push(Entry e) {
  std::size_t i = heap_.size();
  heap_.push_back(e);
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!earlier(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

// Takes the top; the last entry sifts down from the root.
Scheduler::Entry Scheduler::pop() {
  const Entry top = heap_.front();
  const Entry last = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0, last);
  return top;
}

// Puts `e` at `i` or below, along the earliest children (a hole moves up instead of swaps).
void Scheduler::sift_down(std::size_t i, Entry e) {
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + kArity, n);
    for (std::size_t c = first + 1; c < end; ++c) {
      if (earlier(heap_[c], heap_[best])) best = c;
    }
    if (!earlier(heap_[best], e)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = e;
}

// Timers re-armed again and again (an address lifetime reset by every Router Advertisement, on
// 100,000 nodes) leave cancelled entries far in the future that would never surface: once they
// are half the heap, dropping them all and re-heapifying (O(n)) keeps the heap at the size of
// what is pending, for an amortised O(1) per cancel. The order of events does not change.
void Scheduler::purge_stale() {
  std::erase_if(heap_, [this](const Entry& e) { return !is_live(e); });
  stale_ = 0;
  if (heap_.size() < 2) return;
  for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;)
    sift_down(i, heap_[i]);
}

}  // namespace mipv6::sim
