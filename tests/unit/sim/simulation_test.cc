#include "sim/simulation.h"

#include <gtest/gtest.h>

#include "sim/router.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;
using testing::make_packet;
using testing::RecordingNode;

struct Outcome {
  std::vector<wire::Bytes> pcaps;
  std::vector<LinkCounters> counters;
  RouterCounters router;
};

// Two lossy, rate-limited links joined by a router; three hosts sending bursts both ways, a
// loss burst, and one host moving between the links half way.
Outcome run(std::uint64_t seed) {
  Simulation sim(seed);
  Link& lan1 = sim.add_link(
      "lan1", LinkParams{.delay = 1ms, .bandwidth_bps = 2'000'000, .loss = 0.1, .queue_limit = 4});
  Link& lan2 =
      sim.add_link("lan2", LinkParams{.delay = 3ms, .bandwidth_bps = 5'000'000, .loss = 0.2});
  lan2.add_loss_burst(LossBurst{at(200ms), at(250ms), 0.9});
  for (Link* l : {&lan1, &lan2})
    l->set_pcap(std::make_unique<PcapWriter>());
  auto& r = sim.add_node<Router>("r");
  r.add_interface(sim.next_mac()).add_address(addr("2001:db8:1::1"));
  r.add_interface(sim.next_mac()).add_address(addr("2001:db8:2::1"));
  r.add_connected_routes();
  lan1.attach(*r.interface(1));
  lan2.attach(*r.interface(2));
  auto& a = sim.add_node<RecordingNode>("a");
  auto& b = sim.add_node<RecordingNode>("b");
  auto& m = sim.add_node<RecordingNode>("m");
  a.add_interface(sim.next_mac()).add_address(addr("2001:db8:1::a"));
  b.add_interface(sim.next_mac()).add_address(addr("2001:db8:2::b"));
  m.add_interface(sim.next_mac()).add_address(addr("2001:db8:1::3"));
  lan1.attach(*a.interface(1));
  lan2.attach(*b.interface(1));
  lan1.attach(*m.interface(1));
  auto jitter = sim.stream("traffic");
  for (int i = 0; i < 400; ++i) {
    TimePoint t = at(std::chrono::microseconds(i * 1000 + static_cast<int>(jitter.uniform(900))));
    sim.scheduler().schedule(t, [&a, &b, &m, i] {
      std::size_t size = 80 + static_cast<std::size_t>(i % 7) * 150;
      a.interface(1)->send_ipv6(addr("2001:db8:1::1"),
                                make_packet(addr("2001:db8:1::a"), addr("2001:db8:2::b"), size));
      b.interface(1)->send_ipv6(addr("2001:db8:2::1"),
                                make_packet(addr("2001:db8:2::b"), addr("2001:db8:1::a"), size));
      m.interface(1)->send_ipv6(addr("ff02::1"), make_packet(addr("fe80::3"), addr("ff02::1")));
    });
  }
  sim.scheduler().schedule(at(150ms), [&] { lan2.attach(*m.interface(1)); });
  sim.scheduler().run_all();
  Outcome out;
  for (const auto& l : sim.links()) {
    out.pcaps.push_back(l->pcap()->bytes());
    out.counters.push_back(l->counters());
  }
  out.router = r.counters();
  return out;
}

TEST(Simulation, SameSeedGivesBitIdenticalPcapsAndCounters) {
  Outcome first = run(2024);
  Outcome second = run(2024);
  EXPECT_EQ(first.pcaps, second.pcaps);
  EXPECT_EQ(first.counters, second.counters);
  EXPECT_EQ(first.router, second.router);
  // The scenario exercises every drop path, so the comparison is not vacuous.
  EXPECT_GT(first.counters[0].frames_dropped_queue, 0u);
  EXPECT_GT(first.counters[0].frames_dropped_loss, 0u);
  EXPECT_GT(first.counters[1].frames_dropped_loss, 0u);
  EXPECT_GT(first.router.forwarded, 0u);
}

TEST(Simulation, DifferentSeedGivesADifferentRun) {
  EXPECT_NE(run(1).pcaps, run(2).pcaps);
}

TEST(Simulation, MacsAreHandedOutInOrder) {
  Simulation sim(1);
  EXPECT_EQ(sim.next_mac().to_string(), "02:00:00:00:00:01");
  EXPECT_EQ(sim.next_mac().to_string(), "02:00:00:00:00:02");
}

TEST(Simulation, LinkStreamsDependOnNameNotCreationOrder) {
  Simulation one(7), two(7);
  one.add_link("x", LinkParams{.loss = 0.5});
  Link& a = one.add_link("a", LinkParams{.loss = 0.5});
  Link& b = two.add_link("a", LinkParams{.loss = 0.5});
  RecordingNode na(one.scheduler(), "n"), nb(two.scheduler(), "n");
  a.attach(na.add_interface(MacAddress::synthetic(1)));
  b.attach(nb.add_interface(MacAddress::synthetic(1)));
  for (int i = 0; i < 100; ++i) {
    na.interface(1)->send_frame(MacAddress::broadcast(), {});
    nb.interface(1)->send_frame(MacAddress::broadcast(), {});
  }
  EXPECT_EQ(a.counters(), b.counters());
  EXPECT_EQ(one.find_link("a"), &a);
  EXPECT_EQ(one.find_link("zz"), nullptr);
}

}  // namespace
}  // namespace mipv6::sim
