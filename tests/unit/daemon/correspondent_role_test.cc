// The correspondent role against the real kernel: two network namespaces joined by a veth pair
// (created by each test and removed after it). The role runs in "cn" with the Services the
// daemon would lend it; the test plays the mobile node from "mn" (care-of address and, as a
// second address, the home address), feeds the role what the daemon would (on_signalling,
// on_queued, on_netlink) and captures what leaves the correspondent on the mobile node's side
// of the veth, checking every field (RFC 6275 §9).
#include "daemon/correspondent_role.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../linux/linux_test_util.h"
#include "core/return_routability.h"
#include "core/signalling.h"
#include "crypto/crypto.h"
#include "daemon/raw_sender.h"
#include "linux/netns.h"
#include "linux/unique_fd.h"
#include "wire/chain.h"
#include "wire/extension_headers.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace mipv6::daemon {
namespace {

using linux_dp::test_util::addr;
using linux_dp::test_util::shell;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using wire::Ipv6Address;

const Ipv6Address kCn = addr("2001:db8:7::1");
const Ipv6Address kCoa = addr("2001:db8:7::2");
const Ipv6Address kHoa = addr("2001:db8:7::100");  // the peer's second address
const Ipv6Address kUnknownHoa = addr("2001:db8:7::200");

// What a mobile node holds after return routability (§5.2.5).
struct Tokens {
  std::uint16_t home_index = 0;
  std::uint16_t care_of_index = 0;
  core::KeygenToken home_token = 0;
  core::KeygenToken care_of_token = 0;
};

// A Binding Update from the care-of address with a Home Address option, as a mobile node
// builds it (§6.1.7, §11.7.2), its authenticator computed with Kbm (§5.2.6, §6.2.7).
wire::Bytes bu_packet(const Tokens& tokens, std::uint16_t seq, bool corrupt = false,
                      std::uint16_t lifetime = 100) {
  wire::MobilityHeader mh;
  wire::BindingUpdate update;
  update.sequence_number = seq;
  update.flags = wire::kBuFlagA;
  update.lifetime = lifetime;
  mh.message = update;
  mh.options.emplace_back(wire::NonceIndices{tokens.home_index, tokens.care_of_index});
  mh.options.emplace_back(wire::BindingAuthorizationData{wire::Bytes(12)});
  wire::Bytes encoded;
  EXPECT_TRUE(wire::encode_mobility_header(mh, encoded));
  auto input = wire::authenticator_input(encoded);
  EXPECT_TRUE(input.has_value());
  const auto kbm = core::binding_management_key(tokens.home_token, tokens.care_of_token);
  auto mac = core::binding_authenticator(kbm, kCoa, kCn, *input);
  if (corrupt) mac[0] ^= std::byte{1};
  std::get<wire::BindingAuthorizationData>(mh.options.back())
      .authenticator.assign(mac.begin(), mac.end());
  return core::build_mobility_packet({kCoa, kCn, kHoa, std::nullopt, 64}, mh);
}

wire::Bytes init_packet(const Ipv6Address& source, wire::MobilityMessage message) {
  wire::MobilityHeader mh;
  mh.message = std::move(message);
  return core::build_mobility_packet({source, kCn, std::nullopt, std::nullopt, 64}, mh);
}

// A UDP datagram from the care-of address with a Home Address option (§11.3.1, §9.3.1).
wire::Bytes hao_udp_packet(const Ipv6Address& home) {
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kCn;
  spec.extension_headers.push_back(wire::make_home_address_destination_options(home));
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = wire::Bytes(16);
  spec.upper[1] = std::byte{7};   // source port 7
  spec.upper[3] = std::byte{9};   // destination port 9
  spec.upper[5] = std::byte{16};  // length
  return wire::build_packet(spec);
}

// A packet seen on the mobile node's end of the veth, decoded.
struct Captured {
  wire::Bytes bytes;
  wire::PacketLayout layout;
  bool checksum_valid = false;
  std::optional<wire::MobilityHeader> mh;

