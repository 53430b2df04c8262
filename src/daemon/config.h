// The daemon's configuration (issue 8): the TOML file `mipv6d --config FILE` reads, as plain data.
// docs/mipv6d.conf.md documents every key and its default. parse_config() reports the first
// problem as "FILE:LINE:COLUMN: KEY: message" (e.g. "/etc/mipv6d.toml:7:12: home_agent.
// max_lifetime: must be between 4 and 262140 seconds"), so that an operator can go straight to it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "ipsec/esp.h"
#include "linux/result.h"
#include "wire/address.h"

namespace mipv6::daemon {

enum class RoleKind : std::uint8_t { kMobileNode, kHomeAgent, kCorrespondent };
std::string_view role_name(RoleKind role);  // "mobile_node", "home_agent", "correspondent"

struct Prefix {
  wire::Ipv6Address prefix;  // host bits zero
  std::uint8_t length = 64;
  friend bool operator==(const Prefix&, const Prefix&) = default;
};

struct NodeSection {
  std::vector<RoleKind> roles;  // at least one, no repeats
  std::string control_socket = "/run/mipv6d/mipv6d.sock";
  core::LogLevel log_level = core::LogLevel::kInfo;
  // Where the daemon records the kernel objects it installed, so that the next start after a
  // crash removes them (issue 8, crash recovery).
  std::string state_file = "/run/mipv6d/mipv6d.state";
};

struct HomeAgentSection {
  std::string interface;         // the home link (required)
  std::vector<Prefix> prefixes;  // empty: the global prefixes configured on the interface
  std::size_t max_bindings = 100000;
  std::chrono::seconds max_lifetime{420};  // RFC 6275 §10.3.1 local policy, 4..262140 s
  std::uint16_t preference = 0;            // DHAAD (§10.5.1)
  // Flood limits (issue 7): Binding Updates per second from one source address (bursts of
  // twice that) and from all sources together; over them a BU is dropped and counted.
  std::uint32_t bu_rate_per_source = 10;
  std::uint32_t bu_rate_global = 20000;
  // Tunnel packets to care-of addresses straight to the next hop the kernel's tables name,
  // through a packet socket (raw_sender.h, issue 8); false: through the kernel's IPv6 output,
  // where ip6tables' OUTPUT and POSTROUTING chains and kernel IPsec policies see them.
  bool direct_tunnel_output = true;
};

struct CorrespondentSection {
  bool route_optimization = true;  // §8.2: administratively enabled by default
  std::size_t max_bindings = 4096;
};

enum class RouteOptimizationPolicy : std::uint8_t { kAlways, kNever, kPrefixes };

struct MobileNodeSection {
  // Required, global unicast. The file gives "addr/len"; without "/len", 64 (RFC 4862 §5.5.3).
  wire::Ipv6Address home_address;
  std::uint8_t prefix_length = 64;              // of the home subnet prefix
  std::optional<wire::Ipv6Address> home_agent;  // nullopt: "discover" (DHAAD, §11.4.1)
  std::vector<std::string> interfaces;          // in order of preference (at least one)
  RouteOptimizationPolicy route_optimization = RouteOptimizationPolicy::kAlways;
  std::vector<Prefix> route_optimization_prefixes;  // kPrefixes: correspondents in these
  std::chrono::seconds lifetime{420};               // asked of the home agent (§11.7.1), 4..262140
};

// How Binding Updates and Acknowledgements between a mobile node and its home agent are
// protected (RFC 6275 §5.1, issue 7): "none" (a lab setting, warned about at start), ESP (RFC
// 4303 with manual SAs, RFC 3776/4877) or the RFC 4285 authentication option.
enum class Signalling : std::uint8_t { kNone, kEsp, kAuthOption };
std::string_view signalling_name(Signalling signalling);  // "none", "esp", "auth-option"

// The keys of one ESP SA: for AES-GCM the encryption key is the AES key followed by the
// 4-octet salt (RFC 4106 §8.1) and there is no authentication key.
struct EspKeys {
  wire::Bytes encryption;
  wire::Bytes authentication;
};

// One mobile node's ESP SAs with its home agent (docs/mipv6d.conf.md, [[security.esp]]). A
// mobile node lists its own home address; a home agent one entry per mobile node.
struct EspEntry {
  wire::Ipv6Address home_address;
  wire::Ipv6Address home_agent;
  ipsec::EspSuite suite = ipsec::EspSuite::kAesGcm16;
  std::string key_file;
  std::uint32_t spi_mn_to_ha = 0;                    // transport mode: BU, MPS
  std::uint32_t spi_ha_to_mn = 0;                    // transport mode: BA, MPA
  std::optional<std::uint32_t> spi_tunnel_mn_to_ha;  // tunnel mode: HoTI (RFC 4877 §4.3)
  std::optional<std::uint32_t> spi_tunnel_ha_to_mn;  // tunnel mode: HoT
  bool protect_tunnel_payload = false;  // every tunnelled packet through the tunnel SAs
  std::uint32_t replay_window = 64;     // RFC 4303 §3.4.3; 0: off
  // Read from key_file by load_config() (parse_config() leaves them empty).
  EspKeys mn_to_ha, ha_to_mn, tunnel_mn_to_ha, tunnel_ha_to_mn;

  bool has_tunnel() const { return spi_tunnel_mn_to_ha.has_value(); }
};

// One mobile node's RFC 4285 MN-HA security association ([[security.auth_option]]).
struct AuthOptionEntry {
  wire::Ipv6Address home_address;
  std::uint32_t spi = 0;  // Mobility SPI, >= 256
  std::string key_file;
  std::optional<std::string> identifier;  // NAI for the RFC 4283 Mobile Node Identifier option
  wire::Bytes key;                        // read from key_file by load_config()
};

struct SecuritySection {
  Signalling signalling = Signalling::kNone;
  std::uint32_t timestamp_window = 7;  // RFC 4285 §6 replay protection, seconds
  std::vector<EspEntry> esp;
  std::vector<AuthOptionEntry> auth_option;
};

struct DaemonConfig {
  std::string path;  // the file it was read from
  NodeSection node;
  std::optional<HomeAgentSection> home_agent;         // set iff the role is in node.roles
  std::optional<CorrespondentSection> correspondent;  // set iff the role is in node.roles
  std::optional<MobileNodeSection> mobile_node;       // set iff the role is in node.roles
  SecuritySection security;

  bool has_role(RoleKind role) const;
};

// Parses `text` (the content of `path`). Error::code is EINVAL, Error::message the located
// "path:line:column: key: message" line.
linux_dp::Result<DaemonConfig> parse_config(std::string_view text, std::string_view path);
// Reads and parses a file (ENOENT, EACCES... as "path: strerror"), then the key files the
// [security] entries name: each must belong to root (or to the user running the daemon) and be
// neither readable nor writable by group or others; a key of the wrong length for its suite is
// an error naming the key file and the key.
linux_dp::Result<DaemonConfig> load_config(const std::string& path);
// The effective configuration, defaults included (mipv6ctl show config): role names as strings,
// durations in seconds, addresses and prefixes as in the file; sections of unlisted roles absent.
nlohmann::json to_json(const DaemonConfig& config);

}  // namespace mipv6::daemon
