// libFuzzer target: the extension-header chain walker (src/wire/chain.h) and what is built on
// its layout — pseudo-header selection, checksum verification, decapsulation. Any crash,
// sanitizer report or broken invariant is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/chain.h"
#include "wire/packet.h"

using namespace mipv6::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan packet(reinterpret_cast<const std::byte*>(data), size);
  PacketLayout layout;
  auto status = walk_chain_into(packet, layout);
  if (!status) {
    // Errors point inside the packet (or just past its end, for truncation).
    if (status.error().offset > size) std::abort();
    return 0;
  }
  // Invariants of a successful walk: everything located lies inside the packet.
  if (layout.upper_offset + layout.upper_length > size) std::abort();
  for (std::size_t i = 0; i < layout.header_count; ++i) {
    if (layout.headers[i].offset + layout.headers[i].length > size) std::abort();
  }
  (void)pseudo_header_addresses(layout);
  (void)verify_upper_checksum(packet, layout);
  if (layout.upper_protocol == ip_proto::kIpv6) (void)decapsulate(packet);
  return 0;
}
