#include "daemon/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>

namespace mipv6::daemon {
namespace {

using namespace std::chrono_literals;

const std::string kEtcDir = MIPV6_VECTORS_DIR "/../../etc";

// The lines joined with '\n', so that line N of the file is the N-th string.
std::string lines(std::initializer_list<std::string_view> list) {
  std::string text;
  for (const std::string_view line : list)
    text += std::string(line) + "\n";
  return text;
}

// Lines 1-4: a home agent on eth0; tests append from line 5 on.
std::string home_agent_with(std::initializer_list<std::string_view> extra) {
  return lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]", "interface = \"eth0\""}) +
         lines(extra);
}

// Lines 1-5: a mobile node; tests append keys of [mobile_node] from line 6 on.
std::string mobile_node_with(std::initializer_list<std::string_view> extra) {
  return lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                "home_address = \"2001:db8:1::100/64\"", "interfaces = [\"eth0\"]"}) +
         lines(extra);
}

// Lines 1-2: a correspondent; tests append from line 3 on.
std::string correspondent_with(std::initializer_list<std::string_view> extra) {
  return lines({"[node]", "roles = [\"correspondent\"]"}) + lines(extra);
}

std::string error_of(std::string_view text) {
  const auto result = parse_config(text, "t.toml");
  if (result) return "(parsed without error)";
  EXPECT_EQ(result.error().code, EINVAL);
  return result.error().message;
}

DaemonConfig parsed(std::string_view text) {
  auto result = parse_config(text, "t.toml");
  EXPECT_TRUE(result.has_value()) << result.error().message;
  return result ? std::move(result).value() : DaemonConfig{};
}

wire::Ipv6Address address(std::string_view text) {
  return *wire::Ipv6Address::parse(text);
}

// --- TOML syntax and the top level ---------------------------------------------------------------

TEST(ConfigSyntax, TomlSyntaxErrorIsLocatedByToml) {
  const std::string message = error_of(lines({"[node]", "roles = [\"home_agent\"", "x = 1"}));
  EXPECT_EQ(message.substr(0, 11), "t.toml:3:1:") << message;
  EXPECT_NE(message.find("array"), std::string::npos) << message;
}

TEST(ConfigSyntax, ErrorsNameTheGivenPath) {
  const auto result = parse_config("", "/etc/mipv6d.toml");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "/etc/mipv6d.toml:1:1: node: missing (required: [node] roles)");
}

TEST(ConfigSyntax, UnknownSectionSuggestsTheClosestOne) {
  EXPECT_EQ(error_of(home_agent_with({"[home_agnet]"})),
            "t.toml:5:2: home_agnet: unknown section (did you mean \"home_agent\"?)");
}

TEST(ConfigSyntax, UnknownSectionFarFromAnyListsTheSections) {
  EXPECT_EQ(error_of(home_agent_with({"[tunnels]"})),
            "t.toml:5:2: tunnels: unknown section (expected one of \"node\", \"home_agent\", "
            "\"correspondent\", \"mobile_node\", \"security\")");
}

TEST(ConfigSyntax, SectionGivenAsValueIsRejected) {
  EXPECT_EQ(error_of("node = 3\n"), "t.toml:1:8: node: must be a table ([node]) (got integer)");
}

// --- [node] ----------------------------------------------------------------------------------

TEST(ConfigNode, RolesAreRequired) {
  EXPECT_EQ(error_of(lines({"[node]", "log_level = \"info\""})),
            "t.toml:1:1: node.roles: missing (required)");
}

TEST(ConfigNode, RolesMustBeAnArray) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = \"home_agent\""})),
            "t.toml:2:9: node.roles: must be an array of role names (got string)");
}

TEST(ConfigNode, RolesMustNotBeEmpty) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = []"})),
            "t.toml:2:9: node.roles: must list at least one of \"mobile_node\", \"home_agent\", "
            "\"correspondent\"");
}

TEST(ConfigNode, UnknownRoleSuggestsTheClosestOne) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"correspondent\", \"home-agent\"]"})),
            "t.toml:2:27: node.roles: must be one of \"mobile_node\", \"home_agent\", "
            "\"correspondent\" (got \"home-agent\") (did you mean \"home_agent\"?)");
}

TEST(ConfigNode, RoleMustBeAString) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [1]"})),
            "t.toml:2:10: node.roles: must be a string (got integer)");
}

TEST(ConfigNode, RepeatedRoleIsRejected) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"correspondent\", \"correspondent\"]"})),
            "t.toml:2:27: node.roles: \"correspondent\" is listed twice");
}

TEST(ConfigNode, AllThreeRolesTogetherParse) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"mobile_node\", \"home_agent\", \"correspondent\"]",
                    "[home_agent]", "interface = \"eth0\"", "[mobile_node]",
                    "home_address = \"2001:db8:1::100\"", "interfaces = [\"eth1\"]"}));
  EXPECT_TRUE(config.has_role(RoleKind::kMobileNode));
  EXPECT_TRUE(config.has_role(RoleKind::kHomeAgent));
  EXPECT_TRUE(config.has_role(RoleKind::kCorrespondent));
  EXPECT_TRUE(config.home_agent && config.mobile_node && config.correspondent);
}

TEST(ConfigNode, ControlSocketMustBeAbsolute) {
  EXPECT_EQ(error_of(correspondent_with({"control_socket = \"run/mipv6d.sock\""})),
            "t.toml:3:18: node.control_socket: must be an absolute path (got "
            "\"run/mipv6d.sock\")");
}

TEST(ConfigNode, ControlSocketMustFitSockaddrUn) {
  const std::string long_path = "/" + std::string(107, 'a');
  const std::string line = "control_socket = \"" + long_path + "\"";
  EXPECT_EQ(error_of(correspondent_with({line})),
            "t.toml:3:18: node.control_socket: must be at most 107 bytes long (sockaddr_un)");
  const std::string fits = "control_socket = \"" + long_path.substr(0, 107) + "\"";
  EXPECT_EQ(parsed(correspondent_with({fits})).node.control_socket, long_path.substr(0, 107));
}

TEST(ConfigNode, LogLevelMustBeKnown) {
  EXPECT_EQ(error_of(correspondent_with({"log_level = \"warning\""})),
            "t.toml:3:13: node.log_level: must be one of \"error\", \"warn\", \"info\", "
            "\"debug\" (got \"warning\") (did you mean \"warn\"?)");
}

