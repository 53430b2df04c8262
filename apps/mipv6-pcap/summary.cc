#include "summary.h"

#include <sstream>

namespace mipv6::pcap_json {
namespace {

std::string text(const json& j, const char* key) {
  if (!j.contains(key)) return "?";
  const auto& v = j.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string set_flags(const json& message) {
  std::string out;
  if (!message.contains("flags") || !message["flags"].is_object()) return out;
  for (const auto& [letter, on] : message["flags"].items())
    if (on.is_boolean() && on.get<bool>()) out += " " + letter;
  return out;
}

// Short names for the messages a Mobile IPv6 trace is made of (RFC 6275 §6.1, §6.5-§6.8).
std::string short_name(const std::string& type) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"binding_refresh_request", "BRR"},
      {"home_test_init", "HoTI"},
      {"care_of_test_init", "CoTI"},
      {"home_test", "HoT"},
      {"care_of_test", "CoT"},
      {"binding_update", "BU"},
      {"binding_acknowledgement", "BA"},
      {"binding_error", "BE"},
      {"dhaad_request", "DHAAD-Request"},
      {"dhaad_reply", "DHAAD-Reply"},
      {"mobile_prefix_solicitation", "MPS"},
      {"mobile_prefix_advertisement", "MPA"},
      {"router_solicitation", "RS"},
      {"router_advertisement", "RA"},
      {"neighbor_solicitation", "NS"},
      {"neighbor_advertisement", "NA"},
      {"echo_request", "Echo-Request"},
      {"echo_reply", "Echo-Reply"},
  };
  for (const auto& [name, abbreviation] : kNames)
    if (type == name) return abbreviation;
  return type;
}

void describe_options(std::ostringstream& out, const json& message) {
  if (!message.contains("options") || !message["options"].is_array()) return;
  for (const auto& option : message["options"]) {
    auto type = text(option, "type");
    if (type == "pad1" || type == "padn") continue;
    if (type == "alternate_care_of_address") {
      out << " alt-coa=" << text(option, "alternate_care_of_address");
    } else if (type == "binding_refresh_advice") {
      out << " refresh=" << text(option, "refresh_interval_seconds") << "s";
    } else if (type == "nonce_indices") {
      out << " nonce-indices=" << text(option, "home_nonce_index") << "/"
          << text(option, "care_of_nonce_index");
    } else if (type == "binding_authorization_data") {
      out << " auth";
    } else if (type == "prefix_information") {
      out << " prefix=" << text(option, "prefix") << "/" << text(option, "prefix_length");
    } else if (type == "home_agent_information") {
      out << " ha-pref=" << text(option, "home_agent_preference");
    } else if (type == "advertisement_interval") {
      out << " adv-interval=" << text(option, "advertisement_interval") << "ms";
    } else {
      out << " " << type;
    }
  }
}

void describe_message(std::ostringstream& out, const json& m) {
  auto type = text(m, "type");
  out << short_name(type);
  static const std::pair<const char*, const char*> kFields[] = {
      {"sequence_number", "seq"},
      {"status", "status"},
      {"identifier", "id"},
      {"home_nonce_index", "home-nonce-index"},
      {"care_of_nonce_index", "care-of-nonce-index"},
      {"target_address", "target"}};
  for (const auto& [key, label] : kFields) {
    if (m.contains(key)) out << " " << label << "=" << text(m, key);
  }
  if (m.contains("status_name")) out << " (" << text(m, "status_name") << ")";
  out << set_flags(m);
  if (m.contains("lifetime_seconds")) out << " lifetime=" << text(m, "lifetime_seconds") << "s";
  if (m.contains("home_agent_addresses")) out << " agents=" << m["home_agent_addresses"].dump();
  describe_options(out, m);
  if (m.contains("checksum_valid") && m["checksum_valid"] == false) out << " BAD-CHECKSUM";
}

void describe(std::ostringstream& out, const json& p) {
  if (!p.contains("ipv6")) {
    if (p.contains("skipped")) out << "skipped: " << text(p, "skipped");
    if (p.contains("error"))
      out << "ERROR " << text(p["error"], "code") << "@" << text(p["error"], "offset");
    return;
  }
  out << text(p["ipv6"], "source") << " > " << text(p["ipv6"], "destination");
  for (const auto& h : p.value("extension_headers", json::array())) {
    for (const auto& o : h.value("options", json::array()))
      if (o.value("type", "") == "home_address") out << " HAO=" << text(o, "home_address");
    if (h.value("type", "") == "routing" && h.value("routing_type", -1) == 2)
      out << " RH2="
          << (h.contains("home_address") ? text(h, "home_address")
                                         : h.value("addresses", json::array()).dump());
  }
  out << " ";
  if (p.contains("mobility")) {
    describe_message(out, p["mobility"]);
  } else if (p.contains("icmpv6")) {
    describe_message(out, p["icmpv6"]);
  } else if (p.contains("inner")) {
    out << "tunnel{ ";
    describe(out, p["inner"]);
    out << " }";
  } else if (p.contains("payload")) {
    out << "proto " << text(p["payload"], "protocol") << " " << text(p["payload"], "length")
        << " bytes";
  }
  if (p.contains("error"))
    out << " ERROR " << text(p["error"], "code") << "@" << text(p["error"], "offset");
}

}  // namespace

std::string summarize(const json& packet) {
  std::ostringstream out;
  describe(out, packet);
  return out.str();
}

}  // namespace mipv6::pcap_json
