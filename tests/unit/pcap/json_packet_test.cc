// The packet-level JSON view (docs/json.md, "Packet"): decode of every header kind, error
// offsets, and encode with derived fields computed or pinned.
#include <gtest/gtest.h>

#include "json_codec.h"
#include "wire/chain.h"
#include "wire/hex.h"
#include "wire/packet.h"

namespace mipv6::pcap_json {
namespace {

using wire::Bytes;

constexpr const char* kCoa = "2001:db8:2::100";
constexpr const char* kHoa = "2001:db8:1::100";
constexpr const char* kCn = "2001:db8:3::10";

json udp_with_hao() {
  return json::parse(R"({"ipv6": {"source": "2001:db8:2::100", "destination": "2001:db8:3::10",
      "flow_label": 74565, "traffic_class": 184, "hop_limit": 9},
    "extension_headers": [{"type": "destination_options",
      "options": [{"type": "home_address", "home_address": "2001:db8:1::100"}]}],
    "udp": {"source_port": 1000, "destination_port": 2000, "data": "6869"}})");
}

TEST(JsonPacket, EncodeComputesDerivedFieldsAndHaoPadding_6_3) {
  Bytes p = packet_from_json(udp_with_hao());
  ASSERT_EQ(p.size(), 40u + 24 + 10);
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).first(8)),
            "6b812345"
            "0022"
            "3c"
            "09");
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).subspan(40, 8)), "110201020000c910");
  auto layout = wire::walk_chain(p);
  ASSERT_TRUE(layout);
  EXPECT_TRUE(wire::verify_upper_checksum(p, *layout));
}

TEST(JsonPacket, DecodeShowsEveryField) {
  json j = packet_to_json(packet_from_json(udp_with_hao()));
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(j["ipv6"]["version"], 6);
  EXPECT_EQ(j["ipv6"]["flow_label"], 74565);
  EXPECT_EQ(j["ipv6"]["traffic_class"], 184);
  EXPECT_EQ(j["ipv6"]["payload_length"], 34);
  EXPECT_EQ(j["ipv6"]["next_header"], 60);
  const json& dest = j["extension_headers"][0];
  EXPECT_EQ(dest["type"], "destination_options");
  EXPECT_EQ(dest["next_header"], 17);
  EXPECT_EQ(dest["hdr_ext_len"], 2);
  EXPECT_EQ(dest["offset"], 40);
  EXPECT_EQ(dest["length"], 24);
  EXPECT_EQ(dest["options"][0]["type"], "padn");
  EXPECT_EQ(dest["options"][0]["length"], 2);
  EXPECT_EQ(dest["options"][1], json({{"type", "home_address"},
                                      {"option_type", 201},
                                      {"length", 16},
                                      {"home_address", kHoa}}));
  EXPECT_EQ(j["pseudo_header"], json({{"source", kHoa}, {"destination", kCn}}));
  EXPECT_EQ(j["udp"]["source_port"], 1000);
  EXPECT_EQ(j["udp"]["length"], 10);
  EXPECT_EQ(j["udp"]["data"], "6869");
  EXPECT_TRUE(j["udp"]["checksum_valid"]);
  EXPECT_EQ(j["payload"]["protocol"], 17);
}

TEST(JsonPacket, DecodeThenEncodeIsByteExact) {
  Bytes p = packet_from_json(udp_with_hao());
  EXPECT_EQ(wire::to_hex(packet_from_json(packet_to_json(p))), wire::to_hex(p));
}

TEST(JsonPacket, PinnedFieldsAreUsedVerbatim) {
  json j = udp_with_hao();
  j["ipv6"]["payload_length"] = 99;
  j["ipv6"]["next_header"] = 59;
  j["extension_headers"][0]["hdr_ext_len"] = 7;
  j["extension_headers"][0]["next_header"] = 6;
  j["udp"]["checksum"] = 4660;
  j["udp"]["length"] = 1;
  Bytes p = packet_from_json(j);
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).subspan(4, 2)), "0063");
  EXPECT_EQ(std::to_integer<int>(p[6]), 59);
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).subspan(40, 2)), "0607");
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).subspan(64, 8)), "03e807d000011234");
}

