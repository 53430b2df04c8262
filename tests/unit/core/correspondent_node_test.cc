// The correspondent node driven like RFC 6275 §9 describes it: the test plays the mobile node
// (HoTI/CoTI, Kbm from the HoT/CoT tokens, authenticated BUs), feeds packets, decodes what the
// engine transmits and advances time by arithmetic.
#include "core/correspondent_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include "core/constants.h"
#include "crypto/crypto.h"
#include "test_shuttle.h"
#include "wire/extension_headers.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using shuttle::actions_of;
using shuttle::log_lines;
using shuttle::Sent;
using shuttle::sent_packets;
using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kCoa = addr("2001:db8:2::100");
const Ipv6Address kCoa2 = addr("2001:db8:4::100");
const Ipv6Address kCn = addr("2001:db8:3::10");
const Ipv6Address kRouter = addr("2001:db8:9::1");

// What a mobile node holds after the return routability procedure (§5.2.5).
struct Tokens {
  std::uint16_t home_index = 0;
  std::uint16_t care_of_index = 0;
  KeygenToken home_token = 0;
  KeygenToken care_of_token = 0;
};

// A Binding Update as a mobile node builds it (§6.1.7, §11.7.2).
struct BuSpec {
  Ipv6Address home = kHoa;
  Ipv6Address care_of = kCoa;  // the IPv6 source when away
  std::optional<Ipv6Address> alternate;
  bool home_address_option = true;  // false: sent from the home address (returning home)
  std::uint16_t seq = 7;
  std::uint16_t lifetime = 100;  // 4-second units: 400 s
  std::uint16_t flags = wire::kBuFlagA;
  Tokens tokens;
  bool nonce_indices = true;
  bool authorization = true;
  bool corrupt_authenticator = false;
};

BindingKey kbm_for(const Tokens& tokens, bool deletion) {
  if (deletion) return binding_management_key(tokens.home_token, std::nullopt);
  return binding_management_key(tokens.home_token, tokens.care_of_token);
}

Ipv6Address source_of(const BuSpec& spec) {
  return spec.home_address_option ? spec.care_of : spec.home;
}

// §6.2.7: the care-of address in the authenticator: the registered one, or the home address
// for a deletion.
Ipv6Address authenticated_care_of(const BuSpec& spec) {
  if (spec.lifetime == 0) return spec.home;
  return spec.alternate.value_or(source_of(spec));
}

wire::MobilityHeader bu_header(const BuSpec& spec) {
  wire::MobilityHeader mh;
  wire::BindingUpdate update;
  update.sequence_number = spec.seq;
  update.flags = spec.flags;
  update.lifetime = spec.lifetime;
  mh.message = update;
  if (spec.alternate) mh.options.emplace_back(wire::AlternateCareOfAddress{*spec.alternate});
  if (spec.nonce_indices)
    mh.options.emplace_back(wire::NonceIndices{spec.tokens.home_index, spec.tokens.care_of_index});
  if (!spec.authorization) return mh;
  mh.options.emplace_back(wire::BindingAuthorizationData{wire::Bytes(12)});
  wire::Bytes encoded;
  EXPECT_TRUE(wire::encode_mobility_header(mh, encoded));
  auto input = wire::authenticator_input(encoded);
  EXPECT_TRUE(input.has_value());
  auto mac = binding_authenticator(kbm_for(spec.tokens, spec.lifetime == 0),
                                   authenticated_care_of(spec), kCn, *input);
  if (spec.corrupt_authenticator) mac[0] ^= std::byte{1};
  std::get<wire::BindingAuthorizationData>(mh.options.back())
      .authenticator.assign(mac.begin(), mac.end());
  return mh;
}

wire::Bytes bu_packet(const BuSpec& spec) {
  std::optional<Ipv6Address> hao;
  if (spec.home_address_option) hao = spec.home;
  return build_mobility_packet({source_of(spec), kCn, hao, std::nullopt, 64}, bu_header(spec));
}

wire::Bytes hoti_packet(const Ipv6Address& home, std::uint64_t cookie,
                        std::optional<Ipv6Address> hao = std::nullopt) {
  wire::MobilityHeader mh;
  mh.message = wire::HomeTestInit{0, cookie};
  return build_mobility_packet({home, kCn, hao, std::nullopt, 64}, mh);
}

wire::Bytes coti_packet(const Ipv6Address& care_of, std::uint64_t cookie,
                        std::optional<Ipv6Address> hao = std::nullopt) {
  wire::MobilityHeader mh;
  mh.message = wire::CareOfTestInit{0, cookie};
  return build_mobility_packet({care_of, kCn, hao, std::nullopt, 64}, mh);
}

// A UDP packet from the care-of address with a Home Address option (§9.3.1, §11.3.1).
wire::Bytes hao_udp_packet(const Ipv6Address& source, const Ipv6Address& home) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = kCn;
  spec.extension_headers.push_back(wire::make_home_address_destination_options(home));
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = wire::Bytes(12);
  spec.upper[1] = std::byte{7};
  spec.upper[3] = std::byte{9};
  spec.upper[5] = std::byte{12};
  return wire::build_packet(spec);
}

// Rewrites one octet of the Mobility Header and repairs the checksum, so that the §9.2 check
// after the checksum is the one that fails.
wire::Bytes with_mh_octet(wire::Bytes bytes, std::size_t offset, std::uint8_t value) {
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + offset] = static_cast<std::byte>(value);
  EXPECT_TRUE(wire::fill_upper_checksum(bytes));
  return bytes;
}

// The BA's authenticator (§5.2.6: care-of address | correspondent | BA) recomputed by the MN.
bool ba_authenticator_verifies(const Sent& sent, const BindingKey& kbm,
                               const Ipv6Address& care_of) {
  const auto* data = wire::find_option<wire::BindingAuthorizationData>(*sent.mh);
  if (!data) return false;
  auto input = wire::authenticator_input(sent.upper());
  if (!input) return false;
  auto expected = binding_authenticator(kbm, care_of, kCn, *input);
  return crypto::equal_constant_time(expected, data->authenticator);
}

class CorrespondentNodeTest : public ::testing::Test {
 protected:
  CorrespondentNodeTest() { reset(); }

  void reset() {
    config_.addresses = {kCn};
    cn_ = std::make_unique<CorrespondentNode>(config_, rng_, now_);
  }

  std::vector<Action> feed(const wire::Bytes& bytes) { return shuttle::feed(*cn_, bytes, now_); }
  std::vector<Sent> feed_sent(const wire::Bytes& bytes) { return sent_packets(feed(bytes)); }

  // Feeds one packet and expects exactly one transmitted packet back.
  Sent feed_one(const wire::Bytes& bytes) {
    auto sent = feed_sent(bytes);
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? Sent{} : sent.front();
  }

  wire::HomeTest home_test(const Ipv6Address& home, std::uint64_t cookie = 0x1111) {
    auto sent = feed_one(hoti_packet(home, cookie));
    const auto* hot = sent.message<wire::HomeTest>();
    EXPECT_NE(hot, nullptr);
    return hot ? *hot : wire::HomeTest{};
  }
  wire::CareOfTest care_of_test(const Ipv6Address& care_of, std::uint64_t cookie = 0x2222) {
    auto sent = feed_one(coti_packet(care_of, cookie));
    const auto* cot = sent.message<wire::CareOfTest>();
    EXPECT_NE(cot, nullptr);
    return cot ? *cot : wire::CareOfTest{};
  }
  Tokens return_routability(const Ipv6Address& home = kHoa, const Ipv6Address& care_of = kCoa) {
    auto hot = home_test(home);
    auto cot = care_of_test(care_of);
    return {hot.home_nonce_index, cot.care_of_nonce_index, hot.home_keygen_token,
            cot.care_of_keygen_token};
  }

