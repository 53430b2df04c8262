// rtnetlink against the real kernel, inside a network namespace each test creates and removes
// (named mipv6t-<pid>-nl): links, addresses (flags, lifetimes, dump, monitor events), routes in
// extra tables, policy rules, proxy neighbours, errors, and the InstalledState ledger. What the
// kernel holds is checked with iproute2, independently of our own parsing.
#include "linux/route_netlink.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include "linux/netns.h"
#include "linux/tun.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;
using test_util::shell;

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

class RouteNetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: rtnetlink tests need root, SKIPPED !!!";
    auto ns = NetworkNamespace::create("mipv6t-" + std::to_string(::getpid()) + "-nl");
    ASSERT_TRUE(ns) << ns.error().message;
    ns_.emplace(std::move(*ns));
    auto guard = NamespaceGuard::enter(*ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    ASSERT_EQ(std::system("ip link add va type veth peer name vb"), 0);
    auto netlink = Netlink::open();
    ASSERT_TRUE(netlink) << netlink.error().message;
    netlink_.emplace(std::move(*netlink));
    va_ = ::if_nametoindex("va");
    vb_ = ::if_nametoindex("vb");
    ASSERT_NE(va_, 0u);
  }

  void TearDown() override {
    netlink_.reset();
    guard_.reset();
    if (ns_) {
      auto s = ns_->remove();
      EXPECT_TRUE(s) << s.error().message;
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-")));
  }

  std::string ip(const std::string& args) { return shell("ip " + args + " 2>&1"); }

  void bring_up_pair() {
    ASSERT_TRUE(netlink_->set_link_up(va_, true));
    ASSERT_TRUE(netlink_->set_link_up(vb_, true));
  }

  std::optional<NetworkNamespace> ns_;
  std::optional<NamespaceGuard> guard_;
  std::optional<Netlink> netlink_;
  std::uint32_t va_ = 0;
  std::uint32_t vb_ = 0;
};

std::optional<AddressInfo> find_address(const std::vector<AddressInfo>& list,
                                        const wire::Ipv6Address& a) {
  for (const auto& info : list) {
    if (info.address == a) return info;
  }
  return std::nullopt;
}

TEST_F(RouteNetlinkTest, LinkIndexByNameMatchesTheKernel) {
  auto index = netlink_->link_index("va");
  ASSERT_TRUE(index) << index.error().message;
  EXPECT_EQ(*index, va_);
  auto missing = netlink_->link_index("nosuchlink0");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENODEV);
  EXPECT_THAT(missing.error().message, HasSubstr("nosuchlink0"));
  EXPECT_EQ(netlink_->link_index(std::string(300, 'x')).error().code, EINVAL);
}

TEST_F(RouteNetlinkTest, LinkUpDownAndMtuAreApplied) {
  ASSERT_TRUE(netlink_->set_link_up(va_, true));
  ASSERT_TRUE(netlink_->set_mtu(va_, 1400));
  auto link = netlink_->link(va_);
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_EQ(link->name, "va");
  EXPECT_TRUE(link->up);
  EXPECT_EQ(link->mtu, 1400u);
  EXPECT_THAT(ip("link show va"), HasSubstr("mtu 1400"));
  ASSERT_TRUE(netlink_->set_link_up(va_, false));
  EXPECT_FALSE(netlink_->link(va_)->up);
  auto links = netlink_->dump_links();
  ASSERT_TRUE(links);
  EXPECT_EQ(links->size(), 3u);  // lo, va, vb
}

