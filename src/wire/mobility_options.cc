#include "wire/mobility_options.h"

#include <type_traits>
#include <utility>

namespace mipv6::wire {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Fixed Option Length of each RFC-defined fixed-size option; 0 when the size varies.
constexpr std::size_t fixed_length(std::uint8_t type) {
  switch (type) {
    case kMobOptBindingRefreshAdvice:
      return 2;  // RFC 6275 §6.2.4
    case kMobOptAlternateCareOfAddress:
      return 16;  // RFC 6275 §6.2.5
    case kMobOptNonceIndices:
      return 4;  // RFC 6275 §6.2.6
    case kMobOptMobilityMessageReplayProtection:
      return 8;  // RFC 4285 §6
    default:
      return 0;
  }
}

// Smallest Option Length of the variable-size options whose data starts with fixed fields.
constexpr std::size_t minimum_length(std::uint8_t type) {
  switch (type) {
    case kMobOptMobileNodeIdentifier:
      return 1;  // RFC 4283 §3: Subtype
    case kMobOptMobilityMessageAuthentication:
      return 5;  // RFC 4285 §5: Subtype, SPI
    default:
      return 0;
  }
}

constexpr OptionAlignment alignment_of(std::uint8_t type) {
  switch (type) {
    case kMobOptBindingRefreshAdvice:
      return {2, 0};  // RFC 6275 §6.2.4: 2n
    case kMobOptAlternateCareOfAddress:
      return {8, 6};  // RFC 6275 §6.2.5: 8n+6
    case kMobOptNonceIndices:
      return {2, 0};  // RFC 6275 §6.2.6: 2n
    case kMobOptMobilityMessageAuthentication:
      return {4, 1};  // RFC 4285 §5: 4n+1
    case kMobOptMobilityMessageReplayProtection:
      return {8, 2};  // RFC 4285 §6: 8n+2
    default:
      return {1, 0};
  }
}

Bytes copy(ByteSpan data) {
  return Bytes(data.begin(), data.end());
}

// Decodes the data of a known option type; `data` is exactly Option Length bytes.
Expected<MobilityOption> decode_data(std::uint8_t type, Reader data) {
  switch (type) {
    case kMobOptPadN:
      return PadN{copy(data.rest())};
    case kMobOptBindingRefreshAdvice:
      return BindingRefreshAdvice{*data.u16()};
    case kMobOptAlternateCareOfAddress:
      return AlternateCareOfAddress{*data.address()};
    case kMobOptNonceIndices: {
      NonceIndices ni;
      ni.home_nonce_index = *data.u16();
      ni.care_of_nonce_index = *data.u16();
      return ni;
    }
    case kMobOptBindingAuthorizationData:
      return BindingAuthorizationData{copy(data.rest())};
    case kMobOptMobileNodeIdentifier: {
      MobileNodeIdentifier id;
      id.subtype = *data.u8();
      id.identifier = copy(data.rest());
      return id;
    }
    case kMobOptMobilityMessageAuthentication: {
      MobilityMessageAuthentication auth;
      auth.subtype = *data.u8();
      auth.mobility_spi = *data.u32();
      auth.authentication_data = copy(data.rest());
      return auth;
    }
    case kMobOptMobilityMessageReplayProtection:
      return MobilityMessageReplayProtection{*data.u64()};
    default:
      return UnknownMobilityOption{type, copy(data.rest())};
  }
}

bool length_is_valid(std::uint8_t type, std::size_t length) {
  if (auto fixed = fixed_length(type)) return length == fixed;
  return length >= minimum_length(type);
}

}  // namespace

std::uint8_t mobility_option_type(const MobilityOption& option) {
  return std::visit(
      Overloaded{
          [](const Pad1&) { return kMobOptPad1; },
          [](const PadN&) { return kMobOptPadN; },
          [](const BindingRefreshAdvice&) { return kMobOptBindingRefreshAdvice; },
          [](const AlternateCareOfAddress&) { return kMobOptAlternateCareOfAddress; },
          [](const NonceIndices&) { return kMobOptNonceIndices; },
          [](const BindingAuthorizationData&) { return kMobOptBindingAuthorizationData; },
          [](const MobileNodeIdentifier&) { return kMobOptMobileNodeIdentifier; },
          [](const MobilityMessageAuthentication&) { return kMobOptMobilityMessageAuthentication; },
          [](const MobilityMessageReplayProtection&) {
            return kMobOptMobilityMessageReplayProtection;
          },
          [](const UnknownMobilityOption& o) { return o.option_type; },
      },
      option);
}