  // Registers kHoa -> kCoa (seq, lifetime) and returns the spec used, tokens included.
  BuSpec register_binding(std::uint16_t seq = 7, std::uint16_t lifetime = 100) {
    BuSpec spec;
    spec.tokens = return_routability(spec.home, spec.care_of);
    spec.seq = seq;
    spec.lifetime = lifetime;
    auto sent = feed_one(bu_packet(spec));
    const auto* ba = sent.message<wire::BindingAcknowledgement>();
    EXPECT_TRUE(ba && ba->status == wire::kBaStatusAccepted);
    return spec;
  }

  const BindingCacheEntry* entry(const Ipv6Address& home = kHoa) {
    return std::as_const(*cn_).cache().find(home);
  }
  const CorrespondentNodeCounters& counters() const { return cn_->counters(); }

  CorrespondentNodeConfig config_;
  SplitMix64 rng_{2024};
  TimePoint now_ = TimePoint{} + 3600s;
  std::unique_ptr<CorrespondentNode> cn_;
};

// ---------------------------------------------------------------------------------------------
// §9.4 return routability responder

TEST_F(CorrespondentNodeTest, HotCarriesNonceIndexCookieAndHomeToken_9_4_3) {
  auto sent = feed_one(hoti_packet(kHoa, 0xabcdef0123456789));
  ASSERT_NE(sent.message<wire::HomeTest>(), nullptr);
  const auto& hot = *sent.message<wire::HomeTest>();
  EXPECT_EQ(sent.layout.ipv6.source, kCn);
  EXPECT_EQ(sent.layout.ipv6.destination, kHoa);  // §9.4.3: to the home address
  EXPECT_FALSE(sent.layout.type2_address);
  EXPECT_FALSE(sent.layout.home_address);
  EXPECT_TRUE(sent.checksum_valid);
  EXPECT_EQ(hot.home_init_cookie, 0xabcdef0123456789u);
  // A second HoTI within the rotation interval gets the same nonce and token (§5.2.7).
  auto again = feed_one(hoti_packet(kHoa, 1));
  EXPECT_EQ(again.message<wire::HomeTest>()->home_nonce_index, hot.home_nonce_index);
  EXPECT_EQ(again.message<wire::HomeTest>()->home_keygen_token, hot.home_keygen_token);
  EXPECT_EQ(counters().hot_sent, 2u);
}

TEST_F(CorrespondentNodeTest, CotCarriesCareOfTokenDifferentFromHomeToken_9_4_4) {
  auto hot = home_test(kHoa);
  auto sent = feed_one(coti_packet(kHoa, 0x77));
  const auto* cot = sent.message<wire::CareOfTest>();
  ASSERT_NE(cot, nullptr);
  EXPECT_EQ(sent.layout.ipv6.destination, kHoa);
  EXPECT_EQ(cot->care_of_init_cookie, 0x77u);
  EXPECT_EQ(cot->care_of_nonce_index, hot.home_nonce_index);
  // §5.2.5/§5.2.6: the trailing 0 / 1 octet separates the two tokens for the same address.
  EXPECT_NE(cot->care_of_keygen_token, hot.home_keygen_token);
}

TEST_F(CorrespondentNodeTest, NonceIndexRotatesEveryThirtySeconds_5_2_7) {
  auto first = home_test(kHoa);
  now_ += 30s;
  auto second = home_test(kHoa);
  EXPECT_EQ(second.home_nonce_index, static_cast<std::uint16_t>(first.home_nonce_index + 1));
  EXPECT_NE(second.home_keygen_token, first.home_keygen_token);
}

TEST_F(CorrespondentNodeTest, HotiWithHomeAddressOptionIsSilentlyIgnored_9_4_1) {
  auto actions = feed(hoti_packet(kCoa, 1, kHoa));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_EQ(counters().hoti_with_hao_ignored, 1u);
}

TEST_F(CorrespondentNodeTest, CotiWithHomeAddressOptionIsSilentlyIgnored_9_4_2) {
  auto actions = feed(coti_packet(kCoa, 1, kHoa));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_EQ(counters().coti_with_hao_ignored, 1u);
}

TEST_F(CorrespondentNodeTest, ReturnRoutabilityCreatesNoState_5_2_5) {
  // 50 CoTIs from one care-of address at one instant: above the per-source flood limit.
  config_.test_init_rate_per_source = {100.0, 100.0};
  reset();
  for (int i = 0; i < 50; ++i) {
    auto home = kHoa;
    home.bytes[15] = static_cast<std::uint8_t>(i);
    return_routability(home, kCoa);
  }
  EXPECT_EQ(cn_->cache().size(), 0u);
  EXPECT_FALSE(cn_->next_deadline().has_value());
}

// ---------------------------------------------------------------------------------------------
// §9.5.1 - §9.5.4 Binding Updates and Acknowledgements

TEST_F(CorrespondentNodeTest, ReturnRoutabilityThenBindingUpdateHappyPath_5_2_6) {
  BuSpec spec;
  spec.tokens = return_routability();
  auto actions = feed(bu_packet(spec));
  auto sent = sent_packets(actions);
  ASSERT_EQ(sent.size(), 1u);
  const auto* ba = sent[0].message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusAccepted);
  EXPECT_EQ(ba->sequence_number, 7);
  EXPECT_EQ(ba->lifetime, 100);
  EXPECT_FALSE(ba->k());  // §6.1.8: a correspondent clears K
  // §9.5.4: to the care-of address (the BU's source) with a Type 2 Routing header -> HoA.
  EXPECT_EQ(sent[0].layout.ipv6.source, kCn);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kCoa);
  ASSERT_TRUE(sent[0].layout.type2_address);
  EXPECT_EQ(*sent[0].layout.type2_address, kHoa);
  EXPECT_EQ(sent[0].layout.type2_segments_left, 1);
  EXPECT_TRUE(sent[0].checksum_valid);
  // §5.2.6: the MN verifies the BA with the Kbm it computed from its tokens.
  EXPECT_TRUE(ba_authenticator_verifies(sent[0], kbm_for(spec.tokens, false), kCoa));
  auto routes = actions_of<BindingRoute>(actions);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kAdd);
  EXPECT_EQ(routes[0].home_address, kHoa);
  EXPECT_EQ(routes[0].care_of_address, kCoa);
  ASSERT_NE(entry(), nullptr);
  EXPECT_EQ(entry()->care_of_address, kCoa);
  EXPECT_EQ(entry()->sequence_number, 7);
  EXPECT_EQ(entry()->expires, now_ + 400s);
  EXPECT_EQ(counters().bu_accepted, 1u);
  EXPECT_EQ(counters().bindings_created, 1u);
}

TEST_F(CorrespondentNodeTest, LogLineSaysWhatHappenedAndWhy) {
  BuSpec spec;
  spec.tokens = return_routability();
  auto lines = log_lines(feed(bu_packet(spec)));
  EXPECT_TRUE(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
    return line.starts_with(
        "BU from 2001:db8:1::100 CoA 2001:db8:2::100 seq 7 lifetime 400s -> BA status 0 "
        "(Binding Update accepted)");
  })) << (lines.empty() ? "" : lines.front());
}

TEST_F(CorrespondentNodeTest, AcceptedWithoutAckBitSendsNoBa_9_5_4) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.flags = 0;
  auto actions = feed(bu_packet(spec));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_EQ(actions_of<BindingRoute>(actions).size(), 1u);
  EXPECT_NE(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, RefreshWithSameCareOfKeepsRouteAndMovesExpiry_9_5_2) {
  auto spec = register_binding(7);
  now_ += 100s;
  spec.seq = 8;
  auto actions = feed(bu_packet(spec));
  EXPECT_TRUE(actions_of<BindingRoute>(actions).empty());  // nothing to change on the data plane
  EXPECT_EQ(entry()->expires, now_ + 400s);
  EXPECT_EQ(counters().bindings_updated, 1u);
}