TEST_F(RouteNetlinkTest, VethBecomesOperationalWithBothEndsUpAndLosesItWithThePeer) {
  auto operational = [&](bool wanted) {
    for (int i = 0; i < 300; ++i) {
      auto link = netlink_->link(va_);
      if (link && link->operational == wanted) return true;
      ::usleep(10'000);
    }
    return false;
  };
  ASSERT_TRUE(netlink_->set_link_up(va_, true));
  EXPECT_FALSE(netlink_->link(va_)->running);  // no carrier while the peer is down
  ASSERT_TRUE(netlink_->set_link_up(vb_, true));
  EXPECT_TRUE(operational(true));
  EXPECT_TRUE(netlink_->link(va_)->running);
  ASSERT_TRUE(netlink_->set_link_up(vb_, false));
  EXPECT_TRUE(operational(false));
}

// Waits (two seconds at most) for the monitor to report `address` added or removed.
std::optional<AddressEvent> wait_address_event(NetlinkMonitor& monitor,
                                               const wire::Ipv6Address& address, bool added) {
  for (int i = 0; i < 100; ++i) {
    pollfd pfd{monitor.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 2000) != 1) return std::nullopt;
    auto events = monitor.read_events();
    if (!events) return std::nullopt;
    for (const auto& e : *events) {
      const auto* a = std::get_if<AddressEvent>(&e);
      if (a != nullptr && a->address == address && a->added == added) return *a;
    }
  }
  return std::nullopt;
}

TEST_F(RouteNetlinkTest, NoDadAddressIsDumpedAnnouncedAndDeleted) {
  auto monitor = NetlinkMonitor::open();
  ASSERT_TRUE(monitor) << monitor.error().message;
  bring_up_pair();
  AddressSpec spec{.ifindex = va_,
                   .address = addr("2001:db8:1::1"),
                   .flags = address_flags::kNoDad | address_flags::kHomeAddress};
  ASSERT_TRUE(netlink_->add_address(spec));
  EXPECT_THAT(ip("-6 addr show dev va"), HasSubstr("inet6 2001:db8:1::1/64"));

  auto dump = netlink_->dump_addresses(va_);
  ASSERT_TRUE(dump) << dump.error().message;
  auto info = find_address(*dump, spec.address);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->prefix_length, 64);
  EXPECT_FALSE(info->tentative());
  EXPECT_NE(info->flags & address_flags::kNoDad, 0u);
  EXPECT_NE(info->flags & address_flags::kHomeAddress, 0u);
  EXPECT_FALSE(info->valid_lifetime);  // infinite

  // The kernel announces the address from its DAD work queue, after the ACK: wait for it.
  auto added = wait_address_event(*monitor, spec.address, true);
  ASSERT_TRUE(added) << "no RTM_NEWADDR event";
  EXPECT_EQ(added->ifindex, va_);
  EXPECT_EQ(added->prefix_length, 64);
  EXPECT_NE(added->flags & address_flags::kNoDad, 0u);

  ASSERT_TRUE(netlink_->delete_address(va_, spec.address, 64));
  EXPECT_FALSE(find_address(*netlink_->dump_addresses(va_), spec.address));
  auto removed = wait_address_event(*monitor, spec.address, false);
  ASSERT_TRUE(removed) << "no RTM_DELADDR event";
  EXPECT_EQ(removed->ifindex, va_);
}

TEST_F(RouteNetlinkTest, AddressUnderDadIsReportedTentative) {
  bring_up_pair();
  AddressSpec spec{.ifindex = va_, .address = addr("2001:db8:1::2")};
  ASSERT_TRUE(netlink_->add_address(spec));
  // DAD takes at least RetransTimer (1 s, RFC 4862 §5.4): the address is still tentative now.
  auto info = find_address(*netlink_->dump_addresses(va_), spec.address);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->tentative());
  EXPECT_THAT(ip("-6 addr show dev va"), HasSubstr("tentative"));
}

TEST_F(RouteNetlinkTest, OptimisticAddressKeepsItsFlagWhileTentative_RFC4429) {
  // The kernel honours IFA_F_OPTIMISTIC only where optimistic DAD is enabled on the interface.
  ASSERT_EQ(std::system("sysctl -qw net.ipv6.conf.va.optimistic_dad=1"), 0);
  bring_up_pair();
  AddressSpec spec{
      .ifindex = va_, .address = addr("2001:db8:1::6"), .flags = address_flags::kOptimistic};
  ASSERT_TRUE(netlink_->add_address(spec));
  auto info = find_address(*netlink_->dump_addresses(va_), spec.address);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->tentative());
  EXPECT_NE(info->flags & address_flags::kOptimistic, 0u);
  EXPECT_THAT(ip("-6 addr show dev va"), HasSubstr("optimistic"));
}

