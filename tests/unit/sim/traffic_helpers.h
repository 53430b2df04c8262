// Loss accounting for the UDP CBR flows of the engine-host tests: which datagrams a receiver
// never got, as ranges of sequence numbers ("12-19", "25").
#pragma once

#include <string>
#include <vector>

#include "sim/udp_cbr.h"

namespace mipv6::sim::testing {

inline std::vector<std::string> lost_ranges(const std::vector<UdpSent>& sent,
                                            const std::vector<UdpReceived>& received) {
  std::vector<bool> got(sent.size(), false);
  for (const UdpReceived& r : received) {
    if (r.sequence < got.size()) got[r.sequence] = true;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < got.size();) {
    if (got[i]) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j + 1 < got.size() && !got[j + 1])
      ++j;
    out.push_back(i == j ? std::to_string(i) : std::to_string(i) + "-" + std::to_string(j));
    i = j + 1;
  }
  return out;
}

// How many received datagrams took `path`.
inline std::size_t count_path(const std::vector<UdpReceived>& received, PathKind path) {
  std::size_t n = 0;
  for (const UdpReceived& r : received)
    n += r.path == path ? 1 : 0;
  return n;
}

inline std::size_t count_sent_path(const std::vector<UdpSent>& sent,
                                   const std::optional<PathKind>& path) {
  std::size_t n = 0;
  for (const UdpSent& s : sent)
    n += s.path == path ? 1 : 0;
  return n;
}

}  // namespace mipv6::sim::testing
