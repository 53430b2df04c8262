// The Mobility Header (RFC 6275 §6.1): IPv6 Next Header 135, carrying the Mobile IPv6
// signalling messages, and its mobility options (mobility_options.h).
//
// RFC 6275 §6.1.1:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Payload Proto |  Header Len   |   MH Type     |   Reserved    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               |
//   .                       Message Data                            .
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Header Len is in 8-octet units, not counting the first 8 octets. Message Data is a fixed part
// that depends on MH Type, then mobility options up to the end given by Header Len.
//
// What the decoder checks, in this order (error code, offset from the MH start):
//  1. the 6-octet common header and the (Header Len + 1) * 8 octets it announces are present
//     (kTruncated at the field cut short, or at the end of `mh` when Header Len reaches past
//     it). Octets after the MH are ignored: Payload Proto is 59, "no next header" (RFC 8200
//     §4.7);
//  2. Payload Proto is 59 (RFC 6275 §6.1.1, §9.2: kBadValue at 0, where the ICMPv6 Parameter
//     Problem pointer goes);
//  3. Header Len is at least the minimum for a known MH Type (§6.1.2-§6.1.9, §9.2: kBadLength
//     at 1): BRR 0, HoTI/CoTI 1, HoT/CoT 2, BU 1, BA 1, BE 2. Unknown types have no minimum;
//  4. the options (mobility_options.h), and that Binding Authorization Data, if present, is the
//     last option with no padding after it (§6.2, §6.2.7: kOptionNotLast at the first octet
//     after it).
// Not checked here:
//  - the Checksum: it needs the pseudo-header addresses (see mobility_checksum());
//  - MH Type: an unknown type decodes into UnknownMobilityMessage; the receiver answers it with
//    a Binding Error, status 2 (§9.2);
//  - RFC 4285's "the authentication option MUST be the last option" applies only when it is the
//    only authentication option, and MN-AAA / MN-HA use depends on the message's role, so that
//    rule is left to the engines;
//  - which options a message may carry (e.g. Binding Refresh Advice only in a BA, §6.2.4): the
//    engines decide what an option means in its message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"
#include "wire/mobility_options.h"

