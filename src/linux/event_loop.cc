#include "linux/event_loop.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <string>
#include <utility>

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace mipv6::linux_dp {

namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// The epoll key: a watch's generation in the high half, so that an event queued for a
// descriptor that was unwatched (and perhaps reused) in the same batch is recognised and dropped.
std::uint64_t key_of(int fd, std::uint32_t generation) {
  return (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
}
int fd_of(std::uint64_t key) {
  return static_cast<int>(static_cast<std::uint32_t>(key));
}
std::uint32_t generation_of(std::uint64_t key) {
  return static_cast<std::uint32_t>(key >> 32);
}

}  // namespace

std::uint64_t ntp_timestamp_now() {
  constexpr std::uint64_t kUnixToNtpSeconds = 2208988800ULL;  // 1900-01-01 to 1970-01-01
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  const std::uint64_t seconds = static_cast<std::uint64_t>(ts.tv_sec) + kUnixToNtpSeconds;
  const std::uint64_t fraction = (static_cast<std::uint64_t>(ts.tv_nsec) << 32) / 1000000000ULL;
  return (seconds << 32) | fraction;
}

core::TimePoint MonotonicClock::now() {
  timespec ts{};
  // CLOCK_MONOTONIC cannot fail with a valid clock id and pointer (clock_gettime(2)).
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return from_timespec(ts);
}

timespec MonotonicClock::to_timespec(core::TimePoint t) {
  std::int64_t ns = t.time_since_epoch().count();
  // A zero it_value would disarm a timerfd; the earliest instant expressible fires at once.
  if (ns < 1) ns = 1;
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ns / kNanosPerSecond);
  ts.tv_nsec = static_cast<long>(ns % kNanosPerSecond);
  return ts;
}

core::TimePoint MonotonicClock::from_timespec(const timespec& ts) {
  return core::TimePoint(core::Duration(std::int64_t{ts.tv_sec} * kNanosPerSecond + ts.tv_nsec));
}

Result<EventLoop> EventLoop::create() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return errno_error("epoll_create1");
  return EventLoop(UniqueFd(fd));
}

EventLoop::EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}

EventLoop::~EventLoop() {
  // Give the signals back to the thread's normal disposition once nobody reads them.
  if (signal_fd_.valid()) ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
}

Status EventLoop::control(int op, const Watch& w) {
  epoll_event ev{};
  ev.events = EPOLLIN | (w.on_writable && w.writable ? EPOLLOUT : 0u);
  ev.data.u64 = key_of(w.fd, w.generation);
  if (::epoll_ctl(epoll_.get(), op, w.fd, &ev) < 0)
    return errno_error("epoll_ctl fd " + std::to_string(w.fd));
  return {};
}

Status EventLoop::add_watch(int fd, Watch w) {
  if (watches_.contains(fd)) return make_error("watch fd " + std::to_string(fd), EEXIST);
  w.fd = fd;
  w.generation = next_generation_++;
  if (auto s = control(EPOLL_CTL_ADD, w); !s) return s;
  watches_.emplace(fd, std::make_shared<Watch>(std::move(w)));
  return {};
}

Status EventLoop::watch(int fd, Callback on_readable, Callback on_writable) {
  Watch w;
  w.on_readable = std::move(on_readable);
  w.writable = static_cast<bool>(on_writable);
  w.on_writable = std::move(on_writable);
  return add_watch(fd, std::move(w));
}

Status EventLoop::want_writable(int fd, bool enabled) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return make_error("want_writable fd " + std::to_string(fd), ENOENT);
  it->second->writable = enabled;
  return control(EPOLL_CTL_MOD, *it->second);
}

Status EventLoop::unwatch(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return make_error("unwatch fd " + std::to_string(fd), ENOENT);
  watches_.erase(it);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) < 0)
    return errno_error("epoll_ctl DEL fd " + std::to_string(fd));
  return {};
}

Result<EventLoop::TimerId> EventLoop::add_timer(Callback on_expiry) {
  int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (fd < 0) return errno_error("timerfd_create");
  auto timer = std::make_unique<Timer>(Timer{UniqueFd(fd), std::move(on_expiry)});
  TimerId id = next_timer_++;
  Watch w;
  w.kind = WatchKind::kTimer;
  w.timer = id;
  if (auto s = add_watch(fd, std::move(w)); !s) return s.error();
  timers_.emplace(id, std::move(timer));
  return id;
}

EventLoop::Timer* EventLoop::find_timer(TimerId id) {
  auto it = timers_.find(id);
  return it == timers_.end() ? nullptr : it->second.get();
}

