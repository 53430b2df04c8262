// mobility_to_json / mobility_from_json (docs/json.md, "Mobility Header").
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "json_codec.h"
#include "wire/hex.h"

namespace mipv6::pcap_json {
namespace {

using wire::Bytes;

Bytes hex(std::string_view text) {
  return *wire::from_hex(text);
}

std::string vector_text(const std::string& name) {
  std::ifstream file(std::string(MIPV6_VECTORS_DIR) + "/mobility/" + name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The JsonError message thrown by mobility_from_json, or "" if it did not throw.
std::string error_of(const json& j) {
  try {
    (void)mobility_from_json(j);
  } catch (const JsonError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonMobility, EveryValidVectorRoundTripsBytesJsonBytes) {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(MIPV6_VECTORS_DIR) + "/mobility")) {
    const std::string text = vector_text(entry.path().filename().string());
    if (text.find("# expect: ok") == std::string::npos) continue;
    SCOPED_TRACE(entry.path().filename().string());
    Bytes bytes = hex(text);
    json j = mobility_to_json(bytes);
    ASSERT_FALSE(j.contains("error")) << j.dump();
    Bytes again = mobility_from_json(j);
    EXPECT_EQ(wire::to_hex(again), wire::to_hex(bytes));
    EXPECT_EQ(mobility_to_json(again), j);
    ++count;
  }
  EXPECT_GE(count, 12);
}

TEST(JsonMobility, BindingUpdateShowsRfcNamedFields_6_1_7) {
  json j = mobility_to_json(hex(vector_text("bu_home_registration_altcoa.hex")));
  EXPECT_EQ(j["payload_proto"], 59);
  EXPECT_EQ(j["header_len"], 3);
  EXPECT_EQ(j["mh_type"], 5);
  EXPECT_EQ(j["type"], "binding_update");
  EXPECT_EQ(j["reserved"], 0);
  EXPECT_EQ(j["checksum"], 0);
  EXPECT_EQ(j["sequence_number"], 0x1234);
  EXPECT_EQ(j["flags"], (json{{"A", true}, {"H", true}, {"L", false}, {"K", false}}));
  EXPECT_EQ(j["reserved_flags"], 0);
  EXPECT_EQ(j["lifetime"], 150);
  EXPECT_EQ(j["lifetime_seconds"], 600);
  ASSERT_EQ(j["options"].size(), 2u);
  EXPECT_EQ(j["options"][0],
            (json{{"option_type", 1}, {"type", "padn"}, {"length", 0}, {"data", ""}}));
  EXPECT_EQ(j["options"][1], (json{{"option_type", 3},
                                   {"type", "alternate_care_of_address"},
                                   {"length", 16},
                                   {"alternate_care_of_address", "2001:db8:2::64"}}));
}

TEST(JsonMobility, BindingAckShowsStatusNameAndKFlag_6_1_8) {
  json j = mobility_to_json(hex("3b01 0600 0000 87 ff 0001 0002 0202 0001"));
  EXPECT_EQ(j["type"], "binding_acknowledgement");
  EXPECT_EQ(j["status"], 135);
  EXPECT_EQ(j["status_name"], "Sequence number out of window");
  EXPECT_EQ(j["flags"], (json{{"K", true}}));
  EXPECT_EQ(j["reserved_flags"], 0x7f);
  EXPECT_EQ(j["lifetime_seconds"], 8);
  EXPECT_EQ(j["options"][0]["refresh_interval_seconds"], 4);
}

struct Minimal {
  std::string name;
  json in;
  std::string wire;  // expected bytes
};

// Every message type built from JSON holding only the non-derived fields.
std::vector<Minimal> minimal_messages() {
  return {
      {"brr",
       {{"type", "binding_refresh_request"}, {"message_reserved", 0xbeef}},
       "3b0000000000beef"},
      {"hoti",
       {{"type", "home_test_init"}, {"home_init_cookie", "0102030405060708"}},
       "3b01010000000000"
       "0102030405060708"},
      {"coti",
       {{"type", "care_of_test_init"}, {"care_of_init_cookie", "1112131415161718"}},
       "3b01020000000000"
       "1112131415161718"},
      {"hot",
       {{"type", "home_test"},
        {"home_nonce_index", 7},
        {"home_init_cookie", "0102030405060708"},
        {"home_keygen_token", "a1a2a3a4a5a6a7a8"}},
       "3b02030000000007"
       "0102030405060708"
       "a1a2a3a4a5a6a7a8"},
      {"cot",
       {{"type", "care_of_test"},
        {"care_of_nonce_index", 8},
        {"care_of_init_cookie", "1112131415161718"},
        {"care_of_keygen_token", "b1b2b3b4b5b6b7b8"}},
       "3b02040000000008"
       "1112131415161718"
       "b1b2b3b4b5b6b7b8"},
      {"bu",
       {{"type", "binding_update"},
        {"sequence_number", 0x0101},
        {"lifetime", 105},
        {"options",
         json::array(
             {{{"type", "nonce_indices"}, {"home_nonce_index", 3}, {"care_of_nonce_index", 4}},
              {{"type", "binding_authorization_data"},
               {"authenticator", "00112233445566778899aabb"}}})}},
       "3b03050000000101"
       "00000069"
       "040400030004"
       "050c00112233445566778899aabb"},
      {"bu_flags",
       {{"type", "binding_update"},
        {"sequence_number", 1},
        {"lifetime", 2},
        {"flags", {{"A", true}, {"K", true}}},
        {"reserved_flags", 0x0abc}},
       "3b01050000000001"
       "9abc0002"
       "01020000"},
      {"ba",
       {{"type", "binding_acknowledgement"},
        {"status", 0},
        {"sequence_number", 0x1234},
        {"lifetime", 150},
        {"flags", {{"K", true}}},
        {"options",
         json::array({{{"type", "binding_refresh_advice"}, {"refresh_interval", 128}}})}},
       "3b01060000000080"
       "12340096"
       "02020080"},
      {"be",
       {{"type", "binding_error"}, {"status", 2}, {"home_address", "2001:db8:1::1"}},
       "3b02070000000200"
       "20010db8000100000000000000000001"},
      {"unknown",
       {{"type", "unknown"}, {"mh_type", 42}, {"message_data", "deadbeefcafe01020304"}},
       "3b012a0000000000"
       "deadbeefcafe01020304"
       ""},
      {"rfc4285",
       {{"mh_type", 5},
        {"sequence_number", 2},
        {"lifetime", 16},
        {"flags", {{"A", true}}},
        {"options",
         json::array(
             {{{"type", "mobile_node_identifier"}, {"subtype", 1}, {"identifier", "6d6e4078"}},
              {{"type", "mobility_message_replay_protection"},
               {"timestamp", 0xe8f1a2b380000000ull}},
              {{"type", "mobility_message_authentication"},
               {"subtype", 1},
               {"mobility_spi", 256},
               {"authentication_data", "00112233445566778899aabb"}}})}},
       ""},
  };
}

TEST(JsonMobility, EveryMessageTypeRoundTripsJsonBytesJson) {
  for (auto c : minimal_messages()) {
    SCOPED_TRACE(c.name);
    Bytes bytes = mobility_from_json(c.in);
    if (c.name == "unknown") c.wire = "3b012a000000deadbeefcafe01020304";
    if (c.name == "rfc4285") c.wire = wire::to_hex(hex(vector_text("bu_rfc4285_auth.hex")));
    EXPECT_EQ(wire::to_hex(bytes), c.wire);
    json out = mobility_to_json(bytes);
    ASSERT_FALSE(out.contains("error")) << out.dump();
    // Every key given comes back with the same value (options compared without padding).
    for (const auto& [key, value] : c.in.items()) {
      if (key == "options" || key == "flags") continue;
      EXPECT_EQ(out[key], value) << key;
    }
    // json -> bytes -> json -> bytes is stable.
    EXPECT_EQ(wire::to_hex(mobility_from_json(out)), wire::to_hex(bytes));
  }
}

TEST(JsonMobility, ExplicitPaddingIsEmittedAsGiven) {
  json j = {{"type", "binding_update"},
            {"sequence_number", 1},
            {"lifetime", 1},
            {"options", json::array({{{"type", "alternate_care_of_address"},
                                      {"alternate_care_of_address", "2001:db8::1"}},
                                     {{"type", "padn"}}})}};
  // Misaligned AltCoA at 12 followed by PadN(2): exactly as listed.
  EXPECT_EQ(wire::to_hex(mobility_from_json(j)),
            "3b030500000000010000000103102001"
            "0db8000000000000000000000001"
            "0100");
  EXPECT_EQ(mobility_to_json(mobility_from_json(j))["error"],
            (json{{"code", "misaligned_option"}, {"offset", 12}}));
}

TEST(JsonMobility, DerivedFieldsGivenAreUsedVerbatim) {
  json j = {{"type", "binding_update"},
            {"sequence_number", 1},
            {"lifetime", 1},
            {"header_len", 7},
            {"checksum", 0xabcd},
            {"payload_proto", 6},
            {"options", json::array({{{"type", "nonce_indices"},
                                      {"length", 16},
                                      {"home_nonce_index", 3},
                                      {"care_of_nonce_index", 4}}})}};
  // scapy 2.5.0's Nonce Indices bug (Length 16), built on purpose; auto-padding still applies.
  EXPECT_EQ(wire::to_hex(mobility_from_json(j)),
            "0607"
            "0500abcd"
            "000100000001"
            "041000030004"
            "010400000000");
}

TEST(JsonMobility, DecodeErrorShowsWhatDecodedBeforeIt) {
  json j = mobility_to_json(hex(vector_text("err_bad_not_last.hex")));
  EXPECT_EQ(j["error"], (json{{"code", "option_not_last"}, {"offset", 26}}));
  EXPECT_EQ(j["type"], "binding_update");
  ASSERT_EQ(j["options"].size(), 1u);
  EXPECT_EQ(j["options"][0]["type"], "binding_authorization_data");

  j = mobility_to_json(hex("3b00 0500 0000 0001"));
  EXPECT_EQ(j["error"], (json{{"code", "bad_length"}, {"offset", 1}}));
  EXPECT_EQ(j["header_len"], 0);
  EXPECT_FALSE(j.contains("options"));

  j = mobility_to_json(hex("3b01"));
  EXPECT_EQ(j, (json{{"error", {{"code", "truncated"}, {"offset", 2}}}}));
}

TEST(JsonMobility, UnknownOptionsAndTypesAreKeptRaw) {
  json j = mobility_to_json(hex(vector_text("bu_unknown_option.hex")));
  EXPECT_EQ(j["options"][0],
            (json{{"option_type", 0x63}, {"type", "unknown"}, {"length", 2}, {"data", "abcd"}}));
  j = mobility_to_json(hex(vector_text("unknown_mh_type.hex")));
  EXPECT_EQ(j["type"], "unknown");
  EXPECT_EQ(j["mh_type"], 42);
  EXPECT_EQ(j["message_data"], "deadbeefcafe01020304");
}

struct BadInput {
  std::string name;
  json in;
  std::string error;  // a substring of the JsonError message
};

TEST(JsonMobility, BadInputThrowsJsonErrorNamingTheKey) {
  const json bu = {{"type", "binding_update"}, {"sequence_number", 1}, {"lifetime", 1}};
  auto with = [&](const char* key, json value) {
    json j = bu;
    j[key] = std::move(value);
    return j;
  };
  auto without = [&](const char* key) {
    json j = bu;
    j.erase(key);
    return j;
  };
  auto option = [&](json o) { return with("options", json::array({std::move(o)})); };
  const std::vector<BadInput> cases = {
      {"not_object", json::array(), "mobility: expected an object"},
      {"missing_sequence_number", without("sequence_number"), "mobility.sequence_number: missing"},
      {"missing_lifetime", without("lifetime"), "mobility.lifetime: missing"},
      {"missing_type", without("type"), "mobility.mh_type: missing"},
      {"sequence_number_string", with("sequence_number", "1"),
       "mobility.sequence_number: expected an unsigned integer"},
      {"sequence_number_too_big", with("sequence_number", 65536),
       "mobility.sequence_number: out of range"},
      {"lifetime_negative", with("lifetime", -1), "mobility.lifetime: expected an unsigned"},
      {"lifetime_float", with("lifetime", 1.5), "mobility.lifetime: expected an unsigned"},
      {"reserved_flags_over_12_bits", with("reserved_flags", 0x1000),
       "mobility.reserved_flags: out of range"},
      {"flag_not_bool", with("flags", {{"A", 1}}), "mobility.flags.A: expected a boolean"},
      {"unknown_type_name", with("type", "binding_updat"), "mobility.type: unknown type"},
      {"type_mismatch", with("mh_type", 6), "mobility.mh_type: does not match"},
      {"options_not_array", with("options", 3), "mobility.options: expected an array"},
      {"option_missing_field", option({{"type", "alternate_care_of_address"}}),
       "mobility.options[0].alternate_care_of_address: missing"},
      {"option_bad_address",
       option(
           {{"type", "alternate_care_of_address"}, {"alternate_care_of_address", "2001:db8::g"}}),
       "mobility.options[0].alternate_care_of_address: expected an IPv6 address"},
      {"option_bad_hex", option({{"type", "binding_authorization_data"}, {"authenticator", "xyz"}}),
       "mobility.options[0].authenticator: expected a hex string"},
      {"option_ni_out_of_range",
       option({{"type", "nonce_indices"}, {"home_nonce_index", 70000}, {"care_of_nonce_index", 1}}),
       "mobility.options[0].home_nonce_index: out of range"},
      {"pad1_with_length", option({{"type", "pad1"}, {"length", 3}}),
       "mobility.options[0].length: Pad1 has no length"},
      {"option_length_too_big",
       option({{"type", "nonce_indices"},
               {"home_nonce_index", 1},
               {"care_of_nonce_index", 1},
               {"length", 256}}),
       "mobility.options[0].length: out of range"},
      {"option_data_too_long",
       option({{"type", "unknown"}, {"option_type", 99}, {"data", std::string(512, 'a')}}),
       "mobility: cannot encode (bad_length"},
      {"cookie_short", json{{"type", "home_test_init"}, {"home_init_cookie", "0102"}},
       "mobility.home_init_cookie: expected 16 hex digits"},
      {"be_missing_home_address", json{{"type", "binding_error"}, {"status", 1}},
       "mobility.home_address: missing"},
      {"ba_missing_status",
       json{{"type", "binding_acknowledgement"}, {"sequence_number", 1}, {"lifetime", 1}},
       "mobility.status: missing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string error = error_of(c.in);
    EXPECT_NE(error.find(c.error), std::string::npos) << "got: '" << error << "'";
  }
}

}  // namespace
}  // namespace mipv6::pcap_json
