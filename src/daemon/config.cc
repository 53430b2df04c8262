#include "daemon/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/logger.h"
#include "linux/unique_fd.h"
#include "wire/hex.h"

namespace mipv6::daemon {
namespace {

// Binding lifetimes travel in 16 bits of 4-second units (RFC 6275 §6.1.7, §6.1.8): the longest
// is 65535 * 4 s; a lifetime shorter than one unit would be sent as zero, i.e. a deregistration.
constexpr std::int64_t kMinLifetimeSeconds = 4;
constexpr std::int64_t kMaxLifetimeSeconds = 262140;
constexpr std::int64_t kMaxBindings = 10'000'000;
// The Home Agent Preference is a 16-bit unsigned integer (RFC 6275 §7.4).
constexpr std::int64_t kMaxPreference = 65535;
// Linux interface names fit IFNAMSIZ (16) with their terminating NUL.
constexpr std::size_t kMaxInterfaceName = 15;
// A UNIX socket path fits sockaddr_un::sun_path (108) with its terminating NUL.
constexpr std::size_t kMaxSocketPath = 107;
// home_address without "/len": the home subnet prefix is a SLAAC /64 (RFC 4862 §5.5.3).
constexpr std::uint8_t kDefaultHomePrefixLength = 64;

using Allowed = std::initializer_list<std::string_view>;

const char* type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "floating-point number";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Levenshtein distance, to suggest what a typo meant.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j < row.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean "X"?)" when one allowed word is within two edits of `word` or begins like it,
// else "".
std::string suggestion(std::string_view word, Allowed allowed) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (const std::string_view candidate : allowed) {
    // A word that begins like an allowed one ("warning" for "warn") is a near miss too.
    const bool prefix =
        !word.empty() && (word.starts_with(candidate) || candidate.starts_with(word));
    const std::size_t distance = prefix ? 1 : edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? std::string() : " (did you mean \"" + std::string(best) + "\"?)";
}

// "\"a\", \"b\", \"c\"".
std::string quoted_list(Allowed allowed) {
  std::string text;
  for (const std::string_view word : allowed)
    text += (text.empty() ? "\"" : ", \"") + std::string(word) + "\"";
  return text;
}

std::string join(std::string_view section, std::string_view key) {
  return std::string(section) + "." + std::string(key);
}

bool is_absolute_path(std::string_view path) {
  return !path.empty() && path.front() == '/';
}

// "", or why `name` cannot be a Linux interface name (the kernel's dev_valid_name()).
std::string interface_name_problem(std::string_view name) {
  if (name.empty() || name.size() > kMaxInterfaceName)
    return "must be 1 to 15 characters (IFNAMSIZ)";
  if (name == "." || name == "..") return "is not a valid interface name";
  for (const char c : name) {
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) != 0)
      return "must not contain '/', ':' or white space";
  }
  return {};
}

wire::Ipv6Address mask(const wire::Ipv6Address& address, unsigned length, bool keep_host) {
  wire::Ipv6Address out = address;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    unsigned network_bits = 0;
    if (length >= first_bit + 8) {
      network_bits = 8;
    } else if (length > first_bit) {
      network_bits = length - first_bit;
    }
    const auto network_mask = static_cast<std::uint8_t>(0xFF00U >> network_bits);
    out.bytes[i] = static_cast<std::uint8_t>(keep_host ? out.bytes[i] & ~network_mask
                                                       : out.bytes[i] & network_mask);
  }
  return out;
}

struct AddressWithLength {
  wire::Ipv6Address address;
  std::uint8_t length = 0;
};

// Parses "ADDRESS/LEN" (or "ADDRESS" with `default_length`); "" on success, else the problem.
std::string parse_address_with_length(std::string_view text,
                                      std::optional<std::uint8_t> default_length,
                                      AddressWithLength& out) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos && !default_length)
    return "must be ADDRESS/LENGTH, e.g. \"2001:db8:1::/64\"";
  const auto address = wire::Ipv6Address::parse(text.substr(0, slash));
  if (!address) return "\"" + std::string(text.substr(0, slash)) + "\" is not an IPv6 address";
  out.address = *address;
  if (slash == std::string_view::npos) {
    out.length = *default_length;
    return {};
  }
  const std::string_view digits = text.substr(slash + 1);
  unsigned length = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length > 128)
    return "prefix length \"" + std::string(digits) + "\" must be 0 to 128";
  out.length = static_cast<std::uint8_t>(length);
  return {};
}

// "" when `address` can be a home address, home agent address or home prefix: a unicast
// routable address (RFC 6275 §6.1.7, §9.5.1 — not link-local, multicast, loopback, ::).
std::string global_unicast_problem(const wire::Ipv6Address& address) {
  if (address.is_unicast_routable()) return {};
  return address.to_string() +
         " is not a global unicast address (link-local, multicast, loopback and :: are not)";
}

class Reader {
 public:
  explicit Reader(std::string_view path) : path_(path) {}

  std::optional<DaemonConfig> read(const toml::table& root) {
    DaemonConfig config;
    config.path = path_;
    if (!check_top_level(root) || !read_node(root, config.node) ||
        !check_sections_match_roles(root, config) || !read_role_sections(root, config) ||
        !read_security(root, config, config.security))
      return std::nullopt;
    return config;
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const toml::source_region& where, std::string_view key, std::string_view message) {
    // toml++ numbers lines and columns from 1; a region it does not know is 0 (e.g. an empty
    // document's root), which an editor would not find.
    const auto line = std::max<toml::source_index>(where.begin.line, 1);
    const auto column = std::max<toml::source_index>(where.begin.column, 1);
    error_ = path_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
             std::string(key) + ": " + std::string(message);
    return false;
  }

