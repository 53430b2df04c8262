// NFQUEUE end to end between two network namespaces joined by a veth pair (created by each test
// and removed after it): the sender A sends whole packets on a header-included raw socket; the
// receiver B has the ip6tables rules of ip6tables.h steering them into its queue, a handler
// applying the rewrites of packet_rewrite.h, and a plain UDP socket where the datagrams must
// (or must not) arrive. This checks the kernel facts of DESIGN.md §3 the data plane relies on.
#include "linux/nfqueue.h"
#include "linux_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linux/event_loop.h"
#include "linux/ip6tables.h"
#include "linux/netns.h"
#include "linux/packet_rewrite.h"
#include "linux/raw_socket.h"
#include "linux/route_netlink.h"
#include "wire/checksum.h"
#include "wire/packet.h"

namespace mipv6::linux_dp {
namespace {

using test_util::addr;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::uint16_t kQueue = 7;
constexpr std::uint16_t kPort = 5678;
constexpr std::uint8_t kUdp = 17;

wire::Bytes udp_datagram(std::string_view text) {
  wire::Bytes udp;
  wire::Writer w(udp);
  w.u16(1234);
  w.u16(kPort);
  w.u16(static_cast<std::uint16_t>(8 + text.size()));
  w.u16(0);  // filled by build_packet
  for (char c : text)
    w.u8(static_cast<std::uint8_t>(c));
  return udp;
}

// A UDP packet with the given extension headers; the checksum follows RFC 6275's pseudo-header
// rule (home address as source with a Home Address option, as destination with a Type 2 Routing
// header), which is what a real peer sends.
wire::Bytes udp_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                       std::vector<wire::ExtensionHeader> headers, std::string_view text) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.extension_headers = std::move(headers);
  spec.upper_protocol = kUdp;
  spec.upper = udp_datagram(text);
  return wire::build_packet(spec);
}

struct Datagram {
  std::string text;
  wire::Ipv6Address source;
};