TEST_F(CorrespondentNodeTest, MovingToANewCareOfAddressUpdatesTheRoute_9_5_2) {
  auto spec = register_binding(7);
  spec.care_of = kCoa2;
  spec.tokens.care_of_token = care_of_test(kCoa2).care_of_keygen_token;  // new CoT only (§5.2.7)
  spec.seq = 8;
  auto actions = feed(bu_packet(spec));
  auto routes = actions_of<BindingRoute>(actions);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].care_of_address, kCoa2);
  EXPECT_EQ(entry()->care_of_address, kCoa2);
}

TEST_F(CorrespondentNodeTest, LifetimeClampedToMaxRrBindingLifetime_5_2_6) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.lifetime = 1000;  // 4000 s requested
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->lifetime, 105);  // 420 s
  EXPECT_EQ(entry()->expires, now_ + kMaxRrBindingLifetime);
}

TEST_F(CorrespondentNodeTest, AlternateCareOfAddressUsedForTokensAndBinding_9_5_1) {
  BuSpec spec;
  spec.alternate = kCoa2;
  spec.tokens = return_routability(kHoa, kCoa2);  // CoTI from the alternate address (§5.2.6)
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status, wire::kBaStatusAccepted);
  EXPECT_EQ(sent.layout.ipv6.destination, kCoa);  // §9.5.4: still to the BU's source
  EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(spec.tokens, false), kCoa2));
  EXPECT_EQ(entry()->care_of_address, kCoa2);
}

TEST_F(CorrespondentNodeTest, CareOfTokenForSourceInsteadOfAlternateIsDropped_9_5_1) {
  BuSpec spec;
  spec.alternate = kCoa2;
  spec.tokens = return_routability(kHoa, kCoa);  // tested the wrong address
  auto actions = feed(bu_packet(spec));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_EQ(counters().bu_bad_authenticator, 1u);
}

// RFC 6275 §9.5.1's example: last accepted 15; 0-15 and 32783-65535 are not newer.
TEST_F(CorrespondentNodeTest, SequenceWindowMatrix_9_5_1) {
  struct Case {
    std::uint16_t last;
    std::uint16_t received;
    bool accepted;
  };
  const Case cases[] = {{15, 16, true},        {15, 32782, true}, {15, 32783, false},
                        {15, 15, false},       {15, 14, false},   {15, 0, false},
                        {15, 65535, false},    {65535, 0, true},  {65535, 32766, true},
                        {65535, 32767, false}, {0, 65535, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.last) + " -> " + std::to_string(c.received));
    reset();
    auto spec = register_binding(c.last);
    spec.seq = c.received;
    auto sent = feed_one(bu_packet(spec));
    const auto* ba = sent.message<wire::BindingAcknowledgement>();
    ASSERT_NE(ba, nullptr);
    if (c.accepted) {
      EXPECT_EQ(ba->status, wire::kBaStatusAccepted);
      EXPECT_EQ(ba->sequence_number, c.received);
      EXPECT_EQ(entry()->sequence_number, c.received);
    } else {
      // §9.5.1: 135 carrying the last accepted sequence number, authenticated (§9.5.4).
      EXPECT_EQ(ba->status, wire::kBaStatusSequenceNumberOutOfWindow);
      EXPECT_EQ(ba->sequence_number, c.last);
      EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(spec.tokens, false), kCoa));
      EXPECT_EQ(entry()->sequence_number, c.last);
    }
  }
}

TEST_F(CorrespondentNodeTest, SeqNotNewerGets135EvenWithoutAckBit_9_5_4) {
  auto spec = register_binding(15);
  spec.flags = 0;
  spec.seq = 15;
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->sequence_number, 15);
  EXPECT_EQ(counters().bu_sequence_out_of_window, 1u);
}

TEST_F(CorrespondentNodeTest, UnknownHomeNonceIndexGets136WithoutAuthorizationData_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.tokens.home_index = static_cast<std::uint16_t>(spec.tokens.home_index + 100);
  spec.flags = 0;  // sent even without A (§9.5.4)
  auto sent = feed_one(bu_packet(spec));
  const auto* ba = sent.message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusExpiredHomeNonceIndex);
  EXPECT_EQ(ba->sequence_number, 7);
  EXPECT_EQ(wire::find_option<wire::BindingAuthorizationData>(*sent.mh), nullptr);
  EXPECT_EQ(sent.layout.ipv6.destination, kCoa);
  EXPECT_EQ(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, UnknownCareOfNonceIndexGets137_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.tokens.care_of_index = static_cast<std::uint16_t>(spec.tokens.care_of_index - 1);
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusExpiredCareOfNonceIndex);
  EXPECT_EQ(wire::find_option<wire::BindingAuthorizationData>(*sent.mh), nullptr);
}

TEST_F(CorrespondentNodeTest, BothNonceIndicesUnknownGets138_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.tokens.home_index = static_cast<std::uint16_t>(spec.tokens.home_index + 9);
  spec.tokens.care_of_index = static_cast<std::uint16_t>(spec.tokens.care_of_index + 9);
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status, wire::kBaStatusExpiredNonces);
  EXPECT_EQ(counters().bu_expired_nonces, 1u);
}

TEST_F(CorrespondentNodeTest, NonceExpiresMaxNonceLifetimeAfterFirstUse_5_2_7) {
  BuSpec spec;
  spec.tokens = return_routability();
  now_ += kMaxNonceLifetime + 1s;
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status, wire::kBaStatusExpiredNonces);
}

TEST_F(CorrespondentNodeTest, TokensStillAcceptedAtMaxTokenLifetime_5_2_7) {
  BuSpec spec;
  spec.tokens = return_routability();
  now_ += kMaxTokenLifetime;
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status, wire::kBaStatusAccepted);
}

TEST_F(CorrespondentNodeTest, WrongAuthenticatorIsSilentlyDropped_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.corrupt_authenticator = true;
  auto actions = feed(bu_packet(spec));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_TRUE(actions_of<BindingRoute>(actions).empty());
  EXPECT_EQ(counters().bu_bad_authenticator, 1u);
  EXPECT_EQ(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, WrongAuthenticatorWithStaleSequenceRevealsNothing_9_5_1) {
  auto spec = register_binding(15);
  spec.seq = 3;
  spec.corrupt_authenticator = true;
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_sequence_out_of_window, 0u);
}

TEST_F(CorrespondentNodeTest, MissingAuthorizationDataIsSilentlyDropped_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.authorization = false;
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_missing_authorization, 1u);
}

TEST_F(CorrespondentNodeTest, MissingNonceIndicesIsSilentlyDropped_9_5_1) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.nonce_indices = false;
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_missing_nonce_indices, 1u);
}

TEST_F(CorrespondentNodeTest, AuthorizationDataNotLastIsDropped_6_2_7) {
  BuSpec spec;
  spec.tokens = return_routability();
  auto mh = bu_header(spec);
  // Move the Nonce Indices after the (otherwise valid) Binding Authorization Data.
  std::rotate(mh.options.begin(), mh.options.begin() + 1, mh.options.end());
  auto actions = feed(build_mobility_packet({kCoa, kCn, kHoa, std::nullopt, 64}, mh));
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_EQ(counters().mh_malformed, 1u);
  EXPECT_EQ(counters().bu_accepted, 0u);
}