TEST(ConfigNode, EveryLogLevelParses) {
  EXPECT_EQ(parsed(correspondent_with({"log_level = \"error\""})).node.log_level,
            core::LogLevel::kError);
  EXPECT_EQ(parsed(correspondent_with({"log_level = \"warn\""})).node.log_level,
            core::LogLevel::kWarn);
  EXPECT_EQ(parsed(correspondent_with({"log_level = \"info\""})).node.log_level,
            core::LogLevel::kInfo);
  EXPECT_EQ(parsed(correspondent_with({"log_level = \"debug\""})).node.log_level,
            core::LogLevel::kDebug);
}

TEST(ConfigNode, StateFileMustBeAbsolute) {
  EXPECT_EQ(error_of(correspondent_with({"state_file = \"\""})),
            "t.toml:3:14: node.state_file: must be an absolute path (got \"\")");
}

TEST(ConfigNode, UnknownKeySuggestsTheClosestOne) {
  EXPECT_EQ(error_of(correspondent_with({"log_levle = \"info\""})),
            "t.toml:3:1: node.log_levle: unknown key (did you mean \"log_level\"?)");
}

TEST(ConfigNode, DefaultsApplyWhenKeysAreAbsent) {
  const DaemonConfig config = parsed(correspondent_with({}));
  EXPECT_EQ(config.node.control_socket, "/run/mipv6d/mipv6d.sock");
  EXPECT_EQ(config.node.state_file, "/run/mipv6d/mipv6d.state");
  EXPECT_EQ(config.node.log_level, core::LogLevel::kInfo);
  EXPECT_EQ(config.security.signalling, Signalling::kNone);
}

// --- role sections against node.roles -------------------------------------------------------

TEST(ConfigRoles, HomeAgentRoleNeedsItsSection) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"home_agent\"]"})),
            "t.toml:2:9: home_agent: node.roles lists \"home_agent\" but [home_agent] is missing "
            "(interface is required)");
}

TEST(ConfigRoles, MobileNodeRoleNeedsItsSection) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]"})),
            "t.toml:2:9: mobile_node: node.roles lists \"mobile_node\" but [mobile_node] is "
            "missing (home_address and interfaces are required)");
}

TEST(ConfigRoles, CorrespondentWithoutSectionTakesDefaults) {
  const DaemonConfig config = parsed(correspondent_with({}));
  ASSERT_TRUE(config.correspondent);
  EXPECT_TRUE(config.correspondent->route_optimization);  // RFC 6275 §8.2
  EXPECT_EQ(config.correspondent->max_bindings, 4096U);
  EXPECT_FALSE(config.home_agent);
  EXPECT_FALSE(config.mobile_node);
}

TEST(ConfigRoles, SectionForAnUnlistedRoleIsRejected) {
  EXPECT_EQ(error_of(correspondent_with({"[home_agent]", "interface = \"eth0\""})),
            "t.toml:3:1: home_agent: [home_agent] is given but node.roles does not list "
            "\"home_agent\"");
}

TEST(ConfigRoles, CorrespondentSectionForAnUnlistedRoleIsRejected) {
  EXPECT_EQ(error_of(home_agent_with({"[correspondent]"})),
            "t.toml:5:1: correspondent: [correspondent] is given but node.roles does not list "
            "\"correspondent\"");
}

// --- [home_agent] ----------------------------------------------------------------------------

TEST(ConfigHomeAgent, InterfaceIsRequired) {
  EXPECT_EQ(
      error_of(lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]", "preference = 1"})),
      "t.toml:3:1: home_agent.interface: missing (required)");
}

TEST(ConfigHomeAgent, InterfaceNameLongerThan15IsRejected) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]",
                            "interface = \"abcdefghijklmnop\""})),
            "t.toml:4:13: home_agent.interface: \"abcdefghijklmnop\" must be 1 to 15 characters "
            "(IFNAMSIZ)");
}

TEST(ConfigHomeAgent, InterfaceNameOf15Parses) {
  EXPECT_EQ(parsed(lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]",
                          "interface = \"abcdefghijklmno\""}))
                .home_agent->interface,
            "abcdefghijklmno");
}

TEST(ConfigHomeAgent, EmptyInterfaceNameIsRejected) {
  EXPECT_EQ(
      error_of(lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]", "interface = \"\""})),
      "t.toml:4:13: home_agent.interface: \"\" must be 1 to 15 characters (IFNAMSIZ)");
}

TEST(ConfigHomeAgent, InterfaceNameWithSlashOrSpaceIsRejected) {
  EXPECT_EQ(error_of(lines(
                {"[node]", "roles = [\"home_agent\"]", "[home_agent]", "interface = \"eth/0\""})),
            "t.toml:4:13: home_agent.interface: \"eth/0\" must not contain '/', ':' or white "
            "space");
  EXPECT_EQ(error_of(lines(
                {"[node]", "roles = [\"home_agent\"]", "[home_agent]", "interface = \"eth 0\""})),
            "t.toml:4:13: home_agent.interface: \"eth 0\" must not contain '/', ':' or white "
            "space");
}

TEST(ConfigHomeAgent, InterfaceMustBeAString) {
  EXPECT_EQ(
      error_of(lines({"[node]", "roles = [\"home_agent\"]", "[home_agent]", "interface = 0"})),
      "t.toml:4:13: home_agent.interface: must be a string (got integer)");
}

TEST(ConfigHomeAgent, DefaultsApplyWhenKeysAreAbsent) {
  const HomeAgentSection section = *parsed(home_agent_with({})).home_agent;
  EXPECT_EQ(section.interface, "eth0");
  EXPECT_TRUE(section.prefixes.empty());
  EXPECT_EQ(section.max_bindings, 100000U);
  EXPECT_EQ(section.max_lifetime, 420s);
  EXPECT_EQ(section.preference, 0);
}

// RFC 6275 §6.1.7: Lifetime is 16 bits of 4-second units.
TEST(ConfigHomeAgent, MaxLifetimeBelowOneUnitIsRejected_6_1_7) {
  EXPECT_EQ(error_of(home_agent_with({"max_lifetime = 3"})),
            "t.toml:5:16: home_agent.max_lifetime: must be between 4 and 262140 seconds");
}

TEST(ConfigHomeAgent, MaxLifetimeAbove16BitsOfUnitsIsRejected_6_1_7) {
  EXPECT_EQ(error_of(home_agent_with({"max_lifetime = 262141"})),
            "t.toml:5:16: home_agent.max_lifetime: must be between 4 and 262140 seconds");
}

