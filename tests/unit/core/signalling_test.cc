#include "core/signalling.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/rng.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

const Ipv6Address kHoa = *Ipv6Address::parse("2001:db8:1::100");
const Ipv6Address kCoa = *Ipv6Address::parse("2001:db8:2::100");
const Ipv6Address kCn = *Ipv6Address::parse("2001:db8:3::10");

wire::MobilityHeader binding_update() {
  wire::MobilityHeader mh;
  wire::BindingUpdate bu;
  bu.sequence_number = 7;
  bu.set_flag(wire::kBuFlagA, true);
  bu.lifetime = 10;
  mh.message = bu;
  return mh;
}

// A BU from the care-of address with a Home Address option, as a mobile node sends it.
wire::Bytes bu_packet() {
  return build_mobility_packet({kCoa, kCn, kHoa, std::nullopt, 64}, binding_update());
}

MhInput check(const wire::Bytes& bytes) {
  auto packet = make_rx_packet(bytes, 1);
  EXPECT_TRUE(packet.has_value());
  return check_mobility_header(*packet);
}

// Changes one MH octet and repairs the checksum, so that later checks are reached.
wire::Bytes with_mh_octet(std::size_t offset, std::uint8_t value) {
  auto bytes = bu_packet();
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + offset] = static_cast<std::byte>(value);
  EXPECT_TRUE(wire::fill_upper_checksum(bytes));
  return bytes;
}

TEST(Signalling, BuiltBindingUpdateIsAccepted_9_2) {
  auto input = check(bu_packet());
  ASSERT_EQ(input.verdict, MhVerdict::kAccept);
  ASSERT_NE(wire::find_message<wire::BindingUpdate>(input.header), nullptr);
  EXPECT_EQ(wire::find_message<wire::BindingUpdate>(input.header)->sequence_number, 7);
}

TEST(Signalling, ChecksumUsesHomeAddressOption_6_1_1) {
  auto bytes = bu_packet();
  auto packet = *make_rx_packet(bytes, 1);
  auto pseudo = wire::pseudo_header_addresses(packet.layout);
  EXPECT_EQ(pseudo.source, kHoa);
  EXPECT_TRUE(wire::mobility_checksum_valid(kHoa, kCn, packet.upper()));
}

TEST(Signalling, BadChecksumIsDroppedFirst_9_2) {
  auto bytes = bu_packet();
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + 0] = std::byte{0};  // bad Payload Proto AND bad checksum
  EXPECT_EQ(check(bytes).verdict, MhVerdict::kBadChecksum);
}

TEST(Signalling, UnknownTypeBeforePayloadProto_9_2) {
  auto bytes = with_mh_octet(2, 42);
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset] = std::byte{6};
  ASSERT_TRUE(wire::fill_upper_checksum(bytes));
  EXPECT_EQ(check(bytes).verdict, MhVerdict::kUnknownType);
  EXPECT_EQ(check(bytes).mh_type, 42);
}

TEST(Signalling, PayloadProtoOtherThan59PointsAtIt_9_2) {
  auto bytes = with_mh_octet(0, 6);
  auto input = check(bytes);
  EXPECT_EQ(input.verdict, MhVerdict::kBadPayloadProto);
  EXPECT_EQ(input.pointer, wire::walk_chain(bytes)->upper_offset);
}

TEST(Signalling, HeaderLenBelowMinimumPointsAtIt_9_2) {
  // A BU needs Header Len >= 1; claim 0 (the packet keeps its length: the MH is not shrunk).
  auto bytes = with_mh_octet(1, 0);
  auto input = check(bytes);
  EXPECT_EQ(input.verdict, MhVerdict::kBadHeaderLen);
  EXPECT_EQ(input.pointer, wire::walk_chain(bytes)->upper_offset + 1);
}

TEST(Signalling, ParameterProblemQuotesInvokingPacketAndPointer_RFC4443_3_4) {
  auto invoking_bytes = with_mh_octet(0, 6);
  auto invoking = *make_rx_packet(invoking_bytes, 1);
  auto bytes = build_parameter_problem(kCn, invoking, 0, 48);
  auto layout = *wire::walk_chain(bytes);
  EXPECT_EQ(layout.ipv6.destination, kCoa);  // back to the on-the-wire source
  EXPECT_TRUE(wire::verify_upper_checksum(bytes, layout));
  auto message = *wire::decode_icmpv6(wire::ByteSpan(bytes).subspan(layout.upper_offset));
  auto* problem = std::get_if<wire::ParameterProblem>(&message.body);
  ASSERT_NE(problem, nullptr);
  EXPECT_EQ(message.code, 0);
  EXPECT_EQ(problem->pointer, 48u);
  EXPECT_EQ(problem->invoking_packet, invoking_bytes);
}

