// JSON view of ICMPv6 messages (src/wire/icmpv6.h) and their ND options (src/wire/nd_options.h).
// Key names are documented in docs/json.md, section "ICMPv6".
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "json_codec.h"
#include "wire/hex.h"
#include "wire/icmpv6.h"
#include "wire/nd_options.h"

namespace mipv6::pcap_json {
namespace {

using wire::Bytes;
using wire::ByteSpan;
using wire::Ipv6Address;

// ------------------------------------------------------------------------------------- names

struct Name {
  std::uint8_t number;
  std::string_view name;
};

constexpr std::array kMessageNames{
    Name{wire::DestinationUnreachable::kType, "destination_unreachable"},
    Name{wire::PacketTooBig::kType, "packet_too_big"},
    Name{wire::TimeExceeded::kType, "time_exceeded"},
    Name{wire::ParameterProblem::kType, "parameter_problem"},
    Name{wire::EchoRequest::kType, "echo_request"},
    Name{wire::EchoReply::kType, "echo_reply"},
    Name{wire::RouterSolicitation::kType, "router_solicitation"},
    Name{wire::RouterAdvertisement::kType, "router_advertisement"},
    Name{wire::NeighborSolicitation::kType, "neighbor_solicitation"},
    Name{wire::NeighborAdvertisement::kType, "neighbor_advertisement"},
    Name{wire::Redirect::kType, "redirect"},
    Name{wire::HomeAgentAddressDiscoveryRequest::kType, "dhaad_request"},
    Name{wire::HomeAgentAddressDiscoveryReply::kType, "dhaad_reply"},
    Name{wire::MobilePrefixSolicitation::kType, "mobile_prefix_solicitation"},
    Name{wire::MobilePrefixAdvertisement::kType, "mobile_prefix_advertisement"},
};

constexpr std::array kOptionNames{
    Name{wire::SourceLinkLayerAddressOption::kType, "source_link_layer_address"},
    Name{wire::TargetLinkLayerAddressOption::kType, "target_link_layer_address"},
    Name{wire::PrefixInformationOption::kType, "prefix_information"},
    Name{wire::RedirectedHeaderOption::kType, "redirected_header"},
    Name{wire::MtuOption::kType, "mtu"},
    Name{wire::AdvertisementIntervalOption::kType, "advertisement_interval"},
    Name{wire::HomeAgentInformationOption::kType, "home_agent_information"},
};

constexpr std::string_view kUnknown = "unknown";

template <std::size_t N>
std::string_view name_of(const std::array<Name, N>& names, std::uint8_t number) {
  for (const auto& n : names) {
    if (n.number == number) return n.name;
  }
  return kUnknown;
}

template <std::size_t N>
std::optional<std::uint8_t> number_of(const std::array<Name, N>& names, std::string_view name) {
  for (const auto& n : names) {
    if (n.name == name) return n.number;
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------ decode (to JSON)

json error_json(const wire::WireError& e) {
  return json{{"code", std::string(wire::to_string(e.code))}, {"offset", e.offset}};
}

std::string hex(ByteSpan bytes) {
  return wire::to_hex(bytes);
}

// Option fields, after "type", "option_type" and "length".
void option_fields(const wire::SourceLinkLayerAddressOption& o, json& j) {
  j["link_layer_address"] = hex(o.link_layer_address);
}
void option_fields(const wire::TargetLinkLayerAddressOption& o, json& j) {
  j["link_layer_address"] = hex(o.link_layer_address);
}
void option_fields(const wire::PrefixInformationOption& o, json& j) {
  j["prefix_length"] = o.prefix_length;
  j["flags"] = {{"L", o.l}, {"A", o.a}, {"R", o.r}};
  j["reserved1"] = o.reserved1;
  j["valid_lifetime"] = o.valid_lifetime;
  j["preferred_lifetime"] = o.preferred_lifetime;
  j["reserved2"] = o.reserved2;
  j["prefix"] = o.prefix.to_string();
}
void option_fields(const wire::RedirectedHeaderOption& o, json& j) {
  j["reserved1"] = o.reserved1;
  j["reserved2"] = o.reserved2;
  j["ip_header_and_data"] = hex(o.ip_header_and_data);
}
void option_fields(const wire::MtuOption& o, json& j) {
  j["reserved"] = o.reserved;
  j["mtu"] = o.mtu;
}
void option_fields(const wire::AdvertisementIntervalOption& o, json& j) {
  j["reserved"] = o.reserved;
  j["advertisement_interval"] = o.advertisement_interval;
}
void option_fields(const wire::HomeAgentInformationOption& o, json& j) {
  j["reserved"] = o.reserved;
  j["home_agent_preference"] = o.home_agent_preference;
  j["home_agent_lifetime"] = o.home_agent_lifetime;
}
void option_fields(const wire::UnknownNdOption& o, json& j) {
  j["data"] = hex(o.data);
}

json option_to_json(const wire::NdOption& option) {
  Bytes encoded;
  wire::encode_nd_option(option, encoded);  // the Length byte as it is on the wire
  std::uint8_t type = wire::nd_option_type(option);
  json j;
  j["type"] = name_of(kOptionNames, type);
  j["option_type"] = type;
  j["length"] = std::to_integer<unsigned>(encoded.at(1));
  std::visit([&j](const auto& o) { option_fields(o, j); }, option.body);
  return j;
}

json options_to_json(const wire::NdOptions& options) {
  json list = json::array();
  for (const auto& option : options)
    list.push_back(option_to_json(option));
  return list;
}

// Message fields, after "icmp_type", "type", "code" and "checksum".
void message_fields(const wire::DestinationUnreachable& m, json& j) {
  j["unused"] = m.unused;
  j["invoking_packet"] = hex(m.invoking_packet);
}
void message_fields(const wire::PacketTooBig& m, json& j) {
  j["mtu"] = m.mtu;
  j["invoking_packet"] = hex(m.invoking_packet);
}
void message_fields(const wire::TimeExceeded& m, json& j) {
  j["unused"] = m.unused;
  j["invoking_packet"] = hex(m.invoking_packet);
}
void message_fields(const wire::ParameterProblem& m, json& j) {
  j["pointer"] = m.pointer;
  j["invoking_packet"] = hex(m.invoking_packet);
}
void message_fields(const wire::EchoFields& m, json& j) {
  j["identifier"] = m.identifier;
  j["sequence_number"] = m.sequence_number;
  j["data"] = hex(m.data);
}
void message_fields(const wire::RouterSolicitation& m, json& j) {
  j["reserved"] = m.reserved;
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::RouterAdvertisement& m, json& j) {
  j["cur_hop_limit"] = m.cur_hop_limit;
  j["flags"] = {{"M", m.m}, {"O", m.o}, {"H", m.h}};
  j["reserved"] = m.reserved;
  j["router_lifetime"] = m.router_lifetime;
  j["reachable_time"] = m.reachable_time;
  j["retrans_timer"] = m.retrans_timer;
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::NeighborSolicitation& m, json& j) {
  j["reserved"] = m.reserved;
  j["target_address"] = m.target_address.to_string();
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::NeighborAdvertisement& m, json& j) {
  j["flags"] = {{"R", m.r}, {"S", m.s}, {"O", m.o}};
  j["reserved"] = m.reserved;
  j["target_address"] = m.target_address.to_string();
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::Redirect& m, json& j) {
  j["reserved"] = m.reserved;
  j["target_address"] = m.target_address.to_string();
  j["destination_address"] = m.destination_address.to_string();
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::HomeAgentAddressDiscoveryRequest& m, json& j) {
  j["identifier"] = m.identifier;
  j["reserved"] = m.reserved;
}
void message_fields(const wire::HomeAgentAddressDiscoveryReply& m, json& j) {
  j["identifier"] = m.identifier;
  j["reserved"] = m.reserved;
  json list = json::array();
  for (const auto& a : m.home_agent_addresses)
    list.push_back(a.to_string());
  j["home_agent_addresses"] = std::move(list);
}
void message_fields(const wire::MobilePrefixSolicitation& m, json& j) {
  j["identifier"] = m.identifier;
  j["reserved"] = m.reserved;
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::MobilePrefixAdvertisement& m, json& j) {
  j["identifier"] = m.identifier;
  j["flags"] = {{"M", m.m}, {"O", m.o}};
  j["reserved"] = m.reserved;
  j["options"] = options_to_json(m.options);
}
void message_fields(const wire::UnknownIcmpv6Body& m, json& j) {
  j["message_body"] = hex(m.body);
}

// What a message that fails to decode still shows: its header and the raw body.
json undecodable_to_json(ByteSpan message, const wire::WireError& error) {
  json j;
  if (!message.empty()) {
    auto type = std::to_integer<std::uint8_t>(message[0]);
    j["icmp_type"] = type;
    j["type"] = name_of(kMessageNames, type);
  }
  if (message.size() >= 2) j["code"] = std::to_integer<unsigned>(message[1]);
  if (message.size() >= 4) {
    j["checksum"] = wire::load_be16(&message[2]);
    j["message_body"] = hex(message.subspan(4));
  }
  j["error"] = error_json(error);
  return j;
}

// ---------------------------------------------------------------------- encode (from JSON)

std::string join(const std::string& path, std::string_view key) {
  return path + "." + std::string(key);
}

// Typed access to one JSON object's keys; every error names the full key path.
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw JsonError(path_ + ": expected an object");
  }

  const std::string& path() const { return path_; }
  bool has(std::string_view key) const { return j_.contains(key); }
  const json& at(std::string_view key) const {
    if (!has(key)) throw JsonError(join(path_, key) + ": missing");
    return j_.at(key);
  }

  // An unsigned integer field of type T; `fallback` when absent (required when it is empty).
  template <class T>
  T uint(std::string_view key, std::optional<T> fallback = T{0}) const {
    if (!has(key)) {
      if (fallback) return *fallback;
      throw JsonError(join(path_, key) + ": missing");
    }
    const json& v = j_.at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      throw JsonError(join(path_, key) + ": expected a non-negative integer");
    }
    auto value = v.get<std::uint64_t>();
    if (value > std::numeric_limits<T>::max()) {
      throw JsonError(join(path_, key) + ": " + std::to_string(value) + " is out of range");
    }
    return static_cast<T>(value);
  }
  template <class T>
  T required_uint(std::string_view key) const {
    return uint<T>(key, std::nullopt);
  }
  std::optional<std::uint8_t> optional_u8(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return uint<std::uint8_t>(key);
  }

