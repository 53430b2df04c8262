// The epoll loop: timers on timerfd at absolute CLOCK_MONOTONIC deadlines, fd watchers, signals.
// Timing tolerances are generous on purpose: the assertions are about order and "not early",
// never about how late a loaded machine runs a callback.
#include "linux/event_loop.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace mipv6::linux_dp {
namespace {

using namespace std::chrono_literals;

// A safety net: a test whose loop would otherwise never stop fails instead of hanging.
void add_watchdog(EventLoop& loop, bool& fired) {
  auto id = loop.add_timer([&] {
    fired = true;
    loop.stop();
  });
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(loop.arm_timer(*id, MonotonicClock::now() + 5s));
}

TEST(MonotonicClock, TimespecRoundTripKeepsNanoseconds) {
  core::TimePoint t(core::Duration(12'345'678'901));
  timespec ts = MonotonicClock::to_timespec(t);
  EXPECT_EQ(ts.tv_sec, 12);
  EXPECT_EQ(ts.tv_nsec, 345'678'901);
  EXPECT_EQ(MonotonicClock::from_timespec(ts), t);
}

TEST(MonotonicClock, EpochInstantBecomesTheEarliestArmableExpiry) {
  // A zero it_value would disarm a timerfd instead of firing it.
  timespec ts = MonotonicClock::to_timespec(core::TimePoint{});
  EXPECT_EQ(ts.tv_sec, 0);
  EXPECT_EQ(ts.tv_nsec, 1);
}

TEST(MonotonicClock, NowMatchesClockMonotonicAndNeverGoesBack) {
  timespec ts{};
  ASSERT_EQ(::clock_gettime(CLOCK_MONOTONIC, &ts), 0);
  core::TimePoint before = MonotonicClock::from_timespec(ts);
  core::TimePoint a = MonotonicClock::now();
  core::TimePoint b = MonotonicClock::now();
  EXPECT_GE(a, before);
  EXPECT_GE(b, a);
  EXPECT_LT(a - before, 1s);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndNeverEarly) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop) << loop.error().message;
  std::vector<int> order;
  std::vector<bool> early;
  core::TimePoint start = MonotonicClock::now();
  const std::vector<core::Duration> offsets = {60ms, 20ms, 40ms};
  for (int i = 0; i < 3; ++i) {
    core::TimePoint deadline = start + offsets[static_cast<std::size_t>(i)];
    auto id = loop->add_timer([&, i, deadline] {
      order.push_back(i);
      early.push_back(MonotonicClock::now() < deadline);
      if (order.size() == 3) loop->stop();
    });
    ASSERT_TRUE(id) << id.error().message;
    ASSERT_TRUE(loop->arm_timer(*id, deadline));
  }
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_FALSE(watchdog);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(early, (std::vector<bool>{false, false, false}));
}

TEST(EventLoop, RearmingReplacesTheDeadline) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  core::TimePoint fired_at{};
  auto id = loop->add_timer([&] {
    fired_at = MonotonicClock::now();
    loop->stop();
  });
  ASSERT_TRUE(id);
  core::TimePoint start = MonotonicClock::now();
  ASSERT_TRUE(loop->arm_timer(*id, start + 10ms));
  ASSERT_TRUE(loop->arm_timer(*id, start + 150ms));
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_FALSE(watchdog);
  EXPECT_GE(fired_at, start + 150ms);
}

TEST(EventLoop, DisarmedAndRemovedTimersDoNotFire) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  int disarmed_fired = 0;
  int removed_fired = 0;
  auto disarmed = loop->add_timer([&] { ++disarmed_fired; });
  auto removed = loop->add_timer([&] { ++removed_fired; });
  auto end = loop->add_timer([&] { loop->stop(); });
  ASSERT_TRUE(disarmed && removed && end);
  core::TimePoint start = MonotonicClock::now();
  ASSERT_TRUE(loop->arm_timer(*disarmed, start + 10ms));
  ASSERT_TRUE(loop->arm_timer(*removed, start + 10ms));
  ASSERT_TRUE(loop->disarm_timer(*disarmed));
  ASSERT_TRUE(loop->remove_timer(*removed));
  ASSERT_TRUE(loop->arm_timer(*end, start + 100ms));
  ASSERT_TRUE(loop->run());
  EXPECT_EQ(disarmed_fired, 0);
  EXPECT_EQ(removed_fired, 0);
}

TEST(EventLoop, DeadlineInThePastFiresAtOnce) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  bool fired = false;
  auto id = loop->add_timer([&] {
    fired = true;
    loop->stop();
  });
  ASSERT_TRUE(id);
  ASSERT_TRUE(loop->arm_timer(*id, core::TimePoint{}));
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_TRUE(fired);
  EXPECT_FALSE(watchdog);
}

TEST(EventLoop, TimerCallbackMayRemoveItsOwnTimer) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  EventLoop::TimerId self = 0;
  Status removal;
  auto id = loop->add_timer([&] {
    removal = loop->remove_timer(self);
    loop->stop();
  });
  ASSERT_TRUE(id);
  self = *id;
  ASSERT_TRUE(loop->arm_timer(self, MonotonicClock::now()));
  ASSERT_TRUE(loop->run());
  EXPECT_TRUE(removal) << removal.error().message;
  EXPECT_EQ(loop->arm_timer(self, MonotonicClock::now()).error().code, ENOENT);
}

TEST(EventLoop, UnknownTimerIsAnErrorNotACrash) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  auto s = loop->arm_timer(42, MonotonicClock::now());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ENOENT);
  EXPECT_NE(s.error().message.find("timer 42"), std::string::npos) << s.error().message;
}