TEST(Signalling, IcmpErrorTrimmedToMinimumMtu_RFC4443_2_4c) {
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kCn;
  spec.upper_protocol = 17;
  spec.upper.resize(3000);
  auto big = wire::build_packet(spec);
  auto invoking = *make_rx_packet(big, 1);
  EXPECT_EQ(build_destination_unreachable(kCn, invoking, 3).size(), kIpv6MinimumMtu);
}

TEST(Signalling, NoErrorAboutErrorsOrToMulticast_RFC4443_2_4e) {
  auto invoking_bytes = with_mh_octet(0, 6);
  auto invoking = *make_rx_packet(invoking_bytes, 1);
  EXPECT_TRUE(may_send_icmp_error(invoking));
  auto error_bytes = build_parameter_problem(kCn, invoking, 0, 48);
  EXPECT_FALSE(may_send_icmp_error(*make_rx_packet(error_bytes, 1)));
  auto multicast = build_mobility_packet(
      {*Ipv6Address::parse("ff02::1"), kCn, std::nullopt, std::nullopt, 64}, binding_update());
  EXPECT_FALSE(may_send_icmp_error(*make_rx_packet(multicast, 1)));
}

TEST(Signalling, IcmpChecksumAndDecodeChecks_RFC4443_2_3) {
  wire::Icmpv6Message echo;
  echo.body = wire::EchoRequest{};
  auto bytes = build_icmpv6_packet({kCn, kCoa, std::nullopt, kHoa, 64}, echo);
  auto accepted = check_icmpv6(*make_rx_packet(bytes, 1));
  EXPECT_EQ(accepted.verdict, IcmpVerdict::kAccept);
  EXPECT_NE(std::get_if<wire::EchoRequest>(&accepted.message.body), nullptr);

  auto corrupted = bytes;
  corrupted.back() ^= std::byte{0xff};
  EXPECT_EQ(check_icmpv6(*make_rx_packet(corrupted, 1)).verdict, IcmpVerdict::kBadChecksum);

  // A Neighbor Solicitation cut to 8 octets, with a checksum that matches the cut message.
  wire::Icmpv6Message ns;
  ns.body = wire::NeighborSolicitation{};
  auto short_ns = build_icmpv6_packet({kCn, kCoa, std::nullopt, std::nullopt, 255}, ns);
  short_ns.resize(wire::kIpv6HeaderSize + 8);
  wire::store_be16(&short_ns[4], 8);
  ASSERT_TRUE(wire::fill_upper_checksum(short_ns));
  EXPECT_EQ(check_icmpv6(*make_rx_packet(short_ns, 1)).verdict, IcmpVerdict::kMalformed);
}

TEST(Signalling, RateLimiterAllowsBurstThenRate) {
  RateLimiter limiter(2.0, 3.0);
  TimePoint now{};
  int allowed = 0;
  for (int i = 0; i < 10; ++i)
    allowed += limiter.allow(now);
  EXPECT_EQ(allowed, 3);
  now += 1s;
  allowed = 0;
  for (int i = 0; i < 10; ++i)
    allowed += limiter.allow(now);
  EXPECT_EQ(allowed, 2);
}

// The address 2001:db8:f::<n> (n up to 2^32): many distinct senders.
Ipv6Address numbered(std::uint32_t n) {
  Ipv6Address address = *Ipv6Address::parse("2001:db8:f::");
  for (std::size_t i = 0; i < 4; ++i)
    address.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  return address;
}

int allowed_of(KeyedRateLimiter& limiter, const Ipv6Address& key, TimePoint now, int tries) {
  int allowed = 0;
  for (int i = 0; i < tries; ++i)
    allowed += limiter.allow(key, now);
  return allowed;
}

constexpr RateLimit kUnlimited{1e9, 1e9};

TEST(Signalling, RateLimiterTimeGoingBackDoesNotRefill) {
  RateLimiter limiter(1.0, 1.0);
  TimePoint now(10s);
  EXPECT_TRUE(limiter.allow(now));
  EXPECT_FALSE(limiter.allow(now - 5s));
  EXPECT_FALSE(limiter.allow(now));  // back to the first instant: still nothing earned
  EXPECT_TRUE(limiter.allow(now + 1s));
}

TEST(Signalling, KeyedLimiterPerKeyBurstThenRate_Rfc6275_15) {
  KeyedRateLimiter limiter({2.0, 3.0}, kUnlimited);
  TimePoint now(1s);
  EXPECT_EQ(allowed_of(limiter, kCoa, now, 10), 3);
  EXPECT_EQ(allowed_of(limiter, kCoa, now + 1s, 10), 2);
  EXPECT_EQ(allowed_of(limiter, kCoa, now + 1s + 500ms, 10), 1);
  EXPECT_EQ(allowed_of(limiter, kCoa, now + 60s, 10), 3);  // never beyond the burst
}

