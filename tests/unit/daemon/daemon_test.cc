// The Daemon as a whole (issue 8), in a network namespace the test creates: what it installs at
// start, crash recovery from a state file, a Mobility Header message carried from the wire to
// the right role and its answer back onto the wire, the control requests, and a shutdown that
// leaves no trace.
#include "daemon/daemon.h"

#include <net/if.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "../linux/linux_test_util.h"
#include "core/signalling.h"
#include "daemon/state_file.h"
#include "linux/netns.h"
#include "linux/raw_socket.h"
#include "wire/mobility.h"

namespace mipv6::daemon {
namespace {

using linux_dp::NamespaceGuard;
using linux_dp::NetworkNamespace;
using linux_dp::test_util::addr;
using linux_dp::test_util::shell;
using ::testing::HasSubstr;
using ::testing::Not;

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: daemon tests need root, SKIPPED !!!";
    logger_.set_sink([this](core::LogLevel, std::string_view line) { log_.emplace_back(line); });
    prefix_ = "mipv6t-" + std::to_string(::getpid());
    dir_ = std::filesystem::temp_directory_path() / (prefix_ + "-daemon");
    std::filesystem::create_directories(dir_);
    ASSERT_NO_FATAL_FAILURE(pair_.create("d", "2001:db8:5::1", "2001:db8:5::2"));
    node_ = &pair_.a();
    peer_ = &pair_.b();
  }

  void TearDown() override {
    stop();
    std::filesystem::remove_all(dir_);
  }

  DaemonConfig correspondent_config() const {
    DaemonConfig config;
    config.path = (dir_ / "mipv6d.toml").string();
    config.node.roles = {RoleKind::kCorrespondent};
    config.node.control_socket = (dir_ / "mipv6d.sock").string();
    config.node.state_file = (dir_ / "mipv6d.state").string();
    config.correspondent = CorrespondentSection{};
    return config;
  }

  // Starts the daemon inside the node's namespace (its sockets stay there).
  void start(DaemonConfig config) {
    auto guard = NamespaceGuard::enter(*node_);
    ASSERT_TRUE(guard);
    auto daemon = Daemon::start(std::move(config), logger_);
    ASSERT_TRUE(daemon) << daemon.error().message;
    daemon_ = std::move(*daemon);
  }

  // Shuts the daemon down inside its namespace: ip6tables runs as a child process in the
  // namespace of the calling thread.
  void stop() {
    if (!daemon_) return;
    auto guard = NamespaceGuard::enter(*node_);
    ASSERT_TRUE(guard);
    EXPECT_TRUE(daemon_->shutdown());
    daemon_.reset();
  }

  // Runs the daemon's loop for `ms` milliseconds, inside its namespace.
  void serve(int ms) {
    auto guard = NamespaceGuard::enter(*node_);
    ASSERT_TRUE(guard);
    auto timer = daemon_->loop().add_timer([this] { daemon_->loop().stop(); });
    ASSERT_TRUE(timer);
    ASSERT_TRUE(daemon_->loop().arm_timer(
        *timer, linux_dp::MonotonicClock::now() + std::chrono::milliseconds(ms)));
    ASSERT_TRUE(daemon_->run());
    (void)daemon_->loop().remove_timer(*timer);
  }

  std::string in_node(const std::string& command) const {
    return shell("ip netns exec " + node_->name() + " " + command + " 2>&1");
  }

