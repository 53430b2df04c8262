// Named network namespaces: created empty, listed by `ip netns`, entered and left by a thread,
// and removed without a trace.
#include "linux/netns.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <optional>

#include <net/if.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mipv6::linux_dp {
namespace {

using test_util::shell;

using ::testing::HasSubstr;
using ::testing::Not;

ino_t namespace_inode() {
  struct stat st {};
  return ::stat("/proc/thread-self/ns/net", &st) == 0 ? st.st_ino : 0;
}

class NetworkNamespaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: namespace tests need root, SKIPPED !!!";
  }
  void TearDown() override {
    EXPECT_THAT(shell("ip netns list 2>/dev/null"), Not(HasSubstr(prefix_)));
  }
  const std::string prefix_ = "mipv6t-" + std::to_string(::getpid()) + "-";
};

TEST_F(NetworkNamespaceTest, CreatedNamespaceIsListedAndRemovedByDestruction) {
  {
    auto ns = NetworkNamespace::create(prefix_ + "a");
    ASSERT_TRUE(ns) << ns.error().message;
    EXPECT_EQ(ns->name(), prefix_ + "a");
    EXPECT_THAT(shell("ip netns list 2>/dev/null"), HasSubstr(prefix_ + "a"));
    // iproute2 can use it like one of its own.
    EXPECT_THAT(shell("ip -n " + prefix_ + "a link show"), HasSubstr("lo:"));
  }
  EXPECT_THAT(shell("ip netns list 2>/dev/null"), Not(HasSubstr(prefix_ + "a")));
}

TEST_F(NetworkNamespaceTest, SecondNamespaceWithTheSameNameIsRefused) {
  auto first = NetworkNamespace::create(prefix_ + "dup");
  ASSERT_TRUE(first);
  auto second = NetworkNamespace::create(prefix_ + "dup");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EEXIST);
  EXPECT_THAT(second.error().message, HasSubstr(prefix_ + "dup"));
  // The refused attempt did not take the first one down.
  EXPECT_THAT(shell("ip netns list 2>/dev/null"), HasSubstr(prefix_ + "dup"));
}

TEST_F(NetworkNamespaceTest, NamesWithASlashAreRefused) {
  auto ns = NetworkNamespace::create("mipv6t-../etc");
  ASSERT_FALSE(ns);
  EXPECT_EQ(ns.error().code, EINVAL);
}

TEST_F(NetworkNamespaceTest, GuardEntersTheNamespaceAndLeavesOnDestruction) {
  auto ns = NetworkNamespace::create(prefix_ + "g");
  ASSERT_TRUE(ns);
  ASSERT_EQ(std::system(
                ("ip -n " + ns->name() + " link add mipv6t0 type veth peer name mipv6t1").c_str()),
            0);
  ino_t outside = namespace_inode();
  EXPECT_EQ(::if_nametoindex("mipv6t0"), 0u);
  {
    auto guard = NamespaceGuard::enter(*ns);
    ASSERT_TRUE(guard) << guard.error().message;
    EXPECT_NE(namespace_inode(), outside);
    EXPECT_NE(::if_nametoindex("mipv6t0"), 0u);
  }
  EXPECT_EQ(namespace_inode(), outside);
  EXPECT_EQ(::if_nametoindex("mipv6t0"), 0u);
}

TEST_F(NetworkNamespaceTest, ExplicitRemoveEmptiesTheObject) {
  auto ns = NetworkNamespace::create(prefix_ + "r");
  ASSERT_TRUE(ns);
  ASSERT_TRUE(ns->remove());
  EXPECT_TRUE(ns->name().empty());
  EXPECT_EQ(ns->fd(), -1);
  EXPECT_TRUE(ns->remove());  // idempotent
}

}  // namespace
}  // namespace mipv6::linux_dp