namespace mipv6::wire {

// RFC 6275 §6.1.1, §14: the Mobility Header's IPv6 Next Header value.
inline constexpr std::uint8_t kIpProtoMobility = 135;
// RFC 6275 §6.1.1: Payload Proto is always IPPROTO_NONE.
inline constexpr std::uint8_t kIpProtoNone = 59;
// RFC 6275 §6.1.7, §6.1.8, §6.2.4: one lifetime / refresh interval unit.
inline constexpr std::uint32_t kLifetimeUnitSeconds = 4;

// MH Type values (RFC 6275 §6.1.2-§6.1.9, §14).
inline constexpr std::uint8_t kMhTypeBindingRefreshRequest = 0;
inline constexpr std::uint8_t kMhTypeHomeTestInit = 1;
inline constexpr std::uint8_t kMhTypeCareOfTestInit = 2;
inline constexpr std::uint8_t kMhTypeHomeTest = 3;
inline constexpr std::uint8_t kMhTypeCareOfTest = 4;
inline constexpr std::uint8_t kMhTypeBindingUpdate = 5;
inline constexpr std::uint8_t kMhTypeBindingAcknowledgement = 6;
inline constexpr std::uint8_t kMhTypeBindingError = 7;

// Binding Update flags, on the 16-bit word at MH offset 8 (RFC 6275 §6.1.7).
inline constexpr std::uint16_t kBuFlagA = 0x8000;  // Acknowledge
inline constexpr std::uint16_t kBuFlagH = 0x4000;  // Home Registration
inline constexpr std::uint16_t kBuFlagL = 0x2000;  // Link-Local Address Compatibility
inline constexpr std::uint16_t kBuFlagK = 0x1000;  // Key Management Mobility Capability
inline constexpr std::uint16_t kBuReservedMask = 0x0fff;
// Binding Acknowledgement flags, on the octet at MH offset 7 (RFC 6275 §6.1.8).
inline constexpr std::uint8_t kBaFlagK = 0x80;
inline constexpr std::uint8_t kBaReservedMask = 0x7f;

// Binding Acknowledgement Status (RFC 6275 §6.1.8, §14); < 128 means accepted.
inline constexpr std::uint8_t kBaStatusAccepted = 0;
inline constexpr std::uint8_t kBaStatusAcceptedPrefixDiscoveryNecessary = 1;
inline constexpr std::uint8_t kBaStatusRejectedThreshold = 128;
inline constexpr std::uint8_t kBaStatusReasonUnspecified = 128;
inline constexpr std::uint8_t kBaStatusAdministrativelyProhibited = 129;
inline constexpr std::uint8_t kBaStatusInsufficientResources = 130;
inline constexpr std::uint8_t kBaStatusHomeRegistrationNotSupported = 131;
inline constexpr std::uint8_t kBaStatusNotHomeSubnet = 132;
inline constexpr std::uint8_t kBaStatusNotHomeAgentForThisMobileNode = 133;
inline constexpr std::uint8_t kBaStatusDuplicateAddressDetectionFailed = 134;
inline constexpr std::uint8_t kBaStatusSequenceNumberOutOfWindow = 135;
inline constexpr std::uint8_t kBaStatusExpiredHomeNonceIndex = 136;
inline constexpr std::uint8_t kBaStatusExpiredCareOfNonceIndex = 137;
inline constexpr std::uint8_t kBaStatusExpiredNonces = 138;
inline constexpr std::uint8_t kBaStatusRegistrationTypeChangeDisallowed = 139;
inline constexpr std::uint8_t kBaStatusInvalidCareOfAddress = 174;
// From other RFCs: NEMO (RFC 3963 §6.1) and the RFC 4285 authentication protocol (§8).
inline constexpr std::uint8_t kBaStatusMobileRouterOperationNotPermitted = 140;
inline constexpr std::uint8_t kBaStatusInvalidPrefix = 141;
inline constexpr std::uint8_t kBaStatusNotAuthorizedForPrefix = 142;
inline constexpr std::uint8_t kBaStatusForwardingSetupFailed = 143;
inline constexpr std::uint8_t kBaStatusMipv6IdMismatch = 144;
inline constexpr std::uint8_t kBaStatusMipv6MesgIdReqd = 145;
inline constexpr std::uint8_t kBaStatusMipv6AuthFail = 146;

// Binding Error Status (RFC 6275 §6.1.9).
inline constexpr std::uint8_t kBeStatusUnknownBindingForHomeAddressDestinationOption = 1;
inline constexpr std::uint8_t kBeStatusUnrecognizedMhType = 2;

// RFC 6275 §6.1.2
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |          Reserved             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct BindingRefreshRequest {
  std::uint16_t reserved = 0;
  friend bool operator==(const BindingRefreshRequest&, const BindingRefreshRequest&) = default;
};

// RFC 6275 §6.1.3 (HoTI) and §6.1.4 (CoTI)
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |           Reserved            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  Home [Care-of] Init Cookie (64)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct HomeTestInit {
  std::uint16_t reserved = 0;
  std::uint64_t home_init_cookie = 0;
  friend bool operator==(const HomeTestInit&, const HomeTestInit&) = default;
};
struct CareOfTestInit {
  std::uint16_t reserved = 0;
  std::uint64_t care_of_init_cookie = 0;
  friend bool operator==(const CareOfTestInit&, const CareOfTestInit&) = default;
};

// RFC 6275 §6.1.5 (HoT) and §6.1.6 (CoT)
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |   Home [Care-of] Nonce Index  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  Home [Care-of] Init Cookie (64)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                 Home [Care-of] Keygen Token (64)              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct HomeTest {
  std::uint16_t home_nonce_index = 0;
  std::uint64_t home_init_cookie = 0;
  std::uint64_t home_keygen_token = 0;
  friend bool operator==(const HomeTest&, const HomeTest&) = default;
};
struct CareOfTest {
  std::uint16_t care_of_nonce_index = 0;
  std::uint64_t care_of_init_cookie = 0;
  std::uint64_t care_of_keygen_token = 0;
  friend bool operator==(const CareOfTest&, const CareOfTest&) = default;
};

// RFC 6275 §6.1.7
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |          Sequence #           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |A|H|L|K|        Reserved       |           Lifetime            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// `flags` is the whole 16-bit word, so reserved bits (used by later RFCs) survive re-encoding.
struct BindingUpdate {
  std::uint16_t sequence_number = 0;
  std::uint16_t flags = 0;
  std::uint16_t lifetime = 0;  // units of 4 seconds; 0 deletes the binding (§6.1.7)

