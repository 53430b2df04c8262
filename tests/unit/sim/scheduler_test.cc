#include "sim/scheduler.h"

#include "core/rng.h"
#include "sim/mac.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) {
  return TimePoint(d);
}

TEST(Scheduler, RunsInTimeOrder) {
  Scheduler s;
  std::vector<int> order;
  s.schedule(at(30ms), [&] { order.push_back(3); });
  s.schedule(at(10ms), [&] { order.push_back(1); });
  s.schedule(at(20ms), [&] { order.push_back(2); });
  EXPECT_EQ(s.run_all(), 3u);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.now(), at(30ms));
}

TEST(Scheduler, SameTimeRunsInSchedulingOrder) {
  Scheduler s;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i)
    s.schedule(at(5ms), [&order, i] { order.push_back(i); });
  s.run_all();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST(Scheduler, EventScheduledForNowByACallbackRunsAfterThoseAlreadyQueued) {
  Scheduler s;
  std::vector<std::string> order;
  s.schedule(at(1ms), [&] {
    order.push_back("a");
    s.schedule(s.now(), [&] { order.push_back("c"); });
  });
  s.schedule(at(1ms), [&] { order.push_back("b"); });
  s.run_all();
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Scheduler, PastTimeIsClampedToNow) {
  Scheduler s;
  s.run_until(at(10ms));
  TimePoint ran{};
  s.schedule(at(2ms), [&] { ran = s.now(); });
  s.run_all();
  EXPECT_EQ(ran, at(10ms));
}

TEST(Scheduler, CancelRemovesPendingEvent) {
  Scheduler s;
  int runs = 0;
  EventId a = s.schedule(at(1ms), [&] { runs += 1; });
  EventId b = s.schedule(at(2ms), [&] { runs += 10; });
  EXPECT_TRUE(s.pending(a));
  EXPECT_TRUE(s.cancel(a));
  EXPECT_FALSE(s.pending(a));
  EXPECT_FALSE(s.cancel(a));  // twice
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.next_time(), at(2ms));  // the cancelled top no longer counts
  s.run_all();
  EXPECT_EQ(runs, 10);
  EXPECT_FALSE(s.cancel(b));  // already ran
  EXPECT_FALSE(s.cancel(EventId{}));
}

TEST(Scheduler, StaleIdDoesNotCancelTheEventReusingItsSlot) {
  Scheduler s;
  int runs = 0;
  EventId old = s.schedule(at(1ms), [&] { runs += 1; });
  s.cancel(old);
  EventId fresh = s.schedule(at(1ms), [&] { runs += 2; });  // reuses the freed slot
  EXPECT_FALSE(s.cancel(old));
  EXPECT_TRUE(s.pending(fresh));
  s.run_all();
  EXPECT_EQ(runs, 2);
}

TEST(Scheduler, EventCancellingItselfWhileRunningGetsFalse) {
  Scheduler s;
  EventId self;
  bool result = true;
  self = s.schedule(at(1ms), [&] { result = s.cancel(self); });
  s.run_all();
  EXPECT_FALSE(result);
}

TEST(Scheduler, CallbackCanCancelALaterEvent) {
  Scheduler s;
  int runs = 0;
  EventId later = s.schedule(at(5ms), [&] { ++runs; });
  s.schedule(at(1ms), [&] { s.cancel(later); });
  EXPECT_EQ(s.run_all(), 1u);
  EXPECT_EQ(runs, 0);
  EXPECT_TRUE(s.empty());
}

TEST(Scheduler, RunUntilRunsDueEventsAndAdvancesTime) {
  Scheduler s;
  std::vector<int> order;
  s.schedule(at(10ms), [&] { order.push_back(10); });
  s.schedule(at(20ms), [&] { order.push_back(20); });
  s.schedule(at(30ms), [&] { order.push_back(30); });
  EXPECT_EQ(s.run_until(at(20ms)), 2u);  // inclusive bound
  EXPECT_EQ(order, (std::vector<int>{10, 20}));
  EXPECT_EQ(s.now(), at(20ms));
  EXPECT_EQ(s.run_until(at(25ms)), 0u);
  EXPECT_EQ(s.now(), at(25ms));  // time advances with no event
  EXPECT_EQ(s.next_time(), at(30ms));
  EXPECT_EQ(s.run_for(10ms), 1u);
  EXPECT_EQ(s.now(), at(35ms));
  EXPECT_EQ(s.executed(), 3u);
}

TEST(Scheduler, RunUntilIncludesEventsScheduledByCallbacksWithinTheWindow) {
  Scheduler s;
  int chain = 0;
  std::function<void()> tick = [&] {
    ++chain;
    s.schedule_in(1ms, tick);
  };
  s.schedule(at(0ms), tick);
  s.run_until(at(9ms));
  EXPECT_EQ(chain, 10);  // 0, 1, ..., 9 ms
  EXPECT_EQ(s.size(), 1u);
}

