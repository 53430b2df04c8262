#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>

namespace mipv6::crypto {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

template <std::size_t N>
std::array<std::byte, N> digest(const EVP_MD* md, std::initializer_list<ByteSpan> pieces) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  std::array<std::byte, N> out{};
  unsigned int length = 0;
  // These calls only fail on allocation failure or a broken library build; the result would be
  // a zero digest, which no peer would accept, so authentication fails closed.
  if (ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1) {
    for (auto piece : pieces)
      EVP_DigestUpdate(ctx.get(), piece.data(), piece.size());
    EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length);
  }
  return out;
}

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

template <std::size_t N>
std::array<std::byte, N> hmac(const char* digest_name, ByteSpan key,
                              std::initializer_list<ByteSpan> pieces) {
  std::array<std::byte, N> out{};
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return out;
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac.get()));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest_name), 0),
      OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()),
                           key.size(), params) != 1) {
    return out;
  }
  for (auto piece : pieces)
    EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(piece.data()), piece.size());
  std::size_t length = 0;
  EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, out.size());
  return out;
}

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* in_ptr(ByteSpan s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* out_ptr(std::span<std::byte> s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

const EVP_CIPHER* aes_gcm_cipher(std::size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    case 32:
      return EVP_aes_256_gcm();
    default:
      return nullptr;
  }
}

const EVP_CIPHER* cbc_cipher(CbcCipher cipher, std::size_t key_size) {
  if (cipher == CbcCipher::kTripleDes) return key_size == 24 ? EVP_des_ede3_cbc() : nullptr;
  switch (key_size) {
    case 16:
      return EVP_aes_128_cbc();
    case 24:
      return EVP_aes_192_cbc();
    case 32:
      return EVP_aes_256_cbc();
    default:
      return nullptr;
  }
}

// Runs one EVP_CipherUpdate over the whole input; `in.size()` must fit an int.
bool cipher_update(EVP_CIPHER_CTX* ctx, ByteSpan in, std::span<std::byte> out) {
  if (in.size() > static_cast<std::size_t>(INT_MAX) || out.size() != in.size()) return false;
  int length = 0;
  if (in.empty()) return true;
  return EVP_CipherUpdate(ctx, out_ptr(out), &length, in_ptr(in), static_cast<int>(in.size())) ==
             1 &&
         static_cast<std::size_t>(length) == in.size();
}

bool aes_gcm(bool encrypt, ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan in,
             std::span<std::byte> out, std::span<std::byte> tag) {
  const EVP_CIPHER* cipher = aes_gcm_cipher(key.size());
  if (cipher == nullptr || nonce.size() != kAesGcmNonceSize || tag.size() != kAesGcmTagSize ||
      aad.size() > static_cast<std::size_t>(INT_MAX)) {
    return false;
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  const int enc = encrypt ? 1 : 0;
  if (!ctx || EVP_CipherInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, in_ptr(key), in_ptr(nonce), enc) != 1) {
    return false;
  }
  int length = 0;
  if (!aad.empty() && EVP_CipherUpdate(ctx.get(), nullptr, &length, in_ptr(aad),
                                       static_cast<int>(aad.size())) != 1) {
    return false;
  }
  if (!cipher_update(ctx.get(), in, out)) return false;
  // Decryption: the expected tag goes in before the final call, which checks it.
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                                      tag.data()) != 1) {
    return false;
  }
  unsigned char final_block[16];
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &length) != 1 || length != 0) return false;
  return !encrypt || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG,
                                         static_cast<int>(tag.size()), tag.data()) == 1;
}

bool cbc(bool encrypt, CbcCipher cipher_kind, ByteSpan key, ByteSpan iv, ByteSpan in,
         std::span<std::byte> out) {
  const EVP_CIPHER* cipher = cbc_cipher(cipher_kind, key.size());
  const std::size_t block = cbc_block_size(cipher_kind);
  if (cipher == nullptr || iv.size() != block || in.size() % block != 0) return false;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, in_ptr(key), in_ptr(iv), encrypt ? 1 : 0) !=
          1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1) {
    return false;
  }
  if (!cipher_update(ctx.get(), in, out)) return false;
  unsigned char final_block[16];
  int length = 0;
  return EVP_CipherFinal_ex(ctx.get(), final_block, &length) == 1 && length == 0;
}

}  // namespace

Sha1Digest sha1(ByteSpan data) {
  return digest<20>(EVP_sha1(), {data});
}
Sha1Digest sha1(std::initializer_list<ByteSpan> pieces) {
  return digest<20>(EVP_sha1(), pieces);
}

Sha1Digest hmac_sha1(ByteSpan key, ByteSpan data) {
  return hmac<20>("SHA1", key, {data});
}
Sha1Digest hmac_sha1(ByteSpan key, std::initializer_list<ByteSpan> pieces) {
  return hmac<20>("SHA1", key, pieces);
}
Sha256Digest hmac_sha256(ByteSpan key, ByteSpan data) {
  return hmac<32>("SHA256", key, {data});
}

bool random_bytes(std::span<std::byte> out) {
  return RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) ==
         1;
}

bool aes_gcm_seal(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan plaintext,
                  std::span<std::byte> ciphertext, std::span<std::byte> tag) {
  return aes_gcm(true, key, nonce, aad, plaintext, ciphertext, tag);
}

bool aes_gcm_open(ByteSpan key, ByteSpan nonce, ByteSpan aad, ByteSpan ciphertext, ByteSpan tag,
                  std::span<std::byte> plaintext) {
  // OpenSSL wants a writable tag buffer for EVP_CTRL_GCM_SET_TAG; it only reads it.
  std::array<std::byte, kAesGcmTagSize> expected{};
  if (tag.size() != expected.size()) return false;
  std::copy(tag.begin(), tag.end(), expected.begin());
  return aes_gcm(false, key, nonce, aad, ciphertext, plaintext, expected);
}

std::size_t cbc_block_size(CbcCipher cipher) {
  return cipher == CbcCipher::kAes ? 16 : 8;
}

bool cbc_encrypt(CbcCipher cipher, ByteSpan key, ByteSpan iv, ByteSpan plaintext,
                 std::span<std::byte> ciphertext) {
  return cbc(true, cipher, key, iv, plaintext, ciphertext);
}

bool cbc_decrypt(CbcCipher cipher, ByteSpan key, ByteSpan iv, ByteSpan ciphertext,
                 std::span<std::byte> plaintext) {
  return cbc(false, cipher, key, iv, ciphertext, plaintext);
}

bool equal_constant_time(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mipv6::crypto
