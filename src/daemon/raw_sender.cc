#include "daemon/raw_sender.h"

#include <cstring>
#include <utility>

#include "linux/event_loop.h"

namespace mipv6::daemon {

linux_dp::Result<RawSender> RawSender::open(std::uint32_t mark) {
  auto socket = linux_dp::RawSocket::open_header_included();
  if (!socket) return socket.error();
  if (auto marked = socket->set_mark(mark); !marked) return marked.error();
  // A home agent's DAD probe (RFC 4862 §5.4.3) looped back to the daemon's own ICMPv6 socket
  // would look like another node defending the address.
  if (auto loop = socket->set_multicast_loop(false); !loop) return loop.error();
  RawSender sender(std::move(*socket), mark);
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
    if (tunnelled) {
      sent += send_tunnelled(packets.first(run), ifindex);
    } else {
      auto result = socket_.send_packets(packets.first(run), ifindex);
      sent_ += result.sent;
      failed_ += result.failed;
      sent += result.sent;
    }
    packets = packets.subspan(run);
  }
  return sent;
}

namespace {

constexpr std::size_t kSourceOffset = 8;
constexpr std::size_t kDestinationOffset = 24;

wire::Ipv6Address address_at(wire::ByteSpan packet, std::size_t offset) {
  wire::Ipv6Address address;
  std::memcpy(address.bytes.data(), packet.data() + offset, address.bytes.size());
  return address;
}

// How many packets at the front of `packets` (at least one) share the first one's source and
// destination: they have the same next hop.
std::size_t same_endpoints_run(std::span<const wire::ByteSpan> packets) {
  constexpr std::size_t kBothAddresses = 32;
  std::size_t run = 1;
  while (run < packets.size() &&
         std::memcmp(packets[run].data() + kSourceOffset, packets.front().data() + kSourceOffset,
                     kBothAddresses) == 0)
    ++run;
  return run;
}

}  // namespace

// Plain tunnel packets: each run to one care-of address straight to its next hop as far as that
// goes, the rest through the protocol-41 socket (in order: both end in the device's queue).
std::size_t RawSender::send_tunnelled(std::span<const wire::ByteSpan> packets,
                                      std::uint32_t ifindex) {
  std::size_t sent = 0;
  while (!packets.empty()) {
    const auto part = packets.first(same_endpoints_run(packets));
    const std::size_t direct = send_direct(part, ifindex);
    auto result = tunnel_socket_->send_packets(part.subspan(direct), ifindex);
    sent_ += result.sent;
    failed_ += result.failed;
    sent += direct + result.sent;
    packets = packets.subspan(part.size());
  }
  return sent;
}

// Packets with one source and destination to their next hop, up to the first that is larger
// than its MTU (the kernel fragments that one, RFC 2473 §7) or that the device does not take;
// how many were sent.
std::size_t RawSender::send_direct(std::span<const wire::ByteSpan> packets, std::uint32_t ifindex) {
  // A caller that names the interface wants the kernel's output on it.
  if (!next_hops_ || ifindex != 0) return 0;
  const wire::ByteSpan first = packets.front();
  auto hop =
      next_hops_->find(address_at(first, kSourceOffset), address_at(first, kDestinationOffset),
                       linux_dp::MonotonicClock::now());
  if (!hop) return 0;
  std::size_t fitting = 0;
  while (fitting < packets.size() && packets[fitting].size() <= hop->mtu)
    ++fitting;
  auto result = link_sender_->send_batch(packets.first(fitting), hop->ifindex, hop->link_address);
  // The device went away or down, or its queue is full: the kernel's output takes over, and the
  // next hop is asked for again.
  if (result.failed > 0) next_hops_->clear();
  sent_ += result.sent;
  sent_direct_ += result.sent;
  return result.sent;
}

linux_dp::Status RawSender::use_direct_tunnel_output() {
  if (!tunnel_socket_)
    return linux_dp::make_error("direct tunnel output needs the protocol-41 socket", ENOTSUP);
  if (auto opened = open_link_sender(); !opened) return opened;
  if (auto marked = link_sender_->set_mark(mark_); !marked) return marked;
  auto netlink = linux_dp::Netlink::open();
  if (!netlink) return netlink.error();
  next_hops_.emplace(std::move(*netlink), mark_);
  return {};
}

void RawSender::forget_next_hops() {
  if (next_hops_) next_hops_->clear();
}

linux_dp::Status RawSender::open_link_sender() {
  if (link_sender_) return {};
  auto opened = linux_dp::LinkSender::open();
  if (!opened) return opened.error();
  link_sender_.emplace(std::move(*opened));
  return {};
}

linux_dp::Status RawSender::send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                         const core::LinkLayerAddress& destination) {
  if (auto opened = open_link_sender(); !opened) {
    ++failed_;
    return opened;
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
