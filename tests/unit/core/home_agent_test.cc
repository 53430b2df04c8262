#include "core/home_agent.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "wire/chain.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kHaLinkLocal = addr("fe80::1");
const Ipv6Address kPrefix = addr("2001:db8:1::");
const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kCoa = addr("2001:db8:2::100");
const Ipv6Address kCoa2 = addr("2001:db8:3::100");
constexpr std::uint32_t kHomeIf = 2;
constexpr LinkLayerAddress kHaMac{0x02, 0, 0, 0, 0, 0x01};
const TimePoint kT0 = TimePoint(1000s);

HomeAgentConfig base_config() {
  HomeAgentConfig config;
  config.home_ifindex = kHomeIf;
  config.addresses = {kHa};
  config.link_local_address = kHaLinkLocal;
  config.link_layer_address = kHaMac;
  config.prefixes = {HomePrefix{kPrefix, 64, std::nullopt, std::nullopt, true, true}};
  config.max_lifetime = 3600s;
  return config;
}

struct BuSpec {
  std::uint16_t sequence = 7;
  std::uint16_t lifetime = 105;  // 420 s
  bool a = true;
  bool h = true;
  bool l = false;
  bool k = false;
  Ipv6Address home = kHoa;
  Ipv6Address care_of = kCoa;
  bool alternate = true;  // Alternate Care-of Address option (§11.7.1)
  bool hao = true;        // sent from away (with a Home Address option)
  bool nonce_indices = false;
};

wire::Bytes bu_packet(const BuSpec& spec) {
  wire::BindingUpdate bu;
  bu.sequence_number = spec.sequence;
  bu.lifetime = spec.lifetime;
  bu.set_flag(wire::kBuFlagA, spec.a);
  bu.set_flag(wire::kBuFlagH, spec.h);
  bu.set_flag(wire::kBuFlagL, spec.l);
  bu.set_flag(wire::kBuFlagK, spec.k);
  wire::MobilityHeader mh;
  mh.message = bu;
  if (spec.alternate) mh.options.push_back(wire::AlternateCareOfAddress{spec.care_of});
  if (spec.nonce_indices) mh.options.push_back(wire::NonceIndices{1, 2});
  Ipv6Address source = spec.hao ? spec.care_of : spec.home;
  std::optional<Ipv6Address> hao;
  if (spec.hao) hao = spec.home;
  return build_mobility_packet({source, kHa, hao, std::nullopt, 64}, mh);
}

struct DecodedBa {
  wire::BindingAcknowledgement ba;
  wire::MobilityHeader mh;
  Ipv6Address source;
  Ipv6Address destination;
  std::optional<Ipv6Address> type2;
  const Transmit* transmit = nullptr;
};

class HomeAgentTest : public ::testing::Test {
 protected:
  void make(HomeAgentConfig config, std::size_t max_bindings = 64) {
    cache_ = std::make_unique<BindingCache>(max_bindings);
    ha_ = std::make_unique<HomeAgent>(std::move(config), *cache_, rng_);
  }
  void SetUp() override { make(base_config()); }

  void feed(const wire::Bytes& bytes, Protection protection = Protection::kEspTransport,
            std::uint32_t ifindex = 1, std::optional<LinkLayerAddress> link = std::nullopt) {
    auto packet = make_rx_packet(bytes, ifindex);
    ASSERT_TRUE(packet.has_value());
    packet->protection = protection;
    packet->link_source = link;
    ha_->on_packet(*packet, now_);
    collect();
  }
  void send(const BuSpec& spec) { feed(bu_packet(spec)); }
  void event(const NodeEvent& e) {
    ha_->on_event(e, now_);
    collect();
  }
  void advance(Duration d) {
    auto end = now_ + d;
    // Run every deadline on the way, as the data plane would (bounded: a deadline that never
    // clears fails the test instead of hanging it).
    int rounds = 0;
    while (auto next = ha_->next_deadline()) {
      if (*next > end) break;
      ASSERT_LT(++rounds, 10000) << "deadline never cleared";
      now_ = std::max(now_, *next);
      ha_->on_timeout(now_);
      collect();
    }
    now_ = end;
    ha_->on_timeout(now_);
    collect();
  }
  void collect() {
    for (auto& action : ha_->take_actions())
      actions_.push_back(std::move(action));
  }
  // Registers kHoa (BU + successful DAD), then clears the actions.
  void register_home(BuSpec spec = {}) {
    send(spec);
    event(DadResult{kHomeIf, spec.home, false});
    if (spec.l) event(DadResult{kHomeIf, derived_link_local(spec.home), false});
    actions_.clear();
  }

  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& action : actions_) {
      if (const T* found = std::get_if<T>(&action)) out.push_back(*found);
    }
    return out;
  }
  std::vector<DecodedBa> bas() const {
    std::vector<DecodedBa> out;
    for (const auto& action : actions_) {
      const auto* transmit = std::get_if<Transmit>(&action);
      if (transmit == nullptr) continue;
      auto packet = make_rx_packet(transmit->packet, 0);
      if (!packet || packet->layout.upper_protocol != wire::kIpProtoMobility) continue;
      auto input = check_mobility_header(*packet);
      EXPECT_EQ(input.verdict, MhVerdict::kAccept);
      const auto* ba = wire::find_message<wire::BindingAcknowledgement>(input.header);
      if (ba == nullptr) continue;
      out.push_back({*ba, input.header, packet->layout.ipv6.source, packet->layout.ipv6.destination,
                     packet->layout.type2_address, transmit});
    }
    return out;
  }
  DecodedBa only_ba() const {
    auto list = bas();
    EXPECT_EQ(list.size(), 1u);
    return list.empty() ? DecodedBa{} : list.front();
  }
  std::vector<wire::Icmpv6Message> icmps(std::uint8_t type) const {
    std::vector<wire::Icmpv6Message> out;
    for (const auto& transmit : all<Transmit>()) {
      auto packet = make_rx_packet(transmit.packet, 0);
      if (!packet || packet->layout.upper_protocol != wire::kIcmpv6NextHeader) continue;
      EXPECT_TRUE(wire::verify_upper_checksum(transmit.packet, packet->layout));
      auto message = wire::decode_icmpv6(packet->upper());
      if (message && wire::icmpv6_type(*message) == type) out.push_back(*message);
    }
    return out;
  }
  std::vector<wire::MobilityHeader> mhs(std::uint8_t type) const {
    std::vector<wire::MobilityHeader> out;
    for (const auto& transmit : all<Transmit>()) {
      auto packet = make_rx_packet(transmit.packet, 0);
      if (!packet || packet->layout.upper_protocol != wire::kIpProtoMobility) continue;
      auto input = check_mobility_header(*packet);
      if (input.verdict == MhVerdict::kAccept && input.header.mh_type() == type)
        out.push_back(input.header);
    }
    return out;
  }

  SplitMix64 rng_{1};
  std::unique_ptr<BindingCache> cache_;
  std::unique_ptr<HomeAgent> ha_;
  std::vector<Action> actions_;
  TimePoint now_ = kT0;
};

// --- §10.3.1 home registration --------------------------------------------------------------

TEST_F(HomeAgentTest, FirstRegistrationRunsDadBeforeTheBa_10_3_1) {
  send({});
  auto dads = all<StartDad>();
  ASSERT_EQ(dads.size(), 1u);
  EXPECT_EQ(dads[0].address, kHoa);
  EXPECT_EQ(dads[0].ifindex, kHomeIf);
  EXPECT_TRUE(bas().empty());
  EXPECT_EQ(cache_->find(kHoa)->state, BindingState::kPendingDad);
  EXPECT_TRUE(all<TunnelRoute>().empty());
  EXPECT_TRUE(all<ProxyNeighbor>().empty());
}