  bool wrong_type(const toml::node& node, std::string_view key, std::string_view expected) {
    return fail(node.source(), key,
                "must be " + std::string(expected) + " (got " + type_name(node.type()) + ")");
  }

  bool allow_keys(const toml::table& table, std::string_view section, Allowed allowed,
                  std::string_view what) {
    for (const auto& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      const std::string full = section.empty() ? std::string(key.str()) : join(section, key.str());
      std::string hint = suggestion(key.str(), allowed);
      if (hint.empty()) hint = " (expected one of " + quoted_list(allowed) + ")";
      return fail(key.source(), full, "unknown " + std::string(what) + hint);
    }
    return true;
  }

  bool missing(const toml::table& table, std::string_view key) {
    return fail(table.source(), key, "missing (required)");
  }

  // --- typed values --------------------------------------------------------------------------

  bool read_string(const toml::node& node, std::string_view key, std::string& out) {
    const auto* value = node.as_string();
    if (value == nullptr) return wrong_type(node, key, "a string");
    out = value->get();
    return true;
  }

  bool read_integer(const toml::node& node, std::string_view key, std::int64_t min,
                    std::int64_t max, std::string_view unit, std::int64_t& out) {
    const auto* value = node.as_integer();
    if (value == nullptr) return wrong_type(node, key, "an integer");
    out = value->get();
    if (out >= min && out <= max) return true;
    return fail(node.source(), key,
                "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                    std::string(unit));
  }

  bool read_bool(const toml::node& node, std::string_view key, bool& out) {
    const auto* value = node.as_boolean();
    if (value == nullptr) return wrong_type(node, key, "true or false");
    out = value->get();
    return true;
  }

  bool read_choice(const toml::node& node, std::string_view key, Allowed allowed,
                   std::string& out) {
    if (!read_string(node, key, out)) return false;
    if (std::find(allowed.begin(), allowed.end(), out) != allowed.end()) return true;
    return fail(node.source(), key,
                "must be one of " + quoted_list(allowed) + " (got \"" + out + "\")" +
                    suggestion(out, allowed));
  }

  bool read_absolute_path(const toml::node& node, std::string_view key, std::string& out) {
    if (!read_string(node, key, out)) return false;
    if (is_absolute_path(out)) return true;
    return fail(node.source(), key, "must be an absolute path (got \"" + out + "\")");
  }

  bool read_interface(const toml::node& node, std::string_view key, std::string& out) {
    if (!read_string(node, key, out)) return false;
    const std::string problem = interface_name_problem(out);
    if (problem.empty()) return true;
    return fail(node.source(), key, "\"" + out + "\" " + problem);
  }

  bool read_global_address(const toml::node& node, std::string_view key, wire::Ipv6Address& out) {
    std::string text;
    if (!read_string(node, key, text)) return false;
    const auto address = wire::Ipv6Address::parse(text);
    if (!address) return fail(node.source(), key, "\"" + text + "\" is not an IPv6 address");
    const std::string problem = global_unicast_problem(*address);
    if (!problem.empty()) return fail(node.source(), key, problem);
    out = *address;
    return true;
  }

  // "2001:db8:1::/64": a prefix of at least `min_length` bits, host bits zero.
  bool read_prefix(const toml::node& node, std::string_view key, unsigned min_length, Prefix& out) {
    std::string text;
    if (!read_string(node, key, text)) return false;
    AddressWithLength parsed;
    const std::string problem = parse_address_with_length(text, std::nullopt, parsed);
    if (!problem.empty()) return fail(node.source(), key, problem);
    if (parsed.length < min_length)
      return fail(node.source(), key,
                  "prefix length must be " + std::to_string(min_length) + " to 128 (got /" +
                      std::to_string(parsed.length) + ")");
    const wire::Ipv6Address host = mask(parsed.address, parsed.length, true);
    if (!host.is_unspecified()) {
      const std::string network = mask(parsed.address, parsed.length, false).to_string() + "/" +
                                  std::to_string(parsed.length);
      return fail(node.source(), key,
                  "host bits " + host.to_string() + " are set beyond /" +
                      std::to_string(parsed.length) + " (did you mean \"" + network + "\"?)");
    }
    out = Prefix{parsed.address, parsed.length};
    return true;
  }

  // A non-empty array of prefixes, no repeats.
  bool read_prefixes(const toml::node& node, std::string_view key, unsigned min_length,
                     std::string_view if_empty, std::vector<Prefix>& out) {
    const auto* array = node.as_array();
    if (array == nullptr) return wrong_type(node, key, "an array of prefixes");
    if (array->empty()) return fail(node.source(), key, if_empty);
    for (const toml::node& element : *array) {
      Prefix prefix;
      if (!read_prefix(element, key, min_length, prefix)) return false;
      if (std::find(out.begin(), out.end(), prefix) != out.end())
        return fail(
            element.source(), key,
            prefix.prefix.to_string() + "/" + std::to_string(prefix.length) + " is listed twice");
      out.push_back(prefix);
    }
    return true;
  }

  // --- sections ------------------------------------------------------------------------------

  bool check_top_level(const toml::table& root) {
    const Allowed kSections = {"node", "home_agent", "correspondent", "mobile_node", "security"};
    if (!allow_keys(root, "", kSections, "section")) return false;
    for (const auto& [key, value] : root) {
      if (!value.is_table())
        return wrong_type(value, key.str(), "a table ([" + std::string(key.str()) + "])");
    }
    return true;
  }

  bool read_node(const toml::table& root, NodeSection& out) {
    const auto* node = root.get_as<toml::table>("node");
    if (node == nullptr) return fail(root.source(), "node", "missing (required: [node] roles)");
    if (!allow_keys(*node, "node", {"roles", "control_socket", "log_level", "state_file"}, "key"))
      return false;
    if (!read_roles(*node, out.roles)) return false;
    if (const auto* value = node->get("control_socket");
        value != nullptr && !read_control_socket(*value, out.control_socket))
      return false;
    if (const auto* value = node->get("log_level");
        value != nullptr && !read_log_level(*value, out.log_level))
      return false;
    if (const auto* value = node->get("state_file"))
      return read_absolute_path(*value, "node.state_file", out.state_file);
    return true;
  }

  bool read_control_socket(const toml::node& value, std::string& out) {
    if (!read_absolute_path(value, "node.control_socket", out)) return false;
    if (out.size() <= kMaxSocketPath) return true;
    return fail(value.source(), "node.control_socket",
                "must be at most 107 bytes long (sockaddr_un)");
  }

  bool read_log_level(const toml::node& value, core::LogLevel& out) {
    std::string level;
    if (!read_choice(value, "node.log_level", {"error", "warn", "info", "debug"}, level))
      return false;
    out = level == "error"  ? core::LogLevel::kError
          : level == "warn" ? core::LogLevel::kWarn
          : level == "info" ? core::LogLevel::kInfo
                            : core::LogLevel::kDebug;
    return true;
  }

  bool read_roles(const toml::table& node, std::vector<RoleKind>& out) {
    const Allowed kRoles = {"mobile_node", "home_agent", "correspondent"};
    const auto* value = node.get("roles");
    if (value == nullptr) return missing(node, "node.roles");
    const auto* array = value->as_array();
    if (array == nullptr) return wrong_type(*value, "node.roles", "an array of role names");
    if (array->empty())
      return fail(value->source(), "node.roles",
                  "must list at least one of " + quoted_list(kRoles));
    for (const toml::node& element : *array) {
      std::string name;
      if (!read_choice(element, "node.roles", kRoles, name)) return false;
      const RoleKind role = name == "mobile_node"  ? RoleKind::kMobileNode
                            : name == "home_agent" ? RoleKind::kHomeAgent
                                                   : RoleKind::kCorrespondent;
      if (std::find(out.begin(), out.end(), role) != out.end())
        return fail(element.source(), "node.roles", "\"" + name + "\" is listed twice");
      out.push_back(role);
    }
    return true;
  }

  // A role section is read iff its role is listed; a section for an unlisted role is a mistake
  // the operator should hear about rather than a silently ignored block.
  bool check_sections_match_roles(const toml::table& root, const DaemonConfig& config) {
    const toml::node& roles = *root["node"]["roles"].node();
    for (const RoleKind role :
         {RoleKind::kHomeAgent, RoleKind::kCorrespondent, RoleKind::kMobileNode}) {
      const std::string name(role_name(role));
      const toml::node* section = root.get(name);
      if (section != nullptr && !config.has_role(role))
        return fail(section->source(), name,
                    "[" + name + "] is given but node.roles does not list \"" + name + "\"");
      // [correspondent] has no required key: its defaults stand without the section.
      if (section == nullptr && config.has_role(role) && role != RoleKind::kCorrespondent)
        return fail(
            roles.source(), name,
            "node.roles lists \"" + name + "\" but [" + name + "] is missing (" +
                (role == RoleKind::kHomeAgent ? "interface is required"
                                              : "home_address and interfaces are required") +
                ")");
    }
    return true;
  }

  bool read_role_sections(const toml::table& root, DaemonConfig& config) {
    const toml::table empty;
    if (config.has_role(RoleKind::kHomeAgent) &&
        !read_home_agent(*root.get_as<toml::table>("home_agent"), config.home_agent.emplace()))
      return false;
    if (config.has_role(RoleKind::kCorrespondent)) {
      const auto* section = root.get_as<toml::table>("correspondent");
      if (!read_correspondent(section != nullptr ? *section : empty,
                              config.correspondent.emplace()))
        return false;
    }
    if (config.has_role(RoleKind::kMobileNode) &&
        !read_mobile_node(*root.get_as<toml::table>("mobile_node"), config.mobile_node.emplace()))
      return false;
    return true;
  }

  bool read_lifetime(const toml::node& node, std::string_view key, std::chrono::seconds& out) {
    std::int64_t seconds = 0;
    if (!read_integer(node, key, kMinLifetimeSeconds, kMaxLifetimeSeconds, " seconds", seconds))
      return false;
    out = std::chrono::seconds(seconds);
    return true;
  }

  bool read_max_bindings(const toml::node& node, std::string_view key, std::size_t& out) {
    std::int64_t count = 0;
    if (!read_integer(node, key, 1, kMaxBindings, "", count)) return false;
    out = static_cast<std::size_t>(count);
    return true;
  }

  bool read_home_agent(const toml::table& table, HomeAgentSection& out) {
    if (!allow_keys(table, "home_agent",
                    {"interface", "prefixes", "max_bindings", "max_lifetime", "preference",
                     "bu_rate_per_source", "bu_rate_global", "direct_tunnel_output"},
                    "key"))
      return false;
    const auto* interface = table.get("interface");
    if (interface == nullptr) return missing(table, "home_agent.interface");
    if (!read_interface(*interface, "home_agent.interface", out.interface)) return false;
    // A home prefix is where home addresses live (§10.3.1): global unicast, not a default route.
    if (const auto* value = table.get("prefixes");
        value != nullptr &&
        !(read_prefixes(*value, "home_agent.prefixes", 1,
                        "must not be empty (leave it out for the interface's global prefixes)",
                        out.prefixes) &&
          check_home_prefixes_global(*value, out.prefixes)))
      return false;
    if (const auto* value = table.get("max_bindings");
        value != nullptr && !read_max_bindings(*value, "home_agent.max_bindings", out.max_bindings))
      return false;
    if (const auto* value = table.get("max_lifetime");
        value != nullptr && !read_lifetime(*value, "home_agent.max_lifetime", out.max_lifetime))
      return false;
    if (const auto* value = table.get("preference")) {
      std::int64_t preference = 0;
      if (!read_integer(*value, "home_agent.preference", 0, kMaxPreference, "", preference))
        return false;
      out.preference = static_cast<std::uint16_t>(preference);
    }
    if (const auto* value = table.get("direct_tunnel_output");
        value != nullptr &&
        !read_bool(*value, "home_agent.direct_tunnel_output", out.direct_tunnel_output))
      return false;
    return read_rate(table, "bu_rate_per_source", out.bu_rate_per_source) &&
           read_rate(table, "bu_rate_global", out.bu_rate_global);
  }

  bool read_rate(const toml::table& table, std::string_view name, std::uint32_t& out) {
    const auto* value = table.get(name);
    if (value == nullptr) return true;
    std::int64_t rate = 0;
    if (!read_integer(*value, join("home_agent", name), 1, 10000000, " per second", rate))
      return false;
    out = static_cast<std::uint32_t>(rate);
    return true;
  }

  bool check_home_prefixes_global(const toml::node& node, const std::vector<Prefix>& prefixes) {
    const auto& array = *node.as_array();
    for (std::size_t i = 0; i < prefixes.size(); ++i) {
      const std::string problem = global_unicast_problem(prefixes[i].prefix);
      if (!problem.empty()) return fail(array[i].source(), "home_agent.prefixes", problem);
    }
    return true;
  }

  bool read_correspondent(const toml::table& table, CorrespondentSection& out) {
    if (!allow_keys(table, "correspondent", {"route_optimization", "max_bindings"}, "key"))
      return false;
    if (const auto* value = table.get("route_optimization");
        value != nullptr &&
        !read_bool(*value, "correspondent.route_optimization", out.route_optimization))
      return false;
    if (const auto* value = table.get("max_bindings"))
      return read_max_bindings(*value, "correspondent.max_bindings", out.max_bindings);
    return true;
  }

  bool read_mobile_node(const toml::table& table, MobileNodeSection& out) {
    if (!allow_keys(table, "mobile_node",
                    {"home_address", "home_agent", "interfaces", "route_optimization", "lifetime"},
                    "key"))
      return false;
    if (!read_home_address(table, out) || !read_home_agent_address(table, out) ||
        !read_interfaces(table, out.interfaces) || !read_route_optimization(table, out))
      return false;
    if (const auto* value = table.get("lifetime"))
      return read_lifetime(*value, "mobile_node.lifetime", out.lifetime);
    return true;
  }

  bool read_home_address(const toml::table& table, MobileNodeSection& out) {
    constexpr std::string_view kKey = "mobile_node.home_address";
    const auto* value = table.get("home_address");
    if (value == nullptr) return missing(table, kKey);
    std::string text;
    if (!read_string(*value, kKey, text)) return false;
    AddressWithLength parsed;
    std::string problem = parse_address_with_length(text, kDefaultHomePrefixLength, parsed);
    if (problem.empty() && (parsed.length < 1)) problem = "prefix length must be 1 to 128 (got /0)";
    if (problem.empty()) problem = global_unicast_problem(parsed.address);
    if (!problem.empty()) return fail(value->source(), kKey, problem);
    out.home_address = parsed.address;
    out.prefix_length = parsed.length;
    return true;
  }

  // An address, or "discover" for Dynamic Home Agent Address Discovery (§11.4.1).
  bool read_home_agent_address(const toml::table& table, MobileNodeSection& out) {
    constexpr std::string_view kKey = "mobile_node.home_agent";
    const auto* value = table.get("home_agent");
    if (value == nullptr) return true;
    if (value->value_or(std::string_view()) == "discover") {
      out.home_agent.reset();
      return true;
    }
    wire::Ipv6Address address;
    if (!read_global_address(*value, kKey, address)) return false;
    if (address == out.home_address)
      return fail(value->source(), kKey, "must differ from mobile_node.home_address");
    out.home_agent = address;
    return true;
  }

  bool read_interfaces(const toml::table& table, std::vector<std::string>& out) {
    constexpr std::string_view kKey = "mobile_node.interfaces";
    const auto* value = table.get("interfaces");
    if (value == nullptr) return missing(table, kKey);
    const auto* array = value->as_array();
    if (array == nullptr) return wrong_type(*value, kKey, "an array of interface names");
    if (array->empty()) return fail(value->source(), kKey, "must list at least one interface");
    for (const toml::node& element : *array) {
      std::string name;
      if (!read_interface(element, kKey, name)) return false;
      if (std::find(out.begin(), out.end(), name) != out.end())
        return fail(element.source(), kKey, "\"" + name + "\" is listed twice");
      out.push_back(std::move(name));
    }
    return true;
  }

  // "always", "never", or the prefixes of the correspondents to optimise routes with (§11.3.1).
  bool read_route_optimization(const toml::table& table, MobileNodeSection& out) {
    constexpr std::string_view kKey = "mobile_node.route_optimization";
    const auto* value = table.get("route_optimization");
    if (value == nullptr) return true;
    if (value->is_array()) {
      out.route_optimization = RouteOptimizationPolicy::kPrefixes;
      return read_prefixes(*value, kKey, 0, "must not be empty (use \"never\")",
                           out.route_optimization_prefixes);
    }
    if (!value->is_string())
      return wrong_type(*value, kKey, "\"always\", \"never\" or an array of prefixes");
    std::string policy;
    if (!read_choice(*value, kKey, {"always", "never"}, policy)) return false;
    out.route_optimization =
        policy == "always" ? RouteOptimizationPolicy::kAlways : RouteOptimizationPolicy::kNever;
    return true;
  }

  bool read_security(const toml::table& root, const DaemonConfig& config, SecuritySection& out) {
    const auto* table = root.get_as<toml::table>("security");
    if (table == nullptr) return true;
    if (!allow_keys(*table, "security", {"signalling", "timestamp_window", "esp", "auth_option"},
                    "key"))
      return false;
    if (const auto* value = table->get("signalling");
        value != nullptr && !read_signalling(*value, out.signalling))
      return false;
    if (const auto* value = table->get("timestamp_window")) {
      std::int64_t seconds = 0;
      // RFC 4285 §6: "should be more than 3 seconds"; a minute is plenty of clock skew.
      if (!read_integer(*value, "security.timestamp_window", 1, 60, " seconds", seconds))
        return false;
      out.timestamp_window = static_cast<std::uint32_t>(seconds);
    }
    if (const auto* value = table->get("esp"); value != nullptr && !read_esp_entries(*value, out))
      return false;
    if (const auto* value = table->get("auth_option");
        value != nullptr && !read_auth_entries(*value, out))
      return false;
    return check_security_matches(*table, config, out);
  }

  bool read_signalling(const toml::node& value, Signalling& out) {
    std::string text;
    if (!read_choice(value, "security.signalling", {"none", "esp", "auth-option"}, text))
      return false;
    out = text == "none"  ? Signalling::kNone
          : text == "esp" ? Signalling::kEsp
                          : Signalling::kAuthOption;
    return true;
  }

  // An array of tables ([[security.esp]]), each read by `read_one`.
  template <class Entry, class ReadOne>
  bool read_entries(const toml::node& node, std::string_view key, std::vector<Entry>& out,
                    ReadOne read_one) {
    const auto* array = node.as_array();
    if (array == nullptr)
      return wrong_type(node, key, "an array of tables ([[" + std::string(key) + "]])");
    for (const toml::node& element : *array) {
      const auto* entry = element.as_table();
      if (entry == nullptr)
        return wrong_type(element, key, "a table ([[" + std::string(key) + "]])");
      if (!(this->*read_one)(*entry, out.emplace_back())) return false;
    }
    return true;
  }

  bool read_esp_entries(const toml::node& node, SecuritySection& out) {
    return read_entries(node, "security.esp", out.esp, &Reader::read_esp_entry);
  }

  bool read_auth_entries(const toml::node& node, SecuritySection& out) {
    return read_entries(node, "security.auth_option", out.auth_option, &Reader::read_auth_entry);
  }

  bool read_spi(const toml::node& node, std::string_view key, std::uint32_t& out) {
    std::int64_t spi = 0;
    // RFC 4303 §2.1 / RFC 4285 §5: 0-255 are reserved.
    if (!read_integer(node, key, ipsec::kMinimumSpi, 0xffffffffLL, "", spi)) return false;
    out = static_cast<std::uint32_t>(spi);
    return true;
  }

  // A required key of an entry, read with one of the typed readers above.
  template <class T>
  bool required(const toml::table& table, std::string_view section, std::string_view name,
                bool (Reader::*reader)(const toml::node&, std::string_view, T&), T& out) {
    const std::string key = join(section, name);
    const toml::node* value = table.get(name);
    if (value == nullptr) return missing(table, key);
    return (this->*reader)(*value, key, out);
  }

  bool read_esp_entry(const toml::table& table, EspEntry& out) {
    constexpr std::string_view kSection = "security.esp";
    if (!allow_keys(table, kSection,
                    {"home_address", "home_agent", "suite", "key_file", "spi_mn_to_ha",
                     "spi_ha_to_mn", "spi_tunnel_mn_to_ha", "spi_tunnel_ha_to_mn",
                     "protect_tunnel_payload", "replay_window"},
                    "key"))
      return false;
    if (!required(table, kSection, "home_address", &Reader::read_global_address,
                  out.home_address) ||
        !required(table, kSection, "home_agent", &Reader::read_global_address, out.home_agent) ||
        !required(table, kSection, "key_file", &Reader::read_absolute_path, out.key_file) ||
        !required(table, kSection, "spi_mn_to_ha", &Reader::read_spi, out.spi_mn_to_ha) ||
        !required(table, kSection, "spi_ha_to_mn", &Reader::read_spi, out.spi_ha_to_mn))
      return false;
    if (const auto* suite = table.get("suite")) {
      std::string name;
      if (!read_choice(*suite, "security.esp.suite",
                       {"aes-gcm-16", "aes-cbc-hmac-sha256", "3des-cbc-hmac-sha1"}, name))
        return false;
      out.suite = *ipsec::parse_suite(name);
    }
    return read_esp_tunnel(table, out) && read_esp_replay_window(table, out);
  }

  bool read_esp_tunnel(const toml::table& table, EspEntry& out) {
    const auto* out_spi = table.get("spi_tunnel_mn_to_ha");
    const auto* in_spi = table.get("spi_tunnel_ha_to_mn");
    if ((out_spi == nullptr) != (in_spi == nullptr))
      return fail(table.source(), "security.esp",
                  "spi_tunnel_mn_to_ha and spi_tunnel_ha_to_mn go together (one SA each way)");
    if (out_spi != nullptr) {
      std::uint32_t spi = 0;
      if (!read_spi(*out_spi, "security.esp.spi_tunnel_mn_to_ha", spi)) return false;
      out.spi_tunnel_mn_to_ha = spi;
      if (!read_spi(*in_spi, "security.esp.spi_tunnel_ha_to_mn", spi)) return false;
      out.spi_tunnel_ha_to_mn = spi;
    }
    if (const auto* value = table.get("protect_tunnel_payload")) {
      if (!read_bool(*value, "security.esp.protect_tunnel_payload", out.protect_tunnel_payload))
        return false;
      if (out.protect_tunnel_payload && !out.has_tunnel())
        return fail(value->source(), "security.esp.protect_tunnel_payload",
                    "needs the tunnel SAs (spi_tunnel_mn_to_ha and spi_tunnel_ha_to_mn)");
    }
    return true;
  }

  bool read_esp_replay_window(const toml::table& table, EspEntry& out) {
    const auto* value = table.get("replay_window");
    if (value == nullptr) return true;
    std::int64_t window = 0;
    if (!read_integer(*value, "security.esp.replay_window", 0, 1024, " packets", window))
      return false;
    out.replay_window = static_cast<std::uint32_t>(window);
    return true;
  }

  bool read_auth_entry(const toml::table& table, AuthOptionEntry& out) {
    constexpr std::string_view kSection = "security.auth_option";
    if (!allow_keys(table, kSection, {"home_address", "spi", "key_file", "identifier"}, "key"))
      return false;
    if (!required(table, kSection, "home_address", &Reader::read_global_address,
                  out.home_address) ||
        !required(table, kSection, "spi", &Reader::read_spi, out.spi) ||
        !required(table, kSection, "key_file", &Reader::read_absolute_path, out.key_file))
      return false;
    if (const auto* identifier = table.get("identifier")) {
      std::string nai;
      if (!read_string(*identifier, "security.auth_option.identifier", nai)) return false;
      // RFC 4283 §3: the option Length (one octet) covers the subtype too.
      if (nai.empty() || nai.size() > 254)
        return fail(identifier->source(), "security.auth_option.identifier",
                    "must be 1 to 254 octets (an NAI such as \"mn@example.net\")");
      out.identifier = nai;
    }
    return true;
  }

  // The entries must fit together and with the roles: SPIs name one SA each (an inbound SPI
  // finds its SA), one entry per home address, and a mobile node has the entry for its own home
  // address when its signalling is protected (else its BUs could not be).
  bool check_security_matches(const toml::table& table, const DaemonConfig& config,
                              const SecuritySection& out) {
    std::vector<std::uint32_t> spis;
    std::vector<wire::Ipv6Address> homes;
    for (const EspEntry& entry : out.esp) {
      for (auto spi : {std::optional(entry.spi_mn_to_ha), std::optional(entry.spi_ha_to_mn),
                       entry.spi_tunnel_mn_to_ha, entry.spi_tunnel_ha_to_mn}) {
        if (!spi) continue;
        if (std::find(spis.begin(), spis.end(), *spi) != spis.end())
          return fail(table.source(), "security.esp",
                      "SPI " + std::to_string(*spi) + " is used twice (one SA per SPI)");
        spis.push_back(*spi);
      }
      if (std::find(homes.begin(), homes.end(), entry.home_address) != homes.end())
        return fail(table.source(), "security.esp",
                    entry.home_address.to_string() + " has two entries");
      homes.push_back(entry.home_address);
    }
    homes.clear();
    spis.clear();
    for (const AuthOptionEntry& entry : out.auth_option) {
      if (std::find(spis.begin(), spis.end(), entry.spi) != spis.end())
        return fail(table.source(), "security.auth_option",
                    "SPI " + std::to_string(entry.spi) + " is used twice");
      spis.push_back(entry.spi);
      if (std::find(homes.begin(), homes.end(), entry.home_address) != homes.end())
        return fail(table.source(), "security.auth_option",
                    entry.home_address.to_string() + " has two entries");
      homes.push_back(entry.home_address);
    }
    return check_mobile_node_entry(table, config, out);
  }

  bool check_mobile_node_entry(const toml::table& table, const DaemonConfig& config,
                               const SecuritySection& out) {
    if (!config.mobile_node || out.signalling == Signalling::kNone) return true;
    const wire::Ipv6Address& home = config.mobile_node->home_address;
    if (out.signalling == Signalling::kEsp) {
      auto it = std::find_if(out.esp.begin(), out.esp.end(),
                             [&](const EspEntry& e) { return e.home_address == home; });
      if (it == out.esp.end())
        return fail(table.source(), "security.esp",
                    "signalling = \"esp\" but no [[security.esp]] entry has home_address = \"" +
                        home.to_string() + "\" (mobile_node.home_address)");
      if (config.mobile_node->home_agent && *config.mobile_node->home_agent != it->home_agent)
        return fail(table.source(), "security.esp",
                    "the entry for " + home.to_string() + " names home agent " +
                        it->home_agent.to_string() + " but mobile_node.home_agent is " +
                        config.mobile_node->home_agent->to_string());
      return true;
    }
    if (std::none_of(out.auth_option.begin(), out.auth_option.end(),
                     [&](const AuthOptionEntry& e) { return e.home_address == home; }))
      return fail(table.source(), "security.auth_option",
                  "signalling = \"auth-option\" but no [[security.auth_option]] entry has "
                  "home_address = \"" +
                      home.to_string() + "\" (mobile_node.home_address)");
    return true;
  }

  std::string path_;
  std::string error_;
};

std::string prefix_text(const Prefix& prefix) {
  return prefix.prefix.to_string() + "/" + std::to_string(prefix.length);
}

nlohmann::json prefixes_json(const std::vector<Prefix>& prefixes) {
  nlohmann::json array = nlohmann::json::array();
  for (const Prefix& prefix : prefixes)
    array.push_back(prefix_text(prefix));
  return array;
}

nlohmann::json node_json(const NodeSection& node) {
  nlohmann::json roles = nlohmann::json::array();
  for (const RoleKind role : node.roles)
    roles.push_back(std::string(role_name(role)));
  return {{"roles", roles},
          {"control_socket", node.control_socket},
          {"log_level", std::string(level_name(node.log_level))},
          {"state_file", node.state_file}};
}

nlohmann::json home_agent_json(const HomeAgentSection& section) {
  return {{"interface", section.interface},
          {"prefixes", prefixes_json(section.prefixes)},
          {"max_bindings", section.max_bindings},
          {"max_lifetime", section.max_lifetime.count()},
          {"preference", section.preference},
          {"bu_rate_per_source", section.bu_rate_per_source},
          {"bu_rate_global", section.bu_rate_global},
          {"direct_tunnel_output", section.direct_tunnel_output}};
}

nlohmann::json correspondent_json(const CorrespondentSection& section) {
  return {{"route_optimization", section.route_optimization},
          {"max_bindings", section.max_bindings}};
}

nlohmann::json mobile_node_json(const MobileNodeSection& section) {
  nlohmann::json route_optimization;
  switch (section.route_optimization) {
    case RouteOptimizationPolicy::kAlways:
      route_optimization = "always";
      break;
    case RouteOptimizationPolicy::kNever:
      route_optimization = "never";
      break;
    case RouteOptimizationPolicy::kPrefixes:
      route_optimization = prefixes_json(section.route_optimization_prefixes);
      break;
  }
  return {{"home_address",
           section.home_address.to_string() + "/" + std::to_string(section.prefix_length)},
          {"home_agent", section.home_agent ? section.home_agent->to_string() : "discover"},
          {"interfaces", section.interfaces},
          {"route_optimization", route_optimization},
          {"lifetime", section.lifetime.count()}};
}

nlohmann::json security_json(const SecuritySection& section) {
  nlohmann::json esp = nlohmann::json::array();
  for (const EspEntry& entry : section.esp) {
    nlohmann::json item = {{"home_address", entry.home_address.to_string()},
                           {"home_agent", entry.home_agent.to_string()},
                           {"suite", ipsec::to_string(entry.suite)},
                           {"key_file", entry.key_file},  // never the keys
                           {"spi_mn_to_ha", entry.spi_mn_to_ha},
                           {"spi_ha_to_mn", entry.spi_ha_to_mn},
                           {"protect_tunnel_payload", entry.protect_tunnel_payload},
                           {"replay_window", entry.replay_window}};
    if (entry.has_tunnel()) {
      item["spi_tunnel_mn_to_ha"] = *entry.spi_tunnel_mn_to_ha;
      item["spi_tunnel_ha_to_mn"] = *entry.spi_tunnel_ha_to_mn;
    }
    esp.push_back(std::move(item));
  }
  nlohmann::json auth = nlohmann::json::array();
  for (const AuthOptionEntry& entry : section.auth_option) {
    nlohmann::json item = {{"home_address", entry.home_address.to_string()},
                           {"spi", entry.spi},
                           {"key_file", entry.key_file}};
    if (entry.identifier) item["identifier"] = *entry.identifier;
    auth.push_back(std::move(item));
  }
  return {{"signalling", signalling_name(section.signalling)},
          {"timestamp_window", section.timestamp_window},
          {"esp", std::move(esp)},
          {"auth_option", std::move(auth)}};
}

}  // namespace

