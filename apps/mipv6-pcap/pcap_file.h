// Classic libpcap capture files (the format Wireshark, tshark and tcpdump read and write):
// a 24-byte global header, then per packet a 16-byte record header and the captured bytes.
// Both byte orders and micro/nanosecond timestamps are read; we write little-endian, µs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wire/bytes.h"

namespace mipv6::pcap {

// Link types we read (https://www.tcpdump.org/linktypes.html numbering).
enum class LinkType : std::uint32_t {
  kEthernet = 1,
  kRaw = 101,        // raw IP (version nibble tells v4/v6)
  kLinuxSll = 113,   // Linux "cooked" capture v1
  kIpv6 = 229,       // raw IPv6
  kLinuxSll2 = 276,  // Linux "cooked" capture v2
};

struct Record {
  std::uint64_t timestamp_us = 0;
  std::uint32_t original_length = 0;
  wire::Bytes data;  // the captured bytes, link-layer header included
};

struct Capture {
  std::uint32_t link_type = static_cast<std::uint32_t>(LinkType::kIpv6);
  std::vector<Record> records;
};

// Reads a whole capture. On failure returns nullopt and sets `error` to a readable reason.
std::optional<Capture> read_capture(const std::string& path, std::string& error);
// Writes a capture (little-endian, microsecond timestamps, snaplen 262144).
bool write_capture(const std::string& path, const Capture& capture, std::string& error);

// Locates the IPv6 packet inside a record of the given link type. Returns nullopt when the frame
// does not carry IPv6 (e.g. ARP, IPv4) or is too short; `why` then says which.
std::optional<wire::ByteSpan> ipv6_payload(std::uint32_t link_type, wire::ByteSpan frame,
                                           std::string& why);

}  // namespace mipv6::pcap