  Ipv6Address address(std::string_view key) const {
    return parse_address(at(key), join(path_, key));
  }

  static Ipv6Address parse_address(const json& v, const std::string& where) {
    if (v.is_string()) {
      if (auto a = Ipv6Address::parse(v.get<std::string>())) return *a;
    }
    throw JsonError(where + ": expected an IPv6 address");
  }

  Bytes bytes(std::string_view key) const {
    if (!has(key)) return {};
    const json& v = j_.at(key);
    if (v.is_string()) {
      if (auto b = wire::from_hex(v.get<std::string>())) return *b;
    }
    throw JsonError(join(path_, key) + ": expected a hex string");
  }

  // "flags": {"M": true, ...} with exactly the letters the format defines.
  template <std::size_t N>
  std::array<bool, N> flags(const std::array<std::string_view, N>& letters) const {
    std::array<bool, N> out{};
    if (!has("flags")) return out;
    const json& f = j_.at("flags");
    std::string where = join(path_, "flags");
    if (!f.is_object()) throw JsonError(where + ": expected an object");
    for (const auto& [letter, value] : f.items()) {
      std::size_t i = 0;
      while (i < N && letters[i] != letter)
        ++i;
      if (i == N) throw JsonError(join(where, letter) + ": no such flag");
      if (!value.is_boolean()) throw JsonError(join(where, letter) + ": expected true or false");
      out[i] = value.template get<bool>();
    }
    return out;
  }

