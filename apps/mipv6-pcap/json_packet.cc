// JSON view of whole IPv6 packets (docs/json.md, "Packet"): the IPv6 header, every extension
// header, and the upper layer (delegated to the Mobility Header and ICMPv6 views), recursing
// into IPv6-in-IPv6 (RFC 2473) up to a fixed depth.
#include <limits>
#include <string>

#include "json_codec.h"
#include "wire/chain.h"
#include "wire/extension_headers.h"
#include "wire/hex.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::pcap_json {
namespace {

using wire::Bytes;
using wire::ByteSpan;
namespace ip_proto = wire::ip_proto;

// Tunnels nested deeper than this are shown raw: enough for any real Mobile IPv6 path (a
// reverse-tunnelled packet inside an ESP-less HA-HA tunnel), small enough to bound the work.
constexpr int kMaxDepth = 4;

json error_json(const wire::WireError& e) {
  return json{{"code", std::string(wire::to_string(e.code))}, {"offset", e.offset}};
}

// ---------------------------------------------------------------------------- decode (to JSON)

json ipv6_to_json(const wire::Ipv6Header& h) {
  return json{{"version", h.version},           {"traffic_class", h.traffic_class},
              {"flow_label", h.flow_label},     {"payload_length", h.payload_length},
              {"next_header", h.next_header},   {"hop_limit", h.hop_limit},
              {"source", h.source.to_string()}, {"destination", h.destination.to_string()}};
}

json option_to_json(const wire::TlvOption& o) {
  json j{{"option_type", o.option_type}};
  switch (o.option_type) {
    case wire::option_type::kPad1:
      j["type"] = "pad1";
      return j;
    case wire::option_type::kPadN:
      j["type"] = "padn";
      break;
    case wire::option_type::kHomeAddress:
      if (o.length == wire::kHomeAddressOptionLength) {
        j["type"] = "home_address";
        j["length"] = o.length;
        j["home_address"] = wire::home_address_of(o).to_string();
        return j;
      }
      j["type"] = "unknown";
      break;
    default:
      j["type"] = "unknown";
      break;
  }
  j["length"] = o.length;
  j["data"] = wire::to_hex(o.data);
  return j;
}

// Options of a header that the walker already validated (or that failed later in the walk:
// then the options listed stop at the first one that does not decode).
json options_to_json(const wire::OptionsHeader& h) {
  json list = json::array();
  wire::OptionCursor cursor(h);
  while (!cursor.done()) {
    auto option = cursor.next();
    if (!option) break;
    list.push_back(option_to_json(*option));
  }
  return list;
}

json options_header_to_json(wire::Reader& r, const char* type) {
  auto h = wire::decode_options_header(r);
  if (!h) return json{{"type", type}};
  return json{{"type", type},
              {"next_header", h->next_header},
              {"hdr_ext_len", h->hdr_ext_len},
              {"options", options_to_json(*h)}};
}

json routing_to_json(wire::Reader& r) {
  auto h = wire::decode_routing_header(r);
  if (!h) return json{{"type", "routing"}};
  json j{{"type", "routing"},
         {"next_header", h->next_header},
         {"hdr_ext_len", h->hdr_ext_len},
         {"routing_type", h->routing_type},
         {"segments_left", h->segments_left}};
  if (h->routing_type == wire::routing_type::kType2) {
    j["reserved"] = h->reserved;
    j["home_address"] = h->address(0).to_string();
  } else if (h->routing_type == wire::routing_type::kType0) {
    j["reserved"] = h->reserved;
    json addresses = json::array();
    for (std::size_t i = 0; i < h->address_count(); ++i) {
      addresses.push_back(h->address(i).to_string());
    }
    j["addresses"] = addresses;
  } else {
    j["data"] = wire::to_hex(h->data);
  }
  return j;
}

json fragment_to_json(wire::Reader& r) {
  auto h = wire::decode_fragment_header(r);
  if (!h) return json{{"type", "fragment"}};
  return json{{"type", "fragment"},
              {"next_header", h->next_header},
              {"reserved", h->reserved},
              {"fragment_offset", h->fragment_offset},
              {"res", h->res},
              {"flags", {{"M", h->m_flag}}},
              {"identification", h->identification}};
}

json authentication_to_json(wire::Reader& r) {
  auto h = wire::decode_authentication_header(r);
  if (!h) return json{{"type", "authentication_header"}};
  return json{{"type", "authentication_header"},
              {"next_header", h->next_header},
              {"payload_len", h->payload_len},
              {"reserved", h->reserved},
              {"spi", h->spi},
              {"sequence_number", h->sequence_number},
              {"icv", wire::to_hex(h->icv)}};
}

json esp_to_json(wire::Reader& r) {
  auto h = wire::decode_esp_header(r);
  if (!h) return json{{"type", "esp"}};
  return json{{"type", "esp"},
              {"spi", h->spi},
              {"sequence_number", h->sequence_number},
              {"data", wire::to_hex(h->data)}};
}

json header_to_json(ByteSpan packet, const wire::HeaderLocation& where) {
  wire::Reader r(packet.subspan(where.offset, where.length), where.offset);
  json j;
  switch (where.type) {
    case ip_proto::kHopByHop:
      j = options_header_to_json(r, "hop_by_hop");
      break;
    case ip_proto::kDestinationOptions:
      j = options_header_to_json(r, "destination_options");
      break;
    case ip_proto::kRouting:
      j = routing_to_json(r);
      break;
    case ip_proto::kFragment:
      j = fragment_to_json(r);
      break;
    case ip_proto::kAuthentication:
      j = authentication_to_json(r);
      break;
    default:
      j = esp_to_json(r);
      break;
  }
  j["offset"] = where.offset;
  j["length"] = where.length;
  return j;
}

json payload_json(std::uint8_t protocol, ByteSpan data) {
  return json{{"protocol", protocol}, {"length", data.size()}, {"data", wire::to_hex(data)}};
}

bool checksum_valid(ByteSpan packet, const wire::PacketLayout& layout) {
  return static_cast<bool>(wire::verify_upper_checksum(packet, layout));
}

// A message decoded by another view: its error offset becomes relative to the IPv6 header and
// is also reported as the packet's error.
void adopt_message(json& out, const char* key, json message, std::size_t upper_offset) {
  if (message.contains("error") && message["error"].is_object() &&
      message["error"].contains("offset")) {
    auto& offset = message["error"]["offset"];
    if (offset.is_number_integer() && offset.get<std::int64_t>() >= 0) {
      offset = offset.get<std::size_t>() + upper_offset;
    }
    out["error"] = message["error"];
  }
  out[key] = std::move(message);
}

json udp_to_json(ByteSpan udp, bool valid) {
  wire::Reader r(udp);
  json j;
  j["source_port"] = *r.u16();
  j["destination_port"] = *r.u16();
  j["length"] = *r.u16();
  j["checksum"] = *r.u16();
  j["checksum_valid"] = valid;
  j["data"] = wire::to_hex(r.rest());
  return j;
}

json decode_packet(ByteSpan packet, int depth);

bool esp_decoded(const wire::PacketLayout& layout) {
  return layout.header_count > 0 && layout.headers[layout.header_count - 1].type == ip_proto::kEsp;
}

void upper_to_json(json& out, ByteSpan packet, const wire::PacketLayout& layout, int depth) {
  ByteSpan upper = packet.subspan(layout.upper_offset, layout.upper_length);
  std::uint8_t protocol = layout.upper_protocol;
  // A decoded ESP header is shown as the last extension header (also in a first fragment with
  // M set); after a non-first fragment it was not decoded, and the fragment data below keeps
  // the packet's bytes.
  if (protocol == ip_proto::kEsp && esp_decoded(layout)) return;
  if (wire::checksum_field_offset(protocol) && layout.upper_complete()) {
    auto a = wire::pseudo_header_addresses(layout);
    out["pseudo_header"] = {{"source", a.source.to_string()},
                            {"destination", a.destination.to_string()}};
  }
  if (!layout.upper_complete()) {
    out["payload"] = payload_json(protocol, upper);  // a fragment: not decodable alone
  } else if (protocol == ip_proto::kMobility) {
    json message = mobility_to_json(upper);
    message["checksum_valid"] = checksum_valid(packet, layout);
    adopt_message(out, "mobility", std::move(message), layout.upper_offset);
  } else if (protocol == ip_proto::kIcmpv6) {
    json message = icmpv6_to_json(upper);
    message["checksum_valid"] = checksum_valid(packet, layout);
    adopt_message(out, "icmpv6", std::move(message), layout.upper_offset);
  } else if (protocol == ip_proto::kIpv6 && depth < kMaxDepth) {
    out["inner"] = decode_packet(upper, depth + 1);
    // The inner packet keeps its own offsets; the outer packet reports the error too, with
    // the offset counted from the outer IPv6 header, so a caller checking only the top level
    // never mistakes a broken tunnelled packet for a good one.
    const json& inner = out["inner"];
    if (inner.contains("error")) {
      json error = inner["error"];
      if (error["offset"].is_number_unsigned())
        error["offset"] = error["offset"].get<std::size_t>() + layout.upper_offset;
      out["error"] = std::move(error);
    }
  } else {
    out["payload"] = payload_json(protocol, upper);
    if (protocol == ip_proto::kTcp) {
      out["payload"]["checksum_valid"] = checksum_valid(packet, layout);
    } else if (protocol == ip_proto::kUdp && upper.size() >= 8) {
      out["udp"] = udp_to_json(upper, checksum_valid(packet, layout));
    } else if (protocol == ip_proto::kUdp) {
      out["error"] = error_json({wire::WireErrc::kTruncated, layout.upper_offset + upper.size()});
    }
  }
}

json decode_packet(ByteSpan packet, int depth) {
  json out = json::object();
  wire::PacketLayout layout;
  auto status = wire::walk_chain_into(packet, layout);
  // The fixed header is shown whenever it decoded, even if the chain after it did not.
  if (wire::decode_ipv6_header(packet)) out["ipv6"] = ipv6_to_json(layout.ipv6);
  if (out.contains("ipv6")) {
    json headers = json::array();
    for (std::size_t i = 0; i < layout.header_count; ++i) {
      headers.push_back(header_to_json(packet, layout.headers[i]));
    }
    out["extension_headers"] = headers;
  }
  if (!status) {
    out["error"] = error_json(status.error());
    return out;
  }
  upper_to_json(out, packet, layout, depth);
  // An inner (tunnelled) packet may be followed by octets inside the outer payload; shown so
  // that encode reproduces the outer packet. (At the top level such octets are link-layer
  // padding, outside the packet.)
  if (depth > 0 && packet.size() > layout.packet_length())
    out["trailing_data"] = wire::to_hex(packet.subspan(layout.packet_length()));
  return out;
}

// ---------------------------------------------------------------------------- encode (from JSON)

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

template <class T>
std::optional<T> optional_uint(const json& obj, std::string_view key, const std::string& path,
                               std::uint64_t max = std::numeric_limits<T>::max()) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::nullopt;
  // Parsed JSON holds non-negative numbers as unsigned, values built in code as signed.
  if (!it->is_number_integer() || it->template get<std::int64_t>() < 0) {
    throw JsonError(join(path, key) + ": expected a non-negative integer");
  }
  auto v = it->template get<std::uint64_t>();
  if (v > max) throw JsonError(join(path, key) + ": " + std::to_string(v) + " is out of range");
  return static_cast<T>(v);
}

