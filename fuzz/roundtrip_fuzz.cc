// libFuzzer target: the whole inspection path, decode -> JSON -> encode -> decode. A packet that
// decodes without error must encode back to the same bytes (up to the end given by its Payload
// Length) and decode to the same JSON; JSON never makes the encoder crash.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "json_codec.h"

using namespace mipv6;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wire::ByteSpan packet(reinterpret_cast<const std::byte*>(data), size);
  auto j = pcap_json::packet_to_json(packet);
  if (j.contains("error") || size < 40) return 0;
  wire::Bytes rebuilt;
  try {
    rebuilt = pcap_json::packet_from_json(j);
  } catch (const pcap_json::JsonError&) {
    std::abort();  // what we printed, we must be able to read back
  }
  std::size_t length = 40 + (std::size_t{data[4]} << 8 | data[5]);
  if (rebuilt.size() != length || !std::equal(rebuilt.begin(), rebuilt.end(), packet.begin()))
    std::abort();
  if (pcap_json::packet_to_json(rebuilt) != j) std::abort();
  return 0;
}