TEST(JsonPacket, ExplicitPaddingIsEmittedExactly) {
  json j = udp_with_hao();
  auto& options = j["extension_headers"][0]["options"];
  // docs/json.md: with padding in the list, nothing is added, so a bad layout can be built.
  options = json::parse(R"([{"type": "padn", "data": ""},
      {"type": "home_address", "home_address": "2001:db8:1::100"}, {"type": "padn"}])");
  Bytes p = packet_from_json(j);
  EXPECT_EQ(wire::to_hex(wire::ByteSpan(p).subspan(40, 6)), "11020100c910");
  json back = packet_to_json(p);
  EXPECT_EQ(back["error"], json({{"code", "misaligned_option"}, {"offset", 44}}));
  // A list that does not fill a multiple of 8 octets needs an explicit hdr_ext_len.
  options.erase(2);
  EXPECT_THROW(packet_from_json(j), JsonError);
  j["extension_headers"][0]["hdr_ext_len"] = 2;
  EXPECT_EQ(packet_from_json(j).size(), 40u + 22 + 10);
}

TEST(JsonPacket, EveryExtensionHeaderKindRoundTrips) {
  json j = json::parse(R"({"ipv6": {"source": "2001:db8:3::10", "destination": "2001:db8:2::100"},
    "extension_headers": [
      {"type": "hop_by_hop", "options": [{"type": "unknown", "option_type": 5, "data": "0000"}]},
      {"type": "routing", "routing_type": 0, "addresses": ["2001:db8::a"], "segments_left": 0},
      {"type": "routing", "routing_type": 2, "home_address": "2001:db8:1::100"},
      {"type": "routing", "routing_type": 4, "segments_left": 0, "data": "00000000"},
      {"type": "fragment", "identification": 9, "fragment_offset": 0, "flags": {"M": false}},
      {"type": "authentication_header", "spi": 1, "sequence_number": 2, "icv": "0102030405060708090a0b0c"},
      {"type": "esp", "spi": 3, "sequence_number": 4, "data": "abcdef"}]})");
  Bytes p = packet_from_json(j);
  json d = packet_to_json(p);
  ASSERT_FALSE(d.contains("error")) << d.dump();
  const json& h = d["extension_headers"];
  ASSERT_EQ(h.size(), 7u);
  EXPECT_EQ(h[0]["options"][0]["option_type"], 5);
  EXPECT_EQ(h[1]["addresses"], json::array({"2001:db8::a"}));
  EXPECT_EQ(h[2]["home_address"], kHoa);
  EXPECT_EQ(h[3]["data"], "00000000");
  EXPECT_EQ(h[4]["identification"], 9);
  EXPECT_EQ(h[5]["icv"], "0102030405060708090a0b0c");
  EXPECT_EQ(h[5]["payload_len"], 4);
  EXPECT_EQ(h[6]["spi"], 3);
  EXPECT_EQ(h[6]["data"], "abcdef");
  EXPECT_FALSE(d.contains("payload"));  // ESP is the end of what can be read
  EXPECT_EQ(wire::to_hex(packet_from_json(d)), wire::to_hex(p));
}

TEST(JsonPacket, TunnelIsDecodedRecursively_RFC2473) {
  json j = json::parse(R"({"ipv6": {"source": "2001:db8:2::100", "destination": "2001:db8:1::1"},
    "inner": {"ipv6": {"source": "2001:db8:1::100", "destination": "2001:db8:3::10"},
              "udp": {"source_port": 1, "destination_port": 2}}})");
  json d = packet_to_json(packet_from_json(j));
  EXPECT_EQ(d["ipv6"]["next_header"], 41);
  EXPECT_EQ(d["inner"]["ipv6"]["source"], kHoa);
  EXPECT_TRUE(d["inner"]["udp"]["checksum_valid"]);
}

