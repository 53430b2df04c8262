// ESP (RFC 4303) for the signalling between mobile node and home agent (RFC 6275 §5.1, RFC 3776,
// RFC 4877), done in user space because this kernel has no MIPv6 and the xfrm selectors cannot
// see a Home Address option. Sans I/O like core: no socket, no clock. Randomness (CBC IVs) comes
// from crypto::random_bytes.
//
// Three suites, all with non-NULL authentication (RFC 6275 §5.1 requires it):
//   - AES-GCM with a 16-octet ICV (RFC 4106): key 16/24/32 octets followed by the 4-octet salt
//     (RFC 4106 §8.1, "KEYMAT"), 8-octet explicit IV (we use a per-SA counter: RFC 4106 §3.1
//     only asks that an IV is never repeated under one key), AAD = SPI | Sequence Number;
//   - AES-CBC (RFC 3602, key 16/24/32, 16-octet random IV) with HMAC-SHA-256-128 (RFC 4868,
//     32-octet key, ICV 16);
//   - 3DES-CBC (RFC 2451, key 24, 8-octet random IV) with HMAC-SHA1-96 (RFC 2404, 20-octet key,
//     ICV 12) — old, kept because conformance tooling still uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::ipsec {

using wire::Bytes;
using wire::ByteSpan;

inline constexpr std::uint8_t kProtocolEsp = 50;
inline constexpr std::size_t kEspHeaderSize = 8;  // SPI + Sequence Number (RFC 4303 §2)
// RFC 4303 §2.1: SPI values 1-255 are reserved by IANA, 0 is local.
inline constexpr std::uint32_t kMinimumSpi = 256;

enum class EspSuite : std::uint8_t {
  kAesGcm16,              // RFC 4106, ICV 16
  kAesCbcHmacSha256,      // RFC 3602 + RFC 4868 (HMAC-SHA-256-128)
  kTripleDesCbcHmacSha1,  // RFC 2451 + RFC 2404 (HMAC-SHA1-96)
};

// Config names: "aes-gcm-16", "aes-cbc-hmac-sha256", "3des-cbc-hmac-sha1".
std::optional<EspSuite> parse_suite(std::string_view name);
std::string_view to_string(EspSuite suite);

struct EspParameters {
  std::uint32_t spi = 0;
  EspSuite suite = EspSuite::kAesGcm16;
  Bytes encryption_key;      // AES-GCM: key followed by the 4-octet salt
  Bytes authentication_key;  // empty for AES-GCM
  // RFC 4303 §3.4.3 anti-replay window, in packets (at most 1024); 0 turns anti-replay off.
  std::uint32_t replay_window = 64;
};

// Why the parameters cannot make an SA ("encryption key must be 20, 28 or 36 octets for
// aes-gcm-16 (key + 4-octet salt)"), or nullopt when they can.
std::optional<std::string> check_parameters(const EspParameters& parameters);

enum class EspError : std::uint8_t {
  kTruncated,             // shorter than header + IV + ICV, or ciphertext not a block multiple
  kWrongSpi,              // the SPI is not this SA's
  kAuthenticationFailed,  // ICV (or GCM tag) does not verify
  kReplayed,              // sequence number already seen in the window (RFC 4303 §3.4.3)
  kTooOld,                // sequence number left of the window
  kBadPadding,            // pad length beyond the payload, or pad octets not 1, 2, 3... (§2.4)
  kSequenceExhausted,     // the outbound counter would cycle (RFC 4303 §3.3.3): rekey needed
  kCryptoFailure,         // OpenSSL refused (should not happen with checked parameters)
  // protect_transport / protect_tunnel / unprotect only: the IPv6 packet does not walk
  // (wire::walk_chain), is a fragment, has offsets outside it, or would outgrow 65535 octets.
  kMalformedPacket,
};
std::string_view to_string(EspError error);

