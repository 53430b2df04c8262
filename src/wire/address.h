// IPv6 addresses (RFC 4291) as 16 raw octets, with the classifications Mobile IPv6 needs.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mipv6::wire {

struct Ipv6Address {
  std::array<std::uint8_t, 16> bytes{};

  // Parses RFC 4291 §2.2 text forms (including "::" compression and an embedded IPv4 tail).
  static std::optional<Ipv6Address> parse(std::string_view text);
  // RFC 5952 canonical text form.
  std::string to_string() const;

  bool is_unspecified() const;   // ::
  bool is_loopback() const;      // ::1
  bool is_multicast() const;     // ff00::/8
  bool is_link_local() const;    // fe80::/10
  bool is_unique_local() const;  // fc00::/7 (RFC 4193)
  // "Unicast routable" in RFC 6275's sense (§6.1.7, §6.3, §9.5.1): a unicast address that can
  // be reached beyond the local link — not unspecified, loopback, multicast or link-local.
  bool is_unicast_routable() const;
  // Multicast scope (RFC 4291 §2.7) for multicast addresses; for unicast: 2 for link-local,
  // 14 (global) otherwise. Used for RFC 6275 §6.4's home-address vs care-of-address scope test.
  std::uint8_t scope() const;

  // The first `prefix_len` bits equal those of `prefix`.
  bool in_prefix(const Ipv6Address& prefix, unsigned prefix_len) const;

  friend auto operator<=>(const Ipv6Address&, const Ipv6Address&) = default;
};

}  // namespace mipv6::wire

template <>
struct std::hash<mipv6::wire::Ipv6Address> {
  std::size_t operator()(const mipv6::wire::Ipv6Address& a) const noexcept;
};
