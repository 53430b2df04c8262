#include "sim/random.h"

namespace mipv6::sim {
namespace {

// The SplitMix64 output function: a bijective 64-bit mixer.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a, 64 bits: a fixed, platform-independent string hash (std::hash is neither).
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t scenario_seed, std::string_view name) {
  return mix(scenario_seed ^ mix(fnv1a(name)));
}

bool chance(core::Rng& rng, double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  // 53 random bits make a double uniform in [0, 1).
  double u = static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53;
  return u < p;
}

}  // namespace mipv6::sim
