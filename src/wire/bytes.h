// Bounds-checked big-endian reading and writing of byte buffers. Every decoder parses through a
// Reader (never by casting bytes to structs); every encoder appends through a Writer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "wire/address.h"
#include "wire/expected.h"

namespace mipv6::wire {

using ByteSpan = std::span<const std::byte>;
using Bytes = std::vector<std::byte>;

inline std::uint16_t load_be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) |
                                    std::to_integer<unsigned>(p[1]));
}
inline std::uint32_t load_be32(const std::byte* p) {
  return (std::uint32_t{load_be16(p)} << 16) | load_be16(p + 2);
}
inline std::uint64_t load_be64(const std::byte* p) {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(std::byte* p, std::uint16_t v) {
  p[0] = static_cast<std::byte>(v >> 8);
  p[1] = static_cast<std::byte>(v);
}
inline void store_be32(std::byte* p, std::uint32_t v) {
  store_be16(p, static_cast<std::uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<std::uint16_t>(v));
}

// Reads fields front to back. Offsets it reports are relative to the start of the outermost
// buffer: a sub-reader created with sub() keeps counting from where its parent stood.
class Reader {
 public:
  explicit Reader(ByteSpan data, std::size_t base_offset = 0) : data_(data), base_(base_offset) {}

  std::size_t offset() const { return base_ + pos_; }  // absolute offset of the next byte
  std::size_t position() const { return pos_; }        // offset within this reader
  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return pos_ == data_.size(); }
  bool has(std::size_t n) const { return remaining() >= n; }
  ByteSpan rest() const { return data_.subspan(pos_); }
  ByteSpan whole() const { return data_; }

  WireError error(WireErrc code) const { return WireError{code, offset()}; }
  WireError error_at(WireErrc code, std::size_t position_in_reader) const {
    return WireError{code, base_ + position_in_reader};
  }

  Expected<std::uint8_t> u8() {
    if (!has(1)) return error(WireErrc::kTruncated);
    return std::to_integer<std::uint8_t>(data_[pos_++]);
  }
  Expected<std::uint16_t> u16() {
    if (!has(2)) return error(WireErrc::kTruncated);
    auto v = load_be16(&data_[pos_]);
    pos_ += 2;
    return v;
  }
  Expected<std::uint32_t> u32() {
    if (!has(4)) return error(WireErrc::kTruncated);
    auto v = load_be32(&data_[pos_]);
    pos_ += 4;
    return v;
  }
  Expected<std::uint64_t> u64() {
    if (!has(8)) return error(WireErrc::kTruncated);
    auto v = load_be64(&data_[pos_]);
    pos_ += 8;
    return v;
  }
  Expected<ByteSpan> bytes(std::size_t n) {
    if (!has(n)) return error(WireErrc::kTruncated);
    auto v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }
  Expected<Ipv6Address> address() {
    if (!has(16)) return error(WireErrc::kTruncated);
    Ipv6Address a;
    for (std::size_t i = 0; i < 16; ++i)
      a.bytes[i] = std::to_integer<std::uint8_t>(data_[pos_ + i]);
    pos_ += 16;
    return a;
  }
  Status skip(std::size_t n) {
    if (!has(n)) return error(WireErrc::kTruncated);
    pos_ += n;
    return {};
  }
  // A reader over the next n bytes (consumed from this one), keeping absolute offsets.
  Expected<Reader> sub(std::size_t n) {
    if (!has(n)) return error(WireErrc::kTruncated);
    Reader r(data_.subspan(pos_, n), offset());
    pos_ += n;
    return r;
  }

 private:
  ByteSpan data_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

// Appends big-endian fields to a byte vector (which may already hold earlier layers).
class Writer {
 public:
  explicit Writer(Bytes& out) : out_(out) {}

  std::size_t size() const { return out_.size(); }  // absolute position in the vector
  Bytes& buffer() { return out_; }

  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v >> 8));
    u8(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  void bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void address(const Ipv6Address& a) {
    for (auto b : a.bytes)
      u8(b);
  }
  void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }

  // Patch fields already written (lengths and checksums known only at the end).
  void put_u8_at(std::size_t pos, std::uint8_t v) { out_.at(pos) = static_cast<std::byte>(v); }
  void put_u16_at(std::size_t pos, std::uint16_t v) {
    put_u8_at(pos, static_cast<std::uint8_t>(v >> 8));
    put_u8_at(pos + 1, static_cast<std::uint8_t>(v));
  }

 private:
  Bytes& out_;
};

}  // namespace mipv6::wire