template <class T>
T uint_or(const json& obj, std::string_view key, const std::string& path, T fallback,
          std::uint64_t max = std::numeric_limits<T>::max()) {
  return optional_uint<T>(obj, key, path, max).value_or(fallback);
}

const json& required(const json& obj, std::string_view key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) throw JsonError(join(path, key) + ": missing");
  return *it;
}

template <class T>
T required_uint(const json& obj, std::string_view key, const std::string& path) {
  required(obj, key, path);
  return *optional_uint<T>(obj, key, path);
}

wire::Ipv6Address address_at(const json& value, const std::string& where) {
  if (value.is_string()) {
    if (auto a = wire::Ipv6Address::parse(value.get<std::string>())) return *a;
  }
  throw JsonError(where + ": expected an IPv6 address");
}

wire::Ipv6Address address_field(const json& obj, std::string_view key, const std::string& path) {
  return address_at(required(obj, key, path), join(path, key));
}

Bytes hex_field(const json& obj, std::string_view key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) {
    if (auto bytes = wire::from_hex(it->get<std::string>())) return *bytes;
  }
  throw JsonError(join(path, key) + ": expected a hex string");
}

const json& object_field(const json& obj, std::string_view key, const std::string& path) {
  const json& v = required(obj, key, path);
  if (!v.is_object()) throw JsonError(join(path, key) + ": expected an object");
  return v;
}

