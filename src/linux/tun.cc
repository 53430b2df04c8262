#include "linux/tun.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mipv6::linux_dp {

Result<TunDevice> TunDevice::create(std::string_view name) {
  if (name.size() >= IFNAMSIZ) return make_error("TUN name " + std::string(name), ENAMETOOLONG);
  UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return errno_error("TUNSETIFF " + std::string(name));
  // A device the daemon creates must not outlive it (issue 8: no trace after exit).
  if (::ioctl(fd.get(), TUNSETPERSIST, 0) < 0) return errno_error("TUNSETPERSIST 0");
  std::string actual(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  unsigned ifindex = ::if_nametoindex(actual.c_str());
  if (ifindex == 0) return errno_error("if_nametoindex " + actual);
  return TunDevice(std::move(fd), std::move(actual), ifindex);
}

Status TunDevice::set_mtu(std::uint32_t mtu) {
  UniqueFd control(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control.valid()) return errno_error("socket for SIOCSIFMTU");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name_.data(), name_.size());
  ifr.ifr_mtu = static_cast<int>(mtu);
  if (::ioctl(control.get(), SIOCSIFMTU, &ifr) < 0)
    return errno_error("SIOCSIFMTU " + std::to_string(mtu) + " on " + name_);
  return {};
}

Result<std::size_t> TunDevice::read(std::span<std::byte> buffer) {
  while (true) {
    ssize_t n = ::read(fd_.get(), buffer.data(), buffer.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return errno_error("read " + name_);
  }
}

Status TunDevice::write(wire::ByteSpan packet) {
  while (true) {
    ssize_t n = ::write(fd_.get(), packet.data(), packet.size());
    if (n >= 0) {
      // The TUN driver takes a packet whole or not at all.
      if (static_cast<std::size_t>(n) != packet.size()) return make_error("write " + name_, EIO);
      return {};
    }
    if (errno != EINTR) return errno_error("write " + name_);
  }
}

}  // namespace mipv6::linux_dp