std::string_view signalling_name(Signalling signalling) {
  switch (signalling) {
    case Signalling::kNone:
      return "none";
    case Signalling::kEsp:
      return "esp";
    case Signalling::kAuthOption:
      return "auth-option";
  }
  return "none";
}

std::string_view role_name(RoleKind role) {
  switch (role) {
    case RoleKind::kMobileNode:
      return "mobile_node";
    case RoleKind::kHomeAgent:
      return "home_agent";
    case RoleKind::kCorrespondent:
      return "correspondent";
  }
  return "unknown";
}

bool DaemonConfig::has_role(RoleKind role) const {
  return std::find(node.roles.begin(), node.roles.end(), role) != node.roles.end();
}

linux_dp::Result<DaemonConfig> parse_config(std::string_view text, std::string_view path) {
  // toml++ reports syntax errors by exception; none may escape into the daemon (issue 8).
  try {
    toml::table root;
    try {
      root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
      const toml::source_position& at = e.source().begin;
      return linux_dp::Error{EINVAL, std::string(path) + ":" + std::to_string(at.line) + ":" +
                                         std::to_string(at.column) + ": " +
                                         std::string(e.description())};
    }
    Reader reader(path);
    std::optional<DaemonConfig> config = reader.read(root);
    if (!config) return linux_dp::Error{EINVAL, reader.error()};
    return std::move(*config);
  } catch (const std::exception& e) {
    return linux_dp::Error{EINVAL, std::string(path) + ": " + e.what()};
  }
}