TEST(ConfigHomeAgent, MaxLifetimeBoundsParse_6_1_7) {
  EXPECT_EQ(parsed(home_agent_with({"max_lifetime = 4"})).home_agent->max_lifetime, 4s);
  EXPECT_EQ(parsed(home_agent_with({"max_lifetime = 262140"})).home_agent->max_lifetime, 262140s);
}

TEST(ConfigHomeAgent, MaxLifetimeMustBeAnInteger) {
  EXPECT_EQ(error_of(home_agent_with({"max_lifetime = 420.5"})),
            "t.toml:5:16: home_agent.max_lifetime: must be an integer (got floating-point "
            "number)");
  EXPECT_EQ(error_of(home_agent_with({"max_lifetime = \"420s\""})),
            "t.toml:5:16: home_agent.max_lifetime: must be an integer (got string)");
}

TEST(ConfigHomeAgent, MaxBindingsRange) {
  EXPECT_EQ(error_of(home_agent_with({"max_bindings = 0"})),
            "t.toml:5:16: home_agent.max_bindings: must be between 1 and 10000000");
  EXPECT_EQ(error_of(home_agent_with({"max_bindings = 10000001"})),
            "t.toml:5:16: home_agent.max_bindings: must be between 1 and 10000000");
  EXPECT_EQ(parsed(home_agent_with({"max_bindings = 10000000"})).home_agent->max_bindings,
            10000000U);
  EXPECT_EQ(parsed(home_agent_with({"max_bindings = 1"})).home_agent->max_bindings, 1U);
}

// RFC 6275 §7.4: the Home Agent Preference is a 16-bit unsigned integer.
TEST(ConfigHomeAgent, PreferenceIs16BitUnsigned_7_4) {
  EXPECT_EQ(error_of(home_agent_with({"preference = -1"})),
            "t.toml:5:14: home_agent.preference: must be between 0 and 65535");
  EXPECT_EQ(error_of(home_agent_with({"preference = 65536"})),
            "t.toml:5:14: home_agent.preference: must be between 0 and 65535");
  EXPECT_EQ(parsed(home_agent_with({"preference = 65535"})).home_agent->preference, 65535);
}

TEST(ConfigHomeAgent, PrefixesParse) {
  const HomeAgentSection section =
      *parsed(home_agent_with({"prefixes = [\"2001:db8:1::/64\", \"2001:db8:2:0:8000::/65\"]"}))
           .home_agent;
  ASSERT_EQ(section.prefixes.size(), 2U);
  EXPECT_EQ(section.prefixes[0], (Prefix{address("2001:db8:1::"), 64}));
  EXPECT_EQ(section.prefixes[1], (Prefix{address("2001:db8:2:0:8000::"), 65}));
}

TEST(ConfigHomeAgent, PrefixWithHostBitsNamesTheBits) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::1/64\"]"})),
            "t.toml:5:13: home_agent.prefixes: host bits ::1 are set beyond /64 (did you mean "
            "\"2001:db8:1::/64\"?)");
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1:ff::/56\"]"})),
            "t.toml:5:13: home_agent.prefixes: host bits 0:0:0:ff:: are set beyond /56 (did "
            "you mean \"2001:db8:1::/56\"?)");
}

TEST(ConfigHomeAgent, PrefixNeedsALength) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::\"]"})),
            "t.toml:5:13: home_agent.prefixes: must be ADDRESS/LENGTH, e.g. "
            "\"2001:db8:1::/64\"");
}

TEST(ConfigHomeAgent, PrefixLengthMustBeANumberUpTo128) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::/129\"]"})),
            "t.toml:5:13: home_agent.prefixes: prefix length \"129\" must be 0 to 128");
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::/6x\"]"})),
            "t.toml:5:13: home_agent.prefixes: prefix length \"6x\" must be 0 to 128");
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::/\"]"})),
            "t.toml:5:13: home_agent.prefixes: prefix length \"\" must be 0 to 128");
}

TEST(ConfigHomeAgent, HomePrefixOfLengthZeroIsRejected) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"::/0\"]"})),
            "t.toml:5:13: home_agent.prefixes: prefix length must be 1 to 128 (got /0)");
}

TEST(ConfigHomeAgent, PrefixAddressMustParse) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1:::/64\"]"})),
            "t.toml:5:13: home_agent.prefixes: \"2001:db8:1:::\" is not an IPv6 address");
}

// A home prefix holds home addresses, which are unicast routable (RFC 6275 §9.5.1).
TEST(ConfigHomeAgent, LinkLocalHomePrefixIsRejected_9_5_1) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::/64\", \"fe80::/64\"]"})),
            "t.toml:5:32: home_agent.prefixes: fe80:: is not a global unicast address "
            "(link-local, multicast, loopback and :: are not)");
}

TEST(ConfigHomeAgent, RepeatedPrefixIsRejected) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = [\"2001:db8:1::/64\", \"2001:db8:1::/64\"]"})),
            "t.toml:5:32: home_agent.prefixes: 2001:db8:1::/64 is listed twice");
}

TEST(ConfigHomeAgent, EmptyPrefixListIsRejected) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = []"})),
            "t.toml:5:12: home_agent.prefixes: must not be empty (leave it out for the "
            "interface's global prefixes)");
}

TEST(ConfigHomeAgent, PrefixesMustBeAnArray) {
  EXPECT_EQ(error_of(home_agent_with({"prefixes = \"2001:db8:1::/64\""})),
            "t.toml:5:12: home_agent.prefixes: must be an array of prefixes (got string)");
}

TEST(ConfigHomeAgent, UnknownKeySuggestsTheClosestOne) {
  EXPECT_EQ(error_of(home_agent_with({"max_lifetme = 420"})),
            "t.toml:5:1: home_agent.max_lifetme: unknown key (did you mean \"max_lifetime\"?)");
}

// --- [correspondent] -------------------------------------------------------------------------

TEST(ConfigCorrespondent, RouteOptimizationIsABoolean_8_2) {
  EXPECT_FALSE(parsed(correspondent_with({"[correspondent]", "route_optimization = false"}))
                   .correspondent->route_optimization);
  EXPECT_EQ(error_of(correspondent_with({"[correspondent]", "route_optimization = \"always\""})),
            "t.toml:4:22: correspondent.route_optimization: must be true or false (got string)");
}

