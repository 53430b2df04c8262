#include "wire/checksum.h"

namespace mipv6::wire {

std::uint32_t checksum_add(std::uint32_t sum, ByteSpan data) {
  std::uint64_t acc = sum;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2)
    acc += load_be16(&data[i]);
  if (i < data.size()) acc += std::to_integer<std::uint32_t>(data[i]) << 8;
  while (acc >> 32)
    acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<std::uint32_t>(acc);
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
