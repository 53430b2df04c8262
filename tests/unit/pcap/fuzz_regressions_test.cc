// Inputs the fuzzers once broke (tests/vectors/fuzz/*.hex), replayed through the properties the
// fuzz targets check: a packet either reports an error (the one its "# expect:" line names) or
// encodes back from its JSON to the same bytes and the same JSON.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "json_codec.h"
#include "wire/hex.h"

namespace mipv6::pcap_json {
namespace {

struct Vector {
  std::string name;
  std::string expect;  // "ok" or "<code> <offset>"
  wire::Bytes bytes;
};

std::vector<Vector> load_vectors() {
  std::vector<Vector> out;
  for (const auto& entry : std::filesystem::directory_iterator(MIPV6_VECTORS_DIR "/fuzz")) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    Vector v{entry.path().filename().string(), "", {}};
    std::string line;
    std::istringstream lines(text.str());
    while (std::getline(lines, line))
      if (line.rfind("# expect: ", 0) == 0) v.expect = line.substr(10);
    auto bytes = wire::from_hex(text.str());
    EXPECT_TRUE(bytes.has_value()) << v.name;
    if (bytes) v.bytes = *bytes;
    out.push_back(std::move(v));
  }
  return out;
}

TEST(FuzzRegressions, EveryKeptInputHoldsTheRoundTripProperty) {
  auto vectors = load_vectors();
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    ASSERT_FALSE(v.expect.empty()) << "vector lacks an '# expect:' line";
    json decoded = packet_to_json(v.bytes);
    if (v.expect != "ok") {
      ASSERT_TRUE(decoded.contains("error"));
      std::string got = decoded["error"]["code"].get<std::string>() + " " +
                        std::to_string(decoded["error"]["offset"].get<std::size_t>());
      EXPECT_EQ(got, v.expect);
      continue;
    }
    ASSERT_FALSE(decoded.contains("error")) << decoded.dump();
    wire::Bytes rebuilt = packet_from_json(decoded);
    // Octets past the IPv6 Payload Length are link-layer padding, not part of the packet.
    ASSERT_GE(v.bytes.size(), 40u);
    std::size_t length = 40 + wire::load_be16(&v.bytes[4]);
    EXPECT_EQ(wire::to_hex(rebuilt), wire::to_hex(wire::ByteSpan(v.bytes).first(length)));
    EXPECT_EQ(packet_to_json(rebuilt), decoded);
  }
}

}  // namespace
}  // namespace mipv6::pcap_json
