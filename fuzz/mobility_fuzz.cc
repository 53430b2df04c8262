// libFuzzer target: the Mobility Header decoder (src/wire/mobility.h). A message that decodes
// must re-encode to exactly the bytes it came from (decode -> encode verbatim), and the
// authenticator helpers must stay inside the message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/mobility.h"

using namespace mipv6::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteSpan mh(reinterpret_cast<const std::byte*>(data), size);
  PartialMobilityHeader partial;
  (void)decode_mobility_header_partial(mh, partial);
  (void)decode_mobility_header(mh, MhDecodeOptions{false});
  auto decoded = decode_mobility_header(mh);
  if (!decoded) {
    if (decoded.error().offset > size) std::abort();
    return 0;
  }
  Bytes out;
  if (!encode_mobility_header(*decoded, out, MhEncodeOptions::verbatim())) std::abort();
  // The MH is (Header Len + 1) * 8 octets; anything after it is not part of the message.
  std::size_t length = (std::size_t{decoded->header_len} + 1) * 8;
  if (out.size() != length || !std::equal(out.begin(), out.end(), mh.begin())) std::abort();
  auto input = authenticator_input(mh);
  if (input && input->size() > size) std::abort();
  return 0;
}
