// A mobile node with two radios (two host interfaces) on the topology of engine_hosts_testbed.h:
// radio 0 starts on link A; at 3 s radio 1 attaches to link B. Radio 1 is preferred
// (MobileNodeConfig.movement.interface_preference, draft-04 §9.2), so as soon as it has a router
// and a care-of address the node registers that address, while radio 0 still receives. With
// overlapping coverage (radio 0 leaves A at 4 s: make before break) no datagram is lost; with
// none (radio 0 leaves A at 3 s: break before make) the ones in flight to the old care-of address
// and those sent before the new binding are lost. UDP CBR both ways every 10 ms from 0.5 s to 8 s.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_hosts_testbed.h"
#include "traffic_helpers.h"

namespace mipv6::sim {
namespace {

using namespace testing;
using V = std::vector<std::string>;

struct HandoverRun {
  V signalling;
  V lost_down;
  V lost_up;
  std::uint64_t router_probes = 0;
};

HandoverRun handover(Duration overlap) {
  Testbed bed({.start_link = "a", .radios = 2});
  bed.mn().start_udp_cbr(bed.cn_address(), 10ms, 160, at(500ms), at(8s));
  bed.cn().start_udp_cbr(bed.cn_address(), bed.home_address(), 10ms, 160, at(500ms), at(8s));
  bed.attach_at(at(3s), "b", 1);
  bed.detach_at(at(3s) + overlap, 0);
  bed.run_until(at(9s));
  return HandoverRun{signalling(bed.mn(), at(2s), at(9s)),
                     lost_ranges(bed.cn().udp_sent(), bed.mn().udp_received()),
                     lost_ranges(bed.mn().udp_sent(), bed.cn().udp_received()),
                     bed.mn().engine().counters().router_probes_sent};
}

// The registration of the new care-of address (BU(H) once radio 1's RA arrived, then a new
// CoTI only: the home keygen token is still fresh, §5.2.7) is the same either way.
const V kSignalling = {"3005389 tx BU(H)", "3029389 rx BA 0", "3029389 tx CoTI",
                       "3051389 rx CoT",   "3051389 tx BU()", "3073389 rx BA 0"};

// Sequences 0-50 (down) and 0-52 (up) went before the first registration at 1.025 s.
TEST(TwoRadios, MakeBeforeBreakLosesNothing_11_5_4) {
  const HandoverRun run = handover(1s);
  EXPECT_EQ(run.signalling, kSignalling);
  EXPECT_EQ(run.lost_down, (V{"0-50"}));
  EXPECT_EQ(run.lost_up, (V{"0-52"}));
  // §11.5.1: no probe of the old router was needed: the better interface decided.
  EXPECT_EQ(run.router_probes, 0u);
}

// Break before make: the datagrams sent to the old care-of address from 2.99 s (in flight when
// radio 0 left) until the correspondent's binding moved (3.062 s) are lost downstream; upstream,
// those sent before the new care-of address was acknowledged had no usable path (3.00-3.02 s).
TEST(TwoRadios, BreakBeforeMakeLosesSome_11_5_4) {
  const HandoverRun run = handover(0s);
  EXPECT_EQ(run.signalling, kSignalling);
  EXPECT_EQ(run.lost_down, (V{"0-50", "249-256"}));
  EXPECT_EQ(run.lost_up, (V{"0-52", "250-252"}));
}

// The second radio is not used before it is attached: the node works as a one-radio node on A.
TEST(TwoRadios, SecondRadioIdleUntilAttached) {
  Testbed bed({.start_link = "a", .radios = 2});
  bed.run_until(at(2s));
  EXPECT_FALSE(bed.radio(1).attached());
  ASSERT_TRUE(bed.mn().engine().primary_care_of().has_value());
  EXPECT_EQ(bed.mn().engine().primary_care_of()->ifindex, bed.radio(0).ifindex());
  EXPECT_TRUE(bed.mn().engine().primary_care_of()->address.in_prefix(addr("2001:db8:a::"), 64));
}

// After the overlap the primary care-of address is radio 1's, on link B.
TEST(TwoRadios, PrimaryCareOfMovesToTheNewRadio) {
  Testbed bed({.start_link = "a", .radios = 2});
  bed.attach_at(at(3s), "b", 1);
  bed.run_until(at(3500ms));
  EXPECT_TRUE(bed.radio(0).attached());
  ASSERT_TRUE(bed.mn().engine().primary_care_of().has_value());
  EXPECT_EQ(bed.mn().engine().primary_care_of()->ifindex, bed.radio(1).ifindex());
  EXPECT_TRUE(bed.mn().engine().primary_care_of()->address.in_prefix(addr("2001:db8:b::"), 64));
}

}  // namespace
}  // namespace mipv6::sim
