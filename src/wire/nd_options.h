// Neighbor Discovery options (RFC 4861 §4.6) with the Mobile IPv6 additions (RFC 6275 §7.2-§7.4).
// They are carried by RS, RA, NS, NA and Redirect, and by the Mobile Prefix Solicitation and
// Advertisement (RFC 6275 §6.7, §6.8).
//
// RFC 4861 §4.6 — every option is a TLV whose Length counts the whole option in 8-octet units:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |    Length     |              ...              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                              ...                              ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Every reserved field and flag bit is kept raw, so decode -> encode reproduces the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"

namespace mipv6::wire {

// RFC 4861 §4.6.1: Source/Target Link-Layer Address (types 1 and 2). The data is kept raw
// (Length × 8 − 2 octets: for Ethernet exactly the 6-octet MAC); the encoder pads with zeros to
// a multiple of 8 octets.
struct SourceLinkLayerAddressOption {
  static constexpr std::uint8_t kType = 1;
  Bytes link_layer_address;
  friend bool operator==(const SourceLinkLayerAddressOption&,
                         const SourceLinkLayerAddressOption&) = default;
};

struct TargetLinkLayerAddressOption {
  static constexpr std::uint8_t kType = 2;
  Bytes link_layer_address;
  friend bool operator==(const TargetLinkLayerAddressOption&,
                         const TargetLinkLayerAddressOption&) = default;
};

// RFC 4861 §4.6.2 with RFC 6275 §7.2 (R bit: the Prefix field holds the router's full address).
//   | Type = 3 | Length = 4 | Prefix Length |L|A|R|Reserved1|
//   |                 Valid Lifetime                         |
//   |                 Preferred Lifetime                     |
//   |                 Reserved2                              |
//   |                 Prefix (128 bits)                      |
struct PrefixInformationOption {
  static constexpr std::uint8_t kType = 3;
  static constexpr std::uint8_t kLength = 4;
  static constexpr std::uint8_t kFlagL = 0x80;  // on-link (RFC 4861 §4.6.2)
  static constexpr std::uint8_t kFlagA = 0x40;  // autonomous address configuration
  static constexpr std::uint8_t kFlagR = 0x20;  // router address (RFC 6275 §7.2)
  static constexpr std::uint8_t kReserved1Mask = 0x1f;

  std::uint8_t prefix_length = 0;
  bool l = false;
  bool a = false;
  bool r = false;
  std::uint8_t reserved1 = 0;  // the 5 low-order bits of the flags byte, as on the wire
  std::uint32_t valid_lifetime = 0;
  std::uint32_t preferred_lifetime = 0;
  std::uint32_t reserved2 = 0;
  Ipv6Address prefix;
  friend bool operator==(const PrefixInformationOption&, const PrefixInformationOption&) = default;
};

// RFC 4861 §4.6.3: Redirected Header, Reserved (16 + 32 bits), then the IP header and data.
struct RedirectedHeaderOption {
  static constexpr std::uint8_t kType = 4;
  std::uint16_t reserved1 = 0;
  std::uint32_t reserved2 = 0;
  Bytes ip_header_and_data;  // encoder pads with zeros to a multiple of 8 octets
  friend bool operator==(const RedirectedHeaderOption&, const RedirectedHeaderOption&) = default;
};

// RFC 4861 §4.6.4: | Type = 5 | Length = 1 | Reserved | MTU (32) |
struct MtuOption {
  static constexpr std::uint8_t kType = 5;
  static constexpr std::uint8_t kLength = 1;
  std::uint16_t reserved = 0;
  std::uint32_t mtu = 0;
  friend bool operator==(const MtuOption&, const MtuOption&) = default;
};

// RFC 6275 §7.3: | Type = 7 | Length = 1 | Reserved | Advertisement Interval (32, ms) |
struct AdvertisementIntervalOption {
  static constexpr std::uint8_t kType = 7;
  static constexpr std::uint8_t kLength = 1;
  std::uint16_t reserved = 0;
  std::uint32_t advertisement_interval = 0;  // milliseconds (MaxRtrAdvInterval)
  friend bool operator==(const AdvertisementIntervalOption&,
                         const AdvertisementIntervalOption&) = default;
};

// RFC 6275 §7.4: | Type = 8 | Length = 1 | Reserved |
//                | Home Agent Preference (16) | Home Agent Lifetime (16, s) |
// Reserved is kept raw: NEMO (RFC 3963) uses its top bit 0x8000 as the Mobile Router flag.
struct HomeAgentInformationOption {
  static constexpr std::uint8_t kType = 8;
  static constexpr std::uint8_t kLength = 1;
  std::uint16_t reserved = 0;
  std::uint16_t home_agent_preference = 0;
  std::uint16_t home_agent_lifetime = 0;
  friend bool operator==(const HomeAgentInformationOption&,
                         const HomeAgentInformationOption&) = default;
};

// Any other type, kept raw (RFC 4861 §4.6: unrecognized options are skipped, not rejected).
struct UnknownNdOption {
  std::uint8_t option_type = 0;
  Bytes data;  // Length × 8 − 2 octets; the encoder pads with zeros to a multiple of 8
  friend bool operator==(const UnknownNdOption&, const UnknownNdOption&) = default;
};

using NdOptionBody =
    std::variant<SourceLinkLayerAddressOption, TargetLinkLayerAddressOption,
                 PrefixInformationOption, RedirectedHeaderOption, MtuOption,
                 AdvertisementIntervalOption, HomeAgentInformationOption, UnknownNdOption>;

struct NdOption {
  NdOption() = default;
  // Implicit, so that option lists read naturally: `options = {{MtuOption{0, 1280}}}`.
  NdOption(NdOptionBody option_body,  // NOLINT(google-explicit-constructor)
           std::optional<std::uint8_t> explicit_length = std::nullopt)
      : body(std::move(option_body)), length(explicit_length) {}

  NdOptionBody body;
  // Length byte to write instead of the computed one (to build broken packets on purpose).
  // Decoding leaves it empty: the computed Length always matches what was received.
  std::optional<std::uint8_t> length;
  friend bool operator==(const NdOption&, const NdOption&) = default;
};

using NdOptions = std::vector<NdOption>;

// The option's Type byte.
std::uint8_t nd_option_type(const NdOption& option);

// Decodes the options filling `data` to its end. `base_offset` is the absolute offset of
// data[0] for error reporting. Errors (RFC 4861 §4.6):
//   - one byte left (no Length)           -> kTruncated at the Length byte;
//   - Length 0                            -> kBadLength at the Length byte;
//   - Length × 8 beyond the data          -> kBadLength at the Length byte;
//   - fixed-size option with wrong Length -> kBadLength at the Length byte.
Expected<NdOptions> decode_nd_options(ByteSpan data, std::size_t base_offset);

// Appends Type, Length (option.length if set, else the padded size / 8) and the data, zero-padded
// to a multiple of 8 octets. Data beyond 255 × 8 − 2 octets has no valid Length: callers keep
// to that limit.
void encode_nd_option(const NdOption& option, Bytes& out);
void encode_nd_options(const NdOptions& options, Bytes& out);

}  // namespace mipv6::wire
