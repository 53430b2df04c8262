// Data-plane address policy of the mobile node, sans I/O:
//  - source address selection (SEEDS §3.2.6, draft-04 §9.1): the home address is the default;
//    configured short-lived traffic (DNS to a local resolver, short fetches) may use the
//    care-of address directly and avoid the detour through the home agent;
//  - multicast membership (draft-04 §10, RFC 6275 §11.3.4): a group is joined either locally on
//    the visited link with the care-of address, or through the home agent's tunnel with the
//    home address.
// These are pure rule matches; the MobileNode combines them with its state (at home, care-of
// address known, binding held).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "wire/address.h"

namespace mipv6::core {

// Traffic that may leave with the care-of address as source. Every field set must match;
// an unset field matches anything.
struct SourceRule {
  std::optional<wire::Ipv6Address> destination_prefix;
  std::uint8_t prefix_length = 128;
  std::optional<std::uint8_t> protocol;  // upper-layer protocol, e.g. 17 (UDP)
  std::optional<std::uint16_t> destination_port;
};

struct SourceSelectionConfig {
  std::vector<SourceRule> care_of_rules;
};

bool rule_matches(const SourceRule& rule, const wire::Ipv6Address& destination,
                  std::uint8_t protocol, std::uint16_t destination_port);
// draft-04 §9.1: true when configured short-lived traffic may use the care-of address.
bool prefers_care_of(const SourceSelectionConfig& config, const wire::Ipv6Address& destination,
                     std::uint8_t protocol, std::uint16_t destination_port);

// draft-04 §10: the two ways a mobile node away from home receives multicast.
enum class MulticastMode : std::uint8_t {
  kLocal,       // join on the visited link with the care-of address (no Home Address option)
  kHomeTunnel,  // join through the bi-directional tunnel to the home agent, with the home address
};

struct MulticastRule {
  wire::Ipv6Address group;  // a group or a group prefix
  std::uint8_t prefix_length = 128;
  MulticastMode mode = MulticastMode::kLocal;
};

struct MulticastConfig {
  MulticastMode default_mode = MulticastMode::kLocal;
  std::vector<MulticastRule> rules;  // first match wins
};

MulticastMode multicast_mode(const MulticastConfig& config, const wire::Ipv6Address& group);

}  // namespace mipv6::core
