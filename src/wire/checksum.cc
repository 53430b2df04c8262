#include "wire/checksum.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace mipv6::wire {

namespace {

// Folds a 64-bit one's-complement accumulator to 16 bits (end-around carries).
std::uint32_t fold16(std::uint64_t acc) {
  while (acc >> 16)
    acc = (acc & 0xffffu) + (acc >> 16);
  return static_cast<std::uint32_t>(acc);
}

// RFC 1071 §2(B): the one's-complement sum does not depend on byte order, and §2(C): it can be
// taken over wider words. So 8 octets at a time are loaded in the host's order and their two
// 32-bit halves summed (no overflow for any IPv6 packet's length), the result folded to 16 bits
// and its bytes swapped back once — the tunnel endpoints checksum every TCP segment (issue 8).
// With `out`, each word is stored there as it is summed: a copy and its checksum in one pass.
std::uint32_t sum_words(std::uint32_t sum, ByteSpan data, std::byte* out) {
  const std::byte* p = data.data();
  const std::size_t n = data.size();
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, sizeof word);
    if (out != nullptr) std::memcpy(out + i, &word, sizeof word);
    acc += (word & 0xffffffffu) + (word >> 32);
  }
  for (; i + 2 <= n; i += 2) {
    std::uint16_t half;
    std::memcpy(&half, p + i, sizeof half);
    if (out != nullptr) std::memcpy(out + i, &half, sizeof half);
    acc += half;
  }
  std::uint32_t folded = fold16(acc);
  if constexpr (std::endian::native == std::endian::little)
    folded = ((folded & 0xffu) << 8) | (folded >> 8);
  std::uint64_t total = std::uint64_t{sum} + folded;
  if (i < n) {
    if (out != nullptr) out[i] = p[i];
    total += std::to_integer<std::uint32_t>(p[i]) << 8;  // odd octet: high byte
  }
  while (total >> 32)
    total = (total & 0xffffffffu) + (total >> 32);
  return static_cast<std::uint32_t>(total);
}

}  // namespace

std::uint32_t checksum_add(std::uint32_t sum, ByteSpan data) {
  return sum_words(sum, data, nullptr);
}

std::uint32_t checksum_copy(std::uint32_t sum, ByteSpan data, std::span<std::byte> out) {
  return sum_words(sum, data.first(std::min(data.size(), out.size())), out.data());
}

std::uint16_t checksum_finish(std::uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffffu) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::uint16_t internet_checksum(ByteSpan data) {
  return checksum_finish(checksum_add(0, data));
}

std::uint16_t upper_layer_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                                   std::uint8_t next_header, ByteSpan upper) {
  // RFC 8200 §8.1: source, destination, 32-bit upper-layer length, 24 zero bits, next header.
  std::uint32_t sum = 0;
  sum = checksum_add(sum, std::as_bytes(std::span(source.bytes)));
  sum = checksum_add(sum, std::as_bytes(std::span(destination.bytes)));
  auto length = static_cast<std::uint32_t>(upper.size());
  std::uint64_t acc = std::uint64_t{sum} + (length >> 16) + (length & 0xffffu) + next_header;
  while (acc >> 32)
    acc = (acc & 0xffffffffu) + (acc >> 32);
  return checksum_finish(checksum_add(static_cast<std::uint32_t>(acc), upper));
}

}  // namespace mipv6::wire