  bool a() const { return (flags & kBuFlagA) != 0; }
  bool h() const { return (flags & kBuFlagH) != 0; }
  bool l() const { return (flags & kBuFlagL) != 0; }
  bool k() const { return (flags & kBuFlagK) != 0; }
  void set_flag(std::uint16_t mask, bool on) {
    flags = static_cast<std::uint16_t>(on ? (flags | mask) : (flags & ~mask));
  }
  std::uint16_t reserved() const { return flags & kBuReservedMask; }
  std::uint32_t lifetime_seconds() const { return lifetime * kLifetimeUnitSeconds; }
  friend bool operator==(const BindingUpdate&, const BindingUpdate&) = default;
};

// RFC 6275 §6.1.8
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |    Status     |K|  Reserved   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Sequence #          |           Lifetime            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct BindingAcknowledgement {
  std::uint8_t status = kBaStatusAccepted;
  std::uint8_t flags = 0;  // K and the 7 reserved bits, as on the wire
  std::uint16_t sequence_number = 0;
  std::uint16_t lifetime = 0;  // units of 4 seconds; undefined when status >= 128

  bool k() const { return (flags & kBaFlagK) != 0; }
  void set_k(bool on) {
    flags = static_cast<std::uint8_t>(on ? (flags | kBaFlagK) : (flags & ~kBaFlagK));
  }
  std::uint8_t reserved() const { return flags & kBaReservedMask; }
  bool accepted() const { return status < kBaStatusRejectedThreshold; }
  std::uint32_t lifetime_seconds() const { return lifetime * kLifetimeUnitSeconds; }
  friend bool operator==(const BindingAcknowledgement&, const BindingAcknowledgement&) = default;
};

// RFC 6275 §6.1.9
//                                 +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//                                 |     Status    |   Reserved    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// +                          Home Address (128)                   +
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct BindingError {
  std::uint8_t status = kBeStatusUnknownBindingForHomeAddressDestinationOption;
  std::uint8_t reserved = 0;
  Ipv6Address home_address;  // from the offending packet's HAO, or :: (§9.3.3)
  friend bool operator==(const BindingError&, const BindingError&) = default;
};

// A message whose MH Type this codec does not know: everything after the Checksum, raw
// (options cannot be told apart from a fixed part we do not know).
struct UnknownMobilityMessage {
  std::uint8_t mh_type = 0;
  Bytes message_data;
  friend bool operator==(const UnknownMobilityMessage&, const UnknownMobilityMessage&) = default;
};

using MobilityMessage =
    std::variant<BindingRefreshRequest, HomeTestInit, CareOfTestInit, HomeTest, CareOfTest,
                 BindingUpdate, BindingAcknowledgement, BindingError, UnknownMobilityMessage>;

struct MobilityHeader {
  std::uint8_t payload_proto = kIpProtoNone;
  std::uint8_t header_len = 0;  // as decoded; the encoder computes it (see MhEncodeOptions)
  std::uint8_t reserved = 0;
  std::uint16_t checksum = 0;
  MobilityMessage message;
  std::vector<MobilityOption> options;  // wire order, padding included

  std::uint8_t mh_type() const;
  friend bool operator==(const MobilityHeader&, const MobilityHeader&) = default;
};

std::uint8_t mh_type_of(const MobilityMessage& message);
// Octets from the MH start to the end of the message's fixed part (where options begin):
// BRR 8, HoTI/CoTI 16, HoT/CoT 24, BU/BA 12, BE 24, unknown 6 + message data.
std::size_t fixed_part_end(const MobilityMessage& message);
// RFC 6275 §6.1.2-§6.1.9: the smallest Header Len for a known MH Type; nullopt if unknown.
std::optional<std::uint8_t> minimum_header_len(std::uint8_t mh_type);

// The first option of type T, or nullptr.
template <class T>
const T* find_option(const MobilityHeader& mh) {
  for (const auto& option : mh.options) {
    if (const T* found = std::get_if<T>(&option)) return found;
  }
  return nullptr;
}
template <class T>
const T* find_message(const MobilityHeader& mh) {
  return std::get_if<T>(&mh.message);
}

