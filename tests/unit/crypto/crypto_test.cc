#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "wire/hex.h"

namespace mipv6::crypto {
namespace {

using wire::Bytes;

std::span<const std::byte> text(const std::string& s) {
  return std::as_bytes(std::span(s));
}
template <std::size_t N>
std::string hex(const std::array<std::byte, N>& d) {
  return wire::to_hex(d);
}

TEST(Crypto, Sha1KnownAnswer_FIPS180) {
  EXPECT_EQ(hex(sha1(text("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1({text("a"), text("bc")})), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Crypto, HmacSha1KnownAnswers_RFC2202) {
  std::string key1(20, '\x0b');
  EXPECT_EQ(hex(hmac_sha1(text(key1), text("Hi There"))),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hex(hmac_sha1(text("Jefe"), text("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex(hmac_sha1(text("Jefe"), {text("what do ya "), text("want for nothing?")})),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST(Crypto, HmacSha256KnownAnswer_RFC4231) {
  std::string key(20, '\x0b');
  EXPECT_EQ(hex(hmac_sha256(text(key), text("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Crypto, RandomBytesAreFilledAndDiffer) {
  std::array<std::byte, 32> a{}, b{};
  ASSERT_TRUE(random_bytes(a));
  ASSERT_TRUE(random_bytes(b));
  EXPECT_NE(a, b);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(equal_constant_time(text("abc"), text("abc")));
  EXPECT_FALSE(equal_constant_time(text("abc"), text("abd")));
  EXPECT_FALSE(equal_constant_time(text("abc"), text("ab")));
}

Bytes unhex(std::string_view text) {
  return *wire::from_hex(text);
}

// NIST GCM specification (McGrew & Viega), Test Case 4: AES-128, 60-octet plaintext, 20-octet AAD.
TEST(Crypto, AesGcmKnownAnswer_GcmSpecTestCase4) {
  Bytes key = unhex("feffe9928665731c6d6a8f9467308308");
  Bytes nonce = unhex("cafebabefacedbaddecaf888");
  Bytes aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  Bytes plaintext = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  Bytes ciphertext(plaintext.size());
  std::array<std::byte, kAesGcmTagSize> tag{};
  ASSERT_TRUE(aes_gcm_seal(key, nonce, aad, plaintext, ciphertext, tag));
  EXPECT_EQ(wire::to_hex(ciphertext),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f"
            "6a5aac84aa051ba30b396a0aac973d58e091");
  EXPECT_EQ(hex(tag), "5bc94fbc3221a5db94fae95ae7121a47");

  Bytes opened(ciphertext.size());
  ASSERT_TRUE(aes_gcm_open(key, nonce, aad, ciphertext, tag, opened));
  EXPECT_EQ(opened, plaintext);
}

TEST(Crypto, AesGcmOpenRejectsAnyChange) {
  Bytes key(32, std::byte{7});
  Bytes nonce(kAesGcmNonceSize, std::byte{1});
  Bytes aad = unhex("0000010000000001");
  Bytes plaintext = unhex("0102030405060708090a");
  Bytes ciphertext(plaintext.size());
  std::array<std::byte, kAesGcmTagSize> tag{};
  ASSERT_TRUE(aes_gcm_seal(key, nonce, aad, plaintext, ciphertext, tag));
  Bytes out(ciphertext.size());
  ASSERT_TRUE(aes_gcm_open(key, nonce, aad, ciphertext, tag, out));

  Bytes bad_ciphertext = ciphertext;
  bad_ciphertext[3] ^= std::byte{0x01};
  EXPECT_FALSE(aes_gcm_open(key, nonce, aad, bad_ciphertext, tag, out));
  Bytes bad_aad = aad;
  bad_aad[7] ^= std::byte{0x80};
  EXPECT_FALSE(aes_gcm_open(key, nonce, bad_aad, ciphertext, tag, out));
  auto bad_tag = tag;
  bad_tag[15] ^= std::byte{0x01};
  EXPECT_FALSE(aes_gcm_open(key, nonce, aad, ciphertext, bad_tag, out));
  Bytes bad_key = key;
  bad_key[0] ^= std::byte{0x01};
  EXPECT_FALSE(aes_gcm_open(bad_key, nonce, aad, ciphertext, tag, out));
}

TEST(Crypto, AesGcmRejectsWrongSizes) {
  Bytes plaintext(4), ciphertext(4);
  std::array<std::byte, kAesGcmTagSize> tag{};
  Bytes nonce(kAesGcmNonceSize);
  EXPECT_FALSE(aes_gcm_seal(Bytes(20), nonce, {}, plaintext, ciphertext, tag));  // key size
  EXPECT_FALSE(aes_gcm_seal(Bytes(16), Bytes(8), {}, plaintext, ciphertext, tag));
  Bytes short_out(3);
  EXPECT_FALSE(aes_gcm_seal(Bytes(16), nonce, {}, plaintext, short_out, tag));
  EXPECT_FALSE(aes_gcm_open(Bytes(16), nonce, {}, ciphertext, Bytes(12), plaintext));
}

// RFC 3602 §4, Case #1: AES-128-CBC, one block.
TEST(Crypto, AesCbcKnownAnswer_RFC3602_4_Case1) {
  Bytes key = unhex("06a9214036b8a15b512e03d534120006");
  Bytes iv = unhex("3dafba429d9eb430b422da802c9fac41");
  std::string plaintext = "Single block msg";
  Bytes ciphertext(16);
  ASSERT_TRUE(cbc_encrypt(CbcCipher::kAes, key, iv, text(plaintext), ciphertext));
  EXPECT_EQ(wire::to_hex(ciphertext), "e353779c1079aeb82708942dbe77181a");
  Bytes decrypted(16);
  ASSERT_TRUE(cbc_decrypt(CbcCipher::kAes, key, iv, ciphertext, decrypted));
  EXPECT_EQ(decrypted, Bytes(text(plaintext).begin(), text(plaintext).end()));
}

// NIST SP 800-67 Rev. 2 example (TDEA ECB, first block): with an all-zero IV, CBC's first block
// is the ECB block.
TEST(Crypto, TripleDesKnownAnswer_SP800_67) {
  Bytes key = unhex("0123456789abcdef 23456789abcdef01 456789abcdef0123");
  Bytes iv(8);
  std::string plaintext = "The qufc";
  Bytes ciphertext(8);
  ASSERT_TRUE(cbc_encrypt(CbcCipher::kTripleDes, key, iv, text(plaintext), ciphertext));
  EXPECT_EQ(wire::to_hex(ciphertext), "a826fd8ce53b855f");
}

TEST(Crypto, CbcRoundTripInPlaceAndChaining) {
  for (CbcCipher cipher : {CbcCipher::kAes, CbcCipher::kTripleDes}) {
    auto block = static_cast<std::ptrdiff_t>(cbc_block_size(cipher));
    Bytes key(cipher == CbcCipher::kAes ? 32 : 24);
    ASSERT_TRUE(random_bytes(key));
    Bytes iv(cbc_block_size(cipher));
    ASSERT_TRUE(random_bytes(iv));
    Bytes plaintext(cbc_block_size(cipher) * 3,
                    std::byte{0x5a});  // equal blocks encrypt differently in CBC
    Bytes buffer = plaintext;
    ASSERT_TRUE(cbc_encrypt(cipher, key, iv, buffer, buffer));
    EXPECT_NE(Bytes(buffer.begin(), buffer.begin() + block),
              Bytes(buffer.begin() + block, buffer.begin() + 2 * block));
    ASSERT_TRUE(cbc_decrypt(cipher, key, iv, buffer, buffer));
    EXPECT_EQ(buffer, plaintext);
  }
}

TEST(Crypto, CbcRejectsPartialBlocksAndWrongSizes) {
  Bytes out(15);
  EXPECT_FALSE(cbc_encrypt(CbcCipher::kAes, Bytes(16), Bytes(16), Bytes(15), out));
  Bytes block(16);
  EXPECT_FALSE(cbc_encrypt(CbcCipher::kAes, Bytes(17), Bytes(16), Bytes(16), block));
  EXPECT_FALSE(cbc_encrypt(CbcCipher::kAes, Bytes(16), Bytes(8), Bytes(16), block));
  EXPECT_FALSE(cbc_decrypt(CbcCipher::kTripleDes, Bytes(16), Bytes(8), Bytes(8), block));
  Bytes long_out(16);
  EXPECT_FALSE(cbc_decrypt(CbcCipher::kTripleDes, Bytes(24), Bytes(8), Bytes(8), long_out));
}

}  // namespace
}  // namespace mipv6::crypto
