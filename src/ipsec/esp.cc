#include "ipsec/esp.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <limits>
#include <span>
#include <utility>

#include "crypto/crypto.h"
#include "wire/chain.h"
#include "wire/ipv6.h"

namespace mipv6::ipsec {
namespace {

constexpr std::size_t kGcmSaltSize = 4;  // RFC 4106 §8.1
constexpr std::size_t kGcmIvSize = 8;    // RFC 4106 §3.1
constexpr std::size_t kMaxReplayWindow = 1024;
constexpr std::size_t kTrailerSize = 2;  // Pad Length + Next Header (RFC 4303 §2)
constexpr std::size_t kMaxPayloadLength = 0xFFFF;

// What each suite puts on the wire.
struct SuiteShape {
  std::size_t iv_size;
  std::size_t icv_size;
  // RFC 4303 §2.4: payload | padding | Pad Length | Next Header fills a multiple of this (the
  // cipher's block size, at least 4 so that the ICV stays 4-octet aligned).
  std::size_t alignment;
};

SuiteShape shape_of(EspSuite suite) {
  switch (suite) {
    case EspSuite::kAesGcm16:
      return {kGcmIvSize, crypto::kAesGcmTagSize, 4};
    case EspSuite::kAesCbcHmacSha256:
      return {16, 16, 16};  // RFC 3602 §3, RFC 4868 §2.3
    case EspSuite::kTripleDesCbcHmacSha1:
      return {8, 12, 8};  // RFC 2451 §2.3, RFC 2404 §2
  }
  return {0, 0, 4};
}

bool uses_gcm(EspSuite suite) {
  return suite == EspSuite::kAesGcm16;
}

crypto::CbcCipher cbc_cipher_of(EspSuite suite) {
  return suite == EspSuite::kTripleDesCbcHmacSha1 ? crypto::CbcCipher::kTripleDes
                                                  : crypto::CbcCipher::kAes;
}

using wire::store_be32;

// The keys of one SA, split the way the suite needs them.
struct Keys {
  EspSuite suite = EspSuite::kAesGcm16;
  Bytes cipher_key;  // without the GCM salt
  Bytes salt;        // GCM only
  Bytes auth_key;    // CBC suites only

  explicit Keys(const EspParameters& p) : suite(p.suite), auth_key(p.authentication_key) {
    std::size_t key_size = p.encryption_key.size();
    if (uses_gcm(p.suite) && key_size >= kGcmSaltSize) key_size -= kGcmSaltSize;
    const auto split = p.encryption_key.begin() + static_cast<std::ptrdiff_t>(key_size);
    cipher_key.assign(p.encryption_key.begin(), split);
    salt.assign(split, p.encryption_key.end());
  }

  // RFC 4106 §4: nonce = salt | explicit IV.
  std::array<std::byte, crypto::kAesGcmNonceSize> gcm_nonce(ByteSpan iv) const {
    std::array<std::byte, crypto::kAesGcmNonceSize> nonce{};
    std::copy(salt.begin(), salt.end(), nonce.begin());
    std::copy(iv.begin(), iv.end(), nonce.begin() + kGcmSaltSize);
    return nonce;
  }

  // RFC 4868 §2.3 / RFC 2404 §2: the ICV is the HMAC over SPI .. end of ciphertext, truncated.
  Bytes hmac_icv(ByteSpan authenticated, std::size_t icv_size) const {
    if (suite == EspSuite::kAesCbcHmacSha256) {
      auto full = crypto::hmac_sha256(auth_key, authenticated);
      return Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(icv_size));
    }
    auto full = crypto::hmac_sha1(auth_key, authenticated);
    return Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(icv_size));
  }
};

// RFC 4303 §3.4.3 anti-replay window: a bitmap of the last `size` sequence numbers, stored
// circularly (sequence s at bit s mod size), with `highest` as its right edge.
class ReplayWindow {
 public:
  explicit ReplayWindow(std::uint32_t size) : size_(size) {}

