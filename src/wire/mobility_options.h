// Mobility options (RFC 6275 §6.2; RFC 4283; RFC 4285): the TLVs that follow the fixed part of
// every Mobility Header message.
//
// RFC 6275 §6.2.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Option Type  | Option Length |   Option Data...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Option Length counts the Option Data only. Pad1 is a single zero byte with no length.
//
// Decoding decisions (see also mobility.h):
//  - Options are decoded in any message, even where RFC 6275 restricts them (e.g. Binding
//    Refresh Advice "only valid in the Binding Acknowledgement", §6.2.4): whether an option is
//    meaningful in a message is a protocol decision, made by the engines.
//  - Options with a fixed size must carry exactly that Option Length (kBadLength at the length
//    byte); options with a minimum size (MN-ID, RFC 4285 authentication) at least that.
//  - Alignment ("xn+y", §6.2.1) is measured from the start of the Mobility Header and enforced
//    unless the caller relaxes it (kMisalignedOption at the option's first byte).
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"

namespace mipv6::wire {

// Mobility option types (RFC 6275 §6.2, §14; RFC 4283 §3; RFC 4285 §5, §6).
inline constexpr std::uint8_t kMobOptPad1 = 0;
inline constexpr std::uint8_t kMobOptPadN = 1;
inline constexpr std::uint8_t kMobOptBindingRefreshAdvice = 2;
inline constexpr std::uint8_t kMobOptAlternateCareOfAddress = 3;
inline constexpr std::uint8_t kMobOptNonceIndices = 4;
inline constexpr std::uint8_t kMobOptBindingAuthorizationData = 5;
inline constexpr std::uint8_t kMobOptMobileNodeIdentifier = 8;
inline constexpr std::uint8_t kMobOptMobilityMessageAuthentication = 9;
inline constexpr std::uint8_t kMobOptMobilityMessageReplayProtection = 10;

// RFC 4283 §3: MN-ID subtype 1 is a Network Access Identifier (RFC 4282).
inline constexpr std::uint8_t kMnIdSubtypeNai = 1;
// RFC 4285 §5: authentication option subtypes.
inline constexpr std::uint8_t kMobilityAuthSubtypeMnHa = 1;
inline constexpr std::uint8_t kMobilityAuthSubtypeMnAaa = 2;

// RFC 6275 §6.2.2: one octet of padding.
struct Pad1 {
  friend bool operator==(const Pad1&, const Pad1&) = default;
};

// RFC 6275 §6.2.3: N octets of padding; `data` holds the N-2 data octets as received (they
// should be zero, but the receiver ignores them, so non-zero ones are kept to re-encode exactly).
struct PadN {
  Bytes data;
  friend bool operator==(const PadN&, const PadN&) = default;
};

// RFC 6275 §6.2.4, alignment 2n, Length 2.
struct BindingRefreshAdvice {
  std::uint16_t refresh_interval = 0;  // units of 4 seconds (kLifetimeUnitSeconds)
  friend bool operator==(const BindingRefreshAdvice&, const BindingRefreshAdvice&) = default;
};

// RFC 6275 §6.2.5, alignment 8n+6, Length 16.
struct AlternateCareOfAddress {
  Ipv6Address alternate_care_of_address;
  friend bool operator==(const AlternateCareOfAddress&, const AlternateCareOfAddress&) = default;
};

// RFC 6275 §6.2.6, alignment 2n, Length 4.
struct NonceIndices {
  std::uint16_t home_nonce_index = 0;
  std::uint16_t care_of_nonce_index = 0;
  friend bool operator==(const NonceIndices&, const NonceIndices&) = default;
};

// RFC 6275 §6.2.7: no alignment of its own, but it must be last and unpadded, so 8n+2 in effect.
// Length = size of the authenticator (12 for return routability).
struct BindingAuthorizationData {
  Bytes authenticator;
  friend bool operator==(const BindingAuthorizationData&,
                         const BindingAuthorizationData&) = default;
};

// RFC 4283 §3 (type 8), no alignment: Length = 1 + size of the identifier.
struct MobileNodeIdentifier {
  std::uint8_t subtype = kMnIdSubtypeNai;
  Bytes identifier;
  friend bool operator==(const MobileNodeIdentifier&, const MobileNodeIdentifier&) = default;
};

// RFC 4285 §5 (type 9), alignment 4n+1 (puts the SPI on a 4-octet boundary):
// Length = 5 + size of the authentication data.
struct MobilityMessageAuthentication {
  std::uint8_t subtype = kMobilityAuthSubtypeMnHa;
  std::uint32_t mobility_spi = 0;
  Bytes authentication_data;
  friend bool operator==(const MobilityMessageAuthentication&,
                         const MobilityMessageAuthentication&) = default;
};

// RFC 4285 §6 (type 10), alignment 8n+2, Length 8: a 64-bit NTP-format timestamp (seconds since
// 1900 in the high 32 bits, fraction in the low 32 bits).
struct MobilityMessageReplayProtection {
  std::uint64_t timestamp = 0;
  friend bool operator==(const MobilityMessageReplayProtection&,
                         const MobilityMessageReplayProtection&) = default;
};

// Any other type, kept raw: RFC 6275 §6.2.1 says receivers skip options they do not understand.
struct UnknownMobilityOption {
  std::uint8_t option_type = 0;
  Bytes data;
  friend bool operator==(const UnknownMobilityOption&, const UnknownMobilityOption&) = default;
};

using MobilityOption =
    std::variant<Pad1, PadN, BindingRefreshAdvice, AlternateCareOfAddress, NonceIndices,
                 BindingAuthorizationData, MobileNodeIdentifier, MobilityMessageAuthentication,
                 MobilityMessageReplayProtection, UnknownMobilityOption>;

// "xn+y" (RFC 6275 §6.2.1): the option's offset from the MH start is y modulo x.
struct OptionAlignment {
  std::uint8_t x = 1;
  std::uint8_t y = 0;
  bool holds_at(std::size_t offset) const { return offset % x == y; }
};

std::uint8_t mobility_option_type(const MobilityOption& option);
bool is_padding(const MobilityOption& option);
OptionAlignment mobility_option_alignment(const MobilityOption& option);
// Bytes the option occupies on the wire (Pad1: 1; others: 2 + data).
std::size_t encoded_size(const MobilityOption& option);
// The Option Length the option encodes to; 0 for Pad1, which has none.
std::size_t option_data_length(const MobilityOption& option);

// Appends the option. Precondition: option_data_length(option) <= 255 (the encoders in
// mobility.h check it and report kBadLength).
void encode_mobility_option(const MobilityOption& option, Writer& w);

// Decodes one option from `r`, whose offsets are relative to the MH start. Errors:
// kTruncated (no room for the length byte; offset of the missing byte), kBadLength (Option
// Length runs past the end of `r`, or is wrong for a fixed-size option; offset of the length
// byte), kMisalignedOption (when `check_alignment`; offset of the option type byte).
Expected<MobilityOption> decode_mobility_option(Reader& r, bool check_alignment);

// Constructs padding of `n` octets (RFC 6275 §6.2.2, §6.2.3): Pad1 for 1, PadN otherwise.
MobilityOption make_padding(std::size_t n);

}  // namespace mipv6::wire
