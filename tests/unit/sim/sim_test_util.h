// Helpers shared by the src/sim unit tests: IPv6 packets of a given size, and a node that
// records what it receives and its link-layer events, stamped with virtual time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/node.h"
#include "sim/scheduler.h"
#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/ipv6.h"

namespace mipv6::sim {
using namespace std::chrono_literals;  // NOLINT: 1ms, 500us... read best in tests
}  // namespace mipv6::sim

namespace mipv6::sim::testing {

inline wire::Ipv6Address addr(std::string_view text) {
  return *wire::Ipv6Address::parse(text);
}

// An IPv6 packet (No Next Header) of exactly `total_size` bytes (>= 40).
inline wire::Bytes make_packet(const wire::Ipv6Address& src, const wire::Ipv6Address& dst,
                               std::size_t total_size = 100, std::uint8_t hop_limit = 64) {
  wire::Bytes out;
  wire::Writer w(out);
  wire::Ipv6Header h;
  h.source = src;
  h.destination = dst;
  h.hop_limit = hop_limit;
  h.payload_length = static_cast<std::uint16_t>(total_size - wire::kIpv6HeaderSize);
  wire::encode_ipv6_header(w, h);
  w.zeros(total_size - wire::kIpv6HeaderSize);
  return out;
}

struct Received {
  TimePoint at;
  std::uint32_t ifindex;
  Frame frame;
};

class RecordingNode : public Node {
 public:
  using Node::Node;

  void on_frame(Interface& in, const Frame& frame) override {
    received.push_back(Received{scheduler().now(), in.ifindex(), frame});
  }
  void on_link_up(Interface& in) override { events.push_back("up " + in.name()); }
  void on_link_down(Interface& in) override { events.push_back("down " + in.name()); }

  std::vector<TimePoint> arrival_times() const {
    std::vector<TimePoint> out;
    for (const auto& r : received)
      out.push_back(r.at);
    return out;
  }

  std::vector<Received> received;
  std::vector<std::string> events;
};

inline TimePoint at(Duration d) {
  return TimePoint(d);
}

inline std::uint32_t load_le32(const std::byte* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | std::to_integer<std::uint32_t>(p[i]);
  return v;
}
inline std::uint16_t load_le16(const std::byte* p) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) |
                                    (std::to_integer<unsigned>(p[1]) << 8));
}

}  // namespace mipv6::sim::testing
