#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "sim/host.h"
#include "sim/link.h"
#include "sim/pcap_writer.h"
#include "sim/ra_sender.h"
#include "sim/router.h"
#include "sim/slaac.h"
#include "sim_test_util.h"

namespace mipv6::sim {
namespace {

using testing::addr;
using testing::at;

RaConfig home_agent_ra() {
  RaConfig c;
  c.min_interval = 30ms;
  c.max_interval = 70ms;
  c.home_agent = true;
  c.home_agent_preference = 10;
  c.home_agent_lifetime = 1800;
  c.advertisement_interval_option = true;
  c.prefixes.push_back(RaPrefix{addr("2001:db8:1::"), 64, true, true, true, 86400, 14400});
  return c;
}

// A router advertising 2001:db8:1::/64 and a host, on a 1 ms link; the host attaches at `when`.
struct Net {
  explicit Net(RaConfig ra, SlaacConfig slaac = {}, Duration when = 0ms)
      : link(s, "lan", LinkParams{.delay = 1ms}, 1), r(s, "r"), h(s, "h", host_config(slaac)) {
    Interface& ri = r.add_interface(MacAddress::synthetic(5));
    ri.add_address(addr("fe80::5"));
    ri.add_address(addr("2001:db8:1::5"));
    link.attach(ri);
    r.advertise(ri, ra, 42);
    h.add_host_interface(MacAddress::synthetic(1));
    h.set_address_callback([this](Interface&, const AddressEvent& e) {
      events.push_back({s.now(), e});
    });
    h.set_ra_callback([this](Interface&, const NdInput&) { ras.push_back(s.now()); });
    s.schedule(at(when), [this] { link.attach(*h.interface(1)); });
  }
  static HostConfig host_config(SlaacConfig slaac) {
    HostConfig c;
    c.slaac = slaac;
    c.slaac.link_local = false;
    return c;
  }
  struct Ev {
    TimePoint at;
    AddressEvent e;
  };
  Scheduler s;
  Link link;
  Router r;
  Host h;
  std::vector<Ev> events;
  std::vector<TimePoint> ras;
};

RaConfig plain_ra() {
  RaConfig c;
  c.prefixes.push_back(RaPrefix{addr("2001:db8:1::"), 64});
  return c;
}

const wire::Ipv6Address kEui = addr("2001:db8:1::ff:fe00:1");  // from 02:00:00:00:00:01

TEST(Slaac, Eui64FlipsTheUniversalLocalBit_Rfc4291_AppA) {
  EXPECT_EQ(eui64_address(addr("2001:db8:1::"), MacAddress::synthetic(1)), kEui);
}

TEST(Slaac, AddressIsTentativeUntilDadEndsAfterRetransTimer_Rfc4862_5_4) {
  Net net(plain_ra());
  net.s.run_until(at(1ms));  // the first RA arrives at 1 ms
  EXPECT_EQ(net.h.slaac(*net.h.interface(1))->state(kEui), AddressState::kTentative);
  EXPECT_FALSE(net.h.interface(1)->has_address(kEui));
  net.s.run_until(at(1001ms));
  EXPECT_EQ(net.h.slaac(*net.h.interface(1))->state(kEui), AddressState::kPreferred);
  EXPECT_TRUE(net.h.interface(1)->has_address(kEui));
  ASSERT_EQ(net.events.size(), 2u);
  EXPECT_EQ(net.events[0].e.kind, AddressEvent::Kind::kAdded);
  EXPECT_EQ(net.events[1].e.kind, AddressEvent::Kind::kReady);
  EXPECT_EQ(net.events[1].at, at(1001ms));
}

TEST(Slaac, OptimisticAddressIsUsableAtOnce_Rfc4429_3_1) {
  Net net(plain_ra(), SlaacConfig{.optimistic_dad = true});
  net.s.run_until(at(1ms));
  EXPECT_EQ(net.h.slaac(*net.h.interface(1))->state(kEui), AddressState::kOptimistic);
  EXPECT_TRUE(net.h.interface(1)->has_address(kEui));
  net.s.run_until(at(1001ms));
  EXPECT_EQ(net.h.slaac(*net.h.interface(1))->state(kEui), AddressState::kPreferred);
}

TEST(Slaac, DefendedAddressIsDuplicate_Rfc4862_5_4_4) {
  Net net(plain_ra());
  Host other(net.s, "other", Net::host_config({}));
  other.add_host_interface(MacAddress::synthetic(7)).add_address(kEui);
  net.link.attach(*other.interface(1));
  net.s.run_until(at(2s));
  EXPECT_FALSE(net.h.slaac(*net.h.interface(1))->state(kEui));
  EXPECT_FALSE(net.h.interface(1)->has_address(kEui));
  ASSERT_EQ(net.events.size(), 2u);
  EXPECT_EQ(net.events[1].e.kind, AddressEvent::Kind::kDuplicate);
  EXPECT_EQ(net.events[1].at, at(3ms));  // DAD NS at 1 ms, defending NA back at 3 ms
}

TEST(Slaac, TentativeAddressHearsAnotherNodesDad_Rfc4862_5_4_2_And_5_4_3) {
  // The host joins the tentative address's solicited-node group before its DAD NS (§5.4.2), so
  // its multicast filter lets another node's DAD NS for the same address in (§5.4.3).
  Net net(plain_ra());
  testing::RecordingNode tap(net.s, "tap");
  net.link.attach(tap.add_interface(MacAddress::synthetic(7)));
  const MacAddress group = MacAddress::for_ipv6_multicast(solicited_node_multicast(kEui));
  wire::NeighborSolicitation ns;
  ns.target_address = kEui;
  net.s.schedule(at(500ms), [&] {
    EXPECT_TRUE(net.h.interface(1)->listens(group));
    EXPECT_FALSE(net.h.interface(1)->has_address(kEui));  // tentative: not assigned yet
    tap.interface(1)->send_frame(
        group, build_nd_packet(wire::Ipv6Address{}, solicited_node_multicast(kEui), ns));
  });
  net.s.run_until(at(2s));
  ASSERT_EQ(net.events.size(), 2u);
  EXPECT_EQ(net.events[1].e.kind, AddressEvent::Kind::kDuplicate);
  EXPECT_EQ(net.events[1].at, at(501ms));
  EXPECT_FALSE(net.h.interface(1)->listens(group));  // gone with the address
}

TEST(Slaac, DeprecatedAtPreferredAndRemovedAtValidLifetime_Rfc4862_5_5_4) {
  RaConfig ra = plain_ra();
  ra.prefixes[0].preferred_lifetime = 10;
  ra.prefixes[0].valid_lifetime = 20;
  Net net(ra);
  net.s.run_until(at(1ms));
  net.r.ra_sender(*net.r.interface(1))->stop();  // no refresh
  net.s.run_until(at(30s));
  ASSERT_EQ(net.events.size(), 4u);
  EXPECT_EQ(net.events[2].e.kind, AddressEvent::Kind::kDeprecated);
  EXPECT_EQ(net.events[2].at, at(10s + 1ms));
  EXPECT_EQ(net.events[3].e.kind, AddressEvent::Kind::kRemoved);
  EXPECT_EQ(net.events[3].at, at(20s + 1ms));
  EXPECT_FALSE(net.h.interface(1)->has_address(kEui));
}

TEST(Slaac, HostUsesRaSourceAsDefaultRouter_Rfc4861_6_3_4) {
  Net net(plain_ra());
  net.s.run_until(at(10ms));
  ASSERT_EQ(net.h.default_routers().size(), 1u);
  EXPECT_EQ(net.h.default_routers()[0].address, addr("fe80::5"));
}

// The RAs a tap on the link receives.
std::vector<std::pair<TimePoint, NdInput>> tap_ras(const RaConfig& ra, Duration run) {
  Scheduler s;
  Link link(s, "lan", LinkParams{.delay = 1ms}, 1);
  Router r(s, "r");
  testing::RecordingNode tap(s, "tap");
  Interface& ri = r.add_interface(MacAddress::synthetic(5));
  ri.add_address(addr("fe80::5"));
  ri.add_address(addr("2001:db8:1::5"));
  tap.add_interface(MacAddress::synthetic(9));
  link.attach(ri);
  link.attach(*tap.interface(1));
  r.advertise(ri, ra, 42);
  s.run_for(run);
  std::vector<std::pair<TimePoint, NdInput>> out;
  for (const auto& x : tap.received) {
    if (auto in = parse_nd(x.frame.packet)) out.emplace_back(x.at, *in);
  }
  return out;
}

TEST(RouterAdvertisement, HomeAgentRaCarriesMobileIpv6Options_Rfc6275_7) {
  auto ras = tap_ras(home_agent_ra(), 1ms);
  ASSERT_EQ(ras.size(), 1u);
  EXPECT_EQ(ras[0].second.ip.source, addr("fe80::5"));
  const auto& ra = std::get<wire::RouterAdvertisement>(ras[0].second.message.body);
  EXPECT_TRUE(ra.h);                 // §7.1
  EXPECT_EQ(ra.router_lifetime, 1);  // §7.5: at least 1 s though 3 × 0.07 s is less
  ASSERT_EQ(ra.options.size(), 4u);
  EXPECT_TRUE(std::holds_alternative<wire::SourceLinkLayerAddressOption>(ra.options[0].body));
  const auto& pio = std::get<wire::PrefixInformationOption>(ra.options[1].body);
  EXPECT_TRUE(pio.r);  // §7.2: the router's full address
  EXPECT_EQ(pio.prefix, addr("2001:db8:1::5"));
  EXPECT_EQ(std::get<wire::AdvertisementIntervalOption>(ra.options[2].body).advertisement_interval,
            90u);  // §7.3/§7.5: 70 ms + 20 ms
  const auto& hai = std::get<wire::HomeAgentInformationOption>(ra.options[3].body);
  EXPECT_EQ(hai.home_agent_preference, 10);  // §7.4
  EXPECT_EQ(hai.home_agent_lifetime, 1800);
}

TEST(RouterAdvertisement, HomeAgentInfoOmittedWhenDefaults_Rfc6275_7_4) {
  RaConfig c = home_agent_ra();
  c.home_agent_preference = 0;
  c.home_agent_lifetime.reset();
  c.source_lla = false;  // a home agent sends it anyway (§7.5)
  auto ras = tap_ras(c, 1ms);
  ASSERT_EQ(ras.size(), 1u);
  const auto& ra = std::get<wire::RouterAdvertisement>(ras[0].second.message.body);
  ASSERT_EQ(ra.options.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<wire::SourceLinkLayerAddressOption>(ra.options[0].body));
  for (const auto& o : ra.options)
    EXPECT_FALSE(std::holds_alternative<wire::HomeAgentInformationOption>(o.body));
}

TEST(RouterAdvertisement, FastIntervalsStayWithinMinMax_Rfc6275_7_5) {
  auto ras = tap_ras(home_agent_ra(), 10s);
  ASSERT_GT(ras.size(), 140u);
  for (std::size_t i = 1; i < ras.size(); ++i) {
    const Duration gap = ras[i].first - ras[i - 1].first;
    EXPECT_GE(gap, 30ms);
    EXPECT_LE(gap, 70ms);
  }
}

TEST(RouterAdvertisement, ConfigValidation_Rfc6275_7_5) {
  EXPECT_FALSE(validate_ra_config(home_agent_ra()));
  RaConfig c = home_agent_ra();
  c.max_interval = 60ms;
  EXPECT_TRUE(validate_ra_config(c));
  c = home_agent_ra();
  c.min_interval = 60ms;  // above 0.75 × 70 ms
  EXPECT_TRUE(validate_ra_config(c));
  c = home_agent_ra();
  c.home_agent_lifetime = 0;
  EXPECT_TRUE(validate_ra_config(c));
}

TEST(RouterAdvertisement, RsIsAnsweredWithinHalfASecond_Rfc4861_6_2_6) {
  Net net(plain_ra(), {}, 5s);  // RAs at 0 s, then 16 s at the earliest; host arrives at 5 s
  net.s.run_until(at(6s));
  ASSERT_EQ(net.h.rs_sent(), 1u);
  ASSERT_EQ(net.ras.size(), 1u);
  EXPECT_GE(net.ras[0], at(5s + 2ms));
  EXPECT_LE(net.ras[0], at(5s + 502ms));
  EXPECT_EQ(net.r.ra_sender(*net.r.interface(1))->counters().solicited, 1u);
}

TEST(RouterAdvertisement, SameSeedSameRun) {
  auto a = tap_ras(home_agent_ra(), 2s);
  auto b = tap_ras(home_agent_ra(), 2s);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    EXPECT_EQ(a[i].first, b[i].first);
}

// The host off-link: a packet to 2001:db8:2::b goes to the default router's MAC.
TEST(Host, OffLinkDestinationGoesToTheDefaultRouter_Rfc4861_5_2) {
  Net net(plain_ra());
  net.s.run_until(at(2s));
  ASSERT_TRUE(net.h.send(testing::make_packet(kEui, addr("2001:db8:2::b"))));
  net.s.run_until(at(3s));
  // The host knew the router's MAC from the RA's SLLAO (RFC 4861 §6.3.4).
  EXPECT_EQ(net.h.interface(1)->nd()->link_address(addr("fe80::5")), MacAddress::synthetic(5));
  EXPECT_EQ(net.r.counters().dropped_no_route, 1u);  // it reached the router
}

TEST(Slaac, DadNsIsFromUnspecifiedToSolicitedNodeWithoutSllao_Rfc4862_5_4_2) {
  Scheduler s;
  Link link(s, "lan", LinkParams{.delay = 1ms}, 1);
  Host h(s, "h");  // link-local SLAAC on
  testing::RecordingNode tap(s, "tap");
  h.add_host_interface(MacAddress::synthetic(1));
  tap.add_interface(MacAddress::synthetic(9));
  link.attach(*tap.interface(1));
  link.attach(*h.interface(1));
  s.run_for(10ms);
  // At 0: the DAD NS for fe80::ff:fe00:1 and an RS from :: (no usable address yet).
  ASSERT_EQ(tap.received.size(), 2u);
  auto dad = parse_nd(tap.received[0].frame.packet);
  ASSERT_TRUE(dad);
  EXPECT_TRUE(dad->ip.source.is_unspecified());
  EXPECT_EQ(dad->ip.destination, addr("ff02::1:ff00:1"));
  const auto& ns = std::get<wire::NeighborSolicitation>(dad->message.body);
  EXPECT_EQ(ns.target_address, addr("fe80::ff:fe00:1"));
  EXPECT_TRUE(ns.options.empty());
  auto rs = parse_nd(tap.received[1].frame.packet);
  ASSERT_TRUE(rs);
  EXPECT_TRUE(rs->ip.source.is_unspecified());  // RFC 4861 §6.3.7: no SLLAO from ::
  EXPECT_EQ(rs->ip.destination, kAllRouters);
  EXPECT_TRUE(std::get<wire::RouterSolicitation>(rs->message.body).options.empty());
}

// One run: a home agent advertising fast RAs, a host arriving at 100 ms that forms its
// address and sends one packet off-link at 2 s; the link's capture.
wire::Bytes capture(std::uint64_t seed) {
  Scheduler s;
  Link link(s, "lan", LinkParams{.delay = 1ms, .bandwidth_bps = 10'000'000}, seed);
  link.set_pcap(std::make_unique<PcapWriter>());
  Router r(s, "r");
  Host h(s, "h");
  Interface& ri = r.add_interface(MacAddress::synthetic(5));
  ri.add_address(addr("fe80::5"));
  ri.add_address(addr("2001:db8:1::5"));
  r.add_connected_routes();
  link.attach(ri);
  r.advertise(ri, home_agent_ra(), seed);
  h.add_host_interface(MacAddress::synthetic(1));
  s.schedule(at(100ms), [&] { link.attach(*h.interface(1)); });
  s.schedule(at(2s), [&] { h.send(testing::make_packet(kEui, addr("2001:db8:9::1"))); });
  s.run_until(at(2200ms));
  return link.pcap()->bytes();
}

TEST(RouterAdvertisement, TwoRunsGiveIdenticalPcaps) {
  const auto a = capture(7);
  EXPECT_EQ(a, capture(7));
  EXPECT_NE(a, capture(8));  // the RA intervals come from the seed
}

std::string run(const std::string& command) {
  std::string out;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

// tshark (4.0.17) decodes the capture without malformed packets or expert warnings, and sees
// the RFC 6275 §7 RA fields (MIPV6-FACTS §11.1 names them).
TEST(RouterAdvertisement, TsharkDecodesTheCaptureCleanly) {
  if (run("command -v tshark").empty()) GTEST_SKIP() << "tshark not installed";
  const std::string path = ::testing::TempDir() + "sim_ra_exchange.pcap";
  const auto bytes = capture(7);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),  // NOLINT: byte buffer to ostream
             static_cast<std::streamsize>(bytes.size()));
  const std::string json = run("tshark -r " + path + " -T json 2>/dev/null");
  std::remove(path.c_str());
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.find("_ws.malformed"), std::string::npos);
  EXPECT_EQ(json.find("Malformed Packet"), std::string::npos);
  EXPECT_EQ(json.find("\"_ws.expert\""), std::string::npos);
  EXPECT_NE(json.find("\"icmpv6.nd.ra.flag.h\": \"1\""), std::string::npos);
  EXPECT_NE(json.find("\"icmpv6.opt.prefix.flag.r\": \"1\""), std::string::npos);
  EXPECT_NE(json.find("\"icmpv6.opt.advertisement_interval\": \"90\""), std::string::npos);
  EXPECT_NE(json.find("\"icmpv6.opt.home_agent_preference\": \"10\""), std::string::npos);
  EXPECT_NE(json.find("\"icmpv6.type\": \"135\""), std::string::npos);  // NS (DAD, resolution)
  EXPECT_NE(json.find("\"icmpv6.type\": \"133\""), std::string::npos);  // RS
  EXPECT_NE(json.find("\"icmpv6.type\": \"1\""), std::string::npos);    // the no-route error
}

}  // namespace
}  // namespace mipv6::sim
