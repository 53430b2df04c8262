// The ip6tables rules that feed NFQUEUE (DESIGN.md §3), installed in a network namespace each
// test creates and removes: how they look in `ip6tables -t raw -S`, their removal newest first,
// and the clean-up of a crashed daemon's rules that leaves everyone else's alone.
#include "linux/ip6tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>

#include <unistd.h>

#include "linux/netns.h"

namespace mipv6::linux_dp {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SplitRuleLine, QuotesGroupWordsAndBackslashesEscape) {
  EXPECT_THAT(
      split_rule_line("-A INPUT -m comment --comment \"two words\" -j ACCEPT"),
      ElementsAre("-A", "INPUT", "-m", "comment", "--comment", "two words", "-j", "ACCEPT"));
  EXPECT_THAT(split_rule_line("  --comment \"say \\\"hi\\\"\"  x "),
              ElementsAre("--comment", "say \"hi\"", "x"));
  EXPECT_THAT(split_rule_line("--comment \"\""), ElementsAre("--comment", ""));
}

TEST(QueueRules, CarryTheHeaderMatchesOfDesign3) {
  QueueRuleOptions options;
  options.queue_number = 4;
  EXPECT_EQ(describe(queue_destination_options_rule(options)),
            "ip6tables -t raw -A PREROUTING -m ipv6header --header dst --soft -j NFQUEUE "
            "--queue-num 4");
  options.input_interface = "eth1";
  options.destination = *wire::Ipv6Address::parse("2001:db8:2::100");
  options.bypass = true;
  EXPECT_EQ(describe(queue_type2_routing_rule(options)),
            "ip6tables -t raw -A PREROUTING -i eth1 -d 2001:db8:2::100/128 -m rt --rt-type 2 -j "
            "NFQUEUE --queue-num 4 --queue-bypass");
}

class Ip6tablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: ip6tables tests need root, SKIPPED !!!";
    auto ns = NetworkNamespace::create("mipv6t-" + std::to_string(::getpid()) + "-ipt");
    ASSERT_TRUE(ns) << ns.error().message;
    ns_.emplace(std::move(*ns));
    auto guard = NamespaceGuard::enter(*ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    auto found = Ip6tables::find();
    ASSERT_TRUE(found) << found.error().message;
    ip6tables_.emplace(std::move(*found));
  }

  void TearDown() override {
    guard_.reset();
    if (ns_) {
      auto s = ns_->remove();
      EXPECT_TRUE(s) << s.error().message;
    }
  }

  std::vector<std::string> raw_rules() {
    auto lines = ip6tables_->list("raw");
    if (!lines) {
      ADD_FAILURE() << lines.error().message;
      return {};
    }
    return *lines;
  }

  // Runs ip6tables directly in the test's namespace, as another program (or a crashed daemon)
  // would have.
  void ip6tables(const std::string& arguments) {
    ASSERT_EQ(std::system((ip6tables_->binary() + " -w " + arguments).c_str()), 0) << arguments;
  }

  static QueueRuleOptions options() {
    QueueRuleOptions o;
    o.queue_number = 7;
    o.input_interface = "veth0";
    o.destination = *wire::Ipv6Address::parse("2001:db8:1::");
    o.destination_prefix_length = 64;
    return o;
  }

  static constexpr const char* kDestinationOptionsLine =
      "-A PREROUTING -d 2001:db8:1::/64 -i veth0 -m ipv6header --header ipv6-opts --soft -m "
      "comment --comment mipv6d -j NFQUEUE --queue-num 7";
  static constexpr const char* kType2Line =
      "-A PREROUTING -d 2001:db8:1::/64 -i veth0 -m rt --rt-type 2 -m comment --comment mipv6d "
      "-j NFQUEUE --queue-num 7";

  std::optional<NetworkNamespace> ns_;
  std::optional<NamespaceGuard> guard_;
  std::optional<Ip6tables> ip6tables_;
};

TEST_F(Ip6tablesTest, FindsTheLegacyBinary) {
  EXPECT_THAT(ip6tables_->binary(), HasSubstr("ip6tables"));
  std::string version;
  FILE* pipe = ::popen((ip6tables_->binary() + " --version").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
    version += buffer;
  ::pclose(pipe);
  EXPECT_THAT(version, HasSubstr("(legacy)"));
}

TEST_F(Ip6tablesTest, QueueRulesAppearTaggedInRawPreroutingAndRemoveAllTakesThemAway) {
  Ip6tablesRuleSet rules(*ip6tables_);
  ASSERT_TRUE(rules.install(queue_destination_options_rule(options())));
  ASSERT_TRUE(rules.install(queue_type2_routing_rule(options())));
  EXPECT_THAT(raw_rules(), ElementsAre("-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT",
                                       kDestinationOptionsLine, kType2Line));
  EXPECT_THAT(rules.rules(), ElementsAre(queue_destination_options_rule(options()),
                                         queue_type2_routing_rule(options())));
  auto present = ip6tables_->contains(queue_type2_routing_rule(options()), kRuleTag);
  ASSERT_TRUE(present);
  EXPECT_TRUE(*present);

  // Removed outside our back: remove_all() still succeeds (already gone counts as removed)
  // and takes the other one away.
  ip6tables(std::string("-t raw -D PREROUTING ") + (kType2Line + 14));
  auto s = rules.remove_all();
  EXPECT_TRUE(s) << s.error().message;
  EXPECT_TRUE(rules.rules().empty());
  EXPECT_THAT(raw_rules(), ElementsAre("-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT"));
}

TEST_F(Ip6tablesTest, OneRuleCanBeRemovedAlone) {
  Ip6tablesRuleSet rules(*ip6tables_);
  ASSERT_TRUE(rules.install(queue_destination_options_rule(options())));
  ASSERT_TRUE(rules.install(queue_type2_routing_rule(options())));
  ASSERT_TRUE(rules.remove(queue_destination_options_rule(options())));
  EXPECT_THAT(raw_rules(), ElementsAre("-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT", kType2Line));
  EXPECT_THAT(rules.rules(), ElementsAre(queue_type2_routing_rule(options())));
  auto again = rules.remove(queue_destination_options_rule(options()));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ENOENT);
}