// What the daemon needs to answer a StartDad action with a DadResult (RFC 4862 §5.4): the
// monitor reports the end of DAD as an RTM_NEWADDR without the tentative flag, or with
// dadfailed when another node holds the address.
TEST_F(RouteNetlinkTest, MonitorReportsTheOutcomeOfDuplicateAddressDetection) {
  bring_up_pair();
  for (int i = 0; i < 300 && !netlink_->link(va_)->operational; ++i)
    ::usleep(10'000);
  const auto taken = addr("2001:db8:1::7");
  const auto unique = addr("2001:db8:1::8");
  ASSERT_TRUE(netlink_->add_address(
      AddressSpec{.ifindex = vb_, .address = taken, .flags = address_flags::kNoDad}));
  auto monitor = NetlinkMonitor::open();
  ASSERT_TRUE(monitor);
  ASSERT_TRUE(netlink_->add_address(AddressSpec{.ifindex = va_, .address = taken}));
  ASSERT_TRUE(netlink_->add_address(AddressSpec{.ifindex = va_, .address = unique}));
  std::optional<std::uint32_t> taken_flags;
  std::optional<std::uint32_t> unique_flags;
  for (int i = 0; i < 100 && (!taken_flags || !unique_flags); ++i) {
    pollfd pfd{monitor->fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 4000) != 1) break;
    auto events = monitor->read_events();
    ASSERT_TRUE(events);
    for (const auto& e : *events) {
      const auto* a = std::get_if<AddressEvent>(&e);
      if (a == nullptr || a->ifindex != va_ || !a->added) continue;
      if (a->address == taken && (a->flags & address_flags::kDadFailed) != 0)
        taken_flags = a->flags;
      if (a->address == unique && (a->flags & address_flags::kTentative) == 0)
        unique_flags = a->flags;
    }
  }
  EXPECT_TRUE(taken_flags) << "no dadfailed event for the duplicate address";
  EXPECT_TRUE(unique_flags) << "no end-of-DAD event for the unique address";
  auto info = find_address(*netlink_->dump_addresses(va_), taken);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->dad_failed());
}

TEST_F(RouteNetlinkTest, AddressLifetimesAreInstalledAndReadBack) {
  AddressSpec spec{.ifindex = va_,
                   .address = addr("2001:db8:1::3"),
                   .flags = address_flags::kNoDad,
                   .valid_lifetime = 300s,
                   .preferred_lifetime = 200s};
  ASSERT_TRUE(netlink_->add_address(spec));
  auto info = find_address(*netlink_->dump_addresses(va_), spec.address);
  ASSERT_TRUE(info);
  ASSERT_TRUE(info->valid_lifetime && info->preferred_lifetime);
  EXPECT_LE(*info->valid_lifetime, 300s);
  EXPECT_GE(*info->valid_lifetime, 290s);
  EXPECT_LE(*info->preferred_lifetime, 200s);
  EXPECT_GE(*info->preferred_lifetime, 190s);
  spec.valid_lifetime = 100s;
  spec.preferred_lifetime = 0s;  // deprecated
  ASSERT_TRUE(netlink_->replace_address(spec));
  info = find_address(*netlink_->dump_addresses(va_), spec.address);
  ASSERT_TRUE(info);
  EXPECT_LE(*info->valid_lifetime, 100s);
  EXPECT_NE(info->flags & address_flags::kDeprecated, 0u);
}

TEST_F(RouteNetlinkTest, BadIfindexIsAnErrorNamingTheRequestAndEnodev) {
  auto s = netlink_->add_address(AddressSpec{
      .ifindex = 9999, .address = addr("2001:db8:1::4"), .flags = address_flags::kNoDad});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ENODEV);
  EXPECT_THAT(s.error().message, HasSubstr("2001:db8:1::4/64 on ifindex 9999"));
  EXPECT_THAT(s.error().message, HasSubstr("No such device"));
}

