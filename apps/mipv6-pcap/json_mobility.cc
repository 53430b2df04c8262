// JSON view of the Mobility Header (RFC 6275 §6.1, §6.2; RFC 4283; RFC 4285), following
// docs/json.md ("Mobility Header" section): decode shows every field, reserved ones included;
// encode builds a wire::MobilityHeader and calls the codec.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "json_codec.h"
#include "wire/hex.h"
#include "wire/mobility.h"

namespace mipv6::pcap_json {
namespace {

using wire::Bytes;
using wire::ByteSpan;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Message and option names ("type" in JSON), indexed by their wire numbers.
constexpr std::pair<std::uint8_t, const char*> kMessageNames[] = {
    {wire::kMhTypeBindingRefreshRequest, "binding_refresh_request"},
    {wire::kMhTypeHomeTestInit, "home_test_init"},
    {wire::kMhTypeCareOfTestInit, "care_of_test_init"},
    {wire::kMhTypeHomeTest, "home_test"},
    {wire::kMhTypeCareOfTest, "care_of_test"},
    {wire::kMhTypeBindingUpdate, "binding_update"},
    {wire::kMhTypeBindingAcknowledgement, "binding_acknowledgement"},
    {wire::kMhTypeBindingError, "binding_error"},
};
constexpr std::pair<std::uint8_t, const char*> kOptionNames[] = {
    {wire::kMobOptPad1, "pad1"},
    {wire::kMobOptPadN, "padn"},
    {wire::kMobOptBindingRefreshAdvice, "binding_refresh_advice"},
    {wire::kMobOptAlternateCareOfAddress, "alternate_care_of_address"},
    {wire::kMobOptNonceIndices, "nonce_indices"},
    {wire::kMobOptBindingAuthorizationData, "binding_authorization_data"},
    {wire::kMobOptMobileNodeIdentifier, "mobile_node_identifier"},
    {wire::kMobOptMobilityMessageAuthentication, "mobility_message_authentication"},
    {wire::kMobOptMobilityMessageReplayProtection, "mobility_message_replay_protection"},
};
constexpr const char* kUnknownName = "unknown";

template <std::size_t N>
const char* name_of(const std::pair<std::uint8_t, const char*> (&names)[N], std::uint8_t value) {
  for (const auto& [number, name] : names) {
    if (number == value) return name;
  }
  return kUnknownName;
}
template <std::size_t N>
std::optional<std::uint8_t> number_of(const std::pair<std::uint8_t, const char*> (&names)[N],
                                      const std::string& name) {
  for (const auto& [number, known] : names) {
    if (name == known) return number;
  }
  return std::nullopt;
}

std::string hex64(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

// ------------------------------------------------------------------------------------------
// bytes -> JSON

json option_to_json(const wire::MobilityOption& option) {
  const std::uint8_t type = wire::mobility_option_type(option);
  const bool unknown = std::holds_alternative<wire::UnknownMobilityOption>(option);
  json j{{"option_type", type}, {"type", unknown ? kUnknownName : name_of(kOptionNames, type)}};
  if (!std::holds_alternative<wire::Pad1>(option)) j["length"] = wire::option_data_length(option);
  std::visit(
      Overloaded{
          [](const wire::Pad1&) {},
          [&](const wire::PadN& o) { j["data"] = wire::to_hex(o.data); },
          [&](const wire::BindingRefreshAdvice& o) {
            j["refresh_interval"] = o.refresh_interval;
            j["refresh_interval_seconds"] = o.refresh_interval * wire::kLifetimeUnitSeconds;
          },
          [&](const wire::AlternateCareOfAddress& o) {
            j["alternate_care_of_address"] = o.alternate_care_of_address.to_string();
          },
          [&](const wire::NonceIndices& o) {
            j["home_nonce_index"] = o.home_nonce_index;
            j["care_of_nonce_index"] = o.care_of_nonce_index;
          },
          [&](const wire::BindingAuthorizationData& o) {
            j["authenticator"] = wire::to_hex(o.authenticator);
          },
          [&](const wire::MobileNodeIdentifier& o) {
            j["subtype"] = o.subtype;
            j["identifier"] = wire::to_hex(o.identifier);
          },
          [&](const wire::MobilityMessageAuthentication& o) {
            j["subtype"] = o.subtype;
            j["mobility_spi"] = o.mobility_spi;
            j["authentication_data"] = wire::to_hex(o.authentication_data);
          },
          [&](const wire::MobilityMessageReplayProtection& o) { j["timestamp"] = o.timestamp; },
          [&](const wire::UnknownMobilityOption& o) { j["data"] = wire::to_hex(o.data); },
      },
      option);
  return j;
}

void lifetime_to_json(json& j, std::uint16_t lifetime) {
  j["lifetime"] = lifetime;
  j["lifetime_seconds"] = lifetime * wire::kLifetimeUnitSeconds;
}

void message_to_json(json& j, const wire::MobilityMessage& message) {
  std::visit(Overloaded{
                 [&](const wire::BindingRefreshRequest& m) { j["message_reserved"] = m.reserved; },
                 [&](const wire::HomeTestInit& m) {
                   j["message_reserved"] = m.reserved;
                   j["home_init_cookie"] = hex64(m.home_init_cookie);
                 },
                 [&](const wire::CareOfTestInit& m) {
                   j["message_reserved"] = m.reserved;
                   j["care_of_init_cookie"] = hex64(m.care_of_init_cookie);
                 },
                 [&](const wire::HomeTest& m) {
                   j["home_nonce_index"] = m.home_nonce_index;
                   j["home_init_cookie"] = hex64(m.home_init_cookie);
                   j["home_keygen_token"] = hex64(m.home_keygen_token);
                 },
                 [&](const wire::CareOfTest& m) {
                   j["care_of_nonce_index"] = m.care_of_nonce_index;
                   j["care_of_init_cookie"] = hex64(m.care_of_init_cookie);
                   j["care_of_keygen_token"] = hex64(m.care_of_keygen_token);
                 },
                 [&](const wire::BindingUpdate& m) {
                   j["sequence_number"] = m.sequence_number;
                   j["flags"] = {{"A", m.a()}, {"H", m.h()}, {"L", m.l()}, {"K", m.k()}};
                   j["reserved_flags"] = m.reserved();
                   lifetime_to_json(j, m.lifetime);
                 },
                 [&](const wire::BindingAcknowledgement& m) {
                   j["status"] = m.status;
                   j["status_name"] = wire::ba_status_name(m.status);
                   j["flags"] = {{"K", m.k()}};
                   j["reserved_flags"] = m.reserved();
                   j["sequence_number"] = m.sequence_number;
                   lifetime_to_json(j, m.lifetime);
                 },
                 [&](const wire::BindingError& m) {
                   j["status"] = m.status;
                   j["status_name"] = wire::be_status_name(m.status);
                   j["message_reserved"] = m.reserved;
                   j["home_address"] = m.home_address.to_string();
                 },
                 [&](const wire::UnknownMobilityMessage& m) {
                   j["message_data"] = wire::to_hex(m.message_data);
                 },
             },
             message);
}

void common_header_to_json(json& j, const wire::MobilityHeader& h) {
  j["payload_proto"] = h.payload_proto;
  j["header_len"] = h.header_len;
  j["mh_type"] = h.mh_type();
  j["type"] = name_of(kMessageNames, h.mh_type());
  j["reserved"] = h.reserved;
  j["checksum"] = h.checksum;
}

// ------------------------------------------------------------------------------------------
// JSON -> bytes

// Typed access to one JSON object's keys; errors name the key with its path ("mobility.x").
class Fields {
 public:
  Fields(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) throw JsonError(path_ + ": expected an object");
  }

  bool has(const char* key) const { return j_.contains(key); }
  std::string where(const char* key) const { return path_ + "." + key; }

  template <class T>
  T uint(const char* key) const {
    if (!has(key)) throw JsonError(where(key) + ": missing");
    return checked_uint<T>(j_.at(key), where(key), std::numeric_limits<T>::max());
  }
  template <class T>
  T uint_or(const char* key, T fallback, T max = std::numeric_limits<T>::max()) const {
    return has(key) ? checked_uint<T>(j_.at(key), where(key), max) : fallback;
  }
  std::string string(const char* key) const {
    if (!has(key)) throw JsonError(where(key) + ": missing");
    if (!j_.at(key).is_string()) throw JsonError(where(key) + ": expected a string");
    return j_.at(key).get<std::string>();
  }
  Bytes bytes(const char* key) const {
    auto data = wire::from_hex(string(key));
    if (!data) throw JsonError(where(key) + ": expected a hex string");
    return *data;
  }
  Bytes bytes_or_empty(const char* key) const { return has(key) ? bytes(key) : Bytes{}; }
  std::uint64_t hex64(const char* key) const {
    auto data = bytes(key);
    if (data.size() != 8) throw JsonError(where(key) + ": expected 16 hex digits");
    return wire::load_be64(data.data());
  }
  wire::Ipv6Address address(const char* key) const {
    auto a = wire::Ipv6Address::parse(string(key));
    if (!a) throw JsonError(where(key) + ": expected an IPv6 address");
    return *a;
  }
  // A letter of the "flags" object; absent means clear.
  bool flag(const char* letter) const {
    if (!has("flags")) return false;
    Fields flags(j_.at("flags"), where("flags"));
    if (!flags.has(letter)) return false;
    if (!flags.j_.at(letter).is_boolean())
      throw JsonError(flags.where(letter) + ": expected a boolean");
    return flags.j_.at(letter).get<bool>();
  }

 private:
  template <class T>
  static T checked_uint(const json& v, const std::string& where, T max) {
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
      throw JsonError(where + ": expected an unsigned integer");
    }
    auto value = v.get<std::uint64_t>();
    if (value > max) throw JsonError(where + ": out of range (max " + std::to_string(max) + ")");
    return static_cast<T>(value);
  }