  template <class M>
  const M* message() const {
    return mh ? std::get_if<M>(&mh->message) : nullptr;
  }
};

template <class M>
bool is_mh(const Captured& c) {
  return c.message<M>() != nullptr;
}

class CorrespondentRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: correspondent role tests need root !!!";
    const std::string prefix = "mipv6t-" + std::to_string(::getpid());
    auto cn = linux_dp::NetworkNamespace::create(prefix + "-cn");
    ASSERT_TRUE(cn) << cn.error().message;
    cn_ns_.emplace(std::move(*cn));
    auto mn = linux_dp::NetworkNamespace::create(prefix + "-mn");
    ASSERT_TRUE(mn) << mn.error().message;
    mn_ns_.emplace(std::move(*mn));
    ASSERT_EQ(std::system(("ip link add va netns " + cn_ns_->name() +
                           " type veth peer name vb netns " + mn_ns_->name())
                              .c_str()),
              0);
    in(*mn_ns_, [] { configure_here("vb", {kCoa, kHoa}); });
    open_capture();
    // From here on the test thread lives in the correspondent's namespace.
    auto guard = linux_dp::NamespaceGuard::enter(*cn_ns_);
    ASSERT_TRUE(guard) << guard.error().message;
    in_cn_.emplace(std::move(*guard));
    configure_here("va", {kCn});
    // Both ends are up: the veth gets its carrier, then the addresses their local routes.
    ASSERT_NO_FATAL_FAILURE(wait_ready("va", {kCn}));
    in(*mn_ns_, [] { wait_ready("vb", {kCoa, kHoa}); });
    ASSERT_NO_FATAL_FAILURE(make_services());
    ASSERT_NO_FATAL_FAILURE(start_role());
  }

  void TearDown() override {
    if (role_) stop_role();
    role_.reset();
    services_.reset();
    sender_.reset();
    installed_.reset();
    sysctls_.reset();
    netlink_.reset();
    loop_.reset();
    in_cn_.reset();
    capture_.reset();
    for (auto* ns : {&cn_ns_, &mn_ns_}) {
      if (*ns) {
        auto s = (*ns)->remove();
        EXPECT_TRUE(s) << s.error().message;
      }
    }
    EXPECT_THAT(shell("ip netns list 2>/dev/null"),
                Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-")));
  }

  // What the daemon does at shutdown (role.h): stop, then remove what was installed.
  void stop_role() {
    role_->stop(now());
    EXPECT_TRUE(installed_->remove_all());
    EXPECT_TRUE(sysctls_->restore_all());
  }

  static core::TimePoint now() { return linux_dp::MonotonicClock::now(); }

  // Addresses without DAD, up, each with its local route in place.
  static void configure_here(const char* device, const std::vector<Ipv6Address>& addresses) {
    auto netlink = linux_dp::Netlink::open();
    ASSERT_TRUE(netlink);
    std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + device + "/accept_dad") << "0\n";
    auto lo = netlink->link_index("lo");
    auto dev = netlink->link_index(device);
    ASSERT_TRUE(lo && dev);
    ASSERT_TRUE(netlink->set_link_up(*lo, true));
    for (const auto& address : addresses)
      ASSERT_TRUE(netlink->add_address(linux_dp::AddressSpec{
          .ifindex = *dev, .address = address, .flags = linux_dp::address_flags::kNoDad}));
    ASSERT_TRUE(netlink->set_link_up(*dev, true));
  }

  static void wait_ready(const char* device, const std::vector<Ipv6Address>& addresses) {
    linux_dp::test_util::wait_operational(device);
    for (const auto& address : addresses)
      ASSERT_TRUE(wait_for_local_route(address)) << address.to_string();
  }

  static void in(const linux_dp::NetworkNamespace& ns, const std::function<void()>& f) {
    auto guard = linux_dp::NamespaceGuard::enter(ns);
    ASSERT_TRUE(guard) << guard.error().message;
    f();
  }

  // The kernel's local route (what makes the address usable), as `ip` shows it.
  static bool wait_for_local_route(const Ipv6Address& address) {
    const std::string command = "ip -6 route show table local " + address.to_string() + "/128";
    for (int i = 0; i < 300; ++i) {
      if (!shell(command).empty()) return true;
      ::usleep(10'000);
    }
    return false;
  }

  // A packet socket on the mobile node's veth end: every IPv6 packet that crosses it.
  void open_capture() {
    auto guard = linux_dp::NamespaceGuard::enter(*mn_ns_);
    ASSERT_TRUE(guard);
    const int fd =
        ::socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
    ASSERT_GE(fd, 0);
    capture_.emplace(fd);
    sockaddr_ll ll{};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_IPV6);
    ll.sll_ifindex = static_cast<int>(::if_nametoindex("vb"));
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&ll), sizeof ll), 0);
  }

  void make_services() {
    auto loop = linux_dp::EventLoop::create();
    ASSERT_TRUE(loop);
    loop_.emplace(std::move(*loop));
    auto netlink = linux_dp::Netlink::open();
    ASSERT_TRUE(netlink);
    netlink_.emplace(std::move(*netlink));
    installed_.emplace(*netlink_);
    sysctls_.emplace();
    auto sender = RawSender::open();
    ASSERT_TRUE(sender) << sender.error().message;
    sender_.emplace(std::move(*sender));
    logger_.set_level(core::LogLevel::kDebug);
    logger_.set_sink([this](core::LogLevel, std::string_view line) { log_.emplace_back(line); });
    services_.emplace(Services{*loop_, *netlink_, *installed_, *sysctls_, *sender_, logger_, rng_});
    // The daemon's bypass rule (role.h): its own packets are routed by the main table.
    ASSERT_TRUE(installed_->install(linux_dp::RuleSpec{.fwmark = kSignallingMark,
                                                       .fwmask = 0xffffffff,
                                                       .table = linux_dp::kMainTable,
                                                       .priority = kBypassRulePriority}));
    va_index_ = ::if_nametoindex("va");
    ASSERT_NE(va_index_, 0u);
  }

  void start_role(CorrespondentSection section = {}) {
    role_.emplace(section, *services_, false);
    auto started = role_->start(now());
    ASSERT_TRUE(started) << started.error().message;
  }

  void signal(const wire::Bytes& bytes) {
    auto rx = core::make_rx_packet(bytes, va_index_);
    ASSERT_TRUE(rx.has_value());
    role_->on_signalling(*rx, now());
  }

  // The first packet from the correspondent that `match` accepts, within `timeout_ms`.
  std::optional<Captured> capture(const std::function<bool(const Captured&)>& match,
                                  int timeout_ms = 2000) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::vector<std::byte> buffer(70000);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd pfd{capture_->get(), POLLIN, 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) != 1) return std::nullopt;
      const ssize_t n = ::recv(capture_->get(), buffer.data(), buffer.size(), 0);
      if (n <= 0) continue;
      Captured c;
      c.bytes.assign(buffer.begin(), buffer.begin() + n);
      auto layout = wire::walk_chain(c.bytes);
      if (!layout || layout->ipv6.source != kCn) continue;
      c.layout = *layout;
      c.checksum_valid = wire::verify_upper_checksum(c.bytes, c.layout).has_value();
      if (c.layout.upper_protocol == wire::kIpProtoMobility) {
        auto upper = wire::ByteSpan(c.bytes).subspan(c.layout.upper_offset, c.layout.upper_length);
        if (auto mh = wire::decode_mobility_header(upper)) c.mh = std::move(*mh);
      }
      if (match(c)) return c;
    }
  }

  // Runs the event loop for `ms` milliseconds (TUN reads, the engine's timer).
  void run_loop(int ms) {
    auto stopper = loop_->add_timer([this] { loop_->stop(); });
    ASSERT_TRUE(stopper);
    ASSERT_TRUE(loop_->arm_timer(*stopper, now() + std::chrono::milliseconds(ms)));
    ASSERT_TRUE(loop_->run());
    ASSERT_TRUE(loop_->remove_timer(*stopper));
  }

  // HoTI and CoTI answered on the wire: the keygen tokens a mobile node would hold.
  Tokens return_routability() {
    Tokens tokens;
    signal(init_packet(kHoa, wire::HomeTestInit{0, 0x1111}));
    auto hot = capture(is_mh<wire::HomeTest>);
    EXPECT_TRUE(hot);
    if (!hot) return tokens;
    signal(init_packet(kCoa, wire::CareOfTestInit{0, 0x2222}));
    auto cot = capture(is_mh<wire::CareOfTest>);
    EXPECT_TRUE(cot);
    if (!cot) return tokens;
    tokens.home_index = hot->message<wire::HomeTest>()->home_nonce_index;
    tokens.home_token = hot->message<wire::HomeTest>()->home_keygen_token;
    tokens.care_of_index = cot->message<wire::CareOfTest>()->care_of_nonce_index;
    tokens.care_of_token = cot->message<wire::CareOfTest>()->care_of_keygen_token;
    return tokens;
  }

  std::optional<Captured> binding_ack() { return capture(is_mh<wire::BindingAcknowledgement>); }

  // Return routability and an accepted BU (seq 7): kHoa -> kCoa.
  Tokens register_binding() {
    const auto tokens = return_routability();
    signal(bu_packet(tokens, 7));
    auto ba = binding_ack();
    EXPECT_TRUE(ba);
    if (ba) {
      EXPECT_EQ(ba->message<wire::BindingAcknowledgement>()->status, 0);
    }
    return tokens;
  }

  std::vector<linux_dp::RouteSpec> table_routes() {
    auto routes = netlink_->dump_routes(kCorrespondentTable);
    EXPECT_TRUE(routes);
    return routes ? *routes : std::vector<linux_dp::RouteSpec>{};
  }

  std::uint64_t stat(const std::string& name) const { return role_->stats().at(name); }

  std::optional<linux_dp::NetworkNamespace> cn_ns_;
  std::optional<linux_dp::NetworkNamespace> mn_ns_;
  std::optional<linux_dp::NamespaceGuard> in_cn_;
  std::optional<linux_dp::UniqueFd> capture_;
  std::optional<linux_dp::EventLoop> loop_;
  std::optional<linux_dp::Netlink> netlink_;
  std::optional<linux_dp::InstalledState> installed_;
  std::optional<linux_dp::Sysctls> sysctls_;
  std::optional<RawSender> sender_;
  Logger logger_;
  std::vector<std::string> log_;
  core::SplitMix64 rng_{0x6d69};
  std::optional<Services> services_;
  std::optional<CorrespondentRole> role_;
  std::uint32_t va_index_ = 0;
};

