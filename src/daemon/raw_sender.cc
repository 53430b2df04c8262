#include "daemon/raw_sender.h"

#include <utility>

namespace mipv6::daemon {

linux_dp::Result<RawSender> RawSender::open(std::uint32_t mark) {
  auto socket = linux_dp::RawSocket::open_header_included();
  if (!socket) return socket.error();
  if (auto marked = socket->set_mark(mark); !marked) return marked.error();
  // A home agent's DAD probe (RFC 4862 §5.4.3) looped back to the daemon's own ICMPv6 socket
  // would look like another node defending the address.
  if (auto loop = socket->set_multicast_loop(false); !loop) return loop.error();
  RawSender sender(std::move(*socket));
  // Tunnelled packets go through a protocol-41 socket when it can be had (it needs ::1, so lo
  // up); without it they go header-included, as everything else does.
  if (auto tunnel = linux_dp::RawSocket::open_tunnel_sender();
      tunnel && tunnel->set_mark(mark) && tunnel->set_multicast_loop(false))
    sender.tunnel_socket_.emplace(std::move(*tunnel));
  return sender;
}

linux_dp::Status RawSender::send(wire::ByteSpan packet, std::uint32_t ifindex) {
  if (tunnel_socket_ && linux_dp::is_plain_tunnel_packet(packet)) {
    const wire::ByteSpan one[] = {packet};
    auto result = tunnel_socket_->send_packets(one, ifindex);
    sent_ += result.sent;
    failed_ += result.failed;
    if (result.first_error) return *result.first_error;
    return {};
  }
  auto status = socket_.send_packet(packet, ifindex);
  if (status) {
    ++sent_;
  } else {
    ++failed_;
  }
  return status;
}

// In order, each run of packets through the socket that takes it: plain tunnel packets through
// the protocol-41 one, everything else header-included.
std::size_t RawSender::send_batch(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex) {
  auto via_tunnel_socket = [this](wire::ByteSpan packet) {
    return tunnel_socket_.has_value() && linux_dp::is_plain_tunnel_packet(packet);
  };
  std::size_t sent = 0;
  while (!packets.empty()) {
    const bool tunnelled = via_tunnel_socket(packets.front());
    std::size_t run = 1;
    while (run < packets.size() && via_tunnel_socket(packets[run]) == tunnelled)
      ++run;
    auto result = (tunnelled ? *tunnel_socket_ : socket_).send_packets(packets.first(run), ifindex);
    sent_ += result.sent;
    failed_ += result.failed;
    sent += result.sent;
    packets = packets.subspan(run);
  }
  return sent;
}

linux_dp::Status RawSender::send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                         const core::LinkLayerAddress& destination) {
  if (!link_sender_) {
    auto opened = linux_dp::LinkSender::open();
    if (!opened) {
      ++failed_;
      return opened.error();
    }
    link_sender_.emplace(std::move(*opened));
  }
  auto status = link_sender_->send(packet, ifindex, destination);
  if (status) {
    ++sent_;
  } else {
    ++failed_;
  }
  return status;
}

}  // namespace mipv6::daemon