class NfQueueTest : public ::testing::Test {
 protected:
  const wire::Ipv6Address a_address_ = addr("2001:db8:7::1");
  const wire::Ipv6Address b_address_ = addr("2001:db8:7::2");
  const wire::Ipv6Address home_ = addr("2001:db8:1::100");

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "!!! NOT ROOT: NFQUEUE tests need root, SKIPPED !!!";
    const std::string prefix = "mipv6t-" + std::to_string(::getpid());
    auto a = NetworkNamespace::create(prefix + "-qa");
    ASSERT_TRUE(a) << a.error().message;
    a_.emplace(std::move(*a));
    auto b = NetworkNamespace::create(prefix + "-qb");
    ASSERT_TRUE(b) << b.error().message;
    b_.emplace(std::move(*b));
    ASSERT_EQ(std::system(("ip link add va netns " + a_->name() + " type veth peer name vb netns " +
                           b_->name())
                              .c_str()),
              0);
    configure(*a_, "va", a_address_);
    configure(*b_, "vb", b_address_);
    // The veth drops what is sent before it is operational (DESIGN.md §3).
    wait_operational(*a_, "va");
    wait_operational(*b_, "vb");
    in(*a_, [&] {
      auto raw = RawSocket::open_header_included();
      ASSERT_TRUE(raw) << raw.error().message;
      sender_.emplace(std::move(*raw));
    });
    ASSERT_TRUE(sender_);
    // The rest of the test runs in B: its rules, its queue, its sockets.
    auto guard = NamespaceGuard::enter(*b_);
    ASSERT_TRUE(guard) << guard.error().message;
    in_b_.emplace(std::move(*guard));
    vb_index_ = ::if_nametoindex("vb");
    ASSERT_NE(vb_index_, 0u);
    add_home_address();
    open_udp_socket();
    auto found = Ip6tables::find();
    ASSERT_TRUE(found) << found.error().message;
    ip6tables_.emplace(std::move(*found));
    wait_until_delivered();
  }

  void TearDown() override {
    queue_.reset();
    rules_.reset();  // while still in B, where the rules live
    in_b_.reset();
    sender_.reset();
    for (auto* ns : {&a_, &b_}) {
      if (*ns) {
        auto s = (*ns)->remove();
        EXPECT_TRUE(s) << s.error().message;
      }
    }
    std::string listing;
    FILE* pipe = ::popen("ip netns list 2>/dev/null", "r");
    char buffer[256];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe) != nullptr)
      listing += buffer;
    if (pipe != nullptr) ::pclose(pipe);
    EXPECT_THAT(listing, Not(HasSubstr("mipv6t-" + std::to_string(::getpid()) + "-q")));
  }

  static void in(const NetworkNamespace& ns, const std::function<void()>& f) {
    auto guard = NamespaceGuard::enter(ns);
    ASSERT_TRUE(guard) << guard.error().message;
    f();
  }

  // lo and the veth up, with a NODAD address whose local route is in.
  void configure(const NetworkNamespace& ns, const char* device, const wire::Ipv6Address& address) {
    in(ns, [&] {
      std::ofstream(std::string("/proc/sys/net/ipv6/conf/") + device + "/accept_dad") << "0\n";
      auto netlink = Netlink::open();
      ASSERT_TRUE(netlink);
      auto lo = netlink->link_index("lo");
      auto dev = netlink->link_index(device);
      ASSERT_TRUE(lo && dev);
      ASSERT_TRUE(netlink->set_link_up(*lo, true));
      add_address_and_wait(
          *netlink,
          AddressSpec{.ifindex = *dev, .address = address, .flags = address_flags::kNoDad});
      ASSERT_TRUE(netlink->set_link_up(*dev, true));
    });
  }

  void wait_operational(const NetworkNamespace& ns, const char* device) {
    in(ns, [&] { test_util::wait_operational(device); });
  }

  // The kernel installs an address's local route later, from a work queue (DESIGN.md §3): a
  // packet for it sent before that is dropped.
  static void add_address_and_wait(Netlink& netlink, const AddressSpec& spec) {
    auto monitor = NetlinkMonitor::open();
    ASSERT_TRUE(monitor);
    ASSERT_TRUE(netlink.add_address(spec));
    for (int i = 0; i < 100; ++i) {
      pollfd pfd{monitor->fd(), POLLIN, 0};
      ASSERT_EQ(::poll(&pfd, 1, 2000), 1) << "no local route for " << spec.address.to_string();
      auto events = monitor->read_events();
      ASSERT_TRUE(events);
      for (const auto& e : *events) {
        const auto* r = std::get_if<RouteEvent>(&e);
        if (r != nullptr && r->added && r->table == 255 && r->destination == spec.address) return;
      }
    }
    FAIL() << "no local route for " << spec.address.to_string();
  }

  // The mobile node's home address lives on B (for the Type 2 Routing header tests).
  void add_home_address() {
    auto netlink = Netlink::open();
    ASSERT_TRUE(netlink);
    auto lo = netlink->link_index("lo");
    ASSERT_TRUE(lo);
    add_address_and_wait(*netlink, AddressSpec{.ifindex = *lo,
                                               .address = home_,
                                               .prefix_length = 128,
                                               .flags = address_flags::kNoDad});
  }

  void open_udp_socket() {
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    udp_.reset(fd);
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_port = htons(kPort);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&any), sizeof any), 0);
  }

  // A plain UDP packet from A reaches B's socket: the path works and A has resolved B, so no
  // test packet waits in Neighbor Discovery.
  void wait_until_delivered() {
    for (int attempt = 0; attempt < 20; ++attempt) {
      send(udp_packet(a_address_, b_address_, {}, "ping"));
      if (auto d = receive(200)) {
        ASSERT_EQ(d->text, "ping");
        return;
      }
    }
    FAIL() << "a plain UDP datagram never crossed the veth";
  }

  void send(const wire::Bytes& packet) {
    auto s = sender_->send_packet(packet);
    ASSERT_TRUE(s) << s.error().message;
  }

  std::optional<Datagram> receive(int timeout_ms = 2000) {
    pollfd pfd{udp_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1) return std::nullopt;
    char buffer[256];
    sockaddr_in6 from{};
    socklen_t length = sizeof from;
    ssize_t n = ::recvfrom(udp_.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from),
                           &length);
    if (n < 0) return std::nullopt;
    Datagram d;
    d.text.assign(buffer, static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < 16; ++i)
      d.source.bytes[i] = from.sin6_addr.s6_addr[i];
    return d;
  }

  void install_rules() {
    rules_.emplace(*ip6tables_);
    QueueRuleOptions options;
    options.queue_number = kQueue;
    options.input_interface = "vb";
    auto s = rules_->install(queue_destination_options_rule(options));
    ASSERT_TRUE(s) << s.error().message;
    s = rules_->install(queue_type2_routing_rule(options));
    ASSERT_TRUE(s) << s.error().message;
  }

  void open_queue(NfQueue::Handler handler, NfQueueOptions options = {}) {
    options.queue_number = kQueue;
    auto q = NfQueue::open(options, std::move(handler));
    ASSERT_TRUE(q) << q.error().message;
    queue_.emplace(std::move(*q));
  }

  // Waits for the queue and handles what it holds; returns how many packets.
  std::size_t process(int timeout_ms = 2000) {
    pollfd pfd{queue_->fd(), POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) != 1) return 0;
    auto n = queue_->process();
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : 0;
  }

  wire::Bytes hao_packet(std::string_view text) {
    return udp_packet(a_address_, b_address_, {wire::make_home_address_destination_options(home_)},
                      text);
  }
  wire::Bytes rh2_packet(std::string_view text) {
    return udp_packet(a_address_, b_address_, {wire::make_type2_routing_header(home_)}, text);
  }
  // Matches the Destination Options rule but needs no rewrite: an option the kernel skips.
  wire::Bytes skippable_option_packet(std::string_view text) {
    const wire::OptionSpec option{kSkippedOptionType, wire::Bytes(4, std::byte{0xAB}),
                                  std::nullopt};
    return udp_packet(
        a_address_, b_address_,
        {wire::make_options_header(wire::ip_proto::kDestinationOptions, std::span(&option, 1))},
        text);
  }

  static Verdict rewrite(QueuedPacket& p) {
    auto info = apply_mobility_headers(p.packet);
    EXPECT_TRUE(info) << info.error().message;
    return info ? Verdict::accept_with(p.packet) : Verdict::drop();
  }

  std::optional<NetworkNamespace> a_;
  std::optional<NetworkNamespace> b_;
  std::optional<NamespaceGuard> in_b_;
  std::optional<RawSocket> sender_;
  UniqueFd udp_;
  std::uint32_t vb_index_ = 0;
  std::optional<Ip6tables> ip6tables_;
  std::optional<Ip6tablesRuleSet> rules_;
  std::optional<NfQueue> queue_;
};

