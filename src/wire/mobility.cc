#include "wire/mobility.h"

#include <utility>

#include "wire/checksum.h"

namespace mipv6::wire {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

constexpr std::size_t kCommonHeaderSize = 6;  // Payload Proto .. Checksum (§6.1.1)
constexpr std::size_t kChecksumOffset = 4;
constexpr std::size_t kHeaderLenOffset = 1;
constexpr std::size_t kMaxOptionData = 255;

// --- decoding -------------------------------------------------------------------------------

// The fixed part of a known message; `r` starts at MH offset 6 and Header Len has been checked
// against the type's minimum, so every read here succeeds.
Expected<MobilityMessage> decode_message(std::uint8_t mh_type, Reader& r) {
  switch (mh_type) {
    case kMhTypeBindingRefreshRequest: {
      MIPV6_TRY(auto reserved, r.u16());
      return BindingRefreshRequest{reserved};
    }
    case kMhTypeHomeTestInit: {
      HomeTestInit m;
      MIPV6_TRY(m.reserved, r.u16());
      MIPV6_TRY(m.home_init_cookie, r.u64());
      return m;
    }
    case kMhTypeCareOfTestInit: {
      CareOfTestInit m;
      MIPV6_TRY(m.reserved, r.u16());
      MIPV6_TRY(m.care_of_init_cookie, r.u64());
      return m;
    }
    case kMhTypeHomeTest: {
      HomeTest m;
      MIPV6_TRY(m.home_nonce_index, r.u16());
      MIPV6_TRY(m.home_init_cookie, r.u64());
      MIPV6_TRY(m.home_keygen_token, r.u64());
      return m;
    }
    case kMhTypeCareOfTest: {
      CareOfTest m;
      MIPV6_TRY(m.care_of_nonce_index, r.u16());
      MIPV6_TRY(m.care_of_init_cookie, r.u64());
      MIPV6_TRY(m.care_of_keygen_token, r.u64());
      return m;
    }
    case kMhTypeBindingUpdate: {
      BindingUpdate m;
      MIPV6_TRY(m.sequence_number, r.u16());
      MIPV6_TRY(m.flags, r.u16());
      MIPV6_TRY(m.lifetime, r.u16());
      return m;
    }
    case kMhTypeBindingAcknowledgement: {
      BindingAcknowledgement m;
      MIPV6_TRY(m.status, r.u8());
      MIPV6_TRY(m.flags, r.u8());
      MIPV6_TRY(m.sequence_number, r.u16());
      MIPV6_TRY(m.lifetime, r.u16());
      return m;
    }
    case kMhTypeBindingError: {
      BindingError m;
      MIPV6_TRY(m.status, r.u8());
      MIPV6_TRY(m.reserved, r.u8());
      MIPV6_TRY(m.home_address, r.address());
      return m;
    }
    default: {
      // §9.2: unknown types are the engine's to answer (Binding Error, status 2); keep them raw.
      MIPV6_TRY(auto data, r.bytes(r.remaining()));
      return UnknownMobilityMessage{mh_type, Bytes(data.begin(), data.end())};
    }
  }
}

// §6.2: options in any order, except that Binding Authorization Data must be the last one and
// must not be followed by padding (§6.2.7).
Status decode_options(Reader& r, std::vector<MobilityOption>& out, const MhDecodeOptions& opts) {
  bool after_authorization_data = false;
  while (!r.empty()) {
    if (after_authorization_data) return r.error(WireErrc::kOptionNotLast);
    MIPV6_TRY(auto option, decode_mobility_option(r, opts.check_alignment));
    after_authorization_data = std::holds_alternative<BindingAuthorizationData>(option);
    out.push_back(std::move(option));
  }
  return {};
}

Status decode_common_header(Reader& r, MobilityHeader& h) {
  MIPV6_TRY(h.payload_proto, r.u8());
  MIPV6_TRY(h.header_len, r.u8());
  MIPV6_TRY(std::uint8_t mh_type, r.u8());
  MIPV6_TRY(h.reserved, r.u8());
  MIPV6_TRY(h.checksum, r.u16());
  h.message = UnknownMobilityMessage{mh_type, {}};
  return {};
}

// --- encoding -------------------------------------------------------------------------------

void encode_message(const MobilityMessage& message, Writer& w) {
  std::visit(Overloaded{
                 [&](const BindingRefreshRequest& m) { w.u16(m.reserved); },
                 [&](const HomeTestInit& m) {
                   w.u16(m.reserved);
                   w.u64(m.home_init_cookie);
                 },
                 [&](const CareOfTestInit& m) {
                   w.u16(m.reserved);
                   w.u64(m.care_of_init_cookie);
                 },
                 [&](const HomeTest& m) {
                   w.u16(m.home_nonce_index);
                   w.u64(m.home_init_cookie);
                   w.u64(m.home_keygen_token);
                 },
                 [&](const CareOfTest& m) {
                   w.u16(m.care_of_nonce_index);
                   w.u64(m.care_of_init_cookie);
                   w.u64(m.care_of_keygen_token);
                 },
                 [&](const BindingUpdate& m) {
                   w.u16(m.sequence_number);
                   w.u16(m.flags);
                   w.u16(m.lifetime);
                 },
                 [&](const BindingAcknowledgement& m) {
                   w.u8(m.status);
                   w.u8(m.flags);
                   w.u16(m.sequence_number);
                   w.u16(m.lifetime);
                 },
                 [&](const BindingError& m) {
                   w.u8(m.status);
                   w.u8(m.reserved);
                   w.address(m.home_address);
                 },
                 [&](const UnknownMobilityMessage& m) { w.bytes(m.message_data); },
             },
             message);
}

void append_padding(std::vector<MobilityOption>& out, std::size_t n) {
  if (n > 0) out.push_back(make_padding(n));
}

std::size_t aligned_start(std::size_t pos, OptionAlignment alignment) {
  while (!alignment.holds_at(pos))
    ++pos;
  return pos;
}

// Options that authenticate the message end it: Binding Authorization Data (§6.2.7) and the
// RFC 4285 §5 authentication option.
bool ends_message(const MobilityOption& option) {
  return std::holds_alternative<BindingAuthorizationData>(option) ||
         std::holds_alternative<MobilityMessageAuthentication>(option);
}

// The first start at or after `pos` that meets the option's alignment and makes it end on an
// 8-octet boundary, so no padding follows it; if none exists (an RFC 4285 option with odd-sized
// data), just the aligned start.
std::size_t end_anchored_start(std::size_t pos, const MobilityOption& option) {
  const auto alignment = mobility_option_alignment(option);
  const std::size_t size = encoded_size(option);
  for (std::size_t start = pos; start < pos + 8; ++start) {
    if (alignment.holds_at(start) && (start + size) % 8 == 0) return start;
  }
  return aligned_start(pos, alignment);
}

const MobilityOption* last_non_padding(const std::vector<MobilityOption>& options) {
  const MobilityOption* last = nullptr;
  for (const auto& option : options) {
    if (!is_padding(option)) last = &option;
  }
  return last;
}

// kBadLength (at the option's length octet) for an option whose data does not fit its length.
Status check_option_sizes(std::size_t options_start, const std::vector<MobilityOption>& options) {
  std::size_t pos = options_start;
  for (const auto& option : options) {
    if (option_data_length(option) > kMaxOptionData)
      return WireError{WireErrc::kBadLength, pos + 1};
    pos += encoded_size(option);
  }
  return {};
}

std::size_t options_size(const std::vector<MobilityOption>& options) {
  std::size_t size = 0;
  for (const auto& option : options)
    size += encoded_size(option);
  return size;
}

}  // namespace

