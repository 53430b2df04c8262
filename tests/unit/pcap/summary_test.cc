#include "summary.h"

#include <gtest/gtest.h>

#include "pcap_file.h"

namespace mipv6::pcap_json {
namespace {

// The scapy-built demo capture: summaries of an independent implementation's packets.
std::vector<std::string> demo_summaries() {
  std::string error;
  auto capture =
      pcap::read_capture(std::string(MIPV6_VECTORS_DIR) + "/../../demo/registration.pcap", error);
  EXPECT_TRUE(capture) << error;
  std::vector<std::string> lines;
  if (!capture) return lines;
  for (const auto& record : capture->records) {
    std::string why;
    auto packet = pcap::ipv6_payload(capture->link_type, record.data, why);
    lines.push_back(packet ? summarize(packet_to_json(*packet)) : "skipped: " + why);
  }
  return lines;
}

TEST(Summary, HomeRegistrationExchange) {
  auto lines = demo_summaries();
  ASSERT_EQ(lines.size(), 17u);
  EXPECT_EQ(lines[5],
            "2001:db8:2::ff:fe00:100 > 2001:db8:1::1 HAO=2001:db8:1::100 BU seq=1000 A H "
            "lifetime=420s alt-coa=2001:db8:2::ff:fe00:100");
  EXPECT_EQ(lines[6],
            "2001:db8:1::1 > 2001:db8:2::ff:fe00:100 RH2=2001:db8:1::100 BA seq=1000 status=0 "
            "(Binding Update accepted) lifetime=420s refresh=300s");
}

TEST(Summary, TunnelledAndRouteOptimisedPackets) {
  auto lines = demo_summaries();
  ASSERT_EQ(lines.size(), 17u);
  EXPECT_EQ(lines[7],
            "2001:db8:1::1 > 2001:db8:2::ff:fe00:100 tunnel{ 2001:db8:3::10 > 2001:db8:1::100 "
            "Echo-Request seq=1 id=7 }");
  EXPECT_EQ(lines[13],
            "2001:db8:2::ff:fe00:100 > 2001:db8:3::10 HAO=2001:db8:1::100 BU seq=2000 A "
            "lifetime=420s nonce-indices=7/8 auth");
}

TEST(Summary, BrokenPacketsSayWhere) {
  json broken = packet_to_json(wire::Bytes(20, std::byte{0x60}));
  EXPECT_NE(summarize(broken).find("ERROR truncated@"), std::string::npos) << summarize(broken);
  EXPECT_EQ(summarize(json{{"skipped", "not IPv6"}}), "skipped: not IPv6");
}

}  // namespace
}  // namespace mipv6::pcap_json