TEST_F(RouteNetlinkTest, KernelsExtendedAckReasonIsAppendedToTheError) {
  bring_up_pair();
  // A preferred source the node does not own: the kernel refuses and says why.
  auto s = netlink_->add_route(RouteSpec{.destination = addr("2001:db8:98::"),
                                         .prefix_length = 64,
                                         .ifindex = va_,
                                         .source = addr("2001:db8::5")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, EINVAL);
  EXPECT_THAT(s.error().message, HasSubstr("RTM_NEWROUTE 2001:db8:98::/64 dev"));
  EXPECT_THAT(s.error().message, HasSubstr("Invalid argument (Invalid source address)"));
}

TEST_F(RouteNetlinkTest, DuplicateAddressAddIsEexist) {
  AddressSpec spec{
      .ifindex = va_, .address = addr("2001:db8:1::5"), .flags = address_flags::kNoDad};
  ASSERT_TRUE(netlink_->add_address(spec));
  EXPECT_EQ(netlink_->add_address(spec).error().code, EEXIST);
  EXPECT_TRUE(netlink_->replace_address(spec));
}

TEST_F(RouteNetlinkTest, RouteInAnExtraTableAppearsAndIsRemoved) {
  bring_up_pair();
  RouteSpec route;
  route.destination = addr("2001:db8:99::");
  route.prefix_length = 64;
  route.ifindex = va_;
  route.table = 100;
  route.metric = 5;
  ASSERT_TRUE(netlink_->add_route(route));
  EXPECT_THAT(ip("-6 route show table 100"),
              HasSubstr("2001:db8:99::/64 dev va proto 109 metric 5"));
  EXPECT_EQ(netlink_->add_route(route).error().code, EEXIST);

  ASSERT_TRUE(netlink_->add_address(AddressSpec{
      .ifindex = va_, .address = addr("2001:db8:1::1"), .flags = address_flags::kNoDad}));
  route.gateway = addr("2001:db8:1::fe");
  route.source = addr("2001:db8:1::1");
  ASSERT_TRUE(netlink_->replace_route(route));
  EXPECT_THAT(
      ip("-6 route show table 100"),
      HasSubstr("2001:db8:99::/64 via 2001:db8:1::fe dev va proto 109 src 2001:db8:1::1 metric 5"));

  ASSERT_TRUE(netlink_->delete_route(route));
  EXPECT_THAT(ip("-6 route show table 100"), Not(HasSubstr("2001:db8:99::")));
  EXPECT_EQ(netlink_->delete_route(route).error().code, ESRCH);
}

TEST_F(RouteNetlinkTest, DefaultRouteAndLargeTableNumber) {
  bring_up_pair();
  RouteSpec route;
  route.destination = addr("::");
  route.prefix_length = 0;
  route.ifindex = va_;
  route.table = 100000;  // beyond the 8-bit rtm_table field
  ASSERT_TRUE(netlink_->add_route(route));
  EXPECT_THAT(ip("-6 route show table 100000"), HasSubstr("default dev va proto 109"));
  ASSERT_TRUE(netlink_->delete_route(route));
  EXPECT_THAT(ip("-6 route show table 100000"), Not(HasSubstr("default")));
}

TEST_F(RouteNetlinkTest, DumpedRoutesCarryEveryFieldAndCanBeDeletedAsDumped) {
  bring_up_pair();
  ASSERT_TRUE(netlink_->add_address(AddressSpec{
      .ifindex = va_, .address = addr("2001:db8:1::1"), .flags = address_flags::kNoDad}));
  RouteSpec via{.destination = addr("2001:db8:99::"),
                .prefix_length = 64,
                .gateway = addr("2001:db8:1::fe"),
                .ifindex = va_,
                .table = 100,
                .metric = 7,
                .source = addr("2001:db8:1::1")};
  RouteSpec host{.destination = addr("2001:db8:2::100"), .ifindex = vb_, .table = 300};
  ASSERT_TRUE(netlink_->add_route(via));
  ASSERT_TRUE(netlink_->add_route(host));
  auto table100 = netlink_->dump_routes(100);
  ASSERT_TRUE(table100) << table100.error().message;
  ASSERT_EQ(table100->size(), 1u);
  EXPECT_EQ((*table100)[0], via);
  auto table300 = netlink_->dump_routes(300);
  ASSERT_TRUE(table300);
  ASSERT_EQ(table300->size(), 1u);
  EXPECT_EQ((*table300)[0].destination, host.destination);
  EXPECT_EQ((*table300)[0].prefix_length, 128);
  EXPECT_EQ((*table300)[0].metric, 1024u);  // the kernel's default, now explicit
  ASSERT_TRUE(netlink_->delete_route((*table100)[0]));
  ASSERT_TRUE(netlink_->delete_route((*table300)[0]));
  EXPECT_TRUE(netlink_->dump_routes(100)->empty());
  EXPECT_TRUE(netlink_->dump_routes(300)->empty());
}

TEST_F(RouteNetlinkTest, LeftoversTaggedWithOurProtocolAreRemovedAndNothingElse) {
  bring_up_pair();
  // What a crashed daemon left behind...
  ASSERT_TRUE(netlink_->add_route(RouteSpec{
      .destination = addr("2001:db8:99::"), .prefix_length = 64, .ifindex = va_, .table = 100}));
  ASSERT_TRUE(netlink_->add_rule(
      RuleSpec{.source = addr("2001:db8:1::100"), .fwmark = 9, .table = 100, .priority = 1000}));
  // ...and what the operator configured.
  ASSERT_EQ(std::system("ip -6 route add 2001:db8:55::/64 dev va table 100 proto static"), 0);
  ASSERT_EQ(std::system("ip -6 rule add from 2001:db8:1::5 lookup 100 priority 500"), 0);
  auto removed = InstalledState::remove_leftovers(*netlink_);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 2u);
  std::string routes = ip("-6 route show table 100");
  EXPECT_THAT(routes, Not(HasSubstr("2001:db8:99::")));
  EXPECT_THAT(routes, HasSubstr("2001:db8:55::/64 dev va proto static"));
  std::string rules = ip("-6 rule show");
  EXPECT_THAT(rules, Not(HasSubstr("1000:")));
  EXPECT_THAT(rules, HasSubstr("500:\tfrom 2001:db8:1::5 lookup 100"));
  EXPECT_EQ(*InstalledState::remove_leftovers(*netlink_), 0u);
}

