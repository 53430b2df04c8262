// Drives a sans-I/O engine's timers from the simulator's virtual time (DESIGN.md §2): one
// scheduler event at the engine's next_deadline(), re-armed after every input, whose firing
// calls on_timeout() and hands the actions to the node that hosts the engine.
#pragma once

#include <functional>
#include <utility>

#include "core/engine.h"
#include "sim/scheduler.h"

namespace mipv6::sim {

class EngineTimer {
 public:
  // `drain` carries out the engine's queued actions (and re-arms through rearm()).
  EngineTimer(Scheduler& scheduler, core::Engine& engine, std::function<void()> drain)
      : scheduler_(scheduler), engine_(engine), drain_(std::move(drain)) {}
  ~EngineTimer() { scheduler_.cancel(event_); }
  EngineTimer(const EngineTimer&) = delete;
  EngineTimer& operator=(const EngineTimer&) = delete;

  // Puts the single pending event at the engine's current deadline (none: no event).
  void rearm() {
    auto deadline = engine_.next_deadline();
    if (event_.valid() && scheduled_at_ == deadline && scheduler_.pending(event_)) return;
    scheduler_.cancel(event_);
    event_ = {};
    scheduled_at_ = deadline;
    if (!deadline) return;
    event_ = scheduler_.schedule(*deadline, [this] {
      event_ = {};
      scheduled_at_.reset();
      engine_.on_timeout(scheduler_.now());
      drain_();
    });
  }

 private:
  Scheduler& scheduler_;
  core::Engine& engine_;
  std::function<void()> drain_;
  EventId event_;
  std::optional<TimePoint> scheduled_at_;
};

}  // namespace mipv6::sim
