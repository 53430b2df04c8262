#include "wire/expected.h"

namespace mipv6::wire {

std::string_view to_string(WireErrc code) {
  switch (code) {
    case WireErrc::kTruncated:
      return "truncated";
    case WireErrc::kBadLength:
      return "bad_length";
    case WireErrc::kBadValue:
      return "bad_value";
    case WireErrc::kMisalignedOption:
      return "misaligned_option";
    case WireErrc::kOptionNotLast:
      return "option_not_last";
    case WireErrc::kBadChecksum:
      return "bad_checksum";
    case WireErrc::kChainTooLong:
      return "chain_too_long";
    case WireErrc::kBadOrder:
      return "bad_order";
    case WireErrc::kUnsupported:
      return "unsupported";
    case WireErrc::kTrailingBytes:
      return "trailing_bytes";
  }
  return "unknown";
}

}  // namespace mipv6::wire
