#include "linux/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

namespace mipv6::linux_dp {

Result<LinkSender> LinkSender::open() {
  UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket(AF_PACKET)");
  return LinkSender(std::move(fd));
}

namespace {

sockaddr_ll link_destination(std::uint32_t ifindex, const core::LinkLayerAddress& destination) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IPV6);
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = static_cast<unsigned char>(destination.size());
  std::memcpy(to.sll_addr, destination.data(), destination.size());
  return to;
}

}  // namespace

Status LinkSender::set_mark(std::uint32_t mark) {
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0)
    return errno_error("SO_MARK on the packet socket");
  return {};
}

BatchSendResult LinkSender::send_batch(std::span<const wire::ByteSpan> packets,
                                       std::uint32_t ifindex,
                                       const core::LinkLayerAddress& destination) {
  BatchSendResult result;
  sockaddr_ll to = link_destination(ifindex, destination);
  std::array<iovec, RawSocket::kBatchSize> iovs{};
  std::array<mmsghdr, RawSocket::kBatchSize> messages{};
  while (result.sent < packets.size()) {
    const auto pending = packets.subspan(result.sent);
    const std::size_t count = std::min(pending.size(), RawSocket::kBatchSize);
    for (std::size_t i = 0; i < count; ++i) {
      iovs[i] = iovec{const_cast<std::byte*>(pending[i].data()), pending[i].size()};
      messages[i] = mmsghdr{};
      messages[i].msg_hdr.msg_name = &to;
      messages[i].msg_hdr.msg_namelen = sizeof to;
      messages[i].msg_hdr.msg_iov = &iovs[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = ::sendmmsg(fd_.get(), messages.data(), static_cast<unsigned>(count), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.failed = 1;
      result.first_error =
          errno_error("sendmmsg to a link-layer address on ifindex " + std::to_string(ifindex));
      break;
    }
    result.sent += static_cast<std::size_t>(n);
  }
  return result;
}

Status LinkSender::send(wire::ByteSpan packet, std::uint32_t ifindex,
                        const core::LinkLayerAddress& destination) {
  const sockaddr_ll to = link_destination(ifindex, destination);
  const auto sent = ::sendto(fd_.get(), packet.data(), packet.size(), 0,
                             reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (sent < 0)
    return errno_error("send to a link-layer address on ifindex " + std::to_string(ifindex));
  return {};
}

}  // namespace mipv6::linux_dp
