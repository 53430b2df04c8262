#include "sim/neighbor_discovery.h"

#include <gtest/gtest.h>

#include "sim/host.h"
#include "sim/link.h"
#include "sim/router.h"
#include "sim_test_util.h"
#include "wire/chain.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;
using testing::make_packet;

HostConfig static_host() {
  HostConfig c;
  c.slaac.link_local = false;
  c.send_rs = false;
  return c;
}

// a (2001:db8:1::a) and b (2001:db8:1::b) on one 1 ms link, both with ND.
struct Lan {
  Lan()
      : link(s, "lan", LinkParams{.delay = 1ms}, 1),
        a(s, "a", static_host()),
        b(s, "b", static_host()) {
    a.add_host_interface(MacAddress::synthetic(1)).add_address(addr("2001:db8:1::a"));
    b.add_host_interface(MacAddress::synthetic(2)).add_address(addr("2001:db8:1::b"));
    link.attach(*a.interface(1));
    link.attach(*b.interface(1));
    b.set_packet_callback([this](Interface&, const Frame& f) { b_got.push_back({s.now(), f}); });
    a.interface(1)->nd()->set_nud_callback([this](const wire::Ipv6Address& n, NudResult r) {
      nud.push_back({s.now(), n, r});
    });
  }
  struct Got {
    TimePoint at;
    Frame frame;
  };
  struct Nud {
    TimePoint at;
    wire::Ipv6Address neighbour;
    NudResult result;
  };
  Scheduler s;
  Link link;
  Host a, b;
  std::vector<Got> b_got;
  std::vector<Nud> nud;
};

TEST(NeighborDiscovery, SolicitedNodeMulticast_Rfc4291_2_7_1) {
  EXPECT_EQ(solicited_node_multicast(addr("2001:db8::12:3456:789a")), addr("ff02::1:ff56:789a"));
}

TEST(NeighborDiscovery, ResolvesWithNsThenNaAndDeliversTheQueuedPacket_Rfc4861_7_2) {
  Lan net;
  ASSERT_TRUE(net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b"))));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kIncomplete);
  net.s.run_for(10ms);
  // NS arrives at 1 ms, the solicited NA at 2 ms, the queued packet at 3 ms.
  ASSERT_EQ(net.b_got.size(), 1u);
  EXPECT_EQ(net.b_got[0].at, at(3ms));
  EXPECT_EQ(net.b_got[0].frame.destination, MacAddress::synthetic(2));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kReachable);
  // b learnt a from the NS's SLLAO (§7.2.3): STALE.
  EXPECT_EQ(net.b.interface(1)->nd()->state(addr("2001:db8:1::a")), NeighborState::kStale);
  EXPECT_EQ(net.a.interface(1)->nd()->counters().ns_sent, 1u);
  EXPECT_EQ(net.b.interface(1)->nd()->counters().na_sent, 1u);
}

TEST(NeighborDiscovery, NsGoesToSolicitedNodeGroupWithSllao_Rfc4861_7_2_2) {
  Scheduler s;
  Link link(s, "lan", LinkParams{.delay = 1ms}, 1);
  Host a(s, "a", static_host());
  testing::RecordingNode tap(s, "tap");
  a.add_host_interface(MacAddress::synthetic(1)).add_address(addr("2001:db8:1::a"));
  tap.add_interface(MacAddress::synthetic(9));
  link.attach(*a.interface(1));
  link.attach(*tap.interface(1));
  a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b")));
  s.run_for(10ms);
  ASSERT_FALSE(tap.received.empty());
  auto nd = parse_nd(tap.received[0].frame.packet);
  ASSERT_TRUE(nd);
  EXPECT_EQ(nd->ip.destination, addr("ff02::1:ff00:b"));
  EXPECT_EQ(nd->ip.hop_limit, 255);
  const auto& ns = std::get<wire::NeighborSolicitation>(nd->message.body);
  EXPECT_EQ(ns.target_address, addr("2001:db8:1::b"));
  ASSERT_EQ(ns.options.size(), 1u);
  EXPECT_EQ(std::get<wire::SourceLinkLayerAddressOption>(ns.options[0].body).link_layer_address,
            mac_bytes(MacAddress::synthetic(1)));
}