  std::string prefix_;
  std::filesystem::path dir_;
  linux_dp::test_util::VethPair pair_;
  const NetworkNamespace* node_ = nullptr;  // the daemon's: "va", 2001:db8:5::1
  const NetworkNamespace* peer_ = nullptr;  // "vb", 2001:db8:5::2
  std::vector<std::string> log_;
  Logger logger_{core::LogLevel::kDebug};
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(DaemonTest, StartInstallsBypassRuleQueueRulesAndStateFile) {
  start(correspondent_config());
  EXPECT_THAT(in_node("ip -6 rule"), HasSubstr("1000:\tfrom all fwmark 0x6d69 lookup main"));
  EXPECT_THAT(in_node("ip -6 rule"), HasSubstr("1003:\tfrom all lookup 1093"));
  const std::string rules = in_node("ip6tables-legacy -t raw -S PREROUTING");
  EXPECT_THAT(rules, HasSubstr("--header ipv6-opts --soft -m comment --comment mipv6d -j NFQUEUE "
                               "--queue-num 109 --queue-bypass"));
  // A correspondent receives Home Address options (§9.3.1), never a Type 2 Routing header:
  // that rule is a mobile node's only (every packet of the namespace would pass it).
  EXPECT_THAT(rules, Not(HasSubstr("--rt-type 2")));
  auto state = read_state_file((dir_ / "mipv6d.state").string());
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_GE(state->objects.size(), 2u);  // the bypass rule and the correspondent's rule
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mipv6d.sock"));
}

TEST_F(DaemonTest, ShutdownLeavesNoTrace) {
  const std::string rules_before = in_node("ip -6 rule");
  const std::string links_before = in_node("ip -o link");
  start(correspondent_config());
  stop();
  EXPECT_EQ(in_node("ip -6 rule"), rules_before);
  EXPECT_EQ(in_node("ip -o link"), links_before);  // the TUN is gone
  EXPECT_THAT(in_node("ip6tables-legacy -t raw -S"), Not(HasSubstr("mipv6d")));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "mipv6d.state"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "mipv6d.sock"));
}

// Issue 8: "a daemon that crashed leaves state that the next start recognises and cleans".
TEST_F(DaemonTest, StartRemovesWhatACrashedDaemonLeft) {
  const std::string n = node_->name();
  // What a killed daemon leaves: a tagged rule and route, an ip6tables rule, and a proxy entry
  // known only from its state file.
  ASSERT_EQ(std::system(("ip -n " + n + " -6 rule add priority 1002 lookup 1092 proto 109 && " +
                         "ip -n " + n + " -6 route add 2001:db8:9::1/128 dev va proto 109 && " +
                         "ip -n " + n + " -6 neigh add proxy 2001:db8:5::99 dev va && " +
                         "ip netns exec " + n +
                         " ip6tables-legacy -t raw -A PREROUTING -m comment --comment mipv6d "
                         "-j ACCEPT")
                            .c_str()),
            0);
  std::uint32_t dn_index = 0;
  {
    auto guard = NamespaceGuard::enter(*node_);
    dn_index = ::if_nametoindex("va");
  }
  RecordedState left;
  left.objects.push_back(linux_dp::ProxyNeighborSpec{dn_index, addr("2001:db8:5::99")});
  ASSERT_TRUE(write_state_file((dir_ / "mipv6d.state").string(), left));

  start(correspondent_config());
  EXPECT_THAT(in_node("ip -6 rule"), Not(HasSubstr("lookup 1092")));
  EXPECT_THAT(in_node("ip -6 route show proto 109"), Not(HasSubstr("2001:db8:9::1")));
  EXPECT_THAT(in_node("ip -6 neigh show proxy"), Not(HasSubstr("2001:db8:5::99")));
  EXPECT_THAT(in_node("ip6tables-legacy -t raw -S"), Not(HasSubstr("-j ACCEPT")));
  bool warned = false;
  for (const std::string& line : log_)
    warned = warned || line.find("left by a previous mipv6d") != std::string::npos;
  EXPECT_TRUE(warned);
}

// RFC 6275 §9.4.1: a Home Test Init reaches the correspondent role through the daemon's Mobility
// Header socket and dispatch; its Home Test leaves by the daemon's sender.
TEST_F(DaemonTest, HomeTestInitFromTheWireIsAnsweredWithHomeTest_9_4_1) {
  start(correspondent_config());
  std::optional<linux_dp::RawSocket> peer_socket;
  {
    auto guard = NamespaceGuard::enter(*peer_);
    auto socket = linux_dp::RawSocket::open_mobility();
    ASSERT_TRUE(socket);
    peer_socket.emplace(std::move(*socket));
  }
  wire::HomeTestInit hoti;
  hoti.home_init_cookie = 0x0102030405060708;
  wire::MobilityHeader mh;
  mh.message = hoti;
  wire::Bytes bytes;
  ASSERT_TRUE(wire::encode_mobility_header(mh, bytes));
  // The kernel fills the checksum (IPV6_CHECKSUM on the Mobility Header socket).
  ASSERT_TRUE(peer_socket->send(bytes, addr("2001:db8:5::1")));
  serve(300);

  std::array<std::byte, 2048> buffer{};
  auto received = peer_socket->receive(buffer);
  ASSERT_TRUE(received) << received.error().message;
  auto reply = wire::decode_mobility_header(wire::ByteSpan(buffer.data(), received->length));
  ASSERT_TRUE(reply);
  const auto* hot = std::get_if<wire::HomeTest>(&reply->message);
  ASSERT_NE(hot, nullptr);
  EXPECT_EQ(hot->home_init_cookie, hoti.home_init_cookie);
  EXPECT_EQ(received->source, addr("2001:db8:5::1"));
  EXPECT_EQ(daemon_->counters().mh_received, 1u);
}