TEST(ConfigCorrespondent, MaxBindingsRange) {
  EXPECT_EQ(error_of(correspondent_with({"[correspondent]", "max_bindings = 0"})),
            "t.toml:4:16: correspondent.max_bindings: must be between 1 and 10000000");
  EXPECT_EQ(parsed(correspondent_with({"[correspondent]", "max_bindings = 12"}))
                .correspondent->max_bindings,
            12U);
}

TEST(ConfigCorrespondent, UnknownKeyListsTheKeys) {
  EXPECT_EQ(error_of(correspondent_with({"[correspondent]", "interface = \"eth0\""})),
            "t.toml:4:1: correspondent.interface: unknown key (expected one of "
            "\"route_optimization\", \"max_bindings\")");
}

// --- [mobile_node] ---------------------------------------------------------------------------

TEST(ConfigMobileNode, DefaultsApplyWhenKeysAreAbsent) {
  const MobileNodeSection section = *parsed(mobile_node_with({})).mobile_node;
  EXPECT_EQ(section.home_address, address("2001:db8:1::100"));
  EXPECT_EQ(section.prefix_length, 64);
  EXPECT_FALSE(section.home_agent);  // discover (RFC 6275 §11.4.1)
  EXPECT_EQ(section.interfaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(section.route_optimization, RouteOptimizationPolicy::kAlways);
  EXPECT_EQ(section.lifetime, 420s);
}

TEST(ConfigMobileNode, HomeAddressIsRequired) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "interfaces = [\"eth0\"]"})),
            "t.toml:3:1: mobile_node.home_address: missing (required)");
}

TEST(ConfigMobileNode, InterfacesAreRequired) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"2001:db8:1::100/64\""})),
            "t.toml:3:1: mobile_node.interfaces: missing (required)");
}

TEST(ConfigMobileNode, HomeAddressWithoutLengthTakes64) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                    "home_address = \"2001:db8:1::100\"", "interfaces = [\"eth0\"]"}));
  EXPECT_EQ(config.mobile_node->prefix_length, 64);
}

TEST(ConfigMobileNode, HomeAddressLengthIsKept) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                    "home_address = \"2001:db8:1::100/56\"", "interfaces = [\"eth0\"]"}));
  EXPECT_EQ(config.mobile_node->prefix_length, 56);
}

TEST(ConfigMobileNode, HomeAddressLengthZeroIsRejected) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"2001:db8:1::100/0\"", "interfaces = [\"eth0\"]"})),
            "t.toml:4:16: mobile_node.home_address: prefix length must be 1 to 128 (got /0)");
}

// RFC 6275 §9.5.1: a home address is unicast routable.
TEST(ConfigMobileNode, LinkLocalHomeAddressIsRejected_9_5_1) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"fe80::1/64\"", "interfaces = [\"eth0\"]"})),
            "t.toml:4:16: mobile_node.home_address: fe80::1 is not a global unicast address "
            "(link-local, multicast, loopback and :: are not)");
}

TEST(ConfigMobileNode, HomeAddressMustParse) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"home\"", "interfaces = [\"eth0\"]"})),
            "t.toml:4:16: mobile_node.home_address: \"home\" is not an IPv6 address");
}

TEST(ConfigMobileNode, HomeAgentAddressParses) {
  EXPECT_EQ(parsed(mobile_node_with({"home_agent = \"2001:db8:1::1\""})).mobile_node->home_agent,
            address("2001:db8:1::1"));
}

TEST(ConfigMobileNode, HomeAgentDiscoverMeansDhaad_11_4_1) {
  EXPECT_FALSE(parsed(mobile_node_with({"home_agent = \"discover\""})).mobile_node->home_agent);
}

TEST(ConfigMobileNode, HomeAgentMustBeGlobalUnicast) {
  EXPECT_EQ(error_of(mobile_node_with({"home_agent = \"ff02::2\""})),
            "t.toml:6:14: mobile_node.home_agent: ff02::2 is not a global unicast address "
            "(link-local, multicast, loopback and :: are not)");
}

TEST(ConfigMobileNode, HomeAgentMustBeAnAddressOrDiscover) {
  EXPECT_EQ(error_of(mobile_node_with({"home_agent = \"dhaad\""})),
            "t.toml:6:14: mobile_node.home_agent: \"dhaad\" is not an IPv6 address");
}

TEST(ConfigMobileNode, HomeAgentMustDifferFromTheHomeAddress) {
  EXPECT_EQ(error_of(mobile_node_with({"home_agent = \"2001:db8:1::100\""})),
            "t.toml:6:14: mobile_node.home_agent: must differ from mobile_node.home_address");
}

TEST(ConfigMobileNode, InterfacesKeepTheirOrder) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                    "home_address = \"2001:db8:1::100\"", "interfaces = [\"wlan0\", \"eth0\"]"}));
  EXPECT_EQ(config.mobile_node->interfaces, (std::vector<std::string>{"wlan0", "eth0"}));
}

TEST(ConfigMobileNode, InterfacesMustNotBeEmpty) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"2001:db8:1::100\"", "interfaces = []"})),
            "t.toml:5:14: mobile_node.interfaces: must list at least one interface");
}

TEST(ConfigMobileNode, RepeatedInterfaceIsRejected) {
  EXPECT_EQ(
      error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                      "home_address = \"2001:db8:1::100\"", "interfaces = [\"eth0\", \"eth0\"]"})),
      "t.toml:5:23: mobile_node.interfaces: \"eth0\" is listed twice");
}

TEST(ConfigMobileNode, InvalidInterfaceNameIsRejected) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"2001:db8:1::100\"",
                            "interfaces = [\"eth0\", \"wlan:0\"]"})),
            "t.toml:5:23: mobile_node.interfaces: \"wlan:0\" must not contain '/', ':' or white "
            "space");
}

TEST(ConfigMobileNode, InterfacesMustBeAnArray) {
  EXPECT_EQ(error_of(lines({"[node]", "roles = [\"mobile_node\"]", "[mobile_node]",
                            "home_address = \"2001:db8:1::100\"", "interfaces = \"eth0\""})),
            "t.toml:5:14: mobile_node.interfaces: must be an array of interface names (got "
            "string)");
}

TEST(ConfigMobileNode, RouteOptimizationAlwaysOrNever) {
  EXPECT_EQ(
      parsed(mobile_node_with({"route_optimization = \"never\""})).mobile_node->route_optimization,
      RouteOptimizationPolicy::kNever);
  EXPECT_EQ(
      parsed(mobile_node_with({"route_optimization = \"always\""})).mobile_node->route_optimization,
      RouteOptimizationPolicy::kAlways);
}