std::string string_field(const json& obj, std::string_view key, const std::string& path) {
  const json& v = required(obj, key, path);
  if (!v.is_string()) throw JsonError(join(path, key) + ": expected a string");
  return v.get<std::string>();
}

wire::OptionSpec option_from_json(const json& o, const std::string& path) {
  if (!o.is_object()) throw JsonError(path + ": expected an object");
  std::string type = o.contains("type") ? string_field(o, "type", path) : "unknown";
  wire::OptionSpec spec;
  spec.length = optional_uint<std::uint8_t>(o, "length", path);
  if (type == "pad1") return wire::OptionSpec::pad1();
  if (type == "padn") {
    spec.option_type = wire::option_type::kPadN;
    spec.data = o.contains("data") ? hex_field(o, "data", path) : Bytes(spec.length.value_or(0));
  } else if (type == "home_address") {
    spec.option_type = wire::option_type::kHomeAddress;
    wire::Writer(spec.data).address(address_field(o, "home_address", path));
  } else if (type == "unknown") {
    spec.option_type = required_uint<std::uint8_t>(o, "option_type", path);
    spec.data = hex_field(o, "data", path);
  } else {
    throw JsonError(join(path, "type") + ": unknown option type \"" + type + "\"");
  }
  return spec;
}

// Pins the Next Header and length octets that the JSON gives.
void pin(wire::ExtensionHeader& h, const json& j, const char* length_key, const std::string& path) {
  if (auto nh = optional_uint<std::uint8_t>(j, "next_header", path)) {
    h.bytes[0] = static_cast<std::byte>(*nh);
    h.pin_next_header = true;
  }
  if (length_key == nullptr) return;
  if (auto len = optional_uint<std::uint8_t>(j, length_key, path)) {
    h.bytes[1] = static_cast<std::byte>(*len);
    h.pin_length = true;
  }
}