TEST_F(CorrespondentRoleTest, StartBringsUpTunWithRoomForType2HeaderAndInstallsRule) {
  auto link = netlink_->link(role_->tun_ifindex());
  ASSERT_TRUE(link);
  EXPECT_EQ(link->name.rfind("mip6cn", 0), 0u) << link->name;
  EXPECT_TRUE(link->up);
  EXPECT_EQ(link->mtu, 1500u - 24u);  // §6.4.1: the Type 2 header fits within the veth's 1500
  auto rules = netlink_->dump_rules();
  ASSERT_TRUE(rules);
  EXPECT_TRUE(std::any_of(rules->begin(), rules->end(), [](const linux_dp::RuleSpec& r) {
    return r.table == kCorrespondentTable && r.priority == kCorrespondentRulePriority;
  }));
  EXPECT_TRUE(table_routes().empty());
  EXPECT_EQ(role_->kind(), RoleKind::kCorrespondent);
  // stats: the engine's counters and the role's own, every drop reason included.
  const auto stats = role_->stats();
  for (const char* name : {"bu_received", "be_rate_limited", "tun_not_ipv6", "tun_malformed",
                           "queued_truncated", "send_failed_no_route", "route_install_failed"})
    EXPECT_TRUE(stats.contains(name)) << name;
  EXPECT_THAT(log_, Contains(HasSubstr("info correspondent: started: TUN mip6cn")));
}