TEST_F(CorrespondentNodeTest, HomeAddressNotUnicastRoutableIsDropped_9_5_1) {
  BuSpec spec;
  spec.home = addr("fe80::1");
  spec.tokens = return_routability(kHoa, kCoa);
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_home_address_not_routable, 1u);
}

TEST_F(CorrespondentNodeTest, CareOfNotUnicastRoutableIsSilentlyDropped_6_1_7) {
  BuSpec spec;
  spec.alternate = addr("fe80::2");
  spec.tokens = return_routability(kHoa, kCoa);  // dropped before the tokens matter
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_care_of_not_routable, 1u);
}

TEST_F(CorrespondentNodeTest, CareOfEqualToHomeAddressGets174_9_5_1) {
  BuSpec spec;
  spec.alternate = kHoa;
  spec.tokens = return_routability(kHoa, kHoa);
  spec.flags = 0;  // "respond with" 174 regardless of A
  auto sent = feed_one(bu_packet(spec));
  const auto* ba = sent.message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusInvalidCareOfAddress);
  EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(spec.tokens, false), kHoa));
  EXPECT_EQ(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, HomeRegistrationAtCorrespondentGets131_10_3_1) {
  BuSpec spec;
  spec.flags = wire::kBuFlagH;  // no A: 131 is sent anyway (§10.3.1 "MUST also return")
  spec.nonce_indices = false;
  spec.authorization = false;
  auto sent = feed_one(bu_packet(spec));
  const auto* ba = sent.message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusHomeRegistrationNotSupported);
  EXPECT_EQ(ba->sequence_number, 7);
  EXPECT_EQ(wire::find_option<wire::BindingAuthorizationData>(*sent.mh), nullptr);
  ASSERT_TRUE(sent.layout.type2_address);
  EXPECT_EQ(*sent.layout.type2_address, kHoa);
  EXPECT_EQ(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, HomeRegistrationWithNonceIndicesIsDropped_9_5_1) {
  BuSpec spec;
  spec.flags = wire::kBuFlagH | wire::kBuFlagA;
  spec.authorization = false;
  EXPECT_TRUE(actions_of<Transmit>(feed(bu_packet(spec))).empty());
  EXPECT_EQ(counters().bu_nonce_indices_with_h, 1u);
}

TEST_F(CorrespondentNodeTest, HomeRegistrationOverRrBindingGets139_9_5_1) {
  register_binding(7);
  BuSpec spec;
  spec.flags = wire::kBuFlagH | wire::kBuFlagA;
  spec.seq = 8;
  spec.care_of = kCoa2;
  spec.nonce_indices = false;
  spec.authorization = false;
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusRegistrationTypeChangeDisallowed);
  // The entry and its flag are unchanged.
  EXPECT_FALSE(entry()->home_registration);
  EXPECT_EQ(entry()->care_of_address, kCoa);
  EXPECT_EQ(entry()->sequence_number, 7);
}

TEST_F(CorrespondentNodeTest, RrBindingUpdateOverHomeRegistrationGets139_9_5_1) {
  auto inserted = cn_->cache().find_or_insert(kHoa, now_);
  ASSERT_NE(inserted.entry, nullptr);
  inserted.entry->home_registration = true;
  inserted.entry->care_of_address = kCoa2;
  inserted.entry->expires = now_ + 1000s;
  inserted.entry->sequence_number = 3;
  BuSpec spec;
  spec.tokens = return_routability();
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusRegistrationTypeChangeDisallowed);
  EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(spec.tokens, false), kCoa));
  EXPECT_TRUE(entry()->home_registration);
  EXPECT_EQ(entry()->care_of_address, kCoa2);
}

// ---------------------------------------------------------------------------------------------
// §9.5.3 deletion and §5.2.8 replay protection

TEST_F(CorrespondentNodeTest, DeregistrationNeedsOnlyTheHomeToken_5_2_5) {
  register_binding(7);
  // Returning home: from the home address, no HAO, only HoTI/HoT, care-of index ignored.
  BuSpec deletion;
  deletion.home_address_option = false;
  deletion.seq = 8;
  deletion.lifetime = 0;
  deletion.tokens.home_index = home_test(kHoa).home_nonce_index;
  deletion.tokens.home_token = home_test(kHoa).home_keygen_token;
  deletion.tokens.care_of_index = 0xdead;  // §11.7.2: SHOULD be 0; ignored either way
  deletion.tokens.care_of_token = 0;
  auto actions = feed(bu_packet(deletion));
  auto sent = sent_packets(actions);
  ASSERT_EQ(sent.size(), 1u);
  const auto* ba = sent[0].message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusAccepted);
  EXPECT_EQ(ba->lifetime, 0);
  // §9.5.4: the BU came from the home address: the BA goes there with no routing header.
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHoa);
  EXPECT_FALSE(sent[0].layout.type2_address);
  EXPECT_TRUE(ba_authenticator_verifies(sent[0], kbm_for(deletion.tokens, true), kHoa));
  auto routes = actions_of<BindingRoute>(actions);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(counters().bindings_deleted, 1u);
}

TEST_F(CorrespondentNodeTest, DeregistrationWhileAwayUsesHomeAddressInAuthenticator_6_2_7) {
  auto spec = register_binding(7);
  spec.seq = 8;
  spec.lifetime = 0;
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status, wire::kBaStatusAccepted);
  EXPECT_EQ(sent.layout.ipv6.destination, kCoa);
  EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(spec.tokens, true), kHoa));
  EXPECT_EQ(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, DeletionWithoutBindingCreatesNone_9_5_3) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.lifetime = 0;
  auto actions = feed(bu_packet(spec));
  EXPECT_TRUE(actions_of<BindingRoute>(actions).empty());
  EXPECT_EQ(cn_->cache().size(), 0u);
  EXPECT_EQ(counters().bu_deletions, 1u);
}

TEST_F(CorrespondentNodeTest, ReplayedDeregistrationIsRejected_9_5_3) {
  auto spec = register_binding(7);
  spec.seq = 8;
  spec.lifetime = 0;
  auto deletion = bu_packet(spec);
  feed(deletion);
  ASSERT_EQ(entry(), nullptr);
  now_ += 10s;
  auto sent = feed_one(deletion);
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->sequence_number, 8);
}

TEST_F(CorrespondentNodeTest, ReplayedRegistrationAfterDeletionIsRejected_5_2_8) {
  auto spec = register_binding(7);
  auto registration = bu_packet(spec);
  spec.seq = 8;
  spec.lifetime = 0;
  feed(bu_packet(spec));
  auto actions = feed(registration);  // an attacker replays the earlier BU
  EXPECT_TRUE(actions_of<BindingRoute>(actions).empty());
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(counters().bu_sequence_out_of_window, 1u);
}

TEST_F(CorrespondentNodeTest, ReplayAfterExpiryIsRejectedUntilTheNoncesAreTooOld_5_2_8) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.lifetime = 2;  // 8 s
  auto registration = bu_packet(spec);
  feed(registration);
  now_ += 9s;
  cn_->on_timeout(now_);
  cn_->take_actions();
  ASSERT_EQ(entry(), nullptr);
  auto sent = feed_one(registration);
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(entry(), nullptr);
  // Once every nonce that could have signed it is too old, the guard goes: fresh tokens and
  // any sequence number are accepted again (no entry, §9.5.1).
  now_ += kMaxNonceLifetime + 1s;
  cn_->on_timeout(now_);
  cn_->take_actions();
  spec.tokens = return_routability();
  feed(bu_packet(spec));
  EXPECT_NE(entry(), nullptr);
}

