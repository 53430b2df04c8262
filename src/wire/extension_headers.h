// IPv6 extension headers (RFC 8200 §4) with the Mobile IPv6 pieces (RFC 6275 §6.3, §6.4):
// Hop-by-Hop and Destination Options with their TLV options (Pad1, PadN, Home Address option),
// Routing headers (type 0 and type 2 decoded, others raw), Fragment, AH and ESP.
//
// Decoders read from a Reader positioned at the header's first byte, consume exactly the header,
// and report errors at absolute offsets (the Reader's base), so a packet-level Reader gives
// offsets from the IPv6 header. They never allocate: variable parts are spans into the input.
// Encoders build an ExtensionHeader (whole header bytes) for the packet builder (packet.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/expected.h"
#include "wire/ipv6.h"

namespace mipv6::wire {

// ---------------------------------------------------------------------------------------------
// Generic "Next Header, Hdr Ext Len" framing (RFC 8200 §4.3, §4.4, §4.6): the header is
// (Hdr Ext Len + 1) * 8 octets. Returns a sub-reader over the whole header and advances `r`.
// Errors: fewer than 2 bytes -> truncated at the header start; a Hdr Ext Len that runs past the
// end of `r` -> bad_length at the Hdr Ext Len octet.
Expected<Reader> take_extension_header(Reader& r);

// ---------------------------------------------------------------------------------------------
// Hop-by-Hop / Destination Options (RFC 8200 §4.2, §4.3, §4.6)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |  Hdr Ext Len  |                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//  .                            Options                            .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Options are TLVs: Option Type (8), Opt Data Len (8), Option Data; Pad1 is a lone zero octet.

namespace option_type {
inline constexpr std::uint8_t kPad1 = 0x00;         // RFC 8200 §4.2
inline constexpr std::uint8_t kPadN = 0x01;         // RFC 8200 §4.2
inline constexpr std::uint8_t kHomeAddress = 0xC9;  // RFC 6275 §6.3 (201)
}  // namespace option_type

inline constexpr std::uint8_t kHomeAddressOptionLength = 16;  // RFC 6275 §6.3

struct TlvOption {
  std::uint8_t option_type = 0;
  std::uint8_t length = 0;  // Opt Data Len (0 for Pad1, which has no length octet)
  ByteSpan data;            // Option Data
  std::size_t offset = 0;   // absolute offset of the Option Type octet
  std::size_t size() const { return option_type == option_type::kPad1 ? 1 : 2 + data.size(); }
};

struct OptionsHeader {
  std::uint8_t next_header = 0;
  std::uint8_t hdr_ext_len = 0;
  std::size_t offset = 0;  // absolute offset of the header's first octet
  ByteSpan options;        // the options area (after the first two octets)
  std::size_t size() const { return 2 + options.size(); }
};

// Reads one options header (framing only; options are checked while iterated).
Expected<OptionsHeader> decode_options_header(Reader& r);

// Iterates the TLV options of an OptionsHeader without allocating.
class OptionCursor {
 public:
  explicit OptionCursor(const OptionsHeader& header)
      : reader_(header.options, header.offset + 2), header_offset_(header.offset) {}
  bool done() const { return reader_.empty(); }
  // The next option. Errors: an option whose length octet or data runs past the header ->
  // bad_length at the Opt Data Len octet (truncated at the type octet if no length octet fits).
  Expected<TlvOption> next();
  std::size_t header_offset() const { return header_offset_; }