TEST(JsonPacket, TunnelsDeeperThanTheLimitAreShownRaw) {
  auto a = *wire::Ipv6Address::parse(kCoa);
  auto b = *wire::Ipv6Address::parse(kCn);
  Bytes p = wire::build_packet(wire::PacketSpec{});
  for (int i = 0; i < 5; ++i)
    p = wire::encapsulate(p, {a, b});
  json d = packet_to_json(p);
  const json& deepest = d["inner"]["inner"]["inner"]["inner"];
  EXPECT_FALSE(deepest.contains("inner"));
  EXPECT_EQ(deepest["payload"]["protocol"], 41);
  EXPECT_EQ(deepest["payload"]["length"], 40);
}

TEST(JsonPacket, EncodeRefusesTunnelsDeeperThanTheLimit) {
  json j = json::parse(R"({"ipv6": {"source": "::1", "destination": "::2"}})");
  for (int i = 0; i < 4; ++i) {
    j = json{{"ipv6", {{"source", "::1"}, {"destination", "::2"}}}, {"inner", j}};
  }
  EXPECT_NO_THROW(packet_from_json(j));
  j = json{{"ipv6", {{"source", "::1"}, {"destination", "::2"}}}, {"inner", j}};
  EXPECT_THROW(packet_from_json(j), JsonError);
}

TEST(JsonPacket, ErrorsCarryPacketOffsetsAndKeepWhatDecoded) {
  Bytes p = packet_from_json(udp_with_hao());
  p[41] = std::byte{9};  // Hdr Ext Len beyond the packet
  json d = packet_to_json(p);
  EXPECT_EQ(d["error"], json({{"code", "bad_length"}, {"offset", 41}}));
  EXPECT_EQ(d["ipv6"]["source"], kCoa);
  EXPECT_TRUE(d["extension_headers"].empty());
  EXPECT_FALSE(d.contains("udp"));
}

TEST(JsonPacket, ShortPacketHasOnlyAnError) {
  Bytes p(10);
  json d = packet_to_json(p);
  EXPECT_EQ(d, json({{"error", {{"code", "truncated"}, {"offset", 10}}}}));
}

TEST(JsonPacket, CorruptChecksumIsReportedNotAnError) {
  Bytes p = packet_from_json(udp_with_hao());
  p[70] ^= std::byte{0xff};
  json d = packet_to_json(p);
  EXPECT_FALSE(d.contains("error"));
  EXPECT_FALSE(d["udp"]["checksum_valid"]);
}

TEST(JsonPacket, EncodeErrorsNameTheKey) {
  auto message = [](const json& j) {
    try {
      packet_from_json(j);
    } catch (const JsonError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(json::object()), "ipv6: missing");
  json j = udp_with_hao();
  j["ipv6"]["source"] = "nope";
  EXPECT_EQ(message(j), "ipv6.source: expected an IPv6 address");
  j = udp_with_hao();
  j["ipv6"]["flow_label"] = 0x100000;
  EXPECT_EQ(message(j), "ipv6.flow_label: 1048576 is out of range");
  j = udp_with_hao();
  j["extension_headers"][0]["options"][0]["home_address"] = 5;
  EXPECT_EQ(message(j), "extension_headers[0].options[0].home_address: expected an IPv6 address");
  j = udp_with_hao();
  j["extension_headers"][0]["type"] = "teleport";
  EXPECT_EQ(message(j), "extension_headers[0].type: unknown extension header type \"teleport\"");
  j = udp_with_hao();
  j["udp"]["data"] = "xyz";
  EXPECT_EQ(message(j), "udp.data: expected a hex string");
  j = udp_with_hao();
  j["ipv6"]["hop_limit"] = -1;
  EXPECT_EQ(message(j), "ipv6.hop_limit: expected a non-negative integer");
}

}  // namespace
}  // namespace mipv6::pcap_json
