#include "linux/ip6tables.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "linux/unique_fd.h"

namespace mipv6::linux_dp {
namespace {

// How long `-w` waits for the xtables lock held by another ip6tables run, in seconds.
constexpr std::string_view kLockWaitSeconds = "10";
constexpr std::array<std::string_view, 3> kDefaultTables = {"raw", "mangle", "filter"};

struct ProgramOutcome {
  int exit_status = 0;
  std::string output;
};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

// Runs argv[0] (a path) without a shell, so that no argument is ever interpreted, with stdout
// and stderr captured together and stdin empty.
Result<ProgramOutcome> run_program(const std::vector<std::string>& argv) {
  const std::string what = join(argv);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error(what + ": pipe");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  std::vector<char*> args;
  std::vector<std::string> storage = argv;
  for (auto& a : storage)
    args.push_back(a.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  // The daemon blocks the signals its event loop reads through signalfd; the child must not
  // inherit that mask.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int spawned = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return make_error(what, spawned);
  write_end.reset();

  ProgramOutcome outcome;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    outcome.output.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error(what + ": waitpid");
  }
  outcome.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::vector<std::string> search_directories() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest(path);
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto dir = rest.substr(0, colon);
      if (!dir.empty()) dirs.emplace_back(dir);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/sbin");
  return dirs;
}

bool says_legacy(const std::string& binary) {
  auto version = run_program({binary, "--version"});
  return version && version->exit_status == 0 &&
         version->output.find("(legacy)") != std::string::npos;
}

std::vector<std::string> rule_arguments(std::string_view operation, const Ip6tablesRule& rule,
                                        std::string_view tag) {
  std::vector<std::string> args{"-t", rule.table, std::string(operation), rule.chain};
  args.insert(args.end(), rule.match.begin(), rule.match.end());
  for (std::string_view word :
       {std::string_view("-m"), std::string_view("comment"), std::string_view("--comment"), tag})
    args.emplace_back(word);
  args.insert(args.end(), rule.target.begin(), rule.target.end());
  return args;
}

Ip6tablesRule queue_rule(const QueueRuleOptions& options, std::vector<std::string> header_match) {
  Ip6tablesRule rule;
  if (!options.input_interface.empty()) rule.match = {"-i", options.input_interface};
  if (options.destination) {
    rule.match.insert(rule.match.end(),
                      {"-d", options.destination->to_string() + "/" +
                                 std::to_string(options.destination_prefix_length)});
  }
  rule.match.insert(rule.match.end(), header_match.begin(), header_match.end());
  rule.target = {"-j", "NFQUEUE", "--queue-num", std::to_string(options.queue_number)};
  if (options.bypass) rule.target.emplace_back("--queue-bypass");
  return rule;
}

bool has_tag(const std::vector<std::string>& words, std::string_view tag) {
  for (std::size_t i = 0; i + 1 < words.size(); ++i) {
    if (words[i] == "--comment" && words[i + 1] == tag) return true;
  }
  return false;
}

}  // namespace

std::string describe(const Ip6tablesRule& rule) {
  std::vector<std::string> words{"-t", rule.table, "-A", rule.chain};
  words.insert(words.end(), rule.match.begin(), rule.match.end());
  words.insert(words.end(), rule.target.begin(), rule.target.end());
  return "ip6tables " + join(words);
}

Ip6tablesRule queue_destination_options_rule(const QueueRuleOptions& options) {
  // `--soft`: any packet that has the header, whatever else it has (ip6t_ipv6header).
  return queue_rule(options, {"-m", "ipv6header", "--header", "dst", "--soft"});
}

Ip6tablesRule queue_type2_routing_rule(const QueueRuleOptions& options) {
  return queue_rule(options, {"-m", "rt", "--rt-type", "2"});
}

std::vector<std::string> split_rule_line(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if ((c == ' ' || c == '\t' || c == '\n') && !quoted) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// ---------------------------------------------------------------------------------------------

Result<Ip6tables> Ip6tables::find() {
  for (const auto& dir : search_directories()) {
    if (std::string legacy = dir + "/ip6tables-legacy"; is_executable(legacy))
      return Ip6tables(legacy);
  }
  for (const auto& dir : search_directories()) {
    if (std::string plain = dir + "/ip6tables"; is_executable(plain) && says_legacy(plain))
      return Ip6tables(plain);
  }
  return make_error("no legacy ip6tables (the nf_tables one cannot use NFQUEUE here)", ENOENT);
}

Result<Ip6tables::Outcome> Ip6tables::execute(const std::vector<std::string>& arguments) {
  std::vector<std::string> argv{binary_, "-w", std::string(kLockWaitSeconds)};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  auto outcome = run_program(argv);
  if (!outcome) return outcome.error();
  return Outcome{outcome->exit_status, std::move(outcome->output)};
}

Result<std::string> Ip6tables::run(const std::vector<std::string>& arguments) {
  auto outcome = execute(arguments);
  if (!outcome) return outcome.error();
  if (outcome->exit_status != 0) {
    std::string printed = outcome->output;
    while (!printed.empty() && printed.back() == '\n')
      printed.pop_back();
    return Error{0, "ip6tables " + join(arguments) + ": exit status " +
                        std::to_string(outcome->exit_status) + ": " + printed};
  }
  return std::move(outcome->output);
}

Status Ip6tables::append(const Ip6tablesRule& rule, std::string_view tag) {
  auto r = run(rule_arguments("-A", rule, tag));
  if (!r) return r.error();
  return {};
}

Status Ip6tables::remove(const Ip6tablesRule& rule, std::string_view tag) {
  auto r = run(rule_arguments("-D", rule, tag));
  if (r) return {};
  auto present = contains(rule, tag);
  if (present && !*present) return make_error(describe(rule) + ": not installed", ENOENT);
  return r.error();
}

Result<bool> Ip6tables::contains(const Ip6tablesRule& rule, std::string_view tag) {
  auto outcome = execute(rule_arguments("-C", rule, tag));
  if (!outcome) return outcome.error();
  // ip6tables -C: 0 present, 1 absent, 2 a rule it cannot even parse.
  if (outcome->exit_status == 0) return true;
  if (outcome->exit_status == 1) return false;
  return Error{0, describe(rule) + ": check failed: " + outcome->output};
}

Result<std::vector<std::string>> Ip6tables::list(std::string_view table) {
  auto output = run({"-t", std::string(table), "-S"});
  if (!output) return output.error();
  std::vector<std::string> lines;
  std::string_view rest(*output);
  while (!rest.empty()) {
    auto end = rest.find('\n');
    if (auto line = rest.substr(0, end); !line.empty()) lines.emplace_back(line);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return lines;
}

Result<std::size_t> Ip6tables::remove_tagged(std::string_view table, std::string_view tag) {
  auto lines = list(table);
  if (!lines) return lines.error();
  std::size_t removed = 0;
  for (const auto& line : *lines) {
    auto words = split_rule_line(line);
    if (words.size() < 2 || words[0] != "-A" || !has_tag(words, tag)) continue;
    // The listing is in the form -A takes; the same words with -D delete that rule.
    words[0] = "-D";
    words.insert(words.begin(), {"-t", std::string(table)});
    auto r = run(words);
    if (!r) return r.error();
    ++removed;
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------

Ip6tablesRuleSet::~Ip6tablesRuleSet() {
  (void)remove_all();
}

Status Ip6tablesRuleSet::install(const Ip6tablesRule& rule) {
  auto s = ip6tables_->append(rule, tag_);
  if (s) rules_.push_back(rule);
  return s;
}

Status Ip6tablesRuleSet::remove(const Ip6tablesRule& rule) {
  auto it = std::find(rules_.rbegin(), rules_.rend(), rule);
  if (it == rules_.rend()) return make_error(describe(rule) + ": not installed by us", ENOENT);
  auto s = ip6tables_->remove(rule, tag_);
  if (!s && s.error().code != ENOENT) return s;
  rules_.erase(std::next(it).base());
  return {};
}

Status Ip6tablesRuleSet::remove_all() {
  Status first;
  std::vector<Ip6tablesRule> failed;
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    auto s = ip6tables_->remove(*it, tag_);
    if (s || s.error().code == ENOENT) continue;
    if (first) first = s;
    failed.insert(failed.begin(), *it);
  }
  rules_ = std::move(failed);
  return first;
}

std::vector<std::string> loaded_ip6tables_tables() {
  std::vector<std::string> tables;
  std::ifstream names("/proc/net/ip6_tables_names");
  for (std::string name; std::getline(names, name);)
    if (!name.empty()) tables.push_back(name);
  return tables;
}

Result<std::size_t> Ip6tablesRuleSet::remove_leftovers(Ip6tables& ip6tables, std::string_view tag,
                                                       std::span<const std::string_view> tables) {
  const auto loaded = loaded_ip6tables_tables();
  const bool defaults = tables.empty();
  if (defaults) tables = kDefaultTables;
  std::size_t removed = 0;
  for (auto table : tables) {
    // Listing a table loads it into the namespace, and a loaded table hooks every packet (its
    // empty chains included: measured as 6 % of the tunnel's CPU, issue 8). One not loaded holds
    // nothing, so the default sweep looks only at the loaded ones.
    if (defaults && std::find(loaded.begin(), loaded.end(), table) == loaded.end()) continue;
    auto n = ip6tables.remove_tagged(table, tag);
    if (!n) return n.error();
    removed += *n;
  }
  return removed;
}

}  // namespace mipv6::linux_dp