wire::ExtensionHeader options_header_from_json(std::uint8_t type, const json& j,
                                               const std::string& path) {
  std::vector<wire::OptionSpec> options;
  bool padded = false;
  if (j.contains("options")) {
    const json& list = j["options"];
    if (!list.is_array()) throw JsonError(join(path, "options") + ": expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      options.push_back(
          option_from_json(list[i], join(path, "options") + "[" + std::to_string(i) + "]"));
      auto t = options.back().option_type;
      padded = padded || t == wire::option_type::kPad1 || t == wire::option_type::kPadN;
    }
  }
  // docs/json.md: a list without padding gets the padding the alignment rules need.
  auto h = wire::make_options_header(type, options, !padded);
  pin(h, j, "hdr_ext_len", path);
  if (h.bytes.size() % 8 != 0 && !h.pin_length) {
    throw JsonError(join(path, "options") + ": " + std::to_string(h.bytes.size()) +
                    " octets is not a multiple of 8 (add padding, or give hdr_ext_len)");
  }
  return h;
}

wire::ExtensionHeader routing_from_json(const json& j, const std::string& path) {
  auto type = required_uint<std::uint8_t>(j, "routing_type", path);
  auto segments_left = optional_uint<std::uint8_t>(j, "segments_left", path);
  auto reserved = uint_or<std::uint32_t>(j, "reserved", path, 0);
  wire::ExtensionHeader h;
  if (type == wire::routing_type::kType2) {
    h = wire::make_type2_routing_header(address_field(j, "home_address", path),
                                        segments_left.value_or(1), reserved);
  } else if (type == wire::routing_type::kType0) {
    std::vector<wire::Ipv6Address> addresses;
    const json& list = required(j, "addresses", path);
    if (!list.is_array()) throw JsonError(join(path, "addresses") + ": expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      addresses.push_back(
          address_at(list[i], join(path, "addresses") + "[" + std::to_string(i) + "]"));
    }
    h = wire::make_type0_routing_header(addresses, segments_left, reserved);
  } else {
    h = wire::make_routing_header(type, segments_left.value_or(0), hex_field(j, "data", path));
  }
  pin(h, j, "hdr_ext_len", path);
  return h;
}