  std::optional<EspError> check(std::uint32_t sequence) const {
    // RFC 4303 §3.3.3: the first packet carries 1, so 0 is never a sequence number a sender
    // uses — refused even with the window off.
    if (sequence == 0) return EspError::kTooOld;
    if (size_ == 0 || sequence > highest_) return std::nullopt;
    if (highest_ - sequence >= size_) return EspError::kTooOld;
    if (seen_[sequence % size_]) return EspError::kReplayed;
    return std::nullopt;
  }

  // Only after the ICV verified (RFC 4303 §3.4.3), and after check() passed.
  void accept(std::uint32_t sequence) {
    if (size_ == 0) {
      highest_ = std::max(highest_, sequence);
      return;
    }
    if (sequence > highest_) {
      std::uint32_t shift = sequence - highest_;
      if (shift >= size_) {
        seen_.reset();
      } else {
        // The bits of the sequence numbers that leave the window become the new ones'.
        for (std::uint32_t s = highest_ + 1; s != sequence; ++s)
          seen_[s % size_] = false;
      }
      highest_ = sequence;
    }
    seen_[sequence % size_] = true;
  }

  std::uint32_t highest() const { return highest_; }

 private:
  std::uint32_t size_;
  std::uint32_t highest_ = 0;
  std::bitset<kMaxReplayWindow> seen_;
};

std::optional<std::size_t> payload_end(ByteSpan packet) {
  auto header = wire::decode_ipv6_header(packet);
  if (!header) return std::nullopt;
  return wire::kIpv6HeaderSize + header->payload_length;
}

void set_payload_length(Bytes& packet) {
  wire::store_be16(&packet[4], static_cast<std::uint16_t>(packet.size() - wire::kIpv6HeaderSize));
}

}  // namespace

std::optional<EspSuite> parse_suite(std::string_view name) {
  for (EspSuite suite :
       {EspSuite::kAesGcm16, EspSuite::kAesCbcHmacSha256, EspSuite::kTripleDesCbcHmacSha1}) {
    if (to_string(suite) == name) return suite;
  }
  return std::nullopt;
}

std::string_view to_string(EspSuite suite) {
  switch (suite) {
    case EspSuite::kAesGcm16:
      return "aes-gcm-16";
    case EspSuite::kAesCbcHmacSha256:
      return "aes-cbc-hmac-sha256";
    case EspSuite::kTripleDesCbcHmacSha1:
      return "3des-cbc-hmac-sha1";
  }
  return "unknown";
}

std::string_view to_string(EspError error) {
  switch (error) {
    case EspError::kTruncated:
      return "truncated";
    case EspError::kWrongSpi:
      return "wrong SPI";
    case EspError::kAuthenticationFailed:
      return "authentication failed";
    case EspError::kReplayed:
      return "replayed";
    case EspError::kTooOld:
      return "too old";
    case EspError::kBadPadding:
      return "bad padding";
    case EspError::kSequenceExhausted:
      return "sequence number exhausted";
    case EspError::kCryptoFailure:
      return "crypto failure";
    case EspError::kMalformedPacket:
      return "malformed packet";
  }
  return "unknown";
}

std::optional<std::string> check_parameters(const EspParameters& p) {
  // RFC 4303 §2.1: 1-255 reserved by IANA, 0 for local use.
  if (p.spi < kMinimumSpi) return "SPI must be at least 256 (RFC 4303 §2.1)";
  if (p.replay_window > kMaxReplayWindow) return "replay window must be at most 1024 packets";
  const std::size_t enc = p.encryption_key.size();
  const std::size_t auth = p.authentication_key.size();
  switch (p.suite) {
    case EspSuite::kAesGcm16:
      if (enc != 20 && enc != 28 && enc != 36) {
        return "encryption key must be 20, 28 or 36 octets for aes-gcm-16 (key + 4-octet salt)";
      }
      if (auth != 0) return "aes-gcm-16 takes no authentication key (RFC 4106 §8.1)";
      return std::nullopt;
    case EspSuite::kAesCbcHmacSha256:
      if (enc != 16 && enc != 24 && enc != 32) {
        return "encryption key must be 16, 24 or 32 octets for aes-cbc (RFC 3602)";
      }
      if (auth != 32) return "authentication key must be 32 octets for hmac-sha256 (RFC 4868)";
      return std::nullopt;
    case EspSuite::kTripleDesCbcHmacSha1:
      if (enc != 24) return "encryption key must be 24 octets for 3des-cbc (RFC 2451)";
      if (auth != 20) return "authentication key must be 20 octets for hmac-sha1 (RFC 2404)";
      return std::nullopt;
  }
  return "unknown suite";
}

