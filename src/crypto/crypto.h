// Thin wrappers over OpenSSL's libcrypto for the primitives Mobile IPv6 needs (DESIGN.md §2):
// SHA-1 and HMAC-SHA1 for return routability (RFC 6275 §5.2) and the RFC 4285 authenticator,
// HMAC-SHA256 for ESP (RFC 4868), the ESP ciphers (AES-GCM, AES-CBC, 3DES-CBC), and a CSPRNG for
// cookies, nonces, node keys and CBC IVs.
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

// ---- Ciphers for ESP (src/ipsec). All return false when OpenSSL refuses (wrong key, nonce or
// IV size, output of the wrong size, allocation failure); callers treat that as a failure. In and
// out may be the same buffer (exactly overlapping), never partly overlapping.

inline constexpr std::size_t kAesGcmNonceSize = 12;  // salt (4) | explicit IV (8), RFC 4106 §4
inline constexpr std::size_t kAesGcmTagSize = 16;    // the only ICV size we use (RFC 4106 §8)

// AES-GCM (NIST SP 800-38D) with a 16/24/32-octet key and a 12-octet nonce: `ciphertext` must
// be as long as `plaintext`, `tag` 16 octets.
[[nodiscard]] bool aes_gcm_seal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                                std::span<std::byte> ciphertext, std::span<std::byte> tag);
// Returns false also when the tag does not verify (then `plaintext` must not be used).
[[nodiscard]] bool aes_gcm_open(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext,
                                ByteSpan tag, std::span<std::byte> plaintext);

// CBC without padding (ESP pads itself, RFC 4303 §2.4): the input must be a multiple of the
// block size and the output as long as the input.
enum class CbcCipher : std::uint8_t {
  kAes,        // key 16/24/32, block and IV 16 (RFC 3602)
  kTripleDes,  // key 24 (three DES keys), block and IV 8 (RFC 2451)
};
std::size_t cbc_block_size(CbcCipher cipher);
[[nodiscard]] bool cbc_encrypt(CbcCipher cipher, ByteSpan key, ByteSpan iv, ByteSpan plaintext,
                               std::span<std::byte> ciphertext);
[[nodiscard]] bool cbc_decrypt(CbcCipher cipher, ByteSpan key, ByteSpan iv, ByteSpan ciphertext,
                               std::span<std::byte> plaintext);

// Constant-time comparison, for authenticators.
bool equal_constant_time(ByteSpan a, ByteSpan b);

}  // namespace mipv6::crypto
