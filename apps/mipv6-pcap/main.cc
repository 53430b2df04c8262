// Placeholder main until the packet layer lands (issue 2).
#include <cstdio>

int main() {
  std::fprintf(stderr, "mipv6-pcap: not built yet\n");
  return 2;
}
