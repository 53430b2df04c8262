#include "sim/pcap_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::load_le16;
using testing::load_le32;

Frame frame_of(std::size_t packet_size) {
  wire::Bytes packet(packet_size, std::byte{0xab});
  return Frame{MacAddress::for_ipv6_multicast(*wire::Ipv6Address::parse("ff02::1")),
               MacAddress::synthetic(1), packet};
}

TEST(PcapWriter, GlobalHeaderIsLittleEndianNanosecondEthernet) {
  PcapWriter w;
  const auto& b = w.bytes();
  ASSERT_EQ(b.size(), kPcapGlobalHeaderSize);
  EXPECT_EQ(load_le32(&b[0]), 0xa1b23c4du);  // nanosecond magic
  EXPECT_EQ(load_le16(&b[4]), 2u);           // version 2.4
  EXPECT_EQ(load_le16(&b[6]), 4u);
  EXPECT_EQ(load_le32(&b[8]), 0u);   // thiszone
  EXPECT_EQ(load_le32(&b[12]), 0u);  // sigfigs
  EXPECT_EQ(load_le32(&b[16]), kPcapSnapLength);
  EXPECT_EQ(load_le32(&b[20]), 1u);  // LINKTYPE_ETHERNET
  EXPECT_EQ(w.records(), 0u);
}

TEST(PcapWriter, RecordsCarryVirtualTimeFromTheFixedEpochAndTheEthernetFrame) {
  PcapWriter w;
  w.write(TimePoint(1500ms + Duration(123)), frame_of(40));
  w.write(TimePoint(3s), frame_of(60));
  const auto& b = w.bytes();
  ASSERT_EQ(b.size(), kPcapGlobalHeaderSize + 2 * kPcapRecordHeaderSize + 54 + 74);
  EXPECT_EQ(w.records(), 2u);
  const std::byte* r = &b[kPcapGlobalHeaderSize];
  EXPECT_EQ(load_le32(r), 946684801u);  // 2000-01-01T00:00:01Z
  EXPECT_EQ(load_le32(r + 4), 500000123u);
  EXPECT_EQ(load_le32(r + 8), 54u);   // captured
  EXPECT_EQ(load_le32(r + 12), 54u);  // original
  EXPECT_EQ(r[16], std::byte{0x33});  // destination MAC first
  EXPECT_EQ(r[16 + 12], std::byte{0x86});
  EXPECT_EQ(r[16 + 14], std::byte{0xab});
  const std::byte* r2 = r + kPcapRecordHeaderSize + 54;
  EXPECT_EQ(load_le32(r2), 946684803u);
  EXPECT_EQ(load_le32(r2 + 4), 0u);
  EXPECT_EQ(load_le32(r2 + 8), 74u);
}

TEST(PcapWriter, FramesLongerThanSnapLengthAreTruncatedKeepingOriginalLength) {
  PcapWriter w;
  w.write(TimePoint{}, frame_of(kPcapSnapLength));
  const auto& b = w.bytes();
  const std::byte* r = &b[kPcapGlobalHeaderSize];
  EXPECT_EQ(load_le32(r + 8), kPcapSnapLength);
  EXPECT_EQ(load_le32(r + 12), kPcapSnapLength + kEthernetHeaderSize);
  EXPECT_EQ(b.size(), kPcapGlobalHeaderSize + kPcapRecordHeaderSize + kPcapSnapLength);
}

TEST(PcapWriter, FileHoldsTheSameBytesAsMemory) {
  const std::string path = ::testing::TempDir() + "sim_pcap_writer_test.pcap";
  PcapWriter memory;
  {
    std::string error;
    auto file = PcapWriter::open(path, error);
    ASSERT_NE(file, nullptr) << error;
    for (int i = 0; i < 2000; ++i) {  // crosses the flush threshold
      file->write(TimePoint(std::chrono::microseconds(i)), frame_of(100));
      memory.write(TimePoint(std::chrono::microseconds(i)), frame_of(100));
    }
    ASSERT_TRUE(file->flush(error)) << error;
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(text.size(), memory.bytes().size());
  EXPECT_EQ(std::memcmp(text.data(), memory.bytes().data(), text.size()), 0);
  std::remove(path.c_str());
}

TEST(PcapWriter, OpenReportsUnwritablePath) {
  std::string error;
  EXPECT_EQ(PcapWriter::open("/nonexistent-dir/x.pcap", error), nullptr);
  EXPECT_NE(error.find("/nonexistent-dir/x.pcap"), std::string::npos);
}

}  // namespace
}  // namespace mipv6::sim
