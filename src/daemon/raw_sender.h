// The daemon's Sender (role.h): a header-included raw IPv6 socket (and a protocol-41 one for
// tunnelled packets, RawSocket::open_tunnel_sender) whose packets carry SO_MARK
// kSignallingMark, so that the bypass rule routes them by the main table, around the TUN routes
// of the roles (DESIGN.md §3). Failures are counted, not fatal: a packet that cannot be sent
// (no route yet, interface gone) is lost like any datagram, and the protocol retransmits.
//
// With use_direct_tunnel_output() (a home agent's default, home_agent.direct_tunnel_output),
// batches of tunnel packets go straight to the next hop the kernel's tables name
// (linux_dp::NextHopCache) through a packet socket; what has no usable next hop, or is larger
// than its MTU, still goes through the kernel's IPv6 output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "daemon/role.h"
#include "linux/next_hop.h"
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

  // Tunnel packets (in send_batch) to their next hop through a packet socket.
  linux_dp::Status use_direct_tunnel_output();
  // Routes, links or addresses changed: the next hops are asked for again.
  void forget_next_hops();

  std::uint64_t sent() const { return sent_; }
  std::uint64_t failed() const { return failed_; }
  // Of sent(): the tunnel packets sent straight to their next hop.
  std::uint64_t sent_direct() const { return sent_direct_; }

 private:
  RawSender(linux_dp::RawSocket socket, std::uint32_t mark)
      : socket_(std::move(socket)), mark_(mark) {}

  std::size_t send_tunnelled(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex);
  std::size_t send_direct(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex);
  linux_dp::Status open_link_sender();

  linux_dp::RawSocket socket_;
  std::uint32_t mark_ = 0;
  std::optional<linux_dp::NextHopCache> next_hops_;   // with use_direct_tunnel_output()
  std::optional<linux_dp::RawSocket> tunnel_socket_;  // plain IPv6-in-IPv6 packets (issue 8)
  std::optional<linux_dp::LinkSender> link_sender_;   // opened at its first use
  std::uint64_t sent_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t sent_direct_ = 0;
};

}  // namespace mipv6::daemon