TEST(ConfigMobileNode, RouteOptimizationPrefixes) {
  const MobileNodeSection section =
      *parsed(mobile_node_with({"route_optimization = [\"2001:db8:3::/48\", \"::/0\"]"}))
           .mobile_node;
  EXPECT_EQ(section.route_optimization, RouteOptimizationPolicy::kPrefixes);
  EXPECT_EQ(section.route_optimization_prefixes,
            (std::vector<Prefix>{{address("2001:db8:3::"), 48}, {address("::"), 0}}));
}

TEST(ConfigMobileNode, RouteOptimizationUnknownWordSuggests) {
  EXPECT_EQ(error_of(mobile_node_with({"route_optimization = \"alway\""})),
            "t.toml:6:22: mobile_node.route_optimization: must be one of \"always\", \"never\" "
            "(got \"alway\") (did you mean \"always\"?)");
}

TEST(ConfigMobileNode, RouteOptimizationOfAnotherTypeIsRejected) {
  EXPECT_EQ(error_of(mobile_node_with({"route_optimization = true"})),
            "t.toml:6:22: mobile_node.route_optimization: must be \"always\", \"never\" or an "
            "array of prefixes (got boolean)");
}

TEST(ConfigMobileNode, RouteOptimizationEmptyListIsRejected) {
  EXPECT_EQ(error_of(mobile_node_with({"route_optimization = []"})),
            "t.toml:6:22: mobile_node.route_optimization: must not be empty (use \"never\")");
}

TEST(ConfigMobileNode, RouteOptimizationPrefixWithHostBitsIsRejected) {
  EXPECT_EQ(error_of(mobile_node_with({"route_optimization = [\"2001:db8:3::1/48\"]"})),
            "t.toml:6:23: mobile_node.route_optimization: host bits ::1 are set beyond /48 (did "
            "you mean \"2001:db8:3::/48\"?)");
}

// RFC 6275 §11.7.1 asks the home agent for a lifetime, 16 bits of 4-second units (§6.1.7).
TEST(ConfigMobileNode, LifetimeRange_11_7_1) {
  EXPECT_EQ(error_of(mobile_node_with({"lifetime = 0"})),
            "t.toml:6:12: mobile_node.lifetime: must be between 4 and 262140 seconds");
  EXPECT_EQ(error_of(mobile_node_with({"lifetime = 300000"})),
            "t.toml:6:12: mobile_node.lifetime: must be between 4 and 262140 seconds");
  EXPECT_EQ(parsed(mobile_node_with({"lifetime = 60"})).mobile_node->lifetime, 60s);
}

TEST(ConfigMobileNode, UnknownKeySuggestsTheClosestOne) {
  EXPECT_EQ(error_of(mobile_node_with({"interface = [\"eth0\"]"})),
            "t.toml:6:1: mobile_node.interface: unknown key (did you mean \"interfaces\"?)");
}

// --- [security] ------------------------------------------------------------------------------

TEST(ConfigSecurity, NoneIsAccepted) {
  EXPECT_EQ(parsed(correspondent_with({"[security]", "signalling = \"none\""})).security.signalling,
            Signalling::kNone);
}

// Lines 1-4 a home agent, 5-6 [security] signalling = "esp", 7 [[security.esp]], then the
// entry's keys (the five required ones unless `extra` replaces them: it is appended after).
std::string esp_home_agent_with(std::initializer_list<std::string_view> extra,
                                bool required = true) {
  std::string text = home_agent_with({"[security]", "signalling = \"esp\"", "[[security.esp]]"});
  if (required)
    text += lines({"home_address = \"2001:db8:1::100\"", "home_agent = \"2001:db8:1::1\"",
                   "key_file = \"/etc/mipv6d/mn100.keys\"", "spi_mn_to_ha = 4096",
                   "spi_ha_to_mn = 4097"});
  return text + lines(extra);
}

TEST(ConfigSecurity, EspEntryIsRead_5_1) {
  const DaemonConfig config = parsed(esp_home_agent_with({"suite = \"3des-cbc-hmac-sha1\""}));
  EXPECT_EQ(config.security.signalling, Signalling::kEsp);
  ASSERT_EQ(config.security.esp.size(), 1U);
  const EspEntry& entry = config.security.esp.front();
  EXPECT_EQ(entry.home_address, address("2001:db8:1::100"));
  EXPECT_EQ(entry.home_agent, address("2001:db8:1::1"));
  EXPECT_EQ(entry.suite, ipsec::EspSuite::kTripleDesCbcHmacSha1);
  EXPECT_EQ(entry.spi_mn_to_ha, 4096U);
  EXPECT_EQ(entry.spi_ha_to_mn, 4097U);
  EXPECT_FALSE(entry.has_tunnel());
  EXPECT_EQ(entry.replay_window, 64U);
  EXPECT_TRUE(entry.mn_to_ha.encryption.empty());  // keys come with load_config()
}

TEST(ConfigSecurity, EspMissingKeyIsNamed) {
  EXPECT_EQ(error_of(esp_home_agent_with({"home_address = \"2001:db8:1::100\""}, false)),
            "t.toml:7:1: security.esp.home_agent: missing (required)");
}

TEST(ConfigSecurity, ReservedSpiIsRefused_Rfc4303_2_1) {
  EXPECT_EQ(error_of(esp_home_agent_with(
                {"home_address = \"2001:db8:1::100\"", "home_agent = \"2001:db8:1::1\"",
                 "key_file = \"/k\"", "spi_mn_to_ha = 255", "spi_ha_to_mn = 4097"},
                false)),
            "t.toml:11:16: security.esp.spi_mn_to_ha: must be between 256 and 4294967295");
}

TEST(ConfigSecurity, SameSpiTwiceIsRefused) {
  EXPECT_EQ(error_of(esp_home_agent_with(
                {"home_address = \"2001:db8:1::100\"", "home_agent = \"2001:db8:1::1\"",
                 "key_file = \"/k\"", "spi_mn_to_ha = 4096", "spi_ha_to_mn = 4096"},
                false)),
            "t.toml:5:1: security.esp: SPI 4096 is used twice (one SA per SPI)");
}

TEST(ConfigSecurity, TunnelSpisGoTogether_Rfc4877_4_3) {
  EXPECT_EQ(error_of(esp_home_agent_with({"spi_tunnel_mn_to_ha = 4098"})),
            "t.toml:7:1: security.esp: spi_tunnel_mn_to_ha and spi_tunnel_ha_to_mn go together "
            "(one SA each way)");
  const DaemonConfig config =
      parsed(esp_home_agent_with({"spi_tunnel_mn_to_ha = 4098", "spi_tunnel_ha_to_mn = 4099",
                                  "protect_tunnel_payload = true"}));
  EXPECT_TRUE(config.security.esp.front().has_tunnel());
  EXPECT_TRUE(config.security.esp.front().protect_tunnel_payload);
}