TEST_F(HomeAgentTest, SuccessfulDadSendsBaToCareOfWithType2Header_10_3_1) {
  send({});
  actions_.clear();
  event(DadResult{kHomeIf, kHoa, false});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, 0);
  EXPECT_EQ(ba.ba.sequence_number, 7);
  EXPECT_EQ(ba.ba.lifetime, 105);
  EXPECT_EQ(ba.source, kHa);
  EXPECT_EQ(ba.destination, kCoa);
  ASSERT_TRUE(ba.type2.has_value());
  EXPECT_EQ(*ba.type2, kHoa);
  EXPECT_EQ(ba.transmit->protect, Protection::kEspTransport);
  EXPECT_EQ(cache_->find(kHoa)->state, BindingState::kValid);
  EXPECT_TRUE(cache_->find(kHoa)->home_registration);
  EXPECT_EQ(cache_->find(kHoa)->expires, now_ + 420s);
  EXPECT_EQ(ha_->counters().registrations, 1u);
}

// One line per protocol event: the BU said "-> DAD"; the registration it led to says so too.
TEST_F(HomeAgentTest, RegistrationCompletedAfterDadIsLogged_10_3_1) {
  send({});
  actions_.clear();
  event(DadResult{kHomeIf, kHoa, false});
  auto logs = all<Log>();
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs.back().message, "DAD done for " + kHoa.to_string() + " -> BA status 0");
}

// §10.5.1: radvd on the home agent's own node advertises it; its own RA, looped back, must not
// add a second entry for itself.
TEST_F(HomeAgentTest, OwnRouterAdvertisementDoesNotListItselfTwice_10_5_1) {
  const std::size_t before = ha_->home_agent_list().entries().size();
  wire::RouterAdvertisement own;
  own.h = true;
  own.router_lifetime = 1800;
  wire::Icmpv6Message message;
  message.body = own;
  feed(build_icmpv6_packet({kHaLinkLocal, addr("ff02::1"), std::nullopt, std::nullopt, 255},
                           message),
       Protection::kNone, kHomeIf);
  EXPECT_EQ(ha_->home_agent_list().entries().size(), before);
  EXPECT_EQ(ha_->counters().ra_own_ignored, 1u);
  // Another home agent's RA is still learned.
  feed(build_icmpv6_packet({addr("fe80::2"), addr("ff02::1"), std::nullopt, std::nullopt, 255},
                           message),
       Protection::kNone, kHomeIf);
  EXPECT_EQ(ha_->home_agent_list().entries().size(), before + 1);
}

TEST_F(HomeAgentTest, BindingRefreshAdviceBelowLifetime_10_3_1) {
  register_home();
  send({.sequence = 8});
  auto ba = only_ba();
  const auto* advice = wire::find_option<wire::BindingRefreshAdvice>(ba.mh);
  ASSERT_NE(advice, nullptr);
  EXPECT_LT(advice->refresh_interval, ba.ba.lifetime);
  EXPECT_EQ(advice->refresh_interval, 52);  // half of 105 units
}

TEST_F(HomeAgentTest, NoRefreshAdviceWithNonvolatileCache_10_3_1) {
  auto config = base_config();
  config.nonvolatile_cache = true;
  make(config);
  register_home();
  send({.sequence = 8});
  EXPECT_EQ(wire::find_option<wire::BindingRefreshAdvice>(only_ba().mh), nullptr);
}

TEST_F(HomeAgentTest, DadFailureRejectsWith134_10_3_1) {
  send({});
  actions_.clear();
  event(DadResult{kHomeIf, kHoa, true});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  EXPECT_TRUE(all<TunnelRoute>().empty());
  EXPECT_EQ(ha_->counters().dad_failed, 1u);
}

TEST_F(HomeAgentTest, LBitDadsAndDefendsLinkLocalToo_10_3_1) {
  send({.l = true});
  auto dads = all<StartDad>();
  ASSERT_EQ(dads.size(), 2u);
  EXPECT_EQ(dads[1].address, addr("fe80::100"));
  event(DadResult{kHomeIf, kHoa, false});
  EXPECT_TRUE(bas().empty()) << "waits for the link-local result too";
  event(DadResult{kHomeIf, addr("fe80::100"), false});
  EXPECT_EQ(only_ba().ba.status, 0);
  auto proxies = all<ProxyNeighbor>();
  ASSERT_EQ(proxies.size(), 2u);
  EXPECT_EQ(proxies[0].address, kHoa);
  EXPECT_EQ(proxies[1].address, addr("fe80::100"));
}

TEST_F(HomeAgentTest, LinkLocalDuplicateRejectsWholeBu_10_3_1) {
  send({.l = true});
  event(DadResult{kHomeIf, addr("fe80::100"), true});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
}

TEST_F(HomeAgentTest, DerivedLinkLocalKeepsInterfaceIdentifier_10_3_1) {
  EXPECT_EQ(derived_link_local(addr("2001:db8:1:2:a:b:c:d")), addr("fe80::a:b:c:d"));
}

TEST_F(HomeAgentTest, RefreshSkipsDad_10_3_1) {
  register_home();
  send({.sequence = 8});
  EXPECT_TRUE(all<StartDad>().empty());
  EXPECT_EQ(only_ba().ba.status, 0);
  EXPECT_EQ(ha_->counters().refreshes, 1u);
}

TEST_F(HomeAgentTest, AckBitZeroStillRegistersAndIsAnswered_10_3_1) {
  register_home({.a = false});
  EXPECT_EQ(cache_->find(kHoa)->state, BindingState::kValid);
  send({.sequence = 8, .a = false});
  EXPECT_EQ(only_ba().ba.status, 0);  // "Regardless of the setting of the A bit"
}

TEST_F(HomeAgentTest, NewerBuDuringDadIsTheOneAnswered_10_3_1) {
  send({});
  send({.sequence = 8, .care_of = kCoa2});
  EXPECT_EQ(all<StartDad>().size(), 1u);
  event(DadResult{kHomeIf, kHoa, false});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.sequence_number, 8);
  EXPECT_EQ(ba.destination, kCoa2);
}

TEST_F(HomeAgentTest, UnansweredDadIsDroppedAfterWait_10_3_1) {
  send({});
  advance(HomeAgent::kDadWait);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  EXPECT_EQ(ha_->counters().dad_timeouts, 1u);
  EXPECT_TRUE(bas().empty());
}

// --- §9.5.1 sequence numbers -----------------------------------------------------------------

TEST_F(HomeAgentTest, SequenceFar32782AfterLast15Accepted_9_5_1) {
  register_home({.sequence = 15});
  send({.sequence = 32782});
  EXPECT_EQ(only_ba().ba.status, 0);
  EXPECT_EQ(cache_->find(kHoa)->sequence_number, 32782);
}

TEST_F(HomeAgentTest, SequenceOlder14Gets135Carrying15_9_5_1) {
  register_home({.sequence = 15});
  send({.sequence = 14});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(ba.ba.sequence_number, 15);
  EXPECT_EQ(ba.destination, kCoa);
}

TEST_F(HomeAgentTest, SequenceEqual15Gets135Carrying15_9_5_1) {
  register_home({.sequence = 15});
  send({.sequence = 15});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(only_ba().ba.sequence_number, 15);
}

TEST_F(HomeAgentTest, Sequence32783AfterLast15Gets135_9_5_1) {
  register_home({.sequence = 15});
  send({.sequence = 32783});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusSequenceNumberOutOfWindow);
}

TEST_F(HomeAgentTest, SequenceWrapsFrom65535To0_9_5_1) {
  register_home({.sequence = 65535});
  send({.sequence = 0});
  EXPECT_EQ(only_ba().ba.status, 0);
}

TEST_F(HomeAgentTest, OutOfWindowAnsweredEvenWithAckBitZero_9_5_4) {
  register_home({.sequence = 15});
  send({.sequence = 3, .a = false});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(only_ba().ba.sequence_number, 15);
}

// --- every status code ------------------------------------------------------------------------

TEST_F(HomeAgentTest, NotConfiguredAsHomeAgentGets131_10_3_1) {
  auto config = base_config();
  config.home_agent = false;
  make(config);
  send({});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusHomeRegistrationNotSupported);
}

TEST_F(HomeAgentTest, HomeAddressOffPrefixGets132_10_3_1) {
  send({.home = addr("2001:db8:9::100")});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusNotHomeSubnet);
  EXPECT_EQ(cache_->size(), 0u);
}

