// The daemon's state file (issue 8 crash recovery): every InstalledObject kind and the sysctls
// survive a write/read round trip, a damaged file is reported as EBADMSG, and recover_state()
// undoes, inside a network namespace the test creates (mipv6t-<pid>-sf) and removes, what a
// crashed daemon had installed and recorded.
#include "daemon/state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include <unistd.h>

#include "linux/netns.h"
#include "linux/sysctl.h"

namespace mipv6::daemon {
namespace {

using linux_dp::AddressSpec;
using linux_dp::ProxyNeighborSpec;
using linux_dp::RouteSpec;
using linux_dp::RuleSpec;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

wire::Ipv6Address addr(const char* text) {
  return *wire::Ipv6Address::parse(text);
}

std::string shell(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    output += buffer;
  ::pclose(pipe);
  return output;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("mipv6t-" + std::to_string(::getpid()) + "-state");
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "mipv6d.state").string();
  }
  // Also when a test failed half way: the namespace it created goes.
  void TearDown() override {
    std::filesystem::remove_all(directory_);
    if (ns_) {
      auto s = ns_->remove();
      EXPECT_TRUE(s) << s.error().message;
      EXPECT_THAT(shell("ip netns list 2>/dev/null"), Not(HasSubstr(namespace_name())));
    }
  }

  static std::string namespace_name() { return "mipv6t-" + std::to_string(::getpid()) + "-sf"; }

  void write_raw(const std::string& text) { std::ofstream(path_) << text; }

  linux_dp::Error read_error() {
    auto state = read_state_file(path_);
    EXPECT_FALSE(state);
    return state ? linux_dp::Error{} : state.error();
  }

  std::filesystem::path directory_;
  std::string path_;
  std::optional<linux_dp::NetworkNamespace> ns_;
};

RecordedState every_kind() {
  RecordedState state;
  state.objects.push_back(
      AddressSpec{.ifindex = 3,
                  .address = addr("2001:db8:1::1"),
                  .prefix_length = 64,
                  .flags = linux_dp::address_flags::kNoDad | linux_dp::address_flags::kHomeAddress,
                  .valid_lifetime = 600s,
                  .preferred_lifetime = 300s});
  state.objects.push_back(AddressSpec{.ifindex = 4, .address = addr("fe80::1")});
  state.objects.push_back(RouteSpec{.destination = addr("2001:db8:99::"),
                                    .prefix_length = 64,
                                    .gateway = addr("fe80::2"),
                                    .ifindex = 3,
                                    .table = 1092,
                                    .metric = 512,
                                    .source = addr("2001:db8:1::1")});
  state.objects.push_back(RouteSpec{.destination = addr("::"), .prefix_length = 0, .ifindex = 5});
  state.objects.push_back(RuleSpec{
      .fwmark = 0x6d69u, .fwmask = 0xffffffffu, .table = linux_dp::kMainTable, .priority = 1000});
  state.objects.push_back(RuleSpec{.source = addr("2001:db8:1::100"),
                                   .destination = addr("2001:db8:3::"),
                                   .destination_length = 48,
                                   .table = 1091,
                                   .priority = 1001});
  state.objects.push_back(ProxyNeighborSpec{3, addr("2001:db8:1::100")});
  state.sysctls = {{"net/ipv6/conf/eth0.100/forwarding", "0"},
                   {"net.ipv6.conf.eth0.proxy_ndp", "0"}};
  return state;
}

TEST_F(StateFileTest, EveryObjectKindAndTheSysctlsRoundTrip) {
  const RecordedState state = every_kind();
  auto written = write_state_file(path_, state);
  ASSERT_TRUE(written) << written.error().message;
  auto read = read_state_file(path_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, state);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(StateFileTest, FileIsReadableJsonWithAVersion) {
  ASSERT_TRUE(write_state_file(path_, every_kind()));
  const std::string text = slurp(path_);
  EXPECT_THAT(text, HasSubstr("\"version\": 1"));
  EXPECT_THAT(text, HasSubstr("\"2001:db8:99::\""));
  EXPECT_THAT(text, HasSubstr("\"kind\": \"proxy_neighbor\""));
}

TEST_F(StateFileTest, RewritingReplacesTheWholeFile) {
  ASSERT_TRUE(write_state_file(path_, every_kind()));
  ASSERT_TRUE(write_state_file(path_, RecordedState{}));
  auto read = read_state_file(path_);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->objects.empty());
  EXPECT_TRUE(read->sysctls.empty());
}

TEST_F(StateFileTest, MissingFileIsEnoent) {
  auto read = read_state_file(path_);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ENOENT);
}

TEST_F(StateFileTest, TruncatedFileIsEbadmsg) {
  ASSERT_TRUE(write_state_file(path_, every_kind()));
  const std::string text = slurp(path_);
  write_raw(text.substr(0, text.size() / 2));
  EXPECT_EQ(read_error().code, EBADMSG);
  write_raw("");
  EXPECT_EQ(read_error().code, EBADMSG);
}

