#include "wire/extension_headers.h"

namespace mipv6::wire {
namespace {

std::uint8_t octet(ByteSpan data, std::size_t index) {
  return std::to_integer<std::uint8_t>(data[index]);
}

// Appends `count` octets of padding: Pad1 for one, PadN for more (RFC 8200 §4.2).
void append_padding(Writer& out, std::size_t count) {
  if (count == 0) return;
  if (count == 1) {
    out.u8(option_type::kPad1);
    return;
  }
  out.u8(option_type::kPadN);
  out.u8(static_cast<std::uint8_t>(count - 2));
  out.zeros(count - 2);
}

struct Alignment {
  std::size_t x;
  std::size_t y;
};

// The xn+y alignment rules of the options we know (RFC 8200 §4.2 notation).
std::optional<Alignment> alignment_of(std::uint8_t type) {
  if (type == option_type::kHomeAddress) return Alignment{8, 6};  // RFC 6275 §6.3
  return std::nullopt;
}

void append_option(Writer& out, const OptionSpec& option) {
  out.u8(option.option_type);
  if (option.option_type == option_type::kPad1) return;  // RFC 8200 §4.2: a lone octet
  out.u8(option.length.value_or(static_cast<std::uint8_t>(option.data.size())));
  out.bytes(option.data);
}

void set_hdr_ext_len(Bytes& bytes) {
  // RFC 8200 §4.3: length in 8-octet units, not counting the first 8 octets.
  bytes[1] = static_cast<std::byte>(bytes.size() >= 8 ? bytes.size() / 8 - 1 : 0);
}

}  // namespace

Expected<Reader> take_extension_header(Reader& r) {
  std::size_t start = r.offset();
  if (!r.has(2)) return WireError{WireErrc::kTruncated, start};
  std::size_t size = (std::size_t{octet(r.rest(), 1)} + 1) * 8;
  if (!r.has(size)) return WireError{WireErrc::kBadLength, start + 1};
  return r.sub(size);
}

Expected<OptionsHeader> decode_options_header(Reader& r) {
  OptionsHeader h;
  h.offset = r.offset();
  MIPV6_TRY(Reader header, take_extension_header(r));
  MIPV6_TRY(h.next_header, header.u8());
  MIPV6_TRY(h.hdr_ext_len, header.u8());
  h.options = header.rest();
  return h;
}

Expected<TlvOption> OptionCursor::next() {
  TlvOption option;
  option.offset = reader_.offset();
  MIPV6_TRY(option.option_type, reader_.u8());
  if (option.option_type == option_type::kPad1) return option;
  if (reader_.empty()) return WireError{WireErrc::kTruncated, option.offset};
  MIPV6_TRY(option.length, reader_.u8());
  if (!reader_.has(option.length)) return WireError{WireErrc::kBadLength, option.offset + 1};
  MIPV6_TRY(option.data, reader_.bytes(option.length));
  return option;
}

Status check_option(const TlvOption& option, std::size_t header_offset) {
  if (option.option_type != option_type::kHomeAddress) return {};
  // RFC 6275 §6.3: Option Length 16 (the home address).
  if (option.length != kHomeAddressOptionLength) {
    return WireError{WireErrc::kBadLength, option.offset + 1};
  }
  // RFC 6275 §6.3: alignment 8n+6, so the address sits at a multiple of 8.
  if ((option.offset - header_offset) % 8 != 6) {
    return WireError{WireErrc::kMisalignedOption, option.offset};
  }
  return {};
}

Ipv6Address home_address_of(const TlvOption& option) {
  Ipv6Address a;
  for (std::size_t i = 0; i < a.bytes.size() && i < option.data.size(); ++i) {
    a.bytes[i] = octet(option.data, i);
  }
  return a;
}

Ipv6Address RoutingHeader::address(std::size_t index) const {
  Ipv6Address a;
  for (std::size_t i = 0; i < 16; ++i)
    a.bytes[i] = octet(addresses, index * 16 + i);
  return a;
}

std::optional<Ipv6Address> RoutingHeader::final_destination() const {
  bool listed = routing_type == routing_type::kType0 || routing_type == routing_type::kType2;
  if (!listed || segments_left == 0 || address_count() == 0) return std::nullopt;
  return address(address_count() - 1);
}

Expected<RoutingHeader> decode_routing_header(Reader& r) {
  RoutingHeader h;
  h.offset = r.offset();
  MIPV6_TRY(Reader header, take_extension_header(r));
  MIPV6_TRY(h.next_header, header.u8());
  MIPV6_TRY(h.hdr_ext_len, header.u8());
  MIPV6_TRY(h.routing_type, header.u8());
  MIPV6_TRY(h.segments_left, header.u8());
  h.data = header.rest();
  if (h.routing_type == routing_type::kType2) {
    // RFC 6275 §6.4.1: exactly one address, so Hdr Ext Len is 2.
    if (h.hdr_ext_len != 2) return WireError{WireErrc::kBadLength, h.offset + 1};
  } else if (h.routing_type == routing_type::kType0) {
    // RFC 2460 §4.4: Hdr Ext Len is twice the number of addresses.
    if (h.hdr_ext_len % 2 != 0) return WireError{WireErrc::kBadLength, h.offset + 1};
  } else {
    return h;
  }
  MIPV6_TRY(h.reserved, header.u32());
  h.addresses = header.rest();
  // RFC 2460 §4.4: Segments Left greater than the number of addresses is an error (pointer at
  // Segments Left).
  if (h.segments_left > h.address_count()) return WireError{WireErrc::kBadValue, h.offset + 3};
  return h;
}

Expected<FragmentHeader> decode_fragment_header(Reader& r) {
  FragmentHeader h;
  h.offset = r.offset();
  if (!r.has(kFragmentHeaderSize)) return WireError{WireErrc::kTruncated, h.offset};
  MIPV6_TRY(h.next_header, r.u8());
  MIPV6_TRY(h.reserved, r.u8());
  MIPV6_TRY(std::uint16_t word, r.u16());
  h.fragment_offset = static_cast<std::uint16_t>(word >> 3);
  h.res = static_cast<std::uint8_t>((word >> 1) & 0x3u);
  h.m_flag = (word & 0x1u) != 0;
  MIPV6_TRY(h.identification, r.u32());
  return h;
}

Expected<AuthenticationHeader> decode_authentication_header(Reader& r) {
  AuthenticationHeader h;
  h.offset = r.offset();
  if (!r.has(2)) return WireError{WireErrc::kTruncated, h.offset};
  h.payload_len = octet(r.rest(), 1);
  // RFC 4302 §2.2: at least SPI and Sequence Number (Payload Len >= 1), and a multiple of
  // 8 octets in IPv6.
  if (h.payload_len < 1 || h.size() % 8 != 0 || !r.has(h.size())) {
    return WireError{WireErrc::kBadLength, h.offset + 1};
  }
  MIPV6_TRY(Reader header, r.sub(h.size()));
  MIPV6_TRY(h.next_header, header.u8());
  MIPV6_CHECK(header.skip(1));
  MIPV6_TRY(h.reserved, header.u16());
  MIPV6_TRY(h.spi, header.u32());
  MIPV6_TRY(h.sequence_number, header.u32());
  h.icv = header.rest();
  return h;
}

Expected<EspHeader> decode_esp_header(Reader& r) {
  EspHeader h;
  h.offset = r.offset();
  if (!r.has(kEspHeaderSize)) return WireError{WireErrc::kTruncated, h.offset};
  MIPV6_TRY(h.spi, r.u32());
  MIPV6_TRY(h.sequence_number, r.u32());
  MIPV6_TRY(h.data, r.bytes(r.remaining()));
  return h;
}

OptionSpec OptionSpec::padn(std::size_t total_size) {
  return {option_type::kPadN, Bytes(total_size >= 2 ? total_size - 2 : 0), std::nullopt};
}

OptionSpec OptionSpec::home_address(const Ipv6Address& home_address) {
  Bytes data;
  Writer(data).address(home_address);
  return {option_type::kHomeAddress, std::move(data), std::nullopt};
}

ExtensionHeader make_options_header(std::uint8_t type, std::span<const OptionSpec> options,
                                    bool auto_pad) {
  ExtensionHeader h{type, {}, false, false};
  Writer out(h.bytes);
  out.u8(ip_proto::kNoNextHeader);  // the builder chains the real value
  out.u8(0);
  for (const auto& option : options) {
    if (auto align = alignment_of(option.option_type); align && auto_pad) {
      append_padding(out, (align->y + align->x - out.size() % align->x) % align->x);
    }
    append_option(out, option);
  }
  // RFC 8200 §4.2: the header is a multiple of 8 octets long.
  if (auto_pad) append_padding(out, (8 - out.size() % 8) % 8);
  set_hdr_ext_len(h.bytes);
  return h;
}

ExtensionHeader make_home_address_destination_options(const Ipv6Address& home_address) {
  OptionSpec hao = OptionSpec::home_address(home_address);
  return make_options_header(ip_proto::kDestinationOptions, std::span(&hao, 1));
}

void write_home_address_destination_options(Writer& out, std::uint8_t next_header,
                                            const Ipv6Address& home_address) {
  // RFC 6275 §6.3: the option must start at 8n+6, so PadN(2) fills octets 2-5.
  out.u8(next_header);
  out.u8(2);  // Hdr Ext Len: 24 octets
  out.u8(option_type::kPadN);
  out.u8(2);
  out.u16(0);
  out.u8(option_type::kHomeAddress);
  out.u8(16);
  out.address(home_address);
}

void write_type2_routing_header(Writer& out, std::uint8_t next_header,
                                const Ipv6Address& home_address, std::uint8_t segments_left) {
  // RFC 6275 §6.4.1
  out.u8(next_header);
  out.u8(2);
  out.u8(routing_type::kType2);
  out.u8(segments_left);
  out.u32(0);
  out.address(home_address);
}

ExtensionHeader make_type2_routing_header(const Ipv6Address& home_address,
                                          std::uint8_t segments_left, std::uint32_t reserved) {
  ExtensionHeader h{ip_proto::kRouting, {}, false, false};
  Writer out(h.bytes);
  out.u8(ip_proto::kNoNextHeader);
  out.u8(2);
  out.u8(routing_type::kType2);
  out.u8(segments_left);
  out.u32(reserved);
  out.address(home_address);
  return h;
}

ExtensionHeader make_type0_routing_header(std::span<const Ipv6Address> addresses,
                                          std::optional<std::uint8_t> segments_left,
                                          std::uint32_t reserved) {
  ExtensionHeader h{ip_proto::kRouting, {}, false, false};
  Writer out(h.bytes);
  out.u8(ip_proto::kNoNextHeader);
  out.u8(0);
  out.u8(routing_type::kType0);
  out.u8(segments_left.value_or(static_cast<std::uint8_t>(addresses.size())));
  out.u32(reserved);
  for (const auto& a : addresses)
    out.address(a);
  set_hdr_ext_len(h.bytes);
  return h;
}

ExtensionHeader make_routing_header(std::uint8_t type, std::uint8_t segments_left, ByteSpan data) {
  ExtensionHeader h{ip_proto::kRouting, {}, false, false};
  // Reserving first also keeps GCC 12 at -O3 from a false -Wstringop-overflow in the insert.
  h.bytes.reserve(4 + data.size());
  Writer out(h.bytes);
  out.u8(ip_proto::kNoNextHeader);
  out.u8(0);
  out.u8(type);
  out.u8(segments_left);
  out.bytes(data);
  set_hdr_ext_len(h.bytes);
  return h;
}

ExtensionHeader make_fragment_header(const FragmentHeader& fields) {
  ExtensionHeader h{ip_proto::kFragment, {}, false, false};
  Writer out(h.bytes);
  out.u8(fields.next_header);
  out.u8(fields.reserved);
  out.u16(static_cast<std::uint16_t>((fields.fragment_offset & 0x1fffu) << 3 |
                                     (fields.res & 0x3u) << 1 | (fields.m_flag ? 1u : 0u)));
  out.u32(fields.identification);
  return h;
}

ExtensionHeader make_authentication_header(std::uint32_t spi, std::uint32_t sequence_number,
                                           ByteSpan icv, std::uint16_t reserved) {
  ExtensionHeader h{ip_proto::kAuthentication, {}, false, false};
  Writer out(h.bytes);
  out.u8(ip_proto::kNoNextHeader);
  out.u8(0);
  out.u16(reserved);
  out.u32(spi);
  out.u32(sequence_number);
  out.bytes(icv);
  // RFC 4302 §2.2: Payload Len is the length in 4-octet units minus 2.
  h.bytes[1] = static_cast<std::byte>(h.bytes.size() / 4 - 2);
  return h;
}

ExtensionHeader make_esp_header(std::uint32_t spi, std::uint32_t sequence_number, ByteSpan data) {
  ExtensionHeader h{ip_proto::kEsp, {}, false, false};
  Writer out(h.bytes);
  out.u32(spi);
  out.u32(sequence_number);
  out.bytes(data);
  return h;
}

}  // namespace mipv6::wire