TEST_F(Ip6tablesTest, DestructionRemovesTheRules) {
  {
    Ip6tablesRuleSet rules(*ip6tables_);
    ASSERT_TRUE(rules.install(queue_destination_options_rule(options())));
    ASSERT_TRUE(rules.install(queue_type2_routing_rule(options())));
    ASSERT_EQ(raw_rules().size(), 4u);
  }
  EXPECT_THAT(raw_rules(), ElementsAre("-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT"));
}

TEST_F(Ip6tablesTest, LeftoversOfACrashedDaemonAreRemovedAndOtherRulesSurvive) {
  // What a daemon that died would have left, in two tables.
  ip6tables(
      "-t raw -A PREROUTING -m rt --rt-type 2 -m comment --comment mipv6d -j NFQUEUE "
      "--queue-num 3");
  ip6tables("-t filter -A INPUT -p udp -m comment --comment mipv6d -j ACCEPT");
  // Everyone else's, including look-alike comments.
  ip6tables("-t raw -A PREROUTING -m rt --rt-type 0 -j DROP");
  ip6tables("-t raw -A PREROUTING -p tcp -m comment --comment mipv6d-other -j ACCEPT");
  ip6tables("-t raw -A PREROUTING -p udp -m comment --comment \"not mipv6d\" -j ACCEPT");

  auto removed = Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 2u);
  EXPECT_THAT(raw_rules(),
              ElementsAre("-P PREROUTING ACCEPT", "-P OUTPUT ACCEPT",
                          "-A PREROUTING -m rt --rt-type 0 -j DROP",
                          "-A PREROUTING -p tcp -m comment --comment mipv6d-other -j ACCEPT",
                          "-A PREROUTING -p udp -m comment --comment \"not mipv6d\" -j ACCEPT"));
  auto filter = ip6tables_->list("filter");
  ASSERT_TRUE(filter);
  EXPECT_THAT(*filter, Not(Contains(HasSubstr("mipv6d"))));
  // Nothing left: a second start finds nothing to clean.
  auto again = Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, 0u);
}

// A loaded table hooks every packet of the namespace: the sweep for leftovers must not load
// the tables it looks into (it would cost the data plane on every packet, issue 8).
TEST_F(Ip6tablesTest, LeftoverSweepLoadsNoTableAndSeesEveryLoadedOne) {
  ASSERT_THAT(loaded_ip6tables_tables(), Not(Contains("mangle")));
  auto removed = Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 0u);
  EXPECT_THAT(loaded_ip6tables_tables(), Not(Contains("mangle")));
  EXPECT_THAT(loaded_ip6tables_tables(), Not(Contains("filter")));
  ip6tables("-t mangle -A PREROUTING -p udp -m comment --comment mipv6d -j ACCEPT");
  EXPECT_THAT(loaded_ip6tables_tables(), Contains("mangle"));
  removed = Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 1u);
}

TEST_F(Ip6tablesTest, ADifferentTagKeepsRuleSetsApart) {
  Ip6tablesRuleSet ours(*ip6tables_, "mipv6d-test");
  ASSERT_TRUE(ours.install(queue_type2_routing_rule(options())));
  auto removed = Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, 0u);
  EXPECT_THAT(raw_rules(), Contains(HasSubstr("--comment mipv6d-test")));
}

TEST_F(Ip6tablesTest, RefusedRuleIsReportedWithWhatIp6tablesSaidAndNotRecorded) {
  Ip6tablesRuleSet rules(*ip6tables_);
  Ip6tablesRule bad;
  bad.match = {"-m", "nosuchmatch"};
  bad.target = {"-j", "ACCEPT"};
  auto s = rules.install(bad);
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, AllOf(HasSubstr("ip6tables -t raw -A PREROUTING -m nosuchmatch"),
                                       HasSubstr("exit status 2"), HasSubstr("nosuchmatch")));
  EXPECT_TRUE(rules.rules().empty());
  auto missing = ip6tables_->remove(queue_type2_routing_rule(options()), kRuleTag);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

}  // namespace
}  // namespace mipv6::linux_dp
