// Writes classic libpcap capture files (what Wireshark, tshark and tcpdump open): a 24-byte
// global header, then per frame a 16-byte record header and the frame. Link type 1 (Ethernet),
// with the simulator's synthetic MACs, so multicast and Neighbor Discovery look as on a real LAN.
// Little-endian, nanosecond timestamps (magic 0xa1b23c4d): virtual time is in nanoseconds and
// serialisation delays on fast links are below a microsecond.
//
// Timestamps are virtual time plus a fixed base (kEpochBase), never the wall clock, so two runs
// of a scenario produce bit-identical files.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/time.h"
#include "sim/mac.h"
#include "wire/bytes.h"

namespace mipv6::sim {

inline constexpr std::uint32_t kPcapMagicNanoseconds = 0xa1b23c4d;
inline constexpr std::uint32_t kPcapLinkTypeEthernet = 1;
inline constexpr std::uint32_t kPcapSnapLength = 262144;
inline constexpr std::size_t kPcapGlobalHeaderSize = 24;
inline constexpr std::size_t kPcapRecordHeaderSize = 16;
// Virtual time 0 is written as 2000-01-01T00:00:00Z (seconds since the Unix epoch).
inline constexpr std::int64_t kEpochBase = 946684800;

class PcapWriter {
 public:
  // Keeps the capture in memory (see bytes()): for tests and determinism checks.
  PcapWriter();
  // Writes to `path` (created or truncated). Returns nullptr and sets `error` on failure.
  static std::unique_ptr<PcapWriter> open(const std::string& path, std::string& error);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  void write(core::TimePoint at, const Frame& frame);
  // Pushes buffered bytes to the file. False (and `error`) on an I/O error.
  bool flush(std::string& error);

  std::uint64_t records() const { return records_; }
  // The bytes not yet flushed; for an in-memory writer, the whole capture.
  const wire::Bytes& bytes() const { return buffer_; }

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  void append_u32(std::uint32_t v);
  void append_u16(std::uint16_t v);

  std::unique_ptr<std::FILE, FileCloser> file_;
  wire::Bytes buffer_;
  std::uint64_t records_ = 0;
  bool failed_ = false;
};

}  // namespace mipv6::sim
