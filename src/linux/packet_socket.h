// Sending an IPv6 packet to a given link-layer address, bypassing the kernel's neighbour
// resolution (AF_PACKET, SOCK_DGRAM: the kernel adds the Ethernet header). RFC 6275 needs it
// where resolving would go wrong: a mobile node returning home sends its de-registration
// straight to the home agent's link-layer address (§11.5.5 step 3), because the home agent still
// defends the home address and would answer the kernel's solicitation for itself; a home agent
// answers a node on the home link at the link-layer address it came from (§10.3.2).
#pragma once

#include <cstdint>
#include <span>

#include "core/engine.h"
#include "linux/raw_socket.h"
#include "linux/result.h"
#include "linux/unique_fd.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

class LinkSender {
 public:
  static Result<LinkSender> open();

  int fd() const { return fd_.get(); }
  // `packet` is a whole IPv6 packet (checksums filled), sent on `ifindex` to `destination`.
  Status send(wire::ByteSpan packet, std::uint32_t ifindex,
              const core::LinkLayerAddress& destination);
  // `packets` on `ifindex` to `destination`, with one sendmmsg() per RawSocket::kBatchSize.
  // Stops at the first packet that cannot be sent (result.failed is then 1, with its error), so
  // that the caller can send it and the rest another way, in order.
  BatchSendResult send_batch(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex,
                             const core::LinkLayerAddress& destination);
  // SO_MARK: what the packets carry through the device's queueing discipline.
  Status set_mark(std::uint32_t mark);

 private:
  explicit LinkSender(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace mipv6::linux_dp
