#include "core/source_selection.h"

#include <algorithm>

namespace mipv6::core {

bool rule_matches(const SourceRule& rule, const wire::Ipv6Address& destination,
                  std::uint8_t protocol, std::uint16_t destination_port) {
  if (rule.destination_prefix &&
      !destination.in_prefix(*rule.destination_prefix, rule.prefix_length))
    return false;
  if (rule.protocol && *rule.protocol != protocol) return false;
  return !rule.destination_port || *rule.destination_port == destination_port;
}

bool prefers_care_of(const SourceSelectionConfig& config, const wire::Ipv6Address& destination,
                     std::uint8_t protocol, std::uint16_t destination_port) {
  return std::any_of(config.care_of_rules.begin(), config.care_of_rules.end(),
                     [&](const SourceRule& rule) {
                       return rule_matches(rule, destination, protocol, destination_port);
                     });
}

MulticastMode multicast_mode(const MulticastConfig& config, const wire::Ipv6Address& group) {
  for (const auto& rule : config.rules) {
    if (group.in_prefix(rule.group, rule.prefix_length)) return rule.mode;
  }
  return config.default_mode;
}

}  // namespace mipv6::core