namespace {

linux_dp::Error key_error(const std::string& path, std::string_view message) {
  return linux_dp::Error{EINVAL, path + ": " + std::string(message)};
}

linux_dp::Error errno_error(const std::string& path, int code) {
  return linux_dp::Error{code, path + ": " + std::strerror(code)};
}

// Everything `fd` holds (a directory opens fine and fails here, with EISDIR).
linux_dp::Result<std::string> read_all(const linux_dp::UniqueFd& fd, const std::string& path) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) return text;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(path, errno);
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

// Key files hold secrets: a file others can read (or write) is refused rather than used, as
// ssh does with private keys.
linux_dp::Result<std::string> read_secret_file(const std::string& path) {
  const linux_dp::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return errno_error(path, errno);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode))
    return key_error(path, "must be a regular file");
  if (status.st_uid != 0 && status.st_uid != ::geteuid())
    return key_error(path, "must belong to root (it holds keys)");
  if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    return key_error(path, std::string("must not be readable or writable by group or others "
                                       "(mode ") +
                               mode + "; chmod 600 " + path + ")");
  }
  return read_all(fd, path);
}

linux_dp::Result<toml::table> read_key_table(const std::string& path) {
  auto text = read_secret_file(path);
  if (!text) return text.error();
  try {
    return toml::parse(*text, path);
  } catch (const toml::parse_error& e) {
    return key_error(path, std::to_string(e.source().begin.line) + ":" +
                               std::to_string(e.source().begin.column) + ": " +
                               std::string(e.description()));
  }
}