std::uint8_t mh_type_of(const MobilityMessage& message) {
  return std::visit(Overloaded{
                        [](const BindingRefreshRequest&) { return kMhTypeBindingRefreshRequest; },
                        [](const HomeTestInit&) { return kMhTypeHomeTestInit; },
                        [](const CareOfTestInit&) { return kMhTypeCareOfTestInit; },
                        [](const HomeTest&) { return kMhTypeHomeTest; },
                        [](const CareOfTest&) { return kMhTypeCareOfTest; },
                        [](const BindingUpdate&) { return kMhTypeBindingUpdate; },
                        [](const BindingAcknowledgement&) { return kMhTypeBindingAcknowledgement; },
                        [](const BindingError&) { return kMhTypeBindingError; },
                        [](const UnknownMobilityMessage& m) { return m.mh_type; },
                    },
                    message);
}

std::uint8_t MobilityHeader::mh_type() const {
  return mh_type_of(message);
}

std::size_t fixed_part_end(const MobilityMessage& message) {
  if (const auto* unknown = std::get_if<UnknownMobilityMessage>(&message)) {
    return kCommonHeaderSize + unknown->message_data.size();
  }
  switch (mh_type_of(message)) {
    case kMhTypeBindingRefreshRequest:
      return 8;
    case kMhTypeHomeTestInit:
    case kMhTypeCareOfTestInit:
      return 16;
    case kMhTypeHomeTest:
    case kMhTypeCareOfTest:
      return 24;
    case kMhTypeBindingUpdate:
    case kMhTypeBindingAcknowledgement:
      return 12;
    default:
      return 24;  // Binding Error
  }
}

