#include "sim/pcap_writer.h"

#include <cerrno>
#include <cstring>

namespace mipv6::sim {
namespace {

// Flush to the file once this much is buffered: few syscalls, bounded memory.
constexpr std::size_t kFlushThreshold = 1 << 16;

}  // namespace

PcapWriter::PcapWriter() {
  // Global header (pcap-savefile(5)): magic, version 2.4, thiszone 0, sigfigs 0, snaplen,
  // link type.
  append_u32(kPcapMagicNanoseconds);
  append_u16(2);
  append_u16(4);
  append_u32(0);
  append_u32(0);
  append_u32(kPcapSnapLength);
  append_u32(kPcapLinkTypeEthernet);
}

std::unique_ptr<PcapWriter> PcapWriter::open(const std::string& path, std::string& error) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) {
    error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  auto writer = std::make_unique<PcapWriter>();
  writer->file_ = std::move(file);
  return writer;
}

PcapWriter::~PcapWriter() {
  std::string ignored;
  flush(ignored);
}

void PcapWriter::write(core::TimePoint at, const Frame& frame) {
  const std::int64_t ns = at.time_since_epoch().count();
  const auto length = static_cast<std::uint32_t>(frame.wire_size());
  const std::uint32_t captured = length < kPcapSnapLength ? length : kPcapSnapLength;
  append_u32(static_cast<std::uint32_t>(kEpochBase + ns / 1'000'000'000));
  append_u32(static_cast<std::uint32_t>(ns % 1'000'000'000));
  append_u32(captured);
  append_u32(length);
  std::size_t start = buffer_.size();
  append_ethernet_frame(buffer_, frame);
  buffer_.resize(start + captured);
  ++records_;
  if (file_ && buffer_.size() >= kFlushThreshold) {
    std::string ignored;
    flush(ignored);
  }
}

bool PcapWriter::flush(std::string& error) {
  if (!file_) return true;
  if (!failed_ && !buffer_.empty()) {
    failed_ = std::fwrite(buffer_.data(), 1, buffer_.size(), file_.get()) != buffer_.size() ||
              std::fflush(file_.get()) != 0;
  }
  buffer_.clear();
  if (failed_) error = std::string("pcap write failed: ") + std::strerror(errno);
  return !failed_;
}

void PcapWriter::append_u32(std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8)
    buffer_.push_back(static_cast<std::byte>(v >> shift));
}

void PcapWriter::append_u16(std::uint16_t v) {
  buffer_.push_back(static_cast<std::byte>(v));
  buffer_.push_back(static_cast<std::byte>(v >> 8));
}

}  // namespace mipv6::sim