TEST(NeighborDiscovery, QueueKeepsTheNewestPackets_Rfc4861_7_2_2) {
  Lan net;
  for (int i = 0; i < 5; ++i)
    net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b"),
                           100 + static_cast<std::size_t>(i)));
  net.s.run_for(10ms);
  ASSERT_EQ(net.b_got.size(), 3u);
  EXPECT_EQ(net.b_got[0].frame.packet.size(), 102u);
  EXPECT_EQ(net.a.interface(1)->nd()->counters().queue_dropped, 2u);
}

TEST(NeighborDiscovery, ResolutionFailsAfterMaxMulticastSolicit_Rfc4861_7_2_2) {
  Lan net;
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::99")));
  net.s.run_for(10s);
  EXPECT_EQ(net.a.interface(1)->nd()->counters().ns_sent, 3u);
  ASSERT_EQ(net.nud.size(), 1u);
  EXPECT_EQ(net.nud[0].at, at(3s));  // three NS, RetransTimer (1 s) apart, then give up
  EXPECT_EQ(net.nud[0].result, NudResult::kUnreachable);
  EXPECT_FALSE(net.a.interface(1)->nd()->state(addr("2001:db8:1::99")));
}

TEST(NeighborDiscovery, ReachableBecomesStaleAfterReachableTime_Rfc4861_7_3_3) {
  Lan net;
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b")));
  net.s.run_until(at(2ms + 30s - 1ns));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kReachable);
  net.s.run_until(at(2ms + 30s));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kStale);
}

TEST(NeighborDiscovery, StaleSendGoesDelayThenProbeAfterFiveSeconds_Rfc4861_7_3_3) {
  Lan net;
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b")));
  net.s.run_until(at(40s));
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b")));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kDelay);
  net.s.run_until(at(45s));  // DELAY_FIRST_PROBE_TIME: a unicast probe, answered 2 ms later
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kProbe);
  net.s.run_until(at(45s + 2ms));
  EXPECT_EQ(net.a.interface(1)->nd()->state(addr("2001:db8:1::b")), NeighborState::kReachable);
  ASSERT_EQ(net.nud.size(), 1u);
  EXPECT_EQ(net.nud[0].result, NudResult::kReachable);
}

TEST(NeighborDiscovery, NudReportsUnreachableAfterMaxUnicastSolicit_Rfc4861_7_3_3) {
  Lan net;
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::b")));
  net.s.run_until(at(1s));
  net.link.detach(*net.b.interface(1));
  net.a.interface(1)->nd()->probe(addr("2001:db8:1::b"));  // e.g. movement detection
  net.s.run_until(at(10s));
  ASSERT_EQ(net.nud.size(), 1u);
  EXPECT_EQ(net.nud[0].at, at(4s));  // three unicast NS at 1, 2, 3 s
  EXPECT_EQ(net.nud[0].result, NudResult::kUnreachable);
  EXPECT_EQ(net.a.interface(1)->nd()->counters().ns_sent, 4u);
}

// A home agent (router with ND) proxying a mobile node's home address (RFC 6275 §10.4.1).
struct ProxyNet {
  ProxyNet() : link(s, "home", LinkParams{.delay = 1ms}, 1), a(s, "a", static_host()), ha(s, "ha") {
    a.add_host_interface(MacAddress::synthetic(1)).add_address(addr("2001:db8:1::a"));
    Interface& i = ha.add_interface(MacAddress::synthetic(5));
    i.add_address(addr("fe80::5"));
    i.add_address(addr("2001:db8:1::5"));
    ha.enable_nd(i).add_proxy(addr("2001:db8:1::100"));
    ha.add_connected_routes();
    link.attach(*a.interface(1));
    link.attach(i);
  }
  Scheduler s;
  Link link;
  Host a;
  Router ha;
};

TEST(ProxyNd, AnswersNsForProxiedAddressWithOwnMac_Rfc6275_10_4_1) {
  ProxyNet net;
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::100")));
  net.s.run_for(10ms);
  auto* nd = net.a.interface(1)->nd();
  EXPECT_EQ(nd->link_address(addr("2001:db8:1::100")), MacAddress::synthetic(5));
  EXPECT_EQ(nd->state(addr("2001:db8:1::100")), NeighborState::kReachable);  // S=1
  EXPECT_EQ(net.ha.interface(1)->nd()->counters().na_sent, 1u);
}