TEST_F(HomeAgentTest, AllowListRejectsOthersWith129_10_3_1) {
  auto config = base_config();
  config.allowed_home_addresses = {addr("2001:db8:1::200")};
  make(config);
  send({});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusAdministrativelyProhibited);
}

TEST_F(HomeAgentTest, PolicyCallbackRejectsWith129_10_3_1) {
  auto config = base_config();
  config.policy = [](const Ipv6Address&, const Ipv6Address& care_of) { return care_of != kCoa; };
  make(config);
  send({});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusAdministrativelyProhibited);
  actions_.clear();
  send({.sequence = 8, .care_of = kCoa2});
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, FullCacheGets130_10_3_1) {
  make(base_config(), 1);
  register_home({.home = addr("2001:db8:1::200")});
  send({});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusInsufficientResources);
}

TEST_F(HomeAgentTest, HomeRegistrationReplacesCorrespondentBinding_9_6) {
  make(base_config(), 1);
  auto* other = cache_->find_or_insert(addr("2001:db8:9::1"), now_).entry;  // a CN binding
  other->care_of_address = kCoa2;
  other->expires = now_ + 100s;
  send({});
  auto routes = all<BindingRoute>();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_EQ(routes[0].home_address, addr("2001:db8:9::1"));
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, DeregistrationWithoutBindingGets133_10_3_2) {
  send({.lifetime = 0});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusNotHomeAgentForThisMobileNode);
}

TEST_F(HomeAgentTest, TypeChangeGets139_9_5_1) {
  auto* entry = cache_->find_or_insert(kHoa, now_).entry;  // a correspondent binding
  entry->sequence_number = 3;
  entry->expires = now_ + 100s;
  send({});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusRegistrationTypeChangeDisallowed);
  EXPECT_FALSE(cache_->find(kHoa)->home_registration);
}

TEST_F(HomeAgentTest, CorrespondentBuAfterHomeRegistrationGets139_9_5_1) {
  register_home();
  send({.sequence = 8, .h = false});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusRegistrationTypeChangeDisallowed);
  EXPECT_TRUE(cache_->find(kHoa)->home_registration);
}

TEST_F(HomeAgentTest, CareOfOnHomePrefixGets174_9_5_1) {
  send({.care_of = addr("2001:db8:1::555")});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusInvalidCareOfAddress);
}

TEST_F(HomeAgentTest, MulticastAlternateCareOfGets174_6_2_5) {
  wire::BindingUpdate bu;
  bu.sequence_number = 1;
  bu.lifetime = 10;
  bu.set_flag(wire::kBuFlagH, true);
  wire::MobilityHeader mh;
  mh.message = bu;
  mh.options.push_back(wire::AlternateCareOfAddress{addr("ff0e::1")});
  feed(build_mobility_packet({kCoa, kHa, kHoa, std::nullopt, 64}, mh));
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusInvalidCareOfAddress);
}

TEST_F(HomeAgentTest, DeprecatedPrefixGivesStatus1_10_3_1) {
  auto config = base_config();
  config.prefixes[0].preferred_until = kT0 + 100s;
  make(config);
  register_home();
  send({.sequence = 8});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusAcceptedPrefixDiscoveryNecessary);
  EXPECT_EQ(ba.ba.lifetime, 105) << "the preferred lifetime does not shorten the binding";
}

TEST_F(HomeAgentTest, LongPreferredPrefixGivesStatus0_10_3_1) {
  auto config = base_config();
  config.prefixes[0].preferred_until = kT0 + 10000s;
  config.prefixes[0].valid_until = kT0 + 20000s;
  make(config);
  register_home();
  send({.sequence = 8});
  EXPECT_EQ(only_ba().ba.status, 0);
}

TEST_F(HomeAgentTest, LifetimeCutToPrefixValidLifetime_10_3_1) {
  auto config = base_config();
  config.prefixes[0].valid_until = kT0 + 203s;  // 50 units and 3 s
  make(config);
  send({.lifetime = 1000});
  event(DadResult{kHomeIf, kHoa, false});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.lifetime, 50);
  EXPECT_EQ(ba.ba.status, wire::kBaStatusAcceptedPrefixDiscoveryNecessary);
  EXPECT_EQ(cache_->find(kHoa)->expires, kT0 + 200s);
}

TEST_F(HomeAgentTest, LifetimeCutToConfiguredMaximum_10_3_1) {
  auto config = base_config();
  config.max_lifetime = 100s;
  make(config);
  register_home({.lifetime = 1000});
  send({.sequence = 8, .lifetime = 1000});
  EXPECT_EQ(only_ba().ba.lifetime, 25);
  EXPECT_EQ(only_ba().ba.status, 0);
}

TEST_F(HomeAgentTest, LifetimeMatrixAgainstPrefixValidLifetime_10_3_1) {
  struct Row {
    std::uint16_t requested;
    std::int64_t prefix_valid_s;
    std::uint16_t granted;
    std::uint8_t status;
  };
  for (Row row : {Row{10, 1000, 10, 0}, Row{250, 1000, 250, 0}, Row{251, 1000, 250, 1},
                  Row{1000, 41, 10, 1}, Row{5, 22, 5, 0}}) {
    auto config = base_config();
    config.prefixes[0].valid_until = kT0 + std::chrono::seconds(row.prefix_valid_s);
    make(config);
    actions_.clear();
    send({.lifetime = row.requested});
    event(DadResult{kHomeIf, kHoa, false});
    auto ba = only_ba();
    EXPECT_EQ(ba.ba.lifetime, row.granted) << row.requested << " vs " << row.prefix_valid_s;
    EXPECT_EQ(ba.ba.status, row.status) << row.requested << " vs " << row.prefix_valid_s;
  }
}

TEST_F(HomeAgentTest, BindingRemovedWhenPrefixValidLifetimeEnds_10_3_1) {
  auto config = base_config();
  make(config);
  register_home();
  event(PrefixUpdate{kHomeIf, kPrefix, 64, 60s, 30s});
  EXPECT_EQ(cache_->find(kHoa)->expires, now_ + 60s);
  advance(60s);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  EXPECT_EQ(all<TunnelRoute>().back().change, Change::kRemove);
}

TEST_F(HomeAgentTest, KeyManagementBitClearedWithManualKeys_10_3_1) {
  register_home({.k = true});
  send({.sequence = 8, .k = true});
  EXPECT_FALSE(only_ba().ba.k());
}

TEST_F(HomeAgentTest, KeyManagementBitSetWithDynamicKeys_10_3_1) {
  auto config = base_config();
  config.dynamic_keying = true;
  make(config);
  register_home({.k = true});
  send({.sequence = 8, .k = true});
  EXPECT_TRUE(only_ba().ba.k());
  EXPECT_TRUE(cache_->find(kHoa)->key_management);
  actions_.clear();
  send({.sequence = 9, .k = false});
  EXPECT_FALSE(only_ba().ba.k());
}

// --- silently discarded BUs -------------------------------------------------------------------

TEST_F(HomeAgentTest, NonceIndicesInHomeRegistrationDropped_9_5_1) {
  send({.nonce_indices = true});
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_nonce_indices, 1u);
}

TEST_F(HomeAgentTest, HomeRegistrationWithoutAlternateCareOfDropped_11_7_1) {
  send({.alternate = false});
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_no_alternate_care_of, 1u);
}

TEST_F(HomeAgentTest, AlternateCareOfNotRequiredWhenConfiguredOff_11_7_1) {
  auto config = base_config();
  config.require_alternate_care_of = false;
  make(config);
  send({.alternate = false});
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, UnprotectedBuDroppedWhenProtectionRequired_5_1) {
  auto config = base_config();
  config.require_protection = true;
  make(config);
  feed(bu_packet({}), Protection::kNone);
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_unprotected, 1u);
  feed(bu_packet({}), Protection::kEspTransport);
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, UnprotectedBuAcceptedWhenNotRequired_5_1) {
  feed(bu_packet({}), Protection::kNone);
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, CorrespondentRegistrationLeftToCorrespondentEngine_9_5_1) {
  send({.h = false});
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_correspondent_bu, 1u);
}