// A hex string ("00112233...", optionally "0x"-prefixed) at `key` of `table`; empty when absent.
linux_dp::Result<wire::Bytes> read_hex_key(const toml::table& table, const std::string& path,
                                           const std::string& key) {
  const toml::node* node = table.at_path(key).node();
  if (node == nullptr) return wire::Bytes{};
  const auto* text = node->as_string();
  if (text == nullptr) return key_error(path, key + ": must be a string of hex digits");
  std::string_view digits = text->get();
  if (digits.starts_with("0x") || digits.starts_with("0X")) digits.remove_prefix(2);
  auto bytes = wire::from_hex(digits);
  if (!bytes || bytes->empty()) return key_error(path, key + ": must be a string of hex digits");
  return std::move(*bytes);
}

// One SA's keys from section `direction` of the key file, checked against the suite's sizes.
linux_dp::Result<EspKeys> read_esp_keys(const toml::table& table, const EspEntry& entry,
                                        const std::string& direction, std::uint32_t spi) {
  if (table.get_as<toml::table>(direction) == nullptr)
    return key_error(entry.key_file,
                     "[" + direction + "] is missing (SPI " + std::to_string(spi) + ")");
  auto encryption = read_hex_key(table, entry.key_file, direction + ".encryption");
  if (!encryption) return encryption.error();
  auto authentication = read_hex_key(table, entry.key_file, direction + ".authentication");
  if (!authentication) return authentication.error();
  ipsec::EspParameters parameters{spi, entry.suite, *encryption, *authentication,
                                  entry.replay_window};
  if (auto problem = ipsec::check_parameters(parameters))
    return key_error(entry.key_file, direction + ": " + *problem);
  return EspKeys{std::move(*encryption), std::move(*authentication)};
}

