// Classic pcap files (pcap_file.h): write/read round trips, files in the other byte order and
// with nanosecond timestamps crafted here byte by byte, and the link-layer framings.
#include "pcap_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "wire/hex.h"

namespace mipv6::pcap {
namespace {

using wire::Bytes;
using wire::ByteSpan;

// A 40-byte IPv6 header with No Next Header (enough for the framing tests).
const Bytes kIpv6 = *wire::from_hex(
    "6000 0000 0000 3b40 2001 0db8 0000 0000 0000 0000 0000 0001"
    "2001 0db8 0000 0000 0000 0000 0000 0002");

class TempFile {
 public:
  TempFile()
      : path_((std::filesystem::temp_directory_path() /
               // ctest runs every test in its own process, in parallel: the pid keeps the
               // names of concurrent tests apart.
               ("pcap_file_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) +
                ".pcap"))
                  .string()) {}
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void write(const Bytes& bytes) const {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

Bytes hex(const char* text) {
  return *wire::from_hex(text);
}

TEST(PcapFile, WriteThenReadRoundTrip) {
  TempFile file;
  Capture capture;
  capture.link_type = static_cast<std::uint32_t>(LinkType::kIpv6);
  capture.records.push_back({1'700'000'000'123'456, 0, kIpv6});
  capture.records.push_back({5, 100, Bytes(3)});
  std::string error;
  ASSERT_TRUE(write_capture(file.path(), capture, error)) << error;
  auto read = read_capture(file.path(), error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->link_type, 229u);
  ASSERT_EQ(read->records.size(), 2u);
  EXPECT_EQ(read->records[0].timestamp_us, 1'700'000'000'123'456u);
  EXPECT_EQ(read->records[0].original_length, kIpv6.size());
  EXPECT_EQ(read->records[0].data, kIpv6);
  EXPECT_EQ(read->records[1].original_length, 100u);
}

TEST(PcapFile, ReadsBigEndianMicrosecondFiles) {
  TempFile file;
  Bytes bytes =
      hex("a1b2c3d4 0002 0004 00000000 00000000 0000ffff 00000065"  // raw IP (101)
          "00000002 0000000a 00000004 00000004 deadbeef");
  file.write(bytes);
  std::string error;
  auto read = read_capture(file.path(), error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->link_type, 101u);
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].timestamp_us, 2'000'010u);
  EXPECT_EQ(wire::to_hex(read->records[0].data), "deadbeef");
}

TEST(PcapFile, ReadsLittleEndianNanosecondFiles) {
  TempFile file;
  Bytes bytes =
      hex("4d3cb2a1 0200 0400 00000000 00000000 ffff0000 e5000000"  // 229, ns magic
          "03000000 15cd5b07 01000000 01000000 60");                // 3 s + 123456789 ns
  file.write(bytes);
  std::string error;
  auto read = read_capture(file.path(), error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->link_type, 229u);
  ASSERT_EQ(read->records.size(), 1u);
  EXPECT_EQ(read->records[0].timestamp_us, 3'123'456u);
}

TEST(PcapFile, ReadsBigEndianNanosecondFiles) {
  TempFile file;
  file.write(
      hex("a1b23c4d 0002 0004 00000000 00000000 0000ffff 00000001"
          "00000001 000003e8 00000000 00000000"));
  std::string error;
  auto read = read_capture(file.path(), error);
  ASSERT_TRUE(read) << error;
  EXPECT_EQ(read->link_type, 1u);
  EXPECT_EQ(read->records[0].timestamp_us, 1'000'001u);
}

TEST(PcapFile, RejectsBadFiles) {
  std::string error;
  EXPECT_FALSE(read_capture("/nonexistent/file.pcap", error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
  TempFile file;
  file.write(hex("0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffff ffffffff"));  // pcapng
  EXPECT_FALSE(read_capture(file.path(), error));
  EXPECT_NE(error.find("pcapng"), std::string::npos);
  file.write(hex("d4c3b2a1 0200"));
  EXPECT_FALSE(read_capture(file.path(), error));
  file.write(hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 e5000000 01000000"));
  EXPECT_FALSE(read_capture(file.path(), error));
  EXPECT_NE(error.find("truncated record header"), std::string::npos);
  file.write(
      hex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 e5000000"
          "01000000 00000000 10000000 10000000 6000"));
  EXPECT_FALSE(read_capture(file.path(), error));
  EXPECT_NE(error.find("truncated packet data"), std::string::npos);
}

Bytes framed(const char* header_hex) {
  Bytes frame = hex(header_hex);
  frame.insert(frame.end(), kIpv6.begin(), kIpv6.end());
  return frame;
}

void expect_ipv6_at(LinkType link, const Bytes& frame, std::size_t offset) {
  std::string why;
  auto payload = ipv6_payload(static_cast<std::uint32_t>(link), frame, why);
  ASSERT_TRUE(payload) << why;
  EXPECT_EQ(payload->data(), frame.data() + offset);
  EXPECT_EQ(payload->size(), kIpv6.size());
}

TEST(PcapFile, EthernetFraming) {
  expect_ipv6_at(LinkType::kEthernet, framed("020000000002 020000000001 86dd"), 14);
}

TEST(PcapFile, EthernetWithVlanTag) {
  expect_ipv6_at(LinkType::kEthernet, framed("020000000002 020000000001 8100 0064 86dd"), 18);
}

TEST(PcapFile, LinuxCookedV1) {
  expect_ipv6_at(LinkType::kLinuxSll, framed("0000 0001 0006 020000000001 0000 86dd"), 16);
}

TEST(PcapFile, LinuxCookedV2) {
  expect_ipv6_at(LinkType::kLinuxSll2, framed("86dd 0000 00000002 0001 00 06 020000000001 0000"),
                 20);
}

TEST(PcapFile, RawLinkTypes) {
  expect_ipv6_at(LinkType::kRaw, kIpv6, 0);
  expect_ipv6_at(LinkType::kIpv6, kIpv6, 0);
}

TEST(PcapFile, NonIpv6FramesSaySo) {
  std::string why;
  Bytes arp = hex("ffffffffffff 020000000001 0806 0001");
  EXPECT_FALSE(ipv6_payload(1, arp, why));
  EXPECT_NE(why.find("0806"), std::string::npos);
  Bytes ipv4 = hex("4500 0014");
  EXPECT_FALSE(ipv6_payload(101, ipv4, why));
  EXPECT_FALSE(ipv6_payload(1, hex("0200"), why));
  EXPECT_FALSE(ipv6_payload(113, hex("0000"), why));
  EXPECT_FALSE(ipv6_payload(276, hex("86dd"), why));
  EXPECT_FALSE(ipv6_payload(147, kIpv6, why));
  EXPECT_NE(why.find("unsupported link type 147"), std::string::npos);
}

}  // namespace
}  // namespace mipv6::pcap
