// Seeded randomness for the simulator: every random choice (frame loss, engine nonces, jitter)
// draws from a core::SplitMix64 stream derived from the scenario seed and a stable name, so a
// stream does not shift when another link or node is added, and the same seed gives the same run.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/rng.h"

namespace mipv6::sim {

// The seed of the stream called `name` (e.g. "link/home") under the scenario seed.
std::uint64_t derive_seed(std::uint64_t scenario_seed, std::string_view name);

inline core::SplitMix64 make_stream(std::uint64_t scenario_seed, std::string_view name) {
  return core::SplitMix64(derive_seed(scenario_seed, name));
}

// True with probability p. Draws nothing when p <= 0 or p >= 1, so a lossless (or fully lossy)
// link leaves its stream untouched.
bool chance(core::Rng& rng, double p);

}  // namespace mipv6::sim