std::optional<std::uint32_t> peek_spi(ByteSpan esp) {
  if (esp.size() < kEspHeaderSize) return std::nullopt;
  return wire::load_be32(esp.data());
}

// ---- EspSender ----

struct EspSender::State {
  std::uint32_t spi;
  bool valid;
  Keys keys;
  SuiteShape shape;
  std::uint32_t next_sequence;  // 0 once exhausted

  State(EspParameters p, std::uint32_t next)
      : spi(p.spi),
        valid(!check_parameters(p).has_value()),
        keys(p),
        shape(shape_of(p.suite)),
        next_sequence(next) {}
};

EspSender::EspSender(EspParameters parameters, std::uint32_t next_sequence)
    : state_(std::make_unique<State>(std::move(parameters), next_sequence)) {}
EspSender::~EspSender() = default;
EspSender::EspSender(EspSender&&) noexcept = default;
EspSender& EspSender::operator=(EspSender&&) noexcept = default;

std::uint32_t EspSender::spi() const {
  return state_->spi;
}
std::uint32_t EspSender::next_sequence() const {
  return state_->next_sequence;
}

std::size_t EspSender::protected_size(std::size_t payload_size) const {
  const SuiteShape& shape = state_->shape;
  std::size_t padded = payload_size + kTrailerSize;
  padded += (shape.alignment - padded % shape.alignment) % shape.alignment;
  return kEspHeaderSize + shape.iv_size + padded + shape.icv_size;
}

std::optional<EspError> EspSender::protect(std::uint8_t next_header, ByteSpan payload, Bytes& out) {
  State& s = *state_;
  if (!s.valid) return EspError::kCryptoFailure;
  // RFC 4303 §3.3.3: the counter must not cycle; a new SA is needed after 2^32 - 1.
  if (s.next_sequence == 0) return EspError::kSequenceExhausted;
  const std::uint32_t sequence = s.next_sequence;

  const std::size_t start = out.size();
  const std::size_t total = protected_size(payload.size());
  const std::size_t plaintext_size = total - kEspHeaderSize - s.shape.iv_size - s.shape.icv_size;
  const std::size_t pad_size = plaintext_size - payload.size() - kTrailerSize;
  out.resize(start + total);
  std::span<std::byte> esp(out.data() + start, total);
  store_be32(esp.data(), s.spi);
  store_be32(esp.data() + 4, sequence);
  auto iv = esp.subspan(kEspHeaderSize, s.shape.iv_size);
  auto plaintext = esp.subspan(kEspHeaderSize + s.shape.iv_size, plaintext_size);
  auto icv = esp.subspan(total - s.shape.icv_size);

  // RFC 4303 §2.4: padding octets are 1, 2, 3, ...; then Pad Length and Next Header.
  std::copy(payload.begin(), payload.end(), plaintext.begin());
  for (std::size_t i = 0; i < pad_size; ++i)
    plaintext[payload.size() + i] = static_cast<std::byte>(i + 1);
  plaintext[plaintext_size - 2] = static_cast<std::byte>(pad_size);
  plaintext[plaintext_size - 1] = static_cast<std::byte>(next_header);

  bool ok = false;
  if (uses_gcm(s.keys.suite)) {
    // RFC 4106 §3.1: the IV must never repeat under one key; the sequence number never does
    // (it cannot cycle, and a restarted daemon resumes above it), so it is the IV.
    std::fill(iv.begin(), iv.begin() + 4, std::byte{0});
    store_be32(iv.data() + 4, sequence);
    auto nonce = s.keys.gcm_nonce(iv);
    // RFC 4106 §5: AAD = SPI | 32-bit Sequence Number (no ESN).
    ok = crypto::aes_gcm_seal(s.keys.cipher_key, nonce, esp.first(kEspHeaderSize), plaintext,
                              plaintext, icv);
  } else {
    // RFC 3602 §3 / RFC 2451 §2.3: a fresh unpredictable IV per packet.
    ok = crypto::random_bytes(iv) &&
         crypto::cbc_encrypt(cbc_cipher_of(s.keys.suite), s.keys.cipher_key, iv, plaintext,
                             plaintext);
    if (ok) {
      Bytes mac = s.keys.hmac_icv(esp.first(total - s.shape.icv_size), s.shape.icv_size);
      std::copy(mac.begin(), mac.end(), icv.begin());
    }
  }
  if (!ok) {
    out.resize(start);
    return EspError::kCryptoFailure;
  }
  s.next_sequence = sequence == std::numeric_limits<std::uint32_t>::max() ? 0 : sequence + 1;
  return std::nullopt;
}

