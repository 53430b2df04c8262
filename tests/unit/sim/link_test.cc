#include "sim/link.h"

#include <gtest/gtest.h>

#include "sim/neighbor_discovery.h"
#include "sim/random.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;
using testing::make_packet;
using testing::RecordingNode;

using testing::load_le32;

// Recorded from the first run; a change means the loss stream or the draw order changed.
constexpr std::uint64_t kLostAtSeed42 = 319;

const MacAddress kAllNodesMac = MacAddress::for_ipv6_multicast(addr("ff02::1"));

// A link with `n` recording nodes attached, one interface each (MACs 02:00:00:00:00:01...).
struct Segment {
  Segment(LinkParams params, int n, std::uint64_t seed = 1) : link(s, "lan", params, seed) {
    for (int i = 0; i < n; ++i) {
      nodes.push_back(std::make_unique<RecordingNode>(s, "n" + std::to_string(i)));
      auto& iface =
          nodes.back()->add_interface(MacAddress::synthetic(static_cast<std::uint32_t>(i + 1)));
      link.attach(iface);
    }
  }
  RecordingNode& node(int i) { return *nodes[static_cast<std::size_t>(i)]; }
  Interface& iface(int i) { return *node(i).interface(1); }
  bool send(int from, const MacAddress& to, std::size_t size = 100) {
    return iface(from).send_frame(to, make_packet(addr("2001:db8::1"), addr("2001:db8::2"), size));
  }

  Scheduler s;
  Link link;
  std::vector<std::unique_ptr<RecordingNode>> nodes;
};