class EventLoopPipe : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read_end_.reset(fds[0]);
    write_end_.reset(fds[1]);
  }
  UniqueFd read_end_;
  UniqueFd write_end_;
};

TEST_F(EventLoopPipe, ReadableCallbackRunsWhenDataArrives) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::string received;
  ASSERT_TRUE(loop->watch(read_end_.get(), [&] {
    char buffer[16];
    ssize_t n = ::read(read_end_.get(), buffer, sizeof buffer);
    if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
    loop->stop();
  }));
  auto writer = loop->add_timer([&] { ASSERT_EQ(::write(write_end_.get(), "hi", 2), 2); });
  ASSERT_TRUE(writer);
  ASSERT_TRUE(loop->arm_timer(*writer, MonotonicClock::now() + 5ms));
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_EQ(received, "hi");
  EXPECT_FALSE(watchdog);
}

TEST_F(EventLoopPipe, WritableCallbackRunsOnlyWhileWanted) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  int writable = 0;
  ASSERT_TRUE(loop->watch(
      write_end_.get(), [] {},
      [&] {
        ++writable;
        ASSERT_TRUE(loop->want_writable(write_end_.get(), false));
      }));
  auto end = loop->add_timer([&] { loop->stop(); });
  ASSERT_TRUE(end);
  ASSERT_TRUE(loop->arm_timer(*end, MonotonicClock::now() + 50ms));
  ASSERT_TRUE(loop->run());
  EXPECT_EQ(writable, 1);
}

TEST_F(EventLoopPipe, UnwatchedDescriptorIsNoLongerDispatched) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  int calls = 0;
  ASSERT_TRUE(loop->watch(read_end_.get(), [&] {
    ++calls;
    ASSERT_TRUE(loop->unwatch(read_end_.get()));
  }));
  ASSERT_EQ(::write(write_end_.get(), "x", 1), 1);
  auto end = loop->add_timer([&] { loop->stop(); });
  ASSERT_TRUE(end);
  ASSERT_TRUE(loop->arm_timer(*end, MonotonicClock::now() + 50ms));
  ASSERT_TRUE(loop->run());
  EXPECT_EQ(calls, 1);  // level-triggered: it would have been called again had it stayed
}

TEST_F(EventLoopPipe, WatchingTheSameDescriptorTwiceIsRefused) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  ASSERT_TRUE(loop->watch(read_end_.get(), [] {}));
  auto s = loop->watch(read_end_.get(), [] {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, EEXIST);
  EXPECT_EQ(loop->unwatch(write_end_.get()).error().code, ENOENT);
}

// A task runs once per round however often it was scheduled in it, after the round's events,
// and a task scheduled before run() goes before the first wait.
TEST_F(EventLoopPipe, ScheduledTaskRunsOnceAfterTheEventsOfItsRound) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::vector<std::string> order;
  const auto task = loop->add_task([&] {
    order.push_back("task");
    loop->stop();
  });
  const auto early = loop->add_task([&] {
    order.push_back("early");
    ASSERT_EQ(::write(write_end_.get(), "x", 1), 1);
  });
  ASSERT_TRUE(loop->watch(read_end_.get(), [&] {
    char buffer[4];
    ASSERT_EQ(::read(read_end_.get(), buffer, sizeof buffer), 1);
    order.push_back("read");
    loop->schedule_task(task);
    loop->schedule_task(task);
  }));
  loop->schedule_task(early);
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_FALSE(watchdog);
  EXPECT_EQ(order, (std::vector<std::string>{"early", "read", "task"}));
}

// A removed task does not run, even when it was scheduled; a task that schedules itself runs
// again after the next round, which does not wait for an event.
TEST(EventLoop, RemovedTaskDoesNotRunAndRescheduledTaskRunsAgain) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  int removed_runs = 0;
  int runs = 0;
  const auto removed = loop->add_task([&] { ++removed_runs; });
  EventLoop::TaskId self = 0;
  self = loop->add_task([&] {
    if (++runs == 3) {
      loop->stop();
      return;
    }
    loop->schedule_task(self);
  });
  loop->schedule_task(removed);
  loop->remove_task(removed);
  loop->schedule_task(self);
  loop->schedule_task(12345);  // unknown: nothing happens
  bool watchdog = false;
  add_watchdog(*loop, watchdog);
  ASSERT_TRUE(loop->run());
  EXPECT_FALSE(watchdog) << "a rescheduled task must not wait for an event";
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(removed_runs, 0);
}

TEST(EventLoop, SignalsArriveThroughTheLoop) {
  std::vector<int> received;
  {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    ASSERT_TRUE(loop->watch_signals({SIGHUP, SIGTERM, SIGINT}, [&](int signal_number) {
      received.push_back(signal_number);
      if (signal_number == SIGTERM) loop->stop();
    }));
    auto sender = loop->add_timer([] {
      ::raise(SIGHUP);
      ::raise(SIGTERM);
    });
    ASSERT_TRUE(sender);
    ASSERT_TRUE(loop->arm_timer(*sender, MonotonicClock::now() + 5ms));
    bool watchdog = false;
    add_watchdog(*loop, watchdog);
    ASSERT_TRUE(loop->run());
    EXPECT_FALSE(watchdog);
    EXPECT_EQ(loop->watch_signals({SIGUSR1}, [](int) {}).error().code, EBUSY);
  }
  EXPECT_EQ(received, (std::vector<int>{SIGHUP, SIGTERM}));
  // The loop gave the signals back: SIGHUP is no longer blocked for this thread.
  sigset_t mask;
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_EQ(sigismember(&mask, SIGHUP), 0);
}

}  // namespace
}  // namespace mipv6::linux_dp
