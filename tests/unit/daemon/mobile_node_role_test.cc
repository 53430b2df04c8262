// The mobile node role against the real kernel, in two network namespaces joined by a veth pair
// (created by each test and always removed): the mobile node's (where the role, its TUN and its
// Services live) and a peer that plays the home agent and the routers. The peer sends nothing:
// the test builds the packets the daemon would hand the role (RAs, BAs, tunnelled data) and
// captures what the role sends with a packet socket on the peer's end of the veth.
#include "daemon/mobile_node_role.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../linux/linux_test_util.h"
#include "core/rng.h"
#include "core/signalling.h"
#include "daemon/raw_sender.h"
#include "linux/netns.h"
#include "linux/packet_rewrite.h"
#include "linux/unique_fd.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using linux_dp::test_util::addr;
using linux_dp::test_util::shell;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint16_t kAppPort = 9998;

const wire::Ipv6Address kHoa = addr("2001:db8:1::100");
const wire::Ipv6Address kHa = addr("2001:db8:1::1");
const wire::Ipv6Address kCoa = addr("2001:db8:2::100");
const wire::Ipv6Address kCoa2 = addr("2001:db8:3::100");
const wire::Ipv6Address kCn = addr("2001:db8:5::5");
const wire::Ipv6Address kHomeRouter = addr("fe80::1");
const wire::Ipv6Address kRouterA = addr("fe80::2");
const wire::Ipv6Address kRouterB = addr("fe80::3");

core::TimePoint now() {
  return linux_dp::MonotonicClock::now();
}

int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

wire::Bytes udp_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                       std::uint16_t source_port, std::uint16_t destination_port) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.upper_protocol = wire::ip_proto::kUdp;
  wire::Writer w(spec.upper);
  w.u16(source_port);
  w.u16(destination_port);
  w.u16(8 + 5);
  w.u16(0);
  for (char c : std::string("hello"))
    w.u8(static_cast<std::uint8_t>(c));
  return wire::build_packet(spec);
}

wire::Bytes tcp_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                       std::uint16_t destination_port, std::uint32_t sequence, std::uint32_t ack,
                       std::uint8_t flags, std::string_view payload) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.upper_protocol = wire::ip_proto::kTcp;
  wire::Writer w(spec.upper);
  w.u16(7777);
  w.u16(destination_port);
  w.u32(sequence);
  w.u32(ack);
  w.u8(0x50);  // Data Offset 5: no options
  w.u8(flags);
  w.u16(0xffff);  // Window
  w.u16(0);       // Checksum (build_packet fills it)
  w.u16(0);
  for (char c : payload)
    w.u8(static_cast<std::uint8_t>(c));
  return wire::build_packet(spec);
}

struct RaSpec {
  wire::Ipv6Address source;
  wire::Ipv6Address prefix;  // with R: the router's own address
  std::uint16_t router_lifetime = 1800;
  bool home_agent = false;
  bool router_address = false;
  std::optional<core::LinkLayerAddress> link_layer_address{};
};

// RFC 4861 §4.2 with one Prefix Information option (L, A; R per RFC 6275 §7.2).
wire::Bytes router_advertisement(const RaSpec& spec) {
  wire::RouterAdvertisement ra;
  ra.cur_hop_limit = 64;
  ra.h = spec.home_agent;
  ra.router_lifetime = spec.router_lifetime;
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.a = true;
  pio.r = spec.router_address;
  pio.valid_lifetime = 86400;
  pio.preferred_lifetime = 14400;
  pio.prefix = spec.prefix;
  ra.options.push_back(wire::NdOption{pio});
  if (spec.link_layer_address) {
    wire::Bytes lla;
    for (auto octet : *spec.link_layer_address)
      lla.push_back(static_cast<std::byte>(octet));
    ra.options.push_back(wire::NdOption{wire::SourceLinkLayerAddressOption{lla}});
  }
  wire::Icmpv6Message message;
  message.body = ra;
  return core::build_icmpv6_packet({spec.source, addr("ff02::1"), std::nullopt, std::nullopt, 255},
                                   message);
}

// The Binding Update in a captured packet, with the packet's walk.
struct CapturedBu {
  core::RxPacket rx;
  wire::MobilityHeader mh;
  wire::BindingUpdate bu;
};

std::optional<CapturedBu> binding_update_in(const wire::Bytes& packet) {
  auto rx = core::make_rx_packet(packet, 0);
  if (!rx || rx->layout.upper_protocol != wire::ip_proto::kMobility) return std::nullopt;
  auto input = core::check_mobility_header(*rx);
  const auto* bu = std::get_if<wire::BindingUpdate>(&input.header.message);
  if (input.verdict != core::MhVerdict::kAccept || bu == nullptr) return std::nullopt;
  return CapturedBu{*rx, input.header, *bu};
}

class MobileNodeRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: mobile node role tests need root !!!";
    prefix_ = "mipv6t-" + std::to_string(::getpid()) + "-";
    auto mn = linux_dp::NetworkNamespace::create(prefix_ + "mn");
    ASSERT_TRUE(mn) << mn.error().message;
    mn_.emplace(std::move(*mn));
    auto peer = linux_dp::NetworkNamespace::create(prefix_ + "mp");
    ASSERT_TRUE(peer) << peer.error().message;
    peer_.emplace(std::move(*peer));
    const std::string m = "ip -n " + mn_->name() + " ";
    const std::string p = "ip -n " + peer_->name() + " ";
    ASSERT_EQ(run("ip link add vm netns " + mn_->name() + " type veth peer name vp netns " +
                  peer_->name()),
              0);
    ASSERT_EQ(run("ip netns exec " + mn_->name() + " sysctl -qw net.ipv6.conf.vm.accept_dad=0"), 0);
    ASSERT_EQ(run("ip netns exec " + peer_->name() + " sysctl -qw net.ipv6.conf.vp.accept_dad=0"),
              0);
    for (const char* a : {"fe80::1/64", "fe80::2/64", "fe80::3/64", "2001:db8:1::1/64",
                          "2001:db8:2::1/64", "2001:db8:3::1/64"})
      ASSERT_EQ(run(p + "addr add " + a + " dev vp nodad"), 0);
    ASSERT_EQ(run(p + "link set lo up"), 0);
    ASSERT_EQ(run(p + "link set vp up"), 0);
    ASSERT_EQ(run(m + "link set lo up"), 0);
    ASSERT_EQ(run(m + "link set vm up"), 0);
    ASSERT_EQ(run(m + "addr add 2001:db8:2::100/64 dev vm nodad"), 0);
    ASSERT_EQ(run(m + "route add default via fe80::2 dev vm"), 0);
    in(*peer_, [&] {
      linux_dp::test_util::wait_operational("vp");
      vp_index_ = ::if_nametoindex("vp");
      auto netlink = linux_dp::Netlink::open();
      ASSERT_TRUE(netlink);
      peer_mac_ = netlink->link(vp_index_)->link_layer_address;
      open_capture();
    });
    original_optimistic_dad_ =
        shell("ip netns exec " + mn_->name() + " sysctl -n net.ipv6.conf.vm.optimistic_dad");
    auto guard = linux_dp::NamespaceGuard::enter(*mn_);
    ASSERT_TRUE(guard) << guard.error().message;
    guard_.emplace(std::move(*guard));
    linux_dp::test_util::wait_operational("vm");
    vm_index_ = ::if_nametoindex("vm");
    make_services();
  }

  void TearDown() override {
    if (role_) role_->stop(now());
    if (installed_) expect_no_trace();
    role_.reset();
    services_.reset();
    installed_.reset();
    sysctls_.reset();
    sender_.reset();
    netlink_.reset();
    loop_.reset();
    guard_.reset();
    for (auto* ns : {&mn_, &peer_}) {
      if (*ns) {
        auto s = (*ns)->remove();
        EXPECT_TRUE(s) << s.error().message;
      }
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"), Not(HasSubstr(prefix_)));
  }

  static void in(const linux_dp::NetworkNamespace& ns, const std::function<void()>& f) {
    auto guard = linux_dp::NamespaceGuard::enter(ns);
    ASSERT_TRUE(guard) << guard.error().message;
    f();
  }

  void make_services() {
    auto loop = linux_dp::EventLoop::create();
    ASSERT_TRUE(loop);
    loop_.emplace(std::move(*loop));
    auto netlink = linux_dp::Netlink::open();
    ASSERT_TRUE(netlink);
    netlink_.emplace(std::move(*netlink));
    installed_ = std::make_unique<linux_dp::InstalledState>(*netlink_);
    sysctls_ = std::make_unique<linux_dp::Sysctls>();
    auto sender = RawSender::open();
    ASSERT_TRUE(sender) << sender.error().message;
    sender_.emplace(std::move(*sender));
    logger_.set_level(core::LogLevel::kDebug);
    logger_.set_sink([this](core::LogLevel, std::string_view line) { log_.emplace_back(line); });
    services_ = std::make_unique<Services>(
        Services{*loop_, *netlink_, *installed_, *sysctls_, *sender_, logger_, rng_});
    // What the daemon installs before its roles start: its own packets use the main table.
    ASSERT_TRUE(installed_->install(linux_dp::RuleSpec{.fwmark = kSignallingMark,
                                                       .table = linux_dp::kMainTable,
                                                       .priority = kBypassRulePriority}));
  }

  MobileNodeSection section() const {
    MobileNodeSection s;
    s.home_address = kHoa;
    s.prefix_length = 64;
    s.home_agent = kHa;
    s.interfaces = {"vm"};
    s.route_optimization = RouteOptimizationPolicy::kNever;
    return s;
  }

  void start(const MobileNodeSection& s) {
    role_ = std::make_unique<MobileNodeRole>(s, *services_);
    auto status = role_->start(now());
    ASSERT_TRUE(status) << status.error().message;
  }

  // A packet socket on the peer's veth end: every IPv6 packet the mobile node sends.
  void open_capture() {
    capture_ = linux_dp::UniqueFd(
        ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK, static_cast<int>(htons(ETH_P_IPV6))));
    ASSERT_GE(capture_.get(), 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_IPV6);
    sll.sll_ifindex = static_cast<int>(vp_index_);
    ASSERT_EQ(::bind(capture_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll), 0);
  }

  // The first packet arriving at the peer that satisfies `match`, within `timeout_ms`.
  std::optional<wire::Bytes> capture(const std::function<bool(const wire::Bytes&)>& match,
                                     int timeout_ms = 2000) {
    const auto deadline = now() + std::chrono::milliseconds(timeout_ms);
    std::vector<std::byte> buffer(70000);
    while (now() < deadline) {
      pollfd pfd{capture_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) != 1) continue;
      sockaddr_ll from{};
      socklen_t length = sizeof from;
      auto n = ::recvfrom(capture_.get(), buffer.data(), buffer.size(), 0,
                          reinterpret_cast<sockaddr*>(&from), &length);
      // Frames to another link-layer address reach the veth too; the peer would not take them.
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING || from.sll_pkttype == PACKET_OTHERHOST)
        continue;
      wire::Bytes packet(buffer.begin(), buffer.begin() + n);
      if (match(packet)) return packet;
    }
    return std::nullopt;
  }

  std::optional<CapturedBu> capture_bu(const std::function<bool(const CapturedBu&)>& match) {
    auto packet = capture([&](const wire::Bytes& p) {
      auto bu = binding_update_in(p);
      return bu && match(*bu);
    });
    if (!packet) return std::nullopt;
    captured_ = std::move(*packet);  // keeps the RxPacket's bytes alive
    return binding_update_in(captured_);
  }

  void feed(const wire::Bytes& packet) {
    auto rx = core::make_rx_packet(packet, vm_index_);
    ASSERT_TRUE(rx);
    role_->on_signalling(*rx, now());
  }

  void address_event(const wire::Ipv6Address& address, bool added = true) {
    role_->on_netlink(linux_dp::AddressEvent{vm_index_, address, 64, 0x80, added}, now());
  }

  // Step (1): a care-of address and a foreign router's RA make the role register.
  std::optional<CapturedBu> move_to_foreign_link() {
    address_event(kCoa);
    feed(router_advertisement({.source = kRouterA, .prefix = addr("2001:db8:2::")}));
    return capture_bu([](const CapturedBu& c) { return c.bu.lifetime != 0; });
  }

  // Step (2): the home agent's BA, as the daemon hands it over (RH2 still in).
  void acknowledge(const CapturedBu& bu, const wire::Ipv6Address& care_of,
                   const wire::Ipv6Address& home = kHoa, std::uint8_t status = 0) {
    wire::BindingAcknowledgement ba;
    ba.status = status;
    ba.sequence_number = bu.bu.sequence_number;
    ba.lifetime = bu.bu.lifetime;
    wire::MobilityHeader mh;
    mh.message = ba;
    feed(core::build_mobility_packet({kHa, care_of, std::nullopt, home, 64}, mh));
  }

  void register_at_foreign_link() {
    start(section());
    auto bu = move_to_foreign_link();
    ASSERT_TRUE(bu) << "no Binding Update reached the home agent";
    acknowledge(*bu, kCoa);
    ASSERT_EQ(role_->engine().state(kHoa), core::HomeState::kRegistered);
  }

  void run_loop_for(std::chrono::milliseconds span) {
    auto timer = loop_->add_timer([this] { loop_->stop(); });
    ASSERT_TRUE(timer);
    ASSERT_TRUE(loop_->arm_timer(*timer, now() + span));
    ASSERT_TRUE(loop_->run());
    ASSERT_TRUE(loop_->remove_timer(*timer));
  }

  // The kernel installs the local route of a NODAD address asynchronously (DESIGN.md §3); until
  // then a packet to it is routed onward, not delivered.
  void wait_for_local_route(const wire::Ipv6Address& address) {
    const auto deadline = now() + std::chrono::seconds(3);
    const std::string local = "local " + address.to_string() + " ";
    while (now() < deadline) {
      if (shell("ip -6 route show table local").find(local) != std::string::npos) return;
      ::usleep(10'000);
    }
    FAIL() << "no local route for " << address.to_string();
  }

  bool has_address(std::uint32_t ifindex, const wire::Ipv6Address& address,
                   std::uint8_t prefix_length) {
    auto addresses = netlink_->dump_addresses(ifindex);
    if (!addresses) return false;
    return std::any_of(addresses->begin(), addresses->end(), [&](const auto& a) {
      return a.address == address && a.prefix_length == prefix_length;
    });
  }

  bool has_home_rule(const wire::Ipv6Address& home = kHoa) {
    auto rules = netlink_->dump_rules();
    return rules && std::any_of(rules->begin(), rules->end(), [&](const auto& r) {
             return r.source == home && r.source_length == 128 && r.table == kMobileNodeTable &&
                    r.priority == kMobileNodeRulePriority;
           });
  }

  bool has_default_via(const wire::Ipv6Address& gateway) {
    auto routes = netlink_->dump_routes(linux_dp::kMainTable);
    return routes && std::any_of(routes->begin(), routes->end(), [&](const auto& r) {
             return r.prefix_length == 0 && r.gateway == gateway;
           });
  }

  bool has_prefix_route(const wire::Ipv6Address& prefix) {
    auto routes = netlink_->dump_routes(linux_dp::kMainTable);
    return routes && std::any_of(routes->begin(), routes->end(), [&](const auto& r) {
             return r.prefix_length == 64 && r.destination == prefix && !r.gateway;
           });
  }

  std::uint64_t stat(const char* name) const { return role_->stats()[name].get<std::uint64_t>(); }

  // (9) After stop() and what the daemon does next, nothing of the role is left.
  void expect_no_trace() {
    EXPECT_TRUE(installed_->remove_all());
    EXPECT_TRUE(sysctls_->restore_all());
    EXPECT_FALSE(has_home_rule());
    auto table = netlink_->dump_routes(kMobileNodeTable);
    ASSERT_TRUE(table);
    EXPECT_TRUE(table->empty());
    EXPECT_THAT(shell("ip link show"), Not(HasSubstr("mip6mn")));
    EXPECT_FALSE(has_address(vm_index_, kHoa, 64));
    EXPECT_EQ(shell("sysctl -n net.ipv6.conf.vm.optimistic_dad"), original_optimistic_dad_);
  }

  std::string prefix_;
  std::optional<linux_dp::NetworkNamespace> mn_;
  std::optional<linux_dp::NetworkNamespace> peer_;
  std::optional<linux_dp::NamespaceGuard> guard_;
  std::uint32_t vm_index_ = 0;
  std::uint32_t vp_index_ = 0;
  std::optional<core::LinkLayerAddress> peer_mac_;
  std::string original_optimistic_dad_;
  linux_dp::UniqueFd capture_;
  wire::Bytes captured_;

  std::optional<linux_dp::EventLoop> loop_;
  std::optional<linux_dp::Netlink> netlink_;
  std::unique_ptr<linux_dp::InstalledState> installed_;
  std::unique_ptr<linux_dp::Sysctls> sysctls_;
  std::optional<RawSender> sender_;
  Logger logger_;
  core::SplitMix64 rng_{0x6d6e};
  std::unique_ptr<Services> services_;
  std::unique_ptr<MobileNodeRole> role_;
  std::vector<std::string> log_;
};