TEST_F(CorrespondentNodeTest, FullCacheEvictsLeastRecentlyUsedAndGuardsIt_9_6) {
  config_.max_bindings = 2;
  reset();
  const Ipv6Address homes[] = {addr("2001:db8:1::1"), addr("2001:db8:1::2"), addr("2001:db8:1::3")};
  std::vector<wire::Bytes> registrations;
  for (const auto& home : homes) {
    BuSpec spec;
    spec.home = home;
    spec.tokens = return_routability(home, kCoa);
    registrations.push_back(bu_packet(spec));
  }
  feed(registrations[0]);
  now_ += 1s;
  feed(registrations[1]);
  now_ += 1s;
  ASSERT_TRUE(cn_->care_of_address_for(homes[0], now_));  // the first is used: keep it
  auto actions = feed(registrations[2]);
  auto routes = actions_of<BindingRoute>(actions);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_EQ(routes[0].home_address, homes[1]);
  EXPECT_EQ(routes[1].change, Change::kAdd);
  EXPECT_EQ(counters().bindings_evicted, 1u);
  EXPECT_NE(entry(homes[0]), nullptr);
  // §9.6 / §5.2.8: the evicted binding's BU cannot be replayed.
  auto sent = feed_one(registrations[1]);
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
}

TEST_F(CorrespondentNodeTest, NoRoomForReplayGuardsGets130_9_5_2) {
  config_.max_bindings = 1;
  config_.max_replay_guards = 1;
  reset();
  auto spec = register_binding(7);
  spec.seq = 8;
  spec.lifetime = 0;
  feed(bu_packet(spec));  // binding -> guard
  BuSpec second;
  second.home = addr("2001:db8:1::2");
  second.tokens = return_routability(second.home, kCoa);
  feed(bu_packet(second));  // bindings + guards = 2: full
  BuSpec third;
  third.home = addr("2001:db8:1::3");
  third.tokens = return_routability(third.home, kCoa);
  third.flags = 0;  // 130 is sent without A (§9.5.4)
  auto sent = feed_one(bu_packet(third));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusInsufficientResources);
  EXPECT_TRUE(ba_authenticator_verifies(sent, kbm_for(third.tokens, false), kCoa));
  EXPECT_EQ(entry(third.home), nullptr);
}

// ---------------------------------------------------------------------------------------------
// §9.3.1 Home Address option, §9.3.3 Binding Errors

TEST_F(CorrespondentNodeTest, HomeAddressOptionWithMatchingBindingIsAccepted_9_3_1) {
  register_binding();
  auto bytes = hao_udp_packet(kCoa, kHoa);
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_),
            HaoVerdict::kAcceptWithBinding);
  EXPECT_TRUE(actions_of<Transmit>(cn_->take_actions()).empty());
  EXPECT_EQ(counters().hao_accepted, 1u);
}

TEST_F(CorrespondentNodeTest, PacketWithoutHomeAddressOptionNeedsNothing_9_3_1) {
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kCn;
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = wire::Bytes(8);
  auto bytes = wire::build_packet(spec);
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kNoOption);
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionWithoutBindingGetsBindingError1_9_3_1) {
  auto bytes = hao_udp_packet(kCoa, kHoa);
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kDrop);
  auto sent = sent_packets(cn_->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  const auto* error = sent[0].message<wire::BindingError>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->status, wire::kBeStatusUnknownBindingForHomeAddressDestinationOption);
  EXPECT_EQ(error->home_address, kHoa);  // §9.3.3: copied from the option
  EXPECT_EQ(sent[0].layout.ipv6.source, kCn);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kCoa);  // §9.3.3: the wire source
  EXPECT_FALSE(sent[0].layout.type2_address);
  EXPECT_TRUE(sent[0].checksum_valid);
  EXPECT_EQ(counters().be_sent, 1u);
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionFromAnotherCareOfAddressIsRejected_9_3_1) {
  register_binding();
  auto bytes = hao_udp_packet(kCoa2, kHoa);
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kDrop);
  auto sent = sent_packets(cn_->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_NE(sent[0].message<wire::BindingError>(), nullptr);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kCoa2);
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionThroughOnPacketGetsBindingError_9_3_1) {
  auto sent = feed_sent(hao_udp_packet(kCoa, kHoa));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].message<wire::BindingError>(), nullptr);
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionBeforeEspAhOrMhNeedsNoBinding_9_3_1) {
  const wire::Bytes icv(12);
  const wire::Bytes esp_data(16);
  for (int kind = 0; kind < 2; ++kind) {
    wire::PacketSpec spec;
    spec.header.source = kCoa;
    spec.header.destination = kCn;
    spec.extension_headers.push_back(wire::make_home_address_destination_options(kHoa));
    if (kind == 0) {
      spec.extension_headers.push_back(wire::make_esp_header(0x100, 1, esp_data));
    } else {
      spec.extension_headers.push_back(wire::make_authentication_header(0x100, 1, icv));
      spec.upper_protocol = wire::ip_proto::kUdp;
      spec.upper = wire::Bytes(8);
      spec.compute_checksum = false;
    }
    auto bytes = wire::build_packet(spec);
    EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_),
              HaoVerdict::kAcceptWithoutBinding)
        << kind;
  }
  EXPECT_TRUE(cn_->take_actions().empty());
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionNotUnicastRoutableIsDropped_9_3_1) {
  auto bytes = hao_udp_packet(kCoa, addr("fe80::9"));
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kDrop);
  EXPECT_EQ(counters().hao_not_routable, 1u);
}

TEST_F(CorrespondentNodeTest, HomeAddressOptionNeverChangesTheBindingCache_9_1) {
  register_binding();
  const auto before = *entry();
  now_ += 50s;
  auto bytes = hao_udp_packet(kCoa, kHoa);
  for (int i = 0; i < 3; ++i)
    cn_->check_home_address_option(shuttle::rx(bytes), now_);
  auto other = hao_udp_packet(kCoa2, kHoa);
  cn_->check_home_address_option(shuttle::rx(other), now_);
  EXPECT_EQ(entry()->last_used, before.last_used);
  EXPECT_EQ(entry()->care_of_address, before.care_of_address);
  EXPECT_EQ(entry()->expires, before.expires);
  EXPECT_EQ(entry()->sequence_number, before.sequence_number);
}

TEST_F(CorrespondentNodeTest, BindingErrorsAreRateLimited_9_3_3) {
  config_.binding_error_rate = 5;
  config_.binding_error_burst = 8;
  // This test is about the global bucket: the per-destination one must not bind first.
  config_.error_rate_per_destination = {100.0, 100.0};
  reset();
  auto bytes = hao_udp_packet(kCoa, kHoa);
  std::size_t sent = 0;
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kDrop);
    sent += actions_of<Transmit>(cn_->take_actions()).size();
  }
  EXPECT_EQ(sent, 8u);
  EXPECT_EQ(counters().be_rate_limited, 92u);
  now_ += 1s;  // 5 more tokens
  sent = 0;
  for (int i = 0; i < 100; ++i) {
    cn_->check_home_address_option(shuttle::rx(bytes), now_);
    sent += actions_of<Transmit>(cn_->take_actions()).size();
  }
  EXPECT_EQ(sent, 5u);
}

// ---------------------------------------------------------------------------------------------
// §15 flood resistance (issue 7)

// 2001:db8:<net>::<n>: many distinct senders.
Ipv6Address numbered(std::uint16_t net, std::uint32_t n) {
  Ipv6Address address = addr("2001:db8::");
  address.bytes[4] = static_cast<std::uint8_t>(net >> 8);
  address.bytes[5] = static_cast<std::uint8_t>(net);
  for (std::size_t i = 0; i < 4; ++i)
    address.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  return address;
}