// --- §10.3.2 de-registration ------------------------------------------------------------------

TEST_F(HomeAgentTest, DeregistrationAnswersStatus0Lifetime0NoAdvice_10_3_2) {
  register_home();
  send({.sequence = 8, .lifetime = 0});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, 0);
  EXPECT_EQ(ba.ba.lifetime, 0);
  EXPECT_EQ(ba.ba.sequence_number, 8);
  EXPECT_EQ(wire::find_option<wire::BindingRefreshAdvice>(ba.mh), nullptr);
  EXPECT_EQ(ha_->counters().deregistrations, 1u);
}

TEST_F(HomeAgentTest, DeregistrationStopsInterceptionAtOnce_10_3_2) {
  register_home({.l = true});
  send({.sequence = 8, .lifetime = 0});
  auto proxies = all<ProxyNeighbor>();
  ASSERT_EQ(proxies.size(), 2u);
  EXPECT_EQ(proxies[0].change, Change::kRemove);
  EXPECT_EQ(proxies[1].address, addr("fe80::100"));
  auto tunnels = all<TunnelRoute>();
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  EXPECT_EQ(cache_->find(kHoa)->state, BindingState::kPendingDelete);
  wire::Bytes data =
      build_mobility_packet({kCoa, kHoa, std::nullopt, std::nullopt, 64}, wire::MobilityHeader{});
  auto packet = *make_rx_packet(data, kHomeIf);
  EXPECT_EQ(ha_->decide_intercepted(packet, now_).verdict, InterceptVerdict::kNotOurs);
}

TEST_F(HomeAgentTest, DeregistrationFromHomeWithoutHao_10_3_2) {
  register_home();
  send({.sequence = 8, .alternate = false, .hao = false});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, 0);
  EXPECT_EQ(ba.destination, kHoa);
  EXPECT_FALSE(ba.type2.has_value());
}

TEST_F(HomeAgentTest, CareOfEqualToHomeIsDeregistration_10_3_2) {
  register_home();
  send({.sequence = 8, .care_of = kHoa});
  EXPECT_EQ(only_ba().ba.lifetime, 0);
  EXPECT_EQ(cache_->find(kHoa)->state, BindingState::kPendingDelete);
}

TEST_F(HomeAgentTest, LateBuAfterDeregistrationGets135_10_3_2) {
  register_home({.sequence = 10});
  send({.sequence = 12, .lifetime = 0});
  actions_.clear();
  send({.sequence = 11});  // delayed from the visited link
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusSequenceNumberOutOfWindow);
  EXPECT_EQ(ba.ba.sequence_number, 12);
  EXPECT_EQ(ba.destination, kCoa);
  EXPECT_TRUE(all<TunnelRoute>().empty());
}

TEST_F(HomeAgentTest, EntryRemovedAfterMaxDeleteBceTimeout_10_3_2) {
  register_home();
  send({.sequence = 8, .lifetime = 0});
  advance(kMaxDeleteBceTimeout - 1s);
  EXPECT_NE(cache_->find(kHoa), nullptr);
  advance(1s);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  EXPECT_EQ(ha_->counters().bindings_deleted, 1u);
}

TEST_F(HomeAgentTest, SecondDeregistrationGets133_10_3_2) {
  register_home();
  send({.sequence = 8, .lifetime = 0});
  actions_.clear();
  send({.sequence = 9, .lifetime = 0});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusNotHomeAgentForThisMobileNode);
}

TEST_F(HomeAgentTest, NewRegistrationAfterDeregistrationRunsDadAgain_10_3_2) {
  register_home();
  send({.sequence = 8, .lifetime = 0});
  actions_.clear();
  send({.sequence = 9});
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, RejectionOnHomeLinkGoesToLinkLayerAddress_10_3_2) {
  constexpr LinkLayerAddress kMnMac{0x02, 0, 0, 0, 0, 0x99};
  feed(bu_packet({.lifetime = 0, .alternate = false, .hao = false}), Protection::kEspTransport,
       kHomeIf, kMnMac);
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusNotHomeAgentForThisMobileNode);
  ASSERT_TRUE(ba.transmit->link_destination.has_value());
  EXPECT_EQ(*ba.transmit->link_destination, kMnMac);
  EXPECT_EQ(ba.transmit->ifindex, kHomeIf);
}

// --- §10.4.1 interception -------------------------------------------------------------------

TEST_F(HomeAgentTest, RegistrationInstallsProxyAndTunnel_10_4_1) {
  send({});
  event(DadResult{kHomeIf, kHoa, false});
  auto proxies = all<ProxyNeighbor>();
  ASSERT_EQ(proxies.size(), 1u);
  EXPECT_EQ(proxies[0].change, Change::kAdd);
  EXPECT_EQ(proxies[0].address, kHoa);
  EXPECT_EQ(proxies[0].ifindex, kHomeIf);
  auto tunnels = all<TunnelRoute>();
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kAdd);
  EXPECT_EQ(tunnels[0].home_address, kHoa);
  EXPECT_EQ(tunnels[0].care_of_address, kCoa);
  EXPECT_EQ(tunnels[0].local_address, kHa);
}

TEST_F(HomeAgentTest, ThreeUnsolicitedNeighborAdvertisementsWithOverride_10_4_1) {
  send({});
  event(DadResult{kHomeIf, kHoa, false});
  EXPECT_EQ(icmps(wire::NeighborAdvertisement::kType).size(), 1u);
  advance(kRetransTimer);
  EXPECT_EQ(icmps(wire::NeighborAdvertisement::kType).size(), 2u);
  advance(10s);
  auto nas = icmps(wire::NeighborAdvertisement::kType);
  ASSERT_EQ(nas.size(), static_cast<std::size_t>(kMaxNeighborAdvertisement));
  for (const auto& message : nas) {
    const auto& na = std::get<wire::NeighborAdvertisement>(message.body);
    EXPECT_FALSE(na.r);
    EXPECT_FALSE(na.s);
    EXPECT_TRUE(na.o);
    EXPECT_EQ(na.target_address, kHoa);
    ASSERT_EQ(na.options.size(), 1u);
    const auto& tlla = std::get<wire::TargetLinkLayerAddressOption>(na.options[0].body);
    ASSERT_GE(tlla.link_layer_address.size(), 6u);
    EXPECT_EQ(tlla.link_layer_address[5], std::byte{0x01});
  }
  for (const auto& transmit : all<Transmit>()) {
    auto packet = *make_rx_packet(transmit.packet, 0);
    if (packet.layout.upper_protocol != wire::kIcmpv6NextHeader) continue;
    EXPECT_EQ(packet.layout.ipv6.hop_limit, 255);
    EXPECT_EQ(packet.layout.ipv6.destination, addr("ff02::1"));
    EXPECT_EQ(packet.layout.ipv6.source, kHaLinkLocal);
    EXPECT_EQ(transmit.ifindex, kHomeIf);
  }
}

TEST_F(HomeAgentTest, ExpiryWithdrawsInterception_10_3_1) {
  register_home({.lifetime = 10});
  advance(40s);
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  auto proxies = all<ProxyNeighbor>();
  ASSERT_EQ(proxies.size(), 1u);
  EXPECT_EQ(proxies[0].change, Change::kRemove);
  EXPECT_EQ(all<TunnelRoute>().size(), 1u);
  EXPECT_EQ(ha_->counters().bindings_expired, 1u);
}

TEST_F(HomeAgentTest, CareOfChangeUpdatesTunnel_10_4_1) {
  register_home();
  send({.sequence = 8, .care_of = kCoa2});
  auto tunnels = all<TunnelRoute>();
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kAdd);
  EXPECT_EQ(tunnels[0].care_of_address, kCoa2);
  EXPECT_TRUE(all<ProxyNeighbor>().empty());
  EXPECT_EQ(only_ba().destination, kCoa2);
}

// --- §10.4 tunnelling decisions ---------------------------------------------------------------

