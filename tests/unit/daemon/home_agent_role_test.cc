// The home agent role against the real kernel, in three network namespaces the test creates and
// removes: "ha" (the role, its home link home0 and its link out0 towards the visited network),
// "mn" (the mobile node away, holding the care-of address on m0) and "h" (a node on the home
// link, h0). The test plays the daemon: it feeds the role what the daemon's sockets would hand
// it (a BU as NFQUEUE delivers it, the ICMPv6 socket's NS/NA/DHAAD traffic) and watches the
// effects: packets captured at the mobile node, the kernel's proxy entries, routes and rules.
#include "daemon/home_agent_role.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../linux/linux_test_util.h"
#include "core/rng.h"
#include "core/signalling.h"
#include "daemon/raw_sender.h"
#include "linux/netns.h"
#include "wire/chain.h"
#include "wire/icmpv6.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using linux_dp::NamespaceGuard;
using linux_dp::NetworkNamespace;
using linux_dp::test_util::addr;
using linux_dp::test_util::shell;
using wire::Ipv6Address;
using namespace std::chrono_literals;

const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kHaOut = addr("2001:db8:2::1");
const Ipv6Address kNeighbor = addr("2001:db8:1::50");
const Ipv6Address kHome = addr("2001:db8:1::100");
const Ipv6Address kHome2 = addr("2001:db8:1::101");
const Ipv6Address kCoa = addr("2001:db8:2::100");
const Ipv6Address kAnycast = addr("2001:db8:1:0:fdff:ffff:ffff:fffe");  // RFC 2526 §2, /64
constexpr std::uint16_t kUdpPort = 5555;
constexpr std::uint16_t kLifetimeUnits = 105;  // 420 s (§6.1.7: 4-second units)

struct SeenBa {
  wire::BindingAcknowledgement ba;
  Ipv6Address source;
  Ipv6Address destination;
  std::optional<Ipv6Address> type2;
  bool checksum_ok = false;
};

wire::Bytes binding_update(std::uint16_t sequence, std::uint16_t lifetime,
                           const Ipv6Address& home = kHome) {
  wire::BindingUpdate bu;
  bu.sequence_number = sequence;
  bu.lifetime = lifetime;
  bu.set_flag(wire::kBuFlagA, true);
  bu.set_flag(wire::kBuFlagH, true);
  wire::MobilityHeader mh;
  mh.message = bu;
  mh.options.push_back(wire::AlternateCareOfAddress{kCoa});  // §11.7.1
  // §6.3 / §11.7.1: sent from the care-of address with a Home Address option.
  return core::build_mobility_packet({kCoa, kHa, home, std::nullopt, 64}, mh);
}

wire::Bytes udp_packet(const Ipv6Address& source, const Ipv6Address& destination,
                       std::uint8_t hop_limit = 64) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.header.hop_limit = hop_limit;
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = wire::Bytes(12, std::byte{0});
  spec.upper[0] = std::byte{0x30};  // source port 12345
  spec.upper[1] = std::byte{0x39};
  spec.upper[2] = std::byte{kUdpPort >> 8};
  spec.upper[3] = std::byte{kUdpPort & 0xff};
  spec.upper[5] = std::byte{12};
  spec.upper[8] = std::byte{'m'};
  spec.upper[9] = std::byte{'i'};
  spec.upper[10] = std::byte{'p'};
  spec.upper[11] = std::byte{'6'};
  return wire::build_packet(spec);
}

class HomeAgentRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: home agent role tests need root !!!";
    const std::string prefix = "mipv6t-" + std::to_string(::getpid()) + "-";
    for (auto [slot, name] : {std::pair{&ha_, "ha"}, {&mn_, "mn"}, {&h_, "h"}}) {
      auto ns = NetworkNamespace::create(prefix + name);
      ASSERT_TRUE(ns) << ns.error().message;
      slot->emplace(std::move(*ns));
      // No DAD on the test's own addresses (link-local ones included): usable at once.
      run("ip netns exec " + (*slot)->name() +
          " sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0");
      run("ip -n " + (*slot)->name() + " link set lo up");
    }
    run("ip link add home0 netns " + ha_->name() + " type veth peer name h0 netns " + h_->name());
    run("ip link add out0 netns " + ha_->name() + " type veth peer name m0 netns " + mn_->name());
    configure(*ha_, "home0", "2001:db8:1::1/64");
    configure(*ha_, "out0", "2001:db8:2::1/64");
    configure(*h_, "h0", "2001:db8:1::50/64");
    configure(*mn_, "m0", "2001:db8:2::100/64");
    run("ip -n " + mn_->name() + " -6 route add 2001:db8:1::/64 via 2001:db8:2::1");
    run("ip -n " + h_->name() + " -6 route add 2001:db8:2::/64 via 2001:db8:1::1");
    // The daemon's bypass rule (daemon.cc): its own packets are routed by the main table.
    run("ip -n " + ha_->name() + " -6 rule add fwmark " + std::to_string(kSignallingMark) +
        " lookup main priority " + std::to_string(kBypassRulePriority));
    for (auto [ns, device] : {std::pair{&ha_, "home0"}, {&ha_, "out0"}, {&h_, "h0"}, {&mn_, "m0"}})
      in(**ns, [name = device] { linux_dp::test_util::wait_operational(name); });
    wait_local(*ha_, "2001:db8:2::1");
    wait_local(*h_, "2001:db8:1::50");
    wait_local(*mn_, "2001:db8:2::100");
    open_capture();
    auto guard = NamespaceGuard::enter(*ha_);
    ASSERT_TRUE(guard) << guard.error().message;
    in_ha_.emplace(std::move(*guard));
    make_services();
  }

  void TearDown() override {
    shutdown();
    icmp_.reset();
    loop_.reset();
    netlink_.reset();
    in_ha_.reset();
    capture_fd_.reset();
    for (auto* ns : {&ha_, &mn_, &h_}) {
      if (*ns) {
        auto removed = (*ns)->remove();
        EXPECT_TRUE(removed) << removed.error().message;
      }
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                ::testing::Not(::testing::HasSubstr("mipv6t-" + std::to_string(::getpid()))));
  }

  // What the daemon does at SIGTERM: stop the role, then remove what was installed.
  void shutdown() {
    if (role_) {
      role_->stop(linux_dp::MonotonicClock::now());
      role_.reset();
    }
    if (installed_) {
      EXPECT_TRUE(installed_->remove_all());
    }
    if (sysctls_) {
      EXPECT_TRUE(sysctls_->restore_all());
    }
  }

  static void run(const std::string& command) {
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  static void in(const NetworkNamespace& ns, const std::function<void()>& f) {
    auto guard = NamespaceGuard::enter(ns);
    ASSERT_TRUE(guard) << guard.error().message;
    f();
  }

  static void configure(const NetworkNamespace& ns, const std::string& device,
                        const std::string& address) {
    run("ip -n " + ns.name() + " -6 address add " + address + " dev " + device + " nodad");
    run("ip -n " + ns.name() + " link set " + device + " up");
  }

  // Addresses added without DAD get their local route a moment later (DESIGN.md §3).
  static void wait_local(const NetworkNamespace& ns, const std::string& address) {
    for (int i = 0; i < 300; ++i) {
      if (shell("ip -n " + ns.name() + " -6 route show table local")
              .find("local " + address + " ") != std::string::npos)
        return;
      ::usleep(10'000);
    }
    FAIL() << address << " never got its local route";
  }

  // Every IPv6 frame that reaches the mobile node's m0.
  void open_capture() {
    in(*mn_, [&] {
      int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
      ASSERT_GE(fd, 0);
      capture_fd_.emplace(fd);
      sockaddr_ll ll{};
      ll.sll_family = AF_PACKET;
      ll.sll_protocol = htons(ETH_P_IPV6);
      ll.sll_ifindex = static_cast<int>(::if_nametoindex("m0"));
      ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&ll), sizeof ll), 0);
    });
  }

  void read_capture() {
    std::array<std::byte, 2048> frame{};
    for (;;) {
      sockaddr_ll from{};
      socklen_t length = sizeof from;
      ssize_t n = ::recvfrom(capture_fd_->get(), frame.data(), frame.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), &length);
      if (n <= 0) return;
      if (from.sll_pkttype == PACKET_OUTGOING) continue;
      frames_.emplace_back(frame.begin(), frame.begin() + n);
    }
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
    home_ifindex_ = *netlink_->link_index("home0");
    out_ifindex_ = *netlink_->link_index("out0");
    ASSERT_TRUE(loop_->watch(capture_fd_->get(), [this] { read_capture(); }));
    // The daemon's ICMPv6 socket: NS / NA (DAD answers) and DHAAD requests go to the role.
    const std::uint8_t types[] = {135, 136, 144, 146};
    auto icmp = linux_dp::RawSocket::open_icmpv6(types);
    ASSERT_TRUE(icmp);
    icmp_.emplace(std::move(*icmp));
    ASSERT_TRUE(loop_->watch(icmp_->fd(), [this] { deliver_icmp(); }));
  }

  // As the daemon does: the received payload rebuilt into a whole IPv6 packet.
  void deliver_icmp() {
    std::array<std::byte, 2048> buffer{};
    for (;;) {
      auto received = icmp_->receive(buffer);
      if (!received) return;
      wire::PacketSpec spec;
      spec.header.source = received->source;
      spec.header.destination = received->destination;
      spec.header.hop_limit = static_cast<std::uint8_t>(received->hop_limit.value_or(64));
      spec.upper_protocol = wire::kIcmpv6NextHeader;
      spec.upper.assign(buffer.begin(), buffer.begin() + static_cast<long>(received->length));
      spec.compute_checksum = false;
      wire::Bytes packet = wire::build_packet(spec);
      auto rx = core::make_rx_packet(packet, received->ifindex);
      if (rx && role_) role_->on_signalling(*rx, linux_dp::MonotonicClock::now());
    }
  }

  static HomeAgentSection section() {
    HomeAgentSection s;
    s.interface = "home0";
    return s;
  }

  void start(const HomeAgentSection& config = section()) {
    role_ = std::make_unique<HomeAgentRole>(config, *services_);
    auto started = role_->start(linux_dp::MonotonicClock::now());
    ASSERT_TRUE(started) << started.error().message;
  }

  void feed(const wire::Bytes& packet, std::uint32_t ifindex = 0) {
    auto rx = core::make_rx_packet(packet, ifindex == 0 ? out_ifindex_ : ifindex);
    ASSERT_TRUE(rx);
    role_->on_signalling(*rx, linux_dp::MonotonicClock::now());
  }

  // Runs the event loop until `done` holds or `timeout` passes; returns `done()`.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 3s) {
    const core::TimePoint deadline = linux_dp::MonotonicClock::now() + timeout;
    std::optional<linux_dp::EventLoop::TimerId> id;
    auto timer = loop_->add_timer([&] {
      core::TimePoint now = linux_dp::MonotonicClock::now();
      if (done() || now >= deadline) {
        loop_->stop();
        return;
      }
      (void)loop_->arm_timer(*id, now + 10ms);
    });
    EXPECT_TRUE(timer);
    if (!timer) return false;
    id = *timer;
    EXPECT_TRUE(loop_->arm_timer(*id, linux_dp::MonotonicClock::now()));
    EXPECT_TRUE(loop_->run());
    EXPECT_TRUE(loop_->remove_timer(*id));
    return done();
  }

  std::vector<SeenBa> bas() const {
    std::vector<SeenBa> out;
    for (const auto& frame : frames_) {
      auto rx = core::make_rx_packet(frame, 0);
      if (!rx || rx->layout.upper_protocol != wire::kIpProtoMobility) continue;
      auto input = core::check_mobility_header(*rx);
      const auto* ba = wire::find_message<wire::BindingAcknowledgement>(input.header);
      if (input.verdict != core::MhVerdict::kAccept || ba == nullptr) continue;
      out.push_back({*ba, rx->layout.ipv6.source, rx->layout.ipv6.destination,
                     rx->layout.type2_address,
                     bool(wire::verify_upper_checksum(frame, rx->layout))});
    }
    return out;
  }

  std::optional<SeenBa> ba_with_sequence(std::uint16_t sequence) const {
    for (const auto& seen : bas()) {
      if (seen.ba.sequence_number == sequence) return seen;
    }
    return std::nullopt;
  }

  std::optional<SeenBa> await_ba(std::uint16_t sequence, std::chrono::milliseconds timeout = 3s) {
    run_until([&] { return ba_with_sequence(sequence).has_value(); }, timeout);
    return ba_with_sequence(sequence);
  }

  // A first home registration of `home`: BU, DAD (1 s), BA status 0.
  void register_home(std::uint16_t sequence = 1, const Ipv6Address& home = kHome) {
    feed(binding_update(sequence, kLifetimeUnits, home));
    auto ba = await_ba(sequence);
    ASSERT_TRUE(ba) << "no BA for the registration";
    ASSERT_EQ(ba->ba.status, 0);
  }

  bool has_proxy(const Ipv6Address& address) {
    auto proxies = netlink_->dump_neighbors(home_ifindex_, true);
    EXPECT_TRUE(proxies);
    if (!proxies) return false;
    return std::any_of(proxies->begin(), proxies->end(),
                       [&](const linux_dp::NeighborInfo& n) { return n.address == address; });
  }

  bool has_tunnel_route(const Ipv6Address& address) {
    auto routes = netlink_->dump_routes(kHomeAgentTable);
    EXPECT_TRUE(routes);
    if (!routes) return false;
    return std::any_of(routes->begin(), routes->end(), [&](const linux_dp::RouteSpec& r) {
      return r.destination == address && r.prefix_length == 128 &&
             r.ifindex == role_->tun_ifindex() && r.table == kHomeAgentTable;
    });
  }

  // A UDP socket of the home-link node, bound to kUdpPort.
  linux_dp::UniqueFd neighbor_socket() {
    linux_dp::UniqueFd fd;
    in(*h_, [&] {
      fd.reset(::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      sockaddr_in6 local{};
      local.sin6_family = AF_INET6;
      local.sin6_port = htons(kUdpPort);
      EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local), 0);
    });
    return fd;
  }

  static bool readable(int fd, int timeout_ms) {
    pollfd pfd{fd, POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) == 1;
  }

  std::uint64_t stat(const char* name) const { return role_->stats().value(name, 0u); }

  std::optional<NetworkNamespace> ha_;
  std::optional<NetworkNamespace> mn_;
  std::optional<NetworkNamespace> h_;
  std::optional<NamespaceGuard> in_ha_;
  std::optional<linux_dp::UniqueFd> capture_fd_;
  std::vector<wire::Bytes> frames_;

  std::optional<linux_dp::EventLoop> loop_;
  std::optional<linux_dp::Netlink> netlink_;
  std::unique_ptr<linux_dp::InstalledState> installed_;
  std::unique_ptr<linux_dp::Sysctls> sysctls_;
  std::optional<RawSender> sender_;
  Logger logger_;
  std::vector<std::string> log_;
  core::SplitMix64 rng_{42};
  std::unique_ptr<Services> services_;
  std::optional<linux_dp::RawSocket> icmp_;
  std::uint32_t home_ifindex_ = 0;
  std::uint32_t out_ifindex_ = 0;
  std::unique_ptr<HomeAgentRole> role_;
};

