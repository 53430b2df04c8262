// JSON view of ICMPv6 messages (apps/mipv6-pcap/json_icmpv6.cc, docs/json.md "ICMPv6").
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "json_codec.h"
#include "wire/hex.h"

namespace mipv6::pcap_json {
namespace {

wire::Bytes hex(std::string_view text) {
  return *wire::from_hex(text);
}

// bytes -> JSON -> bytes must give the same bytes; returns the JSON for field checks.
json round_trip(std::string_view wire_hex) {
  auto bytes = hex(wire_hex);
  json j = icmpv6_to_json(bytes);
  EXPECT_FALSE(j.contains("error")) << j.dump();
  EXPECT_EQ(wire::to_hex(icmpv6_from_json(j)), wire::to_hex(bytes)) << j.dump();
  return j;
}

std::string error_of(const json& j) {
  try {
    icmpv6_from_json(j);
  } catch (const JsonError& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr std::string_view kPioWire =
    "0304 40e0 0000 1c20 0000 0e10 0000 0000 2001 0db8 0001 0000 0000 0000 0000 0001";

TEST(JsonIcmpv6, RouterAdvertisementWithMobileIpv6Options_RFC6275_7) {
  json j = round_trip(std::string("8600 a704 4020 0001 0000 0000 0000 0000 0101 0200 0000 0001") +
                      std::string(kPioWire) + "0701 0000 0000 005a 0801 8000 000a 0708");
  EXPECT_EQ(j["icmp_type"], 134);
  EXPECT_EQ(j["type"], "router_advertisement");
  EXPECT_EQ(j["checksum"], 0xa704);
  EXPECT_EQ(j["cur_hop_limit"], 64);
  EXPECT_EQ(j["flags"], (json{{"M", false}, {"O", false}, {"H", true}}));
  EXPECT_EQ(j["router_lifetime"], 1);
  const json& o = j["options"];
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(o[0]["type"], "source_link_layer_address");
  EXPECT_EQ(o[0]["link_layer_address"], "020000000001");
  EXPECT_EQ(o[1]["type"], "prefix_information");
  EXPECT_EQ(o[1]["option_type"], 3);
  EXPECT_EQ(o[1]["length"], 4);
  EXPECT_EQ(o[1]["flags"], (json{{"L", true}, {"A", true}, {"R", true}}));
  EXPECT_EQ(o[1]["prefix"], "2001:db8:1::1");
  EXPECT_EQ(o[1]["valid_lifetime"], 7200);
  EXPECT_EQ(o[2]["type"], "advertisement_interval");
  EXPECT_EQ(o[2]["advertisement_interval"], 90);
  EXPECT_EQ(o[3]["type"], "home_agent_information");
  EXPECT_EQ(o[3]["reserved"], 0x8000);
  EXPECT_EQ(o[3]["home_agent_preference"], 10);
  EXPECT_EQ(o[3]["home_agent_lifetime"], 1800);
}

TEST(JsonIcmpv6, RouterAdvertisementReservedBitsKept_RFC4861_4_2) {
  json j = round_trip("86ff 0000 ffff ffff dead beef 0102 0304 0501 abcd 0000 05dc");
  EXPECT_EQ(j["code"], 255);
  EXPECT_EQ(j["reserved"], 0x1f);
  EXPECT_EQ(j["options"][0]["type"], "mtu");
  EXPECT_EQ(j["options"][0]["reserved"], 0xabcd);
  EXPECT_EQ(j["options"][0]["mtu"], 1500);
}

TEST(JsonIcmpv6, DhaadRequestAndReply_RFC6275_6_5_6_6) {
  json req = round_trip("9000 1234 beef 8001");
  EXPECT_EQ(req["type"], "dhaad_request");
  EXPECT_EQ(req["identifier"], 0xbeef);
  EXPECT_EQ(req["reserved"], 0x8001);
  json rep = round_trip(
      "9100 0000 beef 0000 2001 0db8 0001 0000 0000 0000 0000 0001 "
      "2001 0db8 0001 0000 0000 0000 0000 0002");
  EXPECT_EQ(rep["type"], "dhaad_reply");
  EXPECT_EQ(rep["home_agent_addresses"], (json{"2001:db8:1::1", "2001:db8:1::2"}));
}

TEST(JsonIcmpv6, MobilePrefixSolicitationAndAdvertisement_RFC6275_6_7_6_8) {
  json mps = round_trip("9200 0000 beef 0000");
  EXPECT_EQ(mps["type"], "mobile_prefix_solicitation");
  EXPECT_EQ(mps["options"], json::array());
  json mpa = round_trip(std::string("9300 0000 beef 5234 ") + std::string(kPioWire));
  EXPECT_EQ(mpa["type"], "mobile_prefix_advertisement");
  EXPECT_EQ(mpa["flags"], (json{{"M", false}, {"O", true}}));
  EXPECT_EQ(mpa["reserved"], 0x1234);
  EXPECT_EQ(mpa["options"][0]["flags"]["R"], true);
}

TEST(JsonIcmpv6, NeighborDiscoveryMessages_RFC4861_4) {
  EXPECT_EQ(round_trip("8500 0000 0000 0000 0101 0200 0000 0001")["type"], "router_solicitation");
  json ns = round_trip("8700 0000 0000 0000 2001 0db8 0001 0000 0000 0000 0000 1000");
  EXPECT_EQ(ns["target_address"], "2001:db8:1::1000");
  json na = round_trip(
      "8800 0000 a001 2345 2001 0db8 0001 0000 0000 0000 0000 1000 "
      "0201 0200 0000 0003");
  EXPECT_EQ(na["flags"], (json{{"R", true}, {"S", false}, {"O", true}}));
  EXPECT_EQ(na["reserved"], 0x12345);
  EXPECT_EQ(na["options"][0]["type"], "target_link_layer_address");
  json redirect = round_trip(
      "8900 0000 0000 0000 fe80 0000 0000 0000 0000 0000 0000 0001 "
      "2001 0db8 0000 0000 0000 0000 0000 0005 0402 0000 0000 0000 6000 0000 0000 3b40");
  EXPECT_EQ(redirect["destination_address"], "2001:db8::5");
  EXPECT_EQ(redirect["options"][0]["type"], "redirected_header");
  EXPECT_EQ(redirect["options"][0]["ip_header_and_data"], "6000000000003b40");
}

TEST(JsonIcmpv6, ErrorMessagesShowInvokingPacketAsHex_RFC4443_3) {
  json du = round_trip("0103 abcd 0102 0304 6000 0000");
  EXPECT_EQ(du["type"], "destination_unreachable");
  EXPECT_EQ(du["code"], 3);
  EXPECT_EQ(du["unused"], 0x01020304);
  EXPECT_EQ(du["invoking_packet"], "60000000");
  EXPECT_EQ(round_trip("0200 0000 0000 0500 60")["mtu"], 1280);
  EXPECT_EQ(round_trip("0301 0000 0000 0000")["type"], "time_exceeded");
  EXPECT_EQ(round_trip("0400 0000 0000 0028 60")["pointer"], 40);
}

TEST(JsonIcmpv6, EchoAndUnknown_RFC4443) {
  json echo = round_trip("8000 0000 0007 0009 6869");
  EXPECT_EQ(echo["type"], "echo_request");
  EXPECT_EQ(echo["sequence_number"], 9);
  EXPECT_EQ(echo["data"], "6869");
  EXPECT_EQ(round_trip("8100 0000 0007 0009")["type"], "echo_reply");
  json unknown = round_trip("c807 1234 dead beef");
  EXPECT_EQ(unknown["type"], "unknown");
  EXPECT_EQ(unknown["icmp_type"], 200);
  EXPECT_EQ(unknown["message_body"], "deadbeef");
  json option = round_trip("8500 0000 0000 0000 c801 aabb ccdd eeff");
  EXPECT_EQ(option["options"][0]["type"], "unknown");
  EXPECT_EQ(option["options"][0]["option_type"], 200);
  EXPECT_EQ(option["options"][0]["data"], "aabbccddeeff");
}

TEST(JsonIcmpv6, DecodeErrorKeepsHeaderAndRawBodyAndRoundTrips) {
  auto bytes = hex("9100 0000 beef 0000 2001 0db8");
  json j = icmpv6_to_json(bytes);
  EXPECT_EQ(j["error"], (json{{"code", "bad_length"}, {"offset", 8}}));
  EXPECT_EQ(j["type"], "dhaad_reply");
  EXPECT_EQ(j["message_body"], "beef000020010db8");
  EXPECT_EQ(icmpv6_from_json(j), bytes);
  json tiny = icmpv6_to_json(hex("86"));
  EXPECT_EQ(tiny["error"], (json{{"code", "truncated"}, {"offset", 1}}));
  EXPECT_EQ(tiny["icmp_type"], 134);
}

TEST(JsonIcmpv6, EncodeMinimalObjectsComputeLengths) {
  json j = {{"type", "mobile_prefix_advertisement"},
            {"identifier", 7},
            {"flags", {{"M", true}}},
            {"options",
             {{{"type", "prefix_information"},
               {"prefix_length", 64},
               {"flags", {{"R", true}}},
               {"prefix", "2001:db8:1::1"}}}}};
  EXPECT_EQ(wire::to_hex(icmpv6_from_json(j)),
            "930000000007800003044020000000000000000000000000"
            "20010db8000100000000000000000001");
  json lla = {
      {"type", "router_solicitation"},
      {"options",
       {{{"type", "source_link_layer_address"}, {"link_layer_address", "02:00:00:00:00:01"}}}}};
  EXPECT_EQ(wire::to_hex(icmpv6_from_json(lla)), "85000000000000000101020000000001");
}

TEST(JsonIcmpv6, ExplicitLengthAndChecksumAreVerbatim) {
  json j = {{"type", "router_solicitation"},
            {"checksum", 0x1234},
            {"options", {{{"type", "mtu"}, {"mtu", 1280}, {"length", 0}}}}};
  EXPECT_EQ(wire::to_hex(icmpv6_from_json(j)), "85001234000000000500000000000500");
}

TEST(JsonIcmpv6, EncodeErrorsNameTheKey) {
  EXPECT_EQ(error_of(json::array()), "icmpv6: expected an object");
  EXPECT_EQ(error_of({{"code", 0}}), "icmpv6.icmp_type: missing");
  EXPECT_EQ(error_of({{"type", "bogus"}}), "icmpv6.type: unknown type \"bogus\"");
  EXPECT_EQ(error_of({{"type", "dhaad_request"}, {"icmp_type", 145}}),
            "icmpv6.icmp_type: 145 does not match type \"dhaad_request\"");
  EXPECT_EQ(error_of({{"type", "dhaad_request"}, {"identifier", 70000}}),
            "icmpv6.identifier: 70000 is out of range");
  EXPECT_EQ(error_of({{"type", "dhaad_request"}, {"identifier", -1}}),
            "icmpv6.identifier: expected a non-negative integer");
  EXPECT_EQ(error_of({{"type", "dhaad_reply"}, {"home_agent_addresses", {"2001:db8::1", "x"}}}),
            "icmpv6.home_agent_addresses[1]: expected an IPv6 address");
  EXPECT_EQ(error_of({{"type", "neighbor_solicitation"}}), "icmpv6.target_address: missing");
  EXPECT_EQ(error_of({{"type", "router_advertisement"}, {"flags", {{"X", true}}}}),
            "icmpv6.flags.X: no such flag");
  EXPECT_EQ(error_of({{"type", "router_advertisement"}, {"flags", {{"H", 1}}}}),
            "icmpv6.flags.H: expected true or false");
  EXPECT_EQ(error_of({{"type", "router_advertisement"}, {"reserved", 32}}),
            "icmpv6.reserved: only the 5 low-order bits exist");
  EXPECT_EQ(error_of({{"type", "echo_request"}, {"data", "xyz"}}),
            "icmpv6.data: expected a hex string");
  EXPECT_EQ(error_of({{"type", "router_solicitation"}, {"options", 5}}),
            "icmpv6.options: expected an array");
  EXPECT_EQ(error_of({{"type", "router_solicitation"},
                      {"options", {{{"type", "mtu"}, {"mtu", 1}}, {{"type", "mtu"}}}}}),
            "icmpv6.options[1].mtu: missing");
  EXPECT_EQ(error_of({{"type", "router_solicitation"},
                      {"options",
                       {{{"type", "home_agent_information"}, {"home_agent_preference", 65536}}}}}),
            "icmpv6.options[0].home_agent_preference: 65536 is out of range");
  EXPECT_EQ(error_of({{"type", "router_solicitation"}, {"options", {{{"type", "nope"}}}}}),
            "icmpv6.options[0].type: unknown type \"nope\"");
}

// Every hex vector, valid or broken, survives bytes -> JSON -> bytes.
TEST(JsonIcmpv6, EveryHexVectorRoundTrips) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(MIPV6_VECTORS_DIR "/icmpv6")) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto bytes = wire::from_hex(text.str());
    ASSERT_TRUE(bytes) << entry.path();
    if (bytes->size() < 4) continue;  // no complete header to rebuild from
    json j = icmpv6_to_json(*bytes);
    EXPECT_EQ(wire::to_hex(icmpv6_from_json(j)), wire::to_hex(*bytes)) << entry.path() << j.dump();
    ++count;
  }
  EXPECT_GE(count, 20);
}

}  // namespace
}  // namespace mipv6::pcap_json
