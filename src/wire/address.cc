#include "wire/address.h"

#include <cstdio>
#include <vector>

namespace mipv6::wire {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses "a.b.c.d" into 4 bytes.
bool parse_ipv4(std::string_view text, std::uint8_t* out) {
  int part = 0;
  int value = -1;
  for (char c : text) {
    if (c == '.') {
      if (value < 0 || part == 3) return false;
      out[part++] = static_cast<std::uint8_t>(value);
      value = -1;
    } else if (c >= '0' && c <= '9') {
      value = (value < 0 ? 0 : value * 10) + (c - '0');
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  if (value < 0 || part != 3) return false;
  out[3] = static_cast<std::uint8_t>(value);
  return true;
}

// Parses colon-separated hex groups (no "::") into 16-bit words; an IPv4 tail counts as two.
bool parse_groups(std::string_view text, std::vector<std::uint16_t>& words) {
  if (text.empty()) return true;
  std::size_t start = 0;
  while (true) {
    auto colon = text.find(':', start);
    auto group = text.substr(start, colon == std::string_view::npos ? colon : colon - start);
    if (colon == std::string_view::npos && group.find('.') != std::string_view::npos) {
      std::uint8_t v4[4];
      if (!parse_ipv4(group, v4)) return false;
      words.push_back(static_cast<std::uint16_t>(v4[0] << 8 | v4[1]));
      words.push_back(static_cast<std::uint16_t>(v4[2] << 8 | v4[3]));
      return true;
    }
    if (group.empty() || group.size() > 4) return false;
    unsigned value = 0;
    for (char c : group) {
      int d = hex_digit(c);
      if (d < 0) return false;
      value = value * 16 + static_cast<unsigned>(d);
    }
    words.push_back(static_cast<std::uint16_t>(value));
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

}  // namespace

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
  std::vector<std::uint16_t> head;
  std::vector<std::uint16_t> tail;
  auto gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(text, head) || head.size() != 8) return std::nullopt;
  } else {
    if (text.find("::", gap + 1) != std::string_view::npos) return std::nullopt;
    if (!parse_groups(text.substr(0, gap), head)) return std::nullopt;
    if (!parse_groups(text.substr(gap + 2), tail)) return std::nullopt;
    if (head.size() + tail.size() > 7) return std::nullopt;
  }
  Ipv6Address a;
  std::size_t i = 0;
  for (auto w : head) {
    a.bytes[i++] = static_cast<std::uint8_t>(w >> 8);
    a.bytes[i++] = static_cast<std::uint8_t>(w);
  }
  i = 16 - 2 * tail.size();
  for (auto w : tail) {
    a.bytes[i++] = static_cast<std::uint8_t>(w >> 8);
    a.bytes[i++] = static_cast<std::uint8_t>(w);
  }
  return a;
}

std::string Ipv6Address::to_string() const {
  std::uint16_t w[8];
  for (std::size_t i = 0; i < 8; ++i)
    w[i] = static_cast<std::uint16_t>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
  // RFC 5952 §4.2: compress the longest run (>= 2) of zero words, the first one on a tie.
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (w[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && w[j] == 0)
      ++j;
    if (j - i > best_len && j - i >= 2) best_start = i, best_len = j - i;
    i = j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", w[i]);
    out += buf;
  }
  return out;
}

bool Ipv6Address::is_unspecified() const {
  for (auto b : bytes)
    if (b != 0) return false;
  return true;
}

bool Ipv6Address::is_loopback() const {
  for (int i = 0; i < 15; ++i)
    if (bytes[static_cast<std::size_t>(i)] != 0) return false;
  return bytes[15] == 1;
}

bool Ipv6Address::is_multicast() const {
  return bytes[0] == 0xff;
}
bool Ipv6Address::is_link_local() const {
  return bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80;
}
bool Ipv6Address::is_unique_local() const {
  return (bytes[0] & 0xfe) == 0xfc;
}

bool Ipv6Address::is_unicast_routable() const {
  return !is_unspecified() && !is_loopback() && !is_multicast() && !is_link_local();
}

std::uint8_t Ipv6Address::scope() const {
  if (is_multicast()) return bytes[1] & 0x0f;
  if (is_link_local() || is_loopback()) return 2;
  return 14;
}

bool Ipv6Address::in_prefix(const Ipv6Address& prefix, unsigned prefix_len) const {
  if (prefix_len > 128) return false;
  std::size_t full = prefix_len / 8;
  for (std::size_t i = 0; i < full; ++i)
    if (bytes[i] != prefix.bytes[i]) return false;
  unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (prefix.bytes[full] & mask);
}

}  // namespace mipv6::wire

std::size_t std::hash<mipv6::wire::Ipv6Address>::operator()(
    const mipv6::wire::Ipv6Address& a) const noexcept {
  // FNV-1a over the 16 octets: cheap and well spread for table lookups.
  std::uint64_t h = 1469598103934665603ull;
  for (auto b : a.bytes)
    h = (h ^ b) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}