// The sending half of an SA. RFC 4303 §3.3.3: the first packet carries sequence number 1, and
// the counter never cycles: once 2^32 - 1 was sent, protect() fails with kSequenceExhausted.
class EspSender {
 public:
  // `parameters` must pass check_parameters(). `next_sequence` lets a restarted daemon resume
  // above what it sent before (see the daemon's state file).
  explicit EspSender(EspParameters parameters, std::uint32_t next_sequence = 1);
  ~EspSender();
  EspSender(EspSender&&) noexcept;
  EspSender& operator=(EspSender&&) noexcept;

  // Appends to `out`: SPI | Sequence Number | IV | encrypted(payload | padding | Pad Length |
  // Next Header) | ICV. `next_header` names what `payload` is (135 MH, 58 ICMPv6, 41 IPv6 for
  // tunnel mode).
  std::optional<EspError> protect(std::uint8_t next_header, ByteSpan payload, Bytes& out);

  std::uint32_t spi() const;
  std::uint32_t next_sequence() const;  // 0 once exhausted
  // How long protect() makes a payload of `payload_size` octets: header, IV, padding, Pad
  // Length, Next Header and ICV included (for MTU and Payload Length checks).
  std::size_t protected_size(std::size_t payload_size) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct EspOpened {
  std::uint8_t next_header = 0;
  Bytes payload;
  std::uint32_t sequence = 0;
};

// The receiving half of an SA, with its anti-replay window (RFC 4303 §3.4.3: the window moves
// only after the ICV verified).
class EspReceiver {
 public:
  explicit EspReceiver(EspParameters parameters);
  ~EspReceiver();
  EspReceiver(EspReceiver&&) noexcept;
  EspReceiver& operator=(EspReceiver&&) noexcept;

  // `esp` is everything from the SPI to the end of the ICV.
  std::variant<EspOpened, EspError> open(ByteSpan esp);

  std::uint32_t spi() const;
  std::uint32_t highest_sequence() const;  // right edge of the window, 0 before the first

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The SPI of an ESP packet (first 4 octets), or nullopt when shorter than an ESP header.
std::optional<std::uint32_t> peek_spi(ByteSpan esp);

// ---- Whole IPv6 packets ----

// Transport mode (RFC 4303 §3.1.1, RFC 3776 §3): ESP goes right before the upper layer, after
// every extension header of `packet` — so a Home Address option (BU, MPS) or a Type 2 Routing
// header (BA, MPA) stays outside, where RFC 6275 §11.3.2 puts it. Payload Length and the Next
// Header octet that named the upper layer are rewritten. Checksums inside are left as they are
// (they were computed over the HoA and are still right).
std::variant<Bytes, EspError> protect_transport(EspSender& sa, ByteSpan packet);

// Tunnel mode (RFC 4303 §3.1.2, RFC 4877 §4.3 for HoTI/HoT): `inner` (a whole IPv6 packet) is
// the ESP payload (Next Header 41) of a new outer IPv6 header from `source` to `destination`.
std::variant<Bytes, EspError> protect_tunnel(EspSender& sa, ByteSpan inner,
                                             const wire::Ipv6Address& source,
                                             const wire::Ipv6Address& destination,
                                             std::uint8_t hop_limit = 64);

// Undoes protect_transport / protect_tunnel. `packet` is a whole IPv6 packet whose chain ends
// with ESP at `esp_offset` (after the headers before it), the Next Header octet that named ESP at
// `next_header_offset`. Transport mode: the packet with ESP removed (Next Header octet and
// Payload Length rewritten). Tunnel mode (decrypted Next Header 41): the packet unchanged up to
// ESP, then the inner packet, as if it had come through an IPv6-in-IPv6 tunnel: the result is
// the outer headers with Next Header 41 followed by the inner packet.
std::variant<Bytes, EspError> unprotect(EspReceiver& sa, ByteSpan packet, std::size_t esp_offset,
                                        std::size_t next_header_offset);
// The same, finding ESP with wire::walk_chain (the walk must end with ESP, else
// kMalformedPacket): the Next Header octet that names ESP is the IPv6 header's or that of the
// extension header just before ESP.
std::variant<Bytes, EspError> unprotect(EspReceiver& sa, ByteSpan packet);

}  // namespace mipv6::ipsec
