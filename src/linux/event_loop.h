// The daemon's event loop (issue 8): epoll over file descriptors, one-shot timers on timerfd at
// absolute CLOCK_MONOTONIC instants (an engine's next_deadline()), and signals via signalfd.
// Single-threaded: every callback runs on the thread that called run().
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <unordered_map>
#include <vector>

#include <signal.h>
#include <time.h>

#include "core/time.h"
#include "linux/result.h"
#include "linux/unique_fd.h"

namespace mipv6::linux_dp {

// Maps core::TimePoint onto CLOCK_MONOTONIC: a TimePoint counts nanoseconds since the
// monotonic clock's epoch (boot), so a deadline converts to a timerfd expiry with no offset.
// This is the only place in mipv6 where the real clock is read (DESIGN.md §2).
class MonotonicClock {
 public:
  static core::TimePoint now();
  static timespec to_timespec(core::TimePoint t);
  static core::TimePoint from_timespec(const timespec& ts);
};

// The wall clock as a 64-bit NTP timestamp (seconds since 1900 in the high 32 bits, the fraction
// in the low 32): the one use of CLOCK_REALTIME in mipv6, for the RFC 4285 §6 replay protection
// option, which compares the two ends' clocks. Timers never use it.
std::uint64_t ntp_timestamp_now();

class EventLoop {
 public:
  using Callback = std::function<void()>;
  using SignalCallback = std::function<void(int signal_number)>;
  using TimerId = std::uint64_t;
  using TaskId = std::uint64_t;

  static Result<EventLoop> create();

  // Movable only while not running (callbacks must not capture the loop's address before the
  // move); not assignable, so that the signal mask it restores is never lost.
  EventLoop(EventLoop&&) noexcept = default;
  EventLoop& operator=(EventLoop&&) = delete;
  ~EventLoop();

  // Calls on_readable when `fd` is readable and on_writable (if set) when it is writable.
  // The loop does not own `fd`; unwatch() it before closing it.
  Status watch(int fd, Callback on_readable, Callback on_writable = {});
  // Turns write interest on or off, e.g. only while a send queue is not empty.
  Status want_writable(int fd, bool enabled);
  Status unwatch(int fd);

  // A one-shot timer, disarmed until arm()ed. Re-arming replaces the previous deadline.
  Result<TimerId> add_timer(Callback on_expiry);
  // Fires once at `deadline` on CLOCK_MONOTONIC; a deadline in the past fires at once.
  Status arm_timer(TimerId id, core::TimePoint deadline);
  Status disarm_timer(TimerId id);
  Status remove_timer(TimerId id);

  // A task: a callback run once after the events of the current round, each time it was
  // schedule()d — for work that gathers a burst (a superpacket to write, an engine's output to
  // carry out) without a timer's system calls. Scheduling a task already scheduled does nothing;
  // one scheduled while no round runs goes before the next wait; one scheduled by a task runs
  // after the next round, which then does not wait.
  TaskId add_task(Callback callback);
  void schedule_task(TaskId id);
  void remove_task(TaskId id);  // it does not run even when scheduled

  // Blocks `signals` for this thread (so they are no longer delivered asynchronously) and reports
  // them through on_signal. May be called once per loop.
  Status watch_signals(std::initializer_list<int> signals, SignalCallback on_signal);

  // Dispatches events until stop() is called (from a callback). Returns the error that ended
  // the loop otherwise (an epoll_wait failure other than EINTR, a failed timerfd read...).
  Status run();
  void stop() { running_ = false; }

 private:
  enum class WatchKind : std::uint8_t { kFd, kTimer, kSignal };
  struct Watch {
    WatchKind kind = WatchKind::kFd;
    TimerId timer = 0;
    int fd = -1;
    std::uint32_t generation = 0;
    Callback on_readable;
    Callback on_writable;
    bool writable = false;
  };
  struct Timer {
    UniqueFd fd;
    Callback on_expiry;
  };
  struct Task {
    Callback callback;
    bool scheduled = false;
  };

  explicit EventLoop(UniqueFd epoll);
  Status add_watch(int fd, Watch w);
  Status control(int op, const Watch& w);
  Status set_timer(TimerId id, const timespec& expiry);
  Status dispatch(std::uint64_t key, std::uint32_t events);
  Status on_timer_readable(TimerId id);
  Status on_signal_readable();
  Timer* find_timer(TimerId id);
  void run_scheduled_tasks();

  UniqueFd epoll_;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
  std::unordered_map<TimerId, std::unique_ptr<Timer>> timers_;
  UniqueFd signal_fd_;
  SignalCallback on_signal_;
  sigset_t saved_mask_{};  // the thread's mask before watch_signals(), restored at destruction
  std::uint32_t next_generation_ = 1;
  TimerId next_timer_ = 1;
  std::unordered_map<TaskId, Task> tasks_;
  std::vector<TaskId> scheduled_;  // in the order schedule_task() was called
  TaskId next_task_ = 1;
  bool running_ = false;
};

}  // namespace mipv6::linux_dp
