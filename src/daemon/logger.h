// Log lines of the daemon: one line per protocol event (issue 8), "LEVEL role: message", written
// to stderr (journald adds the time stamp under systemd) and, for tests, to an optional sink.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/engine.h"

namespace mipv6::daemon {

std::string_view level_name(core::LogLevel level);  // "error", "warn", "info", "debug"

class Logger {
 public:
  using Sink = std::function<void(core::LogLevel, std::string_view line)>;

  explicit Logger(core::LogLevel level = core::LogLevel::kInfo) : level_(level) {}

  void set_level(core::LogLevel level) { level_ = level; }
  core::LogLevel level() const { return level_; }
  bool enabled(core::LogLevel level) const { return level <= level_; }
  // Replaces stderr as the destination (tests).
  void set_sink(Sink sink) { sink_ = std::move(sink); }

  // "info home_agent: BU from ... -> BA status 0"; `source` may be empty.
  void log(core::LogLevel level, std::string_view source, std::string_view message);
  void error(std::string_view source, std::string_view message) {
    log(core::LogLevel::kError, source, message);
  }
  void warn(std::string_view source, std::string_view message) {
    log(core::LogLevel::kWarn, source, message);
  }
  void info(std::string_view source, std::string_view message) {
    log(core::LogLevel::kInfo, source, message);
  }
  void debug(std::string_view source, std::string_view message) {
    log(core::LogLevel::kDebug, source, message);
  }

 private:
  core::LogLevel level_;
  Sink sink_;
};

}  // namespace mipv6::daemon