linux_dp::Status load_esp_keys(EspEntry& entry) {
  auto table = read_key_table(entry.key_file);
  if (!table) return table.error();
  struct Direction {
    const char* name;
    std::optional<std::uint32_t> spi;
    EspKeys* keys;
  };
  const Direction directions[] = {
      {"mn_to_ha", entry.spi_mn_to_ha, &entry.mn_to_ha},
      {"ha_to_mn", entry.spi_ha_to_mn, &entry.ha_to_mn},
      {"tunnel_mn_to_ha", entry.spi_tunnel_mn_to_ha, &entry.tunnel_mn_to_ha},
      {"tunnel_ha_to_mn", entry.spi_tunnel_ha_to_mn, &entry.tunnel_ha_to_mn},
  };
  for (const Direction& direction : directions) {
    if (!direction.spi) continue;
    auto keys = read_esp_keys(*table, entry, direction.name, *direction.spi);
    if (!keys) return keys.error();
    *direction.keys = std::move(*keys);
  }
  // RFC 4106 §3.1 / RFC 4303 §3.3.2: two SAs must never share a key (with AES-GCM, two SAs
  // counting their IVs from 1 under one key would repeat nonces).
  for (std::size_t i = 0; i < std::size(directions); ++i)
    for (std::size_t j = i + 1; j < std::size(directions); ++j)
      if (directions[i].spi && directions[j].spi &&
          directions[i].keys->encryption == directions[j].keys->encryption)
        return key_error(entry.key_file,
                         std::string(directions[i].name) + " and " + directions[j].name +
                             " have the same encryption key (each SA needs its own)");
  return {};
}