TEST_F(CorrespondentRoleTest, HotiAnsweredWithHotOnTheWire_9_4_3) {
  signal(init_packet(kHoa, wire::HomeTestInit{0, 0xabcdef0123456789}));
  auto hot = capture(is_mh<wire::HomeTest>);
  ASSERT_TRUE(hot);
  EXPECT_EQ(hot->layout.ipv6.destination, kHoa);  // §9.4.3: to the home address
  EXPECT_FALSE(hot->layout.type2_address);
  EXPECT_FALSE(hot->layout.home_address);
  EXPECT_TRUE(hot->checksum_valid);
  EXPECT_EQ(hot->message<wire::HomeTest>()->home_init_cookie, 0xabcdef0123456789u);
  EXPECT_EQ(stat("hot_sent"), 1u);
}

TEST_F(CorrespondentRoleTest, CotiAnsweredWithCotOnTheWire_9_4_4) {
  signal(init_packet(kCoa, wire::CareOfTestInit{0, 0x77}));
  auto cot = capture(is_mh<wire::CareOfTest>);
  ASSERT_TRUE(cot);
  EXPECT_EQ(cot->layout.ipv6.destination, kCoa);
  EXPECT_TRUE(cot->checksum_valid);
  EXPECT_EQ(cot->message<wire::CareOfTest>()->care_of_init_cookie, 0x77u);
  EXPECT_EQ(stat("cot_sent"), 1u);
}

