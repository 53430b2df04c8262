#include "wire/ipv6.h"

#include <gtest/gtest.h>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

// Version 6, Traffic Class 0xb8, Flow Label 0x12345, Payload Length 8, NH 59, Hop Limit 255.
constexpr const char* kHeader =
    "6b81 2345 0008 3bff 2001 0db8 0000 0000 0000 0000 0000 0001"
    "2001 0db8 0000 0000 0000 0000 0000 0002";

Bytes packet_with_payload(std::size_t payload) {
  Bytes p = *from_hex(kHeader);
  p.resize(p.size() + payload);
  return p;
}

TEST(Ipv6Header, DecodesEveryField_RFC8200_3) {
  auto h = decode_ipv6_header(packet_with_payload(8));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 6);
  EXPECT_EQ(h->traffic_class, 0xb8);
  EXPECT_EQ(h->flow_label, 0x12345u);
  EXPECT_EQ(h->payload_length, 8);
  EXPECT_EQ(h->next_header, ip_proto::kNoNextHeader);
  EXPECT_EQ(h->hop_limit, 255);
  EXPECT_EQ(h->source.to_string(), "2001:db8::1");
  EXPECT_EQ(h->destination.to_string(), "2001:db8::2");
}

TEST(Ipv6Header, EncodeIsTheInverseOfDecode) {
  Bytes in = packet_with_payload(0);
  Bytes out;
  Writer w(out);
  encode_ipv6_header(w, *decode_ipv6_header(packet_with_payload(8)));
  in.resize(kIpv6HeaderSize);
  EXPECT_EQ(to_hex(out), to_hex(in));
}

TEST(Ipv6Header, EncodeMasksFlowLabelToTwentyBits) {
  Ipv6Header h;
  h.flow_label = 0xfff12345;
  Bytes out;
  Writer w(out);
  encode_ipv6_header(w, h);
  EXPECT_EQ(to_hex(ByteSpan(out).first(4)), "60012345");
}

TEST(Ipv6Header, ShortBufferIsTruncatedAtItsEnd) {
  Bytes p = packet_with_payload(0);
  p.resize(39);
  auto h = decode_ipv6_header(p);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kTruncated, 39}));
}

TEST(Ipv6Header, VersionOtherThanSixIsBadValueAtZero_RFC8200_3) {
  Bytes p = packet_with_payload(8);
  p[0] = std::byte{0x4b};
  auto h = decode_ipv6_header(p);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kBadValue, 0}));
}

TEST(Ipv6Header, PayloadLengthBeyondCaptureIsTruncatedAtTheField) {
  auto h = decode_ipv6_header(packet_with_payload(7));
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kTruncated, 4}));
}

TEST(Ipv6Header, BytesAfterPayloadLengthAreLinkPaddingAndIgnored) {
  auto h = decode_ipv6_header(packet_with_payload(20));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_length, 8);
}

TEST(Ipv6Header, JumbogramIsUnsupported_RFC2675_3) {
  Bytes p = packet_with_payload(8);
  p[4] = p[5] = std::byte{0};
  p[6] = std::byte{ip_proto::kHopByHop};
  auto h = decode_ipv6_header(p);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), (WireError{WireErrc::kUnsupported, 4}));
}

}  // namespace
}  // namespace mipv6::wire
