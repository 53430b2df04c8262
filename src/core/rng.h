// Randomness comes into the engines through an injected Rng& (DESIGN.md §2): cookies, nonces,
// initial sequence numbers, DHAAD shuffling and timer jitter. The daemon passes a CSPRNG-backed
// generator; the simulator and tests pass a seeded SplitMix64 so runs are reproducible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mipv6::core {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual std::uint64_t next_u64() = 0;

  // Uniform in [0, bound) without modulo bias (Lemire's multiply-and-reject). bound > 0.
  std::uint64_t uniform(std::uint64_t bound);
  std::uint16_t next_u16() { return static_cast<std::uint16_t>(next_u64() >> 48); }
  void fill(std::span<std::byte> out);
};

// Deterministic generator (SplitMix64): same seed, same sequence. Not for secrets.
class SplitMix64 final : public Rng {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next_u64() override;

 private:
  std::uint64_t state_;
};

}  // namespace mipv6::core