  const json& j_;
  std::string path_;
};

std::uint8_t resolve_type(const Fields& f, const char* name_key, const char* number_key,
                          std::optional<std::uint8_t> (*lookup)(const std::string&)) {
  if (!f.has(name_key) || f.string(name_key) == kUnknownName) {
    return f.uint<std::uint8_t>(number_key);
  }
  auto number = lookup(f.string(name_key));
  if (!number) throw JsonError(f.where(name_key) + ": unknown type '" + f.string(name_key) + "'");
  if (f.has(number_key) && f.uint<std::uint8_t>(number_key) != *number) {
    throw JsonError(f.where(number_key) + ": does not match \"" + f.string(name_key) + "\"");
  }
  return *number;
}

std::optional<std::uint8_t> message_number(const std::string& name) {
  return number_of(kMessageNames, name);
}
std::optional<std::uint8_t> option_number(const std::string& name) {
  return number_of(kOptionNames, name);
}

wire::BindingUpdate binding_update_from_json(const Fields& f) {
  wire::BindingUpdate m;
  m.sequence_number = f.uint<std::uint16_t>("sequence_number");
  m.flags = f.uint_or<std::uint16_t>("reserved_flags", 0, wire::kBuReservedMask);
  m.set_flag(wire::kBuFlagA, f.flag("A"));
  m.set_flag(wire::kBuFlagH, f.flag("H"));
  m.set_flag(wire::kBuFlagL, f.flag("L"));
  m.set_flag(wire::kBuFlagK, f.flag("K"));
  m.lifetime = f.uint<std::uint16_t>("lifetime");
  return m;
}

wire::BindingAcknowledgement binding_ack_from_json(const Fields& f) {
  wire::BindingAcknowledgement m;
  m.status = f.uint<std::uint8_t>("status");
  m.flags = f.uint_or<std::uint8_t>("reserved_flags", 0, wire::kBaReservedMask);
  m.set_k(f.flag("K"));
  m.sequence_number = f.uint<std::uint16_t>("sequence_number");
  m.lifetime = f.uint<std::uint16_t>("lifetime");
  return m;
}

wire::MobilityMessage message_from_json(const Fields& f, std::uint8_t mh_type, bool raw) {
  if (raw) return wire::UnknownMobilityMessage{mh_type, f.bytes_or_empty("message_data")};
  switch (mh_type) {
    case wire::kMhTypeBindingRefreshRequest:
      return wire::BindingRefreshRequest{f.uint_or<std::uint16_t>("message_reserved", 0)};
    case wire::kMhTypeHomeTestInit:
      return wire::HomeTestInit{f.uint_or<std::uint16_t>("message_reserved", 0),
                                f.hex64("home_init_cookie")};
    case wire::kMhTypeCareOfTestInit:
      return wire::CareOfTestInit{f.uint_or<std::uint16_t>("message_reserved", 0),
                                  f.hex64("care_of_init_cookie")};
    case wire::kMhTypeHomeTest:
      return wire::HomeTest{f.uint<std::uint16_t>("home_nonce_index"), f.hex64("home_init_cookie"),
                            f.hex64("home_keygen_token")};
    case wire::kMhTypeCareOfTest:
      return wire::CareOfTest{f.uint<std::uint16_t>("care_of_nonce_index"),
                              f.hex64("care_of_init_cookie"), f.hex64("care_of_keygen_token")};
    case wire::kMhTypeBindingUpdate:
      return binding_update_from_json(f);
    case wire::kMhTypeBindingAcknowledgement:
      return binding_ack_from_json(f);
    case wire::kMhTypeBindingError:
      return wire::BindingError{f.uint<std::uint8_t>("status"),
                                f.uint_or<std::uint8_t>("message_reserved", 0),
                                f.address("home_address")};
    default:
      return wire::UnknownMobilityMessage{mh_type, f.bytes_or_empty("message_data")};
  }
}

wire::MobilityOption option_from_json(const Fields& f) {
  const bool raw = f.has("type") && f.string("type") == kUnknownName;
  const std::uint8_t type = resolve_type(f, "type", "option_type", option_number);
  if (raw) return wire::UnknownMobilityOption{type, f.bytes_or_empty("data")};
  switch (type) {
    case wire::kMobOptPad1:
      return wire::Pad1{};
    case wire::kMobOptPadN:
      // Zeros of the given length when no data is given (RFC 6275 §6.2.3).
      if (!f.has("data")) return wire::PadN{Bytes(f.uint_or<std::uint8_t>("length", 0))};
      return wire::PadN{f.bytes("data")};
    case wire::kMobOptBindingRefreshAdvice:
      return wire::BindingRefreshAdvice{f.uint<std::uint16_t>("refresh_interval")};
    case wire::kMobOptAlternateCareOfAddress:
      return wire::AlternateCareOfAddress{f.address("alternate_care_of_address")};
    case wire::kMobOptNonceIndices:
      return wire::NonceIndices{f.uint<std::uint16_t>("home_nonce_index"),
                                f.uint<std::uint16_t>("care_of_nonce_index")};
    case wire::kMobOptBindingAuthorizationData:
      return wire::BindingAuthorizationData{f.bytes("authenticator")};
    case wire::kMobOptMobileNodeIdentifier:
      return wire::MobileNodeIdentifier{f.uint_or<std::uint8_t>("subtype", wire::kMnIdSubtypeNai),
                                        f.bytes("identifier")};
    case wire::kMobOptMobilityMessageAuthentication:
      return wire::MobilityMessageAuthentication{
          f.uint_or<std::uint8_t>("subtype", wire::kMobilityAuthSubtypeMnHa),
          f.uint<std::uint32_t>("mobility_spi"), f.bytes("authentication_data")};
    case wire::kMobOptMobilityMessageReplayProtection:
      return wire::MobilityMessageReplayProtection{f.uint<std::uint64_t>("timestamp")};
    default:
      return wire::UnknownMobilityOption{type, f.bytes_or_empty("data")};
  }
}

struct JsonOptions {
  std::vector<wire::MobilityOption> options;
  std::vector<std::optional<std::uint8_t>> lengths;  // "length" given verbatim, per option
};

JsonOptions options_from_json(const Fields& f, const json& j) {
  JsonOptions out;
  if (!f.has("options")) return out;
  const json& list = j.at("options");
  if (!list.is_array()) throw JsonError(f.where("options") + ": expected an array");
  for (std::size_t i = 0; i < list.size(); ++i) {
    Fields of(list[i], f.where("options") + "[" + std::to_string(i) + "]");
    out.options.push_back(option_from_json(of));
    std::optional<std::uint8_t> length;
    if (of.has("length")) {
      if (std::holds_alternative<wire::Pad1>(out.options.back())) {
        throw JsonError(of.where("length") + ": Pad1 has no length");
      }
      length = of.uint<std::uint8_t>("length");
    }
    out.lengths.push_back(length);
  }
  return out;
}

// Writes the "length" values given in JSON over the computed Option Length octets, so broken
// options can be built (docs/json.md: derived fields are used verbatim when present).
void patch_lengths(Bytes& mh, const wire::MobilityHeader& h, const JsonOptions& given,
                   bool auto_pad) {
  const std::size_t start = wire::fixed_part_end(h.message);
  const auto emitted = auto_pad ? wire::with_auto_padding(start, h.options) : h.options;
  std::size_t pos = start;
  std::size_t next_given = 0;
  for (const auto& option : emitted) {
    // With auto-padding the JSON list held no padding, so inserted padding has no JSON entry.
    const bool inserted = auto_pad && wire::is_padding(option);
    if (!inserted) {
      if (auto length = given.lengths[next_given++]) mh.at(pos + 1) = std::byte{*length};
    }
    pos += wire::encoded_size(option);
  }
}

}  // namespace

