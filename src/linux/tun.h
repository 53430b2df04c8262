// A TUN device (IFF_TUN | IFF_NO_PI): whole IPv6 packets in and out of the kernel's routing, the
// data plane's way to catch what policy routes send to a home address (DESIGN.md §3). Not
// persistent: the device disappears when the descriptor is closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "linux/result.h"
#include "linux/unique_fd.h"
#include "wire/bytes.h"

namespace mipv6::linux_dp {

class TunDevice {
 public:
  // `name` may be empty (the kernel picks tunN) or hold a %d pattern ("mip%d").
  static Result<TunDevice> create(std::string_view name = {});

  int fd() const { return fd_.get(); }
  const std::string& name() const { return name_; }
  std::uint32_t ifindex() const { return ifindex_; }

  Status set_mtu(std::uint32_t mtu);
  // One packet into `buffer`; the packet's length. EAGAIN when none is queued (nonblocking).
  Result<std::size_t> read(std::span<std::byte> buffer);
  // One whole packet, as if it had arrived on the device.
  Status write(wire::ByteSpan packet);

 private:
  TunDevice(UniqueFd fd, std::string name, std::uint32_t ifindex)
      : fd_(std::move(fd)), name_(std::move(name)), ifindex_(ifindex) {}

  UniqueFd fd_;
  std::string name_;
  std::uint32_t ifindex_ = 0;
};

}  // namespace mipv6::linux_dp