TEST_F(CorrespondentRoleTest, AuthorizedBindingUpdateAcknowledgedAndRouted_9_5_1_9_5_4) {
  const auto tokens = return_routability();
  signal(bu_packet(tokens, 7));
  auto ba = binding_ack();
  ASSERT_TRUE(ba);
  const auto& ack = *ba->message<wire::BindingAcknowledgement>();
  EXPECT_EQ(ack.status, 0);
  EXPECT_EQ(ack.sequence_number, 7);
  EXPECT_EQ(ack.lifetime, 100);
  // §9.5.4: to the care-of address with a Type 2 Routing header naming the home address.
  EXPECT_EQ(ba->layout.ipv6.destination, kCoa);
  EXPECT_EQ(ba->layout.type2_address, kHoa);
  EXPECT_EQ(ba->layout.type2_segments_left, 1);
  EXPECT_TRUE(ba->checksum_valid);
  // §5.2.6: the mobile node can verify the BA with Kbm.
  const auto* data = wire::find_option<wire::BindingAuthorizationData>(*ba->mh);
  ASSERT_NE(data, nullptr);
  auto input = wire::authenticator_input(
      wire::ByteSpan(ba->bytes).subspan(ba->layout.upper_offset, ba->layout.upper_length));
  ASSERT_TRUE(input);
  const auto kbm = core::binding_management_key(tokens.home_token, tokens.care_of_token);
  EXPECT_TRUE(crypto::equal_constant_time(core::binding_authenticator(kbm, kCoa, kCn, *input),
                                          data->authenticator));
  // §9.3.2: what this node sends to the home address now goes into the TUN.
  auto routes = table_routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].destination, kHoa);
  EXPECT_EQ(routes[0].prefix_length, 128);
  EXPECT_EQ(routes[0].ifindex, role_->tun_ifindex());
  const auto bc = role_->show("bc", now());
  ASSERT_EQ(bc["bindings"].size(), 1u);
  EXPECT_EQ(bc["bindings"][0]["home_address"], "2001:db8:7::100");
  EXPECT_EQ(bc["bindings"][0]["care_of_address"], "2001:db8:7::2");
  EXPECT_EQ(bc["bindings"][0]["sequence"], 7);
  EXPECT_EQ(bc["bindings"][0]["flags"], "");
  EXPECT_EQ(bc["bindings"][0]["home_registration"], false);
  EXPECT_EQ(bc["bindings"][0]["role"], "correspondent");
  EXPECT_GE(bc["bindings"][0]["lifetime_s"].get<int>(), 398);
  EXPECT_LE(bc["bindings"][0]["lifetime_s"].get<int>(), 400);
  EXPECT_TRUE(role_->show("bul", now()).is_null());
  EXPECT_THAT(log_,
              Contains(HasSubstr("correspondent: BU from 2001:db8:7::100 CoA 2001:db8:7::2")));
  EXPECT_EQ(role_->engine().cache().size(), 1u);
}

TEST_F(CorrespondentRoleTest, DatagramToHomeAddressLeavesWithType2Header_9_3_2) {
  register_binding();
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  linux_dp::UniqueFd socket(fd);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(9999);
  std::memcpy(&to.sin6_addr, kHoa.bytes.data(), 16);
  const char payload[] = "route optimised";
  ASSERT_EQ(
      ::sendto(fd, payload, sizeof payload, 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(sizeof payload));
  run_loop(200);
  auto udp =
      capture([](const Captured& c) { return c.layout.upper_protocol == wire::ip_proto::kUdp; });
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->layout.ipv6.destination, kCoa);
  EXPECT_EQ(udp->layout.type2_address, kHoa);
  EXPECT_EQ(udp->layout.type2_segments_left, 1);
  EXPECT_TRUE(udp->checksum_valid);  // computed with the home address (§6.4)
  EXPECT_EQ(udp->layout.upper_length, 8 + sizeof payload);
  EXPECT_EQ(stat("tun_sent_route_optimized"), 1u);
  EXPECT_EQ(stat("tun_not_unicast"), 0u);  // no MLD or RS noise from the TUN
}