// A second daemon in the same namespace must fail before its crash recovery, which would
// otherwise remove the running daemon's rules as "left behind".
TEST_F(DaemonTest, SecondDaemonInTheSameNamespaceFailsAndLeavesTheFirstIntact) {
  start(correspondent_config());
  const std::string rules = in_node("ip -6 rule");
  DaemonConfig second = correspondent_config();
  second.node.control_socket = (dir_ / "second.sock").string();
  second.node.state_file = (dir_ / "second.state").string();
  auto guard = NamespaceGuard::enter(*node_);
  ASSERT_TRUE(guard);
  auto refused = Daemon::start(std::move(second), logger_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EBUSY);
  EXPECT_THAT(refused.error().message, HasSubstr("another mipv6d already runs"));
  EXPECT_EQ(in_node("ip -6 rule"), rules);
  EXPECT_THAT(in_node("ip6tables-legacy -t raw -S"), HasSubstr("mipv6d"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "mipv6d.state"));
}

TEST_F(DaemonTest, ControlRequestsShowStatsConfigAndRefuseAbsentTables) {
  start(correspondent_config());
  auto stats = daemon_->handle_request({{"command", "show"}, {"table", "stats"}});
  ASSERT_TRUE(stats["ok"].get<bool>());
  EXPECT_TRUE(stats["result"].contains("daemon"));
  EXPECT_TRUE(stats["result"].contains("correspondent"));
  EXPECT_FALSE(stats["result"].contains("home_agent"));
  auto config = daemon_->handle_request({{"command", "show"}, {"table", "config"}});
  ASSERT_TRUE(config["ok"].get<bool>());
  EXPECT_EQ(config["result"]["node"]["roles"], nlohmann::json::array({"correspondent"}));
  auto bul = daemon_->handle_request({{"command", "show"}, {"table", "bul"}});
  EXPECT_FALSE(bul["ok"].get<bool>());
  EXPECT_THAT(bul["error"].get<std::string>(), HasSubstr("mobile_node"));
  auto bc = daemon_->handle_request({{"command", "show"}, {"table", "bc"}});
  ASSERT_TRUE(bc["ok"].get<bool>());
  EXPECT_TRUE(bc["result"]["bindings"].empty());
}

// SIGHUP / mipv6ctl reload: a broken file keeps the running configuration, a good one applies
// the log level and names what needs a restart.
TEST_F(DaemonTest, ReloadKeepsConfigurationWhenTheFileIsBroken) {
  DaemonConfig config = correspondent_config();
  const std::string socket = config.node.control_socket;
  const std::string state = config.node.state_file;
  std::ofstream(config.path) << "[node]\nroles = [\"correspondent\"\n";
  start(config);
  auto broken = daemon_->handle_request({{"command", "reload"}});
  EXPECT_FALSE(broken["ok"].get<bool>());
  EXPECT_THAT(broken["error"].get<std::string>(), HasSubstr("mipv6d.toml:"));
  std::ofstream(config.path) << "[node]\nroles = [\"correspondent\", \"home_agent\"]\n"
                             << "control_socket = \"" << socket << "\"\nstate_file = \"" << state
                             << "\"\nlog_level = \"warn\"\n[home_agent]\ninterface = \"va\"\n";
  auto good = daemon_->handle_request({{"command", "reload"}});
  ASSERT_TRUE(good["ok"].get<bool>()) << good.dump();
  EXPECT_EQ(good["result"]["restart_needed"], nlohmann::json::array({"node.roles"}));
  EXPECT_EQ(logger_.level(), core::LogLevel::kWarn);
  EXPECT_EQ(daemon_->counters().reload_failures, 1u);
}

}  // namespace
}  // namespace mipv6::daemon
