// The ip6tables rules that steer Mobile IPv6 packets into NFQUEUE (DESIGN.md §3, issue 8).
// nftables' `queue` expression is not available on this project's kernels, but the legacy
// ip6tables NFQUEUE target is, with the `ipv6header` and `rt` matches in the raw table's
// PREROUTING chain — before the kernel's extension-header processing, which would drop a Home
// Address option or a Type 2 Routing header with Segments Left 1.
//
// Rules are installed by running the legacy `ip6tables -w` binary (no stable library API
// exists), in the caller's network namespace. Each rule carries `-m comment --comment <tag>`
// (kRuleTag by default), so that what a crashed daemon left behind is recognised and removed
// at the next start (Ip6tablesRuleSet::remove_leftovers), and rules of other software survive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "linux/result.h"
#include "wire/address.h"

namespace mipv6::linux_dp {

inline constexpr std::string_view kRuleTag = "mipv6d";

// One rule, as ip6tables arguments: `-t table -A chain <match...> -j <target...>`.
struct Ip6tablesRule {
  std::string table = "raw";
  std::string chain = "PREROUTING";
  std::vector<std::string> match;   // e.g. {"-m", "rt", "--rt-type", "2"}
  std::vector<std::string> target;  // e.g. {"-j", "NFQUEUE", "--queue-num", "7"}
  friend bool operator==(const Ip6tablesRule&, const Ip6tablesRule&) = default;
};

std::string describe(const Ip6tablesRule& rule);

struct QueueRuleOptions {
  std::uint16_t queue_number = 0;
  std::string input_interface{};  // -i; empty: any
  std::optional<wire::Ipv6Address> destination{};
  std::uint8_t destination_prefix_length = 128;
  // --queue-bypass: accept the packets while no program listens on the queue (instead of
  // dropping them).
  bool bypass = false;
};

// raw PREROUTING: packets with a Destination Options header (where a Home Address option
// travels, RFC 6275 §6.3) → NFQUEUE.
Ip6tablesRule queue_destination_options_rule(const QueueRuleOptions& options);
// raw PREROUTING: packets with a Type 2 Routing header (RFC 6275 §6.4) → NFQUEUE.
Ip6tablesRule queue_type2_routing_rule(const QueueRuleOptions& options);

// The ip6tables (legacy) binary.
class Ip6tables {
 public:
  // Finds `ip6tables-legacy`, or an `ip6tables` whose --version says "legacy", in PATH, /usr/sbin
  // and /sbin. ENOENT when there is none (the nf_tables one cannot queue here).
  static Result<Ip6tables> find();
  // Uses `binary` as given (it must be the legacy one).
  explicit Ip6tables(std::string binary) : binary_(std::move(binary)) {}

  const std::string& binary() const { return binary_; }

  // Appends `rule` tagged with `tag`.
  Status append(const Ip6tablesRule& rule, std::string_view tag);
  // Deletes the rule that append() installed with `tag` (the first identical one).
  Status remove(const Ip6tablesRule& rule, std::string_view tag);
  // Whether that tagged rule is installed (ip6tables -C).
  Result<bool> contains(const Ip6tablesRule& rule, std::string_view tag);
  // `ip6tables -t table -S`: the policies and rules of every chain, one per line.
  Result<std::vector<std::string>> list(std::string_view table);
  // Deletes every rule of `table` whose comment is exactly `tag`. Returns how many.
  Result<std::size_t> remove_tagged(std::string_view table, std::string_view tag);

 private:
  // Runs the binary with "-w" and `arguments`; the output (stdout and stderr) when it exits 0,
  // else an error naming the command, its exit status and what it printed.
  Result<std::string> run(const std::vector<std::string>& arguments);
  // As run(), but returns the exit status too (for -C, whose status 1 means "absent").
  struct Outcome {
    int exit_status = 0;
    std::string output;
  };
  Result<Outcome> execute(const std::vector<std::string>& arguments);

  std::string binary_;
};

// The rules the daemon installed, removed newest first on shutdown (like InstalledState for
// rtnetlink objects). Must be used from the network namespace where the rules live.
class Ip6tablesRuleSet {
 public:
  explicit Ip6tablesRuleSet(Ip6tables& ip6tables, std::string tag = std::string(kRuleTag))
      : ip6tables_(&ip6tables), tag_(std::move(tag)) {}
  Ip6tablesRuleSet(const Ip6tablesRuleSet&) = delete;
  Ip6tablesRuleSet& operator=(const Ip6tablesRuleSet&) = delete;
  // Removes whatever is still recorded (errors cannot be reported: call remove_all() first).
  ~Ip6tablesRuleSet();

  // Installs the rule and records it; nothing is recorded when ip6tables refuses.
  Status install(const Ip6tablesRule& rule);
  // Removes one recorded rule (ENOENT if it was never recorded) and forgets it.
  Status remove(const Ip6tablesRule& rule);
  // Removes every recorded rule, newest first, continuing past failures; a rule that is no
  // longer installed counts as removed. Returns the first failure.
  Status remove_all();

  // Issue 8: "a daemon that crashed leaves state that the next start recognises and cleans":
  // deletes every rule tagged `tag` in `tables` (by default raw, mangle and filter, of those
  // loaded in this namespace). Returns how many were deleted.
  static Result<std::size_t> remove_leftovers(Ip6tables& ip6tables, std::string_view tag = kRuleTag,
                                              std::span<const std::string_view> tables = {});

  const std::vector<Ip6tablesRule>& rules() const { return rules_; }
  const std::string& tag() const { return tag_; }

 private:
  Ip6tables* ip6tables_;
  std::string tag_;
  std::vector<Ip6tablesRule> rules_;
};

// The ip6tables tables loaded in the caller's network namespace (/proc/net/ip6_tables_names).
std::vector<std::string> loaded_ip6tables_tables();

// Splits one line of `ip6tables -S` into arguments (double quotes group, backslash escapes).
std::vector<std::string> split_rule_line(std::string_view line);

}  // namespace mipv6::linux_dp
