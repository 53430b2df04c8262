// The daemon's state file (issue 8: "a daemon that crashed leaves state that the next start
// recognises and cleans"). While running, the daemon rewrites it after every change to what it
// installed in the kernel and to the sysctls it changed; a clean shutdown deletes it. A file
// found at start-up is therefore what a crashed daemon left behind: recover_state() undoes it.
//
// JSON (human readable, for an operator inspecting a host after a crash):
//   {"version": 1,
//    "objects": [{"kind": "route", "destination": "2001:db8::1", "prefix_length": 128, ...}],
//    "sysctls": [{"key": "net/ipv6/conf/eth0/forwarding", "value": "0"}]}
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "linux/result.h"
#include "linux/route_netlink.h"

namespace mipv6::daemon {

inline constexpr int kStateFileVersion = 1;

struct RecordedState {
  std::vector<linux_dp::InstalledObject> objects;            // in the order they were installed
  std::vector<std::pair<std::string, std::string>> sysctls;  // key, original value
  friend bool operator==(const RecordedState&, const RecordedState&) = default;
};

// Atomic replacement: writes `path`.tmp, fsyncs it, renames it over `path` and fsyncs the
// directory, so that a crash leaves either the old or the new file, never half of one.
linux_dp::Status write_state_file(const std::string& path, const RecordedState& state);

// ENOENT when there is no file; EBADMSG (the message says why) when it is not a state file this
// version wrote (corrupt, truncated, another version).
linux_dp::Result<RecordedState> read_state_file(const std::string& path);

// Removes every recorded object, newest first (one already gone counts as removed), writes the
// recorded original sysctl values back (newest first; a vanished interface counts as restored),
// then deletes the file. Returns how many objects it removed; 0 when there is no file. A corrupt
// file is reported (EBADMSG) and left in place for the operator. On a removal failure the file
// is kept too, so that the next attempt sees what is still there; the first failure is returned.
linux_dp::Result<std::size_t> recover_state(const std::string& path, linux_dp::Netlink& netlink);

}  // namespace mipv6::daemon
