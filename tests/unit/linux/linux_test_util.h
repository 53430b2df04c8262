// Helpers shared by the Linux data-plane tests: running a command to look at what the kernel
// holds (`ip -6 route show ...`), and writing addresses in tests.
#pragma once

#include <cstdio>
#include <string>

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

}  // namespace mipv6::linux_dp::test_util
