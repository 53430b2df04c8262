// Helpers shared by the Linux data-plane tests: running a command to look at what the kernel
// holds (`ip -6 route show ...`), writing addresses, waiting for a veth to carry traffic.
#pragma once

#include <gtest/gtest.h>
#include <linux/neighbour.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "linux/netns.h"
#include "linux/route_netlink.h"
#include "linux/unique_fd.h"
#include "wire/address.h"

namespace mipv6::linux_dp::test_util {

// Runs a shell command and returns its standard output.
inline std::string shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  ::pclose(pipe);
  return output;
}

inline wire::Ipv6Address addr(const char* text) {
  return *wire::Ipv6Address::parse(text);
}

// A veth drops what is sent until the kernel's link watcher has made it operational, which
// happens after both ends are up (DESIGN.md §3). Waits up to 3 s in the current namespace.
inline void wait_operational(const char* device) {
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  auto index = netlink->link_index(device);
  ASSERT_TRUE(index);
  for (int i = 0; i < 300; ++i) {
    auto link = netlink->link(*index);
    ASSERT_TRUE(link);
    if (link->operational) return;
    ::usleep(10'000);
  }
  FAIL() << device << " never became operational";
}

// In the current namespace: a datagram to `address` makes the kernel resolve it (RFC 4861
// §7.2); waits up to 2 s for the neighbour entry on `device` to be REACHABLE (a solicited
// advertisement came back).
inline void resolve_neighbor(const char* device, const char* address) {
  UniqueFd udp(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(udp.valid());
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(9);
  const auto target = addr(address);
  std::copy(target.bytes.begin(), target.bytes.end(), to.sin6_addr.s6_addr);
  ASSERT_EQ(::sendto(udp.get(), "x", 1, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to), 1);
  auto netlink = Netlink::open();
  ASSERT_TRUE(netlink);
  const std::uint32_t ifindex = ::if_nametoindex(device);
  for (int i = 0; i < 200; ++i) {
    auto entry = netlink->neighbor(ifindex, target);
    if (entry && *entry && (*entry)->state == NUD_REACHABLE) return;
    ::usleep(10'000);
  }
  FAIL() << "the kernel did not resolve " << address << " on " << device;
}

// Two network namespaces "mipv6t-<pid>-<tag>a" and "...b" joined by a veth pair ("va" in a, "vb"
// in b), each end up with a NODAD address of a /64, lo up, both ends operational. The
// namespaces (and so the veth) go away with the object.
class VethPair {
 public:
  // Call with ASSERT_NO_FATAL_FAILURE(pair.create(...)).
  void create(const std::string& tag, const char* a_address, const char* b_address) {
    const std::string prefix = "mipv6t-" + std::to_string(::getpid()) + "-" + tag;
    auto a = NetworkNamespace::create(prefix + "a");
    ASSERT_TRUE(a) << a.error().message;
    a_.emplace(std::move(*a));
    auto b = NetworkNamespace::create(prefix + "b");
    ASSERT_TRUE(b) << b.error().message;
    b_.emplace(std::move(*b));
    const std::string na = a_->name();
    const std::string nb = b_->name();
    const std::string setup = "ip link add va netns " + na + " type veth peer name vb netns " + nb +
                              " && ip -n " + na + " link set lo up && ip -n " + nb +
                              " link set lo up && ip -n " + na + " link set va up && ip -n " + nb +
                              " link set vb up && ip -n " + na + " addr add " + a_address +
                              "/64 dev va nodad && ip -n " + nb + " addr add " + b_address +
                              "/64 dev vb nodad";
    ASSERT_EQ(std::system(setup.c_str()), 0) << setup;
    for (auto [ns, device] : {std::pair{&*a_, "va"}, std::pair{&*b_, "vb"}}) {
      auto guard = NamespaceGuard::enter(*ns);
      ASSERT_TRUE(guard) << guard.error().message;
      wait_operational(device);
    }
    // A NODAD address gets its local route a moment later (docs/linux-data-plane.md): until
    // then a packet to it is not delivered.
    wait_local_route(*a_, a_address);
    wait_local_route(*b_, b_address);
  }
  ~VethPair() {
    for (auto* ns : {&a_, &b_}) {
      if (*ns) (void)(*ns)->remove();
    }
  }
  const NetworkNamespace& a() const { return *a_; }
  static void wait_local_route(const NetworkNamespace& ns, const std::string& address) {
    for (int i = 0; i < 300; ++i) {
      if (shell("ip -n " + ns.name() + " -6 route show table local")
              .find("local " + address + " ") != std::string::npos)
        return;
      ::usleep(10'000);
    }
    FAIL() << "no local route for " << address << " in " << ns.name();
  }
  const NetworkNamespace& b() const { return *b_; }

 private:
  std::optional<NetworkNamespace> a_;
  std::optional<NetworkNamespace> b_;
};

}  // namespace mipv6::linux_dp::test_util
