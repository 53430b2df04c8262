#include "sim/scheduler.h"

#include <algorithm>
#include <utility>

namespace mipv6::sim {
namespace {

// Min-heap order on (time, sequence): the sequence breaks ties in scheduling order.
struct Later {
  template <class E>
  bool operator()(const E& a, const E& b) const {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

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

void Scheduler::push(Entry e) {
  heap_.push_back(e);
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

Scheduler::Entry Scheduler::pop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later{});
  Entry e = heap_.back();
  heap_.pop_back();
  return e;
}

}  // namespace mipv6::sim
