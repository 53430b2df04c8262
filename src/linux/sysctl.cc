#include "linux/sysctl.h"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <string>

#include "linux/unique_fd.h"

namespace mipv6::linux_dp {
namespace {

constexpr std::size_t kMaxValueSize = 4096;

// "net.ipv6.conf.eth0.forwarding" → "/proc/sys/net/ipv6/conf/eth0/forwarding". A key that
// already holds a slash is taken as a path: interface names may contain dots ("eth0.100"),
// which the dotted form cannot express.
std::string path_of(std::string_view key) {
  std::string relative(key);
  if (relative.find('/') == std::string::npos)
    std::replace(relative.begin(), relative.end(), '.', '/');
  while (!relative.empty() && relative.front() == '/')
    relative.erase(relative.begin());
  return "/proc/sys/" + relative;
}

// The interface (or the whole key) is gone: nothing is left to restore.
bool vanished(int code) {
  return code == ENOENT || code == ENODEV;
}

}  // namespace

Status Sysctls::write(std::string_view key, std::string_view value) {
  const std::string path = path_of(key);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  const std::string line = std::string(value) + "\n";
  const ssize_t written = ::write(fd.get(), line.data(), line.size());
  if (written < 0) return errno_error("write " + std::string(value) + " to " + path);
  if (static_cast<std::size_t>(written) != line.size())
    return make_error("write " + std::string(value) + " to " + path + ": short write", EIO);
  return {};
}

Result<std::string> Sysctls::read(std::string_view key) {
  const std::string path = path_of(key);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("open " + path);
  std::string value(kMaxValueSize, '\0');
  const ssize_t length = ::read(fd.get(), value.data(), value.size());
  if (length < 0) return errno_error("read " + path);
  value.resize(static_cast<std::size_t>(length));
  while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
    value.pop_back();
  return value;
}

Status Sysctls::set(std::string_view key, std::string_view value) {
  auto old = read(key);
  if (!old) return old.error();
  if (*old == value) return {};
  if (auto s = write(key, value); !s) return s;
  const bool known = std::any_of(changed_.begin(), changed_.end(),
                                 [&](const auto& entry) { return entry.first == key; });
  if (!known) changed_.emplace_back(std::string(key), std::move(*old));
  return {};
}

Status Sysctls::restore_all() {
  Status first;
  while (!changed_.empty()) {
    auto [key, value] = std::move(changed_.back());
    changed_.pop_back();
    auto s = write(key, value);
    if (!s && !vanished(s.error().code) && first) first = s;
  }
  return first;
}

Sysctls::~Sysctls() {
  (void)restore_all();
}

}  // namespace mipv6::linux_dp