TEST(Signalling, KeyedLimiterOneKeyOverItsLimitLeavesOthersServed_Rfc6275_15) {
  KeyedRateLimiter limiter({10.0, 20.0}, {1000.0, 1000.0});
  TimePoint now(1s);
  EXPECT_EQ(allowed_of(limiter, kCoa, now, 21), 20);  // the 21st is refused
  EXPECT_TRUE(limiter.allow(kHoa, now));
  EXPECT_FALSE(limiter.allow(kCoa, now));
}

TEST(Signalling, KeyedLimiterGlobalCapHoldsAgainst10kDistinctKeys_Rfc6275_15) {
  KeyedRateLimiter limiter({10.0, 20.0}, {100.0, 100.0});
  TimePoint now(1s);
  int allowed = 0;
  for (std::uint32_t n = 0; n < 10000; ++n)
    allowed += limiter.allow(numbered(n), now);
  EXPECT_EQ(allowed, 100);
  // A second later: the global rate again, whatever the number of new keys.
  allowed = 0;
  for (std::uint32_t n = 10000; n < 20000; ++n)
    allowed += limiter.allow(numbered(n), now + 1s);
  EXPECT_EQ(allowed, 100);
}

TEST(Signalling, KeyedLimiterRefusalByKeySpendsNoGlobalToken) {
  KeyedRateLimiter limiter({1.0, 2.0}, {1.0, 3.0});
  TimePoint now(1s);
  EXPECT_EQ(allowed_of(limiter, kCoa, now, 50), 2);  // 48 refused by the key's bucket
  EXPECT_TRUE(limiter.allow(kHoa, now));             // the third global token is still there
  EXPECT_FALSE(limiter.allow(kCn, now));
}

TEST(Signalling, KeyedLimiterMemoryBoundedAfter100kDistinctKeys) {
  KeyedRateLimiter limiter({1.0, 1.0}, kUnlimited, 4096);
  TimePoint now(1s);
  std::size_t most = 0;
  for (std::uint32_t n = 0; n < 100000; ++n) {
    EXPECT_TRUE(limiter.allow(numbered(n), now));  // a new key has a full bucket
    most = std::max(most, limiter.size());
  }
  EXPECT_EQ(limiter.capacity(), 4096u);
  EXPECT_EQ(most, 4096u);
  EXPECT_LE(limiter.size(), limiter.capacity());
  // The last 4096 keys are the ones tracked: each is still limited.
  EXPECT_FALSE(limiter.allow(numbered(99999), now));
  EXPECT_FALSE(limiter.allow(numbered(100000 - 4096), now));
  // An older one was forgotten: a full bucket again.
  EXPECT_TRUE(limiter.allow(numbered(0), now));
}

TEST(Signalling, KeyedLimiterForgetsTheLeastRecentlyUsedKey) {
  KeyedRateLimiter limiter({1.0, 1.0}, kUnlimited, 2);
  TimePoint now(1s);
  EXPECT_TRUE(limiter.allow(kCoa, now));
  EXPECT_TRUE(limiter.allow(kHoa, now));
  EXPECT_FALSE(limiter.allow(kCoa, now));  // kCoa is now the most recently used
  EXPECT_TRUE(limiter.allow(kCn, now));    // evicts kHoa, not kCoa
  EXPECT_EQ(limiter.size(), 2u);
  EXPECT_FALSE(limiter.allow(kCoa, now));  // still limited
  EXPECT_TRUE(limiter.allow(kHoa, now));   // forgotten: a full bucket
}

TEST(Signalling, KeyedLimiterRefusedNewKeyIsNotTracked) {
  KeyedRateLimiter limiter({1.0, 1.0}, {1.0, 1.0});
  TimePoint now(1s);
  EXPECT_TRUE(limiter.allow(kCoa, now));
  for (std::uint32_t n = 0; n < 1000; ++n)
    EXPECT_FALSE(limiter.allow(numbered(n), now));  // the global bucket is empty
  EXPECT_EQ(limiter.size(), 1u);
  EXPECT_TRUE(limiter.allow(numbered(0), now + 1s));  // a global token came back
  EXPECT_EQ(limiter.size(), 2u);
}

TEST(Signalling, KeyedLimiterDecisionsDoNotDependOnTheHashSeed) {
  KeyedRateLimiter a({3.0, 5.0}, {50.0, 60.0}, 64, 0);
  KeyedRateLimiter b({3.0, 5.0}, {50.0, 60.0}, 64, 0x0123456789abcdefull);
  SplitMix64 noise(3);
  TimePoint now(1s);
  for (int i = 0; i < 5000; ++i) {
    now += std::chrono::milliseconds(noise.uniform(20));
    auto key = numbered(static_cast<std::uint32_t>(noise.uniform(200)));
    ASSERT_EQ(a.allow(key, now), b.allow(key, now)) << i;
  }
}

}  // namespace
}  // namespace mipv6::core