// ---- EspReceiver ----

struct EspReceiver::State {
  std::uint32_t spi;
  bool valid;
  Keys keys;
  SuiteShape shape;
  ReplayWindow window;

  explicit State(const EspParameters& p)
      : spi(p.spi),
        valid(!check_parameters(p).has_value()),
        keys(p),
        shape(shape_of(p.suite)),
        window(std::min<std::uint32_t>(p.replay_window, kMaxReplayWindow)) {}
};

EspReceiver::EspReceiver(EspParameters parameters) : state_(std::make_unique<State>(parameters)) {}
EspReceiver::~EspReceiver() = default;
EspReceiver::EspReceiver(EspReceiver&&) noexcept = default;
EspReceiver& EspReceiver::operator=(EspReceiver&&) noexcept = default;

std::uint32_t EspReceiver::spi() const {
  return state_->spi;
}
std::uint32_t EspReceiver::highest_sequence() const {
  return state_->window.highest();
}

std::variant<EspOpened, EspError> EspReceiver::open(ByteSpan esp) {
  State& s = *state_;
  if (esp.size() < kEspHeaderSize) return EspError::kTruncated;
  if (wire::load_be32(esp.data()) != s.spi) return EspError::kWrongSpi;
  if (!s.valid) return EspError::kCryptoFailure;
  const std::size_t overhead = kEspHeaderSize + s.shape.iv_size + s.shape.icv_size;
  if (esp.size() < overhead + kTrailerSize) return EspError::kTruncated;
  const std::size_t ciphertext_size = esp.size() - overhead;
  if (!uses_gcm(s.keys.suite) && ciphertext_size % s.shape.alignment != 0) {
    return EspError::kTruncated;
  }

  // RFC 4303 §3.4.3: the cheap sequence check comes before the ICV.
  const std::uint32_t sequence = wire::load_be32(esp.data() + 4);
  if (auto replay = s.window.check(sequence)) return *replay;

  auto iv = esp.subspan(kEspHeaderSize, s.shape.iv_size);
  auto ciphertext = esp.subspan(kEspHeaderSize + s.shape.iv_size, ciphertext_size);
  auto icv = esp.last(s.shape.icv_size);
  Bytes plaintext(ciphertext_size);
  if (uses_gcm(s.keys.suite)) {
    auto nonce = s.keys.gcm_nonce(iv);
    if (!crypto::aes_gcm_open(s.keys.cipher_key, nonce, esp.first(kEspHeaderSize), ciphertext, icv,
                              plaintext)) {
      return EspError::kAuthenticationFailed;
    }
  } else {
    // RFC 4303 §3.4.4.1: verify the ICV (in constant time) before decrypting.
    Bytes expected = s.keys.hmac_icv(esp.first(esp.size() - s.shape.icv_size), s.shape.icv_size);
    if (!crypto::equal_constant_time(expected, icv)) return EspError::kAuthenticationFailed;
    if (!crypto::cbc_decrypt(cbc_cipher_of(s.keys.suite), s.keys.cipher_key, iv, ciphertext,
                             plaintext)) {
      return EspError::kCryptoFailure;
    }
  }

  // RFC 4303 §2.4: the receiver checks that the padding is 1, 2, 3, ...
  const std::size_t pad_size = std::to_integer<std::size_t>(plaintext[ciphertext_size - 2]);
  const auto next_header = std::to_integer<std::uint8_t>(plaintext[ciphertext_size - 1]);
  if (pad_size + kTrailerSize > ciphertext_size) return EspError::kBadPadding;
  const std::size_t payload_size = ciphertext_size - kTrailerSize - pad_size;
  for (std::size_t i = 0; i < pad_size; ++i) {
    if (plaintext[payload_size + i] != static_cast<std::byte>(i + 1)) return EspError::kBadPadding;
  }

  // The ICV verified: the window may move (RFC 4303 §3.4.3). A packet dropped for its padding
  // leaves it alone like any other dropped packet.
  s.window.accept(sequence);
  plaintext.resize(payload_size);
  return EspOpened{next_header, std::move(plaintext), sequence};
}