TEST_F(MobileNodeRoleTest, UnknownInterfaceFailsToStart) {
  MobileNodeSection s = section();
  s.interfaces = {"nosuch0"};
  MobileNodeRole role(s, *services_);
  auto status = role.start(now());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "interface nosuch0 not found");
}

TEST_F(MobileNodeRoleTest, StartSetsSysctlsAndPutsTheHomeAddressOnTheTun) {
  start(section());
  EXPECT_EQ(linux_dp::Sysctls::read("net/ipv6/conf/vm/accept_ra").value(), "1");
  EXPECT_EQ(linux_dp::Sysctls::read("net/ipv6/conf/vm/optimistic_dad").value(), "1");
  EXPECT_EQ(linux_dp::Sysctls::read("net/ipv6/conf/vm/use_optimistic").value(), "1");
  auto tun = netlink_->link(role_->tun_ifindex());
  ASSERT_TRUE(tun);
  EXPECT_TRUE(tun->up);
  EXPECT_EQ(tun->mtu, 1500u - 40u);
  EXPECT_TRUE(has_address(role_->tun_ifindex(), kHoa, 128));
  EXPECT_FALSE(has_home_rule());  // no reverse tunnel yet
}

// (1) §11.7.1: the home registration leaves from the care-of address with the home address in
// a Home Address option (§6.3), H and A set, and the care-of address in an Alternate Care-of
// Address option; the checksum uses the home address in the pseudo-header (§6.1.1).
TEST_F(MobileNodeRoleTest, CareOfAddressAndForeignRaSendAHomeRegistration_11_7_1) {
  start(section());
  auto captured = move_to_foreign_link();
  ASSERT_TRUE(captured) << "no Binding Update reached the home agent";
  const auto& layout = captured->rx.layout;
  EXPECT_EQ(layout.ipv6.source, kCoa);
  EXPECT_EQ(layout.ipv6.destination, kHa);
  ASSERT_TRUE(layout.home_address);
  EXPECT_EQ(*layout.home_address, kHoa);
  EXPECT_TRUE(captured->bu.h());
  EXPECT_TRUE(captured->bu.a());
  EXPECT_GT(captured->bu.lifetime, 0);
  EXPECT_EQ(wire::upper_layer_checksum(kHoa, kHa, wire::ip_proto::kMobility, captured->rx.upper()),
            0);
  bool alternate = false;
  for (const auto& option : captured->mh.options) {
    if (const auto* a = std::get_if<wire::AlternateCareOfAddress>(&option))
      alternate = a->alternate_care_of_address == kCoa;
  }
  EXPECT_TRUE(alternate) << "no Alternate Care-of Address option with the care-of address";
  EXPECT_TRUE(has_address(role_->tun_ifindex(), kHoa, 128));
}

