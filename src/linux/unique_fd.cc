#include "linux/unique_fd.h"

#include <unistd.h>

namespace mipv6::linux_dp {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace mipv6::linux_dp
