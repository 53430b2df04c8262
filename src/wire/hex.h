// Hex text <-> bytes, for test vectors, JSON and logs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wire/bytes.h"

namespace mipv6::wire {

// Lower-case hex, no separators.
std::string to_hex(ByteSpan data);
// Accepts upper or lower case; ignores spaces, newlines, ':' and '#'-to-end-of-line comments.
std::optional<Bytes> from_hex(std::string_view text);

}  // namespace mipv6::wire