// (2) §11.7.3: the BA registers; §11.3.1: packets from the home address then enter the TUN.
TEST_F(MobileNodeRoleTest, AcceptedBindingAckInstallsTheHomeAddressRuleAndRoute_11_7_3) {
  register_at_foreign_link();
  EXPECT_TRUE(has_home_rule());
  auto table = netlink_->dump_routes(kMobileNodeTable);
  ASSERT_TRUE(table);
  ASSERT_EQ(table->size(), 1u);
  EXPECT_EQ(table->front().prefix_length, 0);
  EXPECT_EQ(table->front().ifindex, role_->tun_ifindex());
  EXPECT_TRUE(has_address(role_->tun_ifindex(), kHoa, 128));
  EXPECT_FALSE(has_address(vm_index_, kHoa, 64));
  auto bul = role_->show("bul", now());
  ASSERT_EQ(bul["home_addresses"].size(), 1u);
  EXPECT_EQ(bul["home_addresses"][0]["state"], "registered");
  EXPECT_EQ(bul["home_addresses"][0]["home_agent"], kHa.to_string());
  EXPECT_EQ(bul["home_addresses"][0]["care_of_address"], kCoa.to_string());
  ASSERT_EQ(bul["entries"].size(), 1u);
  EXPECT_EQ(bul["entries"][0]["peer"], kHa.to_string());
  EXPECT_EQ(bul["entries"][0]["home_registration"], true);
  EXPECT_GT(bul["entries"][0]["lifetime_s"].get<int>(), 0);
  EXPECT_TRUE(role_->show("bc", now()).is_null());
  EXPECT_TRUE(role_->show("hal", now()).is_null());
}

// §11.4.3: after the home link was renumbered, the home address formed from the Mobile Prefix
// Advertisement's new prefix is the node's too — on the TUN, with its own reverse-tunnel rule —
// next to the configured one, and gone after stop().
TEST_F(MobileNodeRoleTest, HomeAddressFormedFromAPrefixAdvertisementIsInstalledToo_11_4_3) {
  start(section());
  auto bu = move_to_foreign_link();
  ASSERT_TRUE(bu);
  // Status 1 (§11.7.3): the node solicits the home prefixes.
  acknowledge(*bu, kCoa, kHoa, wire::kBaStatusAcceptedPrefixDiscoveryNecessary);
  auto mps = capture([](const wire::Bytes& p) {
    auto rx = core::make_rx_packet(p, 0);
    return rx && rx->layout.upper_protocol == wire::ip_proto::kIcmpv6 &&
           std::to_integer<int>(p[rx->layout.upper_offset]) == 146;
  });
  ASSERT_TRUE(mps) << "no Mobile Prefix Solicitation";
  const std::size_t icmp = core::make_rx_packet(*mps, 0)->layout.upper_offset;
  wire::MobilePrefixAdvertisement mpa;
  mpa.identifier = static_cast<std::uint16_t>(std::to_integer<int>((*mps)[icmp + 4]) << 8 |
                                              std::to_integer<int>((*mps)[icmp + 5]));
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = pio.a = true;
  pio.valid_lifetime = pio.preferred_lifetime = 3600;
  pio.prefix = addr("2001:db8:11::");
  mpa.options = {wire::NdOption{pio}};
  wire::Icmpv6Message message;
  message.body = mpa;
  feed(core::build_icmpv6_packet({kHa, kCoa, std::nullopt, kHoa, 64}, message));
  const wire::Ipv6Address formed = addr("2001:db8:11::100");
  auto formed_bu = capture_bu([&](const CapturedBu& c) {
    return c.rx.layout.home_address == formed && c.bu.lifetime != 0;
  });
  ASSERT_TRUE(formed_bu) << "no Binding Update for the formed home address";
  acknowledge(*formed_bu, kCoa, formed);
  ASSERT_EQ(role_->engine().state(formed), core::HomeState::kRegistered);
  EXPECT_TRUE(has_address(role_->tun_ifindex(), formed, 128));
  EXPECT_TRUE(has_home_rule(formed));
  // Both reverse tunnels at once: the formed one's must not replace the configured one's.
  EXPECT_TRUE(has_address(role_->tun_ifindex(), kHoa, 128));
  EXPECT_TRUE(has_home_rule(kHoa));
  role_->stop(now());
  role_.reset();
  expect_no_trace();
  EXPECT_FALSE(has_home_rule(formed));
}