struct MhDecodeOptions {
  // Enforce the xn+y alignment of options (RFC 6275 §6.2.1). Relaxed, a misaligned option is
  // still decoded (interoperability with senders that get padding wrong).
  bool check_alignment = true;
};

Expected<MobilityHeader> decode_mobility_header(ByteSpan mh, const MhDecodeOptions& options = {});

// What a failed decode got through: the common header fields (when the first 6 octets are
// there), the message (once its fixed part decoded; until then an UnknownMobilityMessage with
// only the MH Type) and the options before the offending one.
struct PartialMobilityHeader {
  MobilityHeader header;
  bool common_header_decoded = false;
  bool message_decoded = false;
};
Status decode_mobility_header_partial(ByteSpan mh, PartialMobilityHeader& out,
                                      const MhDecodeOptions& options = {});

struct MhEncodeOptions {
  // true: padding options in MobilityHeader::options are dropped and Pad1/PadN inserted so every
  // option meets its alignment (RFC 6275 §6.2.1) and the MH is a multiple of 8 octets (§6.1.1);
  // a last Binding Authorization Data (§6.2.7) or RFC 4285 authentication option is placed so
  // that it ends the MH with no padding after it. Header Len is computed.
  // false: options are emitted exactly as given, with no padding at all.
  bool auto_pad = true;
  // Written verbatim when set (to build broken messages); otherwise ceil(length / 8) - 1.
  std::optional<std::uint8_t> header_len;

  // Options emitted as given and Header Len computed: decode -> encode reproduces the bytes.
  static MhEncodeOptions verbatim() { return {false, std::nullopt}; }
};

// Appends the MH to `out`, which may already hold earlier headers: alignment is counted from
// out.size() at the call. The Checksum field is written as mh.checksum (fill it afterwards with
// fill_mobility_checksum). Fails with kBadLength (offset relative to the MH start) if an option's
// data exceeds 255 octets or the computed Header Len exceeds 255; `out` is then unchanged.
Status encode_mobility_header(const MobilityHeader& mh, Bytes& out,
                              const MhEncodeOptions& options = {});

// The option list encode_mobility_header emits with auto_pad, for options starting at MH
// offset `options_start` (= fixed_part_end of the message).
std::vector<MobilityOption> with_auto_padding(std::size_t options_start,
                                              const std::vector<MobilityOption>& options);

// RFC 6275 §6.1.1: the checksum over the pseudo-header (Next Header 135) and the MH, as if the
// Checksum field were zero. The caller chooses the addresses: the HoA from a Home Address
// option replaces the source, the Type 2 Routing header's HoA is the destination.
std::uint16_t mobility_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                                ByteSpan mh);
// Writes mobility_checksum into octets 4-5 of `mh` (at least 6 octets).
void fill_mobility_checksum(std::span<std::byte> mh, const Ipv6Address& source,
                            const Ipv6Address& destination);
// True when the Checksum field in `mh` verifies with these addresses.
bool mobility_checksum_valid(const Ipv6Address& source, const Ipv6Address& destination,
                             ByteSpan mh);

// Offset from the MH start of the authenticator an authentication option carries: the
// Authenticator of Binding Authorization Data (RFC 6275 §6.2.7), or the Authentication Data of
// the RFC 4285 option (after its Subtype and SPI). Errors: the decode error, or kUnsupported at
// 0 if the MH carries no such option.
Expected<std::size_t> authenticator_offset(
    ByteSpan mh, std::uint8_t option_type = kMobOptBindingAuthorizationData);
// The octets an authenticator covers: the MH up to (excluding) that offset, with the Checksum
// field zeroed. RFC 6275 §6.2.7 "MH Data" (then prefixed by care-of address | correspondent);
// RFC 4285 §5 "MH Data" up to and including the Mobility SPI.
Expected<Bytes> authenticator_input(ByteSpan mh,
                                    std::uint8_t option_type = kMobOptBindingAuthorizationData);

// RFC text names, for logs and JSON ("Binding Update accepted"); "" when unassigned.
std::string_view ba_status_name(std::uint8_t status);
std::string_view be_status_name(std::uint8_t status);

}  // namespace mipv6::wire