wire::Bytes data_packet(const Ipv6Address& source, const Ipv6Address& destination) {
  wire::PacketSpec spec;
  spec.header.source = source;
  spec.header.destination = destination;
  spec.header.hop_limit = 64;
  spec.upper_protocol = wire::ip_proto::kNoNextHeader;
  return wire::build_packet(spec);
}

TEST_F(HomeAgentTest, UnicastToHomeAddressTunnelledToCareOf_10_4_1) {
  register_home();
  auto bytes = data_packet(addr("2001:db8:7::1"), kHoa);
  auto decision = ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_);
  EXPECT_EQ(decision.verdict, InterceptVerdict::kTunnel);
  ASSERT_EQ(decision.targets.size(), 1u);
  EXPECT_EQ(decision.targets[0].care_of_address, kCoa);
  EXPECT_EQ(decision.targets[0].local_address, kHa);
}

TEST_F(HomeAgentTest, LinkLocalDestinationGetsUnreachableCode3_10_4_1) {
  register_home({.l = true});
  auto bytes = data_packet(addr("fe80::7"), addr("fe80::100"));
  auto decision = ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_);
  EXPECT_EQ(decision.verdict, InterceptVerdict::kDropLinkLocal);
  ASSERT_TRUE(decision.icmp_error.has_value());
  auto packet = *make_rx_packet(*decision.icmp_error, 0);
  auto message = *wire::decode_icmpv6(packet.upper());
  EXPECT_EQ(wire::icmpv6_type(message), wire::DestinationUnreachable::kType);
  EXPECT_EQ(message.code, 3);
  EXPECT_EQ(packet.layout.ipv6.destination, addr("fe80::7"));
}

TEST_F(HomeAgentTest, LinkLocalDestinationFromMulticastSourceNoError_10_4_1) {
  register_home({.l = true});
  auto bytes = data_packet(addr("ff02::5"), addr("fe80::100"));
  auto decision = ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_);
  EXPECT_EQ(decision.verdict, InterceptVerdict::kDropLinkLocal);
  EXPECT_FALSE(decision.icmp_error.has_value());
}

TEST_F(HomeAgentTest, LinkLocalMulticastNotTunnelled_10_4_1) {
  register_home();
  auto bytes = data_packet(addr("2001:db8:7::1"), addr("ff02::1"));
  EXPECT_EQ(ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_).verdict,
            InterceptVerdict::kDropMulticast);
}

TEST_F(HomeAgentTest, SiteScopeMulticastNotTunnelled_10_4_1) {
  register_home();
  auto bytes = data_packet(addr("2001:db8:7::1"), addr("ff05::1:3"));
  EXPECT_EQ(ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_).verdict,
            InterceptVerdict::kDoNotTunnel);
}

TEST_F(HomeAgentTest, GlobalMulticastNeedsMldSupport_10_4_1) {
  register_home();
  ha_->join_group(kHoa, addr("ff0e::101"), true);
  auto bytes = data_packet(addr("2001:db8:7::1"), addr("ff0e::101"));
  EXPECT_EQ(ha_->decide_intercepted(*make_rx_packet(bytes, kHomeIf), now_).verdict,
            InterceptVerdict::kDoNotTunnel);
}

TEST_F(HomeAgentTest, GlobalMulticastTunnelledToMembersOnly_10_4_3) {
  auto config = base_config();
  config.mld_through_tunnel = true;
  make(config);
  register_home();
  auto bytes = data_packet(addr("2001:db8:7::1"), addr("ff0e::101"));
  auto packet = *make_rx_packet(bytes, kHomeIf);
  EXPECT_EQ(ha_->decide_intercepted(packet, now_).verdict, InterceptVerdict::kDoNotTunnel);
  ha_->join_group(kHoa, addr("ff0e::101"), true);
  auto decision = ha_->decide_intercepted(packet, now_);
  EXPECT_EQ(decision.verdict, InterceptVerdict::kTunnel);
  ASSERT_EQ(decision.targets.size(), 1u);
  EXPECT_EQ(decision.targets[0].care_of_address, kCoa);
  ha_->join_group(kHoa, addr("ff0e::101"), false);
  EXPECT_EQ(ha_->decide_intercepted(packet, now_).verdict, InterceptVerdict::kDoNotTunnel);
}

TEST_F(HomeAgentTest, ReverseTunnelOnlyFromRegisteredCareOf_10_4_5) {
  register_home();
  EXPECT_TRUE(ha_->accept_reverse_tunnelled(kCoa, kHoa, Protection::kNone));
  EXPECT_FALSE(ha_->accept_reverse_tunnelled(kCoa2, kHoa, Protection::kNone));
  EXPECT_FALSE(ha_->accept_reverse_tunnelled(kCoa, addr("2001:db8:1::200"), Protection::kNone));
  EXPECT_TRUE(ha_->accept_reverse_tunnelled(kCoa2, kHoa, Protection::kEspTunnel));
  EXPECT_EQ(ha_->counters().dropped_reverse_tunnel, 2u);
}

TEST_F(HomeAgentTest, PacketTooBigAboutTunnelRelayedToInnerSource_RFC2473_8) {
  register_home();
  auto inner = data_packet(addr("2001:db8:7::1"), kHoa);
  auto tunnelled = wire::encapsulate(inner, {kHa, kCoa, 64, 0, 0});
  wire::Icmpv6Message ptb;
  ptb.body = wire::PacketTooBig{1400, tunnelled};
  feed(build_icmpv6_packet({addr("2001:db8:5::1"), kHa, std::nullopt, std::nullopt, 64}, ptb));
  auto relayed = icmps(wire::PacketTooBig::kType);
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(std::get<wire::PacketTooBig>(relayed[0].body).mtu, 1360u);
  auto transmit = all<Transmit>().back();
  EXPECT_EQ(make_rx_packet(transmit.packet, 0)->layout.ipv6.destination, addr("2001:db8:7::1"));
  EXPECT_EQ(ha_->counters().icmp_errors_relayed, 1u);
}

TEST_F(HomeAgentTest, UnreachableAboutTunnelBecomesCode3_RFC2473_8) {
  register_home();
  auto inner = data_packet(addr("2001:db8:7::1"), kHoa);
  wire::Icmpv6Message error;
  error.code = 0;
  error.body = wire::DestinationUnreachable{0, wire::encapsulate(inner, {kHa, kCoa, 64, 0, 0})};
  feed(build_icmpv6_packet({addr("2001:db8:5::1"), kHa, std::nullopt, std::nullopt, 64}, error));
  auto relayed = icmps(wire::DestinationUnreachable::kType);
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0].code, 3);
}

TEST_F(HomeAgentTest, ErrorNotAboutOurTunnelIgnored_RFC2473_8) {
  auto inner = data_packet(addr("2001:db8:7::1"), kHoa);
  wire::Icmpv6Message error;
  error.body = wire::DestinationUnreachable{0, inner};
  feed(build_icmpv6_packet({addr("2001:db8:5::1"), kHa, std::nullopt, std::nullopt, 64}, error));
  EXPECT_TRUE(actions_.empty());
}

// --- §10.6 mobile prefix discovery ------------------------------------------------------------

wire::Bytes mps_packet(std::uint16_t identifier, const Ipv6Address& source = kCoa) {
  wire::Icmpv6Message message;
  message.body = wire::MobilePrefixSolicitation{identifier, 0, {}};
  return build_icmpv6_packet({source, kHa, kHoa, std::nullopt, 64}, message);
}

TEST_F(HomeAgentTest, MpsAnsweredWithMpaViaType2Header_10_6_1) {
  register_home();
  feed(mps_packet(0x1234));
  auto mpas = icmps(wire::MobilePrefixAdvertisement::kType);
  ASSERT_EQ(mpas.size(), 1u);
  const auto& mpa = std::get<wire::MobilePrefixAdvertisement>(mpas[0].body);
  EXPECT_EQ(mpa.identifier, 0x1234);
  ASSERT_EQ(mpa.options.size(), 1u);
  const auto& pio = std::get<wire::PrefixInformationOption>(mpa.options[0].body);
  EXPECT_EQ(pio.prefix, kPrefix);
  EXPECT_EQ(pio.prefix_length, 64);
  auto packet = *make_rx_packet(all<Transmit>().back().packet, 0);
  EXPECT_EQ(packet.layout.ipv6.destination, kCoa);
  EXPECT_EQ(packet.layout.ipv6.source, kHa);
  ASSERT_TRUE(packet.layout.type2_address.has_value());
  EXPECT_EQ(*packet.layout.type2_address, kHoa);
}