TEST(ConfigSecurity, PayloadProtectionNeedsTheTunnelSas) {
  EXPECT_EQ(error_of(esp_home_agent_with({"protect_tunnel_payload = true"})),
            "t.toml:13:26: security.esp.protect_tunnel_payload: needs the tunnel SAs "
            "(spi_tunnel_mn_to_ha and spi_tunnel_ha_to_mn)");
}

TEST(ConfigSecurity, UnknownSuiteListsTheSuites) {
  EXPECT_EQ(error_of(esp_home_agent_with({"suite = \"aes-gcm\""})),
            "t.toml:13:9: security.esp.suite: must be one of \"aes-gcm-16\", "
            "\"aes-cbc-hmac-sha256\", \"3des-cbc-hmac-sha1\" (got \"aes-gcm\") (did you mean "
            "\"aes-gcm-16\"?)");
}

TEST(ConfigSecurity, ReplayWindowIsBounded_Rfc4303_3_4_3) {
  EXPECT_EQ(error_of(esp_home_agent_with({"replay_window = 2048"})),
            "t.toml:13:17: security.esp.replay_window: must be between 0 and 1024 packets");
  EXPECT_EQ(parsed(esp_home_agent_with({"replay_window = 0"})).security.esp.front().replay_window,
            0U);
}

TEST(ConfigSecurity, MobileNodeNeedsTheEntryForItsHomeAddress_5_1) {
  EXPECT_EQ(error_of(mobile_node_with({"[security]", "signalling = \"esp\""})),
            "t.toml:6:1: security.esp: signalling = \"esp\" but no [[security.esp]] entry has "
            "home_address = \"2001:db8:1::100\" (mobile_node.home_address)");
  EXPECT_EQ(error_of(mobile_node_with({"[security]", "signalling = \"auth-option\""})),
            "t.toml:6:1: security.auth_option: signalling = \"auth-option\" but no "
            "[[security.auth_option]] entry has home_address = \"2001:db8:1::100\" "
            "(mobile_node.home_address)");
}

TEST(ConfigSecurity, MobileNodeEntryMustNameItsHomeAgent) {
  EXPECT_EQ(error_of(mobile_node_with({"home_agent = \"2001:db8:1::2\"", "[security]",
                                       "signalling = \"esp\"", "[[security.esp]]",
                                       "home_address = \"2001:db8:1::100\"",
                                       "home_agent = \"2001:db8:1::1\"", "key_file = \"/k\"",
                                       "spi_mn_to_ha = 4096", "spi_ha_to_mn = 4097"})),
            "t.toml:7:1: security.esp: the entry for 2001:db8:1::100 names home agent "
            "2001:db8:1::1 but mobile_node.home_agent is 2001:db8:1::2");
}

TEST(ConfigSecurity, AuthOptionEntryIsRead_Rfc4285) {
  const DaemonConfig config = parsed(home_agent_with(
      {"[security]", "signalling = \"auth-option\"", "timestamp_window = 5",
       "[[security.auth_option]]", "home_address = \"2001:db8:1::100\"", "spi = 300",
       "key_file = \"/etc/mipv6d/mn100.auth\"", "identifier = \"mn100@example.net\""}));
  EXPECT_EQ(config.security.signalling, Signalling::kAuthOption);
  EXPECT_EQ(config.security.timestamp_window, 5U);
  ASSERT_EQ(config.security.auth_option.size(), 1U);
  EXPECT_EQ(config.security.auth_option.front().spi, 300U);
  EXPECT_EQ(config.security.auth_option.front().identifier, "mn100@example.net");
}

TEST(ConfigSecurity, AuthOptionReservedSpiIsRefused_Rfc4285_5) {
  EXPECT_EQ(error_of(home_agent_with(
                {"[security]", "signalling = \"auth-option\"", "[[security.auth_option]]",
                 "home_address = \"2001:db8:1::100\"", "spi = 3", "key_file = \"/k\""})),
            "t.toml:9:7: security.auth_option.spi: must be between 256 and 4294967295");
}

TEST(ConfigSecurity, BuRatesAreRead) {
  const DaemonConfig config =
      parsed(home_agent_with({"bu_rate_per_source = 50", "bu_rate_global = 100000"}));
  EXPECT_EQ(config.home_agent->bu_rate_per_source, 50U);
  EXPECT_EQ(config.home_agent->bu_rate_global, 100000U);
  EXPECT_EQ(error_of(home_agent_with({"bu_rate_per_source = 0"})),
            "t.toml:5:22: home_agent.bu_rate_per_source: must be between 1 and 10000000 per "
            "second");
}

TEST(ConfigHomeAgent, DirectTunnelOutputIsOnByDefaultAndCanBeTurnedOff) {
  EXPECT_TRUE(parsed(home_agent_with({})).home_agent->direct_tunnel_output);
  EXPECT_FALSE(
      parsed(home_agent_with({"direct_tunnel_output = false"})).home_agent->direct_tunnel_output);
  EXPECT_EQ(error_of(home_agent_with({"direct_tunnel_output = \"no\""})),
            "t.toml:5:24: home_agent.direct_tunnel_output: must be true or false (got string)");
}

// A configuration and its key file in a fresh temporary directory, for load_config().
class KeyFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mipv6-keys-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = (dir_ / name).string();
    {
      std::ofstream out(path);
      out << text;
    }
    ::chmod(path.c_str(), mode);
    return path;
  }

  linux_dp::Result<DaemonConfig> load_esp(const std::string& keys, mode_t mode = 0600,
                                          const std::string& suite = "aes-gcm-16") {
    const std::string key_file = write("mn.keys", keys, mode);
    const std::string config =
        home_agent_with({"[security]", "signalling = \"esp\"", "[[security.esp]]",
                         "home_address = \"2001:db8:1::100\"", "home_agent = \"2001:db8:1::1\"",
                         "suite = \"" + suite + "\"", "key_file = \"" + key_file + "\"",
                         "spi_mn_to_ha = 4096", "spi_ha_to_mn = 4097"});
    return load_config(write("t.toml", config, 0644));
  }

  std::filesystem::path dir_;
};