bool is_padding(const MobilityOption& option) {
  return std::holds_alternative<Pad1>(option) || std::holds_alternative<PadN>(option);
}

OptionAlignment mobility_option_alignment(const MobilityOption& option) {
  // An unknown option that happens to carry a known type number is still kept raw, so it gets
  // no alignment rule: it was (or will be) emitted as given.
  if (std::holds_alternative<UnknownMobilityOption>(option)) return {1, 0};
  return alignment_of(mobility_option_type(option));
}

std::size_t option_data_length(const MobilityOption& option) {
  return std::visit(
      Overloaded{
          [](const Pad1&) -> std::size_t { return 0; },
          [](const PadN& o) { return o.data.size(); },
          [](const BindingRefreshAdvice&) -> std::size_t { return 2; },
          [](const AlternateCareOfAddress&) -> std::size_t { return 16; },
          [](const NonceIndices&) -> std::size_t { return 4; },
          [](const BindingAuthorizationData& o) { return o.authenticator.size(); },
          [](const MobileNodeIdentifier& o) { return 1 + o.identifier.size(); },
          [](const MobilityMessageAuthentication& o) { return 5 + o.authentication_data.size(); },
          [](const MobilityMessageReplayProtection&) -> std::size_t { return 8; },
          [](const UnknownMobilityOption& o) { return o.data.size(); },
      },
      option);
}

std::size_t encoded_size(const MobilityOption& option) {
  if (std::holds_alternative<Pad1>(option)) return 1;
  return 2 + option_data_length(option);
}

void encode_mobility_option(const MobilityOption& option, Writer& w) {
  w.u8(mobility_option_type(option));
  if (std::holds_alternative<Pad1>(option)) return;
  w.u8(static_cast<std::uint8_t>(option_data_length(option)));
  std::visit(Overloaded{
                 [](const Pad1&) {},
                 [&](const PadN& o) { w.bytes(o.data); },
                 [&](const BindingRefreshAdvice& o) { w.u16(o.refresh_interval); },
                 [&](const AlternateCareOfAddress& o) { w.address(o.alternate_care_of_address); },
                 [&](const NonceIndices& o) {
                   w.u16(o.home_nonce_index);
                   w.u16(o.care_of_nonce_index);
                 },
                 [&](const BindingAuthorizationData& o) { w.bytes(o.authenticator); },
                 [&](const MobileNodeIdentifier& o) {
                   w.u8(o.subtype);
                   w.bytes(o.identifier);
                 },
                 [&](const MobilityMessageAuthentication& o) {
                   w.u8(o.subtype);
                   w.u32(o.mobility_spi);
                   w.bytes(o.authentication_data);
                 },
                 [&](const MobilityMessageReplayProtection& o) { w.u64(o.timestamp); },
                 [&](const UnknownMobilityOption& o) { w.bytes(o.data); },
             },
             option);
}

Expected<MobilityOption> decode_mobility_option(Reader& r, bool check_alignment) {
  const std::size_t start = r.offset();
  MIPV6_TRY(std::uint8_t type, r.u8());
  if (type == kMobOptPad1) return Pad1{};  // RFC 6275 §6.2.2: no length, no alignment
  const std::size_t length_offset = r.offset();
  MIPV6_TRY(std::uint8_t length, r.u8());
  // RFC 6275 §6.2.1: the option must lie inside the Header Len the message declared.
  if (!r.has(length)) return WireError{WireErrc::kBadLength, length_offset};
  if (!length_is_valid(type, length)) return WireError{WireErrc::kBadLength, length_offset};
  if (check_alignment && !alignment_of(type).holds_at(start)) {
    return WireError{WireErrc::kMisalignedOption, start};
  }
  MIPV6_TRY(Reader data, r.sub(length));
  return decode_data(type, data);
}

MobilityOption make_padding(std::size_t n) {
  if (n == 1) return Pad1{};
  return PadN{Bytes(n - 2, std::byte{0})};
}

}  // namespace mipv6::wire
