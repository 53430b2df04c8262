// libFuzzer target: the ICMPv6 / Neighbor Discovery decoder (src/wire/icmpv6.h). A message that
// decodes must re-encode to exactly the bytes it came from.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/icmpv6.h"

using namespace mipv6::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan message(reinterpret_cast<const std::byte*>(data), size);
  auto decoded = decode_icmpv6(message);
  if (!decoded) {
    if (decoded.error().offset > size) std::abort();
    return 0;
  }
  Bytes out;
  encode_icmpv6(*decoded, out);
  if (out.size() != size || !std::equal(out.begin(), out.end(), message.begin())) std::abort();
  return 0;
}
