#include "wire/nd_options.h"

#include <type_traits>

namespace mipv6::wire {
namespace {

constexpr std::size_t kUnit = 8;  // RFC 4861 §4.6: Length is in units of 8 octets

template <class T>
constexpr bool has_fixed_length = requires {
  T::kLength;
};

// RFC 4861 §4.6: fixed-size options must carry exactly their Length.
template <class T>
Status check_fixed_length(std::uint8_t length, std::size_t length_offset) {
  if constexpr (has_fixed_length<T>) {
    if (length != T::kLength) return WireError{WireErrc::kBadLength, length_offset};
  }
  return {};
}

// Each parser reads the option's data (everything after Type and Length).
template <class Lla>
Expected<NdOptionBody> parse_link_layer(Reader& r) {
  return NdOptionBody{Lla{Bytes(r.rest().begin(), r.rest().end())}};
}

Expected<NdOptionBody> parse_prefix_information(Reader& r) {
  PrefixInformationOption o;
  MIPV6_TRY(o.prefix_length, r.u8());
  MIPV6_TRY(std::uint8_t flags, r.u8());
  o.l = (flags & PrefixInformationOption::kFlagL) != 0;
  o.a = (flags & PrefixInformationOption::kFlagA) != 0;
  o.r = (flags & PrefixInformationOption::kFlagR) != 0;  // RFC 6275 §7.2
  o.reserved1 = flags & PrefixInformationOption::kReserved1Mask;
  MIPV6_TRY(o.valid_lifetime, r.u32());
  MIPV6_TRY(o.preferred_lifetime, r.u32());
  MIPV6_TRY(o.reserved2, r.u32());
  MIPV6_TRY(o.prefix, r.address());
  return NdOptionBody{o};
}

Expected<NdOptionBody> parse_redirected_header(Reader& r) {
  RedirectedHeaderOption o;
  MIPV6_TRY(o.reserved1, r.u16());
  MIPV6_TRY(o.reserved2, r.u32());
  o.ip_header_and_data.assign(r.rest().begin(), r.rest().end());
  return NdOptionBody{o};
}

Expected<NdOptionBody> parse_mtu(Reader& r) {
  MtuOption o;
  MIPV6_TRY(o.reserved, r.u16());
  MIPV6_TRY(o.mtu, r.u32());
  return NdOptionBody{o};
}

Expected<NdOptionBody> parse_advertisement_interval(Reader& r) {
  AdvertisementIntervalOption o;
  MIPV6_TRY(o.reserved, r.u16());
  MIPV6_TRY(o.advertisement_interval, r.u32());  // RFC 6275 §7.3: milliseconds
  return NdOptionBody{o};
}

Expected<NdOptionBody> parse_home_agent_information(Reader& r) {
  HomeAgentInformationOption o;
  MIPV6_TRY(o.reserved, r.u16());               // kept raw: NEMO's R bit lives here (RFC 3963)
  MIPV6_TRY(o.home_agent_preference, r.u16());  // RFC 6275 §7.4
  MIPV6_TRY(o.home_agent_lifetime, r.u16());
  return NdOptionBody{o};
}

Expected<NdOptionBody> parse_body(std::uint8_t type, Reader& r) {
  switch (type) {
    case SourceLinkLayerAddressOption::kType:
      return parse_link_layer<SourceLinkLayerAddressOption>(r);
    case TargetLinkLayerAddressOption::kType:
      return parse_link_layer<TargetLinkLayerAddressOption>(r);
    case PrefixInformationOption::kType:
      return parse_prefix_information(r);
    case RedirectedHeaderOption::kType:
      return parse_redirected_header(r);
    case MtuOption::kType:
      return parse_mtu(r);
    case AdvertisementIntervalOption::kType:
      return parse_advertisement_interval(r);
    case HomeAgentInformationOption::kType:
      return parse_home_agent_information(r);
    default:
      return NdOptionBody{UnknownNdOption{type, Bytes(r.rest().begin(), r.rest().end())}};
  }
}

Status check_length(std::uint8_t type, std::uint8_t length, std::size_t length_offset) {
  switch (type) {
    case PrefixInformationOption::kType:
      return check_fixed_length<PrefixInformationOption>(length, length_offset);
    case MtuOption::kType:
      return check_fixed_length<MtuOption>(length, length_offset);
    case AdvertisementIntervalOption::kType:
      return check_fixed_length<AdvertisementIntervalOption>(length, length_offset);
    case HomeAgentInformationOption::kType:
      return check_fixed_length<HomeAgentInformationOption>(length, length_offset);
    default:
      return {};
  }
}

Expected<NdOption> decode_one(Reader& r) {
  MIPV6_TRY(std::uint8_t type, r.u8());
  std::size_t length_offset = r.offset();
  MIPV6_TRY(std::uint8_t length, r.u8());
  // RFC 4861 §4.6: "The value 0 is invalid. Nodes MUST silently discard an ND packet that
  // contains an option with length zero" — it would also make the walk loop forever.
  if (length == 0) return WireError{WireErrc::kBadLength, length_offset};
  MIPV6_CHECK(check_length(type, length, length_offset));
  std::size_t data_size = length * kUnit - 2;
  // An option running past the message: its Length is what is wrong.
  if (!r.has(data_size)) return WireError{WireErrc::kBadLength, length_offset};
  MIPV6_TRY(Reader data, r.sub(data_size));
  MIPV6_TRY(NdOptionBody body, parse_body(type, data));
  return NdOption{std::move(body), std::nullopt};
}

// Writers append the option's data (after Type and Length).
void write_body(const SourceLinkLayerAddressOption& o, Writer& w) {
  w.bytes(o.link_layer_address);
}
void write_body(const TargetLinkLayerAddressOption& o, Writer& w) {
  w.bytes(o.link_layer_address);
}
void write_body(const PrefixInformationOption& o, Writer& w) {
  w.u8(o.prefix_length);
  auto flags = static_cast<std::uint8_t>((o.l ? PrefixInformationOption::kFlagL : 0) |
                                         (o.a ? PrefixInformationOption::kFlagA : 0) |
                                         (o.r ? PrefixInformationOption::kFlagR : 0) |
                                         (o.reserved1 & PrefixInformationOption::kReserved1Mask));
  w.u8(flags);
  w.u32(o.valid_lifetime);
  w.u32(o.preferred_lifetime);
  w.u32(o.reserved2);
  w.address(o.prefix);
}
void write_body(const RedirectedHeaderOption& o, Writer& w) {
  w.u16(o.reserved1);
  w.u32(o.reserved2);
  w.bytes(o.ip_header_and_data);
}
void write_body(const MtuOption& o, Writer& w) {
  w.u16(o.reserved);
  w.u32(o.mtu);
}
void write_body(const AdvertisementIntervalOption& o, Writer& w) {
  w.u16(o.reserved);
  w.u32(o.advertisement_interval);
}
void write_body(const HomeAgentInformationOption& o, Writer& w) {
  w.u16(o.reserved);
  w.u16(o.home_agent_preference);
  w.u16(o.home_agent_lifetime);
}
void write_body(const UnknownNdOption& o, Writer& w) {
  w.bytes(o.data);
}

}  // namespace

std::uint8_t nd_option_type(const NdOption& option) {
  return std::visit(
      [](const auto& o) -> std::uint8_t {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, UnknownNdOption>) {
          return o.option_type;
        } else {
          return T::kType;
        }
      },
      option.body);
}

Expected<NdOptions> decode_nd_options(ByteSpan data, std::size_t base_offset) {
  Reader r(data, base_offset);
  NdOptions options;
  while (!r.empty()) {
    MIPV6_TRY(NdOption option, decode_one(r));
    options.push_back(std::move(option));
  }
  return options;
}

void encode_nd_option(const NdOption& option, Bytes& out) {
  Writer w(out);
  std::size_t start = w.size();
  w.u8(nd_option_type(option));
  w.u8(0);  // Length, patched below once the data size is known
  std::visit([&w](const auto& o) { write_body(o, w); }, option.body);
  // RFC 4861 §4.6: options end on an 8-octet boundary; variable data is zero-padded.
  std::size_t size = w.size() - start;
  w.zeros((kUnit - size % kUnit) % kUnit);
  auto units = static_cast<std::uint8_t>((w.size() - start) / kUnit);
  w.put_u8_at(start + 1, option.length.value_or(units));
}

void encode_nd_options(const NdOptions& options, Bytes& out) {
  for (const auto& option : options)
    encode_nd_option(option, out);
}

}  // namespace mipv6::wire