// (3) §11.3.1: an application's datagram from the home address is reverse-tunnelled, from the
// care-of address to the home agent (RFC 2473).
TEST_F(MobileNodeRoleTest, ApplicationDatagramFromHomeAddressIsReverseTunnelled_11_3_1) {
  register_at_foreign_link();
  linux_dp::UniqueFd socket(::socket(AF_INET6, SOCK_DGRAM, 0));
  ASSERT_GE(socket.get(), 0);
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  std::copy(kHoa.bytes.begin(), kHoa.bytes.end(), local.sin6_addr.s6_addr);
  ASSERT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  sockaddr_in6 remote{};
  remote.sin6_family = AF_INET6;
  remote.sin6_port = htons(9999);
  std::copy(kCn.bytes.begin(), kCn.bytes.end(), remote.sin6_addr.s6_addr);
  ASSERT_EQ(
      ::sendto(socket.get(), "data", 4, 0, reinterpret_cast<sockaddr*>(&remote), sizeof remote), 4);
  run_loop_for(std::chrono::milliseconds(300));
  auto outer = capture([](const wire::Bytes& p) {
    auto rx = core::make_rx_packet(p, 0);
    return rx && rx->layout.upper_protocol == wire::ip_proto::kIpv6;
  });
  ASSERT_TRUE(outer) << "nothing tunnelled reached the home agent";
  auto header = wire::decode_ipv6_header(*outer);
  EXPECT_EQ(header->source, kCoa);
  EXPECT_EQ(header->destination, kHa);
  auto inner = wire::decapsulate(*outer);
  ASSERT_TRUE(inner);
  auto inner_rx = core::make_rx_packet(*inner, 0);
  ASSERT_TRUE(inner_rx);
  EXPECT_EQ(inner_rx->layout.ipv6.source, kHoa);
  EXPECT_EQ(inner_rx->layout.ipv6.destination, kCn);
  EXPECT_EQ(inner_rx->layout.upper_protocol, wire::ip_proto::kUdp);
  EXPECT_EQ(wire::upper_layer_checksum(kHoa, kCn, wire::ip_proto::kUdp, inner_rx->upper()), 0);
  EXPECT_EQ(stat("reverse_tunnelled"), 1u);
}

// (4) §11.3.3, RFC 2473: a datagram tunnelled by the home agent reaches the application bound
// to the home address; the same from another tunnel source does not.
TEST_F(MobileNodeRoleTest, TunnelledDatagramFromHomeAgentReachesTheHomeAddressSocket_11_3_3) {
  register_at_foreign_link();
  linux_dp::UniqueFd socket(::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0));
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_port = htons(kAppPort);
  std::copy(kHoa.bytes.begin(), kHoa.bytes.end(), local.sin6_addr.s6_addr);
  ASSERT_EQ(::bind(socket.get(), reinterpret_cast<sockaddr*>(&local), sizeof local), 0);

  wait_for_local_route(kHoa);
  const wire::Bytes inner = udp_packet(kCn, kHoa, 7777, kAppPort);
  auto deliver_from = [&](const wire::Ipv6Address& tunnel_source) {
    const wire::Bytes outer = wire::encapsulate(inner, {tunnel_source, kCoa});
    auto rx = core::make_rx_packet(outer, vm_index_);
    EXPECT_TRUE(rx);
    return rx && role_->on_tunnelled(*rx, *wire::decapsulate(outer), now());
  };
  EXPECT_TRUE(deliver_from(addr("2001:db8:9::9")));
  EXPECT_EQ(stat("tunnelled_not_from_home_agent"), 1u);
  EXPECT_TRUE(deliver_from(kHa));
  pollfd pfd{socket.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1)
      << "the datagram never reached the socket" << role_->stats().dump();
  char buffer[64];
  sockaddr_in6 from{};
  socklen_t length = sizeof from;
  auto n = ::recvfrom(socket.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                      &length);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(std::max<ssize_t>(n, 0))), "hello");
  EXPECT_TRUE(std::equal(kCn.bytes.begin(), kCn.bytes.end(), from.sin6_addr.s6_addr));
  EXPECT_EQ(::recv(socket.get(), buffer, sizeof buffer, 0), -1);  // only one went through
  EXPECT_EQ(stat("tunnelled_delivered"), 1u);
  // Not to one of our care-of addresses: another role's.
  const wire::Bytes elsewhere = wire::encapsulate(inner, {kHa, addr("2001:db8:2::77")});
  auto rx = core::make_rx_packet(elsewhere, vm_index_);
  ASSERT_TRUE(rx);
  EXPECT_FALSE(role_->on_tunnelled(*rx, *wire::decapsulate(elsewhere), now()));
}

