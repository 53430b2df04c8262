// mipv6-pcap: inspect and build Mobile IPv6 captures through src/wire (docs/json.md).
//   decode FILE.pcap                      one JSON object per packet (JSON Lines)
//   summary FILE.pcap                     one readable line per packet
//   encode IN.jsonl OUT.pcap [--link raw|ethernet]
//   hex HEXSTRING                         decode one raw IPv6 packet
// Exit codes: 0 success, 2 bad usage or bad input (message on stderr).
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "json_codec.h"
#include "pcap_file.h"
#include "summary.h"
#include "wire/hex.h"

namespace {

using mipv6::pcap_json::json;
namespace pcap = mipv6::pcap;
namespace wire = mipv6::wire;

constexpr int kExitBadInput = 2;

constexpr std::string_view kUsage =
    "usage: mipv6-pcap COMMAND ...\n"
    "  decode FILE.pcap                              one JSON object per packet (JSON Lines)\n"
    "  summary FILE.pcap                             one readable line per packet\n"
    "  encode IN.jsonl OUT.pcap [--link raw|ethernet]  build a capture from JSON Lines\n"
    "  hex HEXSTRING                                 decode one raw IPv6 packet given as hex\n"
    "Formats: docs/json.md. Exit status 2 on bad usage or input.\n";

int usage_error() {
  std::cerr << kUsage;
  return kExitBadInput;
}

// The JSON object of one captured frame: frame number, time, then the packet or why skipped.
json frame_json(std::size_t number, const pcap::Record& record, std::uint32_t link_type) {
  json out;
  std::string why;
  auto ipv6 = pcap::ipv6_payload(link_type, record.data, why);
  if (ipv6) {
    out = mipv6::pcap_json::packet_to_json(*ipv6);
  } else {
    out["skipped"] = why;
  }
  out["frame"] = number;
  out["timestamp"] = static_cast<double>(record.timestamp_us) / 1e6;
  out["time_us"] = record.timestamp_us;
  return out;
}

int decode(const std::string& path, bool summary) {
  std::string error;
  auto capture = pcap::read_capture(path, error);
  if (!capture) {
    std::cerr << "mipv6-pcap: " << error << "\n";
    return kExitBadInput;
  }
  for (std::size_t i = 0; i < capture->records.size(); ++i) {
    json frame = frame_json(i + 1, capture->records[i], capture->link_type);
    if (summary) {
      // Frame number and seconds since the first packet, as tshark's default columns.
      std::uint64_t since = capture->records[i].timestamp_us - capture->records[0].timestamp_us;
      char prefix[48];
      std::snprintf(prefix, sizeof prefix, "%4zu %4llu.%06llu  ", i + 1,
                    static_cast<unsigned long long>(since / 1000000),
                    static_cast<unsigned long long>(since % 1000000));
      std::cout << prefix << mipv6::pcap_json::summarize(frame) << "\n";
    } else {
      std::cout << frame.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    }
  }
  return 0;
}

// Fixed, locally administered MAC addresses for Ethernet framing of built packets.
wire::Bytes ethernet_frame(const wire::Bytes& packet) {
  wire::Bytes frame{std::byte{0x02}, std::byte{0},    std::byte{0},    std::byte{0},   std::byte{0},
                    std::byte{0x02}, std::byte{0x02}, std::byte{0},    std::byte{0},   std::byte{0},
                    std::byte{0},    std::byte{0x01}, std::byte{0x86}, std::byte{0xdd}};
  frame.insert(frame.end(), packet.begin(), packet.end());
  return frame;
}

std::uint64_t record_time(const json& j, std::size_t index) {
  if (j.contains("time_us") && j["time_us"].is_number_unsigned()) {
    return j["time_us"].get<std::uint64_t>();
  }
  if (j.contains("timestamp") && j["timestamp"].is_number() && j["timestamp"].get<double>() >= 0) {
    return static_cast<std::uint64_t>(j["timestamp"].get<double>() * 1e6 + 0.5);
  }
  return index * 1000;  // 1 ms apart, in input order
}

int encode(const std::string& in_path, const std::string& out_path, bool ethernet) {
  std::ifstream in(in_path);
  if (!in) {
    std::cerr << "mipv6-pcap: cannot open " << in_path << "\n";
    return kExitBadInput;
  }
  pcap::Capture capture;
  capture.link_type =
      static_cast<std::uint32_t>(ethernet ? pcap::LinkType::kEthernet : pcap::LinkType::kIpv6);
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    try {
      json j = json::parse(line);
      wire::Bytes packet = mipv6::pcap_json::packet_from_json(j);
      pcap::Record record;
      record.timestamp_us = record_time(j, capture.records.size());
      record.data = ethernet ? ethernet_frame(packet) : std::move(packet);
      capture.records.push_back(std::move(record));
    } catch (const json::parse_error& e) {
      std::cerr << in_path << ":" << number << ": json: " << e.what() << "\n";
      return kExitBadInput;
    } catch (const std::exception& e) {
      std::cerr << in_path << ":" << number << ": " << e.what() << "\n";
      return kExitBadInput;
    }
  }
  std::string error;
  if (!pcap::write_capture(out_path, capture, error)) {
    std::cerr << "mipv6-pcap: " << error << "\n";
    return kExitBadInput;
  }
  return 0;
}

int decode_hex(const std::string& text) {
  auto bytes = wire::from_hex(text);
  if (!bytes) {
    std::cerr << "mipv6-pcap: not a hex string\n";
    return kExitBadInput;
  }
  std::cout << mipv6::pcap_json::packet_to_json(*bytes).dump() << "\n";
  return 0;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) return usage_error();
  const std::string& command = args[0];
  if (command == "-h" || command == "--help" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if ((command == "decode" || command == "summary") && args.size() == 2) {
    return decode(args[1], command == "summary");
  }
  if (command == "hex" && args.size() >= 2) {
    std::string text;
    for (std::size_t i = 1; i < args.size(); ++i)
      text += args[i];
    return decode_hex(text);
  }
  if (command == "encode" && args.size() == 3) return encode(args[1], args[2], false);
  if (command == "encode" && args.size() == 5 && args[3] == "--link") {
    if (args[4] == "raw") return encode(args[1], args[2], false);
    if (args[4] == "ethernet") return encode(args[1], args[2], true);
  }
  return usage_error();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "mipv6-pcap: " << e.what() << "\n";
    return kExitBadInput;
  }
}
