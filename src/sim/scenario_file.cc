#include "sim/scenario_file.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

namespace mipv6::sim {
namespace {

// The standard topology's home prefix (sim/scenario_spec.h): home agents must sit on it.
constexpr const char* kHomePrefix = "2001:db8:1::";
constexpr unsigned kPrefixLength = 64;  // SLAAC prefixes are /64 (RFC 4862 §5.5.3)
constexpr const char* kDefaultHomeAgent = "2001:db8:1::1";
constexpr std::size_t kMaxHomeAgents = 2;
constexpr std::size_t kMaxMobileNodes = 1'000'000;
// The largest time a file may give; far beyond any useful run, far below int64 nanoseconds.
constexpr std::int64_t kMaxSeconds = 1'000'000'000;
// Binding lifetimes travel in 16 bits of 4-second units (RFC 6275 §6.1.7, §6.1.8).
constexpr Duration kMaxBindingLifetime = std::chrono::seconds(65535 * 4);
// A CBR datagram must fit the IPv6 minimum MTU (RFC 8200 §5) when tunnelled with a Home Address
// option: 1280 - 40 (outer) - 40 (inner) - 24 (Destination Options with the HAO) - 8 (UDP).
constexpr std::int64_t kMaxCbrPayload = 1168;
constexpr Duration kAccessLinkDelay = std::chrono::milliseconds(1);
constexpr Duration kCoreLinkDelay = std::chrono::milliseconds(5);

struct Unit {
  std::string_view suffix;
  std::int64_t nanoseconds;
  int max_decimals;  // digits after the point that still give whole nanoseconds
};
// "min" before "ms"/"s" so that the longest suffix wins.
constexpr Unit kUnits[] = {{"min", 60'000'000'000, 10},
                           {"ms", 1'000'000, 6},
                           {"us", 1'000, 3},
                           {"ns", 1, 0},
                           {"s", 1'000'000'000, 9}};

bool is_standard_link(std::string_view name) {
  return std::ranges::any_of(kStandardLinks, [&](const char* l) { return name == l; });
}

bool is_access_link(std::string_view name) {
  return name == "home" || name == "a" || name == "b";
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(std::string_view array, std::size_t index) {
  return std::string(array) + "[" + std::to_string(index) + "]";
}

std::string seconds_text(Duration d) {
  std::ostringstream out;
  out << std::chrono::duration<double>(d).count() << " s";
  return out.str();
}

const char* type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date/time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Levenshtein distance, to suggest the key a typo meant.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view key,
                                std::initializer_list<std::string_view> allowed) {
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close matches
  for (const std::string_view candidate : allowed) {
    const std::size_t d = edit_distance(key, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (!best.empty()) return "unknown key (did you mean \"" + std::string(best) + "\"?)";
  std::string message = "unknown key (expected one of:";
  for (const std::string_view candidate : allowed)
    message += " " + std::string(candidate);
  return message + ")";
}

bool valid_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool valid_name(std::string_view name) {
  return !name.empty() && name.front() != '.' && std::ranges::all_of(name, valid_name_char);
}

// The default name: the file's stem, with what a name may not hold replaced by '_'.
std::string file_stem(const std::string& file_name) {
  std::string stem = file_name.substr(file_name.find_last_of('/') + 1);
  if (const auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem.resize(dot);
  std::ranges::replace_if(
      stem, [](char c) { return !valid_name_char(c); }, '_');
  if (stem.empty() || stem.front() == '.') stem.insert(0, "scenario");
  return stem;
}

std::optional<Duration> seconds_to_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > static_cast<double>(kMaxSeconds)) {
    return std::nullopt;
  }
  return Duration(std::llround(seconds * 1e9));
}

// A scenario being read: each read_* function reads one key of a table into the spec, leaves
// the target untouched when the key is absent, and on a bad value fills the error and returns
// false. Cross-section checks (moves against the run's end, home agent addresses...) happen as
// each section is read, in an order where what they depend on is already known.
class SpecReader {
 public:
  SpecReader(const std::string& file, ScenarioFileError& error) : file_(file), error_(error) {}

  std::optional<ScenarioSpec> read(const toml::table& root) {
    spec_.name = file_stem(file_);
    if (!read_top_level(root) || !read_links(root) || !read_home_agents(root) ||
        !read_mobile_nodes(root) || !read_moves(root) || !read_events(root) ||
        !read_traffic(root)) {
      return std::nullopt;
    }
    return std::move(spec_);
  }

 private:
  bool fail(const toml::source_region& where, std::string key, std::string message) {
    error_.file = file_;
    error_.line = where.begin.line;
    error_.column = where.begin.column;
    error_.key = std::move(key);
    error_.message = std::move(message);
    return false;
  }

  bool allow_keys(const toml::table& table, const std::string& path,
                  std::initializer_list<std::string_view> allowed) {
    for (auto&& [key, value] : table) {
      if (std::ranges::find(allowed, key.str()) == allowed.end()) {
        return fail(key.source(), join(path, key.str()), unknown_key_message(key.str(), allowed));
      }
    }
    return true;
  }

  bool wrong_type(const toml::node& node, const std::string& key, std::string_view expected) {
    return fail(node.source(), key,
                "expected " + std::string(expected) + ", got " + type_name(node.type()));
  }

  bool read_bool(const toml::table& table, const std::string& path, std::string_view key,
                 bool& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    if (!node->is_boolean()) return wrong_type(*node, join(path, key), "true or false");
    out = node->as_boolean()->get();
    return true;
  }

  bool read_string(const toml::table& table, const std::string& path, std::string_view key,
                   std::string& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    if (!node->is_string()) return wrong_type(*node, join(path, key), "a string");
    out = node->as_string()->get();
    return true;
  }

  // An integer in [min, max].
  template <typename T>
  bool read_integer(const toml::table& table, const std::string& path, std::string_view key,
                    std::int64_t min, std::int64_t max, T& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    if (!node->is_integer()) return wrong_type(*node, join(path, key), "an integer");
    const std::int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      return fail(node->source(), join(path, key),
                  "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                      std::to_string(value));
    }
    out = static_cast<T>(value);
    return true;
  }

  // A probability in [0, 1]: a float, or the integers 0 and 1.
  bool read_probability(const toml::table& table, const std::string& path, std::string_view key,
                        double& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    std::optional<double> value;
    if (node->is_floating_point()) value = node->as_floating_point()->get();
    if (node->is_integer()) value = static_cast<double>(node->as_integer()->get());
    if (!value) return wrong_type(*node, join(path, key), "a probability (0.0 to 1.0)");
    if (!(*value >= 0.0 && *value <= 1.0)) {
      std::ostringstream text;
      text << "must be a probability in [0, 1], got " << *value;
      return fail(node->source(), join(path, key), text.str());
    }
    out = *value;
    return true;
  }

  // A time or duration: seconds as a number, or a string with its unit. Never negative;
  // `positive` also refuses zero.
  bool read_duration(const toml::table& table, const std::string& path, std::string_view key,
                     bool positive, Duration& out) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return true;
    std::optional<Duration> value;
    bool negative = false;
    if (node->is_integer()) {
      const std::int64_t seconds = node->as_integer()->get();
      negative = seconds < 0;
      if (!negative && seconds <= kMaxSeconds) value = std::chrono::seconds(seconds);
    } else if (node->is_floating_point()) {
      negative = node->as_floating_point()->get() < 0;
      value = seconds_to_duration(node->as_floating_point()->get());
    } else if (node->is_string()) {
      const std::string& text = node->as_string()->get();
      negative = text.starts_with('-');
      value = parse_duration_text(text);
    } else {
      return wrong_type(*node, join(path, key), "seconds or a duration string like \"250ms\"");
    }
    if (negative) return fail(node->source(), join(path, key), "must not be negative");
    if (!value && !node->is_string()) {
      return fail(node->source(), join(path, key),
                  "must be a finite number of seconds, at most " + std::to_string(kMaxSeconds));
    }
    if (!value) {
      return fail(node->source(), join(path, key),
                  "expected seconds or a duration like \"250ms\", \"1.5s\", \"20us\", \"2min\"");
    }
    if (positive && *value == Duration::zero()) {
      return fail(node->source(), join(path, key), "must be greater than zero");
    }
    out = *value;
    return true;
  }

  bool read_time(const toml::table& table, const std::string& path, std::string_view key,
                 TimePoint& out) {
    Duration since_start = out.time_since_epoch();
    if (!read_duration(table, path, key, false, since_start)) return false;
    out = TimePoint(since_start);
    return true;
  }

  // A time that must fall inside the run: [0, duration).
  bool read_time_in_run(const toml::table& table, const std::string& path, std::string_view key,
                        TimePoint& out) {
    if (!read_time(table, path, key, out)) return false;
    if (out.time_since_epoch() >= spec_.duration) {
      return fail(table.get(key)->source(), join(path, key),
                  "at " + seconds_text(out.time_since_epoch()) +
                      " is not before the end of the run (duration = " +
                      seconds_text(spec_.duration) + ")");
    }
    return true;
  }

  bool require(const toml::table& table, const std::string& path, std::string_view key) {
    if (table.contains(key)) return true;
    return fail(table.source(), join(path, key), "missing (required)");
  }

  bool read_address(const toml::table& table, const std::string& path, std::string_view key,
                    std::optional<wire::Ipv6Address>& out) {
    std::string text;
    if (!table.contains(key)) return true;
    if (!read_string(table, path, key, text)) return false;
    out = wire::Ipv6Address::parse(text);
    if (!out) {
      return fail(table.get(key)->source(), join(path, key),
                  "\"" + text + "\" is not an IPv6 address");
    }
    return true;
  }

  // The standard links: "home", "a", "b" (access links, where mobile nodes go), or also
  // "backbone" and "cn" when `any` is set.
  bool read_link_name(const toml::table& table, const std::string& path, std::string_view key,
                      bool any, std::string& out) {
    if (!read_string(table, path, key, out)) return false;
    if (!table.contains(key)) return true;
    if (any ? is_standard_link(out) : is_access_link(out)) return true;
    return fail(table.get(key)->source(), join(path, key),
                "unknown link \"" + out + "\" (expected " +
                    (any ? "home, a, b, backbone or cn" : "home, a or b") + ")");
  }

  // A table (`[name]`) or an array of tables (`[[name]]`) at the top level.
  const toml::table* section(const toml::table& root, std::string_view key) {
    const toml::node* node = root.get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      wrong_type(*node, std::string(key), "a table [" + std::string(key) + "]");
      return nullptr;
    }
    return node->as_table();
  }

  // nullptr with the error set when `key` is there but not an array of tables.
  const toml::array* table_array(const toml::table& root, std::string_view key, bool& ok) {
    ok = true;
    const toml::node* node = root.get(key);
    if (node == nullptr) return nullptr;
    const toml::array* array = node->as_array();
    if (array == nullptr || !array->is_array_of_tables()) {
      ok = wrong_type(*node, std::string(key), "one or more [[" + std::string(key) + "]] tables");
      return nullptr;
    }
    return array;
  }

  // ---- top level -------------------------------------------------------------------------

  bool read_top_level(const toml::table& root) {
    if (!allow_keys(root, "",
                    {"name", "description", "seed", "duration", "ra", "capture", "trace", "links",
                     "home_agent", "mobile_nodes", "move", "event", "traffic"})) {
      return false;
    }
    if (!read_string(root, "", "name", spec_.name) ||
        !read_string(root, "", "description", spec_.description)) {
      return false;
    }
    if (!valid_name(spec_.name)) {
      const toml::node* node = root.get("name");
      return fail(node != nullptr ? node->source() : root.source(), "name",
                  "\"" + spec_.name +
                      "\" is not a valid scenario name (letters, digits, '-', '_', '.'; it "
                      "names the output directory)");
    }
    std::string ra = "default";
    if (!read_integer(root, "", "seed", 0, std::numeric_limits<std::int64_t>::max(), spec_.seed) ||
        !read_duration(root, "", "duration", true, spec_.duration) ||
        !read_string(root, "", "ra", ra) || !read_bool(root, "", "capture", spec_.capture) ||
        !read_bool(root, "", "trace", spec_.trace)) {
      return false;
    }
    if (ra == "fast") {
      spec_.ra = RaTiming::kFast;
    } else if (ra != "default") {
      return fail(root.get("ra")->source(), "ra",
                  "\"" + ra + "\" is not an RA timing (expected \"default\" or \"fast\")");
    }
    return true;
  }

  // ---- [links.<name>] --------------------------------------------------------------------

  bool read_links(const toml::table& root) {
    const toml::table* links = section(root, "links");
    if (links == nullptr) return !root.contains("links");
    for (auto&& [key, value] : *links) {
      const std::string path = join("links", key.str());
      if (!is_standard_link(key.str())) {
        return fail(key.source(), path,
                    "unknown link \"" + std::string(key.str()) +
                        "\" (expected home, a, b, backbone or cn)");
      }
      if (!value.is_table()) return wrong_type(value, path, "a table [" + path + "]");
      if (!read_link(*value.as_table(), path, std::string(key.str()))) return false;
    }
    return true;
  }

  bool read_link(const toml::table& table, const std::string& path, std::string name) {
    if (!allow_keys(table, path, {"delay", "bandwidth_bps", "loss", "queue_limit"})) return false;
    LinkSpec link{std::move(name), {}};
    link.params.delay = is_access_link(link.name) ? kAccessLinkDelay : kCoreLinkDelay;
    if (!read_duration(table, path, "delay", false, link.params.delay) ||
        !read_integer(table, path, "bandwidth_bps", 0, std::numeric_limits<std::int64_t>::max(),
                      link.params.bandwidth_bps) ||
        !read_probability(table, path, "loss", link.params.loss) ||
        !read_integer(table, path, "queue_limit", 0, std::numeric_limits<std::int32_t>::max(),
                      link.params.queue_limit)) {
      return false;
    }
    spec_.links.push_back(std::move(link));
    return true;
  }

  // ---- [[home_agent]] --------------------------------------------------------------------

  bool read_home_agents(const toml::table& root) {
    bool ok = true;
    const toml::array* agents = table_array(root, "home_agent", ok);
    if (agents == nullptr) return ok;
    for (std::size_t i = 0; i < agents->size(); ++i) {
      const toml::table& table = *agents->get(i)->as_table();
      const std::string path = indexed("home_agent", i);
      if (i >= kMaxHomeAgents) {
        return fail(table.source(), path,
                    "at most 2 home agents (the standard topology has room for two)");
      }
      if (!read_home_agent(table, path, i)) return false;
    }
    return true;
  }

  bool read_home_agent(const toml::table& table, const std::string& path, std::size_t index) {
    if (!allow_keys(table, path,
                    {"name", "address", "preference", "max_lifetime", "max_bindings"}) ||
        !require(table, path, "address")) {
      return false;
    }
    HomeAgentSpec agent;
    agent.name = index == 0 ? "ha" : "ha" + std::to_string(index + 1);
    std::optional<wire::Ipv6Address> address;
    if (!read_string(table, path, "name", agent.name) ||
        !read_address(table, path, "address", address) ||
        !read_integer(table, path, "preference", 0, 65535, agent.preference) ||
        !read_duration(table, path, "max_lifetime", true, agent.max_lifetime) ||
        !read_integer(table, path, "max_bindings", 1, std::numeric_limits<std::int32_t>::max(),
                      agent.max_bindings)) {
      return false;
    }
    agent.address = *address;
    if (!check_home_agent(table, path, agent)) return false;
    spec_.home_agents.push_back(std::move(agent));
    return true;
  }

  bool check_home_agent(const toml::table& table, const std::string& path,
                        const HomeAgentSpec& agent) {
    const auto name_at = [&] {
      return table.contains("name") ? table.get("name")->source() : table.source();
    };
    if (!valid_name(agent.name)) {
      return fail(name_at(), join(path, "name"), "\"" + agent.name + "\" is not a valid node name");
    }
    const toml::source_region& address_at = table.get("address")->source();
    const std::string address_key = join(path, "address");
    const auto home = *wire::Ipv6Address::parse(kHomePrefix);
    if (!agent.address.in_prefix(home, kPrefixLength)) {
      return fail(address_at, address_key,
                  agent.address.to_string() + " is not on the home link " + kHomePrefix + "/64");
    }
    // The Subnet-Router anycast address (RFC 4291 §2.6.1) is no unicast address to serve from.
    if (agent.address == home) {
      return fail(address_at, address_key,
                  "the Subnet-Router anycast address cannot be a home agent's address");
    }
    if (agent.max_lifetime > kMaxBindingLifetime) {
      return fail(table.get("max_lifetime")->source(), join(path, "max_lifetime"),
                  "must be at most 262140 s (16 bits of 4-second units, RFC 6275 §6.1.8)");
    }
    for (const HomeAgentSpec& other : spec_.home_agents) {
      if (other.address == agent.address) {
        return fail(
            address_at, address_key,
            "home agent \"" + other.name + "\" already has address " + agent.address.to_string());
      }
      if (other.name == agent.name) {
        return fail(name_at(), join(path, "name"),
                    "two home agents are named \"" + agent.name + "\"");
      }
    }
    return true;
  }

  // ---- [mobile_nodes] --------------------------------------------------------------------

  bool read_mobile_nodes(const toml::table& root) {
    const toml::table* table = section(root, "mobile_nodes");
    if (table == nullptr) return !root.contains("mobile_nodes");
    const std::string path = "mobile_nodes";
    MobileNodesSpec& nodes = spec_.mobile_nodes;
    Duration probe_timeout = nodes.probe_timeout.value_or(Duration::zero());
    if (!allow_keys(*table, path,
                    {"count", "home_agent", "start_link", "route_optimization", "optimistic_dad",
                     "link_hints", "probe_timeout", "registration_lifetime", "start_stagger",
                     "move_stagger", "forward_from_previous_care_of"}) ||
        !read_integer(*table, path, "count", 1, static_cast<std::int64_t>(kMaxMobileNodes),
                      nodes.count) ||
        !read_mobile_home_agent(*table, path) ||
        !read_link_name(*table, path, "start_link", false, nodes.start_link) ||
        !read_bool(*table, path, "route_optimization", nodes.route_optimization) ||
        !read_bool(*table, path, "optimistic_dad", nodes.optimistic_dad) ||
        !read_bool(*table, path, "link_hints", nodes.link_hints) ||
        !read_duration(*table, path, "probe_timeout", true, probe_timeout) ||
        !read_duration(*table, path, "registration_lifetime", true, nodes.registration_lifetime) ||
        !read_duration(*table, path, "start_stagger", false, nodes.start_stagger) ||
        !read_duration(*table, path, "move_stagger", false, nodes.move_stagger) ||
        !read_bool(*table, path, "forward_from_previous_care_of",
                   nodes.forward_from_previous_care_of)) {
      return false;
    }
    if (table->contains("probe_timeout")) nodes.probe_timeout = probe_timeout;
    return check_mobile_nodes(*table, path);
  }

  // An address, or "dhaad": discover the home agent (RFC 6275 §11.4.1), the default.
  bool read_mobile_home_agent(const toml::table& table, const std::string& path) {
    const toml::node* node = table.get("home_agent");
    if (node == nullptr) return true;
    if (node->is_string() && node->as_string()->get() == "dhaad") return true;
    std::optional<wire::Ipv6Address> address;
    if (!read_address(table, path, "home_agent", address)) return false;
    const bool known = spec_.home_agents.empty()
                           ? *address == *wire::Ipv6Address::parse(kDefaultHomeAgent)
                           : std::ranges::any_of(spec_.home_agents, [&](const HomeAgentSpec& a) {
                               return a.address == *address;
                             });
    if (!known) {
      return fail(node->source(), join(path, "home_agent"),
                  address->to_string() + " is not the address of a [[home_agent]]");
    }
    spec_.mobile_nodes.home_agent = address;
    return true;
  }

  bool check_mobile_nodes(const toml::table& table, const std::string& path) {
    const MobileNodesSpec& nodes = spec_.mobile_nodes;
    if (nodes.registration_lifetime > kMaxBindingLifetime) {
      return fail(table.get("registration_lifetime")->source(), join(path, "registration_lifetime"),
                  "must be at most 262140 s (16 bits of 4-second units, RFC 6275 §6.1.7)");
    }
    const Duration last_start = nodes.start_stagger * static_cast<std::int64_t>(nodes.count - 1);
    if (last_start >= spec_.duration) {
      return fail(
          table.get("start_stagger")->source(), join(path, "start_stagger"),
          "the last mobile node would start at " + seconds_text(last_start) +
              ", not before the end of the run (duration = " + seconds_text(spec_.duration) + ")");
    }
    return true;
  }

  // ---- [[move]] --------------------------------------------------------------------------

  bool read_moves(const toml::table& root) {
    bool ok = true;
    const toml::array* moves = table_array(root, "move", ok);
    if (moves == nullptr) return ok;
    for (std::size_t i = 0; i < moves->size(); ++i) {
      if (!read_move(*moves->get(i)->as_table(), indexed("move", i))) return false;
    }
    return true;
  }

  bool read_move(const toml::table& table, const std::string& path) {
    MoveSpec move;
    std::size_t node = 0;
    if (!allow_keys(table, path, {"at", "link", "overlap", "node"}) ||
        !require(table, path, "at") || !require(table, path, "link") ||
        !read_time_in_run(table, path, "at", move.at) ||
        !read_link_name(table, path, "link", false, move.link) ||
        !read_duration(table, path, "overlap", false, move.overlap) ||
        !read_integer(table, path, "node", 0,
                      static_cast<std::int64_t>(spec_.mobile_nodes.count) - 1, node)) {
      return false;
    }
    if (table.contains("node")) move.node = node;
    if (move.at + move.overlap >= TimePoint(spec_.duration)) {
      return fail(table.get("overlap")->source(), join(path, "overlap"),
                  "the old link would be left at " +
                      seconds_text((move.at + move.overlap).time_since_epoch()) +
                      ", not before the end of the run");
    }
    spec_.moves.push_back(std::move(move));
    return true;
  }

  // ---- [[event]] -------------------------------------------------------------------------

  bool read_events(const toml::table& root) {
    bool ok = true;
    const toml::array* events = table_array(root, "event", ok);
    if (events == nullptr) return ok;
    std::vector<const toml::table*> tables;
    for (std::size_t i = 0; i < events->size(); ++i) {
      tables.push_back(events->get(i)->as_table());
      if (!read_event(*tables.back(), indexed("event", i))) return false;
    }
    return check_crash_restart_order(tables);
  }

  bool read_event(const toml::table& table, const std::string& path) {
    std::string kind;
    if (!require(table, path, "kind") || !read_string(table, path, "kind", kind)) return false;
    EventSpec event;
    if (kind == "ha-crash" || kind == "ha-restart") {
      event.kind = kind == "ha-crash" ? EventKind::kHomeAgentCrash : EventKind::kHomeAgentRestart;
      if (!allow_keys(table, path, {"at", "kind", "target"}) ||
          !read_home_agent_target(table, path, event.target)) {
        return false;
      }
    } else if (kind == "cn-reboot") {
      event.kind = EventKind::kCorrespondentReboot;
      if (!allow_keys(table, path, {"at", "kind"})) return false;
    } else if (kind == "loss-burst") {
      event.kind = EventKind::kLossBurst;
      if (!read_loss_burst(table, path, event)) return false;
    } else if (kind == "renumber-home") {
      event.kind = EventKind::kRenumberHome;
      if (!allow_keys(table, path, {"at", "kind", "new_prefix"}) ||
          !require(table, path, "new_prefix") ||
          !read_prefix(table, path, "new_prefix", event.new_prefix)) {
        return false;
      }
    } else {
      return fail(table.get("kind")->source(), join(path, "kind"),
                  "unknown event kind \"" + kind +
                      "\" (expected ha-crash, ha-restart, cn-reboot, loss-burst or "
                      "renumber-home)");
    }
    if (!require(table, path, "at") || !read_time_in_run(table, path, "at", event.at)) {
      return false;
    }
    spec_.events.push_back(std::move(event));
    return true;
  }

  // Which home agent crashes or restarts: its name; the first home agent by default.
  bool read_home_agent_target(const toml::table& table, const std::string& path,
                              std::string& target) {
    target = spec_.home_agents.empty() ? "ha" : spec_.home_agents.front().name;
    if (!read_string(table, path, "target", target)) return false;
    const bool known = spec_.home_agents.empty()
                           ? target == "ha"
                           : std::ranges::any_of(spec_.home_agents, [&](const HomeAgentSpec& a) {
                               return a.name == target;
                             });
    if (known) return true;
    return fail(table.get("target")->source(), join(path, "target"),
                "no home agent is named \"" + target + "\"");
  }

  bool read_loss_burst(const toml::table& table, const std::string& path, EventSpec& event) {
    if (!allow_keys(table, path, {"at", "kind", "target", "duration", "loss"}) ||
        !require(table, path, "target") || !require(table, path, "duration") ||
        !read_link_name(table, path, "target", true, event.target) ||
        !read_duration(table, path, "duration", true, event.duration) ||
        !read_probability(table, path, "loss", event.loss)) {
      return false;
    }
    return true;
  }

  // A /64 prefix in "2001:db8:2::/64" form, host bits zero, global unicast, not the home
  // prefix already in use.
  bool read_prefix(const toml::table& table, const std::string& path, std::string_view key,
                   std::optional<wire::Ipv6Address>& out) {
    std::string text;
    if (!read_string(table, path, key, text)) return false;
    const toml::source_region& at = table.get(key)->source();
    const std::string full_key = join(path, key);
    const auto slash = text.find('/');
    out = wire::Ipv6Address::parse(std::string_view(text).substr(0, slash));
    if (slash == std::string::npos || !out) {
      return fail(at, full_key, "\"" + text + "\" is not a prefix like \"2001:db8:2::/64\"");
    }
    if (text.substr(slash + 1) != "64") {
      return fail(at, full_key, "the prefix must be a /64 (stateless autoconfiguration)");
    }
    if (std::any_of(out->bytes.begin() + kPrefixLength / 8, out->bytes.end(),
                    [](std::uint8_t b) { return b != 0; })) {
      return fail(at, full_key, "\"" + text + "\" has bits set after the first 64");
    }
    if (!out->is_unicast_routable()) {
      return fail(at, full_key, "\"" + text + "\" is not a global unicast prefix");
    }
    if (*out == *wire::Ipv6Address::parse(kHomePrefix)) {
      return fail(at, full_key, "\"" + text + "\" is already the home prefix");
    }
    return true;
  }

  // A home agent restarts only after it crashed, and crashes only while it runs.
  bool check_crash_restart_order(const std::vector<const toml::table*>& tables) {
    std::vector<std::size_t> order(spec_.events.size());
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::ranges::stable_sort(order, [&](std::size_t x, std::size_t y) {
      return spec_.events[x].at < spec_.events[y].at;
    });
    std::set<std::string> down;
    for (const std::size_t i : order) {
      const EventSpec& event = spec_.events[i];
      const std::string key = join(indexed("event", i), "kind");
      if (event.kind == EventKind::kHomeAgentCrash && !down.insert(event.target).second) {
        return fail(tables[i]->get("kind")->source(), key,
                    "home agent \"" + event.target + "\" is already down (crashed earlier)");
      }
      if (event.kind == EventKind::kHomeAgentRestart && down.erase(event.target) == 0) {
        return fail(tables[i]->get("kind")->source(), key,
                    "home agent \"" + event.target + "\" restarts without having crashed");
      }
    }
    return true;
  }

  // ---- [traffic] -------------------------------------------------------------------------

  bool read_traffic(const toml::table& root) {
    const toml::table* table = section(root, "traffic");
    if (table == nullptr) return !root.contains("traffic");
    const std::string path = "traffic";
    TrafficSpec& traffic = spec_.traffic;
    Duration ping = Duration::zero();
    Duration cbr = Duration::zero();
    TimePoint stop{};
    if (!allow_keys(*table, path,
                    {"ping_interval", "cbr_interval", "cbr_to_mobile", "cbr_from_mobile",
                     "cbr_payload", "start", "stop"}) ||
        !read_duration(*table, path, "ping_interval", true, ping) ||
        !read_duration(*table, path, "cbr_interval", true, cbr) ||
        !read_bool(*table, path, "cbr_to_mobile", traffic.cbr_to_mobile) ||
        !read_bool(*table, path, "cbr_from_mobile", traffic.cbr_from_mobile) ||
        !read_integer(*table, path, "cbr_payload", 1, kMaxCbrPayload, traffic.cbr_payload) ||
        !read_time_in_run(*table, path, "start", traffic.start) ||
        !read_time(*table, path, "stop", stop)) {
      return false;
    }
    if (table->contains("ping_interval")) traffic.ping_interval = ping;
    if (table->contains("cbr_interval")) traffic.cbr_interval = cbr;
    if (table->contains("stop")) traffic.stop = stop;
    return check_traffic(*table, path);
  }

  bool check_traffic(const toml::table& table, const std::string& path) {
    const TrafficSpec& traffic = spec_.traffic;
    if (traffic.stop &&
        (*traffic.stop <= traffic.start || traffic.stop->time_since_epoch() > spec_.duration)) {
      return fail(table.get("stop")->source(), join(path, "stop"),
                  "must be after start (" + seconds_text(traffic.start.time_since_epoch()) +
                      ") and at most the end of the run (" + seconds_text(spec_.duration) + ")");
    }
    if (traffic.cbr_interval) {
      if (traffic.cbr_to_mobile || traffic.cbr_from_mobile) return true;
      return fail(table.get("cbr_interval")->source(), join(path, "cbr_interval"),
                  "a CBR flow needs cbr_to_mobile or cbr_from_mobile");
    }
    // CBR settings without a CBR flow are a mistake, not a no-op.
    for (const std::string_view key : {"cbr_to_mobile", "cbr_from_mobile", "cbr_payload"}) {
      if (table.contains(key)) {
        return fail(table.get(key)->source(), join(path, key),
                    "has no effect without cbr_interval");
      }
    }
    return true;
  }

  const std::string& file_;
  ScenarioFileError& error_;
  ScenarioSpec spec_;
};

}  // namespace

std::string ScenarioFileError::to_string() const {
  std::string text = file;
  if (line != 0) text += ":" + std::to_string(line) + ":" + std::to_string(column);
  text += ": ";
  if (!key.empty()) text += key + ": ";
  return text + message;
}

std::optional<Duration> parse_duration_text(std::string_view text) {
  for (const Unit& unit : kUnits) {
    if (!text.ends_with(unit.suffix)) continue;
    const std::string_view number = text.substr(0, text.size() - unit.suffix.size());
    const auto point = number.find('.');
    const std::string_view whole = number.substr(0, point);
    const std::string_view fraction =
        point == std::string_view::npos ? std::string_view() : number.substr(point + 1);
    const auto all_digits = [](std::string_view s) {
      return std::ranges::all_of(s, [](char c) { return c >= '0' && c <= '9'; });
    };
    if (whole.empty() || !all_digits(whole) || !all_digits(fraction) ||
        (point != std::string_view::npos && fraction.empty()) ||
        fraction.size() > static_cast<std::size_t>(unit.max_decimals)) {
      return std::nullopt;
    }
    std::int64_t units = 0;
    std::int64_t fraction_value = 0;
    if (std::from_chars(whole.data(), whole.data() + whole.size(), units).ec != std::errc() ||
        units > kMaxSeconds * 1'000'000'000 / unit.nanoseconds) {
      return std::nullopt;
    }
    if (!fraction.empty()) {
      std::from_chars(fraction.data(), fraction.data() + fraction.size(), fraction_value);
    }
    std::int64_t scale = unit.nanoseconds;
    for (std::size_t i = 0; i < fraction.size(); ++i)
      scale /= 10;
    return Duration(units * unit.nanoseconds + fraction_value * scale);
  }
  return std::nullopt;
}

std::optional<ScenarioSpec> parse_scenario(std::string_view text, const std::string& file_name,
                                           ScenarioFileError& error) {
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    error = {file_name, e.source().begin.line, e.source().begin.column, "",
             std::string(e.description())};
    return std::nullopt;
  }
  return SpecReader(file_name, error).read(root);
}

std::optional<ScenarioSpec> load_scenario_file(const std::string& path, ScenarioFileError& error) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    error = {path, 0, 0, "", "is a directory, not a scenario file"};
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = {path, 0, 0, "", std::string("cannot read the file: ") + std::strerror(errno)};
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), path, error);
}

}  // namespace mipv6::sim
