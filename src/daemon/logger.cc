#include "daemon/logger.h"

#include <cstdio>

namespace mipv6::daemon {

std::string_view level_name(core::LogLevel level) {
  switch (level) {
    case core::LogLevel::kError:
      return "error";
    case core::LogLevel::kWarn:
      return "warn";
    case core::LogLevel::kInfo:
      return "info";
    case core::LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

void Logger::log(core::LogLevel level, std::string_view source, std::string_view message) {
  if (!enabled(level)) return;
  std::string line(level_name(level));
  line += ' ';
  if (!source.empty()) {
    line += source;
    line += ": ";
  }
  line += message;
  if (sink_) {
    sink_(level, line);
    return;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace mipv6::daemon