TEST(Link, SerialisationDelayIsFrameBitsOverBandwidthRoundedUp) {
  Scheduler s;
  Link link(s, "l", LinkParams{.bandwidth_bps = 1'000'000}, 1);
  EXPECT_EQ(link.serialisation_delay(114), Duration(912'000));  // 912 bits at 1 Mbit/s
  Link fast(s, "f", LinkParams{.bandwidth_bps = 3'000'000'000}, 1);
  EXPECT_EQ(fast.serialisation_delay(1), Duration(3));  // 8/3 ns rounds up
  Link unlimited(s, "u", LinkParams{}, 1);
  EXPECT_EQ(unlimited.serialisation_delay(1500), Duration(0));
}

TEST(Link, ArrivalIsSerialisationPlusDelayFifoPerSender) {
  // 100-byte packets make 114-byte frames: 912 us each at 1 Mbit/s.
  Segment seg(LinkParams{.delay = 2ms, .bandwidth_bps = 1'000'000}, 2);
  const MacAddress to = seg.iface(1).mac();
  seg.send(0, to);
  seg.send(0, to);                                    // waits for the first
  seg.s.schedule(at(1ms), [&] { seg.send(0, to); });  // transmitter busy until 1.824 ms
  seg.s.run_all();
  EXPECT_EQ(seg.node(1).arrival_times(),
            (std::vector<TimePoint>{at(2912us), at(3824us), at(4736us)}));
}

TEST(Link, SendersHaveIndependentTransmitters) {
  Segment seg(LinkParams{.delay = 1ms, .bandwidth_bps = 1'000'000}, 3);
  seg.send(0, seg.iface(2).mac());
  seg.send(1, seg.iface(2).mac());
  seg.s.run_all();
  EXPECT_EQ(seg.node(2).arrival_times(), (std::vector<TimePoint>{at(1912us), at(1912us)}));
}

TEST(Link, QueueLimitTailDropsFramesWaitingBehindTheTransmitter) {
  Segment seg(LinkParams{.bandwidth_bps = 1'000'000, .queue_limit = 2}, 2);
  const MacAddress to = seg.iface(1).mac();
  for (int i = 0; i < 5; ++i)
    seg.send(0, to);  // 1 on the wire, 2 waiting, 2 dropped
  // At 1 ms the first has left and the second is on the wire: one waits, room for one more.
  seg.s.schedule(at(1ms), [&] { seg.send(0, to); });
  seg.s.run_all();
  EXPECT_EQ(seg.link.counters().frames_dropped_queue, 2u);
  EXPECT_EQ(seg.node(1).arrival_times(),
            (std::vector<TimePoint>{at(912us), at(1824us), at(2736us), at(3648us)}));
}

TEST(Link, LossAtFixedSeedIsDeterministicAndNearTheProbability) {
  auto lost_with = [](std::uint64_t seed) {
    Segment seg(LinkParams{.loss = 0.3}, 2, seed);
    for (int i = 0; i < 1000; ++i)
      seg.send(0, seg.iface(1).mac());
    seg.s.run_all();
    const auto& c = seg.link.counters();
    EXPECT_EQ(c.frames_dropped_loss + c.frames_carried, 1000u);
    EXPECT_EQ(seg.node(1).received.size(), c.frames_carried);
    return c.frames_dropped_loss;
  };
  const std::uint64_t lost = lost_with(42);
  EXPECT_EQ(lost, lost_with(42));
  EXPECT_EQ(lost, kLostAtSeed42);
  EXPECT_GT(lost, 250u);  // binomial(1000, 0.3): mean 300, sd 14.5
  EXPECT_LT(lost, 350u);
  EXPECT_NE(lost, lost_with(43));
}

TEST(Link, LossDrawsOneNumberPerFrameFromTheLinkStream) {
  Segment seg(LinkParams{.loss = 0.5}, 2, 7);
  core::SplitMix64 replay(7);
  std::uint64_t expected_lost = 0;
  for (int i = 0; i < 200; ++i) {
    seg.send(0, seg.iface(1).mac());
    expected_lost += chance(replay, 0.5) ? 1 : 0;
  }
  EXPECT_EQ(seg.link.counters().frames_dropped_loss, expected_lost);
}

TEST(Link, LossBurstDropsEverythingStartingInsideTheWindowOnly) {
  Segment seg(LinkParams{.delay = 100us}, 2);
  seg.link.add_loss_burst(LossBurst{at(10ms), at(20ms), 1.0});
  for (int i = 0; i < 30; ++i)
    seg.s.schedule(at(std::chrono::milliseconds(i)), [&] { seg.send(0, seg.iface(1).mac()); });
  seg.s.run_all();
  EXPECT_EQ(seg.link.counters().frames_dropped_loss, 10u);  // 10 ms .. 19 ms; 20 ms is outside
  ASSERT_EQ(seg.node(1).received.size(), 20u);
  EXPECT_EQ(seg.node(1).received[9].at, at(9100us));
  EXPECT_EQ(seg.node(1).received[10].at, at(20100us));
  EXPECT_DOUBLE_EQ(seg.link.loss_at(at(15ms)), 1.0);
  EXPECT_DOUBLE_EQ(seg.link.loss_at(at(20ms)), 0.0);
}

TEST(Link, MulticastReachesEveryAttachedInterfaceButTheSender) {
  Segment seg(LinkParams{.delay = 1ms}, 4);
  seg.send(0, kAllNodesMac);
  seg.s.run_all();
  EXPECT_TRUE(seg.node(0).received.empty());
  for (int i = 1; i < 4; ++i) {
    ASSERT_EQ(seg.node(i).received.size(), 1u) << i;
    EXPECT_EQ(seg.node(i).received[0].at, at(1ms));
    EXPECT_EQ(seg.node(i).received[0].frame.destination, kAllNodesMac);
    EXPECT_EQ(seg.node(i).received[0].frame.source, seg.iface(0).mac());
  }
  EXPECT_EQ(seg.link.counters().frames_carried, 1u);
  EXPECT_EQ(seg.link.counters().frames_delivered, 3u);
}

TEST(Link, UnicastReachesOnlyTheMatchingMac) {
  Segment seg(LinkParams{}, 4);
  seg.send(0, seg.iface(2).mac());
  seg.send(0, MacAddress::synthetic(99));  // nobody
  seg.send(0, seg.iface(0).mac());         // itself: not looped back
  seg.s.run_all();
  EXPECT_EQ(seg.node(1).received.size(), 0u);
  EXPECT_EQ(seg.node(2).received.size(), 1u);
  EXPECT_EQ(seg.node(3).received.size(), 0u);
  EXPECT_EQ(seg.node(0).received.size(), 0u);
  EXPECT_EQ(seg.link.counters().frames_carried, 3u);
  EXPECT_EQ(seg.link.counters().frames_delivered, 1u);
}

TEST(Link, AttachAndDetachDuringARunMoveAnInterfaceWithLinkEvents) {
  Segment seg(LinkParams{.delay = 500us}, 2);
  Link other(seg.s, "other", LinkParams{}, 2);
  RecordingNode peer(seg.s, "peer");
  other.attach(peer.add_interface(MacAddress::synthetic(50)));
  Interface& mover = seg.iface(1);
  for (int i = 0; i < 10; ++i)
    seg.s.schedule(at(std::chrono::milliseconds(i)), [&] { seg.send(0, kAllNodesMac); });
  seg.s.schedule(at(5ms), [&] { other.attach(mover); });  // detaches from "lan" first
  seg.s.schedule(at(6ms), [&] { peer.interface(1)->send_frame(kAllNodesMac, {}); });
  seg.s.run_all();
  // From "lan": frames sent at 0..4 ms (arriving 0.5..4.5 ms); from "other": the peer's frame.
  ASSERT_EQ(seg.node(1).received.size(), 6u);
  EXPECT_EQ(seg.node(1).received[4].at, at(4500us));
  EXPECT_EQ(seg.node(1).received[5].at, at(6ms));
  EXPECT_EQ(seg.node(1).events, (std::vector<std::string>{"up eth0", "down eth0", "up eth0"}));
  EXPECT_EQ(mover.link(), &other);
  EXPECT_EQ(seg.link.attached_count(), 1u);
  EXPECT_EQ(other.attached_count(), 2u);
}

TEST(Link, DetachedInterfaceCannotSend) {
  Segment seg(LinkParams{}, 2);
  seg.link.detach(seg.iface(0));
  EXPECT_FALSE(seg.send(0, kAllNodesMac));
  EXPECT_EQ(seg.link.counters().frames_sent, 0u);
  seg.link.detach(seg.iface(0));  // twice: no second event
  EXPECT_EQ(seg.node(0).events, (std::vector<std::string>{"up eth0", "down eth0"}));
}

TEST(Link, FrameInFlightIsDeliveredAfterTheSenderDetaches) {
  Segment seg(LinkParams{.delay = 1ms}, 2);
  seg.send(0, seg.iface(1).mac());
  seg.link.detach(seg.iface(0));
  seg.s.run_all();
  EXPECT_EQ(seg.node(1).received.size(), 1u);
}

TEST(Link, ReceiverDetachedBeforeArrivalGetsNothing) {
  Segment seg(LinkParams{.delay = 1ms}, 2);
  seg.send(0, seg.iface(1).mac());
  seg.s.schedule(at(500us), [&] { seg.link.detach(seg.iface(1)); });
  seg.s.run_all();
  EXPECT_TRUE(seg.node(1).received.empty());
  EXPECT_EQ(seg.link.counters().frames_carried, 1u);
  EXPECT_EQ(seg.link.counters().frames_delivered, 0u);
}

// A node that, on its first frame, detaches another interface from the link.
class Detacher : public RecordingNode {
 public:
  using RecordingNode::RecordingNode;
  void on_frame(Interface& in, const Frame& frame) override {
    RecordingNode::on_frame(in, frame);
    if (victim != nullptr) in.link()->detach(*std::exchange(victim, nullptr));
  }
  Interface* victim = nullptr;
};

TEST(Link, InterfaceDetachedDuringAMulticastDeliveryMissesThatFrame) {
  Segment seg(LinkParams{}, 1);
  Detacher first(seg.s, "first");
  seg.link.attach(first.add_interface(MacAddress::synthetic(10)));
  RecordingNode last(seg.s, "last");
  seg.link.attach(last.add_interface(MacAddress::synthetic(11)));
  first.victim = last.interface(1);
  seg.send(0, kAllNodesMac);
  seg.s.run_all();
  EXPECT_EQ(first.received.size(), 1u);
  EXPECT_TRUE(last.received.empty());
  EXPECT_EQ(seg.link.attached_count(), 2u);
}

TEST(Link, ResolveUsesAddressesOfAttachedInterfaces) {
  Segment seg(LinkParams{}, 2);
  seg.iface(1).add_address(addr("2001:db8::b"));
  EXPECT_EQ(seg.link.resolve(addr("2001:db8::b")), seg.iface(1).mac());
  EXPECT_EQ(seg.link.resolve(addr("2001:db8::c")), std::nullopt);
  seg.iface(1).remove_address(addr("2001:db8::b"));
  EXPECT_EQ(seg.link.resolve(addr("2001:db8::b")), std::nullopt);
  seg.iface(1).add_address(addr("2001:db8::b"));
  seg.link.detach(seg.iface(1));
  EXPECT_EQ(seg.link.resolve(addr("2001:db8::b")), std::nullopt);
}

TEST(Link, EveryCarriedFrameIsCapturedAtItsArrivalTime) {
  Segment seg(LinkParams{.delay = 1ms, .loss = 0.5}, 2, 3);
  seg.link.set_pcap(std::make_unique<PcapWriter>());
  for (int i = 0; i < 50; ++i)
    seg.send(0, kAllNodesMac);
  seg.s.run_all();
  EXPECT_EQ(seg.link.pcap()->records(), seg.link.counters().frames_carried);
  // First record's timestamp: epoch base + 1 ms.
  const auto& b = seg.link.pcap()->bytes();
  ASSERT_GT(b.size(), kPcapGlobalHeaderSize + 8);
  EXPECT_EQ(load_le32(&b[kPcapGlobalHeaderSize + 4]), 1'000'000u);
}

TEST(Link, DetachingManyKeepsAttachmentOrderForTheRest) {
  Segment seg(LinkParams{}, 10);
  for (int i = 1; i < 10; i += 2)
    seg.link.detach(seg.iface(i));
  EXPECT_EQ(seg.link.attached_count(), 5u);
  seg.link.attach(seg.iface(3));  // re-attached: now last
  for (int i = 0; i < 10; ++i)
    seg.node(i).received.clear();
  seg.send(0, kAllNodesMac);
  seg.s.run_all();
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(seg.node(i).received.size(), (i % 2 == 0 && i != 0) || i == 3 ? 1u : 0u) << i;
  EXPECT_EQ(seg.link.attached_count(), 6u);
  EXPECT_EQ(seg.link.counters().frames_delivered, 5u);
}

TEST(Link, BackloggedSenderKeepsItsQueueLimitOverALongRun) {
  // A sender offering twice the link rate for 1000 frames: the queue stays at its limit and
  // every accepted frame leaves exactly one serialisation time after the previous one.
  Segment seg(LinkParams{.bandwidth_bps = 1'000'000, .queue_limit = 3}, 2);
  for (int i = 0; i < 1000; ++i)
    seg.s.schedule(at(std::chrono::microseconds(456 * i)),
                   [&] { seg.send(0, seg.iface(1).mac()); });
  seg.s.run_all();
  const auto times = seg.node(1).arrival_times();
  ASSERT_GT(times.size(), 400u);
  for (std::size_t i = 1; i < times.size(); ++i)
    ASSERT_EQ(times[i] - times[i - 1], Duration(912'000)) << i;
  EXPECT_EQ(seg.link.counters().frames_dropped_queue + times.size(), 1000u);
}

// --- Multicast filtering by MAC (RFC 2464 §7) --------------------------------------------------

// A node appending its name to a shared list for every frame: the order across receivers.
class OrderNode : public RecordingNode {
 public:
  OrderNode(Scheduler& s, std::string name, std::vector<std::string>& order)
      : RecordingNode(s, std::move(name)), order_(order) {}
  void on_frame(Interface& in, const Frame& frame) override {
    RecordingNode::on_frame(in, frame);
    order_.push_back(this->name());
  }

 private:
  std::vector<std::string>& order_;
};

MacAddress group_mac(const char* address) {
  return MacAddress::for_ipv6_multicast(solicited_node_multicast(addr(address)));
}

struct FilterNet {
  // Attached in this order: tap0 (no filter, sends), f1 (filtered), f2 (filtered),
  // tap3 (no filter), f4 (filtered).
  FilterNet() : link(s, "lan", LinkParams{.delay = 1ms}, 1) {
    for (const char* name : {"tap0", "f1", "f2", "tap3", "f4"}) {
      nodes.push_back(std::make_unique<OrderNode>(s, name, order));
      Interface& iface = nodes.back()->add_interface(
          MacAddress::synthetic(static_cast<std::uint32_t>(nodes.size())));
      if (name[0] == 'f') iface.enable_nd();
      link.attach(iface);
    }
  }
  Interface& iface(std::size_t i) { return *nodes[i]->interface(1); }
  void send(const MacAddress& to) {
    iface(0).send_frame(to, make_packet(addr("::"), addr("ff02::1:ff00:11")));
    s.run_all();
  }

  Scheduler s;
  Link link;
  std::vector<std::string> order;
  std::vector<std::unique_ptr<OrderNode>> nodes;
};

TEST(LinkMulticastFilter, GroupFrameReachesMembersAndUnfilteredInAttachmentOrder_Rfc2464_7) {
  FilterNet net;
  net.iface(4).add_address(addr("2001:db8::11"));  // joined first, attached last
  net.iface(1).add_address(addr("fe80::11"));      // the same solicited-node group
  net.send(group_mac("2001:db8::11"));
  EXPECT_EQ(net.order, (std::vector<std::string>{"f1", "tap3", "f4"}));
  EXPECT_EQ(net.link.counters().frames_delivered, 3u);
}

TEST(LinkMulticastFilter, AllNodesReachesEveryInterfaceFilteredOrNot_Rfc4291_2_7_1) {
  FilterNet net;
  net.send(kAllNodesMac);
  EXPECT_EQ(net.order, (std::vector<std::string>{"f1", "f2", "tap3", "f4"}));
}

TEST(LinkMulticastFilter, SolicitedNodeGroupFollowsTheAddresses_Rfc4861_7_2_1) {
  FilterNet net;
  Interface& f2 = net.iface(2);
  const MacAddress group = group_mac("2001:db8::11");
  f2.add_address(addr("2001:db8::11"));
  f2.add_address(addr("2001:db8:1::11"));  // same low 24 bits: same group, joined twice
  f2.remove_address(addr("2001:db8::11"));
  EXPECT_TRUE(f2.listens(group));
  net.send(group);
  f2.remove_address(addr("2001:db8:1::11"));
  EXPECT_FALSE(f2.listens(group));
  net.send(group);
  EXPECT_EQ(net.order, (std::vector<std::string>{"f2", "tap3", "tap3"}));
}

TEST(LinkMulticastFilter, RouterInterfaceListensToAllRoutersAHostDoesNot_Rfc4291_2_7_1) {
  FilterNet net;
  Scheduler s;
  RecordingNode router(s, "router");
  Interface& r = router.add_interface(MacAddress::synthetic(20));
  r.enable_nd(NdConfig{.is_router = true});
  const MacAddress all_routers = MacAddress::for_ipv6_multicast(kAllRouters);
  EXPECT_TRUE(r.listens(all_routers));
  EXPECT_FALSE(net.iface(1).listens(all_routers));
  EXPECT_TRUE(net.iface(3).listens(all_routers));  // no filter: hears every group
}

TEST(LinkMulticastFilter, EnablingNdWhileAttachedTurnsTheFilterOn) {
  FilterNet net;
  const MacAddress group = group_mac("2001:db8::99");
  net.send(group);
  net.iface(3).enable_nd();
  net.send(group);
  EXPECT_EQ(net.order, (std::vector<std::string>{"tap3"}));
}

TEST(LinkMulticastFilter, GroupJoinedAfterAttachIsHeardAndLeftIsNot) {
  FilterNet net;
  net.iface(1).join_group(addr("ff02::1:ff00:11"));
  net.send(group_mac("::11"));
  net.iface(1).leave_group(addr("ff02::1:ff00:11"));
  net.send(group_mac("::11"));
  EXPECT_EQ(net.order, (std::vector<std::string>{"f1", "tap3", "tap3"}));
}

TEST(LinkMulticastFilter, MemberDetachedDuringAGroupDeliveryMissesThatFrame) {
  Segment seg(LinkParams{}, 1);
  Detacher first(seg.s, "first");
  Interface& a = first.add_interface(MacAddress::synthetic(10));
  a.enable_nd();
  a.add_address(addr("2001:db8::11"));
  seg.link.attach(a);
  RecordingNode last(seg.s, "last");
  Interface& b = last.add_interface(MacAddress::synthetic(11));
  b.enable_nd();
  b.add_address(addr("2001:db8:1::11"));
  seg.link.attach(b);
  first.victim = &b;
  seg.send(0, group_mac("2001:db8::11"));
  seg.s.run_all();
  EXPECT_EQ(first.received.size(), 1u);
  EXPECT_TRUE(last.received.empty());
  seg.link.attach(b);  // back, and a member again
  seg.send(0, group_mac("2001:db8::11"));
  seg.s.run_all();
  EXPECT_EQ(last.received.size(), 1u);
}

TEST(LinkMulticastFilter, DestroyedMemberLeavesTheGroupIndex) {
  FilterNet net;
  {
    RecordingNode gone(net.s, "gone");
    Interface& g = gone.add_interface(MacAddress::synthetic(30));
    g.enable_nd();
    g.add_address(addr("2001:db8::11"));
    net.link.attach(g);
  }
  net.send(group_mac("2001:db8::11"));
  EXPECT_EQ(net.order, (std::vector<std::string>{"tap3"}));
}

}  // namespace
}  // namespace mipv6::sim