// Issue 8 benchmark, RFC 2473 §3: a burst of in-order TCP segments the home agent tunnelled is
// written into the TUN as one superpacket (GRO in user space), and the application on the home
// address reads the stream whole and in order.
TEST_F(MobileNodeRoleTest, TunnelledTcpBurstReachesTheHomeAddressSocketAsOneStream_11_3_3) {
  constexpr std::uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08;
  constexpr std::uint32_t kIsn = 1000;
  register_at_foreign_link();
  wait_for_local_route(kHoa);
  linux_dp::UniqueFd listener(::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
  sockaddr_in6 local{};
  local.sin6_family = AF_INET6;
  local.sin6_port = htons(kAppPort);
  std::copy(kHoa.bytes.begin(), kHoa.bytes.end(), local.sin6_addr.s6_addr);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  auto tunnel_in = [&](const wire::Bytes& inner) {
    const wire::Bytes outer = wire::encapsulate(inner, {kHa, kCoa});
    auto rx = core::make_rx_packet(outer, vm_index_);
    ASSERT_TRUE(rx);
    EXPECT_TRUE(role_->on_tunnelled(*rx, *wire::decapsulate(outer), now()));
  };
  tunnel_in(tcp_packet(kCn, kHoa, kAppPort, kIsn, 0, kSyn, ""));
  run_loop_for(std::chrono::milliseconds(300));
  std::optional<std::uint32_t> server_isn;
  auto synack = capture([&](const wire::Bytes& p) {
    auto outer = core::make_rx_packet(p, 0);
    if (!outer || outer->layout.upper_protocol != wire::ip_proto::kIpv6) return false;
    auto inner = wire::decapsulate(p);
    if (!inner) return false;
    auto rx = core::make_rx_packet(*inner, 0);
    if (!rx || rx->layout.upper_protocol != wire::ip_proto::kTcp) return false;
    auto tcp = rx->upper();
    if (tcp.size() < 20 || std::to_integer<std::uint8_t>(tcp[13]) != (kSyn | kAck)) return false;
    server_isn = wire::load_be32(&tcp[4]);
    return true;
  });
  ASSERT_TRUE(synack && server_isn) << "no SYN-ACK was reverse-tunnelled";
  const std::uint32_t ack = *server_isn + 1;
  tunnel_in(tcp_packet(kCn, kHoa, kAppPort, kIsn + 1, ack, kAck, ""));
  std::string stream;
  for (int i = 0; i < 4; ++i) {
    std::string chunk(i < 3 ? 1000 : 500, static_cast<char>('a' + i));
    tunnel_in(tcp_packet(kCn, kHoa, kAppPort, kIsn + 1 + static_cast<std::uint32_t>(stream.size()),
                         ack, i < 3 ? kAck : kAck | kPsh, chunk));
    stream += chunk;
  }
  run_loop_for(std::chrono::milliseconds(300));
  EXPECT_EQ(stat("tun_superpackets"), 1u) << role_->stats().dump();
  pollfd accept_ready{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&accept_ready, 1, 2000), 1) << "the handshake never completed";
  linux_dp::UniqueFd connection(::accept(listener.get(), nullptr, nullptr));
  ASSERT_GE(connection.get(), 0);
  std::string received;
  std::array<char, 4096> buffer{};
  while (received.size() < stream.size()) {
    pollfd pfd{connection.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 2000) != 1) break;
    auto n = ::recv(connection.get(), buffer.data(), buffer.size(), 0);
    if (n <= 0) break;
    received.append(buffer.data(), static_cast<std::size_t>(n));
  }
  EXPECT_EQ(received, stream);
}

// (5) §11.5.5: back on the home link the node de-registers from its home address, which moves
// to the physical interface; nothing routes it into the TUN any more.
TEST_F(MobileNodeRoleTest, ReturningHomeDeregistersAndMovesTheHomeAddress_11_5_5) {
  register_at_foreign_link();
  ASSERT_EQ(run("ip -6 route add default via fe80::1 dev vm metric 2048"), 0);
  // §11.5.5 step 3: the BU goes to the link-layer address the home agent's RA gave, not to
  // whatever neighbour resolution would find.
  ASSERT_EQ(run("ip -6 neigh replace 2001:db8:1::1 lladdr 02:00:00:00:00:99 dev vm nud permanent"),
            0);
  feed(router_advertisement({.source = kHomeRouter,
                             .prefix = kHa,
                             .home_agent = true,
                             .router_address = true,
                             .link_layer_address = peer_mac_}));
  feed(router_advertisement(
      {.source = kRouterA, .prefix = addr("2001:db8:2::"), .router_lifetime = 0}));
  auto dereg = capture_bu([](const CapturedBu& c) { return c.bu.lifetime == 0; });
  ASSERT_TRUE(dereg) << "no de-registration reached the home agent";
  EXPECT_EQ(dereg->rx.layout.ipv6.source, kHoa);
  EXPECT_EQ(dereg->rx.layout.ipv6.destination, kHa);
  EXPECT_FALSE(dereg->rx.layout.home_address);
  EXPECT_TRUE(dereg->bu.h());
  EXPECT_TRUE(has_address(vm_index_, kHoa, 64));
  EXPECT_FALSE(has_address(role_->tun_ifindex(), kHoa, 128));
  EXPECT_FALSE(has_home_rule());
  auto table = netlink_->dump_routes(kMobileNodeTable);
  ASSERT_TRUE(table);
  EXPECT_TRUE(table->empty());
  // Home again: the foreign care-of address and its router are the link left behind.
  EXPECT_FALSE(has_address(vm_index_, kCoa, 64));
  EXPECT_FALSE(has_default_via(kRouterA));
  EXPECT_TRUE(has_default_via(kHomeRouter));
  EXPECT_THAT(log_, testing::Contains(HasSubstr("movement: at home on ifindex")));
}