TEST_F(RouteNetlinkTest, PolicyRulesAppearInIpRuleAndAreRemoved) {
  RuleSpec from_home;
  from_home.source = addr("2001:db8:1::100");
  from_home.source_length = 128;
  from_home.table = 100;
  from_home.priority = 1000;
  RuleSpec marked;
  marked.fwmark = 7;
  marked.fwmask = 0xff;
  marked.table = kMainTable;
  marked.priority = 999;
  ASSERT_TRUE(netlink_->add_rule(from_home));
  ASSERT_TRUE(netlink_->add_rule(marked));
  std::string rules = ip("-6 rule show");
  EXPECT_THAT(rules, HasSubstr("1000:\tfrom 2001:db8:1::100 lookup 100 proto 109"));
  EXPECT_THAT(rules, HasSubstr("999:\tfrom all fwmark 0x7/0xff lookup main proto 109"));
  EXPECT_EQ(netlink_->add_rule(from_home).error().code, EEXIST);
  ASSERT_TRUE(netlink_->delete_rule(from_home));
  ASSERT_TRUE(netlink_->delete_rule(marked));
  rules = ip("-6 rule show");
  EXPECT_THAT(rules, Not(HasSubstr("1000:")));
  EXPECT_THAT(rules, Not(HasSubstr("999:")));
}

TEST_F(RouteNetlinkTest, ProxyNeighbourIsListedAndRemoved) {
  ProxyNeighborSpec proxy{va_, addr("2001:db8:1::100")};
  ASSERT_TRUE(netlink_->add_proxy_neighbor(proxy));
  EXPECT_THAT(ip("-6 neigh show proxy"), HasSubstr("2001:db8:1::100 dev va proxy"));
  auto entries = netlink_->dump_neighbors(va_, true);
  ASSERT_TRUE(entries) << entries.error().message;
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].address, proxy.address);
  EXPECT_TRUE((*entries)[0].proxy);
  auto ordinary = netlink_->dump_neighbors(va_, false);
  ASSERT_TRUE(ordinary);
  EXPECT_TRUE(ordinary->empty());
  ASSERT_TRUE(netlink_->delete_proxy_neighbor(proxy));
  EXPECT_THAT(ip("-6 neigh show proxy"), Not(HasSubstr("2001:db8:1::100")));
  EXPECT_FALSE(netlink_->delete_proxy_neighbor(proxy));
}

