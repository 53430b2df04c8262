// Sysctls against the real /proc/sys of a network namespace the test creates (mipv6t-<pid>-sc)
// and removes: values set and read back, restore_all putting the originals back newest first,
// interface names with dots, a vanished interface, an unknown key.
#include "linux/sysctl.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>

#include <unistd.h>

#include "linux/netns.h"

namespace mipv6::linux_dp {
namespace {

using test_util::shell;

using ::testing::HasSubstr;
using ::testing::Not;

class SysctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: sysctl tests need root, SKIPPED !!!";
    auto ns = NetworkNamespace::create("mipv6t-" + std::to_string(::getpid()) + "-sc");
    ASSERT_TRUE(ns) << ns.error().message;
    ns_.emplace(std::move(*ns));
    auto guard = NamespaceGuard::enter(*ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    ASSERT_EQ(std::system("ip link add va type veth peer name vb"), 0);
  }

  void TearDown() override {
    guard_.reset();
    if (ns_) {
      auto s = ns_->remove();
      EXPECT_TRUE(s) << s.error().message;
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-")));
  }

  static std::string value(const std::string& key) {
    auto v = Sysctls::read(key);
    EXPECT_TRUE(v) << v.error().message;
    return v ? *v : std::string("<error>");
  }

  std::optional<NetworkNamespace> ns_;
  std::optional<NamespaceGuard> guard_;
};

TEST_F(SysctlTest, ValuesAreSetReadBackAndRestored) {
  const std::string forwarding = "net/ipv6/conf/va/forwarding";
  const std::string proxy_ndp = "net.ipv6.conf.va.proxy_ndp";
  ASSERT_EQ(value(forwarding), "0");
  ASSERT_EQ(value(proxy_ndp), "0");
  {
    Sysctls sysctls;
    ASSERT_TRUE(sysctls.set(forwarding, "1"));
    ASSERT_TRUE(sysctls.set(proxy_ndp, "1"));
    // Only the first change remembers the original value.
    ASSERT_TRUE(sysctls.set(forwarding, "0"));
    ASSERT_TRUE(sysctls.set(forwarding, "1"));
    EXPECT_EQ(value(forwarding), "1");
    EXPECT_EQ(value("net.ipv6.conf.va.proxy_ndp"), "1");
    EXPECT_EQ(shell("cat /proc/sys/net/ipv6/conf/va/proxy_ndp"), "1\n");
    ASSERT_EQ(sysctls.changed().size(), 2u);
    EXPECT_EQ(sysctls.changed()[0].first, forwarding);
    EXPECT_EQ(sysctls.changed()[0].second, "0");

    auto s = sysctls.restore_all();
    EXPECT_TRUE(s) << s.error().message;
    EXPECT_TRUE(sysctls.changed().empty());
    EXPECT_EQ(value(forwarding), "0");
    EXPECT_EQ(value(proxy_ndp), "0");
  }
}

TEST_F(SysctlTest, WritingTheValueAlreadyThereRecordsNothing) {
  Sysctls sysctls;
  ASSERT_TRUE(sysctls.set("net/ipv6/conf/va/forwarding", "0"));
  EXPECT_TRUE(sysctls.changed().empty());
}

TEST_F(SysctlTest, DestructorRestores) {
  {
    Sysctls sysctls;
    ASSERT_TRUE(sysctls.set("net/ipv6/neigh/va/proxy_delay", "0"));
    EXPECT_EQ(value("net/ipv6/neigh/va/proxy_delay"), "0");
  }
  EXPECT_NE(value("net/ipv6/neigh/va/proxy_delay"), "0");
}

TEST_F(SysctlTest, InterfaceNameWithADotIsReachedThroughTheSlashForm) {
  ASSERT_EQ(std::system("ip link add va.100 type veth peer name vb.100"), 0);
  Sysctls sysctls;
  ASSERT_TRUE(sysctls.set("net/ipv6/conf/va.100/forwarding", "1"));
  EXPECT_EQ(shell("cat /proc/sys/net/ipv6/conf/va.100/forwarding"), "1\n");
  EXPECT_TRUE(sysctls.restore_all());
  EXPECT_EQ(shell("cat /proc/sys/net/ipv6/conf/va.100/forwarding"), "0\n");
}

TEST_F(SysctlTest, VanishedInterfaceCountsAsRestored) {
  Sysctls sysctls;
  ASSERT_TRUE(sysctls.set("net/ipv6/conf/va/forwarding", "1"));
  ASSERT_TRUE(sysctls.set("net/ipv6/conf/lo/forwarding", "1"));
  ASSERT_EQ(std::system("ip link del va"), 0);
  auto s = sysctls.restore_all();
  EXPECT_TRUE(s) << s.error().message;
  EXPECT_EQ(value("net/ipv6/conf/lo/forwarding"), "0");
}

TEST_F(SysctlTest, UnknownKeyIsEnoent) {
  auto read = Sysctls::read("net.ipv6.conf.nosuchif.forwarding");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, ENOENT);
  EXPECT_THAT(read.error().message, HasSubstr("/proc/sys/net/ipv6/conf/nosuchif/forwarding"));
  Sysctls sysctls;
  auto set = sysctls.set("net/ipv6/conf/nosuchif/forwarding", "1");
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, ENOENT);
  EXPECT_TRUE(sysctls.changed().empty());
}

}  // namespace
}  // namespace mipv6::linux_dp
