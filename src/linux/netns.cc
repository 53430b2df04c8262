#include "linux/netns.h"

#include <cerrno>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mipv6::linux_dp {

namespace {

constexpr const char* kNamespaceDirectory = "/run/netns";

std::string path_of(std::string_view name) {
  return std::string(kNamespaceDirectory) + "/" + std::string(name);
}

// unshare() moves only the calling thread; doing it on a short-lived thread leaves the caller
// where it was. The new namespace is pinned by a bind mount, as `ip netns add` does.
int create_pinned_namespace(const std::string& path) {
  int result = 0;
  std::thread worker([&] {
    if (::unshare(CLONE_NEWNET) < 0) {
      result = errno;
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) < 0)
      result = errno;
  });
  worker.join();
  return result;
}

}  // namespace

Result<NetworkNamespace> NetworkNamespace::create(std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos)
    return make_error("network namespace name '" + std::string(name) + "'", EINVAL);
  if (::mkdir(kNamespaceDirectory, 0755) < 0 && errno != EEXIST)
    return errno_error(std::string("mkdir ") + kNamespaceDirectory);
  std::string path = path_of(name);
  {
    UniqueFd placeholder(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!placeholder.valid()) return errno_error("create " + path);
  }
  if (int rc = create_pinned_namespace(path); rc != 0) {
    ::unlink(path.c_str());
    return make_error("new network namespace " + path, rc);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    Error e = errno_error("open " + path);
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    return e;
  }
  return NetworkNamespace(std::string(name), std::move(fd));
}

NetworkNamespace& NetworkNamespace::operator=(NetworkNamespace&& other) noexcept {
  if (this != &other) {
    (void)remove();
    name_ = std::move(other.name_);
    fd_ = std::move(other.fd_);
    other.name_.clear();
  }
  return *this;
}

NetworkNamespace::~NetworkNamespace() {
  (void)remove();
}

Status NetworkNamespace::remove() {
  if (name_.empty()) return {};
  fd_.reset();
  std::string path = path_of(name_);
  name_.clear();
  Status result;
  if (::umount2(path.c_str(), MNT_DETACH) < 0) result = errno_error("umount " + path);
  if (::unlink(path.c_str()) < 0 && result) result = errno_error("unlink " + path);
  return result;
}

Result<NamespaceGuard> NamespaceGuard::enter(const NetworkNamespace& ns) {
  UniqueFd original(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!original.valid()) return errno_error("open /proc/thread-self/ns/net");
  if (::setns(ns.fd(), CLONE_NEWNET) < 0) return errno_error("setns " + ns.name());
  return NamespaceGuard(std::move(original));
}

NamespaceGuard::~NamespaceGuard() {
  // Going back cannot reasonably fail (the original namespace is held open by original_).
  if (original_.valid()) ::setns(original_.get(), CLONE_NEWNET);
}

}  // namespace mipv6::linux_dp