TEST_F(StateFileTest, CorruptContentIsEbadmsgNamingTheReason) {
  write_raw(R"({"version": 2, "objects": [], "sysctls": []})");
  EXPECT_THAT(read_error().message, HasSubstr("version"));
  write_raw(R"({"version": 1, "sysctls": []})");
  EXPECT_THAT(read_error().message, HasSubstr("objects"));
  write_raw(R"({"version": 1, "objects": [{"kind": "tunnel"}], "sysctls": []})");
  EXPECT_THAT(read_error().message, HasSubstr("tunnel"));
  write_raw(
      R"({"version": 1, "objects": [{"kind": "proxy_neighbor", "ifindex": 1, "address": "nope"}],)"
      R"( "sysctls": []})");
  EXPECT_THAT(read_error().message, HasSubstr("address"));
  write_raw(R"({"version": 1, "objects": [{"kind": "route", "destination": "::",)"
            R"( "prefix_length": 300, "ifindex": 1, "table": 254, "metric": 0, "protocol": 109}],)"
            R"( "sysctls": []})");
  EXPECT_THAT(read_error().message, HasSubstr("prefix_length"));
  write_raw(R"({"version": 1, "objects": [], "sysctls": [{"key": "a", "value": 1}]})");
  EXPECT_THAT(read_error().message, HasSubstr("value"));
  write_raw("[1, 2, 3]");
  EXPECT_EQ(read_error().code, EBADMSG);
}

TEST_F(StateFileTest, NoFileMeansNothingToRecover) {
  auto netlink = linux_dp::Netlink::open();
  ASSERT_TRUE(netlink);
  auto recovered = recover_state(path_, *netlink);
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(*recovered, 0u);
}

TEST_F(StateFileTest, CorruptFileIsReportedAndKept) {
  auto netlink = linux_dp::Netlink::open();
  ASSERT_TRUE(netlink);
  write_raw("{");
  auto recovered = recover_state(path_, *netlink);
  ASSERT_FALSE(recovered);
  EXPECT_EQ(recovered.error().code, EBADMSG);
  EXPECT_TRUE(std::filesystem::exists(path_));
}

// What a crashed daemon left: installed objects and a changed sysctl, all recorded.
TEST_F(StateFileTest, RecoverRemovesWhatWasRecordedRestoresSysctlsAndDeletesTheFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: recovery test needs root, SKIPPED !!!";
  auto ns = linux_dp::NetworkNamespace::create(namespace_name());
  ASSERT_TRUE(ns) << ns.error().message;
  ns_.emplace(std::move(*ns));
  {
    auto guard = linux_dp::NamespaceGuard::enter(*ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    ASSERT_EQ(std::system("ip link add va type veth peer name vb && ip link set va up"), 0);
    auto netlink = linux_dp::Netlink::open();
    ASSERT_TRUE(netlink);
    auto va = netlink->link_index("va");
    ASSERT_TRUE(va);
    const AddressSpec address{
        .ifindex = *va, .address = addr("2001:db8:1::1"), .flags = linux_dp::address_flags::kNoDad};
    const RouteSpec route{
        .destination = addr("2001:db8:99::"), .prefix_length = 64, .ifindex = *va, .table = 1092};
    const RuleSpec rule{.fwmark = 0x6d69u, .table = 1092, .priority = 1000};
    const ProxyNeighborSpec proxy{*va, addr("2001:db8:1::100")};
    // A route the daemon never recorded must survive.
    const RouteSpec foreign{.destination = addr("2001:db8:55::"),
                            .prefix_length = 64,
                            .ifindex = *va,
                            .table = 1092,
                            .protocol = 4};
    RecordedState state;
    state.objects = {address, route, rule, proxy};
    ASSERT_TRUE(netlink->add_address(address));
    ASSERT_TRUE(netlink->add_route(route));
    ASSERT_TRUE(netlink->add_rule(rule));
    ASSERT_TRUE(netlink->add_proxy_neighbor(proxy));
    ASSERT_TRUE(netlink->add_route(foreign));
    auto original = linux_dp::Sysctls::read("net/ipv6/conf/va/forwarding");
    ASSERT_TRUE(original);
    ASSERT_TRUE(linux_dp::Sysctls::write("net/ipv6/conf/va/forwarding", "1"));
    state.sysctls.emplace_back("net/ipv6/conf/va/forwarding", *original);
    // One object is already gone: it still counts as removed.
    ASSERT_EQ(std::system("ip -6 neigh del proxy 2001:db8:1::100 dev va"), 0);
    ASSERT_TRUE(write_state_file(path_, state));

    auto recovered = recover_state(path_, *netlink);
    ASSERT_TRUE(recovered) << recovered.error().message;
    EXPECT_EQ(*recovered, 4u);
    EXPECT_FALSE(std::filesystem::exists(path_));
    EXPECT_THAT(shell("ip -6 addr show dev va"), Not(HasSubstr("2001:db8:1::1")));
    EXPECT_THAT(shell("ip -6 route show table 1092"), Not(HasSubstr("2001:db8:99::")));
    EXPECT_THAT(shell("ip -6 route show table 1092"), HasSubstr("2001:db8:55::"));
    EXPECT_THAT(shell("ip -6 rule show"), Not(HasSubstr("lookup 1092")));
    EXPECT_THAT(shell("ip -6 neigh show proxy"), Not(HasSubstr("2001:db8:1::100")));
    EXPECT_EQ(shell("cat /proc/sys/net/ipv6/conf/va/forwarding"), *original + "\n");
  }
}

}  // namespace
}  // namespace mipv6::daemon