// §11.5.5 then §11.7.1: acknowledged at home, then away again: the home address goes back
// onto the TUN (and off the home link's interface), and a new registration leaves.
TEST_F(MobileNodeRoleTest, LeavingHomeAgainPutsTheHomeAddressBackOnTheTun_11_5_5) {
  register_at_foreign_link();
  feed(router_advertisement({.source = kHomeRouter,
                             .prefix = kHa,
                             .home_agent = true,
                             .router_address = true,
                             .link_layer_address = peer_mac_}));
  feed(router_advertisement(
      {.source = kRouterA, .prefix = addr("2001:db8:2::"), .router_lifetime = 0}));
  auto dereg = capture_bu([](const CapturedBu& c) { return c.bu.lifetime == 0; });
  ASSERT_TRUE(dereg);
  wire::BindingAcknowledgement ba;
  ba.sequence_number = dereg->bu.sequence_number;
  wire::MobilityHeader mh;
  mh.message = ba;
  feed(core::build_mobility_packet({kHa, kHoa, std::nullopt, std::nullopt, 64}, mh));
  ASSERT_EQ(role_->engine().state(kHoa), core::HomeState::kAtHome);
  EXPECT_TRUE(has_address(vm_index_, kHoa, 64));

  ASSERT_EQ(run("ip -6 addr add 2001:db8:3::100/64 dev vm nodad"), 0);
  ASSERT_EQ(run("ip -6 route add default via fe80::3 dev vm"), 0);  // as the RA would add it
  address_event(kCoa2);
  feed(router_advertisement({.source = kRouterB, .prefix = addr("2001:db8:3::")}));
  feed(router_advertisement({.source = kHomeRouter,
                             .prefix = kHa,
                             .router_lifetime = 0,
                             .home_agent = true,
                             .router_address = true}));
  auto bu = capture_bu(
      [](const CapturedBu& c) { return c.rx.layout.ipv6.source == kCoa2 && c.bu.lifetime != 0; });
  ASSERT_TRUE(bu) << "no registration from the new care-of address";
  EXPECT_EQ(bu->rx.layout.home_address, kHoa);
  EXPECT_TRUE(has_address(role_->tun_ifindex(), kHoa, 128));
  EXPECT_FALSE(has_address(vm_index_, kHoa, 64));
  EXPECT_TRUE(has_home_rule());
}

// §11.4.1: with no home agent configured, the node asks the home prefix's anycast address.
TEST_F(MobileNodeRoleTest, DiscoverSendsADhaadRequest_11_4_1) {
  MobileNodeSection s = section();
  s.home_agent.reset();
  start(s);
  address_event(kCoa);
  feed(router_advertisement({.source = kRouterA, .prefix = addr("2001:db8:2::")}));
  auto request = capture([](const wire::Bytes& p) {
    auto rx = core::make_rx_packet(p, 0);
    return rx && rx->layout.upper_protocol == wire::ip_proto::kIcmpv6 && !rx->upper().empty() &&
           std::to_integer<int>(rx->upper()[0]) == 144;
  });
  ASSERT_TRUE(request) << "no DHAAD request";
  auto header = wire::decode_ipv6_header(*request);
  EXPECT_EQ(header->source, kCoa);
  EXPECT_EQ(header->destination, addr("2001:db8:1:0:fdff:ffff:ffff:fffe"));  // RFC 2526
  EXPECT_EQ(role_->engine().state(kHoa), core::HomeState::kDiscovering);
  EXPECT_TRUE(role_->show("bul", now())["home_addresses"][0]["home_agent"].is_null());
}

// (6) Issue 8: after a move, the old link's address, on-link prefix and default router are
// deleted, so nothing is sent on-link to a link the node has left; the new link's stay.
TEST_F(MobileNodeRoleTest, MovingToANewLinkRemovesTheOldAddressPrefixAndDefaultRoute) {
  register_at_foreign_link();
  // What an RA's Prefix Information option leaves (RFC 4861 §6.3.4): an on-link route that
  // outlives the address formed in the prefix.
  ASSERT_EQ(run("ip -6 route add 2001:db8:2::/64 dev vm metric 512"), 0);
  ASSERT_EQ(run("ip -6 addr add 2001:db8:3::100/64 dev vm nodad"), 0);
  ASSERT_EQ(run("ip -6 route add default via fe80::3 dev vm metric 2048"), 0);
  address_event(kCoa2);
  feed(router_advertisement({.source = kRouterB, .prefix = addr("2001:db8:3::")}));
  feed(router_advertisement(
      {.source = kRouterA, .prefix = addr("2001:db8:2::"), .router_lifetime = 0}));
  auto bu = capture_bu([](const CapturedBu& c) { return c.rx.layout.ipv6.source == kCoa2; });
  ASSERT_TRUE(bu) << "no Binding Update for the new care-of address";
  EXPECT_FALSE(has_address(vm_index_, kCoa, 64));
  EXPECT_TRUE(has_address(vm_index_, kCoa2, 64));
  EXPECT_FALSE(has_default_via(kRouterA));
  EXPECT_TRUE(has_default_via(kRouterB));
  EXPECT_FALSE(has_prefix_route(addr("2001:db8:2::")));
  EXPECT_TRUE(has_prefix_route(addr("2001:db8:3::")));
  EXPECT_EQ(stat("link_addresses_removed"), 1u);
  EXPECT_EQ(stat("link_routes_removed"), 2u);
  EXPECT_THAT(log_, testing::Contains(HasSubstr("removed address 2001:db8:2::100/64")));
  EXPECT_THAT(log_, testing::Contains(HasSubstr("removed on-link prefix 2001:db8:2::/64")));
  EXPECT_THAT(log_, testing::Contains(
                        HasSubstr("movement: away, primary care-of address 2001:db8:3::100")));
}