TEST_F(HomeAgentTest, AddressAddedOnHomeLinkBecomesOwn_10_6_2) {
  // Renumbering: the new-prefix address configured on the home interface is the agent's too.
  const Ipv6Address renumbered = addr("2001:db8:9::1");
  EXPECT_FALSE(ha_->is_own_address(renumbered));
  event(AddressAdded{kHomeIf + 1, renumbered, 64, std::nullopt, std::nullopt, false});
  EXPECT_FALSE(ha_->is_own_address(renumbered));  // another interface
  event(AddressAdded{kHomeIf, renumbered, 64, std::nullopt, std::nullopt, true});
  EXPECT_FALSE(ha_->is_own_address(renumbered));  // still tentative
  event(AddressAdded{kHomeIf, renumbered, 64, std::nullopt, std::nullopt, false});
  EXPECT_TRUE(ha_->is_own_address(renumbered));
  event(AddressRemoved{kHomeIf, renumbered});
  EXPECT_FALSE(ha_->is_own_address(renumbered));
  event(AddressRemoved{kHomeIf, kHa});  // the primary address stays
  EXPECT_TRUE(ha_->is_own_address(kHa));
}

TEST_F(HomeAgentTest, MpsWithoutBindingGetsBindingError1_10_6_1) {
  feed(mps_packet(1));
  auto errors = mhs(wire::kMhTypeBindingError);
  ASSERT_EQ(errors.size(), 1u);
  const auto& be = std::get<wire::BindingError>(errors[0].message);
  EXPECT_EQ(be.status, wire::kBeStatusUnknownBindingForHomeAddressDestinationOption);
  EXPECT_EQ(be.home_address, kHoa);
}

TEST_F(HomeAgentTest, PrefixChangeSendsUnsolicitedMpaWithRetries_10_6_2) {
  register_home();
  advance(5s);
  actions_.clear();
  event(PrefixUpdate{kHomeIf, kPrefix, 64, 7200s, 3600s});
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 1u);
  advance(kPrefixAdvTimeout);  // first retransmission after PREFIX_ADV_TIMEOUT
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 2u);
  advance(2 * kPrefixAdvTimeout - 1s);
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 2u) << "doubled timeout";
  advance(1s);
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 3u);
  advance(300s);
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(),
            static_cast<std::size_t>(1 + kPrefixAdvRetries));
  EXPECT_EQ(ha_->counters().mpa_retransmitted, static_cast<std::uint64_t>(kPrefixAdvRetries));
}

TEST_F(HomeAgentTest, MpsStopsUnsolicitedRetransmissions_10_6_2) {
  register_home();
  advance(5s);
  event(PrefixUpdate{kHomeIf, kPrefix, 64, 7200s, 3600s});
  advance(2s);
  feed(mps_packet(9));
  actions_.clear();
  advance(100s);
  EXPECT_TRUE(icmps(wire::MobilePrefixAdvertisement::kType).empty());
}

TEST_F(HomeAgentTest, AtMostOneMpaPerSecond_10_6_2) {
  register_home();
  feed(mps_packet(1));
  feed(mps_packet(2));
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 1u);
  advance(1s);
  auto mpas = icmps(wire::MobilePrefixAdvertisement::kType);
  ASSERT_EQ(mpas.size(), 2u) << "the second answer is delayed, not lost";
  EXPECT_EQ(std::get<wire::MobilePrefixAdvertisement>(mpas[1].body).identifier, 2);
}

TEST_F(HomeAgentTest, NewPrefixAdvertisedWithFullList_10_6_2) {
  register_home();
  advance(5s);
  actions_.clear();
  event(PrefixUpdate{kHomeIf, addr("2001:db8:11::"), 64, 7200s, 3600s});
  auto mpas = icmps(wire::MobilePrefixAdvertisement::kType);
  ASSERT_EQ(mpas.size(), 1u);
  const auto& mpa = std::get<wire::MobilePrefixAdvertisement>(mpas[0].body);
  ASSERT_EQ(mpa.options.size(), 2u);
  const auto& added = std::get<wire::PrefixInformationOption>(mpa.options[1].body);
  EXPECT_EQ(added.prefix, addr("2001:db8:11::"));
  EXPECT_EQ(added.valid_lifetime, 7200u);
  EXPECT_EQ(added.preferred_lifetime, 3600u);
  auto packet = *make_rx_packet(all<Transmit>().back().packet, 0);
  EXPECT_EQ(packet.layout.ipv6.destination, kCoa);
  EXPECT_EQ(*packet.layout.type2_address, kHoa);
}

TEST_F(HomeAgentTest, UnsolicitedMpaRespectsOnePerSecond_10_6_2) {
  register_home();
  feed(mps_packet(1));
  actions_.clear();
  event(PrefixUpdate{kHomeIf, kPrefix, 64, 7200s, 3600s});
  EXPECT_TRUE(icmps(wire::MobilePrefixAdvertisement::kType).empty());
  advance(1s);
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 1u);
  advance(kPrefixAdvTimeout);
  EXPECT_EQ(icmps(wire::MobilePrefixAdvertisement::kType).size(), 2u);
}

TEST_F(HomeAgentTest, RemovedPrefixEndsItsBindings_10_3_1) {
  register_home();
  event(PrefixUpdate{kHomeIf, kPrefix, 64, 0s, 0s});
  EXPECT_EQ(cache_->find(kHoa), nullptr);
  ASSERT_FALSE(all<TunnelRoute>().empty());
  EXPECT_EQ(all<TunnelRoute>().back().change, Change::kRemove);
  actions_.clear();
  send({.sequence = 9});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusNotHomeSubnet);
}

TEST_F(HomeAgentTest, PrefixUpdateOnOtherLinkIgnored_10_6_2) {
  register_home();
  event(PrefixUpdate{kHomeIf + 1, kPrefix, 64, 0s, 0s});
  EXPECT_NE(cache_->find(kHoa), nullptr);
  EXPECT_TRUE(actions_.empty());
}

// --- §9.5.5 Binding Refresh Request -----------------------------------------------------------

TEST_F(HomeAgentTest, BindingRefreshRequestBeforeExpiry_9_5_5) {
  auto config = base_config();
  config.refresh_request_lead = 30s;
  make(config);
  register_home();  // 420 s
  advance(389s);
  EXPECT_TRUE(mhs(wire::kMhTypeBindingRefreshRequest).empty());
  advance(1s);
  EXPECT_EQ(mhs(wire::kMhTypeBindingRefreshRequest).size(), 1u);
  auto packet = *make_rx_packet(all<Transmit>().back().packet, 0);
  EXPECT_EQ(packet.layout.ipv6.destination, kCoa);
  EXPECT_EQ(*packet.layout.type2_address, kHoa);
  advance(10s);
  EXPECT_EQ(ha_->counters().brr_sent, 1u);
}

TEST_F(HomeAgentTest, NoBindingRefreshRequestUnlessConfigured_9_5_5) {
  register_home();
  advance(500s);
  EXPECT_TRUE(mhs(wire::kMhTypeBindingRefreshRequest).empty());
}

// --- draft-04 §9.6 and SEEDS §3.2.10 ----------------------------------------------------------

TEST_F(HomeAgentTest, PreviousRouterForwardsFromOldCareOf_draft04_9_6) {
  auto config = base_config();
  config.home_agent = false;
  config.forward_from_previous_care_of = true;
  make(config);
  // The old care-of address (on this router's link) is the "home address".
  const Ipv6Address old_coa = addr("2001:db8:1::abcd");
  send({.home = old_coa, .care_of = kCoa2});
  event(DadResult{kHomeIf, old_coa, false});
  EXPECT_EQ(only_ba().ba.status, 0);
  auto tunnels = all<TunnelRoute>();
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].home_address, old_coa);
  EXPECT_EQ(tunnels[0].care_of_address, kCoa2);
  EXPECT_EQ(all<ProxyNeighbor>().size(), 1u);
}

