// Thin wrappers over OpenSSL's libcrypto for the primitives Mobile IPv6 needs (DESIGN.md §2):
// SHA-1 and HMAC-SHA1 for return routability (RFC 6275 §5.2) and the RFC 4285 authenticator,
// HMAC-SHA256 for ESP (RFC 4868), and a CSPRNG for cookies, nonces and node keys.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace mipv6::crypto {

using ByteSpan = std::span<const std::byte>;
using Sha1Digest = std::array<std::byte, 20>;
using Sha256Digest = std::array<std::byte, 32>;

Sha1Digest sha1(ByteSpan data);
// SHA-1 over the concatenation of several pieces, without copying them together.
Sha1Digest sha1(std::initializer_list<ByteSpan> pieces);

Sha1Digest hmac_sha1(ByteSpan key, ByteSpan data);
Sha1Digest hmac_sha1(ByteSpan key, std::initializer_list<ByteSpan> pieces);
Sha256Digest hmac_sha256(ByteSpan key, ByteSpan data);

// Fills `out` from the operating system's CSPRNG (OpenSSL RAND_bytes). Returns false if the
// generator failed — callers must not fall back to weak randomness.
[[nodiscard]] bool random_bytes(std::span<std::byte> out);

// Constant-time comparison, for authenticators.
bool equal_constant_time(ByteSpan a, ByteSpan b);

}  // namespace mipv6::crypto
