// Time as the protocol engines see it (DESIGN.md §2): instants and durations of a clock that
// has no now(), so code in src/core cannot read the real clock. The data plane (src/linux) maps
// steady_clock onto it; the simulator maps virtual time; tests do arithmetic (`now += 1500ms`).
#pragma once

#include <chrono>
#include <cstdint>

namespace mipv6::core {

struct EngineClock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<EngineClock>;
  static constexpr bool is_steady = true;
  // Deliberately no now().
};

using Duration = EngineClock::duration;
using TimePoint = EngineClock::time_point;

using namespace std::chrono_literals;  // NOLINT: 1500ms, 4s... read best in protocol code

// Whole seconds of a duration, rounded down (lifetimes on the wire are in seconds or 4 s units).
constexpr std::int64_t whole_seconds(Duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace mipv6::core
