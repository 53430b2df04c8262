#include "pcap_file.h"

#include <fstream>
#include <iterator>

namespace mipv6::pcap {
namespace {

constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kMagicNano = 0xa1b23c4d;
constexpr std::uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr std::uint16_t kEtherTypeVlan = 0x8100;

std::uint32_t load32(const std::byte* p, bool swap) {
  std::uint32_t le =
      std::to_integer<std::uint32_t>(p[0]) | std::to_integer<std::uint32_t>(p[1]) << 8 |
      std::to_integer<std::uint32_t>(p[2]) << 16 | std::to_integer<std::uint32_t>(p[3]) << 24;
  return swap ? wire::load_be32(p) : le;
}

void put32le(wire::Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

void put16le(wire::Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::byte>(v));
  out.push_back(static_cast<std::byte>(v >> 8));
}

}  // namespace

std::optional<Capture> read_capture(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path;
    return std::nullopt;
  }
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bytes = std::as_bytes(std::span(raw));
  if (bytes.size() < 24) {
    error = path + ": too short for a pcap global header";
    return std::nullopt;
  }
  // The magic number, read little-endian, tells the file's byte order and timestamp unit.
  std::uint32_t magic = load32(bytes.data(), false);
  bool swap = false;
  bool nano = false;
  if (magic == kMagicMicro || magic == kMagicNano) {
    nano = magic == kMagicNano;
  } else {
    std::uint32_t swapped = load32(bytes.data(), true);
    if (swapped != kMagicMicro && swapped != kMagicNano) {
      error = path + ": not a pcap file (pcapng is not supported; convert with editcap -F pcap)";
      return std::nullopt;
    }
    swap = true;
    nano = swapped == kMagicNano;
  }
  Capture capture;
  capture.link_type = load32(&bytes[20], swap) & 0x0fffffffu;  // high bits: FCS info
  std::size_t pos = 24;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 16) {
      error = path + ": truncated record header at byte " + std::to_string(pos);
      return std::nullopt;
    }
    std::uint64_t seconds = load32(&bytes[pos], swap);
    std::uint64_t fraction = load32(&bytes[pos + 4], swap);
    std::uint32_t caplen = load32(&bytes[pos + 8], swap);
    std::uint32_t origlen = load32(&bytes[pos + 12], swap);
    pos += 16;
    if (caplen > bytes.size() - pos) {
      error = path + ": truncated packet data at byte " + std::to_string(pos);
      return std::nullopt;
    }
    Record record;
    record.timestamp_us = seconds * 1000000 + (nano ? fraction / 1000 : fraction);
    record.original_length = origlen;
    record.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                       bytes.begin() + static_cast<std::ptrdiff_t>(pos + caplen));
    capture.records.push_back(std::move(record));
    pos += caplen;
  }
  return capture;
}

bool write_capture(const std::string& path, const Capture& capture, std::string& error) {
  wire::Bytes out;
  put32le(out, kMagicMicro);
  put16le(out, 2);  // version 2.4
  put16le(out, 4);
  put32le(out, 0);  // thiszone
  put32le(out, 0);  // sigfigs
  put32le(out, 262144);
  put32le(out, capture.link_type);
  for (const auto& r : capture.records) {
    put32le(out, static_cast<std::uint32_t>(r.timestamp_us / 1000000));
    put32le(out, static_cast<std::uint32_t>(r.timestamp_us % 1000000));
    put32le(out, static_cast<std::uint32_t>(r.data.size()));
    put32le(out, r.original_length ? r.original_length : static_cast<std::uint32_t>(r.data.size()));
    out.insert(out.end(), r.data.begin(), r.data.end());
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) {
    error = "cannot create " + path;
    return false;
  }
  file.write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (!file) {
    error = "write failed: " + path;
    return false;
  }
  return true;
}

std::optional<wire::ByteSpan> ipv6_payload(std::uint32_t link_type, wire::ByteSpan frame,
                                           std::string& why) {
  std::size_t header = 0;
  std::uint16_t ethertype = 0;
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::kEthernet:
      if (frame.size() < 14) {
        why = "frame shorter than an Ethernet header";
        return std::nullopt;
      }
      ethertype = wire::load_be16(&frame[12]);
      header = 14;
      while (ethertype == kEtherTypeVlan && frame.size() >= header + 4) {  // 802.1Q tags
        ethertype = wire::load_be16(&frame[header + 2]);
        header += 4;
      }
      break;
    case LinkType::kLinuxSll:
      if (frame.size() < 16) {
        why = "frame shorter than a Linux cooked header";
        return std::nullopt;
      }
      ethertype = wire::load_be16(&frame[14]);
      header = 16;
      break;
    case LinkType::kLinuxSll2:
      if (frame.size() < 20) {
        why = "frame shorter than a Linux cooked v2 header";
        return std::nullopt;
      }
      ethertype = wire::load_be16(&frame[0]);
      header = 20;
      break;
    case LinkType::kRaw:
    case LinkType::kIpv6:
      if (frame.empty() || (std::to_integer<unsigned>(frame[0]) >> 4) != 6) {
        why = "raw frame is not IPv6";
        return std::nullopt;
      }
      return frame;
    default:
      why = "unsupported link type " + std::to_string(link_type);
      return std::nullopt;
  }
  if (ethertype != kEtherTypeIpv6) {
    why = "not IPv6 (ethertype 0x" + [&] {
      static constexpr char kDigits[] = "0123456789abcdef";
      std::string s;
      for (int shift = 12; shift >= 0; shift -= 4)
        s += kDigits[(ethertype >> shift) & 0xf];
      return s;
    }() + ")";
    return std::nullopt;
  }
  return frame.subspan(header);
}

}  // namespace mipv6::pcap