TEST(ProxyNd, ProxyNaHasOverrideClearAndRouterFlag_Rfc4861_7_2_8) {
  ProxyNet net;
  testing::RecordingNode tap(net.s, "tap");
  tap.add_interface(MacAddress::synthetic(9));
  net.link.attach(*tap.interface(1));
  // The NA is unicast to a; the tap sees only the multicast NS. Use a DAD NS instead: all-nodes.
  wire::NeighborSolicitation ns;
  ns.target_address = addr("2001:db8:1::100");
  auto group = solicited_node_multicast(ns.target_address);
  tap.interface(1)->send_frame(MacAddress::for_ipv6_multicast(group),
                               build_nd_packet(wire::Ipv6Address{}, group, ns));
  net.s.run_for(10ms);
  std::optional<wire::NeighborAdvertisement> na;
  for (const auto& r : tap.received) {
    if (auto in = parse_nd(r.frame.packet)) {
      if (auto* x = std::get_if<wire::NeighborAdvertisement>(&in->message.body)) {
        na = *x;
        EXPECT_EQ(in->ip.destination, kAllNodes);  // §7.2.4: DAD answers go to all-nodes
      }
    }
  }
  ASSERT_TRUE(na);
  EXPECT_FALSE(na->s);
  EXPECT_FALSE(na->o);
  EXPECT_TRUE(na->r);
  EXPECT_EQ(na->target_address, addr("2001:db8:1::100"));
}

TEST(ProxyNd, ProxyJoinsTheSolicitedNodeGroupUntilRemoved_Rfc6275_10_4_1) {
  ProxyNet net;
  Interface& home = *net.ha.interface(1);
  const MacAddress group =
      MacAddress::for_ipv6_multicast(solicited_node_multicast(addr("2001:db8:1::100")));
  EXPECT_TRUE(home.listens(group));
  home.nd()->add_proxy(addr("2001:db8:1::100"));  // again: still one membership
  home.nd()->remove_proxy(addr("2001:db8:1::100"));
  EXPECT_FALSE(home.listens(group));
}

TEST(ProxyNd, StopsAnsweringOnceRemoved) {
  ProxyNet net;
  net.ha.interface(1)->nd()->remove_proxy(addr("2001:db8:1::100"));
  net.a.send(make_packet(addr("2001:db8:1::a"), addr("2001:db8:1::100")));
  net.s.run_for(10s);
  EXPECT_EQ(net.ha.interface(1)->nd()->counters().na_sent, 0u);
}

}  // namespace
}  // namespace mipv6::sim

namespace mipv6::sim {
namespace {

TEST(RouterNd, FailedResolutionAnswersQueuedPacketsWithAddressUnreachable_Rfc4861_7_2_2) {
  Scheduler s;
  Link lan1(s, "lan1", LinkParams{.delay = 1ms}, 1);
  Link lan2(s, "lan2", LinkParams{.delay = 1ms}, 2);
  testing::RecordingNode a(s, "a");
  Router r(s, "r");
  a.add_interface(MacAddress::synthetic(1)).add_address(testing::addr("2001:db8:1::a"));
  r.add_interface(MacAddress::synthetic(3)).add_address(testing::addr("2001:db8:1::1"));
  Interface& out = r.add_interface(MacAddress::synthetic(4));
  out.add_address(testing::addr("fe80::4"));
  out.add_address(testing::addr("2001:db8:2::1"));
  r.add_connected_routes();
  r.enable_nd(out);
  lan1.attach(*a.interface(1));
  lan1.attach(*r.interface(1));
  lan2.attach(out);
  a.interface(1)->send_ipv6(
      testing::addr("2001:db8:1::1"),
      testing::make_packet(testing::addr("2001:db8:1::a"), testing::addr("2001:db8:2::99")));
  s.run_for(10s);
  EXPECT_EQ(out.nd()->counters().ns_sent, 3u);
  EXPECT_EQ(r.counters().dropped_no_neighbour, 1u);
  EXPECT_EQ(r.counters().forwarded, 0u);
  ASSERT_EQ(a.received.size(), 1u);
  EXPECT_EQ(a.received[0].at, testing::at(1ms + 3s + 1ms));
  auto layout = wire::walk_chain(a.received[0].frame.packet);
  ASSERT_TRUE(layout);
  auto msg =
      wire::decode_icmpv6(wire::ByteSpan(a.received[0].frame.packet).subspan(layout->upper_offset));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->code, 3);
  EXPECT_TRUE(std::holds_alternative<wire::DestinationUnreachable>(msg->body));
}

}  // namespace
}  // namespace mipv6::sim