json mobility_to_json(ByteSpan mh) {
  wire::PartialMobilityHeader partial;
  const auto status = wire::decode_mobility_header_partial(mh, partial);
  json j = json::object();
  if (partial.common_header_decoded) common_header_to_json(j, partial.header);
  if (partial.message_decoded) {
    message_to_json(j, partial.header.message);
    json options = json::array();
    for (const auto& option : partial.header.options)
      options.push_back(option_to_json(option));
    j["options"] = std::move(options);
  }
  if (!status) {
    j["error"] = {{"code", wire::to_string(status.error().code)},
                  {"offset", status.error().offset}};
  } else if (std::size_t length = (std::size_t{partial.header.header_len} + 1) * 8;
             length < mh.size()) {
    // Octets after the MH within the packet: its Payload Proto is No Next Header, so they are
    // ignored (RFC 8200 §4.7) — but shown, so that encode gives back the same packet.
    j["trailing_data"] = wire::to_hex(mh.subspan(length));
  }
  return j;
}

Bytes mobility_from_json(const json& j) {
  const Fields f(j, "mobility");
  wire::MobilityHeader h;
  h.payload_proto = f.uint_or<std::uint8_t>("payload_proto", wire::kIpProtoNone);
  h.reserved = f.uint_or<std::uint8_t>("reserved", 0);
  h.checksum = f.uint_or<std::uint16_t>("checksum", 0);
  const bool raw = f.has("type") && f.string("type") == kUnknownName;
  h.message = message_from_json(f, resolve_type(f, "type", "mh_type", message_number), raw);
  JsonOptions given = options_from_json(f, j);
  h.options = std::move(given.options);
  // docs/json.md: padding is inserted only when the list holds none.
  const bool auto_pad = std::none_of(h.options.begin(), h.options.end(),
                                     [](const auto& o) { return wire::is_padding(o); });
  wire::MhEncodeOptions encode_options{auto_pad, std::nullopt};
  if (f.has("header_len")) encode_options.header_len = f.uint<std::uint8_t>("header_len");
  Bytes out;
  if (auto status = wire::encode_mobility_header(h, out, encode_options); !status) {
    throw JsonError("mobility: cannot encode (" +
                    std::string(wire::to_string(status.error().code)) + " at offset " +
                    std::to_string(status.error().offset) + ")");
  }
  patch_lengths(out, h, given, auto_pad);
  Bytes trailing = f.bytes_or_empty("trailing_data");
  out.insert(out.end(), trailing.begin(), trailing.end());
  return out;
}

}  // namespace mipv6::pcap_json
