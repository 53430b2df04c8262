// The two SLAAC behaviours the mobility nodes rely on (sim/slaac.h): addresses the owner knows
// are its own skip DAD (a mobile node back home, RFC 6275 §11.5.5), and an Optimistic address
// lets Neighbor Discovery answer Neighbor Solicitations for it (RFC 4429 §3.3), so an access
// router can reach a fresh care-of address before DAD ends.
#include <gtest/gtest.h>

#include "sim/host.h"
#include "sim/link.h"
#include "sim/router.h"
#include "sim/slaac.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;

const wire::Ipv6Address kEui = addr("2001:db8:1::ff:fe00:1");  // from 02:00:00:00:00:01

// A router advertising 2001:db8:1::/64 on a 1 ms link, and a host attached at 0.
struct Net {
  explicit Net(SlaacConfig slaac)
      : link(s, "lan", LinkParams{.delay = 1ms}, 1), r(s, "r"), h(s, "h", host_config(slaac)) {
    Interface& ri = r.add_interface(MacAddress::synthetic(5));
    ri.add_address(addr("fe80::5"));
    ri.add_address(addr("2001:db8:1::5"));
    link.attach(ri);
    RaConfig ra;
    ra.prefixes.push_back(RaPrefix{addr("2001:db8:1::"), 64});
    r.advertise(ri, ra, 42);
    h.add_host_interface(MacAddress::synthetic(1));
    link.attach(*h.interface(1));
  }
  static HostConfig host_config(SlaacConfig slaac) {
    HostConfig c;
    c.slaac = std::move(slaac);
    c.slaac.link_local = false;
    return c;
  }
  Slaac& slaac() { return *h.slaac(*h.interface(1)); }
  Scheduler s;
  Link link;
  Router r;
  Host h;
};

// An NS for `target` from the router's address (address resolution, RFC 4861 §7.2.2), or from
// the unspecified address (DAD, RFC 4862 §5.4.2).
NdInput solicitation(const wire::Ipv6Address& source, const wire::Ipv6Address& target) {
  wire::NeighborSolicitation ns;
  ns.target_address = target;
  auto input =
      parse_nd(build_nd_packet(source, solicited_node_multicast(target), wire::Icmpv6Body{ns}));
  EXPECT_TRUE(input.has_value());
  return *input;
}

TEST(SlaacMobility, SkippedAddressIsPreferredWithoutDad_6275_11_5_5) {
  SlaacConfig config;
  config.skip_dad = [](const wire::Ipv6Address& a) { return a == kEui; };
  Net net(config);
  net.s.run_until(at(1ms));  // the first RA arrives at 1 ms
  EXPECT_EQ(net.slaac().state(kEui), AddressState::kPreferred);
  EXPECT_TRUE(net.h.interface(1)->has_address(kEui));
  EXPECT_EQ(net.slaac().dad_ns_sent(), 0u);
}

TEST(SlaacMobility, OtherAddressesStillRunDad_Rfc4862_5_4) {
  SlaacConfig config;
  config.skip_dad = [](const wire::Ipv6Address& a) { return a == addr("2001:db8:1::99"); };
  Net net(config);
  net.s.run_until(at(1ms));
  EXPECT_EQ(net.slaac().state(kEui), AddressState::kTentative);
  EXPECT_EQ(net.slaac().dad_ns_sent(), 1u);
}

TEST(SlaacMobility, OptimisticAddressLeavesResolutionNsToNd_Rfc4429_3_3) {
  Net net(SlaacConfig{.optimistic_dad = true});
  net.s.run_until(at(1ms));
  ASSERT_EQ(net.slaac().state(kEui), AddressState::kOptimistic);
  EXPECT_FALSE(net.slaac().on_packet(solicitation(addr("fe80::5"), kEui)));
  // A DAD NS from another node still makes it a duplicate (RFC 4862 §5.4.3).
  EXPECT_TRUE(net.slaac().on_packet(solicitation(wire::Ipv6Address{}, kEui)));
  EXPECT_FALSE(net.slaac().state(kEui).has_value());
}

TEST(SlaacMobility, TentativeAddressSwallowsResolutionNs_Rfc4862_5_4_3) {
  Net net(SlaacConfig{});
  net.s.run_until(at(1ms));
  ASSERT_EQ(net.slaac().state(kEui), AddressState::kTentative);
  EXPECT_TRUE(net.slaac().on_packet(solicitation(addr("fe80::5"), kEui)));
  EXPECT_EQ(net.slaac().state(kEui), AddressState::kTentative);
}

}  // namespace
}  // namespace mipv6::sim