TEST_F(CorrespondentNodeTest, HotiFloodFromOneSourceLimitedWhileAnotherGetsHot_15) {
  std::size_t hots = 0;
  for (std::uint64_t cookie = 0; cookie < 30; ++cookie)
    hots += feed_sent(hoti_packet(kHoa, cookie)).size();
  EXPECT_EQ(hots, 10u);  // the per-source burst
  EXPECT_EQ(counters().hoti_rate_limited, 20u);
  EXPECT_EQ(counters().hot_sent, 10u);
  // Another home address gets its HoT at the same instant.
  auto hot = home_test(addr("2001:db8:1::200"), 0x77);
  EXPECT_EQ(hot.home_init_cookie, 0x77u);
  // And the flooding source earns 5 a second.
  now_ += 1s;
  hots = 0;
  for (std::uint64_t cookie = 0; cookie < 30; ++cookie)
    hots += feed_sent(hoti_packet(kHoa, cookie)).size();
  EXPECT_EQ(hots, 5u);
}

TEST_F(CorrespondentNodeTest, CotiFloodFromOneSourceLimitedWhileAnotherGetsCot_15) {
  std::size_t cots = 0;
  for (std::uint64_t cookie = 0; cookie < 30; ++cookie)
    cots += feed_sent(coti_packet(kCoa, cookie)).size();
  EXPECT_EQ(cots, 10u);
  EXPECT_EQ(counters().coti_rate_limited, 20u);
  auto cot = care_of_test(kCoa2, 0x88);
  EXPECT_EQ(cot.care_of_init_cookie, 0x88u);
  // HoTIs are counted apart: a HoTI from the flooded care-of address is still answered.
  EXPECT_EQ(feed_sent(hoti_packet(kCoa, 1)).size(), 1u);
}

TEST_F(CorrespondentNodeTest, TestInitGlobalCapHoldsAgainstDistinctSources_15) {
  config_.test_init_rate_global = {100.0, 100.0};
  reset();
  std::size_t hots = 0;
  for (std::uint32_t n = 0; n < 10000; ++n)
    hots += feed_sent(hoti_packet(numbered(1, n), n)).size();
  EXPECT_EQ(hots, 100u);
  EXPECT_EQ(counters().hoti_rate_limited, 9900u);
}

TEST_F(CorrespondentNodeTest, LegitimateReturnRoutabilityDuringHotiFlood_15) {
  for (std::uint64_t cookie = 0; cookie < 1000; ++cookie)
    (void)feed(hoti_packet(kRouter, cookie));
  for (std::uint32_t n = 0; n < 5000; ++n)
    (void)feed(hoti_packet(numbered(7, n), n));
  // The mobile node's own exchange, at the same instant, still completes.
  BuSpec spec;
  spec.tokens = return_routability();
  auto sent = feed_one(bu_packet(spec));
  const auto* ba = sent.message<wire::BindingAcknowledgement>();
  ASSERT_NE(ba, nullptr);
  EXPECT_EQ(ba->status, wire::kBaStatusAccepted);
}

TEST_F(CorrespondentNodeTest, BindingErrorsLimitedPerDestination_9_3_3) {
  auto flood = hao_udp_packet(kCoa, kHoa);
  std::size_t sent = 0;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(flood), now_), HaoVerdict::kDrop);
    sent += actions_of<Transmit>(cn_->take_actions()).size();
  }
  EXPECT_EQ(sent, 5u);  // the per-destination burst, below the global one (10)
  EXPECT_EQ(counters().be_rate_limited, 15u);
  auto other = hao_udp_packet(kCoa2, kHoa);
  cn_->check_home_address_option(shuttle::rx(other), now_);
  EXPECT_EQ(actions_of<Transmit>(cn_->take_actions()).size(), 1u);
}

TEST_F(CorrespondentNodeTest, ParameterProblemsLimitedPerDestination_RFC4443_2_4f) {
  std::size_t sent = 0;
  for (int i = 0; i < 20; ++i)
    sent += feed_sent(with_mh_octet(hoti_packet(kHoa, 1), 0, 6)).size();
  EXPECT_EQ(sent, 5u);
  EXPECT_EQ(counters().icmp_errors_suppressed, 15u);
  EXPECT_EQ(feed_sent(with_mh_octet(hoti_packet(kCoa, 1), 0, 6)).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// §9.2 Mobility Header checks

TEST_F(CorrespondentNodeTest, UnknownMhTypeGetsBindingError2_9_2) {
  auto with_hao = with_mh_octet(hoti_packet(kCoa, 1, kHoa), 2, 42);
  auto sent = feed_one(with_hao);
  const auto* error = sent.message<wire::BindingError>();
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->status, wire::kBeStatusUnrecognizedMhType);
  EXPECT_EQ(error->home_address, kHoa);
  EXPECT_EQ(sent.layout.ipv6.destination, kCoa);
  auto without = with_mh_octet(hoti_packet(kCoa, 1), 2, 200);
  auto second = feed_one(without);
  ASSERT_NE(second.message<wire::BindingError>(), nullptr);
  EXPECT_EQ(second.message<wire::BindingError>()->home_address, Ipv6Address{});  // ::
  EXPECT_EQ(counters().mh_unknown_type, 2u);
}

TEST_F(CorrespondentNodeTest, BadPayloadProtoGetsParameterProblemAtIt_9_2) {
  BuSpec spec;
  spec.tokens = return_routability();
  auto bytes = with_mh_octet(bu_packet(spec), 0, 6);
  auto sent = feed_one(bytes);
  const auto* problem = sent.icmp_body<wire::ParameterProblem>();
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(sent.icmp->code, 0);
  EXPECT_EQ(problem->pointer, 64u);  // 40 (IPv6) + 24 (Destination Options with the HAO)
  EXPECT_EQ(sent.layout.ipv6.destination, kCoa);  // §9.2: directly to the source
  EXPECT_FALSE(sent.layout.type2_address);
  EXPECT_EQ(problem->invoking_packet, bytes);
  EXPECT_TRUE(sent.checksum_valid);
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(counters().mh_bad_payload_proto, 1u);
}

TEST_F(CorrespondentNodeTest, HeaderLenBelowMinimumGetsParameterProblemAtIt_9_2) {
  auto bytes = with_mh_octet(hoti_packet(kHoa, 1), 1, 0);  // HoTI minimum is 1
  auto sent = feed_one(bytes);
  const auto* problem = sent.icmp_body<wire::ParameterProblem>();
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(sent.icmp->code, 0);
  EXPECT_EQ(problem->pointer, 41u);
  EXPECT_EQ(counters().mh_bad_header_len, 1u);
}

TEST_F(CorrespondentNodeTest, ParameterProblemsAreRateLimited_RFC4443_2_4) {
  config_.icmp_error_burst = 3;
  reset();
  auto bytes = with_mh_octet(hoti_packet(kHoa, 1), 0, 6);
  std::size_t sent = 0;
  for (int i = 0; i < 20; ++i)
    sent += feed_sent(bytes).size();
  EXPECT_EQ(sent, 3u);
  EXPECT_EQ(counters().icmp_errors_suppressed, 17u);
}

TEST_F(CorrespondentNodeTest, BadChecksumIsSilentlyDroppedAndCounted_9_2) {
  BuSpec spec;
  spec.tokens = return_routability();
  auto bytes = bu_packet(spec);
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + 4] ^= std::byte{0xff};
  auto actions = feed(bytes);
  EXPECT_TRUE(actions_of<Transmit>(actions).empty());
  EXPECT_TRUE(actions_of<BindingRoute>(actions).empty());
  EXPECT_EQ(counters().mh_bad_checksum, 1u);
  EXPECT_EQ(counters().bu_received, 0u);
}

