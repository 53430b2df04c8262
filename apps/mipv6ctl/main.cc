// mipv6ctl: asks a running mipv6d for its tables and statistics, or to reload / flush, over the
// daemon's control socket (docs/mipv6ctl.md).
#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/control.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitDaemonError = 1;  // the daemon answered {"ok":false}
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;  // no answer from the daemon

constexpr const char* kDescription =
    "mipv6ctl: control a running mipv6d (Mobile IPv6 daemon) over its control socket.";
constexpr const char* kFooter = R"(Tables of `show`:
  bc      binding cache (home agent and correspondent node)
  bul     binding update list and home addresses (mobile node)
  hal     home agents list (home agent)
  stats   counters of the daemon and of each role, every drop reason included
  config  the configuration in effect

Exit status: 0 ok, 1 the daemon refused the request (its error is printed),
2 usage error, 3 the daemon cannot be reached (or did not answer).
Examples:
  mipv6ctl show bc
  mipv6ctl --json show stats
  mipv6ctl --socket /run/mipv6d-test.sock reload
See docs/mipv6ctl.md (protocol and output shapes) and mipv6d(8).)";

struct Options {
  std::string socket = mipv6::daemon::kDefaultControlSocket;
  bool json = false;
  double timeout_s = 5.0;
  std::string table;
};

int run(const nlohmann::json& request, const std::string& table, const Options& options) {
  auto timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_s * 1000.0));
  auto response = mipv6::daemon::control_request(options.socket, request, timeout);
  if (!response) {
    std::cerr << "mipv6ctl: " << response.error().message << "\n";
    return kExitUnreachable;
  }
  if (!response->value("ok", false)) {
    auto error = response->find("error");
    std::cerr << "mipv6ctl: mipv6d: "
              << (error != response->end() && error->is_string() ? error->get<std::string>()
                                                                 : std::string("request failed"))
              << "\n";
    return kExitDaemonError;
  }
  const nlohmann::json result = response->value("result", nlohmann::json());
  if (options.json)
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    std::cout << mipv6::daemon::render_text(table, result);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(kDescription, "mipv6ctl");
  app.footer(kFooter);
  app.require_subcommand(1, 1);
  app.fallthrough();  // `mipv6ctl show bc --json` as well as `mipv6ctl --json show bc`
  Options options;
  app.add_option("--socket,-s", options.socket, "Control socket of mipv6d")
      ->type_name("PATH")
      ->capture_default_str();
  app.add_flag("--json,-j", options.json, "Print the result as JSON instead of text");
  app.add_option("--timeout", options.timeout_s, "Seconds to wait for the answer")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  CLI::App* show = app.add_subcommand("show", "Print a table: bc, bul, hal, stats or config");
  show->add_option("table", options.table, "Which table")
      ->required()
      ->check(CLI::IsMember({"bc", "bul", "hal", "stats", "config"}))
      ->type_name("bc|bul|hal|stats|config");
  CLI::App* reload =
      app.add_subcommand("reload", "Re-read the configuration file and apply it (like SIGHUP)");
  CLI::App* flush = app.add_subcommand("flush", "Forget the bindings of every role");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (show->parsed())
    return run({{"command", "show"}, {"table", options.table}}, options.table, options);
  if (reload->parsed()) return run({{"command", "reload"}}, "reload", options);
  if (flush->parsed()) return run({{"command", "flush"}}, "flush", options);
  return kExitUsage;
}