constexpr const char* kGcmKeys =
    "[mn_to_ha]\nencryption = \"00112233445566778899aabbccddeeff01020304\"\n"
    "[ha_to_mn]\nencryption = \"0x102132435465768798a9bacbdcedfe0f05060708\"\n";

TEST_F(KeyFiles, KeysAreReadPerDirection_Rfc4106_8_1) {
  auto config = load_esp(kGcmKeys);
  ASSERT_TRUE(config) << config.error().message;
  const EspEntry& entry = config->security.esp.front();
  EXPECT_EQ(entry.mn_to_ha.encryption.size(), 20U);  // AES-128 key + 4-octet salt
  EXPECT_EQ(entry.ha_to_mn.encryption.front(), std::byte{0x10});
  EXPECT_TRUE(entry.mn_to_ha.authentication.empty());
}

TEST_F(KeyFiles, KeyFileReadableByOthersIsRefused) {
  auto config = load_esp(kGcmKeys, 0644);
  ASSERT_FALSE(config);
  const std::string file = (dir_ / "mn.keys").string();
  EXPECT_EQ(config.error().message, file +
                                        ": must not be readable or writable by group or others "
                                        "(mode 0644; chmod 600 " +
                                        file + ")");
}

TEST_F(KeyFiles, WrongKeyLengthNamesTheSa) {
  auto config = load_esp(
      "[mn_to_ha]\nencryption = \"00112233445566778899aabbccddeeff\"\n"
      "[ha_to_mn]\nencryption = \"102132435465768798a9bacbdcedfe0f05060708\"\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("mn.keys: mn_to_ha: "), std::string::npos)
      << config.error().message;
}

TEST_F(KeyFiles, MissingDirectionIsNamed) {
  auto config = load_esp("[mn_to_ha]\nencryption = \"00112233445566778899aabbccddeeff01020304\"\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("mn.keys: [ha_to_mn] is missing (SPI 4097)"),
            std::string::npos)
      << config.error().message;
}

TEST_F(KeyFiles, TwoSasSharingAKeyAreRefused_Rfc4106_3_1) {
  auto config = load_esp(
      "[mn_to_ha]\nencryption = \"00112233445566778899aabbccddeeff01020304\"\n"
      "[ha_to_mn]\nencryption = \"00112233445566778899aabbccddeeff01020304\"\n");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("have the same encryption key"), std::string::npos)
      << config.error().message;
}

TEST_F(KeyFiles, HmacSuiteNeedsItsAuthenticationKey_Rfc4868) {
  auto config = load_esp(
      "[mn_to_ha]\nencryption = \"00112233445566778899aabbccddeeff\"\n"
      "[ha_to_mn]\nencryption = \"102132435465768798a9bacbdcedfe0f\"\n",
      0600, "aes-cbc-hmac-sha256");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("mn.keys: mn_to_ha: "), std::string::npos)
      << config.error().message;
}

TEST_F(KeyFiles, AuthOptionKeyIsRead_Rfc4285_5_1) {
  const std::string key_file =
      write("mn.auth", "key = \"00112233445566778899aabbccddeeff\"\n", 0600);
  const std::string config = home_agent_with(
      {"[security]", "signalling = \"auth-option\"", "[[security.auth_option]]",
       "home_address = \"2001:db8:1::100\"", "spi = 300", "key_file = \"" + key_file + "\""});
  auto loaded = load_config(write("t.toml", config, 0644));
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->security.auth_option.front().key.size(), 16U);
  write("mn.auth", "key = \"0011\"\n", 0600);
  auto short_key = load_config((dir_ / "t.toml").string());
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().message, key_file + ": key: must be at least 16 octets (got 2)");
}

TEST(ConfigSecurity, OtherValuesListTheAllowedOnes) {
  EXPECT_EQ(error_of(correspondent_with({"[security]", "signalling = \"ipsec\""})),
            "t.toml:4:14: security.signalling: must be one of \"none\", \"esp\", "
            "\"auth-option\" (got \"ipsec\")");
}

TEST(ConfigSecurity, UnknownKeySuggestsTheClosestOne) {
  EXPECT_EQ(error_of(correspondent_with({"[security]", "signaling = \"none\""})),
            "t.toml:4:1: security.signaling: unknown key (did you mean \"signalling\"?)");
}

// --- files -----------------------------------------------------------------------------------

TEST(ConfigFile, MissingFileIsReportedWithStrerror) {
  const auto result = load_config("/nonexistent/mipv6d.toml");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ENOENT);
  EXPECT_EQ(result.error().message, "/nonexistent/mipv6d.toml: No such file or directory");
}

TEST(ConfigFile, DirectoryIsReportedWithStrerror) {
  const auto result = load_config("/tmp");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, EISDIR);
  EXPECT_EQ(result.error().message, "/tmp: Is a directory");
}

TEST(ConfigFile, LoadedFileErrorsNameTheFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("mipv6t-" + std::to_string(::getpid()) + ".toml"))
          .string();
  std::ofstream(path) << home_agent_with({"max_lifetime = 1"});
  const auto result = load_config(path);
  std::remove(path.c_str());
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message,
            path + ":5:16: home_agent.max_lifetime: must be between 4 and 262140 seconds");
}

TEST(ConfigFile, TheIssueExampleParses) {
  const DaemonConfig config = parsed(R"([node]
roles = ["home_agent", "correspondent"]   # any of "mobile_node", "home_agent", "correspondent"
control_socket = "/run/mipv6d/mipv6d.sock"
log_level = "info"                        # error, warn, info, debug

[home_agent]
interface = "eth0"                        # the home link
# prefixes = ["2001:db8:1::/64"]          # default: the global prefixes configured on the interface
max_bindings = 100000
max_lifetime = 420                        # seconds
preference = 0

[correspondent]
route_optimization = true

[security]
signalling = "none"
)");
  EXPECT_EQ(config.node.roles,
            (std::vector<RoleKind>{RoleKind::kHomeAgent, RoleKind::kCorrespondent}));
  EXPECT_EQ(config.home_agent->interface, "eth0");
  EXPECT_EQ(config.home_agent->max_lifetime, 420s);
  EXPECT_TRUE(config.correspondent->route_optimization);
}