wire::ExtensionHeader fragment_from_json(const json& j, const std::string& path) {
  wire::FragmentHeader f;
  f.reserved = uint_or<std::uint8_t>(j, "reserved", path, 0);
  f.fragment_offset = uint_or<std::uint16_t>(j, "fragment_offset", path, 0, 0x1fff);
  f.res = uint_or<std::uint8_t>(j, "res", path, 0, 3);
  if (j.contains("flags")) {
    const json& flags = object_field(j, "flags", path);
    f.m_flag = flags.contains("M") && flags["M"].is_boolean() && flags["M"].get<bool>();
  }
  f.identification = uint_or<std::uint32_t>(j, "identification", path, 0);
  auto h = wire::make_fragment_header(f);
  pin(h, j, nullptr, path);  // the Fragment header has no length octet
  return h;
}

wire::ExtensionHeader extension_header_from_json(const json& j, const std::string& path) {
  if (!j.is_object()) throw JsonError(path + ": expected an object");
  std::string type = string_field(j, "type", path);
  if (type == "hop_by_hop") return options_header_from_json(ip_proto::kHopByHop, j, path);
  if (type == "destination_options") {
    return options_header_from_json(ip_proto::kDestinationOptions, j, path);
  }
  if (type == "routing") return routing_from_json(j, path);
  if (type == "fragment") return fragment_from_json(j, path);
  if (type == "authentication_header") {
    auto h = wire::make_authentication_header(uint_or<std::uint32_t>(j, "spi", path, 0),
                                              uint_or<std::uint32_t>(j, "sequence_number", path, 0),
                                              hex_field(j, "icv", path),
                                              uint_or<std::uint16_t>(j, "reserved", path, 0));
    pin(h, j, "payload_len", path);
    return h;
  }
  if (type == "esp") {
    return wire::make_esp_header(uint_or<std::uint32_t>(j, "spi", path, 0),
                                 uint_or<std::uint32_t>(j, "sequence_number", path, 0),
                                 hex_field(j, "data", path));
  }
  throw JsonError(join(path, "type") + ": unknown extension header type \"" + type + "\"");
}

Bytes udp_from_json(const json& j, const std::string& path) {
  Bytes data = hex_field(j, "data", path);
  Bytes out;
  wire::Writer w(out);
  w.u16(uint_or<std::uint16_t>(j, "source_port", path, 0));
  w.u16(uint_or<std::uint16_t>(j, "destination_port", path, 0));
  w.u16(uint_or<std::uint16_t>(j, "length", path, static_cast<std::uint16_t>(8 + data.size())));
  w.u16(uint_or<std::uint16_t>(j, "checksum", path, 0));
  w.bytes(data);
  return out;
}