// A burst within the TUN's queue (500 packets): none lost, each rewritten; prints the cost.
TEST_F(CorrespondentRoleTest, BurstToHomeAddressAllRouteOptimized_9_3_2) {
  register_binding();
  const int buffer_size = 4 << 20;
  ASSERT_EQ(
      ::setsockopt(capture_->get(), SOL_SOCKET, SO_RCVBUFFORCE, &buffer_size, sizeof buffer_size),
      0);
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  linux_dp::UniqueFd socket(fd);
  sockaddr_in6 to{};
  to.sin6_family = AF_INET6;
  to.sin6_port = htons(9999);
  std::memcpy(&to.sin6_addr, kHoa.bytes.data(), 16);
  constexpr int kCount = 400;
  std::array<char, 100> payload{};
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(::sendto(fd, payload.data(), payload.size(), 0,
                       reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(payload.size()));
  const auto start = std::chrono::steady_clock::now();
  for (int round = 0; round < 100 && stat("tun_packets") < kCount; ++round)
    role_->read_tun(now());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(stat("tun_sent_route_optimized"), static_cast<std::uint64_t>(kCount));
  int captured = 0;
  while (
      auto udp = capture(
          [](const Captured& c) { return c.layout.upper_protocol == wire::ip_proto::kUdp; }, 500)) {
    EXPECT_EQ(udp->layout.type2_address, kHoa);
    EXPECT_TRUE(udp->checksum_valid);
    ++captured;
  }
  EXPECT_EQ(captured, kCount);
  std::printf("[ measured ] %d TUN packets read, rewritten and sent in %.2f ms (%.1f us each)\n",
              kCount, std::chrono::duration<double, std::milli>(elapsed).count(),
              std::chrono::duration<double, std::micro>(elapsed).count() / kCount);
}

TEST_F(CorrespondentRoleTest, HomeAddressOptionWithBindingRewrittenInPlace_9_3_1) {
  register_binding();
  auto buffer = hao_udp_packet(kHoa);
  auto rx = core::make_rx_packet(buffer, va_index_);
  ASSERT_TRUE(rx);
  linux_dp::QueuedPacket queued;
  queued.id = 1;
  queued.packet = std::span(buffer);
  auto verdict = role_->on_queued(queued, *rx, now());
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, linux_dp::Verdict::Kind::kAccept);
  ASSERT_TRUE(verdict->replacement);
  EXPECT_EQ(verdict->replacement->data(), buffer.data());
  auto layout = wire::walk_chain(buffer);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->ipv6.source, kHoa);  // the home address is the source now
  EXPECT_FALSE(layout->home_address);    // the option is neutralised
  EXPECT_TRUE(wire::verify_upper_checksum(buffer, *layout));
  EXPECT_EQ(stat("queued_accepted_with_binding"), 1u);
  EXPECT_EQ(stat("hao_accepted"), 1u);
}

TEST_F(CorrespondentRoleTest, HomeAddressOptionWithoutBindingDroppedWithBindingError_9_3_3) {
  auto buffer = hao_udp_packet(kUnknownHoa);
  const auto original = buffer;
  auto rx = core::make_rx_packet(buffer, va_index_);
  ASSERT_TRUE(rx);
  linux_dp::QueuedPacket queued;
  queued.packet = std::span(buffer);
  auto verdict = role_->on_queued(queued, *rx, now());
  ASSERT_TRUE(verdict);
  EXPECT_EQ(verdict->kind, linux_dp::Verdict::Kind::kDrop);
  EXPECT_EQ(buffer, original);
  auto be = capture(is_mh<wire::BindingError>);
  ASSERT_TRUE(be);
  EXPECT_EQ(be->message<wire::BindingError>()->status, 1);
  EXPECT_EQ(be->message<wire::BindingError>()->home_address, kUnknownHoa);
  EXPECT_EQ(be->layout.ipv6.destination, kCoa);
  EXPECT_FALSE(be->layout.type2_address);
  EXPECT_TRUE(be->checksum_valid);
  // §9.3.3: rate-limited like ICMPv6 errors (burst 10).
  for (int i = 0; i < 30; ++i) {
    auto copy = original;
    auto again = core::make_rx_packet(copy, va_index_);
    queued.packet = std::span(copy);
    EXPECT_EQ(role_->on_queued(queued, *again, now())->kind, linux_dp::Verdict::Kind::kDrop);
  }
  EXPECT_GT(stat("be_rate_limited"), 0u);
  EXPECT_EQ(stat("queued_dropped"), 31u);
}