TEST_F(RouteNetlinkTest, ForgetNeighbourDeletesTheCacheEntryNotTheProxyOne) {
  ASSERT_EQ(ip("-6 neigh add 2001:db8:1::100 lladdr 02:00:00:00:00:01 dev va"), "");
  ProxyNeighborSpec proxy{va_, addr("2001:db8:1::100")};
  ASSERT_TRUE(netlink_->add_proxy_neighbor(proxy));
  ASSERT_TRUE(netlink_->forget_neighbor(va_, addr("2001:db8:1::100")));
  auto ordinary = netlink_->dump_neighbors(va_, false);
  ASSERT_TRUE(ordinary);
  EXPECT_TRUE(ordinary->empty());
  EXPECT_THAT(ip("-6 neigh show proxy"), HasSubstr("2001:db8:1::100 dev va proxy"));
  auto again = netlink_->forget_neighbor(va_, addr("2001:db8:1::100"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ENOENT);
}

TEST_F(RouteNetlinkTest, MonitorReportsLinkStateChanges) {
  auto monitor = NetlinkMonitor::open();
  ASSERT_TRUE(monitor);
  ASSERT_TRUE(netlink_->set_link_up(va_, true));
  ASSERT_TRUE(netlink_->set_link_up(va_, false));
  pollfd pfd{monitor->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  auto events = monitor->read_events();
  ASSERT_TRUE(events);
  std::vector<bool> states;
  for (const auto& e : *events) {
    if (const auto* l = std::get_if<LinkEvent>(&e); l != nullptr && l->ifindex == va_) {
      EXPECT_EQ(l->name, "va");
      states.push_back(l->up);
    }
  }
  ASSERT_GE(states.size(), 2u);
  EXPECT_TRUE(states.front());
  EXPECT_FALSE(states.back());
  // Drained: nothing more is queued.
  auto again = monitor->read_events();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
}

TEST_F(RouteNetlinkTest, MonitorReportsRoutes) {
  auto monitor = NetlinkMonitor::open();
  ASSERT_TRUE(monitor);
  bring_up_pair();
  RouteSpec route{
      .destination = addr("2001:db8:77::"), .prefix_length = 48, .ifindex = va_, .table = 100};
  ASSERT_TRUE(netlink_->add_route(route));
  ASSERT_TRUE(netlink_->delete_route(route));
  auto events = monitor->read_events();
  ASSERT_TRUE(events);
  std::vector<bool> seen;
  for (const auto& e : *events) {
    const auto* r = std::get_if<RouteEvent>(&e);
    if (r == nullptr || r->destination != route.destination) continue;
    EXPECT_EQ(r->prefix_length, 48);
    EXPECT_EQ(r->table, 100u);
    EXPECT_EQ(r->ifindex, va_);
    seen.push_back(r->added);
  }
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
}

TEST_F(RouteNetlinkTest, InstalledStateRemovesEverythingNewestFirst) {
  bring_up_pair();
  {
    InstalledState state(*netlink_);
    AddressSpec home{
        .ifindex = va_, .address = addr("2001:db8:1::1"), .flags = address_flags::kNoDad};
    // The route's preferred source needs the address: removing in reverse order keeps each
    // removal valid.
    RouteSpec route{.destination = addr("2001:db8:99::"),
                    .prefix_length = 64,
                    .ifindex = va_,
                    .table = 100,
                    .source = home.address};
    RuleSpec rule{.source = home.address, .table = 100, .priority = 1000};
    ProxyNeighborSpec proxy{va_, addr("2001:db8:1::100")};
    ASSERT_TRUE(state.install(home));
    ASSERT_TRUE(state.install(route));
    ASSERT_TRUE(state.install(rule));
    ASSERT_TRUE(state.install(proxy));
    // A refused object is not recorded.
    ASSERT_FALSE(state.install(home));
    EXPECT_EQ(state.objects().size(), 4u);
    EXPECT_THAT(describe(state.objects()[1]), HasSubstr("route 2001:db8:99::/64 table 100"));

    // Gone behind our back: still counts as removed.
    ASSERT_EQ(std::system("ip -6 neigh del proxy 2001:db8:1::100 dev va"), 0);
    auto s = state.remove_all();
    EXPECT_TRUE(s) << s.error().message;
    EXPECT_TRUE(state.objects().empty());
  }
  EXPECT_THAT(ip("-6 addr show dev va"), Not(HasSubstr("2001:db8:1::1")));
  EXPECT_THAT(ip("-6 route show table 100"), Not(HasSubstr("2001:db8:99::")));
  EXPECT_THAT(ip("-6 rule show"), Not(HasSubstr("lookup 100")));
}

TEST_F(RouteNetlinkTest, InstalledStateDestructorCleansUpAndRemoveForgetsOneObject) {
  ProxyNeighborSpec kept{va_, addr("2001:db8:1::100")};
  ProxyNeighborSpec removed{va_, addr("2001:db8:1::101")};
  {
    InstalledState state(*netlink_);
    ASSERT_TRUE(state.install(kept));
    ASSERT_TRUE(state.install(removed));
    ASSERT_TRUE(state.remove(removed));
    EXPECT_EQ(state.remove(removed).error().code, ENOENT);
    EXPECT_EQ(state.objects().size(), 1u);
    EXPECT_THAT(ip("-6 neigh show proxy"), Not(HasSubstr("2001:db8:1::101")));
    EXPECT_THAT(ip("-6 neigh show proxy"), HasSubstr("2001:db8:1::100"));
  }
  EXPECT_THAT(ip("-6 neigh show proxy"), Not(HasSubstr("2001:db8:1::100")));
}

std::string mac_text(const core::LinkLayerAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return text;
}

TEST_F(RouteNetlinkTest, VethLinkLayerAddressIsWhatIpLinkReports) {
  ASSERT_EQ(std::system("ip link set va address 02:00:5e:10:20:30"), 0);
  auto link = netlink_->link(va_);
  ASSERT_TRUE(link) << link.error().message;
  ASSERT_TRUE(link->link_layer_address);
  EXPECT_EQ(mac_text(*link->link_layer_address), "02:00:5e:10:20:30");
  // The kernel's random address of the other end, as iproute2 prints it.
  auto links = netlink_->dump_links();
  ASSERT_TRUE(links);
  bool found = false;
  for (const auto& l : *links) {
    if (l.ifindex != vb_) continue;
    found = true;
    ASSERT_TRUE(l.link_layer_address);
    EXPECT_THAT(ip("link show dev vb"), HasSubstr("link/ether " + mac_text(*l.link_layer_address)));
  }
  EXPECT_TRUE(found);
}

TEST_F(RouteNetlinkTest, TunAndLoopbackHaveNoEthernetAddress) {
  auto tun = TunDevice::create("mtun%d");
  ASSERT_TRUE(tun) << tun.error().message;
  auto link = netlink_->link(tun->ifindex());
  ASSERT_TRUE(link) << link.error().message;
  EXPECT_FALSE(link->link_layer_address);
  auto lo = netlink_->link_index("lo");
  ASSERT_TRUE(lo);
  auto loopback = netlink_->link(*lo);
  ASSERT_TRUE(loopback);
  // lo reports a 6-octet all-zero address; it is still the kernel's IFLA_ADDRESS.
  ASSERT_TRUE(loopback->link_layer_address);
  EXPECT_EQ(mac_text(*loopback->link_layer_address), "00:00:00:00:00:00");
}

TEST_F(RouteNetlinkTest, InstalledStateObserverSeesEveryChange) {
  InstalledState state(*netlink_);
  std::vector<std::size_t> sizes;  // objects().size() each time the observer ran
  state.set_observer([&] { sizes.push_back(state.objects().size()); });
  ProxyNeighborSpec first{va_, addr("2001:db8:1::100")};
  ProxyNeighborSpec second{va_, addr("2001:db8:1::101")};
  ASSERT_TRUE(state.install(first));
  ASSERT_TRUE(state.install(second));
  // A refused install changes nothing and is not reported.
  ASSERT_FALSE(state.install(ProxyNeighborSpec{9999, addr("2001:db8:1::102")}));
  ASSERT_TRUE(state.remove(first));
  ASSERT_TRUE(state.remove_all());
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 2, 1, 0}));
}
}  // namespace
}  // namespace mipv6::linux_dp
