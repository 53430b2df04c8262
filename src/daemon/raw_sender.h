// The daemon's Sender (role.h): a header-included raw IPv6 socket (and a protocol-41 one for
// tunnelled packets, RawSocket::open_tunnel_sender) whose packets carry SO_MARK
// kSignallingMark, so that the bypass rule routes them by the main table, around the TUN routes
// of the roles (DESIGN.md §3). Failures are counted, not fatal: a packet that cannot be sent
// (no route yet, interface gone) is lost like any datagram, and the protocol retransmits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "daemon/role.h"
#include "linux/packet_socket.h"
#include "linux/raw_socket.h"

namespace mipv6::daemon {

class RawSender final : public Sender {
 public:
  static linux_dp::Result<RawSender> open(std::uint32_t mark = kSignallingMark);

  linux_dp::Status send(wire::ByteSpan packet, std::uint32_t ifindex = 0) override;
  linux_dp::Status send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                const core::LinkLayerAddress& destination) override;
  // One sendmmsg() per RawSocket::kBatchSize packets.
  std::size_t send_batch(std::span<const wire::ByteSpan> packets,
                         std::uint32_t ifindex = 0) override;

  std::uint64_t sent() const { return sent_; }
  std::uint64_t failed() const { return failed_; }

 private:
  explicit RawSender(linux_dp::RawSocket socket) : socket_(std::move(socket)) {}

  linux_dp::RawSocket socket_;
  std::optional<linux_dp::RawSocket> tunnel_socket_;  // plain IPv6-in-IPv6 packets (issue 8)
  std::optional<linux_dp::LinkSender> link_sender_;   // opened at its first use
  std::uint64_t sent_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace mipv6::daemon