// (1) §10.3.1: DAD on the home link first, then a BA routed to the care-of address with a Type 2
// Routing header (§6.4, §9.5.4); interception installed (§10.4.1).
TEST_F(HomeAgentRoleTest, HomeRegistrationAnswersAfterDadWithType2Ba_10_3_1) {
  start();
  // The node just left the home link: the home agent's kernel still has (or resolves) a
  // neighbour entry for it, which must not answer queued packets with Address Unreachable.
  run("ip -n " + ha_->name() + " -6 neigh add 2001:db8:1::100 lladdr 02:00:00:00:00:01 dev home0");
  const auto sent = std::chrono::steady_clock::now();
  feed(binding_update(7, kLifetimeUnits));
  auto ba = await_ba(7);
  ASSERT_TRUE(ba) << "no BA reached the care-of address";
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 900ms) << "answered before DAD ended";
  EXPECT_EQ(ba->ba.status, 0);
  EXPECT_EQ(ba->ba.lifetime, kLifetimeUnits);
  EXPECT_EQ(ba->source, kHa);
  EXPECT_EQ(ba->destination, kCoa);
  ASSERT_TRUE(ba->type2);
  EXPECT_EQ(*ba->type2, kHome);
  EXPECT_TRUE(ba->checksum_ok);
  EXPECT_TRUE(has_proxy(kHome));
  EXPECT_TRUE(has_tunnel_route(kHome));
  auto rules = netlink_->dump_rules();
  ASSERT_TRUE(rules);
  EXPECT_TRUE(std::any_of(rules->begin(), rules->end(), [](const linux_dp::RuleSpec& r) {
    return r.table == kHomeAgentTable && r.priority == kHomeAgentRulePriority && !r.source &&
           !r.destination && !r.fwmark;
  }));
  EXPECT_EQ(stat("dad_started"), 1u);
  EXPECT_EQ(stat("dad_unique"), 1u);
  EXPECT_EQ(stat("registrations"), 1u);
  EXPECT_EQ(stat("home_neighbor_forgotten"), 1u);
  auto bc = role_->show("bc", linux_dp::MonotonicClock::now());
  ASSERT_EQ(bc["bindings"].size(), 1u);
  const auto& binding = bc["bindings"][0];
  EXPECT_EQ(binding["home_address"], "2001:db8:1::100");
  EXPECT_EQ(binding["care_of_address"], "2001:db8:2::100");
  EXPECT_EQ(binding["sequence"], 7);
  EXPECT_EQ(binding["flags"], "HA");
  EXPECT_EQ(binding["role"], "home_agent");
  EXPECT_GE(binding["lifetime_s"].get<int>(), 415);
  EXPECT_LE(binding["lifetime_s"].get<int>(), 420);
}