std::optional<std::uint8_t> minimum_header_len(std::uint8_t mh_type) {
  switch (mh_type) {
    case kMhTypeBindingRefreshRequest:
      return 0;                // §6.1.2
    case kMhTypeHomeTestInit:  // §6.1.3
    case kMhTypeCareOfTestInit:
      return 1;            // §6.1.4
    case kMhTypeHomeTest:  // §6.1.5
    case kMhTypeCareOfTest:
      return 2;                 // §6.1.6
    case kMhTypeBindingUpdate:  // §6.1.7
    case kMhTypeBindingAcknowledgement:
      return 1;  // §6.1.8
    case kMhTypeBindingError:
      return 2;  // §6.1.9
    default:
      return std::nullopt;
  }
}

Status decode_mobility_header_partial(ByteSpan mh, PartialMobilityHeader& out,
                                      const MhDecodeOptions& options) {
  out = PartialMobilityHeader{};
  MobilityHeader& h = out.header;
  Reader r(mh);
  MIPV6_CHECK(decode_common_header(r, h));
  out.common_header_decoded = true;
  const std::uint8_t mh_type = h.mh_type();
  // §6.1.1: Header Len counts 8-octet units after the first 8 octets.
  const std::size_t total = (std::size_t{h.header_len} + 1) * 8;
  if (mh.size() < total) return WireError{WireErrc::kTruncated, mh.size()};
  // §6.1.1, §9.2: Payload Proto must be IPPROTO_NONE; the Parameter Problem points at it.
  if (h.payload_proto != kIpProtoNone) return WireError{WireErrc::kBadValue, 0};
  // §9.2: Header Len below the type's minimum; the Parameter Problem points at Header Len.
  if (auto minimum = minimum_header_len(mh_type); minimum && h.header_len < *minimum) {
    return WireError{WireErrc::kBadLength, kHeaderLenOffset};
  }
  Reader body(mh.subspan(kCommonHeaderSize, total - kCommonHeaderSize), kCommonHeaderSize);
  MIPV6_TRY(h.message, decode_message(mh_type, body));
  out.message_decoded = true;
  return decode_options(body, h.options, options);
}

Expected<MobilityHeader> decode_mobility_header(ByteSpan mh, const MhDecodeOptions& options) {
  PartialMobilityHeader partial;
  MIPV6_CHECK(decode_mobility_header_partial(mh, partial, options));
  return std::move(partial.header);
}

std::vector<MobilityOption> with_auto_padding(std::size_t options_start,
                                              const std::vector<MobilityOption>& options) {
  std::vector<MobilityOption> out;
  out.reserve(options.size() * 2 + 1);
  const MobilityOption* last = last_non_padding(options);
  std::size_t pos = options_start;
  for (const auto& option : options) {
    if (is_padding(option)) continue;
    const std::size_t start = (&option == last && ends_message(option))
                                  ? end_anchored_start(pos, option)
                                  : aligned_start(pos, mobility_option_alignment(option));
    append_padding(out, start - pos);
    out.push_back(option);
    pos = start + encoded_size(option);
  }
  append_padding(out, (8 - pos % 8) % 8);  // §6.1.1: the MH is a multiple of 8 octets
  return out;
}

Status encode_mobility_header(const MobilityHeader& mh, Bytes& out,
                              const MhEncodeOptions& options) {
  const std::size_t options_start = fixed_part_end(mh.message);
  std::vector<MobilityOption> padded;
  if (options.auto_pad) padded = with_auto_padding(options_start, mh.options);
  const auto& emitted = options.auto_pad ? padded : mh.options;
  MIPV6_CHECK(check_option_sizes(options_start, emitted));
  const std::size_t total = options_start + options_size(emitted);
  const std::size_t computed_header_len = (total + 7) / 8 - 1;
  if (!options.header_len && computed_header_len > 255) {
    return WireError{WireErrc::kBadLength, kHeaderLenOffset};
  }
  out.reserve(out.size() + total);
  Writer w(out);
  w.u8(mh.payload_proto);
  w.u8(options.header_len.value_or(static_cast<std::uint8_t>(computed_header_len)));
  w.u8(mh.mh_type());
  w.u8(mh.reserved);
  w.u16(mh.checksum);
  encode_message(mh.message, w);
  for (const auto& option : emitted)
    encode_mobility_option(option, w);
  return {};
}