TEST_F(HomeAgentTest, VirtualHomeLinkSkipsDadAndProxy_SEEDS_3_2_10) {
  auto config = base_config();
  config.virtual_home_link = true;
  make(config);
  send({.l = true});
  EXPECT_TRUE(all<StartDad>().empty());
  EXPECT_TRUE(all<ProxyNeighbor>().empty());
  EXPECT_TRUE(icmps(wire::NeighborAdvertisement::kType).empty());
  EXPECT_EQ(only_ba().ba.status, 0);
  EXPECT_EQ(all<TunnelRoute>().size(), 1u);
}

TEST_F(HomeAgentTest, VirtualHomeLinkFastDadRefusesHeldAddress_SEEDS_3_2_10) {
  auto config = base_config();
  config.virtual_home_link = true;
  config.prefixes.push_back(
      HomePrefix{addr("2001:db8:11::"), 64, std::nullopt, std::nullopt, true, true});
  make(config);
  send({.home = kHa});  // the home agent's own address
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  actions_.clear();
  send({.l = true});
  EXPECT_EQ(only_ba().ba.status, 0);
  actions_.clear();
  // Another home address with the same interface identifier: fe80::100 is already held.
  send({.l = true, .home = addr("2001:db8:11::100")});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusDuplicateAddressDetectionFailed);
  actions_.clear();
  send({.l = false, .home = addr("2001:db8:11::100")});
  EXPECT_EQ(only_ba().ba.status, 0) << "without L only the home address counts";
}

// --- malformed input --------------------------------------------------------------------------

TEST_F(HomeAgentTest, BadChecksumSilentlyDroppedAndCounted_9_2) {
  auto bytes = bu_packet({});
  bytes.back() ^= std::byte{0xff};
  feed(bytes);
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_bad_checksum, 1u);
}

TEST_F(HomeAgentTest, UnknownMhTypeGetsBindingError2_9_2) {
  auto bytes = bu_packet({});
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + 2] = std::byte{42};
  ASSERT_TRUE(wire::fill_upper_checksum(bytes));
  feed(bytes);
  auto errors = mhs(wire::kMhTypeBindingError);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(std::get<wire::BindingError>(errors[0].message).status,
            wire::kBeStatusUnrecognizedMhType);
  EXPECT_EQ(ha_->counters().dropped_unknown_mh_type, 1u);
}

TEST_F(HomeAgentTest, BadPayloadProtoGetsParameterProblem_9_2) {
  auto bytes = bu_packet({});
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset] = std::byte{6};
  ASSERT_TRUE(wire::fill_upper_checksum(bytes));
  feed(bytes);
  auto problems = icmps(wire::ParameterProblem::kType);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(std::get<wire::ParameterProblem>(problems[0].body).pointer, layout.upper_offset);
  EXPECT_EQ(ha_->counters().dropped_bad_mh_field, 1u);
}

TEST_F(HomeAgentTest, TruncatedOptionsCountedNotCrashing_9_2) {
  auto bytes = bu_packet({});
  auto layout = *wire::walk_chain(bytes);
  // The Alternate CoA option's length octet claims more than the MH holds.
  bytes[layout.upper_offset + 15] = std::byte{200};
  ASSERT_TRUE(wire::fill_upper_checksum(bytes));
  feed(bytes);
  EXPECT_EQ(ha_->counters().dropped_malformed, 1u);
}

TEST_F(HomeAgentTest, OtherMobilityMessagesCounted_10_3) {
  wire::MobilityHeader mh;
  mh.message = wire::BindingAcknowledgement{};
  feed(build_mobility_packet({kCoa, kHa, std::nullopt, std::nullopt, 64}, mh));
  EXPECT_TRUE(actions_.empty());
  EXPECT_EQ(ha_->counters().dropped_unexpected_mh, 1u);
}

TEST_F(HomeAgentTest, RandomBytesNeverCrash_9_2) {
  SplitMix64 noise(7);
  auto base = bu_packet({});
  for (int i = 0; i < 2000; ++i) {
    auto bytes = base;
    auto flips = 1 + noise.uniform(4);
    for (std::uint64_t f = 0; f < flips; ++f)
      bytes[wire::kIpv6HeaderSize + noise.uniform(bytes.size() - wire::kIpv6HeaderSize)] =
          static_cast<std::byte>(static_cast<std::uint8_t>(noise.next_u64()));
    (void)wire::fill_upper_checksum(bytes);
    auto packet = make_rx_packet(bytes, 1);
    if (packet) ha_->on_packet(*packet, now_);
    (void)ha_->take_actions();
  }
  SUCCEED();
}

// --- §15 flood resistance (issue 7) ---------------------------------------------------------

// 2001:db8:<net>::<n>: many distinct senders.
Ipv6Address numbered(std::uint16_t net, std::uint32_t n) {
  Ipv6Address address = addr("2001:db8::");
  address.bytes[4] = static_cast<std::uint8_t>(net >> 8);
  address.bytes[5] = static_cast<std::uint8_t>(net);
  for (std::size_t i = 0; i < 4; ++i)
    address.bytes[15 - i] = static_cast<std::uint8_t>(n >> (8 * i));
  return address;
}

// A home address off the home prefix: each such BU is answered 132 at once, no DAD, no state.
const Ipv6Address kOffLinkHome = addr("2001:db8:9::100");

wire::Bytes unknown_mh_type_packet(const Ipv6Address& care_of) {
  auto bytes = bu_packet({.care_of = care_of});
  auto layout = *wire::walk_chain(bytes);
  bytes[layout.upper_offset + 2] = std::byte{42};
  EXPECT_TRUE(wire::fill_upper_checksum(bytes));
  return bytes;
}

TEST_F(HomeAgentTest, BuFloodFromOneSourceDrops21stButSecondSourceServed_15) {
  register_home();  // BU 1 from kCoa
  for (std::uint16_t seq = 8; seq < 28; ++seq)
    send({.sequence = seq});  // BUs 2..21 from kCoa, all at one instant
  EXPECT_EQ(bas().size(), 19u);
  EXPECT_EQ(ha_->counters().bu_rate_limited, 1u);
  EXPECT_EQ(ha_->counters().bu_received, 21u);
  actions_.clear();
  // Another mobile node, from its own care-of address, is served at the same instant.
  const Ipv6Address other_home = addr("2001:db8:1::200");
  send({.home = other_home, .care_of = kCoa2});
  ASSERT_EQ(all<StartDad>().size(), 1u);
  event(DadResult{kHomeIf, other_home, false});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusAccepted);
  EXPECT_EQ(ha_->counters().bu_rate_limited, 1u);
  // Tokens come back with time (10 per second): the first source is served again.
  actions_.clear();
  now_ += 1s;
  send({.sequence = 28});
  EXPECT_EQ(only_ba().ba.sequence_number, 28);
}

TEST_F(HomeAgentTest, GlobalBuCapHoldsAgainst10kDistinctSources_15) {
  auto config = base_config();
  config.bu_rate_global = {1000.0, 1000.0};
  config.log_bindings = false;
  make(config);
  for (std::uint32_t n = 0; n < 10000; ++n)
    send({.home = kOffLinkHome, .care_of = numbered(2, n)});
  EXPECT_EQ(bas().size(), 1000u);
  EXPECT_EQ(ha_->counters().bu_rate_limited, 9000u);
  // Half a second later, half the global rate again.
  actions_.clear();
  now_ += 500ms;
  for (std::uint32_t n = 10000; n < 20000; ++n)
    send({.home = kOffLinkHome, .care_of = numbered(2, n)});
  EXPECT_EQ(bas().size(), 500u);
}