TEST_F(NfQueueTest, HomeAddressOptionPacketArrivesFromTheHomeAddressAfterRewrite_9_3_1) {
  install_rules();
  const wire::Bytes sent = hao_packet("hao");
  std::optional<QueuedPacket> seen;
  wire::Bytes seen_bytes;
  open_queue([&](QueuedPacket& p) {
    seen = p;
    seen_bytes.assign(p.packet.begin(), p.packet.end());
    return rewrite(p);
  });
  send(sent);
  ASSERT_EQ(process(), 1u);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen_bytes, sent);
  EXPECT_EQ(seen->in_ifindex, vb_index_);
  EXPECT_EQ(seen->out_ifindex, 0u);
  EXPECT_EQ(seen->hook, 0);  // NF_INET_PRE_ROUTING
  EXPECT_FALSE(seen->original_length);
  // The kernel verified the UDP checksum against the home address and delivered the datagram.
  auto d = receive();
  ASSERT_TRUE(d) << "the rewritten packet was not delivered";
  EXPECT_EQ(d->text, "hao");
  EXPECT_EQ(d->source, home_);
  EXPECT_EQ(queue_->stats().packets, 1u);
  EXPECT_EQ(queue_->stats().modified, 1u);
}

TEST_F(NfQueueTest, Type2RoutingHeaderPacketArrivesOnTheHomeAddressAfterRewrite_11_3_3) {
  install_rules();
  open_queue(rewrite);
  // This socket is bound to the home address: only a packet whose destination became the home
  // address reaches it.
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  udp_.reset(fd);
  sockaddr_in6 home{};
  home.sin6_family = AF_INET6;
  home.sin6_port = htons(kPort);
  std::copy(home_.bytes.begin(), home_.bytes.end(), home.sin6_addr.s6_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&home), sizeof home), 0);

  send(rh2_packet("rh2"));
  ASSERT_EQ(process(), 1u);
  auto d = receive();
  ASSERT_TRUE(d) << "the rewritten packet was not delivered to the home address";
  EXPECT_EQ(d->text, "rh2");
  EXPECT_EQ(d->source, a_address_);
}