std::uint16_t mobility_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                                ByteSpan mh) {
  Bytes zeroed(mh.begin(), mh.end());
  if (zeroed.size() >= kCommonHeaderSize) {
    zeroed[kChecksumOffset] = std::byte{0};
    zeroed[kChecksumOffset + 1] = std::byte{0};
  }
  return upper_layer_checksum(source, destination, kIpProtoMobility, zeroed);
}

void fill_mobility_checksum(std::span<std::byte> mh, const Ipv6Address& source,
                            const Ipv6Address& destination) {
  store_be16(&mh[kChecksumOffset], mobility_checksum(source, destination, mh));
}

bool mobility_checksum_valid(const Ipv6Address& source, const Ipv6Address& destination,
                             ByteSpan mh) {
  return mh.size() >= kCommonHeaderSize &&
         upper_layer_checksum(source, destination, kIpProtoMobility, mh) == 0;
}

Expected<std::size_t> authenticator_offset(ByteSpan mh, std::uint8_t option_type) {
  MIPV6_TRY(auto header, decode_mobility_header(mh));
  std::size_t pos = fixed_part_end(header.message);
  for (const auto& option : header.options) {
    if (std::holds_alternative<BindingAuthorizationData>(option) &&
        option_type == kMobOptBindingAuthorizationData) {
      return pos + 2;  // §6.2.7: the Authenticator follows Type and Length
    }
    if (std::holds_alternative<MobilityMessageAuthentication>(option) &&
        option_type == kMobOptMobilityMessageAuthentication) {
      return pos + 7;  // RFC 4285 §5: Type, Length, Subtype, SPI, then Authentication Data
    }
    pos += encoded_size(option);
  }
  return WireError{WireErrc::kUnsupported, 0};
}

Expected<Bytes> authenticator_input(ByteSpan mh, std::uint8_t option_type) {
  MIPV6_TRY(std::size_t end, authenticator_offset(mh, option_type));
  Bytes input(mh.begin(), mh.begin() + static_cast<std::ptrdiff_t>(end));
  // §6.2.7: "calculated as if the Checksum field in the Mobility Header was zero".
  input[kChecksumOffset] = std::byte{0};
  input[kChecksumOffset + 1] = std::byte{0};
  return input;
}

std::string_view ba_status_name(std::uint8_t status) {
  switch (status) {
    case kBaStatusAccepted:
      return "Binding Update accepted";
    case kBaStatusAcceptedPrefixDiscoveryNecessary:
      return "Accepted but prefix discovery necessary";
    case kBaStatusReasonUnspecified:
      return "Reason unspecified";
    case kBaStatusAdministrativelyProhibited:
      return "Administratively prohibited";
    case kBaStatusInsufficientResources:
      return "Insufficient resources";
    case kBaStatusHomeRegistrationNotSupported:
      return "Home registration not supported";
    case kBaStatusNotHomeSubnet:
      return "Not home subnet";
    case kBaStatusNotHomeAgentForThisMobileNode:
      return "Not home agent for this mobile node";
    case kBaStatusDuplicateAddressDetectionFailed:
      return "Duplicate Address Detection failed";
    case kBaStatusSequenceNumberOutOfWindow:
      return "Sequence number out of window";
    case kBaStatusExpiredHomeNonceIndex:
      return "Expired home nonce index";
    case kBaStatusExpiredCareOfNonceIndex:
      return "Expired care-of nonce index";
    case kBaStatusExpiredNonces:
      return "Expired nonces";
    case kBaStatusRegistrationTypeChangeDisallowed:
      return "Registration type change disallowed";
    case kBaStatusMobileRouterOperationNotPermitted:
      return "Mobile Router Operation not permitted";
    case kBaStatusInvalidPrefix:
      return "Invalid Prefix";
    case kBaStatusNotAuthorizedForPrefix:
      return "Not Authorized for Prefix";
    case kBaStatusForwardingSetupFailed:
      return "Forwarding Setup failed";
    case kBaStatusMipv6IdMismatch:
      return "MIPV6-ID-MISMATCH";
    case kBaStatusMipv6MesgIdReqd:
      return "MIPV6-MESG-ID-REQD";
    case kBaStatusMipv6AuthFail:
      return "MIPV6-AUTH-FAIL";
    case kBaStatusInvalidCareOfAddress:
      return "Invalid Care-of Address";
    default:
      return "";
  }
}

std::string_view be_status_name(std::uint8_t status) {
  switch (status) {
    case kBeStatusUnknownBindingForHomeAddressDestinationOption:
      return "Unknown binding for Home Address destination option";
    case kBeStatusUnrecognizedMhType:
      return "Unrecognized MH Type value";
    default:
      return "";
  }
}

}  // namespace mipv6::wire