// (2) §10.4.1: what the home link sends to the home address reaches the care-of address
// IPv6-in-IPv6 (RFC 2473), from the home agent's address.
TEST_F(HomeAgentRoleTest, PacketForTheHomeAddressIsTunnelledToTheCareOfAddress_10_4_1) {
  start();
  register_home();
  EXPECT_NE(role_->tun_name().find("mip6ha"), std::string::npos);
  auto socket = neighbor_socket();
  in(*h_, [&] {
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_port = htons(9);
    std::memcpy(&to.sin6_addr, kHome.bytes.data(), 16);
    const char payload[] = "to-home";
    ASSERT_EQ(::sendto(socket.get(), payload, sizeof payload, 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(sizeof payload));
  });
  auto tunnelled = [&]() -> std::optional<wire::Bytes> {
    for (const auto& frame : frames_) {
      auto rx = core::make_rx_packet(frame, 0);
      if (rx && rx->layout.upper_protocol == wire::ip_proto::kIpv6) return frame;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(run_until([&] { return tunnelled().has_value(); })) << "nothing was tunnelled";
  const wire::Bytes frame = *tunnelled();
  auto outer = *core::make_rx_packet(frame, 0);
  EXPECT_EQ(outer.layout.ipv6.source, kHa);
  EXPECT_EQ(outer.layout.ipv6.destination, kCoa);
  auto inner = wire::decapsulate(outer.bytes);
  ASSERT_TRUE(inner);
  auto header = wire::decode_ipv6_header(*inner);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->source, kNeighbor);
  EXPECT_EQ(header->destination, kHome);
  EXPECT_EQ(header->hop_limit, 63);  // forwarded once by the home agent
  // The TUN hands the role packets whose checksum the sender's stack left to offload
  // (TUN_F_CSUM); what leaves the tunnel has it (RFC 8200 §8.1).
  auto inner_rx = core::make_rx_packet(*inner, 0);
  ASSERT_TRUE(inner_rx);
  EXPECT_TRUE(wire::verify_upper_checksum(*inner, inner_rx->layout)) << "inner UDP checksum";
  EXPECT_EQ(stat("packets_encapsulated"), 1u);
  EXPECT_EQ(stat("packets_tunnelled"), 1u);
}

// (3) §10.4.5: reverse-tunnelled packets are forwarded only from the registered care-of address.
TEST_F(HomeAgentRoleTest, ReverseTunnelForwardsOnlyFromTheCareOfAddress_10_4_5) {
  start();
  register_home();
  auto socket = neighbor_socket();
  const wire::Bytes inner = udp_packet(kHome, kNeighbor);
  const wire::Bytes outer = wire::encapsulate(inner, {.source = kCoa, .destination = kHa});
  auto rx = core::make_rx_packet(outer, out_ifindex_);
  ASSERT_TRUE(rx);
  EXPECT_TRUE(role_->on_tunnelled(*rx, inner, linux_dp::MonotonicClock::now()));
  ASSERT_TRUE(readable(socket.get(), 2000)) << "the inner packet was not forwarded";
  char buffer[64];
  sockaddr_in6 from{};
  socklen_t length = sizeof from;
  ASSERT_EQ(::recvfrom(socket.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                       &length),
            4);
  EXPECT_EQ(std::string(buffer, 4), "mip6");
  EXPECT_EQ(std::memcmp(&from.sin6_addr, kHome.bytes.data(), 16), 0);
  EXPECT_EQ(stat("reverse_tunnel_forwarded"), 1u);

  const wire::Bytes spoofed =
      wire::encapsulate(inner, {.source = addr("2001:db8:2::999"), .destination = kHa});
  auto spoofed_rx = core::make_rx_packet(spoofed, out_ifindex_);
  ASSERT_TRUE(spoofed_rx);
  EXPECT_TRUE(role_->on_tunnelled(*spoofed_rx, inner, linux_dp::MonotonicClock::now()));
  EXPECT_FALSE(readable(socket.get(), 300)) << "a packet from another source was forwarded";
  EXPECT_EQ(stat("reverse_tunnel_refused"), 1u);
  EXPECT_EQ(stat("dropped_reverse_tunnel"), 1u);

  // Not addressed to the home agent: the next role is asked.
  const wire::Bytes elsewhere = wire::encapsulate(inner, {.source = kCoa, .destination = kCoa});
  auto elsewhere_rx = core::make_rx_packet(elsewhere, out_ifindex_);
  ASSERT_TRUE(elsewhere_rx);
  EXPECT_FALSE(role_->on_tunnelled(*elsewhere_rx, inner, linux_dp::MonotonicClock::now()));
}

// (4) §10.3.2: de-registration: BA status 0 lifetime 0, interception stops at once.
TEST_F(HomeAgentRoleTest, DeregistrationRemovesTheProxyEntryAndRoute_10_3_2) {
  start();
  register_home(1);
  ASSERT_TRUE(has_proxy(kHome));
  feed(binding_update(2, 0));
  auto ba = await_ba(2);
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->ba.status, 0);
  EXPECT_EQ(ba->ba.lifetime, 0);
  EXPECT_FALSE(has_proxy(kHome));
  EXPECT_FALSE(has_tunnel_route(kHome));
  EXPECT_TRUE(role_->show("bc", linux_dp::MonotonicClock::now())["bindings"].empty());
}

// (5) §10.3.1 / RFC 4862 §5.4.4: a node on the home link owns the address: BA 134.
TEST_F(HomeAgentRoleTest, HomeAddressOwnedOnTheHomeLinkGetsBa134_10_3_1) {
  run("ip -n " + h_->name() + " -6 address add 2001:db8:1::100/64 dev h0 nodad");
  start();
  feed(binding_update(3, kLifetimeUnits));
  auto ba = await_ba(3);
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  EXPECT_EQ(stat("dad_duplicate"), 1u);
  EXPECT_EQ(stat("dad_own_address"), 0u);  // the home link's answer, not this node's own
  EXPECT_FALSE(has_proxy(kHome));
  EXPECT_FALSE(has_tunnel_route(kHome));
}

// RFC 4862 §5.4.3: another node's DAD solicitation for the same address during ours: both lose.
TEST_F(HomeAgentRoleTest, AnotherNodesDadSolicitationGetsBa134_10_3_1) {
  start();
  feed(binding_update(3, kLifetimeUnits));
  std::optional<linux_dp::RawSocket> raw;
  std::uint32_t h0 = 0;
  in(*h_, [&] {
    auto socket = linux_dp::RawSocket::open_header_included();
    ASSERT_TRUE(socket);
    raw.emplace(std::move(*socket));
    h0 = ::if_nametoindex("h0");
  });
  ASSERT_TRUE(raw);
  wire::NeighborSolicitation ns;
  ns.target_address = kHome;
  wire::Icmpv6Message message;
  message.body = ns;
  const Ipv6Address solicited = addr("ff02::1:ff00:100");
  ASSERT_TRUE(
      raw->send_packet(core::build_icmpv6_packet(
                           {Ipv6Address{}, solicited, std::nullopt, std::nullopt, 255}, message),
                       h0));
  auto ba = await_ba(3);
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  EXPECT_EQ(stat("dad_duplicate"), 1u);
}

// §10.3.1: an address of the home agent itself is a duplicate without asking the link.
TEST_F(HomeAgentRoleTest, HomeAgentsOwnAddressAsHomeAddressGetsBa134At_10_3_1) {
  start();
  run("ip -n " + ha_->name() + " -6 address add 2001:db8:1::77/64 dev home0 nodad");
  feed(binding_update(4, kLifetimeUnits, addr("2001:db8:1::77")));
  auto ba = await_ba(4, 500ms);
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  EXPECT_EQ(stat("dad_own_address"), 1u);
}

// (6) §10.5: a DHAAD request to the Home-Agents anycast address is accepted by the kernel and
// answered with this home agent's address.
TEST_F(HomeAgentRoleTest, DhaadRequestToTheAnycastAddressIsAnswered_10_5) {
  start();
  EXPECT_NE(shell("ip netns exec " + ha_->name() + " cat /proc/net/anycast6")
                .find("20010db800010000fdfffffffffffffe"),
            std::string::npos);
  std::optional<linux_dp::RawSocket> mn;
  in(*mn_, [&] {
    const std::uint8_t reply_type[] = {145};
    auto socket = linux_dp::RawSocket::open_icmpv6(reply_type);
    ASSERT_TRUE(socket);
    mn.emplace(std::move(*socket));
  });
  ASSERT_TRUE(mn);
  const wire::Bytes request{std::byte{144},  std::byte{0},    std::byte{0}, std::byte{0},
                            std::byte{0x12}, std::byte{0x34}, std::byte{0}, std::byte{0}};
  ASSERT_TRUE(mn->send(request, kAnycast));
  ASSERT_TRUE(run_until([&] { return readable(mn->fd(), 0); })) << "no DHAAD reply";
  std::array<std::byte, 512> buffer{};
  auto received = mn->receive(buffer);
  ASSERT_TRUE(received);
  EXPECT_EQ(received->source, kHa);
  auto message = wire::decode_icmpv6(wire::ByteSpan(buffer).first(received->length));
  ASSERT_TRUE(message);
  const auto* reply = std::get_if<wire::HomeAgentAddressDiscoveryReply>(&message->body);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->identifier, 0x1234);
  EXPECT_EQ(reply->home_agent_addresses, std::vector<Ipv6Address>{kHa});
  EXPECT_EQ(stat("dhaad_replies"), 1u);
  auto hal = role_->show("hal", linux_dp::MonotonicClock::now());
  ASSERT_EQ(hal["home_agents"].size(), 1u);
  EXPECT_EQ(hal["home_agents"][0]["address"], "2001:db8:1::1");
  EXPECT_TRUE(hal["home_agents"][0]["link_local"].is_string());
}

