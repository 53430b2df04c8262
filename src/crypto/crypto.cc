#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

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

bool equal_constant_time(ByteSpan a, ByteSpan b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mipv6::crypto
