// Helpers shared by the Linux data-plane tests: running a command to look at what the kernel
// holds (`ip -6 route show ...`), writing addresses, waiting for a veth to carry traffic.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "linux/route_netlink.h"
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

}  // namespace mipv6::linux_dp::test_util