Bytes encode_packet(const json& j, int depth);

// The upper layer: the first of mobility, icmpv6, inner, udp (payload then ignored), payload
// (none: No Next Header).
void upper_from_json(wire::PacketSpec& spec, const json& j, int depth) {
  spec.compute_checksum = false;
  if (j.contains("mobility")) {
    spec.upper_protocol = ip_proto::kMobility;
    spec.upper = mobility_from_json(object_field(j, "mobility", ""));
    spec.compute_checksum = !j["mobility"].contains("checksum");
  } else if (j.contains("icmpv6")) {
    spec.upper_protocol = ip_proto::kIcmpv6;
    spec.upper = icmpv6_from_json(object_field(j, "icmpv6", ""));
    spec.compute_checksum = !j["icmpv6"].contains("checksum");
  } else if (j.contains("inner")) {
    if (depth >= kMaxDepth)
      throw JsonError("inner: nested deeper than " + std::to_string(kMaxDepth));
    spec.upper_protocol = ip_proto::kIpv6;
    spec.upper = encode_packet(object_field(j, "inner", ""), depth + 1);
  } else if (j.contains("udp")) {
    spec.upper_protocol = ip_proto::kUdp;
    spec.upper = udp_from_json(object_field(j, "udp", ""), "udp");
    spec.compute_checksum = !j["udp"].contains("checksum");
  } else if (j.contains("payload")) {
    const json& p = object_field(j, "payload", "");
    spec.upper_protocol = uint_or<std::uint8_t>(p, "protocol", "payload", ip_proto::kNoNextHeader);
    spec.upper = hex_field(p, "data", "payload");
  } else {
    spec.upper_protocol = ip_proto::kNoNextHeader;
  }
}

Bytes encode_packet(const json& j, int depth) {
  if (!j.is_object()) throw JsonError("packet: expected an object");
  const json& ip = object_field(j, "ipv6", "");
  wire::PacketSpec spec;
  spec.header.version = uint_or<std::uint8_t>(ip, "version", "ipv6", 6, 15);
  spec.header.traffic_class = uint_or<std::uint8_t>(ip, "traffic_class", "ipv6", 0);
  spec.header.flow_label = uint_or<std::uint32_t>(ip, "flow_label", "ipv6", 0, 0xfffff);
  spec.header.hop_limit = uint_or<std::uint8_t>(ip, "hop_limit", "ipv6", 64);
  spec.header.source = address_field(ip, "source", "ipv6");
  spec.header.destination = address_field(ip, "destination", "ipv6");
  if (auto v = optional_uint<std::uint16_t>(ip, "payload_length", "ipv6")) {
    spec.header.payload_length = *v;
    spec.pin_payload_length = true;
  }
  if (auto v = optional_uint<std::uint8_t>(ip, "next_header", "ipv6")) {
    spec.header.next_header = *v;
    spec.pin_next_header = true;
  }
  if (j.contains("extension_headers")) {
    const json& list = j["extension_headers"];
    if (!list.is_array()) throw JsonError("extension_headers: expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      spec.extension_headers.push_back(
          extension_header_from_json(list[i], "extension_headers[" + std::to_string(i) + "]"));
    }
  }
  upper_from_json(spec, j, depth);
  Bytes packet = wire::build_packet(spec);
  if (j.contains("trailing_data")) {
    Bytes trailing = hex_field(j, "trailing_data", "packet");
    packet.insert(packet.end(), trailing.begin(), trailing.end());
  }
  return packet;
}

}  // namespace

json packet_to_json(ByteSpan packet) {
  return decode_packet(packet, 0);
}

Bytes packet_from_json(const json& j) {
  return encode_packet(j, 0);
}

}  // namespace mipv6::pcap_json
