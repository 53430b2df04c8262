// Kernel parameters under /proc/sys that the daemon changes (issue 8): forwarding and proxy_ndp
// on a home agent's home link, proxy_delay 0 (DESIGN.md §3: otherwise proxied answers wait up to
// 0.8 s), accept_ra on a mobile node's interfaces. Each value changed is remembered with the
// value it had, and restore_all() (or the destructor) puts the old values back, newest first.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "linux/result.h"

namespace mipv6::linux_dp {

class Sysctls {
 public:
  Sysctls() = default;
  Sysctls(const Sysctls&) = delete;
  Sysctls& operator=(const Sysctls&) = delete;
  ~Sysctls();  // restore_all(), errors ignored

  // The value of `key` ("net/ipv6/conf/eth0/forwarding", or with dots), trailing newline
  // removed. ENOENT for an unknown key.
  static Result<std::string> read(std::string_view key);
  // Writes `value` without remembering anything (crash recovery putting recorded values back).
  static Status write(std::string_view key, std::string_view value);
  // Writes `value`, remembering the previous value the first time `key` is changed. Writing the
  // value already there records nothing.
  Status set(std::string_view key, std::string_view value);
  // Puts every remembered value back, newest first, continuing past failures (a key whose
  // interface is gone counts as restored). Returns the first failure.
  Status restore_all();

  // key, original value — in the order they were first changed.
  const std::vector<std::pair<std::string, std::string>>& changed() const { return changed_; }

 private:
  std::vector<std::pair<std::string, std::string>> changed_;
};

}  // namespace mipv6::linux_dp