// ---- Whole IPv6 packets ----

std::variant<Bytes, EspError> protect_transport(EspSender& sa, ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  // RFC 4303 §3.3.4: ESP goes on before fragmentation, so a fragment cannot be protected.
  if (!layout || !layout->upper_complete()) return EspError::kMalformedPacket;
  const std::size_t end = layout->packet_length();
  const std::size_t upper = layout->upper_offset;
  if (upper + sa.protected_size(end - upper) - wire::kIpv6HeaderSize > kMaxPayloadLength) {
    return EspError::kMalformedPacket;
  }
  Bytes out(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(upper));
  if (auto error = sa.protect(layout->upper_protocol, packet.subspan(upper, end - upper), out)) {
    return *error;
  }
  out[layout->upper_next_header_offset] = static_cast<std::byte>(kProtocolEsp);
  set_payload_length(out);
  return out;
}

std::variant<Bytes, EspError> protect_tunnel(EspSender& sa, ByteSpan inner,
                                             const wire::Ipv6Address& source,
                                             const wire::Ipv6Address& destination,
                                             std::uint8_t hop_limit) {
  auto inner_end = payload_end(inner);
  if (!inner_end) return EspError::kMalformedPacket;
  const std::size_t esp_size = sa.protected_size(*inner_end);
  if (esp_size > kMaxPayloadLength) return EspError::kMalformedPacket;
  Bytes out;
  wire::Writer writer(out);
  wire::Ipv6Header outer;
  outer.payload_length = static_cast<std::uint16_t>(esp_size);
  outer.next_header = kProtocolEsp;
  outer.hop_limit = hop_limit;
  outer.source = source;
  outer.destination = destination;
  wire::encode_ipv6_header(writer, outer);
  // RFC 4303 §3.1.2: the whole inner packet is the payload, Next Header 41 (IPv6).
  if (auto error = sa.protect(wire::ip_proto::kIpv6, inner.first(*inner_end), out)) return *error;
  return out;
}

std::variant<Bytes, EspError> unprotect(EspReceiver& sa, ByteSpan packet, std::size_t esp_offset,
                                        std::size_t next_header_offset) {
  auto end = payload_end(packet);
  if (!end || esp_offset < wire::kIpv6HeaderSize || esp_offset > *end ||
      next_header_offset >= esp_offset ||
      std::to_integer<std::uint8_t>(packet[next_header_offset]) != kProtocolEsp) {
    return EspError::kMalformedPacket;
  }
  auto opened = sa.open(packet.subspan(esp_offset, *end - esp_offset));
  if (auto* error = std::get_if<EspError>(&opened)) return *error;
  auto& result = std::get<EspOpened>(opened);
  Bytes out(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(esp_offset));
  out.insert(out.end(), result.payload.begin(), result.payload.end());
  out[next_header_offset] = static_cast<std::byte>(result.next_header);
  set_payload_length(out);
  return out;
}

std::variant<Bytes, EspError> unprotect(EspReceiver& sa, ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  if (!layout || layout->upper_protocol != kProtocolEsp || layout->header_count == 0) {
    return EspError::kMalformedPacket;
  }
  // Every extension header starts with its Next Header octet; ESP is the last header found.
  const std::size_t next_header_offset =
      layout->header_count >= 2 ? layout->headers[layout->header_count - 2].offset : 6;
  return unprotect(sa, packet, layout->upper_offset, next_header_offset);
}

}  // namespace mipv6::ipsec
