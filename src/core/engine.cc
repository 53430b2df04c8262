#include "core/engine.h"

namespace mipv6::core {

wire::Expected<RxPacket> make_rx_packet(wire::ByteSpan bytes, std::uint32_t ifindex,
                                        const wire::ChainLimits& limits) {
  RxPacket packet;
  packet.bytes = bytes;
  packet.ifindex = ifindex;
  MIPV6_CHECK(wire::walk_chain_into(bytes, packet.layout, limits));
  return packet;
}

}  // namespace mipv6::core
