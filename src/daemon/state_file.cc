#include "daemon/state_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "linux/sysctl.h"
#include "linux/unique_fd.h"

namespace mipv6::daemon {
namespace {

using json = nlohmann::json;
using linux_dp::Error;
using linux_dp::make_error;
using linux_dp::Result;
using linux_dp::Status;

// A malformed file: every decoding problem ends here as EBADMSG with the reason.
struct Corrupt {
  std::string reason;
};

// ---------------------------------------------------------------------------------------------
// Encoding

json address_json(const wire::Ipv6Address& a) {
  return a.to_string();
}

template <class T>
void put_optional(json& j, const char* name, const std::optional<T>& value) {
  if (value) j[name] = *value;
}
void put_optional(json& j, const char* name, const std::optional<wire::Ipv6Address>& value) {
  if (value) j[name] = value->to_string();
}
void put_optional(json& j, const char* name, const std::optional<linux_dp::Seconds>& value) {
  if (value) j[name] = value->count();
}

struct Encode {
  json operator()(const linux_dp::AddressSpec& a) const {
    json j{{"kind", "address"},
           {"ifindex", a.ifindex},
           {"address", address_json(a.address)},
           {"prefix_length", a.prefix_length},
           {"flags", a.flags}};
    put_optional(j, "valid_lifetime", a.valid_lifetime);
    put_optional(j, "preferred_lifetime", a.preferred_lifetime);
    return j;
  }
  json operator()(const linux_dp::RouteSpec& r) const {
    json j{{"kind", "route"},
           {"destination", address_json(r.destination)},
           {"prefix_length", r.prefix_length},
           {"ifindex", r.ifindex},
           {"table", r.table},
           {"metric", r.metric},
           {"protocol", r.protocol}};
    put_optional(j, "gateway", r.gateway);
    put_optional(j, "source", r.source);
    return j;
  }
  json operator()(const linux_dp::RuleSpec& r) const {
    json j{{"kind", "rule"},
           {"source_length", r.source_length},
           {"destination_length", r.destination_length},
           {"table", r.table},
           {"priority", r.priority},
           {"protocol", r.protocol}};
    put_optional(j, "source", r.source);
    put_optional(j, "destination", r.destination);
    put_optional(j, "fwmark", r.fwmark);
    put_optional(j, "fwmask", r.fwmask);
    return j;
  }
  json operator()(const linux_dp::ProxyNeighborSpec& p) const {
    return json{
        {"kind", "proxy_neighbor"}, {"ifindex", p.ifindex}, {"address", address_json(p.address)}};
  }
};

json encode(const RecordedState& state) {
  json objects = json::array();
  for (const auto& object : state.objects)
    objects.push_back(std::visit(Encode{}, object));
  json sysctls = json::array();
  for (const auto& [key, value] : state.sysctls)
    sysctls.push_back(json{{"key", key}, {"value", value}});
  return json{{"version", kStateFileVersion}, {"objects", objects}, {"sysctls", sysctls}};
}

// ---------------------------------------------------------------------------------------------
// Decoding (json's typed getters throw on a wrong type; read_state_file catches them)

const json& field(const json& j, const char* name) {
  if (!j.is_object() || !j.contains(name))
    throw Corrupt{std::string("missing field \"") + name + "\""};
  return j.at(name);
}

template <class T>
T number(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_number_unsigned())
    throw Corrupt{std::string("field \"") + name + "\" is not an unsigned number"};
  const auto n = value.get<std::uint64_t>();
  if (n > std::numeric_limits<T>::max())
    throw Corrupt{std::string("field \"") + name + "\" out of range"};
  return static_cast<T>(n);
}

wire::Ipv6Address address(const json& j, const char* name) {
  const json& value = field(j, name);
  std::optional<wire::Ipv6Address> parsed;
  if (value.is_string()) parsed = wire::Ipv6Address::parse(value.get<std::string>());
  if (!parsed) throw Corrupt{std::string("field \"") + name + "\" is not an IPv6 address"};
  return *parsed;
}

std::optional<wire::Ipv6Address> optional_address(const json& j, const char* name) {
  if (!j.contains(name)) return std::nullopt;
  return address(j, name);
}

template <class T>
std::optional<T> optional_number(const json& j, const char* name) {
  if (!j.contains(name)) return std::nullopt;
  return number<T>(j, name);
}

std::optional<linux_dp::Seconds> optional_seconds(const json& j, const char* name) {
  auto n = optional_number<std::uint32_t>(j, name);
  if (!n) return std::nullopt;
  return linux_dp::Seconds(*n);
}

// Each kind is built in a named object first: GCC 12 at -O3 reports a false
// -Wmaybe-uninitialized when a designated-initialiser temporary with optionals is moved into
// the variant directly.
linux_dp::AddressSpec decode_address(const json& j) {
  linux_dp::AddressSpec spec;
  spec.ifindex = number<std::uint32_t>(j, "ifindex");
  spec.address = address(j, "address");
  spec.prefix_length = number<std::uint8_t>(j, "prefix_length");
  spec.flags = number<std::uint32_t>(j, "flags");
  spec.valid_lifetime = optional_seconds(j, "valid_lifetime");
  spec.preferred_lifetime = optional_seconds(j, "preferred_lifetime");
  return spec;
}

linux_dp::RouteSpec decode_route(const json& j) {
  linux_dp::RouteSpec spec;
  spec.destination = address(j, "destination");
  spec.prefix_length = number<std::uint8_t>(j, "prefix_length");
  spec.gateway = optional_address(j, "gateway");
  spec.ifindex = number<std::uint32_t>(j, "ifindex");
  spec.table = number<std::uint32_t>(j, "table");
  spec.metric = number<std::uint32_t>(j, "metric");
  spec.source = optional_address(j, "source");
  spec.protocol = number<std::uint8_t>(j, "protocol");
  return spec;
}

linux_dp::RuleSpec decode_rule(const json& j) {
  linux_dp::RuleSpec spec;
  spec.source = optional_address(j, "source");
  spec.source_length = number<std::uint8_t>(j, "source_length");
  spec.destination = optional_address(j, "destination");
  spec.destination_length = number<std::uint8_t>(j, "destination_length");
  spec.fwmark = optional_number<std::uint32_t>(j, "fwmark");
  spec.fwmask = optional_number<std::uint32_t>(j, "fwmask");
  spec.table = number<std::uint32_t>(j, "table");
  spec.priority = number<std::uint32_t>(j, "priority");
  spec.protocol = number<std::uint8_t>(j, "protocol");
  return spec;
}

linux_dp::InstalledObject decode_object(const json& j) {
  const json& kind = field(j, "kind");
  const std::string name = kind.is_string() ? kind.get<std::string>() : "";
  linux_dp::InstalledObject object;
  if (name == "address") {
    object.emplace<linux_dp::AddressSpec>(decode_address(j));
  } else if (name == "route") {
    object.emplace<linux_dp::RouteSpec>(decode_route(j));
  } else if (name == "rule") {
    object.emplace<linux_dp::RuleSpec>(decode_rule(j));
  } else if (name == "proxy_neighbor") {
    object.emplace<linux_dp::ProxyNeighborSpec>(
        linux_dp::ProxyNeighborSpec{number<std::uint32_t>(j, "ifindex"), address(j, "address")});
  } else {
    throw Corrupt{"unknown object kind \"" + name + "\""};
  }
  return object;
}

std::string text(const json& j, const char* name) {
  const json& value = field(j, name);
  if (!value.is_string()) throw Corrupt{std::string("field \"") + name + "\" is not a string"};
  return value.get<std::string>();
}

RecordedState decode(const json& root) {
  if (number<int>(root, "version") != kStateFileVersion)
    throw Corrupt{"unsupported version " + field(root, "version").dump()};
  const json& objects = field(root, "objects");
  const json& sysctls = field(root, "sysctls");
  if (!objects.is_array() || !sysctls.is_array()) throw Corrupt{"objects/sysctls not arrays"};
  RecordedState state;
  for (const json& object : objects)
    state.objects.push_back(decode_object(object));
  for (const json& entry : sysctls)
    state.sysctls.emplace_back(text(entry, "key"), text(entry, "value"));
  return state;
}

// ---------------------------------------------------------------------------------------------
// Files

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return linux_dp::errno_error("write " + path);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// The rename is durable only once the directory entry is on disk too.
void sync_directory(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  linux_dp::UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) (void)::fsync(fd.get());
}