TEST_F(CorrespondentRoleTest, BadAuthenticatorSilentlyCounted_9_5_1) {
  const auto tokens = return_routability();
  signal(bu_packet(tokens, 7, true));
  EXPECT_FALSE(binding_ack());
  EXPECT_EQ(stat("bu_bad_authenticator"), 1u);
  EXPECT_TRUE(table_routes().empty());
}

TEST_F(CorrespondentRoleTest, ReplayedSequenceAnsweredWith135_9_5_1) {
  const auto tokens = register_binding();
  signal(bu_packet(tokens, 7));
  auto ba = binding_ack();
  ASSERT_TRUE(ba);
  EXPECT_EQ(ba->message<wire::BindingAcknowledgement>()->status, 135);
  EXPECT_EQ(ba->message<wire::BindingAcknowledgement>()->sequence_number, 7);
  EXPECT_EQ(stat("bu_sequence_out_of_window"), 1u);
}

TEST_F(CorrespondentRoleTest, MalformedInputCountedWithoutCrash_9_2) {
  // An unknown MH Type: Binding Error status 2 (§9.2).
  auto unknown = init_packet(kCoa, wire::HomeTestInit{0, 1});
  auto layout = *wire::walk_chain(unknown);
  unknown[layout.upper_offset + 2] = std::byte{99};
  ASSERT_TRUE(wire::fill_upper_checksum(unknown));
  signal(unknown);
  auto be = capture(is_mh<wire::BindingError>);
  ASSERT_TRUE(be);
  EXPECT_EQ(be->message<wire::BindingError>()->status, 2);
  EXPECT_EQ(stat("mh_unknown_type"), 1u);
  // A bad checksum: silently discarded.
  auto bad = init_packet(kCoa, wire::HomeTestInit{0, 1});
  bad[layout.upper_offset + 4] ^= std::byte{0xff};
  signal(bad);
  EXPECT_EQ(stat("mh_bad_checksum"), 1u);
  // Every single-octet corruption of a BU, through both doors: no crash, nothing accepted.
  const auto bu = bu_packet(Tokens{}, 1);
  for (std::size_t i = 0; i < bu.size(); ++i) {
    auto copy = bu;
    copy[i] ^= std::byte{0x5a};
    auto rx = core::make_rx_packet(copy, va_index_);
    if (!rx) continue;
    role_->on_signalling(*rx, now());
    linux_dp::QueuedPacket queued;
    queued.packet = std::span(copy);
    (void)role_->on_queued(queued, *rx, now());
  }
  EXPECT_EQ(role_->engine().cache().size(), 0u);
  // A truncated copy from NFQUEUE is never rewritten.
  auto hao = hao_udp_packet(kHoa);
  auto rx = core::make_rx_packet(hao, va_index_);
  linux_dp::QueuedPacket queued;
  queued.packet = std::span(hao);
  queued.original_length = 9000;
  EXPECT_EQ(role_->on_queued(queued, *rx, now())->kind, linux_dp::Verdict::Kind::kDrop);
  EXPECT_EQ(stat("queued_truncated"), 1u);
}

