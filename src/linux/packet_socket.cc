#include "linux/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <utility>

namespace mipv6::linux_dp {

Result<LinkSender> LinkSender::open() {
  UniqueFd fd(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket(AF_PACKET)");
  return LinkSender(std::move(fd));
}

Status LinkSender::send(wire::ByteSpan packet, std::uint32_t ifindex,
                        const core::LinkLayerAddress& destination) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_IPV6);
  to.sll_ifindex = static_cast<int>(ifindex);
  to.sll_halen = static_cast<unsigned char>(destination.size());
  std::memcpy(to.sll_addr, destination.data(), destination.size());
  const auto sent = ::sendto(fd_.get(), packet.data(), packet.size(), 0,
                             reinterpret_cast<const sockaddr*>(&to), sizeof to);
  if (sent < 0)
    return errno_error("send to a link-layer address on ifindex " + std::to_string(ifindex));
  return {};
}

}  // namespace mipv6::linux_dp