Status EventLoop::set_timer(TimerId id, const timespec& expiry) {
  Timer* timer = find_timer(id);
  if (timer == nullptr) return make_error("timer " + std::to_string(id), ENOENT);
  itimerspec spec{};
  spec.it_value = expiry;
  if (::timerfd_settime(timer->fd.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
    return errno_error("timerfd_settime");
  return {};
}

Status EventLoop::arm_timer(TimerId id, core::TimePoint deadline) {
  return set_timer(id, MonotonicClock::to_timespec(deadline));
}

Status EventLoop::disarm_timer(TimerId id) {
  return set_timer(id, timespec{});
}

Status EventLoop::remove_timer(TimerId id) {
  Timer* timer = find_timer(id);
  if (timer == nullptr) return make_error("remove timer " + std::to_string(id), ENOENT);
  Status s = unwatch(timer->fd.get());
  timers_.erase(id);
  return s;
}

Status EventLoop::watch_signals(std::initializer_list<int> signals, SignalCallback on_signal) {
  if (signal_fd_.valid()) return make_error("watch_signals", EBUSY);
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) {
    if (sigaddset(&set, s) < 0) return errno_error("sigaddset " + std::to_string(s));
  }
  // Blocked first, so a signal arriving between the two calls waits in the signalfd.
  if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, &saved_mask_); rc != 0)
    return make_error("pthread_sigmask", rc);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    Error e = errno_error("signalfd");
    ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    return e;
  }
  Watch w;
  w.kind = WatchKind::kSignal;
  if (auto s = add_watch(fd, std::move(w)); !s) {
    ::close(fd);
    ::pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    return s;
  }
  signal_fd_.reset(fd);
  on_signal_ = std::move(on_signal);
  return {};
}

Status EventLoop::on_timer_readable(TimerId id) {
  Timer* timer = find_timer(id);
  if (timer == nullptr) return {};
  std::uint64_t expirations = 0;
  ssize_t n = ::read(timer->fd.get(), &expirations, sizeof expirations);
  // EAGAIN: the timer was re-armed after it became readable; nothing is due.
  if (n < 0) return errno == EAGAIN ? Status{} : errno_error("read timerfd");
  // A copy: the callback may remove its own timer.
  Callback callback = timer->on_expiry;
  if (callback) callback();
  return {};
}

Status EventLoop::on_signal_readable() {
  signalfd_siginfo info{};
  while (true) {
    ssize_t n = ::read(signal_fd_.get(), &info, sizeof info);
    if (n < 0) return errno == EAGAIN ? Status{} : errno_error("read signalfd");
    if (static_cast<std::size_t>(n) != sizeof info) return make_error("read signalfd", EIO);
    SignalCallback callback = on_signal_;
    if (callback) callback(static_cast<int>(info.ssi_signo));
  }
}

Status EventLoop::dispatch(std::uint64_t key, std::uint32_t events) {
  auto it = watches_.find(fd_of(key));
  if (it == watches_.end() || it->second->generation != generation_of(key)) return {};
  // Keeps the watch (and its callbacks) alive even if a callback unwatches it.
  std::shared_ptr<Watch> w = it->second;
  switch (w->kind) {
    case WatchKind::kTimer:
      return on_timer_readable(w->timer);
    case WatchKind::kSignal:
      return on_signal_readable();
    case WatchKind::kFd:
      break;
  }
  if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0 && w->on_readable) w->on_readable();
  if ((events & EPOLLOUT) != 0 && w->on_writable && running_) w->on_writable();
  return {};
}

EventLoop::TaskId EventLoop::add_task(Callback callback) {
  const TaskId id = next_task_++;
  tasks_.emplace(id, Task{std::move(callback), false});
  return id;
}

void EventLoop::schedule_task(TaskId id) {
  auto it = tasks_.find(id);
  if (it == tasks_.end() || it->second.scheduled) return;
  it->second.scheduled = true;
  scheduled_.push_back(id);
}

void EventLoop::remove_task(TaskId id) {
  tasks_.erase(id);  // its entry in scheduled_ finds nothing when its turn comes
}

void EventLoop::run_scheduled_tasks() {
  const std::vector<TaskId> due = std::exchange(scheduled_, {});
  for (TaskId id : due) {
    auto it = tasks_.find(id);
    if (it == tasks_.end() || !it->second.scheduled) continue;
    it->second.scheduled = false;
    // A copy: the callback may remove its own task.
    const Callback callback = it->second.callback;
    callback();
    if (!running_) return;
  }
}

Status EventLoop::run() {
  constexpr int kBatch = 64;
  std::array<epoll_event, kBatch> events{};
  running_ = true;
  run_scheduled_tasks();
  while (running_) {
    const int timeout = scheduled_.empty() ? -1 : 0;
    int n = ::epoll_wait(epoll_.get(), events.data(), kBatch, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      running_ = false;
      return errno_error("epoll_wait");
    }
    for (int i = 0; i < n && running_; ++i) {
      const epoll_event& ev = events[static_cast<std::size_t>(i)];
      if (auto s = dispatch(ev.data.u64, ev.events); !s) {
        running_ = false;
        return s;
      }
    }
    if (running_) run_scheduled_tasks();
  }
  return {};
}

}  // namespace mipv6::linux_dp