TEST_F(NfQueueTest, WithoutTheRewriteTheKernelDropsBoth_Design3) {
  // No rules: the kernel meets the Home Address option and the Type 2 header itself.
  send(hao_packet("unqueued hao"));
  send(rh2_packet("unqueued rh2"));
  EXPECT_FALSE(receive(300));

  install_rules();
  bool drop = false;
  open_queue([&](QueuedPacket&) { return drop ? Verdict::drop() : Verdict::accept(); });
  // Accepted unchanged.
  send(hao_packet("accepted hao"));
  send(rh2_packet("accepted rh2"));
  std::size_t handled = process();
  if (handled < 2) handled += process();
  EXPECT_EQ(handled, 2u);
  EXPECT_FALSE(receive(300)) << "a packet the kernel cannot process was delivered";
  // Dropped.
  drop = true;
  send(hao_packet("dropped hao"));
  ASSERT_EQ(process(), 1u);
  EXPECT_FALSE(receive(300)) << "a packet the kernel cannot process was delivered";
  EXPECT_EQ(queue_->stats().accepted, 2u);
  EXPECT_EQ(queue_->stats().dropped, 1u);
}

TEST_F(NfQueueTest, RewrittenPacketWithAChecksumOverTheCareOfAddressIsDropped_6_3) {
  // Proof that B's kernel verifies the checksum, so delivery above means a valid checksum: a
  // sender that (wrongly) used the care-of address in the pseudo-header is not delivered.
  install_rules();
  open_queue(rewrite);
  wire::Bytes packet = hao_packet("bad sum");
  wire::Bytes good = packet;
  auto upper = wire::ByteSpan(packet).subspan(64);
  wire::Bytes udp(upper.begin(), upper.end());
  wire::store_be16(udp.data() + 6, 0);
  wire::store_be16(packet.data() + 64 + 6,
                   wire::upper_layer_checksum(a_address_, b_address_, kUdp, udp));
  ASSERT_NE(packet, good);
  send(packet);
  ASSERT_EQ(process(), 1u);
  EXPECT_FALSE(receive(300));
  send(good);
  ASSERT_EQ(process(), 1u);
  EXPECT_TRUE(receive());
}

TEST_F(NfQueueTest, EventLoopDrivesTheQueue) {
  install_rules();
  open_queue(rewrite);
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::optional<Datagram> delivered;
  Status failure;
  ASSERT_TRUE(loop->watch(queue_->fd(), [&] {
    if (auto n = queue_->process(); !n) failure = n.error();
  }));
  ASSERT_TRUE(loop->watch(udp_.get(), [&] {
    delivered = receive(0);
    loop->stop();
  }));
  auto timeout = loop->add_timer([&] { loop->stop(); });
  ASSERT_TRUE(timeout);
  ASSERT_TRUE(loop->arm_timer(*timeout, MonotonicClock::now() + std::chrono::seconds(3)));
  send(hao_packet("looped"));
  ASSERT_TRUE(loop->run());
  EXPECT_TRUE(failure) << failure.error().message;
  ASSERT_TRUE(delivered) << "nothing was delivered within 3 s";
  EXPECT_EQ(delivered->text, "looped");
  EXPECT_EQ(delivered->source, home_);
  ASSERT_TRUE(loop->unwatch(queue_->fd()));
  ASSERT_TRUE(loop->unwatch(udp_.get()));
}

TEST_F(NfQueueTest, DeferredVerdictIsGivenLater) {
  install_rules();
  std::optional<std::uint32_t> id;
  wire::Bytes held;
  open_queue([&](QueuedPacket& p) {
    id = p.id;
    held.assign(p.packet.begin(), p.packet.end());
    return Verdict::deferred();
  });
  send(rh2_packet("later"));
  ASSERT_EQ(process(), 1u);
  ASSERT_TRUE(id);
  EXPECT_FALSE(receive(200));
  ASSERT_TRUE(apply_type2_routing_header(held));
  ASSERT_TRUE(queue_->set_verdict(*id, Verdict::accept_with(held)));
  auto d = receive();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->text, "later");
  EXPECT_FALSE(queue_->set_verdict(*id, Verdict::deferred()));
}

