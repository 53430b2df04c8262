// mipv6d: the Mobile IPv6 daemon (docs/mipv6d.md). Mobile node, home agent and correspondent
// node (RFC 6275) on a stock Linux kernel, in any combination, configured by one TOML file.
//
// Exit status: 0 after a clean shutdown (or a valid --check), 1 when the daemon could not start
// or stopped on an error, 2 for a usage or configuration error.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/logger.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

std::string roles_of(const mipv6::daemon::DaemonConfig& config) {
  std::string out;
  for (mipv6::daemon::RoleKind role : config.node.roles) {
    if (!out.empty()) out += ", ";
    out += mipv6::daemon::role_name(role);
  }
  return out;
}

int run_daemon(mipv6::daemon::DaemonConfig config) {
  mipv6::daemon::Logger logger(config.node.log_level);
  if (geteuid() != 0)
    logger.warn("mipv6d",
                "not running as root: raw sockets, NFQUEUE and routing changes need "
                "CAP_NET_ADMIN and CAP_NET_RAW");
  logger.info("mipv6d", "starting with " + config.path + " (roles: " + roles_of(config) + ")");
  auto daemon = mipv6::daemon::Daemon::start(std::move(config), logger);
  if (!daemon) {
    logger.error("mipv6d", "could not start: " + daemon.error().message);
    return kExitFailure;
  }
  auto ran = (*daemon)->run();
  auto stopped = (*daemon)->shutdown();
  if (!ran) {
    logger.error("mipv6d", "event loop failed: " + ran.error().message);
    return kExitFailure;
  }
  return stopped ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "mipv6d — Mobile IPv6 (RFC 6275) daemon: mobile node, home agent and correspondent node "
      "for stock Linux kernels.\nThe roles, interfaces and addresses come from the configuration "
      "file (docs/mipv6d.conf.md). Control it with mipv6ctl; SIGHUP reloads the configuration, "
      "SIGTERM or SIGINT stops it and removes everything it installed.",
      "mipv6d"};
  std::string config_path = "/etc/mipv6d.toml";
  bool check = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)")->capture_default_str();
  app.add_flag("--check", check, "validate the configuration file and exit (0: valid, 2: not)");
  app.set_version_flag("--version", "mipv6d 0.1.0");
  app.footer(
      "Exit status: 0 clean shutdown or valid --check, 1 could not start or failed, 2 usage or "
      "configuration error.\nSee docs/mipv6d.md, docs/mipv6d.conf.md and docs/mipv6ctl.md.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }

  auto config = mipv6::daemon::load_config(config_path);
  if (!config) {
    std::fprintf(stderr, "mipv6d: %s\n", config.error().message.c_str());
    return kExitConfig;
  }
  if (check) {
    std::printf("%s: configuration is valid (roles: %s)\n", config_path.c_str(),
                roles_of(*config).c_str());
    return 0;
  }
  return run_daemon(std::move(*config));
}