TEST_F(CorrespondentNodeTest, MessagesForMobileNodesAreIgnored_9_2) {
  wire::MobilityHeader mh;
  mh.message = wire::BindingRefreshRequest{};
  EXPECT_TRUE(
      feed_sent(build_mobility_packet({kHoa, kCn, std::nullopt, std::nullopt, 64}, mh)).empty());
  EXPECT_EQ(counters().mh_unexpected_type, 1u);
}

TEST_F(CorrespondentNodeTest, MalformedAndTruncatedInputNeverCrashesAndIsCounted) {
  BuSpec spec;
  spec.tokens = return_routability();
  const auto original = bu_packet(spec);
  const auto layout = *wire::walk_chain(original);
  const auto received_before = counters().mh_received;
  std::uint64_t fed = 0;
  // Every truncation of the Mobility Header, with Payload Length and checksum made consistent
  // so that the checks after them are reached.
  for (std::size_t cut = 0; cut < layout.upper_length; ++cut) {
    wire::Bytes bytes(original.begin(),
                      original.begin() + static_cast<std::ptrdiff_t>(layout.upper_offset + cut));
    const auto payload = bytes.size() - wire::kIpv6HeaderSize;
    bytes[4] = static_cast<std::byte>(payload >> 8);
    bytes[5] = static_cast<std::byte>(payload & 0xff);
    (void)wire::fill_upper_checksum(bytes);
    auto packet = make_rx_packet(bytes, 1);
    if (!packet) continue;
    cn_->on_packet(*packet, now_);
    cn_->take_actions();
    ++fed;
  }
  EXPECT_EQ(counters().mh_received - received_before, fed);
  EXPECT_EQ(counters().bu_accepted, 0u);
  // Random octet changes, checksum repaired half of the time.
  SplitMix64 noise(7);
  for (int i = 0; i < 3000; ++i) {
    auto bytes = original;
    const auto changes = 1 + noise.uniform(3);
    for (std::uint64_t c = 0; c < changes; ++c) {
      bytes[noise.uniform(bytes.size())] = static_cast<std::byte>(noise.next_u64());
    }
    if (noise.uniform(2) == 0) (void)wire::fill_upper_checksum(bytes);
    auto packet = make_rx_packet(bytes, 1);
    if (!packet) continue;
    cn_->on_packet(*packet, now_);
    cn_->take_actions();
  }
  EXPECT_GT(counters().mh_bad_checksum, 0u);
  EXPECT_GT(counters().mh_malformed + counters().mh_bad_header_len + counters().mh_unknown_type +
                counters().mh_bad_payload_proto,
            0u);
  EXPECT_LE(counters().bu_accepted, 1u);  // only the unchanged-in-effect BU could pass
}

TEST_F(CorrespondentNodeTest, FirstFragmentOfAMobilityHeaderIsDropped_9_2) {
  wire::PacketSpec spec;
  spec.header.source = kHoa;
  spec.header.destination = kCn;
  wire::FragmentHeader fragment;
  fragment.m_flag = true;
  fragment.identification = 99;
  spec.extension_headers.push_back(wire::make_fragment_header(fragment));
  spec.upper_protocol = wire::kIpProtoMobility;
  spec.upper = wire::Bytes(16);
  spec.compute_checksum = false;
  auto bytes = wire::build_packet(spec);
  EXPECT_TRUE(feed_sent(bytes).empty());
  EXPECT_EQ(counters().mh_fragmented, 1u);
}

TEST_F(CorrespondentNodeTest, BindingUpdateFromMulticastSourceIsDropped_9_5_4) {
  BuSpec spec;
  spec.tokens = return_routability();
  spec.care_of = addr("ff0e::1");
  spec.alternate = kCoa;
  auto bytes = bu_packet(spec);
  auto packet = make_rx_packet(bytes, 1);
  ASSERT_TRUE(packet);
  cn_->on_packet(*packet, now_);
  EXPECT_TRUE(actions_of<Transmit>(cn_->take_actions()).empty());
  EXPECT_EQ(counters().bu_source_not_unicast, 1u);
}

TEST_F(CorrespondentNodeTest, HotiFromLinkLocalSourceGetsNoHot_5_2_5) {
  EXPECT_TRUE(feed_sent(hoti_packet(addr("fe80::1"), 1)).empty());
  EXPECT_TRUE(feed_sent(coti_packet(addr("fe80::1"), 1)).empty());
  EXPECT_EQ(counters().hoti_bad_source, 1u);
  EXPECT_EQ(counters().coti_bad_source, 1u);
}

// ---------------------------------------------------------------------------------------------
// §8 node requirements

TEST_F(CorrespondentNodeTest, Type2RoutingHeaderIsDiscardedByAPureCorrespondent_8_2) {
  auto bytes = build_mobility_packet({kHoa, kCn, std::nullopt, kCoa, 64},
                                     wire::MobilityHeader{59, 0, 0, 0, wire::HomeTestInit{}, {}});
  auto packet = make_rx_packet(bytes, 1);
  ASSERT_TRUE(packet);
  cn_->on_packet(*packet, now_);
  EXPECT_TRUE(actions_of<Transmit>(cn_->take_actions()).empty());
  EXPECT_EQ(counters().type2_discarded, 1u);
}

TEST_F(CorrespondentNodeTest, RouteOptimizationDisabledAnswersLikeAPlainIpv6Node_8_1) {
  config_.route_optimization = false;
  reset();
  auto sent = feed_one(hoti_packet(kHoa, 1));
  ASSERT_NE(sent.icmp_body<wire::ParameterProblem>(), nullptr);
  EXPECT_EQ(sent.icmp->code, 1);  // §11.3.5: the mobile node falls back to tunnelling
  EXPECT_EQ(sent.icmp_body<wire::ParameterProblem>()->pointer, 6u);  // IPv6 Next Header
  auto bytes = hao_udp_packet(kCoa, kHoa);
  EXPECT_EQ(cn_->check_home_address_option(shuttle::rx(bytes), now_), HaoVerdict::kDrop);
  auto problems = sent_packets(cn_->take_actions());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].icmp->code, 2);
  EXPECT_EQ(problems[0].icmp_body<wire::ParameterProblem>()->pointer,
            46u);  // option type (after PadN(4))
}

