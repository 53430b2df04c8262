#include "linux/result.h"

#include <cerrno>
#include <cstring>

namespace mipv6::linux_dp {

Error make_error(std::string_view what, int code) {
  std::string message(what);
  message += ": ";
  message += std::strerror(code);
  return Error{code, std::move(message)};
}

Error errno_error(std::string_view what) {
  return make_error(what, errno);
}

}  // namespace mipv6::linux_dp