TEST(ConfigFile, TheIssueMobileNodeExampleParses) {
  const DaemonConfig config = parsed(R"([node]
roles = ["mobile_node"]

[mobile_node]
home_address = "2001:db8:1::100/64"
home_agent = "2001:db8:1::1"              # or "discover" (DHAAD)
interfaces = ["eth0", "wlan0"]            # in order of preference
route_optimization = "always"             # "never", or a list of prefixes
)");
  EXPECT_EQ(config.mobile_node->home_agent, address("2001:db8:1::1"));
  EXPECT_EQ(config.mobile_node->interfaces, (std::vector<std::string>{"eth0", "wlan0"}));
}

TEST(ConfigFile, ShippedExamplesParse) {
  for (const char* name : {"mipv6d.toml", "examples/home-agent.toml", "examples/mobile-node.toml",
                           "examples/correspondent.toml"}) {
    const auto result = load_config(kEtcDir + "/" + name);
    EXPECT_TRUE(result.has_value()) << name << ": " << result.error().message;
  }
}

TEST(ConfigFile, ShippedExamplesSayWhatTheyShow) {
  const auto home_agent = load_config(kEtcDir + "/examples/home-agent.toml");
  ASSERT_TRUE(home_agent);
  EXPECT_EQ(home_agent->home_agent->prefixes, (std::vector<Prefix>{{address("2001:db8:1::"), 64}}));
  const auto mobile_node = load_config(kEtcDir + "/examples/mobile-node.toml");
  ASSERT_TRUE(mobile_node);
  EXPECT_EQ(mobile_node->mobile_node->route_optimization, RouteOptimizationPolicy::kPrefixes);
  const auto both = load_config(kEtcDir + "/mipv6d.toml");
  ASSERT_TRUE(both);
  EXPECT_TRUE(both->has_role(RoleKind::kHomeAgent) && both->has_role(RoleKind::kCorrespondent));
}

// --- to_json ---------------------------------------------------------------------------------

TEST(ConfigJson, RoleNames) {
  EXPECT_EQ(role_name(RoleKind::kMobileNode), "mobile_node");
  EXPECT_EQ(role_name(RoleKind::kHomeAgent), "home_agent");
  EXPECT_EQ(role_name(RoleKind::kCorrespondent), "correspondent");
}

TEST(ConfigJson, EveryFieldWithDefaults) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"home_agent\", \"correspondent\", \"mobile_node\"]",
                    "[home_agent]", "interface = \"eth0\"", "[mobile_node]",
                    "home_address = \"2001:db8:1::100\"", "interfaces = [\"eth1\"]"}));
  const nlohmann::json expected = {
      {"path", "t.toml"},
      {"node",
       {{"roles", {"home_agent", "correspondent", "mobile_node"}},
        {"control_socket", "/run/mipv6d/mipv6d.sock"},
        {"log_level", "info"},
        {"state_file", "/run/mipv6d/mipv6d.state"}}},
      {"home_agent",
       {{"interface", "eth0"},
        {"prefixes", nlohmann::json::array()},
        {"max_bindings", 100000},
        {"max_lifetime", 420},
        {"preference", 0},
        {"bu_rate_per_source", 10},
        {"bu_rate_global", 20000},
        {"direct_tunnel_output", true}}},
      {"correspondent", {{"route_optimization", true}, {"max_bindings", 4096}}},
      {"mobile_node",
       {{"home_address", "2001:db8:1::100/64"},
        {"home_agent", "discover"},
        {"interfaces", {"eth1"}},
        {"route_optimization", "always"},
        {"lifetime", 420}}},
      {"security",
       {{"signalling", "none"},
        {"timestamp_window", 7},
        {"esp", nlohmann::json::array()},
        {"auth_option", nlohmann::json::array()}}}};
  EXPECT_EQ(to_json(config), expected) << to_json(config).dump(2);
}

TEST(ConfigJson, GivenValuesComeBack) {
  const DaemonConfig config =
      parsed(lines({"[node]", "roles = [\"home_agent\", \"mobile_node\"]", "log_level = \"debug\"",
                    "control_socket = \"/tmp/c.sock\"", "state_file = \"/tmp/s\"", "[home_agent]",
                    "interface = \"br0\"", "prefixes = [\"2001:db8:1::/64\"]", "max_bindings = 7",
                    "max_lifetime = 60", "preference = 9", "[mobile_node]",
                    "home_address = \"2001:db8:1::100/60\"", "home_agent = \"2001:db8:1::1\"",
                    "interfaces = [\"wlan0\", \"eth1\"]",
                    "route_optimization = [\"2001:db8:3::/48\"]", "lifetime = 100"}));
  const nlohmann::json json = to_json(config);
  EXPECT_EQ(json["node"]["roles"], nlohmann::json({"home_agent", "mobile_node"}));
  EXPECT_EQ(json["node"]["log_level"], "debug");
  EXPECT_EQ(json["node"]["control_socket"], "/tmp/c.sock");
  EXPECT_EQ(json["node"]["state_file"], "/tmp/s");
  EXPECT_EQ(json["home_agent"]["interface"], "br0");
  EXPECT_EQ(json["home_agent"]["prefixes"], nlohmann::json({"2001:db8:1::/64"}));
  EXPECT_EQ(json["home_agent"]["max_bindings"], 7);
  EXPECT_EQ(json["home_agent"]["max_lifetime"], 60);
  EXPECT_EQ(json["home_agent"]["preference"], 9);
  EXPECT_EQ(json["mobile_node"]["home_address"], "2001:db8:1::100/60");
  EXPECT_EQ(json["mobile_node"]["home_agent"], "2001:db8:1::1");
  EXPECT_EQ(json["mobile_node"]["interfaces"], nlohmann::json({"wlan0", "eth1"}));
  EXPECT_EQ(json["mobile_node"]["route_optimization"], nlohmann::json({"2001:db8:3::/48"}));
  EXPECT_EQ(json["mobile_node"]["lifetime"], 100);
  EXPECT_FALSE(json.contains("correspondent"));
}

TEST(ConfigJson, NeverPolicyAndDisabledCorrespondent) {
  const DaemonConfig config = parsed(
      lines({"[node]", "roles = [\"mobile_node\", \"correspondent\"]", "[correspondent]",
             "route_optimization = false", "[mobile_node]", "home_address = \"2001:db8:1::100\"",
             "interfaces = [\"eth0\"]", "route_optimization = \"never\""}));
  const nlohmann::json json = to_json(config);
  EXPECT_EQ(json["mobile_node"]["route_optimization"], "never");
  EXPECT_EQ(json["correspondent"]["route_optimization"], false);
  EXPECT_FALSE(json.contains("home_agent"));
}

}  // namespace
}  // namespace mipv6::daemon