TEST_F(CorrespondentNodeTest, PacketsForOtherAddressesAreNotOurs) {
  wire::MobilityHeader mh;
  mh.message = wire::HomeTestInit{0, 1};
  auto bytes =
      build_mobility_packet({kHoa, addr("2001:db8:3::99"), std::nullopt, std::nullopt, 64}, mh);
  EXPECT_TRUE(feed_sent(bytes).empty());
  EXPECT_EQ(counters().not_for_us, 1u);
  // An address added later is ours.
  cn_->on_event(AddressAdded{1, addr("2001:db8:3::99"), 64, {}, {}, false}, now_);
  EXPECT_EQ(feed_sent(bytes).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// §9.3.2 sending, §9.5.5 refresh requests, expiry, §9.3.4 ICMP errors

TEST_F(CorrespondentNodeTest, CareOfAddressForReturnsTheBindingAndRecordsUse_9_3_2) {
  EXPECT_FALSE(cn_->care_of_address_for(kHoa, now_));
  register_binding();
  now_ += 20s;
  auto care_of = cn_->care_of_address_for(kHoa, now_);
  ASSERT_TRUE(care_of);
  EXPECT_EQ(*care_of, kCoa);
  EXPECT_EQ(entry()->last_used, now_);
}

TEST_F(CorrespondentNodeTest, BindingRefreshRequestWhenInUseNearExpiry_9_5_5) {
  const auto start = now_;
  register_binding(7, 105);  // 420 s
  ASSERT_TRUE(cn_->next_deadline());
  EXPECT_EQ(*cn_->next_deadline(), start + 390s);  // 30 s before expiry
  now_ = start + 350s;
  ASSERT_TRUE(cn_->care_of_address_for(kHoa, now_));
  now_ = start + 390s;
  cn_->on_timeout(now_);
  auto sent = sent_packets(cn_->take_actions());
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_NE(sent[0].message<wire::BindingRefreshRequest>(), nullptr);
  // §9.5.5: always to the home address; §6.1: no Type 2 Routing header.
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHoa);
  EXPECT_EQ(sent[0].layout.ipv6.source, kCn);
  EXPECT_FALSE(sent[0].layout.type2_address);
  EXPECT_TRUE(sent[0].checksum_valid);
  // At most once per lifetime.
  now_ = start + 400s;
  ASSERT_TRUE(cn_->care_of_address_for(kHoa, now_));
  cn_->on_timeout(now_);
  EXPECT_TRUE(actions_of<Transmit>(cn_->take_actions()).empty());
  EXPECT_EQ(counters().brr_sent, 1u);
  EXPECT_EQ(*cn_->next_deadline(), start + 420s);
}

TEST_F(CorrespondentNodeTest, NoBindingRefreshRequestForAnIdleBinding_9_5_5) {
  const auto start = now_;
  register_binding(7, 105);
  now_ = start + 390s;
  cn_->on_timeout(now_);
  EXPECT_TRUE(actions_of<Transmit>(cn_->take_actions()).empty());
  EXPECT_EQ(counters().brr_sent, 0u);
}

TEST_F(CorrespondentNodeTest, ABindingUpdateRearmsTheRefreshRequest_9_5_5) {
  const auto start = now_;
  auto spec = register_binding(7, 105);
  now_ = start + 100s;
  spec.seq = 8;
  spec.tokens = return_routability();
  feed(bu_packet(spec));
  EXPECT_EQ(*cn_->next_deadline(), start + 490s);
}

TEST_F(CorrespondentNodeTest, ExpiryRemovesTheBinding_9_5_2) {
  const auto start = now_;
  register_binding(7, 2);  // 8 s; BRR check at 4 s (half the lifetime)
  now_ = start + 8s;
  cn_->on_timeout(now_);
  auto routes = actions_of<BindingRoute>(cn_->take_actions());
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_EQ(routes[0].home_address, kHoa);
  EXPECT_EQ(routes[0].care_of_address, kCoa);
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(counters().bindings_expired, 1u);
  // Only the replay guard is left to time out, MAX_NONCE_LIFETIME later.
  ASSERT_TRUE(cn_->next_deadline());
  EXPECT_EQ(*cn_->next_deadline(), now_ + kMaxNonceLifetime + Duration(1));
  now_ = *cn_->next_deadline();
  cn_->on_timeout(now_);
  EXPECT_FALSE(cn_->next_deadline());
}

TEST_F(CorrespondentNodeTest, FlushDeletesEveryBindingAndGuardsItsSequence_5_2_8) {
  const auto spec = register_binding(7, 100);
  BuSpec other;
  other.home = addr("2001:db8:1::200");
  other.tokens = return_routability(other.home, kCoa);
  feed(bu_packet(other));
  ASSERT_NE(entry(other.home), nullptr);
  EXPECT_EQ(cn_->flush(now_), 2u);
  auto routes = actions_of<BindingRoute>(cn_->take_actions());
  ASSERT_EQ(routes.size(), 2u);
  std::set<Ipv6Address> removed;
  for (const auto& route : routes) {
    EXPECT_EQ(route.change, Change::kRemove);
    EXPECT_EQ(route.care_of_address, kCoa);
    removed.insert(route.home_address);
  }
  EXPECT_EQ(removed, (std::set<Ipv6Address>{kHoa, other.home}));
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(entry(other.home), nullptr);
  EXPECT_EQ(counters().bindings_deleted, 2u);
  EXPECT_FALSE(cn_->care_of_address_for(kHoa, now_));
  // §5.2.8: the BU accepted before the flush is not accepted again.
  auto sent = feed_one(bu_packet(spec));
  ASSERT_NE(sent.message<wire::BindingAcknowledgement>(), nullptr);
  EXPECT_EQ(sent.message<wire::BindingAcknowledgement>()->status,
            wire::kBaStatusSequenceNumberOutOfWindow);
  // Nothing left: a second flush deletes nothing.
  EXPECT_EQ(cn_->flush(now_), 0u);
  EXPECT_TRUE(actions_of<BindingRoute>(cn_->take_actions()).empty());
}

// A Destination Unreachable about a packet this node sent on the binding (§9.3.2 form).
wire::Bytes unreachable_about(const Ipv6Address& care_of, const Ipv6Address& home) {
  wire::PacketSpec inner;
  inner.header.source = kCn;
  inner.header.destination = care_of;
  inner.extension_headers.push_back(wire::make_type2_routing_header(home));
  inner.upper_protocol = wire::ip_proto::kUdp;
  inner.upper = wire::Bytes(16);
  wire::Icmpv6Message message;
  message.code = 3;  // address unreachable
  message.body = wire::DestinationUnreachable{0, wire::build_packet(inner)};
  return build_icmpv6_packet({kRouter, kCn, std::nullopt, std::nullopt, 64}, message);
}

TEST_F(CorrespondentNodeTest, PersistentDestinationUnreachableDeletesTheBinding_9_3_4) {
  register_binding(7, 105);
  const auto error = unreachable_about(kCoa, kHoa);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(actions_of<BindingRoute>(feed(error)).empty()) << i;  // a burst is not enough
  }
  now_ += 2s;
  auto routes = actions_of<BindingRoute>(feed(error));
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_EQ(entry(), nullptr);
  EXPECT_EQ(counters().bindings_unreachable, 1u);
}

TEST_F(CorrespondentNodeTest, SparseOrUnrelatedDestinationUnreachableKeepsTheBinding_9_3_4) {
  register_binding(7, 105);
  for (int i = 0; i < 5; ++i) {
    feed(unreachable_about(kCoa, kHoa));
    now_ += 11s;  // each error starts a new window
  }
  feed(unreachable_about(kCoa2, kHoa));  // not the registered care-of address
  feed(unreachable_about(kCoa, addr("2001:db8:1::77")));
  EXPECT_NE(entry(), nullptr);
  EXPECT_EQ(counters().icmp_unreachable_ignored, 2u);
}

TEST_F(CorrespondentNodeTest, IcmpErrorWithBadChecksumIsCountedAndIgnored_9_3_4) {
  register_binding(7, 105);
  auto error = unreachable_about(kCoa, kHoa);
  error.back() ^= std::byte{1};
  for (int i = 0; i < 5; ++i) {
    feed(error);
    now_ += 1s;
  }
  EXPECT_NE(entry(), nullptr);
  EXPECT_EQ(counters().icmp_bad_checksum, 5u);
}

TEST_F(CorrespondentNodeTest, CountersAreListedByName) {
  register_binding();
  auto list = counters().list();
  std::set<std::string_view> names;
  for (const auto& [name, value] : list)
    names.insert(name);
  EXPECT_EQ(names.size(), list.size());
  auto find = [&](std::string_view name) {
    auto it =
        std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.first == name; });
    return it == list.end() ? ~std::uint64_t{0} : it->second;
  };
  EXPECT_EQ(find("bu_received"), 1u);
  EXPECT_EQ(find("ba_sent"), 1u);
  EXPECT_EQ(find("hot_sent"), 1u);
  EXPECT_EQ(find("mh_bad_checksum"), 0u);
}

}  // namespace
}  // namespace mipv6::core
