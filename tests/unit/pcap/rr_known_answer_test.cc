// Return routability known answers (RFC 6275 §5.2, §6.2.7) from demo/registration.pcap, which
// scripts/make_demo_capture.py built with Python's hmac and hashlib — independently of
// src/core/return_routability.cc. The correspondent there used Kcn = 00 01 .. 13, home nonce
// 1111111111111111 (index 7) and care-of nonce 2222222222222222 (index 8).
#include <gtest/gtest.h>

#include <string>

#include "core/return_routability.h"
#include "pcap_file.h"
#include "wire/chain.h"
#include "wire/mobility.h"

namespace mipv6::core {
namespace {

const std::string kCapture = std::string(MIPV6_VECTORS_DIR) + "/../../demo/registration.pcap";
const wire::Ipv6Address kHoa = *wire::Ipv6Address::parse("2001:db8:1::100");
const wire::Ipv6Address kCoa = *wire::Ipv6Address::parse("2001:db8:2::ff:fe00:100");
const wire::Ipv6Address kCn = *wire::Ipv6Address::parse("2001:db8:3::10");
constexpr std::uint16_t kHomeNonceIndex = 7;
constexpr std::uint16_t kCareOfNonceIndex = 8;

NodeKey demo_kcn() {
  NodeKey k{};
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::byte>(i);
  return k;
}
Nonce nonce_of(std::uint8_t octet) {
  Nonce n{};
  n.fill(static_cast<std::byte>(octet));
  return n;
}

// One Mobility Header found in the capture, with the addresses of the IPv6 header around it
// (the innermost one, for tunnelled packets).
struct FoundMh {
  wire::Ipv6Header ipv6;
  wire::ByteSpan mh;
};

// Walks the chain of `packet`, descending into IPv6-in-IPv6, to the Mobility Header.
std::optional<FoundMh> find_mh(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  if (!layout) return std::nullopt;
  auto upper = packet.subspan(layout->upper_offset, layout->upper_length);
  if (layout->upper_protocol == wire::ip_proto::kIpv6) return find_mh(upper);
  if (layout->upper_protocol != wire::ip_proto::kMobility) return std::nullopt;
  return FoundMh{layout->ipv6, upper};
}

class RrKnownAnswer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    capture_ = pcap::read_capture(kCapture, error);
    ASSERT_TRUE(capture_.has_value()) << kCapture << ": " << error;
    ASSERT_GE(capture_->records.size(), 15u);
  }

  // Packet `number`, counted from 1 as Wireshark does.
  FoundMh mh_of_packet(std::size_t number) {
    std::string why;
    const auto& record = capture_->records.at(number - 1);
    auto ipv6 = pcap::ipv6_payload(capture_->link_type, record.data, why);
    EXPECT_TRUE(ipv6.has_value()) << why;
    if (!ipv6) return {};
    auto found = find_mh(*ipv6);
    EXPECT_TRUE(found.has_value()) << "no Mobility Header in packet " << number;
    return found.value_or(FoundMh{});
  }

  static wire::MobilityHeader decode(const FoundMh& found) {
    auto mh = wire::decode_mobility_header(found.mh);
    EXPECT_TRUE(mh.has_value());
    return mh ? *mh : wire::MobilityHeader{};
  }

  static Authenticator carried_authenticator(const wire::MobilityHeader& mh) {
    const auto* bad = wire::find_option<wire::BindingAuthorizationData>(mh);
    Authenticator out{};
    EXPECT_NE(bad, nullptr);
    if (bad == nullptr) return out;
    EXPECT_EQ(bad->authenticator.size(), out.size());
    std::copy_n(bad->authenticator.begin(), std::min(out.size(), bad->authenticator.size()),
                out.begin());
    return out;
  }

  static BindingKey demo_kbm() {
    return binding_management_key(home_keygen_token(demo_kcn(), kHoa, nonce_of(0x11)),
                                  care_of_keygen_token(demo_kcn(), kCoa, nonce_of(0x22)));
  }

  std::optional<pcap::Capture> capture_;
};

TEST_F(RrKnownAnswer, HomeTestTokenMatchesCapture_5_2_5) {
  const auto found = mh_of_packet(12);
  // The HoT reached the mobile node through the tunnel, addressed to its home address.
  EXPECT_EQ(found.ipv6.destination, kHoa);
  EXPECT_EQ(found.ipv6.source, kCn);
  const auto mh = decode(found);
  const auto* hot = wire::find_message<wire::HomeTest>(mh);
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(hot->home_nonce_index, kHomeNonceIndex);
  EXPECT_EQ(hot->home_keygen_token, home_keygen_token(demo_kcn(), kHoa, nonce_of(0x11)));
}

TEST_F(RrKnownAnswer, CareOfTestTokenMatchesCapture_5_2_6) {
  const auto found = mh_of_packet(13);
  EXPECT_EQ(found.ipv6.destination, kCoa);
  const auto mh = decode(found);
  const auto* cot = wire::find_message<wire::CareOfTest>(mh);
  ASSERT_NE(cot, nullptr);
  EXPECT_EQ(cot->care_of_nonce_index, kCareOfNonceIndex);
  EXPECT_EQ(cot->care_of_keygen_token, care_of_keygen_token(demo_kcn(), kCoa, nonce_of(0x22)));
}

TEST_F(RrKnownAnswer, BindingUpdateAuthenticatorMatchesCapture_6_2_7) {
  const auto found = mh_of_packet(14);
  EXPECT_EQ(found.ipv6.source, kCoa);
  EXPECT_EQ(found.ipv6.destination, kCn);
  const auto mh = decode(found);
  ASSERT_NE(wire::find_message<wire::BindingUpdate>(mh), nullptr);
  const auto* indices = wire::find_option<wire::NonceIndices>(mh);
  ASSERT_NE(indices, nullptr);
  EXPECT_EQ(indices->home_nonce_index, kHomeNonceIndex);
  EXPECT_EQ(indices->care_of_nonce_index, kCareOfNonceIndex);
  const auto input = wire::authenticator_input(found.mh);
  ASSERT_TRUE(input.has_value());
  // Mobility Data = care-of address | correspondent | MH Data.
  EXPECT_EQ(binding_authenticator(demo_kbm(), kCoa, kCn, *input), carried_authenticator(mh));
}

TEST_F(RrKnownAnswer, BindingAcknowledgementAuthenticatorMatchesCapture_6_2_7) {
  const auto found = mh_of_packet(15);
  EXPECT_EQ(found.ipv6.source, kCn);
  const auto mh = decode(found);
  ASSERT_NE(wire::find_message<wire::BindingAcknowledgement>(mh), nullptr);
  const auto input = wire::authenticator_input(found.mh);
  ASSERT_TRUE(input.has_value());
  // §5.2.6: the BA uses the same formula, MN's care-of address | correspondent | BA.
  EXPECT_EQ(binding_authenticator(demo_kbm(), kCoa, kCn, *input), carried_authenticator(mh));
}

TEST_F(RrKnownAnswer, AuthenticatorFailsWithWrongKey_5_2_5) {
  // The test can fail: the deletion key (home token only) does not authorize this BU.
  const auto found = mh_of_packet(14);
  const auto mh = decode(found);
  const auto input = wire::authenticator_input(found.mh);
  ASSERT_TRUE(input.has_value());
  const auto deletion_kbm =
      binding_management_key(home_keygen_token(demo_kcn(), kHoa, nonce_of(0x11)), std::nullopt);
  EXPECT_NE(binding_authenticator(deletion_kbm, kCoa, kCn, *input), carried_authenticator(mh));
}

}  // namespace
}  // namespace mipv6::core
