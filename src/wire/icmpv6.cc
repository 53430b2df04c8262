#include "wire/icmpv6.h"

#include <type_traits>

#include "wire/checksum.h"

namespace mipv6::wire {
namespace {

constexpr std::size_t kAddressSize = 16;
constexpr std::size_t kChecksumOffset = 2;  // RFC 4443 §2.1

Bytes rest_of(Reader& r) {
  ByteSpan rest = r.rest();
  (void)r.skip(rest.size());
  return Bytes(rest.begin(), rest.end());
}

Expected<NdOptions> options_of(Reader& r) {
  ByteSpan rest = r.rest();
  std::size_t start = r.offset();
  (void)r.skip(rest.size());
  return decode_nd_options(rest, start);
}

// RFC 4443 §3.1-§3.4: a 32-bit field, then as much of the invoking packet as fits.
template <class T, auto Field>
Expected<Icmpv6Body> parse_error_message(Reader& r) {
  T m;
  MIPV6_TRY(m.*Field, r.u32());
  m.invoking_packet = rest_of(r);
  return Icmpv6Body{std::move(m)};
}

// RFC 4443 §4.1, §4.2.
template <class T>
Expected<Icmpv6Body> parse_echo(Reader& r) {
  T m;
  MIPV6_TRY(m.identifier, r.u16());
  MIPV6_TRY(m.sequence_number, r.u16());
  m.data = rest_of(r);
  return Icmpv6Body{std::move(m)};
}

// RFC 4861 §4.1.
Expected<Icmpv6Body> parse_router_solicitation(Reader& r) {
  RouterSolicitation m;
  MIPV6_TRY(m.reserved, r.u32());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 4861 §4.2, RFC 6275 §7.1.
Expected<Icmpv6Body> parse_router_advertisement(Reader& r) {
  RouterAdvertisement m;
  MIPV6_TRY(m.cur_hop_limit, r.u8());
  MIPV6_TRY(std::uint8_t flags, r.u8());
  m.m = (flags & RouterAdvertisement::kFlagM) != 0;
  m.o = (flags & RouterAdvertisement::kFlagO) != 0;
  m.h = (flags & RouterAdvertisement::kFlagH) != 0;
  m.reserved = flags & RouterAdvertisement::kReservedMask;
  MIPV6_TRY(m.router_lifetime, r.u16());
  MIPV6_TRY(m.reachable_time, r.u32());
  MIPV6_TRY(m.retrans_timer, r.u32());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 4861 §4.3.
Expected<Icmpv6Body> parse_neighbor_solicitation(Reader& r) {
  NeighborSolicitation m;
  MIPV6_TRY(m.reserved, r.u32());
  MIPV6_TRY(m.target_address, r.address());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 4861 §4.4.
Expected<Icmpv6Body> parse_neighbor_advertisement(Reader& r) {
  NeighborAdvertisement m;
  MIPV6_TRY(std::uint32_t flags, r.u32());
  m.r = (flags & NeighborAdvertisement::kFlagR) != 0;
  m.s = (flags & NeighborAdvertisement::kFlagS) != 0;
  m.o = (flags & NeighborAdvertisement::kFlagO) != 0;
  m.reserved = flags & NeighborAdvertisement::kReservedMask;
  MIPV6_TRY(m.target_address, r.address());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 4861 §4.5.
Expected<Icmpv6Body> parse_redirect(Reader& r) {
  Redirect m;
  MIPV6_TRY(m.reserved, r.u32());
  MIPV6_TRY(m.target_address, r.address());
  MIPV6_TRY(m.destination_address, r.address());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 6275 §6.5: the format defines nothing after Reserved.
Expected<Icmpv6Body> parse_dhaad_request(Reader& r) {
  HomeAgentAddressDiscoveryRequest m;
  MIPV6_TRY(m.identifier, r.u16());
  MIPV6_TRY(m.reserved, r.u16());
  if (!r.empty()) return r.error(WireErrc::kTrailingBytes);
  return Icmpv6Body{m};
}

// RFC 6275 §6.6: the address count is the remaining length / 16, so it must divide evenly.
Expected<Icmpv6Body> parse_dhaad_reply(Reader& r) {
  HomeAgentAddressDiscoveryReply m;
  MIPV6_TRY(m.identifier, r.u16());
  MIPV6_TRY(m.reserved, r.u16());
  while (!r.empty()) {
    if (!r.has(kAddressSize)) return r.error(WireErrc::kBadLength);
    MIPV6_TRY(Ipv6Address address, r.address());
    m.home_agent_addresses.push_back(address);
  }
  return Icmpv6Body{std::move(m)};
}

// RFC 6275 §6.7.
Expected<Icmpv6Body> parse_mobile_prefix_solicitation(Reader& r) {
  MobilePrefixSolicitation m;
  MIPV6_TRY(m.identifier, r.u16());
  MIPV6_TRY(m.reserved, r.u16());
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

// RFC 6275 §6.8.
Expected<Icmpv6Body> parse_mobile_prefix_advertisement(Reader& r) {
  MobilePrefixAdvertisement m;
  MIPV6_TRY(m.identifier, r.u16());
  MIPV6_TRY(std::uint16_t flags, r.u16());
  m.m = (flags & MobilePrefixAdvertisement::kFlagM) != 0;
  m.o = (flags & MobilePrefixAdvertisement::kFlagO) != 0;
  m.reserved = flags & MobilePrefixAdvertisement::kReservedMask;
  MIPV6_TRY(m.options, options_of(r));
  return Icmpv6Body{std::move(m)};
}

Expected<Icmpv6Body> parse_body(std::uint8_t type, Reader& r) {
  switch (type) {
    case DestinationUnreachable::kType:
      return parse_error_message<DestinationUnreachable, &DestinationUnreachable::unused>(r);
    case PacketTooBig::kType:
      return parse_error_message<PacketTooBig, &PacketTooBig::mtu>(r);
    case TimeExceeded::kType:
      return parse_error_message<TimeExceeded, &TimeExceeded::unused>(r);
    case ParameterProblem::kType:
      return parse_error_message<ParameterProblem, &ParameterProblem::pointer>(r);
    case EchoRequest::kType:
      return parse_echo<EchoRequest>(r);
    case EchoReply::kType:
      return parse_echo<EchoReply>(r);
    case RouterSolicitation::kType:
      return parse_router_solicitation(r);
    case RouterAdvertisement::kType:
      return parse_router_advertisement(r);
    case NeighborSolicitation::kType:
      return parse_neighbor_solicitation(r);
    case NeighborAdvertisement::kType:
      return parse_neighbor_advertisement(r);
    case Redirect::kType:
      return parse_redirect(r);
    case HomeAgentAddressDiscoveryRequest::kType:
      return parse_dhaad_request(r);
    case HomeAgentAddressDiscoveryReply::kType:
      return parse_dhaad_reply(r);
    case MobilePrefixSolicitation::kType:
      return parse_mobile_prefix_solicitation(r);
    case MobilePrefixAdvertisement::kType:
      return parse_mobile_prefix_advertisement(r);
    default:
      return Icmpv6Body{UnknownIcmpv6Body{type, rest_of(r)}};
  }
}

// Writers append everything after the Checksum field.
void write_body(const DestinationUnreachable& m, Writer& w) {
  w.u32(m.unused);
  w.bytes(m.invoking_packet);
}
void write_body(const PacketTooBig& m, Writer& w) {
  w.u32(m.mtu);
  w.bytes(m.invoking_packet);
}
void write_body(const TimeExceeded& m, Writer& w) {
  w.u32(m.unused);
  w.bytes(m.invoking_packet);
}
void write_body(const ParameterProblem& m, Writer& w) {
  w.u32(m.pointer);
  w.bytes(m.invoking_packet);
}
void write_body(const EchoFields& m, Writer& w) {
  w.u16(m.identifier);
  w.u16(m.sequence_number);
  w.bytes(m.data);
}
void write_body(const RouterSolicitation& m, Writer& w) {
  w.u32(m.reserved);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const RouterAdvertisement& m, Writer& w) {
  w.u8(m.cur_hop_limit);
  w.u8(static_cast<std::uint8_t>(
      (m.m ? RouterAdvertisement::kFlagM : 0) | (m.o ? RouterAdvertisement::kFlagO : 0) |
      (m.h ? RouterAdvertisement::kFlagH : 0) | (m.reserved & RouterAdvertisement::kReservedMask)));
  w.u16(m.router_lifetime);
  w.u32(m.reachable_time);
  w.u32(m.retrans_timer);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const NeighborSolicitation& m, Writer& w) {
  w.u32(m.reserved);
  w.address(m.target_address);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const NeighborAdvertisement& m, Writer& w) {
  w.u32((m.r ? NeighborAdvertisement::kFlagR : 0) | (m.s ? NeighborAdvertisement::kFlagS : 0) |
        (m.o ? NeighborAdvertisement::kFlagO : 0) |
        (m.reserved & NeighborAdvertisement::kReservedMask));
  w.address(m.target_address);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const Redirect& m, Writer& w) {
  w.u32(m.reserved);
  w.address(m.target_address);
  w.address(m.destination_address);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const HomeAgentAddressDiscoveryRequest& m, Writer& w) {
  w.u16(m.identifier);
  w.u16(m.reserved);
}
void write_body(const HomeAgentAddressDiscoveryReply& m, Writer& w) {
  w.u16(m.identifier);
  w.u16(m.reserved);
  for (const auto& address : m.home_agent_addresses)
    w.address(address);
}
void write_body(const MobilePrefixSolicitation& m, Writer& w) {
  w.u16(m.identifier);
  w.u16(m.reserved);
  encode_nd_options(m.options, w.buffer());
}
void write_body(const MobilePrefixAdvertisement& m, Writer& w) {
  w.u16(m.identifier);
  w.u16(static_cast<std::uint16_t>((m.m ? MobilePrefixAdvertisement::kFlagM : 0) |
                                   (m.o ? MobilePrefixAdvertisement::kFlagO : 0) |
                                   (m.reserved & MobilePrefixAdvertisement::kReservedMask)));
  encode_nd_options(m.options, w.buffer());
}
void write_body(const UnknownIcmpv6Body& m, Writer& w) {
  w.bytes(m.body);
}

}  // namespace

std::uint8_t icmpv6_type(const Icmpv6Message& message) {
  return std::visit(
      [](const auto& body) -> std::uint8_t {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, UnknownIcmpv6Body>) {
          return body.type;
        } else {
          return T::kType;
        }
      },
      message.body);
}

Expected<Icmpv6Message> decode_icmpv6(ByteSpan msg) {
  Reader r(msg);
  Icmpv6Message m;
  MIPV6_TRY(std::uint8_t type, r.u8());
  MIPV6_TRY(m.code, r.u8());
  MIPV6_TRY(m.checksum, r.u16());
  MIPV6_TRY(m.body, parse_body(type, r));
  return m;
}

void encode_icmpv6(const Icmpv6Message& message, Bytes& out) {
  Writer w(out);
  w.u8(icmpv6_type(message));
  w.u8(message.code);
  w.u16(message.checksum);
  std::visit([&w](const auto& body) { write_body(body, w); }, message.body);
}

std::uint16_t icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                              ByteSpan msg) {
  return upper_layer_checksum(source, destination, kIcmpv6NextHeader, msg);
}

void fill_icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                          std::span<std::byte> msg) {
  if (msg.size() < kChecksumOffset + 2) return;
  store_be16(&msg[kChecksumOffset], 0);
  store_be16(&msg[kChecksumOffset], icmpv6_checksum(source, destination, msg));
}

std::optional<Ipv6Address> home_agents_anycast(const Ipv6Address& prefix, unsigned prefix_len) {
  // RFC 2526 §2: at least the 7-bit anycast ID must fit below the prefix.
  constexpr unsigned kAnycastIdBits = 7;
  constexpr std::uint8_t kMobileIpv6HomeAgentsId = 0x7e;  // RFC 2526 §3, RFC 6275 §6.5
  if (prefix_len > 128 - kAnycastIdBits) return std::nullopt;
  Ipv6Address a;
  for (unsigned bit = 0; bit < 128; ++bit) {
    std::uint8_t mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    bool one = bit < prefix_len ? (prefix.bytes[bit / 8] & mask) != 0 : true;
    if (one) a.bytes[bit / 8] |= mask;
  }
  // RFC 2526 §2: with 64-bit EUI-64 interface identifiers the universal/local bit (bit 6 of
  // the identifier, RFC 4291 Appendix A) is 0 — ::fdff:ffff:ffff:fffe.
  constexpr unsigned kEui64PrefixLen = 64;
  constexpr std::uint8_t kUniversalLocalBit = 0x02;
  if (prefix_len == kEui64PrefixLen) a.bytes[8] &= static_cast<std::uint8_t>(~kUniversalLocalBit);
  a.bytes[15] = static_cast<std::uint8_t>((a.bytes[15] & 0x80) | kMobileIpv6HomeAgentsId);
  return a;
}

}  // namespace mipv6::wire