// (7) §10.3.1: no room for another home registration: BA 130, at once.
TEST_F(HomeAgentRoleTest, MaxBindingsReachedGivesBa130_10_3_1) {
  HomeAgentSection config = section();
  config.max_bindings = 1;
  start(config);
  register_home(1, kHome);
  feed(binding_update(1, kLifetimeUnits, kHome2));
  run_until([&] { return bas().size() >= 2; }, 1s);
  auto all = bas();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].ba.status, wire::kBaStatusInsufficientResources);
  ASSERT_TRUE(all[1].type2);
  EXPECT_EQ(*all[1].type2, kHome2);
  EXPECT_FALSE(has_proxy(kHome2));
}

// (8) Malformed and truncated input is counted and survives.
TEST_F(HomeAgentRoleTest, MalformedSignallingIsCountedWithoutCrashing) {
  start();
  wire::Bytes bad_checksum = binding_update(5, kLifetimeUnits);
  bad_checksum.back() ^= std::byte{0xff};
  feed(bad_checksum);
  EXPECT_EQ(stat("dropped_bad_checksum"), 1u);
  // Every truncation and random corruption of a valid BU that still walks as IPv6.
  const wire::Bytes valid = binding_update(6, kLifetimeUnits);
  std::mt19937 random(1234);
  int fed = 0;
  for (int i = 0; i < 600; ++i) {
    wire::Bytes packet = valid;
    if (i < 100) {
      packet.resize(packet.size() * static_cast<std::size_t>(i) / 100);
    } else {
      for (int flips = 0; flips < 3; ++flips)
        packet[random() % packet.size()] = static_cast<std::byte>(random());
    }
    auto rx = core::make_rx_packet(packet, out_ifindex_);
    if (!rx) continue;
    ++fed;
    role_->on_signalling(*rx, linux_dp::MonotonicClock::now());
    (void)role_->on_tunnelled(*rx, packet, linux_dp::MonotonicClock::now());
  }
  EXPECT_GT(fed, 100);
  EXPECT_EQ(stat("signalling_received"), static_cast<std::uint64_t>(fed) + 1);
  EXPECT_GT(stat("dropped_bad_checksum"), 1u);
  // The role still works afterwards.
  run_until([] { return false; }, 1500ms);
  frames_.clear();
  register_home(100);
}

