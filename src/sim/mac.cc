#include "sim/mac.h"

#include <cstdio>

namespace mipv6::sim {

MacAddress MacAddress::for_ipv6_multicast(const wire::Ipv6Address& group) {
  const auto& a = group.bytes;
  return {{0x33, 0x33, a[12], a[13], a[14], a[15]}};
}

MacAddress MacAddress::synthetic(std::uint32_t n) {
  return {{0x02, 0x00, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
           static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}};
}

std::string MacAddress::to_string() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

void append_ethernet_frame(wire::Bytes& out, const Frame& frame) {
  for (auto b : frame.destination.bytes)
    out.push_back(std::byte{b});
  for (auto b : frame.source.bytes)
    out.push_back(std::byte{b});
  out.push_back(std::byte{kEtherTypeIpv6 >> 8});
  out.push_back(std::byte{kEtherTypeIpv6 & 0xff});
  out.insert(out.end(), frame.packet.begin(), frame.packet.end());
}

}  // namespace mipv6::sim

std::size_t std::hash<mipv6::sim::MacAddress>::operator()(
    const mipv6::sim::MacAddress& m) const noexcept {
  std::uint64_t v = 0;
  for (auto b : m.bytes)
    v = (v << 8) | b;
  return std::hash<std::uint64_t>{}(v * 0x9e3779b97f4a7c15ull);
}