TEST_F(NfQueueTest, VerdictForAnUnknownPacketIsReportedByTheNextProcess) {
  open_queue(rewrite);
  ASSERT_TRUE(queue_->set_verdict(4'000'000'000u, Verdict::accept()));
  pollfd pfd{queue_->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 2000), 1);
  auto n = queue_->process();
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ENOENT);
  EXPECT_THAT(n.error().message, HasSubstr("NFQUEUE 7"));
}

TEST_F(NfQueueTest, QueueNumberHeldByAnotherSocketIsRefused) {
  open_queue(rewrite);
  auto second = NfQueue::open(NfQueueOptions{.queue_number = kQueue}, rewrite);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, EPERM);
  EXPECT_THAT(second.error().message, HasSubstr("NFQUEUE 7: bind for IPv6"));
  // Closing the first frees the number.
  queue_.reset();
  open_queue(rewrite);
}

TEST_F(NfQueueTest, EveryPacketOfABurstIsRewrittenAndDeliveredOnce) {
  install_rules();
  open_queue(rewrite);
  constexpr int kBursts = 40;
  constexpr int kBurst = 50;  // within the UDP socket's default receive buffer
  std::vector<wire::Bytes> packets;
  for (int i = 0; i < kBurst; ++i)
    packets.push_back(i % 2 == 0 ? hao_packet("p" + std::to_string(i))
                                 : rh2_packet("p" + std::to_string(i)));
  const auto start = MonotonicClock::now();
  for (int burst = 0; burst < kBursts; ++burst) {
    for (const auto& p : packets)
      send(p);
    std::size_t handled = 0;
    for (int round = 0; round < 100 && handled < kBurst; ++round)
      handled += process();
    ASSERT_EQ(handled, std::size_t{kBurst});
    for (int i = 0; i < kBurst; ++i) {
      auto d = receive();
      ASSERT_TRUE(d) << "burst " << burst << ": only " << i << " delivered";
      EXPECT_EQ(d->text, "p" + std::to_string(i));
      EXPECT_EQ(d->source, i % 2 == 0 ? home_ : a_address_);
    }
  }
  EXPECT_FALSE(receive(100));
  const auto elapsed = std::chrono::duration<double>(MonotonicClock::now() - start).count();
  std::printf("NFQUEUE rewrite round trip: %d packets in %.3f s (%.0f packets/s)\n",
              kBursts * kBurst, elapsed, kBursts * kBurst / elapsed);
  EXPECT_EQ(queue_->stats().modified, std::uint64_t{kBursts * kBurst});
  EXPECT_EQ(queue_->stats().overruns, 0u);
}

TEST_F(NfQueueTest, CopyRangeCutsThePacketAndReportsItsLength) {
  install_rules();
  std::optional<std::size_t> seen_length;
  std::optional<std::uint32_t> original;
  open_queue(
      [&](QueuedPacket& p) {
        seen_length = p.packet.size();
        original = p.original_length;
        return Verdict::drop();
      },
      NfQueueOptions{.copy_range = 48});
  const wire::Bytes packet = hao_packet("cut");
  ASSERT_EQ(packet.size(), 75u);
  send(packet);
  ASSERT_EQ(process(), 1u);
  EXPECT_EQ(seen_length, 48u);
  EXPECT_EQ(original, 75u);
}

// A full queue (max_length 1): fail-open accepts the overflow unseen, fail-closed drops it.
TEST_F(NfQueueTest, FullQueueFailsOpenOrClosedAsConfigured) {
  install_rules();
  for (bool fail_open : {true, false}) {
    SCOPED_TRACE(fail_open ? "fail open" : "fail closed");
    open_queue([](QueuedPacket&) { return Verdict::accept(); },
               NfQueueOptions{.max_length = 1, .fail_open = fail_open});
    for (const char* text : {"one", "two", "three"})
      send(skippable_option_packet(text));
    // Without fail-open nothing passes before the queue is served.
    std::vector<std::string> early;
    while (auto d = receive(300))
      early.push_back(d->text);
    if (fail_open) {
      EXPECT_EQ(early, (std::vector<std::string>{"two", "three"}));
    } else {
      EXPECT_TRUE(early.empty());
    }
    ASSERT_EQ(process(), 1u);
    auto first = receive();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->text, "one");
    EXPECT_FALSE(receive(200));
    queue_.reset();
  }
}

}  // namespace
}  // namespace mipv6::linux_dp