TEST_F(HomeAgentTest, RegisteredNodeRefreshesDuringFloodFromOtherSources_15) {
  auto config = base_config();
  config.log_bindings = false;
  make(config);
  register_home();
  // One source flooding, and 5,000 distinct (forged) sources: more than the per-source
  // limiter tracks, all within the global rate.
  const Ipv6Address flooder = addr("2001:db8:5::66");
  for (int i = 0; i < 3000; ++i)
    send({.home = kOffLinkHome, .care_of = flooder});
  for (std::uint32_t n = 0; n < 5000; ++n)
    send({.home = kOffLinkHome, .care_of = numbered(6, n)});
  EXPECT_EQ(ha_->counters().bu_rate_limited, 3000u - 20u);
  actions_.clear();
  send({.sequence = 8});
  auto ba = only_ba();
  EXPECT_EQ(ba.ba.status, wire::kBaStatusAccepted);
  EXPECT_EQ(ba.ba.sequence_number, 8);
  EXPECT_EQ(ba.destination, kCoa);
}

TEST_F(HomeAgentTest, UnprotectedForgeriesDoNotSpendTheNodesBudget_5_1_15) {
  auto config = base_config();
  config.require_protection = true;
  config.log_bindings = false;
  make(config);
  register_home();
  // Forged BUs from the node's own care-of address, without ESP: dropped before the limit.
  for (std::uint16_t seq = 100; seq < 200; ++seq)
    feed(bu_packet({.sequence = seq}), Protection::kNone);
  EXPECT_EQ(ha_->counters().dropped_unprotected, 100u);
  EXPECT_EQ(ha_->counters().bu_rate_limited, 0u);
  actions_.clear();
  send({.sequence = 8});
  EXPECT_EQ(only_ba().ba.status, wire::kBaStatusAccepted);
}

TEST_F(HomeAgentTest, BindingErrorsLimitedPerDestination_9_3_3) {
  for (int i = 0; i < 10; ++i)
    feed(unknown_mh_type_packet(kCoa));
  EXPECT_EQ(mhs(wire::kMhTypeBindingError).size(), 5u);  // the per-destination burst
  EXPECT_EQ(ha_->counters().rate_limited, 5u);
  actions_.clear();
  feed(unknown_mh_type_packet(kCoa2));  // another destination is still answered
  EXPECT_EQ(mhs(wire::kMhTypeBindingError).size(), 1u);
  EXPECT_EQ(ha_->counters().be_sent, 6u);
}

TEST_F(HomeAgentTest, ParameterProblemsLimitedPerDestination_RFC4443_2_4f) {
  auto bad_payload_proto = [](const Ipv6Address& care_of) {
    auto bytes = bu_packet({.care_of = care_of});
    auto layout = *wire::walk_chain(bytes);
    bytes[layout.upper_offset] = std::byte{6};
    EXPECT_TRUE(wire::fill_upper_checksum(bytes));
    return bytes;
  };
  // Binding Errors and ICMPv6 errors to one destination share its bucket.
  for (int i = 0; i < 3; ++i)
    feed(unknown_mh_type_packet(kCoa));
  for (int i = 0; i < 5; ++i)
    feed(bad_payload_proto(kCoa));
  EXPECT_EQ(mhs(wire::kMhTypeBindingError).size(), 3u);
  EXPECT_EQ(icmps(wire::ParameterProblem::kType).size(), 2u);
  feed(bad_payload_proto(kCoa2));
  EXPECT_EQ(icmps(wire::ParameterProblem::kType).size(), 3u);
}

TEST_F(HomeAgentTest, ErrorsGlobalCapHoldsAcrossDestinations_9_3_3) {
  for (std::uint32_t n = 0; n < 100; ++n)
    feed(unknown_mh_type_packet(numbered(2, n)));
  EXPECT_EQ(mhs(wire::kMhTypeBindingError).size(), 10u);  // the global burst
  EXPECT_EQ(ha_->counters().rate_limited, 90u);
}

TEST_F(HomeAgentTest, FloodCountersAreListed) {
  feed(unknown_mh_type_packet(kCoa));
  auto list = ha_->counters().list();
  EXPECT_NE(std::find_if(list.begin(), list.end(),
                         [](const auto& item) { return item.first == "bu_rate_limited"; }),
            list.end());
}

// --- counters and logs ------------------------------------------------------------------------

TEST_F(HomeAgentTest, LogLineNamesTheExchange) {
  register_home();
  send({.sequence = 8});
  auto logs = all<Log>();
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(logs.back().message,
            "BU from 2001:db8:1::100 CoA 2001:db8:2::100 seq 8 lifetime 420s -> BA status 0");
}

TEST_F(HomeAgentTest, LogLineForRejectionAndDad) {
  send({});
  ASSERT_FALSE(all<Log>().empty());
  EXPECT_EQ(all<Log>().back().message,
            "BU from 2001:db8:1::100 CoA 2001:db8:2::100 seq 7 lifetime 420s -> DAD");
  send({.sequence = 7});
  EXPECT_EQ(all<Log>().back().level, LogLevel::kWarn);
  EXPECT_EQ(all<Log>().back().message,
            "BU from 2001:db8:1::100 CoA 2001:db8:2::100 seq 7 lifetime 420s -> BA status 135");
}

TEST_F(HomeAgentTest, CountersListedByName) {
  register_home();
  auto list = ha_->counters().list();
  auto it = std::find_if(list.begin(), list.end(),
                         [](const auto& pair) { return pair.first == "registrations"; });
  ASSERT_NE(it, list.end());
  EXPECT_EQ(it->second, 1u);
  EXPECT_GE(list.size(), 40u);
}

TEST_F(HomeAgentTest, NextDeadlineCoversNeighborAdvertisements_10_4_1) {
  send({.lifetime = 1000});
  event(DadResult{kHomeIf, kHoa, false});
  ASSERT_TRUE(ha_->next_deadline().has_value());
  EXPECT_EQ(*ha_->next_deadline(), now_ + kRetransTimer);
}

// --- mipv6ctl flush --------------------------------------------------------------------------

TEST_F(HomeAgentTest, FlushEndsEveryHomeRegistrationAsIfExpired) {
  register_home({.l = true});
  const Ipv6Address other = addr("2001:db8:1::200");
  register_home({.home = other, .care_of = kCoa2});
  const Ipv6Address waiting = addr("2001:db8:1::300");
  send({.home = waiting});  // still in DAD: dropped without an answer
  actions_.clear();
  EXPECT_EQ(ha_->flush(now_), 2u);
  collect();
  auto proxies = all<ProxyNeighbor>();
  EXPECT_EQ(proxies.size(), 3u);  // both home addresses and kHoa's link-local one
  EXPECT_TRUE(std::all_of(proxies.begin(), proxies.end(),
                          [](const ProxyNeighbor& p) { return p.change == Change::kRemove; }));
  auto tunnels = all<TunnelRoute>();
  ASSERT_EQ(tunnels.size(), 2u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  EXPECT_EQ(tunnels[1].change, Change::kRemove);
  EXPECT_TRUE(bas().empty());
  EXPECT_EQ(cache_->size(), 0u);
  // Interception has stopped, and a late DadResult for the flushed DAD is ignored.
  wire::Bytes data =
      build_mobility_packet({kCoa, kHoa, std::nullopt, std::nullopt, 64}, wire::MobilityHeader{});
  EXPECT_EQ(ha_->decide_intercepted(*make_rx_packet(data, kHomeIf), now_).verdict,
            InterceptVerdict::kNotOurs);
  event(DadResult{kHomeIf, waiting, false});
  EXPECT_TRUE(bas().empty());
  // A new registration starts from scratch (DAD again), with any sequence number.
  send({.sequence = 1});
  EXPECT_EQ(all<StartDad>().size(), 1u);
}

TEST_F(HomeAgentTest, FlushWithNothingRegisteredReturnsZero) {
  EXPECT_EQ(ha_->flush(now_), 0u);
  collect();
  EXPECT_TRUE(all<ProxyNeighbor>().empty());
  EXPECT_TRUE(all<TunnelRoute>().empty());
}

}  // namespace
}  // namespace mipv6::core
