// Named network namespaces (the ones `ip netns` lists, bound under /run/netns), for tests and
// lab tooling that must build an isolated network and leave nothing behind: the namespace is
// removed when its NetworkNamespace is destroyed.
#pragma once

#include <string>
#include <string_view>

#include "linux/result.h"
#include "linux/unique_fd.h"

namespace mipv6::linux_dp {

class NetworkNamespace {
 public:
  // Creates a fresh, empty namespace named `name` (fails with EEXIST if one exists already).
  static Result<NetworkNamespace> create(std::string_view name);

  NetworkNamespace(NetworkNamespace&&) noexcept = default;
  NetworkNamespace& operator=(NetworkNamespace&& other) noexcept;
  ~NetworkNamespace();

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  // Unmounts and deletes it now; afterwards the object is empty. Sockets opened inside keep the
  // namespace alive (unnamed) until they are closed.
  Status remove();

 private:
  NetworkNamespace(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}

  std::string name_;
  UniqueFd fd_;
};

// Moves the calling thread into a namespace for its lifetime and back out on destruction.
// Sockets and devices created meanwhile belong to that namespace; so do processes forked.
class NamespaceGuard {
 public:
  static Result<NamespaceGuard> enter(const NetworkNamespace& ns);

  NamespaceGuard(NamespaceGuard&&) noexcept = default;
  NamespaceGuard& operator=(NamespaceGuard&&) = delete;
  ~NamespaceGuard();

 private:
  explicit NamespaceGuard(UniqueFd original) : original_(std::move(original)) {}
  UniqueFd original_;
};

}  // namespace mipv6::linux_dp