 private:
  Reader reader_;
  std::size_t header_offset_;
};

// Checks the rules of a known option that apply wherever it appears. For the Home Address
// option (RFC 6275 §6.3): Opt Data Len 16 (else bad_length at the length octet) and alignment
// 8n+6 from the start of the header (else misaligned_option at the option).
Status check_option(const TlvOption& option, std::size_t header_offset);

// The home address carried by a Home Address option (call after check_option succeeded).
Ipv6Address home_address_of(const TlvOption& option);

// ---------------------------------------------------------------------------------------------
// Routing header (RFC 8200 §4.4)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  .                       type-specific data                      .
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Type 2 (RFC 6275 §6.4.1): Hdr Ext Len 2, Segments Left 1, Reserved (32), Home Address.
// Type 0 (RFC 2460 §4.4, deprecated by RFC 5095 but still decoded): Reserved (32), Address[n].

namespace routing_type {
inline constexpr std::uint8_t kType0 = 0;
inline constexpr std::uint8_t kType2 = 2;
}  // namespace routing_type

struct RoutingHeader {
  std::uint8_t next_header = 0;
  std::uint8_t hdr_ext_len = 0;
  std::uint8_t routing_type = 0;
  std::uint8_t segments_left = 0;
  std::size_t offset = 0;
  std::uint32_t reserved = 0;  // types 0 and 2
  ByteSpan addresses;          // types 0 and 2: 16 octets each
  ByteSpan data;               // everything after Segments Left (kept raw for other types)

  std::size_t size() const { return (std::size_t{hdr_ext_len} + 1) * 8; }
  std::size_t address_count() const { return addresses.size() / 16; }
  Ipv6Address address(std::size_t index) const;
  // RFC 8200 §8.1: the final destination when Segments Left > 0 (types 0 and 2).
  std::optional<Ipv6Address> final_destination() const;
};

// Errors: framing as take_extension_header; type 2 with Hdr Ext Len != 2 -> bad_length at +1
// (RFC 6275 §6.4.1); type 0 with an odd Hdr Ext Len -> bad_length at +1, or Segments Left above
// the number of addresses -> bad_value at +3 (RFC 2460 §4.4).
Expected<RoutingHeader> decode_routing_header(Reader& r);

// ---------------------------------------------------------------------------------------------
// Fragment header (RFC 8200 §4.5)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Identification                        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
inline constexpr std::size_t kFragmentHeaderSize = 8;

struct FragmentHeader {
  std::uint8_t next_header = 0;
  std::uint8_t reserved = 0;
  std::uint16_t fragment_offset = 0;  // 13 bits, in 8-octet units
  std::uint8_t res = 0;               // 2 bits
  bool m_flag = false;                // more fragments
  std::uint32_t identification = 0;
  std::size_t offset = 0;
};

// Errors: fewer than 8 bytes -> truncated at the header start.
Expected<FragmentHeader> decode_fragment_header(Reader& r);

// ---------------------------------------------------------------------------------------------
// Authentication Header (RFC 4302 §2)
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  | Next Header   |  Payload Len  |          RESERVED             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                 Security Parameters Index (SPI)               |
//  |                    Sequence Number Field                      |
//  |                Integrity Check Value-ICV (variable)           |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
struct AuthenticationHeader {
  std::uint8_t next_header = 0;
  std::uint8_t payload_len = 0;  // length in 4-octet units, minus 2 (RFC 4302 §2.2)
  std::uint16_t reserved = 0;
  std::uint32_t spi = 0;
  std::uint32_t sequence_number = 0;
  ByteSpan icv;
  std::size_t offset = 0;
  std::size_t size() const { return (std::size_t{payload_len} + 2) * 4; }
};

// Errors: fewer than 2 bytes -> truncated; Payload Len below 1 (no room for SPI and sequence) or
// a length that is not a multiple of 8 octets, as IPv6 requires (RFC 4302 §2.2) -> bad_length
// at +1; running past the end of `r` -> bad_length at +1.
Expected<AuthenticationHeader> decode_authentication_header(Reader& r);

// ---------------------------------------------------------------------------------------------
// Encapsulating Security Payload (RFC 4303 §2): SPI (32), Sequence Number (32), then payload,
// padding, Next Header and ICV, all opaque without the SA. ESP ends the header chain.
inline constexpr std::size_t kEspHeaderSize = 8;

struct EspHeader {
  std::uint32_t spi = 0;
  std::uint32_t sequence_number = 0;
  ByteSpan data;  // the rest of the packet
  std::size_t offset = 0;
};

// Consumes the rest of `r`. Errors: fewer than 8 bytes -> truncated at the header start.
Expected<EspHeader> decode_esp_header(Reader& r);

// ---------------------------------------------------------------------------------------------
// Encoding. An ExtensionHeader holds a whole header as it goes on the wire; the packet builder
// (packet.h) writes Next Header and the length octet into it unless they are pinned.
struct ExtensionHeader {
  std::uint8_t type = 0;  // its protocol number (ip_proto::k...)
  Bytes bytes;
  bool pin_next_header = false;  // keep bytes[0] as given
  bool pin_length = false;       // keep bytes[1] as given
};

// One TLV option to encode. `length` pins Opt Data Len (else data.size()).
struct OptionSpec {
  std::uint8_t option_type = 0;
  Bytes data;
  std::optional<std::uint8_t> length;