linux_dp::Status load_auth_key(AuthOptionEntry& entry) {
  auto table = read_key_table(entry.key_file);
  if (!table) return table.error();
  auto key = read_hex_key(*table, entry.key_file, "key");
  if (!key) return key.error();
  if (key->empty()) return key_error(entry.key_file, "key is missing (key = \"<hex>\")");
  // RFC 4285 §5.1 suggests 16 octets; HMAC-SHA1 takes any length, but a short key is weak.
  if (key->size() < 16)
    return key_error(entry.key_file,
                     "key: must be at least 16 octets (got " + std::to_string(key->size()) + ")");
  entry.key = std::move(*key);
  return {};
}

linux_dp::Status load_key_files(SecuritySection& security) {
  for (EspEntry& entry : security.esp)
    if (auto loaded = load_esp_keys(entry); !loaded) return loaded;
  for (AuthOptionEntry& entry : security.auth_option)
    if (auto loaded = load_auth_key(entry); !loaded) return loaded;
  return {};
}

}  // namespace

linux_dp::Result<DaemonConfig> load_config(const std::string& path) {
  const linux_dp::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(path, errno);
  auto text = read_all(fd, path);
  if (!text) return text.error();
  auto config = parse_config(*text, path);
  if (!config) return config;
  if (auto loaded = load_key_files(config->security); !loaded) return loaded.error();
  return config;
}

nlohmann::json to_json(const DaemonConfig& config) {
  nlohmann::json json = {{"path", config.path}, {"node", node_json(config.node)}};
  if (config.home_agent) json["home_agent"] = home_agent_json(*config.home_agent);
  if (config.correspondent) json["correspondent"] = correspondent_json(*config.correspondent);
  if (config.mobile_node) json["mobile_node"] = mobile_node_json(*config.mobile_node);
  json["security"] = security_json(config.security);
  return json;
}

}  // namespace mipv6::daemon