TEST(Scheduler, ThousandsOfRandomEventsAndCancelsRunInTimeThenSchedulingOrder) {
  // The reference order: (time, scheduling number), sorted; cancelled events left out. Few
  // distinct times, so ties (broken by scheduling order) are frequent, and events scheduled by
  // running callbacks join in.
  Scheduler s;
  core::SplitMix64 rng(7);
  std::vector<std::pair<std::int64_t, int>> expected;
  std::vector<int> ran;
  std::vector<EventId> ids;
  std::vector<bool> cancelled;
  int next = 0;
  std::function<void(std::int64_t)> add = [&](std::int64_t t) {
    const int n = next++;
    cancelled.push_back(false);
    ids.push_back(s.schedule(at(Duration(t)), [&, n] {
      ran.push_back(n);
      if (n % 7 == 0 && next < 12'000)
        add(s.now().time_since_epoch().count() + static_cast<std::int64_t>(rng.uniform(50)));
    }));
    expected.emplace_back(t, n);
  };
  for (int i = 0; i < 10'000; ++i)
    add(static_cast<std::int64_t>(rng.uniform(200)));
  for (int i = 0; i < 10'000; i += 3) {
    ASSERT_TRUE(s.cancel(ids[static_cast<std::size_t>(i)]));
    cancelled[static_cast<std::size_t>(i)] = true;
  }
  s.run_all();
  std::sort(expected.begin(), expected.end());
  std::vector<int> want;
  for (const auto& [t, n] : expected) {
    if (!cancelled[static_cast<std::size_t>(n)]) want.push_back(n);
  }
  EXPECT_GT(next, 10'000);
  EXPECT_EQ(ran, want);
}

TEST(Scheduler, TimersReArmedManyTimesRunOnceInOrderAfterPurges) {
  // 5,000 timers each re-armed 6 times (cancel + schedule later), as address lifetimes are on
  // every Router Advertisement: 25,000 cancelled entries, purged along the way.
  Scheduler s;
  core::SplitMix64 rng(3);
  constexpr int kTimers = 5000;
  std::vector<EventId> ids(kTimers);
  std::vector<std::int64_t> due(kTimers);
  std::vector<int> ran;
  for (int round = 0; round < 6; ++round) {
    for (int t = 0; t < kTimers; ++t) {
      const auto i = static_cast<std::size_t>(t);
      s.cancel(ids[i]);
      due[i] = 1'000'000 + static_cast<std::int64_t>(rng.uniform(1000)) * 1000 + t;
      ids[i] = s.schedule(at(Duration(due[i])), [&ran, t] { ran.push_back(t); });
    }
  }
  EXPECT_EQ(s.size(), static_cast<std::size_t>(kTimers));
  std::vector<std::pair<std::int64_t, int>> expected;
  for (int t = 0; t < kTimers; ++t)
    expected.emplace_back(due[static_cast<std::size_t>(t)], t);
  std::sort(expected.begin(), expected.end());
  std::vector<int> want;
  for (const auto& [time, t] : expected)
    want.push_back(t);
  EXPECT_EQ(s.run_all(), static_cast<std::uint64_t>(kTimers));
  EXPECT_EQ(ran, want);
}

TEST(Scheduler, SlotsAreReusedSoMemoryStaysBounded) {
  Scheduler s;
  int runs = 0;
  for (int round = 0; round < 1000; ++round) {
    s.schedule_in(1ms, [&] { ++runs; });
    s.step();
  }
  EXPECT_EQ(runs, 1000);
  EXPECT_TRUE(s.empty());
}

TEST(Callback, AFrameInFlightIsStoredInline) {
  struct FrameInFlight {  // what Link::send schedules: the link and the frame
    void* link;
    Frame frame;
    void operator()() {}
  };
  static_assert(Callback::fits_inline<FrameInFlight>());
  static_assert(!Callback::fits_inline<std::array<char, 200>>());
}

TEST(Callback, LargeAndMoveOnlyCapturesWork) {
  Scheduler s;
  std::array<int, 64> big{};
  big[63] = 7;
  auto owned = std::make_unique<int>(5);
  int seen_big = 0, seen_owned = 0;
  s.schedule(at(1ms), [&seen_big, big] { seen_big = big[63]; });
  s.schedule(at(2ms), [&seen_owned, p = std::move(owned)] { seen_owned = *p; });
  s.run_all();
  EXPECT_EQ(seen_big, 7);
  EXPECT_EQ(seen_owned, 5);
}

TEST(Callback, CancelledCaptureIsDestroyed) {
  Scheduler s;
  auto token = std::make_shared<int>(1);
  EventId id = s.schedule(at(1ms), [token] {});
  EXPECT_EQ(token.use_count(), 2);
  s.cancel(id);
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace mipv6::sim