// (7) §11.3.3: a Type 2 Routing header is processed only when it names our home address and
// the packet came to our care-of address (which a correspondent knows only from a binding).
TEST_F(MobileNodeRoleTest, Type2RoutingHeaderIsAcceptedOnlyWithABinding_11_3_3) {
  start(section());
  auto queue = [&](const wire::Ipv6Address& home, const wire::Ipv6Address& care_of,
                   wire::Bytes& storage) {
    storage = *linux_dp::insert_type2_routing_header(udp_packet(kCn, home, 7, kAppPort), care_of);
    linux_dp::QueuedPacket queued;
    queued.packet = storage;
    auto rx = core::make_rx_packet(storage, vm_index_);
    EXPECT_TRUE(rx);
    return role_->on_queued(queued, *rx, now());
  };
  wire::Bytes packet;
  auto before = queue(kHoa, kCoa, packet);  // no care-of address known yet
  ASSERT_TRUE(before);
  EXPECT_EQ(before->kind, linux_dp::Verdict::Kind::kDrop);
  auto bu = move_to_foreign_link();
  ASSERT_TRUE(bu);
  acknowledge(*bu, kCoa);
  auto accepted = queue(kHoa, kCoa, packet);
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->kind, linux_dp::Verdict::Kind::kAccept);
  ASSERT_TRUE(accepted->replacement);
  auto header = wire::decode_ipv6_header(*accepted->replacement);
  EXPECT_EQ(header->destination, kHoa);
  auto not_ours = queue(addr("2001:db8:1::999"), kCoa, packet);
  ASSERT_TRUE(not_ours);
  EXPECT_EQ(not_ours->kind, linux_dp::Verdict::Kind::kDrop);
  EXPECT_EQ(stat("dropped_bad_type2"), 2u);
  EXPECT_EQ(stat("queued_type2_accepted"), 1u);
  // A packet with no Type 2 Routing header is not the mobile node's business.
  wire::Bytes plain = udp_packet(kCn, kCoa, 7, kAppPort);
  linux_dp::QueuedPacket queued;
  queued.packet = plain;
  auto rx = core::make_rx_packet(plain, vm_index_);
  ASSERT_TRUE(rx);
  EXPECT_FALSE(role_->on_queued(queued, *rx, now()));
}

// (8) Malformed and unexpected input is counted, never fatal.
TEST_F(MobileNodeRoleTest, MalformedInputIsCountedAndDropped) {
  register_at_foreign_link();
  // A BA with a broken checksum (§9.2: silently discarded).
  wire::MobilityHeader mh;
  mh.message = wire::BindingAcknowledgement{};
  wire::Bytes ba = core::build_mobility_packet({kHa, kCoa, std::nullopt, kHoa, 64}, mh);
  ba.back() ^= std::byte{0xFF};
  feed(ba);
  EXPECT_GE(stat("dropped_bad_checksum") + stat("dropped_malformed"), 1u);
  // A signalling packet whose Type 2 Routing header names someone else.
  wire::Bytes foreign = core::build_mobility_packet({kHa, kCoa, std::nullopt, kCn, 64}, mh);
  feed(foreign);
  EXPECT_EQ(stat("dropped_bad_type2"), 1u);
  // A tunnelled packet whose inner packet does not parse.
  wire::Bytes garbage(60, std::byte{0x42});
  const wire::Bytes outer = wire::encapsulate(garbage, {kHa, kCoa});
  auto rx = core::make_rx_packet(outer, vm_index_);
  ASSERT_TRUE(rx);
  EXPECT_TRUE(role_->on_tunnelled(*rx, garbage, now()));
  EXPECT_EQ(stat("tunnelled_malformed"), 1u);
  // Random bytes that happen to walk are handed over without harm.
  core::SplitMix64 random(42);
  for (int i = 0; i < 300; ++i) {
    wire::Bytes p = udp_packet(kHa, kCoa, 1, 2);
    for (std::size_t k = 40; k < p.size(); ++k)
      p[k] = static_cast<std::byte>(random.next_u64());
    p[6] = std::byte{i % 2 == 0 ? wire::ip_proto::kMobility : wire::ip_proto::kIcmpv6};
    if (auto r = core::make_rx_packet(p, vm_index_)) role_->on_signalling(*r, now());
  }
  EXPECT_EQ(role_->engine().state(kHoa), core::HomeState::kRegistered);
  for (const char* name : {"tun_not_ipv6", "tun_not_from_home_address", "send_failed",
                           "dropped_bad_type2", "tunnelled_malformed", "bu_sent"})
    EXPECT_TRUE(role_->stats().contains(name)) << name;
}

// §11.5.1: a router probe's Neighbor Advertisement comes back to the engine as reachability.
TEST_F(MobileNodeRoleTest, RouterProbeAnswerIsFedBackAsReachability_11_5_1) {
  register_at_foreign_link();
  role_->on_netlink(linux_dp::LinkEvent{vm_index_, true, false, false, "vm"}, now());
  role_->on_netlink(linux_dp::LinkEvent{vm_index_, true, true, true, "vm"}, now());
  auto probe = capture([](const wire::Bytes& p) {
    auto rx = core::make_rx_packet(p, 0);
    return rx && rx->layout.upper_protocol == wire::ip_proto::kIcmpv6 &&
           !rx->layout.ipv6.destination.is_multicast() && !rx->upper().empty() &&
           std::to_integer<int>(rx->upper()[0]) == 135;
  });
  ASSERT_TRUE(probe) << "no router probe";
  auto probe_rx = core::make_rx_packet(*probe, 0);
  const auto target = probe_rx->layout.ipv6.destination;
  wire::NeighborAdvertisement na;
  na.s = true;
  na.target_address = target;
  wire::Icmpv6Message message;
  message.body = na;
  feed(core::build_icmpv6_packet(
      {target, probe_rx->layout.ipv6.source, std::nullopt, std::nullopt, 255}, message));
  EXPECT_EQ(stat("router_probe_answers"), 1u);
  ASSERT_NE(role_->engine().movement().default_router(), nullptr);
  EXPECT_FALSE(role_->engine().movement().default_router()->probe_deadline);
}

TEST_F(MobileNodeRoleTest, FlushAndReloadSayWhatTheyDo) {
  start(section());
  EXPECT_EQ(role_->flush(now()), "the mobile node has no binding cache to flush");
  DaemonConfig config;
  config.mobile_node = section();
  EXPECT_TRUE(role_->reload(config, now()).empty());
  config.mobile_node->home_agent.reset();
  config.mobile_node->lifetime = std::chrono::seconds(100);
  EXPECT_EQ(role_->reload(config, now()),
            (std::vector<std::string>{"mobile_node.home_agent", "mobile_node.lifetime"}));
}

// (9) Stopping after a registration leaves nothing behind (checked after every test, here
// with the most installed).
TEST_F(MobileNodeRoleTest, StopLeavesNoTrace) {
  register_at_foreign_link();
  ASSERT_TRUE(has_home_rule());
  role_->stop(now());
  expect_no_trace();
  role_.reset();
}

}  // namespace
}  // namespace mipv6::daemon