// (9) mipv6ctl flush: every home registration ends as if it had expired.
TEST_F(HomeAgentRoleTest, FlushForgetsEveryHomeRegistration) {
  start();
  register_home();
  EXPECT_EQ(role_->flush(linux_dp::MonotonicClock::now()), "flushed 1 home registrations");
  EXPECT_FALSE(has_proxy(kHome));
  EXPECT_FALSE(has_tunnel_route(kHome));
  EXPECT_TRUE(role_->show("bc", linux_dp::MonotonicClock::now())["bindings"].empty());
}

// (10) Shutdown: after stop(), remove_all() and restore_all() nothing of the role is left.
TEST_F(HomeAgentRoleTest, NothingIsLeftAfterStopAndCleanup) {
  const auto forwarding = linux_dp::Sysctls::read("net/ipv6/conf/all/forwarding");
  const auto proxy_ndp = linux_dp::Sysctls::read("net/ipv6/conf/home0/proxy_ndp");
  ASSERT_TRUE(forwarding && proxy_ndp);
  start();
  EXPECT_EQ(*linux_dp::Sysctls::read("net/ipv6/conf/all/forwarding"), "1");
  EXPECT_EQ(*linux_dp::Sysctls::read("net/ipv6/conf/home0/proxy_ndp"), "1");
  EXPECT_EQ(*linux_dp::Sysctls::read("net/ipv6/neigh/home0/proxy_delay"), "0");
  register_home();
  const std::string tun = role_->tun_name();
  shutdown();
  auto routes = netlink_->dump_routes(kHomeAgentTable);
  ASSERT_TRUE(routes);
  EXPECT_TRUE(routes->empty());
  auto rules = netlink_->dump_rules();
  ASSERT_TRUE(rules);
  EXPECT_TRUE(std::none_of(rules->begin(), rules->end(),
                           [](const linux_dp::RuleSpec& r) { return r.table == kHomeAgentTable; }));
  auto proxies = netlink_->dump_neighbors(0, true);
  ASSERT_TRUE(proxies);
  EXPECT_TRUE(proxies->empty());
  EXPECT_FALSE(netlink_->link_index(tun));
  EXPECT_EQ(shell("ip netns exec " + ha_->name() + " cat /proc/net/anycast6"), "");
  EXPECT_EQ(*linux_dp::Sysctls::read("net/ipv6/conf/all/forwarding"), *forwarding);
  EXPECT_EQ(*linux_dp::Sysctls::read("net/ipv6/conf/home0/proxy_ndp"), *proxy_ndp);
}

