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
  return RawSender(std::move(*socket));
}

linux_dp::Status RawSender::send(wire::ByteSpan packet, std::uint32_t ifindex) {
  auto status = socket_.send_packet(packet, ifindex);
  if (status) {
    ++sent_;
  } else {
    ++failed_;
  }
  return status;
}

std::size_t RawSender::send_batch(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex) {
  auto result = socket_.send_packets(packets, ifindex);
  sent_ += result.sent;
  failed_ += result.failed;
  return result.sent;
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