TEST_F(CorrespondentRoleTest, Type2HeaderLeftToMobileNodeRoleOnlyWhenAlsoMobileNode_8_2) {
  wire::PacketSpec spec;
  spec.header.source = kCoa;
  spec.header.destination = kCn;
  spec.extension_headers.push_back(wire::make_type2_routing_header(kCn));
  spec.upper_protocol = wire::ip_proto::kUdp;
  spec.upper = wire::Bytes(8);
  auto buffer = wire::build_packet(spec);
  auto rx = core::make_rx_packet(buffer, va_index_);
  ASSERT_TRUE(rx);
  linux_dp::QueuedPacket queued;
  queued.packet = std::span(buffer);
  EXPECT_EQ(role_->on_queued(queued, *rx, now())->kind, linux_dp::Verdict::Kind::kDrop);
  EXPECT_EQ(stat("queued_type2_discarded"), 1u);
  stop_role();
  role_.emplace(CorrespondentSection{}, *services_, true);
  ASSERT_TRUE(role_->start(now()));
  EXPECT_FALSE(role_->on_queued(queued, *rx, now()));
  // Both headers (a mobile node talking to this node while both are away): the Home Address
  // option is checked against the binding, then both are applied (§9.3.1, §6.4).
  register_binding();
  spec.extension_headers.insert(spec.extension_headers.begin() + 1,
                                wire::make_home_address_destination_options(kHoa));
  auto both = wire::build_packet(spec);
  auto both_rx = core::make_rx_packet(both, va_index_);
  ASSERT_TRUE(both_rx);
  queued.packet = std::span(both);
  auto verdict = role_->on_queued(queued, *both_rx, now());
  ASSERT_TRUE(verdict);
  ASSERT_TRUE(verdict->replacement);
  auto layout = wire::walk_chain(both);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->ipv6.source, kHoa);
  EXPECT_EQ(layout->ipv6.destination, kCn);
  EXPECT_EQ(layout->type2_segments_left, 0);
  EXPECT_FALSE(layout->home_address);
}

TEST_F(CorrespondentRoleTest, AddressEventsKeepTheEngineAddressesCurrent) {
  const auto added = addr("2001:db8:7::5");
  signal(core::build_mobility_packet({kHoa, added, std::nullopt, std::nullopt, 64}, [] {
    wire::MobilityHeader mh;
    mh.message = wire::HomeTestInit{0, 5};
    return mh;
  }()));
  EXPECT_EQ(stat("not_for_us"), 1u);
  role_->on_netlink(linux_dp::AddressEvent{va_index_, added, 64, 0, true}, now());
  signal(core::build_mobility_packet({kHoa, added, std::nullopt, std::nullopt, 64}, [] {
    wire::MobilityHeader mh;
    mh.message = wire::HomeTestInit{0, 6};
    return mh;
  }()));
  EXPECT_EQ(stat("hot_sent"), 1u);
}

TEST_F(CorrespondentRoleTest, FlushRemovesTheRoute) {
  register_binding();
  ASSERT_EQ(table_routes().size(), 1u);
  EXPECT_EQ(role_->flush(now()), "correspondent: 1 binding deleted");
  EXPECT_TRUE(table_routes().empty());
  EXPECT_TRUE(role_->show("bc", now())["bindings"].empty());
  EXPECT_EQ(stat("bindings_deleted"), 1u);
}

TEST_F(CorrespondentRoleTest, ReloadReportsKeysNeedingRestart) {
  DaemonConfig config;
  config.node.roles = {RoleKind::kCorrespondent};
  config.correspondent = CorrespondentSection{};
  EXPECT_TRUE(role_->reload(config, now()).empty());
  config.correspondent->route_optimization = false;
  config.correspondent->max_bindings = 5;
  EXPECT_EQ(
      role_->reload(config, now()),
      (std::vector<std::string>{"correspondent.route_optimization", "correspondent.max_bindings"}));
}

TEST_F(CorrespondentRoleTest, StopLeavesNoTrace) {
  register_binding();
  const auto tun = role_->tun_name();
  stop_role();
  EXPECT_TRUE(table_routes().empty());
  auto rules = netlink_->dump_rules();
  ASSERT_TRUE(rules);
  for (const auto& rule : *rules)
    EXPECT_NE(rule.table, kCorrespondentTable);
  EXPECT_FALSE(netlink_->link_index(tun));
  EXPECT_THAT(shell("ip link show"), Not(HasSubstr("mip6cn")));
  EXPECT_TRUE(installed_->objects().empty());
  role_.reset();
}

}  // namespace
}  // namespace mipv6::daemon