TEST_F(HomeAgentRoleTest, StartFailsWithoutTheInterfaceOrAGlobalAddress) {
  HomeAgentSection missing = section();
  missing.interface = "nosuch0";
  HomeAgentRole absent(missing, *services_);
  auto started = absent.start(linux_dp::MonotonicClock::now());
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message, "interface nosuch0 not found");
  run("ip -n " + ha_->name() + " link add bare0 type veth peer name bare1");
  HomeAgentSection bare = section();
  bare.interface = "bare0";
  HomeAgentRole unaddressed(bare, *services_);
  started = unaddressed.start(linux_dp::MonotonicClock::now());
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().message, "home_agent.interface bare0 has no global address");
}

// §10.6.2: a global address added to the home link is the home agent's own from then on.
TEST_F(HomeAgentRoleTest, AddressAddedOnTheHomeLinkBecomesOwn_10_6_2) {
  start();
  const Ipv6Address added = addr("2001:db8:1::2");
  EXPECT_FALSE(role_->engine().is_own_address(added));
  role_->on_netlink(linux_dp::AddressEvent{home_ifindex_, added, 64, 0, true},
                    linux_dp::MonotonicClock::now());
  EXPECT_TRUE(role_->engine().is_own_address(added));
  role_->on_netlink(linux_dp::AddressEvent{home_ifindex_, added, 64, 0, false},
                    linux_dp::MonotonicClock::now());
  EXPECT_FALSE(role_->engine().is_own_address(added));
  role_->on_netlink(linux_dp::LinkEvent{home_ifindex_, false, false, false, "home0", false},
                    linux_dp::MonotonicClock::now());
  EXPECT_TRUE(std::any_of(log_.begin(), log_.end(), [](const std::string& line) {
    return line.find("home interface home0 is down") != std::string::npos;
  }));
}

