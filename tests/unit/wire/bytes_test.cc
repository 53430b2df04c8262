#include "wire/bytes.h"

#include <gtest/gtest.h>

#include "wire/hex.h"

namespace mipv6::wire {
namespace {

TEST(Reader, ReadsBigEndianAndReportsAbsoluteOffsets) {
  auto data = *from_hex("0102 03040506 0708090a0b0c0d0e");
  Reader r(data, 100);
  EXPECT_EQ(*r.u16(), 0x0102);
  EXPECT_EQ(*r.u32(), 0x03040506u);
  auto sub = r.sub(4);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->offset(), 106u);
  EXPECT_EQ(*sub->u32(), 0x0708090au);
  auto past = sub->u8();
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), (WireError{WireErrc::kTruncated, 110}));
  auto too_long = r.u64();
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().offset, 110u);
}

TEST(Writer, AppendsAndPatches) {
  Bytes out;
  Writer w(out);
  w.u8(1);
  w.u16(0);
  w.u32(0xdeadbeef);
  w.put_u16_at(1, 0xabcd);
  EXPECT_EQ(to_hex(out), "01abcddeadbeef");
}

}  // namespace
}  // namespace mipv6::wire