  const json& array(std::string_view key) const {
    const json& v = at(key);
    if (!v.is_array()) throw JsonError(join(path_, key) + ": expected an array");
    return v;
  }

 private:
  const json& j_;
  std::string path_;
};

// The "type" name, checked against the numeric type when both are given.
template <std::size_t N>
std::uint8_t resolve_type(const Fields& f, const std::array<Name, N>& names,
                          std::string_view number_key) {
  std::optional<std::uint8_t> number = f.optional_u8(number_key);
  if (!f.has("type") || f.at("type") == kUnknown) {
    if (!number) throw JsonError(join(f.path(), number_key) + ": missing");
    return *number;
  }
  if (!f.at("type").is_string()) throw JsonError(join(f.path(), "type") + ": expected a string");
  auto name = f.at("type").get<std::string>();
  auto by_name = number_of(names, name);
  if (!by_name) throw JsonError(join(f.path(), "type") + ": unknown type \"" + name + "\"");
  if (number && *number != *by_name) {
    throw JsonError(join(f.path(), number_key) + ": " + std::to_string(*number) +
                    " does not match type \"" + name + "\"");
  }
  return *by_name;
}

wire::PrefixInformationOption prefix_information_from(const Fields& f) {
  wire::PrefixInformationOption o;
  o.prefix_length = f.uint<std::uint8_t>("prefix_length");
  auto [l, a, r] = f.flags(std::array<std::string_view, 3>{"L", "A", "R"});
  o.l = l;
  o.a = a;
  o.r = r;
  o.reserved1 = f.uint<std::uint8_t>("reserved1");
  if (o.reserved1 > wire::PrefixInformationOption::kReserved1Mask) {
    throw JsonError(join(f.path(), "reserved1") + ": only the 5 low-order bits exist");
  }
  o.valid_lifetime = f.uint<std::uint32_t>("valid_lifetime");
  o.preferred_lifetime = f.uint<std::uint32_t>("preferred_lifetime");
  o.reserved2 = f.uint<std::uint32_t>("reserved2");
  o.prefix = f.address("prefix");
  return o;
}

wire::NdOptionBody option_body_from(std::uint8_t type, const Fields& f) {
  switch (type) {
    case wire::SourceLinkLayerAddressOption::kType:
      return wire::SourceLinkLayerAddressOption{f.bytes("link_layer_address")};
    case wire::TargetLinkLayerAddressOption::kType:
      return wire::TargetLinkLayerAddressOption{f.bytes("link_layer_address")};
    case wire::PrefixInformationOption::kType:
      return prefix_information_from(f);
    case wire::RedirectedHeaderOption::kType:
      return wire::RedirectedHeaderOption{f.uint<std::uint16_t>("reserved1"),
                                          f.uint<std::uint32_t>("reserved2"),
                                          f.bytes("ip_header_and_data")};
    case wire::MtuOption::kType:
      return wire::MtuOption{f.uint<std::uint16_t>("reserved"),
                             f.required_uint<std::uint32_t>("mtu")};
    case wire::AdvertisementIntervalOption::kType:
      return wire::AdvertisementIntervalOption{
          f.uint<std::uint16_t>("reserved"),
          f.required_uint<std::uint32_t>("advertisement_interval")};
    case wire::HomeAgentInformationOption::kType:
      return wire::HomeAgentInformationOption{
          f.uint<std::uint16_t>("reserved"), f.uint<std::uint16_t>("home_agent_preference"),
          f.required_uint<std::uint16_t>("home_agent_lifetime")};
    default:
      return wire::UnknownNdOption{type, f.bytes("data")};
  }
}

wire::NdOption option_from_json(const json& j, const std::string& path) {
  Fields f(j, path);
  std::uint8_t type = resolve_type(f, kOptionNames, "option_type");
  return wire::NdOption{option_body_from(type, f), f.optional_u8("length")};
}

wire::NdOptions options_from(const Fields& f) {
  wire::NdOptions options;
  if (!f.has("options")) return options;
  const json& list = f.array("options");
  for (std::size_t i = 0; i < list.size(); ++i) {
    options.push_back(option_from_json(list[i], f.path() + ".options[" + std::to_string(i) + "]"));
  }
  return options;
}

std::vector<Ipv6Address> addresses_from(const Fields& f, std::string_view key) {
  std::vector<Ipv6Address> out;
  if (!f.has(key)) return out;
  const json& list = f.array(key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    out.push_back(
        Fields::parse_address(list[i], join(f.path(), key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

wire::RouterAdvertisement router_advertisement_from(const Fields& f) {
  wire::RouterAdvertisement m;
  m.cur_hop_limit = f.uint<std::uint8_t>("cur_hop_limit");
  auto [managed, other, home_agent] = f.flags(std::array<std::string_view, 3>{"M", "O", "H"});
  m.m = managed;
  m.o = other;
  m.h = home_agent;
  m.reserved = f.uint<std::uint8_t>("reserved");
  if (m.reserved > wire::RouterAdvertisement::kReservedMask) {
    throw JsonError(join(f.path(), "reserved") + ": only the 5 low-order bits exist");
  }
  m.router_lifetime = f.uint<std::uint16_t>("router_lifetime");
  m.reachable_time = f.uint<std::uint32_t>("reachable_time");
  m.retrans_timer = f.uint<std::uint32_t>("retrans_timer");
  m.options = options_from(f);
  return m;
}

wire::NeighborAdvertisement neighbor_advertisement_from(const Fields& f) {
  wire::NeighborAdvertisement m;
  auto [router, solicited, override_flag] = f.flags(std::array<std::string_view, 3>{"R", "S", "O"});
  m.r = router;
  m.s = solicited;
  m.o = override_flag;
  m.reserved = f.uint<std::uint32_t>("reserved");
  if (m.reserved > wire::NeighborAdvertisement::kReservedMask) {
    throw JsonError(join(f.path(), "reserved") + ": only the 29 low-order bits exist");
  }
  m.target_address = f.address("target_address");
  m.options = options_from(f);
  return m;
}

wire::MobilePrefixAdvertisement mobile_prefix_advertisement_from(const Fields& f) {
  wire::MobilePrefixAdvertisement m;
  m.identifier = f.uint<std::uint16_t>("identifier");
  auto [managed, other] = f.flags(std::array<std::string_view, 2>{"M", "O"});
  m.m = managed;
  m.o = other;
  m.reserved = f.uint<std::uint16_t>("reserved");
  if (m.reserved > wire::MobilePrefixAdvertisement::kReservedMask) {
    throw JsonError(join(f.path(), "reserved") + ": only the 14 low-order bits exist");
  }
  m.options = options_from(f);
  return m;
}

template <class T>
T echo_from(const Fields& f) {
  T m;
  m.identifier = f.uint<std::uint16_t>("identifier");
  m.sequence_number = f.uint<std::uint16_t>("sequence_number");
  m.data = f.bytes("data");
  return m;
}

wire::Icmpv6Body body_from(std::uint8_t type, const Fields& f) {
  switch (type) {
    case wire::DestinationUnreachable::kType:
      return wire::DestinationUnreachable{f.uint<std::uint32_t>("unused"),
                                          f.bytes("invoking_packet")};
    case wire::PacketTooBig::kType:
      return wire::PacketTooBig{f.required_uint<std::uint32_t>("mtu"), f.bytes("invoking_packet")};
    case wire::TimeExceeded::kType:
      return wire::TimeExceeded{f.uint<std::uint32_t>("unused"), f.bytes("invoking_packet")};
    case wire::ParameterProblem::kType:
      return wire::ParameterProblem{f.required_uint<std::uint32_t>("pointer"),
                                    f.bytes("invoking_packet")};
    case wire::EchoRequest::kType:
      return echo_from<wire::EchoRequest>(f);
    case wire::EchoReply::kType:
      return echo_from<wire::EchoReply>(f);
    case wire::RouterSolicitation::kType:
      return wire::RouterSolicitation{f.uint<std::uint32_t>("reserved"), options_from(f)};
    case wire::RouterAdvertisement::kType:
      return router_advertisement_from(f);
    case wire::NeighborSolicitation::kType:
      return wire::NeighborSolicitation{f.uint<std::uint32_t>("reserved"),
                                        f.address("target_address"), options_from(f)};
    case wire::NeighborAdvertisement::kType:
      return neighbor_advertisement_from(f);
    case wire::Redirect::kType:
      return wire::Redirect{f.uint<std::uint32_t>("reserved"), f.address("target_address"),
                            f.address("destination_address"), options_from(f)};
    case wire::HomeAgentAddressDiscoveryRequest::kType:
      return wire::HomeAgentAddressDiscoveryRequest{f.uint<std::uint16_t>("identifier"),
                                                    f.uint<std::uint16_t>("reserved")};
    case wire::HomeAgentAddressDiscoveryReply::kType:
      return wire::HomeAgentAddressDiscoveryReply{f.uint<std::uint16_t>("identifier"),
                                                  f.uint<std::uint16_t>("reserved"),
                                                  addresses_from(f, "home_agent_addresses")};
    case wire::MobilePrefixSolicitation::kType:
      return wire::MobilePrefixSolicitation{f.uint<std::uint16_t>("identifier"),
                                            f.uint<std::uint16_t>("reserved"), options_from(f)};
    case wire::MobilePrefixAdvertisement::kType:
      return mobile_prefix_advertisement_from(f);
    default:
      return wire::UnknownIcmpv6Body{type, f.bytes("message_body")};
  }
}

}  // namespace

json icmpv6_to_json(ByteSpan message) {
  auto decoded = wire::decode_icmpv6(message);
  if (!decoded) return undecodable_to_json(message, decoded.error());
  std::uint8_t type = wire::icmpv6_type(*decoded);
  json j;
  j["icmp_type"] = type;
  j["type"] = name_of(kMessageNames, type);
  j["code"] = decoded->code;
  j["checksum"] = decoded->checksum;
  std::visit([&j](const auto& body) { message_fields(body, j); }, decoded->body);
  return j;
}

Bytes icmpv6_from_json(const json& j) {
  Fields f(j, "icmpv6");
  std::uint8_t type = resolve_type(f, kMessageNames, "icmp_type");
  wire::Icmpv6Message m;
  m.code = f.uint<std::uint8_t>("code");
  m.checksum = f.uint<std::uint16_t>("checksum");
  // "message_body" (hex) overrides the typed fields: how undecodable messages round-trip and
  // how broken ones are built on purpose.
  if (f.has("message_body")) {
    m.body = wire::UnknownIcmpv6Body{type, f.bytes("message_body")};
  } else {
    m.body = body_from(type, f);
  }
  Bytes out;
  wire::encode_icmpv6(m, out);
  return out;
}

}  // namespace mipv6::pcap_json