  static OptionSpec pad1() { return {option_type::kPad1, {}, std::nullopt}; }
  static OptionSpec padn(std::size_t total_size);  // a PadN occupying total_size (>= 2) octets
  static OptionSpec home_address(const Ipv6Address& home_address);
};

// A Hop-by-Hop (ip_proto::kHopByHop) or Destination Options (kDestinationOptions) header.
// With auto_pad, Pad1/PadN are inserted before each option that has an alignment rule (the Home
// Address option: 8n+6, RFC 6275 §6.3) and at the end to fill a multiple of 8 octets
// (RFC 8200 §4.2); without it the options are written exactly as given.
ExtensionHeader make_options_header(std::uint8_t type, std::span<const OptionSpec> options,
                                    bool auto_pad = true);
// The usual Mobile IPv6 Destination Options header: PadN(2) + HAO, 24 octets (RFC 6275 §6.3):
// NH 02 01 02 00 00 C9 10 <home address>.
ExtensionHeader make_home_address_destination_options(const Ipv6Address& home_address);
// Type 2 Routing header (RFC 6275 §6.4.1): NH 02 02 <segments_left> 00000000 <home address>.
ExtensionHeader make_type2_routing_header(const Ipv6Address& home_address,
                                          std::uint8_t segments_left = 1,
                                          std::uint32_t reserved = 0);
// The same two headers written straight into a packet under construction (no allocation), with
// their Next Header octet: the hot path of every BU a mobile node sends and every BA a home
// agent or correspondent answers with.
void write_home_address_destination_options(Writer& out, std::uint8_t next_header,
                                            const Ipv6Address& home_address);
void write_type2_routing_header(Writer& out, std::uint8_t next_header,
                                const Ipv6Address& home_address, std::uint8_t segments_left = 1);
inline constexpr std::size_t kHomeAddressDestinationOptionsSize = 24;
inline constexpr std::size_t kType2RoutingHeaderSize = 24;
// Type 0 Routing header (RFC 2460 §4.4); Segments Left defaults to the number of addresses.
ExtensionHeader make_type0_routing_header(std::span<const Ipv6Address> addresses,
                                          std::optional<std::uint8_t> segments_left = {},
                                          std::uint32_t reserved = 0);
// Any other Routing type: `data` follows Segments Left and should fill a multiple of 8 octets
// with the first 4.
ExtensionHeader make_routing_header(std::uint8_t routing_type, std::uint8_t segments_left,
                                    ByteSpan data);
ExtensionHeader make_fragment_header(const FragmentHeader& fields);
// Payload Len is computed by the builder from the size unless pinned.
ExtensionHeader make_authentication_header(std::uint32_t spi, std::uint32_t sequence_number,
                                           ByteSpan icv, std::uint16_t reserved = 0);
ExtensionHeader make_esp_header(std::uint32_t spi, std::uint32_t sequence_number, ByteSpan data);

}  // namespace mipv6::wire
