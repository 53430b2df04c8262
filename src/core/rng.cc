#include "core/rng.h"

#include <cstring>

namespace mipv6::core {

std::uint64_t Rng::uniform(std::uint64_t bound) {
  // Draw until the value falls in the largest multiple of `bound` that fits in 64 bits.
  std::uint64_t threshold = (0 - bound) % bound;
  while (true) {
    std::uint64_t x = next_u64();
    if (x >= threshold) return x % bound;
  }
}

void Rng::fill(std::span<std::byte> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t x = next_u64();
    std::size_t n = out.size() - i < 8 ? out.size() - i : 8;
    std::memcpy(out.data() + i, &x, n);
    i += n;
  }
}

std::uint64_t SplitMix64::next_u64() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace mipv6::core