// The object is gone already: its interface was deleted, or someone else removed it.
bool already_gone(int code) {
  return code == ENOENT || code == ESRCH || code == EADDRNOTAVAIL || code == ENODEV;
}

Status remove_object(linux_dp::Netlink& netlink, const linux_dp::InstalledObject& object) {
  struct Remove {
    linux_dp::Netlink& nl;
    Status operator()(const linux_dp::AddressSpec& a) const {
      return nl.delete_address(a.ifindex, a.address, a.prefix_length);
    }
    Status operator()(const linux_dp::RouteSpec& r) const { return nl.delete_route(r); }
    Status operator()(const linux_dp::RuleSpec& r) const { return nl.delete_rule(r); }
    Status operator()(const linux_dp::ProxyNeighborSpec& p) const {
      return nl.delete_proxy_neighbor(p);
    }
  };
  auto s = std::visit(Remove{netlink}, object);
  if (!s && already_gone(s.error().code)) return {};
  return s;
}

}  // namespace

Status write_state_file(const std::string& path, const RecordedState& state) {
  const std::string tmp = path + ".tmp";
  const std::string data = encode(state).dump(2) + "\n";
  {
    linux_dp::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid()) return linux_dp::errno_error("open " + tmp);
    if (auto s = write_all(fd.get(), data, tmp); !s) return s;
    if (::fsync(fd.get()) < 0) return linux_dp::errno_error("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0)
    return linux_dp::errno_error("rename " + tmp + " to " + path);
  sync_directory(path);
  return {};
}

Result<RecordedState> read_state_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // ifstream hides errno's meaning behind failbit; tell a missing file from the rest.
    if (::access(path.c_str(), F_OK) < 0) return linux_dp::errno_error("open " + path);
    return make_error("open " + path, EACCES);
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return decode(json::parse(data));
  } catch (const Corrupt& corrupt) {
    return Error{EBADMSG, "state file " + path + ": " + corrupt.reason};
  } catch (const json::exception& e) {
    return Error{EBADMSG, "state file " + path + ": " + e.what()};
  }
}

Result<std::size_t> recover_state(const std::string& path, linux_dp::Netlink& netlink) {
  auto state = read_state_file(path);
  if (!state) {
    if (state.error().code == ENOENT) return std::size_t{0};
    return state.error();
  }
  std::size_t removed = 0;
  std::optional<Error> first;
  for (auto it = state->objects.rbegin(); it != state->objects.rend(); ++it) {
    if (auto s = remove_object(netlink, *it); !s) {
      if (!first) first = s.error();
      continue;
    }
    ++removed;
  }
  for (auto it = state->sysctls.rbegin(); it != state->sysctls.rend(); ++it) {
    auto s = linux_dp::Sysctls::write(it->first, it->second);
    if (!s && s.error().code != ENOENT && s.error().code != ENODEV && !first) first = s.error();
  }
  if (first) return *first;
  if (::unlink(path.c_str()) < 0 && errno != ENOENT) return linux_dp::errno_error("unlink " + path);
  return removed;
}

}  // namespace mipv6::daemon