// §10.6.2 renumbering of the home link (prefixes taken from the interface): a new prefix and
// the old one deprecated reach the registered mobile node as unsolicited Mobile Prefix
// Advertisements; a new prefix's Home-Agents anycast address is joined.
TEST_F(HomeAgentRoleTest, RenumberingTheHomeLinkSendsMobilePrefixAdvertisements_10_6_2) {
  start();
  ASSERT_NO_FATAL_FAILURE(register_home());
  run("ip -n " + ha_->name() + " -6 address add 2001:db8:9::1/64 dev home0 nodad");
  role_->on_netlink(linux_dp::AddressEvent{home_ifindex_, addr("2001:db8:9::1"), 64, 0, true},
                    linux_dp::MonotonicClock::now());
  auto advertised = [&](const Ipv6Address& prefix, bool deprecated) {
    for (const auto& frame : frames_) {
      auto rx = core::make_rx_packet(frame, 0);
      if (!rx || rx->layout.upper_protocol != wire::kIcmpv6NextHeader) continue;
      auto message = wire::decode_icmpv6(rx->upper());
      if (!message) continue;
      const auto* mpa = std::get_if<wire::MobilePrefixAdvertisement>(&message->body);
      if (mpa == nullptr || rx->layout.ipv6.destination != kCoa) continue;
      for (const auto& option : mpa->options) {
        const auto* pio = std::get_if<wire::PrefixInformationOption>(&option.body);
        if (pio != nullptr && pio->prefix == prefix && (pio->preferred_lifetime == 0) == deprecated)
          return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(run_until([&] { return advertised(addr("2001:db8:9::"), false); }, 3s))
      << "no MPA with the new prefix";
  EXPECT_TRUE(role_->engine().is_own_address(addr("2001:db8:9::1")));
  EXPECT_NE(shell("ip netns exec " + ha_->name() + " cat /proc/net/anycast6")
                .find("20010db800090000fdfffffffffffffe"),
            std::string::npos);
  // The old prefix deprecated (RFC 4862 §5.5.4): advertised with preferred lifetime 0.
  run("ip -n " + ha_->name() + " -6 address change 2001:db8:1::1/64 dev home0 preferred_lft 0");
  role_->on_netlink(linux_dp::AddressEvent{home_ifindex_, kHa, 64, 0, true},
                    linux_dp::MonotonicClock::now());
  EXPECT_TRUE(run_until([&] { return advertised(addr("2001:db8:1::"), true); }, 3s))
      << "no MPA deprecating the old prefix";
  EXPECT_TRUE(std::any_of(log_.begin(), log_.end(), [](const std::string& line) {
    return line.find("home prefix 2001:db8:9::/64 added preferred") != std::string::npos;
  }));
}

// §10.5.1: another home agent's Router Advertisement on the home link enters the Home Agents
// List (mipv6ctl show hal) and DHAAD replies.
TEST_F(HomeAgentRoleTest, RouterAdvertisementOfAnotherHomeAgentFillsTheList_10_5_1) {
  start();
  wire::RouterAdvertisement ra;
  ra.h = true;
  ra.router_lifetime = 1800;
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.r = true;  // §7.2: the prefix field holds the router's global address
  pio.valid_lifetime = 3600;
  pio.preferred_lifetime = 3600;
  pio.prefix = addr("2001:db8:1::2");
  ra.options.push_back(wire::NdOption{pio});
  ra.options.push_back(wire::NdOption{wire::HomeAgentInformationOption{0, 7, 600}});
  wire::Icmpv6Message message;
  message.body = ra;
  feed(core::build_icmpv6_packet(
           {addr("fe80::2"), addr("ff02::1"), std::nullopt, std::nullopt, 255}, message),
       home_ifindex_);
  EXPECT_EQ(stat("ra_received"), 1u);
  auto hal = role_->show("hal", linux_dp::MonotonicClock::now())["home_agents"];
  ASSERT_EQ(hal.size(), 2u);
  EXPECT_EQ(hal[1]["address"], "2001:db8:1::2");
  EXPECT_EQ(hal[1]["link_local"], "fe80::2");
  EXPECT_EQ(hal[1]["preference"], 7);
  EXPECT_GE(hal[1]["lifetime_s"].get<int>(), 599);
  EXPECT_LE(hal[1]["lifetime_s"].get<int>(), 600);
}

TEST_F(HomeAgentRoleTest, ReloadReportsTheKeysNeedingARestart) {
  start();
  DaemonConfig config;
  config.home_agent = section();
  EXPECT_TRUE(role_->reload(config, linux_dp::MonotonicClock::now()).empty());
  config.home_agent->max_lifetime = 600s;
  config.home_agent->preference = 5;
  EXPECT_EQ(role_->reload(config, linux_dp::MonotonicClock::now()),
            (std::vector<std::string>{"home_agent.max_lifetime", "home_agent.preference"}));
  EXPECT_TRUE(role_->show("bul", linux_dp::MonotonicClock::now()).is_null());
}

}  // namespace
}  // namespace mipv6::daemon
