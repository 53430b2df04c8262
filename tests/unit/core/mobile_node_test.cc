#include "core/mobile_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/home_agent.h"
#include "test_shuttle.h"
#include "wire/chain.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

using shuttle::Sent;
using wire::Ipv6Address;

Ipv6Address addr(const char* text) {
  return *Ipv6Address::parse(text);
}

const Ipv6Address kHa = addr("2001:db8:1::1");
const Ipv6Address kHa2 = addr("2001:db8:1::2");
const Ipv6Address kHoa = addr("2001:db8:1::100");
const Ipv6Address kHoa2 = addr("2001:db8:5::100");
const Ipv6Address kHa5 = addr("2001:db8:5::1");
const Ipv6Address kCoa = addr("2001:db8:2::100");
const Ipv6Address kCoa2 = addr("2001:db8:3::100");
const Ipv6Address kStranger = addr("2001:db8:66::6");
const Ipv6Address kAllNodes = addr("ff02::1");
constexpr std::uint32_t kCoaIf = 3;
constexpr std::uint32_t kHomeIf = 2;
constexpr LinkLayerAddress kMnMac{0x02, 0, 0, 0, 0, 0x64};
constexpr LinkLayerAddress kHaMac{0x02, 0, 0, 0, 0, 0x01};
const TimePoint kT0 = TimePoint(1000s);

MobileNodeConfig config_for(std::vector<Ipv6Address> home_agents) {
  MobileNodeConfig config;
  config.home_addresses = {HomeAddressConfig{kHoa, 64, std::move(home_agents)}};
  return config;
}

struct BaSpec {
  std::uint16_t sequence = 0;
  std::uint8_t status = 0;
  std::uint16_t lifetime = 105;  // 420 s
  Ipv6Address source = kHa;
  Ipv6Address destination = kCoa;
  std::optional<Ipv6Address> type2 = kHoa;
  std::optional<std::uint16_t> refresh_advice;
};

wire::Bytes ba_packet(const BaSpec& spec) {
  wire::BindingAcknowledgement ba;
  ba.status = spec.status;
  ba.sequence_number = spec.sequence;
  ba.lifetime = spec.lifetime;
  wire::MobilityHeader mh;
  mh.message = ba;
  if (spec.refresh_advice) mh.options.push_back(wire::BindingRefreshAdvice{*spec.refresh_advice});
  return build_mobility_packet({spec.source, spec.destination, std::nullopt, spec.type2, 64}, mh);
}

wire::Bytes mh_packet(const wire::MobilityMessage& message, const Ipv6Address& source,
                      std::optional<Ipv6Address> type2 = kHoa) {
  wire::MobilityHeader mh;
  mh.message = message;
  return build_mobility_packet({source, kCoa, std::nullopt, type2, 64}, mh);
}

wire::Bytes icmp_packet(wire::Icmpv6Body body, const Ipv6Address& source,
                        const Ipv6Address& destination, std::optional<Ipv6Address> type2) {
  wire::Icmpv6Message message;
  message.body = std::move(body);
  return build_icmpv6_packet({source, destination, std::nullopt, type2, 64}, message);
}

wire::Bytes mpa_packet(std::uint16_t identifier, std::uint32_t valid_lifetime,
                       const Ipv6Address& source = kHa, std::optional<Ipv6Address> type2 = kHoa) {
  wire::MobilePrefixAdvertisement mpa;
  mpa.identifier = identifier;
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.a = true;
  pio.valid_lifetime = valid_lifetime;
  pio.preferred_lifetime = valid_lifetime;
  pio.prefix = addr("2001:db8:1::");
  mpa.options.push_back(wire::NdOption{pio});
  return icmp_packet(mpa, source, kCoa, type2);
}

// An MPA for the renumbered home link: the old prefix deprecated (preferred 0), a new one.
wire::Bytes renumbering_mpa(std::uint16_t identifier, const char* new_prefix, bool autonomous) {
  wire::MobilePrefixAdvertisement mpa;
  mpa.identifier = identifier;
  wire::PrefixInformationOption old_pio;
  old_pio.prefix_length = 64;
  old_pio.l = old_pio.a = true;
  old_pio.valid_lifetime = 3600;
  old_pio.preferred_lifetime = 0;
  old_pio.prefix = addr("2001:db8:1::");
  wire::PrefixInformationOption new_pio = old_pio;
  new_pio.a = autonomous;
  new_pio.preferred_lifetime = 3600;
  new_pio.prefix = addr(new_prefix);
  mpa.options = {wire::NdOption{old_pio}, wire::NdOption{new_pio}};
  return icmp_packet(mpa, kHa, kCoa, kHoa);
}

struct Timed {
  TimePoint at;
  Action action;
};

class MobileNodeTest : public ::testing::Test {
 protected:
  void make(MobileNodeConfig config, std::uint64_t seed = 1) {
    rng_ = std::make_unique<SplitMix64>(seed);
    mn_ = std::make_unique<MobileNode>(std::move(config), *rng_);
  }
  void SetUp() override { make(config_for({kHa})); }

  std::vector<Action> move_to(const Ipv6Address& coa,
                              std::optional<Duration> valid = std::nullopt) {
    mn_->set_primary_care_of(CareOf{coa, kCoaIf, valid}, now_);
    return mn_->take_actions();
  }
  std::vector<Action> feed(const wire::Bytes& bytes, Protection protection = Protection::kNone) {
    auto packet = make_rx_packet(bytes, kCoaIf);
    EXPECT_TRUE(packet.has_value());
    if (!packet) return {};
    packet->protection = protection;
    mn_->on_packet(*packet, now_);
    return mn_->take_actions();
  }
  // Runs every deadline up to `end`, as the data plane would.
  std::vector<Timed> run_until(TimePoint end) {
    std::vector<Timed> out;
    int rounds = 0;
    while (auto next = mn_->next_deadline()) {
      if (*next > end) break;
      EXPECT_LT(++rounds, 10000) << "deadline never cleared";
      if (rounds >= 10000) break;
      now_ = std::max(now_, *next);
      mn_->on_timeout(now_);
      for (auto& action : mn_->take_actions())
        out.push_back({now_, std::move(action)});
    }
    now_ = end;
    return out;
  }
  std::vector<Action> advance(Duration d) {
    std::vector<Action> out;
    for (auto& timed : run_until(now_ + d))
      out.push_back(std::move(timed.action));
    return out;
  }
  // Registers kHoa with kHa at kCoa: BU, accepted BA (420 s). Returns the BU's sequence.
  std::uint16_t register_home(std::optional<std::uint16_t> advice = std::nullopt) {
    auto bu = only_bu(move_to(kCoa));
    BaSpec ba;
    ba.sequence = bu.sequence_number;
    ba.refresh_advice = advice;
    feed(ba_packet(ba));
    EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistered);
    return bu.sequence_number;
  }

  static std::vector<Sent> bus(const std::vector<Action>& actions) {
    std::vector<Sent> out;
    for (auto& sent : shuttle::sent_packets(actions)) {
      if (sent.message<wire::BindingUpdate>()) out.push_back(std::move(sent));
    }
    return out;
  }
  static wire::BindingUpdate only_bu(const std::vector<Action>& actions) {
    auto sent = bus(actions);
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? wire::BindingUpdate{} : *sent.front().message<wire::BindingUpdate>();
  }
  template <class B>
  static std::vector<Sent> icmps(const std::vector<Action>& actions) {
    std::vector<Sent> out;
    for (auto& sent : shuttle::sent_packets(actions)) {
      if (sent.icmp_body<B>()) out.push_back(std::move(sent));
    }
    return out;
  }
  // The instants, relative to `start`, at which BUs were sent.
  static std::vector<Duration> bu_times(const std::vector<Timed>& timed, TimePoint start) {
    std::vector<Duration> out;
    for (const auto& t : timed) {
      if (const auto* transmit = std::get_if<Transmit>(&t.action)) {
        if (shuttle::decode_sent(*transmit).message<wire::BindingUpdate>())
          out.push_back(t.at - start);
      }
    }
    return out;
  }
  static std::vector<Action> actions_of(const std::vector<Timed>& timed) {
    std::vector<Action> out;
    for (const auto& t : timed)
      out.push_back(t.action);
    return out;
  }
  static bool has_log(const std::vector<Action>& actions, LogLevel level, const std::string& part) {
    for (const auto& log : shuttle::actions_of<Log>(actions)) {
      if (log.level == level && log.message.find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<SplitMix64> rng_;
  std::unique_ptr<MobileNode> mn_;
  TimePoint now_ = kT0;
};

// ---------------------------------------------------------------------------------------------
// Binding Update contents

TEST_F(MobileNodeTest, HomeRegistrationBindingUpdateFields_11_7_1) {
  auto actions = move_to(kCoa);
  auto sent = bus(actions);
  ASSERT_EQ(sent.size(), 1u);
  const auto& bu = *sent[0].message<wire::BindingUpdate>();
  EXPECT_TRUE(bu.a());
  EXPECT_TRUE(bu.h());
  EXPECT_FALSE(bu.l());
  EXPECT_FALSE(bu.k());
  EXPECT_EQ(bu.lifetime, 105);  // 420 s
  EXPECT_EQ(sent[0].layout.ipv6.source, kCoa);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_EQ(sent[0].layout.home_address, kHoa);
  EXPECT_FALSE(sent[0].layout.type2_address);
  EXPECT_TRUE(sent[0].checksum_valid);
  const auto* alternate = wire::find_option<wire::AlternateCareOfAddress>(*sent[0].mh);
  ASSERT_NE(alternate, nullptr);
  EXPECT_EQ(alternate->alternate_care_of_address, kCoa);
  auto transmits = shuttle::actions_of<Transmit>(actions);
  EXPECT_EQ(transmits[0].ifindex, kCoaIf);
  // §11.3.1 / §11.6.3: reverse tunnel from the home address through the home agent.
  auto tunnels = shuttle::actions_of<TunnelRoute>(actions);
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kAdd);
  EXPECT_EQ(tunnels[0].home_address, kHoa);
  EXPECT_EQ(tunnels[0].care_of_address, kCoa);
  EXPECT_EQ(tunnels[0].local_address, kHa);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
  EXPECT_EQ(shuttle::log_lines(actions).at(0),
            "BU to 2001:db8:1::1 HoA 2001:db8:1::100 CoA 2001:db8:2::100 seq " +
                std::to_string(bu.sequence_number) + " lifetime 420s");
}

TEST_F(MobileNodeTest, ProtectionPolicyAppliedToBindingUpdate_11_7_1) {
  auto config = config_for({kHa});
  config.protection = Protection::kEspTransport;
  make(config);
  auto transmits = shuttle::actions_of<Transmit>(move_to(kCoa));
  ASSERT_EQ(transmits.size(), 1u);
  EXPECT_EQ(transmits[0].protect, Protection::kEspTransport);
}

TEST_F(MobileNodeTest, LFlagWhenInterfaceIdentifiersMatch_11_7_1) {
  auto config = config_for({kHa});
  config.link_local_address = addr("fe80::100");
  make(config);
  EXPECT_TRUE(only_bu(move_to(kCoa)).l());
  config.link_local_address = addr("fe80::101");
  make(config);
  EXPECT_FALSE(only_bu(move_to(kCoa)).l());
}

TEST_F(MobileNodeTest, LifetimeNoLongerThanCareOfValidLifetime_11_7_1) {
  EXPECT_EQ(only_bu(move_to(kCoa, 101s)).lifetime, 25);  // 100 s, in 4 s units, rounded down
}

TEST_F(MobileNodeTest, LifetimeNoLongerThanConfigured_11_7_1) {
  auto config = config_for({kHa});
  config.registration_lifetime = 60s;
  make(config);
  EXPECT_EQ(only_bu(move_to(kCoa)).lifetime, 15);
}

// ---------------------------------------------------------------------------------------------
// Retransmission (§11.8)

TEST_F(MobileNodeTest, FirstRegistrationBacksOffFrom1500msTo32s_11_8) {
  auto first = only_bu(move_to(kCoa));
  TimePoint start = now_;
  auto timed = run_until(start + 200s);
  auto times = bu_times(timed, start);
  std::vector<Duration> expected_gaps{1500ms, 3s, 6s, 12s, 24s, 32s, 32s};
  ASSERT_GE(times.size(), expected_gaps.size());
  Duration previous{};
  for (std::size_t i = 0; i < expected_gaps.size(); ++i) {
    EXPECT_EQ(times[i] - previous, expected_gaps[i]) << "gap " << i;
    previous = times[i];
  }
  // With a single home agent it keeps trying at MAX_BINDACK_TIMEOUT.
  for (std::size_t i = expected_gaps.size(); i < times.size(); ++i)
    EXPECT_EQ(times[i] - times[i - 1], 32s);
  // Every retransmission carries a new, larger sequence number.
  auto sent = bus(actions_of(timed));
  std::uint16_t expected = first.sequence_number;
  for (const auto& s : sent)
    EXPECT_EQ(s.message<wire::BindingUpdate>()->sequence_number, ++expected);
}

TEST_F(MobileNodeTest, LaterRegistrationBacksOffFrom1s_11_8) {
  register_home();
  EXPECT_EQ(bus(move_to(kCoa2)).size(), 1u);
  EXPECT_EQ(bus(move_to(kCoa2)).size(), 0u);  // the same address again: nothing new
  TimePoint start = now_;
  auto times = bu_times(run_until(start + 70s), start);
  ASSERT_GE(times.size(), 6u);
  EXPECT_EQ(times[0], 1s);
  EXPECT_EQ(times[1], 3s);
  EXPECT_EQ(times[2], 7s);
  EXPECT_EQ(times[3], 15s);
  EXPECT_EQ(times[4], 31s);
  EXPECT_EQ(times[5], 63s);
}

TEST_F(MobileNodeTest, InitialBindackTimeoutFirstRegIsConfigurable_13) {
  auto config = config_for({kHa});
  config.initial_bindack_timeout_first_reg = 2500ms;
  make(config);
  move_to(kCoa);
  TimePoint start = now_;
  auto times = bu_times(run_until(start + 10s), start);
  ASSERT_GE(times.size(), 2u);
  EXPECT_EQ(times[0], 2500ms);
  EXPECT_EQ(times[1], 7500ms);
}

// ---------------------------------------------------------------------------------------------
// Binding Acknowledgement (§11.7.3)

TEST_F(MobileNodeTest, AcceptedBaStopsRetransmissionAndStoresLifetime_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  now_ += 500ms;
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.lifetime = 50;  // 200 s granted of 420 asked
  auto actions = feed(ba_packet(ba));
  EXPECT_EQ(shuttle::log_lines(actions).at(0), "BA from 2001:db8:1::1 status 0 lifetime 200s");
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistered);
  const auto* entry = mn_->binding_update_list().find(kHa, kHoa);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->expiry, kT0 + 200s);  // L_remain counted from the send
  EXPECT_EQ(entry->lifetime_granted, 200s);
  EXPECT_TRUE(entry->acknowledged);
  // No retransmission; the refresh comes at 90 % of the granted lifetime.
  auto times = bu_times(run_until(kT0 + 179s), kT0);
  EXPECT_TRUE(times.empty());
  times = bu_times(run_until(kT0 + 180500ms), kT0);
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], 180s);
  EXPECT_EQ(mn_->counters().registrations, 1u);
}

TEST_F(MobileNodeTest, BaWithWrongSequenceIgnored_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = static_cast<std::uint16_t>(bu.sequence_number + 1);
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
  EXPECT_EQ(mn_->counters().dropped_sequence, 1u);
  EXPECT_EQ(bu_times(run_until(now_ + 2s), now_).size(), 1u);  // still retransmitting
}

TEST_F(MobileNodeTest, BaWithoutType2RoutingHeaderIgnored_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.type2.reset();
  ba.destination = kHoa;  // as if delivered to the home address directly
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
  EXPECT_EQ(mn_->counters().dropped_no_type2, 1u);
}

TEST_F(MobileNodeTest, BaFromOtherNodeIgnored_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.source = kStranger;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
  EXPECT_EQ(mn_->counters().dropped_unknown_sender, 1u);
}

TEST_F(MobileNodeTest, UnprotectedBaIgnoredWhenPolicyRequiresProtection_11_7_3) {
  auto config = config_for({kHa});
  config.require_protected_replies = true;
  make(config);
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
  EXPECT_EQ(mn_->counters().dropped_unprotected, 1u);
  feed(ba_packet(ba), Protection::kEspTransport);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistered);
}

TEST_F(MobileNodeTest, Status135ResendsWithAcknowledgedSequencePlusOne_11_7_3) {
  only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = 40000;  // the home agent's last accepted number, not ours
  ba.status = wire::kBaStatusSequenceNumberOutOfWindow;
  ba.lifetime = 0;
  auto actions = feed(ba_packet(ba));
  EXPECT_EQ(only_bu(actions).sequence_number, 40001);
  EXPECT_EQ(mn_->counters().ba_rejected, 1u);
}

TEST_F(MobileNodeTest, Status134GivesUpHomeAddress_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.status = wire::kBaStatusDuplicateAddressDetectionFailed;
  auto actions = feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kFailed);
  EXPECT_TRUE(has_log(actions, LogLevel::kError, "giving up home address 2001:db8:1::100"));
  auto tunnels = shuttle::actions_of<TunnelRoute>(actions);
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  EXPECT_TRUE(bus(advance(100s)).empty());
  EXPECT_TRUE(bus(move_to(kCoa2)).empty());  // never again
}

TEST_F(MobileNodeTest, Status129TriesNextHomeAgent_11_7_3) {
  make(config_for({kHa, kHa2}));
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.status = wire::kBaStatusAdministrativelyProhibited;
  auto actions = feed(ba_packet(ba));
  auto sent = bus(actions);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa2);
  EXPECT_EQ(mn_->home_agent(kHoa), kHa2);
  EXPECT_EQ(mn_->counters().failovers, 1u);
  // The tunnel follows to the new home agent.
  auto tunnels = shuttle::actions_of<TunnelRoute>(actions);
  ASSERT_EQ(tunnels.size(), 2u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  EXPECT_EQ(tunnels[1].local_address, kHa2);
}

TEST_F(MobileNodeTest, Status133WithNoOtherHomeAgentTellsOperator_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.status = wire::kBaStatusNotHomeAgentForThisMobileNode;
  auto actions = feed(ba_packet(ba));
  EXPECT_TRUE(bus(actions).empty());
  EXPECT_TRUE(has_log(actions, LogLevel::kError, "no home agent accepted"));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kIdle);
  // The next move starts over with the first home agent.
  EXPECT_EQ(bus(move_to(kCoa2)).at(0).layout.ipv6.destination, kHa);
}

TEST_F(MobileNodeTest, UnansweredRegistrationFailsOverToNextHomeAgent_11_8) {
  make(config_for({kHa, kHa2}));
  move_to(kCoa);
  TimePoint start = now_;
  auto timed = run_until(start + 80s);
  std::vector<Duration> to_first, to_second;
  for (const auto& t : timed) {
    const auto* transmit = std::get_if<Transmit>(&t.action);
    if (!transmit) continue;
    auto sent = shuttle::decode_sent(*transmit);
    if (!sent.message<wire::BindingUpdate>()) continue;
    (sent.layout.ipv6.destination == kHa ? to_first : to_second).push_back(t.at - start);
  }
  // 1.5, 4.5, 10.5, 22.5, 46.5 (timeout now 32 s), then at 78.5 the next home agent.
  ASSERT_EQ(to_first.size(), 5u);
  EXPECT_EQ(to_first.back(), 46500ms);
  // A first registration with that one: InitialBindackTimeoutFirstReg again.
  EXPECT_EQ(to_second, (std::vector<Duration>{78500ms, 80s}));
  EXPECT_EQ(mn_->home_agent(kHoa), kHa2);
}

TEST_F(MobileNodeTest, RefreshAtBindingRefreshAdviceInterval_11_7_3) {
  register_home(10);  // 40 s
  TimePoint acked = now_;
  auto times = bu_times(run_until(acked + 40500ms), acked);
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], 40s);
}

TEST_F(MobileNodeTest, RefreshedRegistrationCountsAsRefresh_11_7_1) {
  register_home(10);
  auto sent = bus(advance(40s));
  ASSERT_EQ(sent.size(), 1u);
  BaSpec ba;
  ba.sequence = sent[0].message<wire::BindingUpdate>()->sequence_number;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->counters().registrations, 1u);
  EXPECT_EQ(mn_->counters().refreshes, 1u);
}

TEST_F(MobileNodeTest, LapsedRegistrationRegistersAgain_11_7_1) {
  auto config = config_for({kHa});
  config.refresh_fraction = 2.0;  // never refresh before expiry
  make(config);
  register_home();
  auto timed = run_until(kT0 + 421s);
  auto times = bu_times(timed, kT0);
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], 420s);
  EXPECT_TRUE(has_log(actions_of(timed), LogLevel::kWarn, "expired"));
}

// ---------------------------------------------------------------------------------------------
// Binding Refresh Request (§11.7.4) and Binding Error (§11.3.6)

TEST_F(MobileNodeTest, RefreshRequestFromHomeAgentAnsweredWithBu_11_7_4) {
  register_home();
  auto actions = feed(mh_packet(wire::BindingRefreshRequest{}, kHa));
  EXPECT_EQ(bus(actions).size(), 1u);
  EXPECT_EQ(mn_->counters().brr_received, 1u);
}

TEST_F(MobileNodeTest, RefreshRequestFromUnknownSenderIgnored_11_7_4) {
  register_home();
  EXPECT_TRUE(bus(feed(mh_packet(wire::BindingRefreshRequest{}, kStranger))).empty());
  EXPECT_EQ(mn_->counters().dropped_unknown_sender, 1u);
}

TEST_F(MobileNodeTest, BindingErrorStatus1FromHomeAgentReRegisters_11_3_6) {
  register_home();
  wire::BindingError be;
  be.status = wire::kBeStatusUnknownBindingForHomeAddressDestinationOption;
  be.home_address = kHoa;
  EXPECT_EQ(bus(feed(mh_packet(be, kHa, std::nullopt))).size(), 1u);
  // From anyone else: ignored.
  EXPECT_TRUE(bus(feed(mh_packet(be, kStranger, std::nullopt))).empty());
}

TEST_F(MobileNodeTest, BindingErrorStatus2WhileWaitingStopsBindingUpdates_11_3_6) {
  move_to(kCoa);
  wire::BindingError be;
  be.status = wire::kBeStatusUnrecognizedMhType;
  be.home_address = kHoa;
  auto actions = feed(mh_packet(be, kHa, std::nullopt));
  EXPECT_TRUE(has_log(actions, LogLevel::kWarn, "does not recognise"));
  const auto* entry = mn_->binding_update_list().find(kHa, kHoa);
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->do_not_send);
  EXPECT_EQ(entry->do_not_send_since, now_);
  EXPECT_TRUE(bus(advance(100s)).empty());
}

// ---------------------------------------------------------------------------------------------
// Rate limiting and sequence numbers

TEST_F(MobileNodeTest, NoMoreThanMaxUpdateRatePerSecond_11_8) {
  move_to(kCoa);
  now_ += 100ms;
  move_to(kCoa2);
  now_ += 100ms;
  move_to(kCoa);
  now_ += 100ms;
  auto actions = move_to(kCoa2);  // the fourth within a second
  EXPECT_TRUE(bus(actions).empty());
  EXPECT_EQ(mn_->counters().bu_rate_limited, 1u);
  EXPECT_EQ(mn_->next_deadline(), kT0 + 1s);
  auto timed = run_until(kT0 + 1s);
  auto sent = bus(actions_of(timed));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(timed.front().at, kT0 + 1s);
  EXPECT_EQ(sent[0].layout.ipv6.source, kCoa2);
}

TEST_F(MobileNodeTest, FirstSequenceNumberRandomAcrossSeeds_SEEDS_3_4) {
  std::set<std::uint16_t> firsts;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    make(config_for({kHa}), seed);
    firsts.insert(only_bu(move_to(kCoa)).sequence_number);
  }
  EXPECT_EQ(firsts.size(), 5u);
}

TEST_F(MobileNodeTest, SeveralHomeAddressesEachWithItsHomeAgent_SEEDS_3_2_9) {
  MobileNodeConfig config;
  config.home_addresses = {HomeAddressConfig{kHoa, 64, {kHa}},
                           HomeAddressConfig{kHoa2, 64, {kHa5}}};
  make(config);
  auto sent = bus(move_to(kCoa));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_EQ(sent[0].layout.home_address, kHoa);
  EXPECT_EQ(sent[1].layout.ipv6.destination, kHa5);
  EXPECT_EQ(sent[1].layout.home_address, kHoa2);
  // Each is acknowledged separately.
  BaSpec ba;
  ba.sequence = sent[1].message<wire::BindingUpdate>()->sequence_number;
  ba.source = kHa5;
  ba.type2 = kHoa2;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa2), HomeState::kRegistered);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistering);
}

TEST_F(MobileNodeTest, NoCareOfAddressRemovesTunnelAndStopsRetransmitting_11_3_1) {
  move_to(kCoa);
  mn_->set_primary_care_of(std::nullopt, now_);
  auto tunnels = shuttle::actions_of<TunnelRoute>(mn_->take_actions());
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  EXPECT_TRUE(bus(advance(100s)).empty());
}

// ---------------------------------------------------------------------------------------------
// Home agent discovery (§11.4.1)

TEST_F(MobileNodeTest, DhaadRequestTimingAndGiveUp_11_4_1) {
  make(config_for({}));
  auto actions = move_to(kCoa);
  auto requests = icmps<wire::HomeAgentAddressDiscoveryRequest>(actions);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].layout.ipv6.source, kCoa);
  EXPECT_EQ(requests[0].layout.ipv6.destination, addr("2001:db8:1:0:fdff:ffff:ffff:fffe"));
  EXPECT_TRUE(requests[0].checksum_valid);
  auto identifier = requests[0].icmp_body<wire::HomeAgentAddressDiscoveryRequest>()->identifier;
  EXPECT_EQ(mn_->state(kHoa), HomeState::kDiscovering);
  TimePoint start = now_;
  auto timed = run_until(start + 100s);
  std::vector<Duration> times;
  for (const auto& t : timed) {
    if (const auto* transmit = std::get_if<Transmit>(&t.action)) {
      auto sent = shuttle::decode_sent(*transmit);
      const auto* request = sent.icmp_body<wire::HomeAgentAddressDiscoveryRequest>();
      ASSERT_NE(request, nullptr);
      EXPECT_EQ(request->identifier, identifier);  // retransmissions keep it
      times.push_back(t.at - start);
    }
  }
  EXPECT_EQ(times, (std::vector<Duration>{3s, 9s, 21s}));
  EXPECT_TRUE(has_log(actions_of(timed), LogLevel::kError, "home agent discovery failed"));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kIdle);
  EXPECT_EQ(mn_->counters().dhaad_failed, 1u);
}

TEST_F(MobileNodeTest, DhaadReplyHomeAgentsTriedInOrder_11_4_1) {
  make(config_for({}));
  auto request = icmps<wire::HomeAgentAddressDiscoveryRequest>(move_to(kCoa)).at(0);
  auto identifier = request.icmp_body<wire::HomeAgentAddressDiscoveryRequest>()->identifier;
  wire::HomeAgentAddressDiscoveryReply reply;
  reply.identifier = static_cast<std::uint16_t>(identifier + 1);
  reply.home_agent_addresses = {kHa2, kHa};
  EXPECT_TRUE(bus(feed(icmp_packet(reply, kHa, kCoa, std::nullopt))).empty());  // wrong id
  reply.identifier = identifier;
  auto sent = bus(feed(icmp_packet(reply, kHa, kCoa, std::nullopt)));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa2);
  EXPECT_EQ(mn_->counters().dhaad_replies, 1u);
  // 131 from the first: the second in the reply's order.
  BaSpec ba;
  ba.sequence = sent[0].message<wire::BindingUpdate>()->sequence_number;
  ba.source = kHa2;
  ba.status = wire::kBaStatusHomeRegistrationNotSupported;
  auto next = bus(feed(ba_packet(ba)));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].layout.ipv6.destination, kHa);
  // No more DHAAD retransmissions once answered.
  EXPECT_TRUE(icmps<wire::HomeAgentAddressDiscoveryRequest>(advance(60s)).empty());
}

TEST_F(MobileNodeTest, DhaadWithValidRegistrationTriesCurrentHomeAgentFirst_11_4_1) {
  make(config_for({}));
  auto dhaad_id = [](const std::vector<Action>& actions) {
    auto requests = icmps<wire::HomeAgentAddressDiscoveryRequest>(actions);
    EXPECT_EQ(requests.size(), 1u);
    return requests.empty()
               ? std::uint16_t{0}
               : requests[0].icmp_body<wire::HomeAgentAddressDiscoveryRequest>()->identifier;
  };
  wire::HomeAgentAddressDiscoveryReply reply;
  reply.identifier = dhaad_id(move_to(kCoa));
  reply.home_agent_addresses = {kHa};
  BaSpec ba;
  ba.sequence = only_bu(feed(icmp_packet(reply, kHa, kCoa, std::nullopt))).sequence_number;
  feed(ba_packet(ba));
  ASSERT_EQ(mn_->state(kHoa), HomeState::kRegistered);
  // After a move the home agent refuses (129) and no other is known: discovery starts over
  // on the next move, while the registration with kHa is still valid.
  ba.sequence = only_bu(move_to(kCoa2)).sequence_number;
  ba.status = wire::kBaStatusAdministrativelyProhibited;
  ba.destination = kCoa2;
  feed(ba_packet(ba));
  reply.identifier = dhaad_id(move_to(kCoa));
  reply.home_agent_addresses = {kHa2, kHa};
  auto sent = bus(feed(icmp_packet(reply, kHa, kCoa, std::nullopt)));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
}

TEST(MobileNodeStates, NamesForLogs) {
  EXPECT_EQ(home_state_name(HomeState::kRegistered), "registered");
  EXPECT_EQ(home_state_name(HomeState::kFailed), "failed");
}

// ---------------------------------------------------------------------------------------------
// Mobile prefix discovery (§11.4.2, §11.4.3)

class PrefixDiscoveryTest : public MobileNodeTest {
 protected:
  // Registers with status 1 and returns the MPS identifier sent in answer.
  std::uint16_t register_with_status_1() {
    auto bu = only_bu(move_to(kCoa));
    BaSpec ba;
    ba.sequence = bu.sequence_number;
    ba.status = wire::kBaStatusAcceptedPrefixDiscoveryNecessary;
    ba.refresh_advice = 10;
    auto mps = icmps<wire::MobilePrefixSolicitation>(feed(ba_packet(ba)));
    EXPECT_EQ(mps.size(), 1u);
    return mps.empty() ? 0 : mps[0].icmp_body<wire::MobilePrefixSolicitation>()->identifier;
  }
};

TEST_F(PrefixDiscoveryTest, Status1SendsMobilePrefixSolicitation_11_7_3) {
  auto bu = only_bu(move_to(kCoa));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.status = wire::kBaStatusAcceptedPrefixDiscoveryNecessary;
  auto mps = icmps<wire::MobilePrefixSolicitation>(feed(ba_packet(ba)));
  ASSERT_EQ(mps.size(), 1u);
  EXPECT_EQ(mps[0].layout.ipv6.source, kCoa);
  EXPECT_EQ(mps[0].layout.ipv6.destination, kHa);
  EXPECT_EQ(mps[0].layout.home_address, kHoa);  // §11.4.2: Home Address option
  EXPECT_TRUE(mps[0].checksum_valid);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kRegistered);
}

TEST_F(PrefixDiscoveryTest, SolicitationRetransmittedFromInitialSolicitTimer_11_8) {
  register_with_status_1();
  TimePoint start = now_;
  std::vector<Duration> times;
  for (const auto& t : run_until(start + 30s)) {
    if (const auto* transmit = std::get_if<Transmit>(&t.action)) {
      if (shuttle::decode_sent(*transmit).icmp_body<wire::MobilePrefixSolicitation>())
        times.push_back(t.at - start);
    }
  }
  EXPECT_EQ(times, (std::vector<Duration>{3s, 9s, 21s}));
}

TEST_F(PrefixDiscoveryTest, NoReRegistrationUntilPrefixesKnown_11_7_3) {
  auto identifier = register_with_status_1();
  // The advice says refresh at 40 s, but the prefixes are not known yet.
  EXPECT_TRUE(bus(advance(50s)).empty());
  auto actions = feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
  EXPECT_EQ(bus(actions).size(), 1u);  // the deferred refresh
}

TEST_F(PrefixDiscoveryTest, SolicitedAdvertisementAccepted_11_4_3) {
  auto identifier = register_with_status_1();
  auto actions = feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
  EXPECT_TRUE(icmps<wire::MobilePrefixSolicitation>(advance(10s)).empty());  // stopped
}

TEST_F(PrefixDiscoveryTest, AdvertisementWithOtherIdentifierDiscardedAndSolicited_11_4_3) {
  auto identifier = register_with_status_1();
  auto actions = feed(mpa_packet(static_cast<std::uint16_t>(identifier + 1), 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 0u);
  EXPECT_EQ(mn_->counters().mpa_discarded, 1u);
  // The outstanding solicitation is sent again (same identifier).
  auto mps = icmps<wire::MobilePrefixSolicitation>(actions);
  ASSERT_EQ(mps.size(), 1u);
  EXPECT_EQ(mps[0].icmp_body<wire::MobilePrefixSolicitation>()->identifier, identifier);
  feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
}

TEST_F(PrefixDiscoveryTest, SecondAdvertisementForSameIdentifierIsUnsolicited_11_4_3) {
  auto identifier = register_with_status_1();
  feed(mpa_packet(identifier, 3600));
  auto actions = feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
  EXPECT_EQ(mn_->counters().mpa_discarded, 1u);
  // A new solicitation, with a new identifier; only an answer to it is accepted.
  auto mps = icmps<wire::MobilePrefixSolicitation>(actions);
  ASSERT_EQ(mps.size(), 1u);
  auto fresh = mps[0].icmp_body<wire::MobilePrefixSolicitation>()->identifier;
  EXPECT_NE(fresh, identifier);
  feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
  feed(mpa_packet(fresh, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 2u);
}

TEST_F(PrefixDiscoveryTest, AdvertisementWithoutType2OrFromOtherSourceSilentlyDiscarded_11_4_3) {
  auto identifier = register_with_status_1();
  auto no_rh2 = feed(mpa_packet(identifier, 3600, kHa, std::nullopt));
  auto stranger = feed(mpa_packet(identifier, 3600, kStranger));
  EXPECT_EQ(mn_->counters().mpa_accepted, 0u);
  EXPECT_EQ(mn_->counters().mpa_discarded, 2u);
  EXPECT_TRUE(icmps<wire::MobilePrefixSolicitation>(no_rh2).empty());
  EXPECT_TRUE(icmps<wire::MobilePrefixSolicitation>(stranger).empty());
  // The genuine one still counts as the first for its identifier.
  feed(mpa_packet(identifier, 3600));
  EXPECT_EQ(mn_->counters().mpa_accepted, 1u);
}

TEST_F(PrefixDiscoveryTest, ShrunkPrefixLifetimeReRegistersWithin_11_4_2) {
  auto identifier = register_with_status_1();
  auto actions = feed(mpa_packet(identifier, 100));  // below the 420 s binding
  auto bu = only_bu(actions);
  EXPECT_EQ(bu.lifetime, 25);  // 100 s
}

TEST_F(PrefixDiscoveryTest, SolicitationBeforeHomeAddressBecomesInvalid_11_4_2) {
  auto identifier = register_with_status_1();
  feed(mpa_packet(identifier, 3600));
  TimePoint accepted = now_;
  std::vector<Duration> times;
  for (const auto& t : run_until(accepted + 3600s)) {
    if (const auto* transmit = std::get_if<Transmit>(&t.action)) {
      if (shuttle::decode_sent(*transmit).icmp_body<wire::MobilePrefixSolicitation>()) {
        times.push_back(t.at - accepted);
        break;
      }
    }
  }
  ASSERT_EQ(times.size(), 1u);
  EXPECT_EQ(times[0], 3540s);  // 60 s before the end of the valid lifetime
}

TEST_F(PrefixDiscoveryTest, NewPrefixFormsHomeAddressAndRegistersIt_11_4_3) {
  auto identifier = register_with_status_1();
  auto actions = feed(renumbering_mpa(identifier, "2001:db8:9::", true));
  // Processed as a PIO in a home-link RA: same interface identifier on the new /64
  // (RFC 4862 §5.5.3), registered at once with the home agent that sent the MPA (§11.7.1).
  const Ipv6Address formed = addr("2001:db8:9::100");
  EXPECT_EQ(mn_->counters().home_addresses_formed, 1u);
  EXPECT_EQ(mn_->home_addresses(), (std::vector<Ipv6Address>{kHoa, formed}));
  auto sent = bus(actions);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.home_address, formed);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_TRUE(sent[0].message<wire::BindingUpdate>()->h());
}

TEST_F(PrefixDiscoveryTest, NonAutonomousOrKnownPrefixFormsNothing_11_4_3) {
  auto identifier = register_with_status_1();
  feed(renumbering_mpa(identifier, "2001:db8:9::", false));
  EXPECT_EQ(mn_->counters().home_addresses_formed, 0u);
  EXPECT_EQ(mn_->home_addresses().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Returning home (§11.5.5)

TEST_F(MobileNodeTest, DeregistrationFromHomeAddressThenNeighborAdvertisements_11_5_5) {
  register_home();
  now_ += 10s;
  HomeLink link{kHomeIf, kMnMac, kHaMac, std::nullopt, 64};
  mn_->returned_home(link, now_);
  auto actions = mn_->take_actions();
  auto tunnels = shuttle::actions_of<TunnelRoute>(actions);
  ASSERT_EQ(tunnels.size(), 1u);
  EXPECT_EQ(tunnels[0].change, Change::kRemove);
  auto sent = bus(actions);
  ASSERT_EQ(sent.size(), 1u);
  const auto& bu = *sent[0].message<wire::BindingUpdate>();
  EXPECT_TRUE(bu.a());
  EXPECT_TRUE(bu.h());
  EXPECT_EQ(bu.lifetime, 0);
  EXPECT_EQ(sent[0].layout.ipv6.source, kHoa);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_FALSE(sent[0].layout.home_address);  // no Home Address option
  auto transmit = shuttle::actions_of<Transmit>(actions).at(0);
  EXPECT_EQ(transmit.ifindex, kHomeIf);
  EXPECT_EQ(transmit.link_destination, kHaMac);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kDeregistering);
  // The BA comes straight to the home address.
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.lifetime = 0;
  ba.destination = kHoa;
  ba.type2.reset();
  auto after = feed(ba_packet(ba));
  EXPECT_EQ(mn_->state(kHoa), HomeState::kAtHome);
  EXPECT_EQ(mn_->binding_update_list().find(kHa, kHoa), nullptr);
  std::vector<Duration> na_times;
  TimePoint acked = now_;
  auto timed = run_until(acked + 10s);
  std::vector<Sent> nas = icmps<wire::NeighborAdvertisement>(after);
  for (const auto& t : timed) {
    if (const auto* tx = std::get_if<Transmit>(&t.action)) {
      auto s = shuttle::decode_sent(*tx);
      if (s.icmp_body<wire::NeighborAdvertisement>()) {
        nas.push_back(s);
        na_times.push_back(t.at - acked);
      }
    }
  }
  ASSERT_EQ(nas.size(), 3u);  // MAX_NEIGHBOR_ADVERTISEMENT
  EXPECT_EQ(na_times, (std::vector<Duration>{1s, 2s}));
  for (const auto& na_sent : nas) {
    const auto* na = na_sent.icmp_body<wire::NeighborAdvertisement>();
    EXPECT_TRUE(na->o);
    EXPECT_FALSE(na->s);
    EXPECT_FALSE(na->r);
    EXPECT_EQ(na->target_address, kHoa);
    EXPECT_EQ(na_sent.layout.ipv6.destination, kAllNodes);
    EXPECT_EQ(na_sent.layout.ipv6.hop_limit, 255);
    ASSERT_EQ(na->options.size(), 1u);
    const auto* tlla = std::get_if<wire::TargetLinkLayerAddressOption>(&na->options[0].body);
    ASSERT_NE(tlla, nullptr);
  }
  EXPECT_EQ(mn_->counters().deregistrations, 1u);
}

TEST_F(MobileNodeTest, DeregistrationRetransmittedFrom1s_11_8) {
  register_home();
  mn_->returned_home(HomeLink{kHomeIf, kMnMac, kHaMac, std::nullopt, 64}, now_);
  mn_->take_actions();
  TimePoint start = now_;
  auto times = bu_times(run_until(start + 8s), start);
  EXPECT_EQ(times, (std::vector<Duration>{1s, 3s, 7s}));
}

TEST_F(MobileNodeTest, CountersListedInOrder) {
  register_home();
  auto list = mn_->counters().list();
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list[0].first, "bu_sent");
  EXPECT_EQ(list[0].second, 1u);
  EXPECT_EQ(std::count_if(list.begin(), list.end(),
                          [](const auto& p) { return p.first == "registrations"; }),
            1);
}

// ---------------------------------------------------------------------------------------------
// End to end against the real home agent engine (§10.3, §11.7)

class EndToEndTest : public ::testing::Test {
 protected:
  EndToEndTest() : cache_(64), ha_(ha_config(), cache_, ha_rng_), mn_(config_for({kHa}), mn_rng_) {}

  static HomeAgentConfig ha_config() {
    HomeAgentConfig config;
    config.home_ifindex = kHomeIf;
    config.addresses = {kHa};
    config.link_local_address = addr("fe80::1");
    config.link_layer_address = kHaMac;
    config.prefixes = {
        HomePrefix{addr("2001:db8:1::"), 64, std::nullopt, std::nullopt, true, true}};
    config.max_lifetime = 3600s;
    config.refresh_fraction = 0.5;
    return config;
  }

  // Carries the mobile node's packets to the home agent and back until both are quiet; the
  // home agent's DAD succeeds. Returns every packet the mobile node sent.
  std::vector<Sent> shuttle_all() {
    std::vector<Sent> from_mn;
    for (int round = 0; round < 20; ++round) {
      bool moved = false;
      for (const auto& transmit : shuttle::actions_of<Transmit>(mn_.take_actions())) {
        from_mn.push_back(shuttle::decode_sent(transmit));
        if (from_mn.back().layout.ipv6.destination != kHa) continue;
        ha_.on_packet(shuttle::rx(transmit.packet, kHomeIf), now_);
        moved = true;
      }
      for (auto& action : ha_.take_actions()) {
        if (const auto* dad = std::get_if<StartDad>(&action)) {
          ha_.on_event(DadResult{dad->ifindex, dad->address, false}, now_);
          moved = true;
        } else if (const auto* transmit = std::get_if<Transmit>(&action)) {
          auto sent = shuttle::decode_sent(*transmit);
          const auto& destination = sent.layout.ipv6.destination;
          // Only what is addressed to the mobile node (not e.g. NAs on the home link).
          if (destination != kCoa && destination != kCoa2 && destination != kHoa) continue;
          mn_.on_packet(shuttle::rx(transmit->packet, kCoaIf), now_);
          moved = true;
        }
      }
      if (!moved) break;
    }
    return from_mn;
  }
  // Advances both engines to `end`, shuttling at each deadline.
  std::vector<Sent> advance_to(TimePoint end) {
    std::vector<Sent> out;
    for (int rounds = 0; rounds < 1000; ++rounds) {
      std::optional<TimePoint> next = mn_.next_deadline();
      auto ha_next = ha_.next_deadline();
      if (ha_next && (!next || *ha_next < *next)) next = ha_next;
      if (!next || *next > end) break;
      now_ = std::max(now_, *next);
      mn_.on_timeout(now_);
      ha_.on_timeout(now_);
      for (auto& sent : shuttle_all())
        out.push_back(std::move(sent));
    }
    now_ = end;
    return out;
  }

  BindingCache cache_;
  SplitMix64 ha_rng_{11};
  SplitMix64 mn_rng_{22};
  HomeAgent ha_;
  MobileNode mn_;
  TimePoint now_ = kT0;
};

TEST_F(EndToEndTest, RegistrationRefreshAndDeregistrationWithRealHomeAgent_11_7) {
  mn_.set_primary_care_of(CareOf{kCoa, kCoaIf, std::nullopt}, now_);
  auto sent = shuttle_all();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(mn_.state(kHoa), HomeState::kRegistered);
  ASSERT_NE(cache_.find(kHoa), nullptr);
  EXPECT_EQ(cache_.find(kHoa)->care_of_address, kCoa);
  EXPECT_EQ(ha_.counters().registrations, 1u);
  const auto* entry = mn_.binding_update_list().find(kHa, kHoa);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->lifetime_granted, 420s);
  // The home agent advises a refresh at half the lifetime (52 units = 208 s).
  TimePoint registered = now_;
  auto refresh = advance_to(registered + 300s);
  ASSERT_EQ(refresh.size(), 1u);
  EXPECT_EQ(ha_.counters().refreshes, 1u);
  EXPECT_EQ(mn_.counters().refreshes, 1u);
  EXPECT_EQ(mn_.binding_update_list().find(kHa, kHoa)->expiry, registered + 208s + 420s);
  // Moving keeps the binding at the home agent in step.
  now_ += 5s;
  mn_.set_primary_care_of(CareOf{kCoa2, kCoaIf, std::nullopt}, now_);
  auto moved = shuttle_all();
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(cache_.find(kHoa)->care_of_address, kCoa2);
  EXPECT_EQ(mn_.state(kHoa), HomeState::kRegistered);
  // Back at kCoa, then home.
  now_ += 5s;
  mn_.set_primary_care_of(CareOf{kCoa, kCoaIf, std::nullopt}, now_);
  shuttle_all();
  EXPECT_EQ(mn_.state(kHoa), HomeState::kRegistered);
  now_ += 5s;
  mn_.returned_home(HomeLink{kHomeIf, kMnMac, kHaMac, std::nullopt, 64}, now_);
  auto home = shuttle_all();
  EXPECT_EQ(mn_.state(kHoa), HomeState::kAtHome);
  EXPECT_EQ(ha_.counters().deregistrations, 1u);
  auto nas = std::count_if(home.begin(), home.end(), [](const Sent& s) {
    return s.icmp_body<wire::NeighborAdvertisement>() != nullptr;
  });
  EXPECT_EQ(nas, 1);  // the first; two more follow
  auto later = advance_to(now_ + 5s);
  EXPECT_EQ(later.size(), 2u);
  EXPECT_EQ(mn_.counters().na_sent, 3u);
}

// ---------------------------------------------------------------------------------------------
// Composition: movement detection and route optimisation inside the MobileNode

const Ipv6Address kMnLinkLocal = addr("fe80::64");
const Ipv6Address kRouterA = addr("fe80::a");
const Ipv6Address kRouterB = addr("fe80::b");
const Ipv6Address kHomeRouter = addr("fe80::1");
const Ipv6Address kCn = addr("2001:db8:c::c");

wire::Bytes ra_packet(const Ipv6Address& source, const char* prefix, bool home_agent = false,
                      std::optional<LinkLayerAddress> sllao = std::nullopt) {
  wire::RouterAdvertisement ra;
  ra.cur_hop_limit = 64;
  ra.h = home_agent;
  ra.router_lifetime = 1800;
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.a = true;
  pio.valid_lifetime = 2592000;
  pio.preferred_lifetime = 604800;
  pio.prefix = addr(prefix);
  ra.options.emplace_back(pio);
  if (sllao) {
    wire::SourceLinkLayerAddressOption option;
    for (auto octet : *sllao)
      option.link_layer_address.push_back(std::byte{octet});
    ra.options.emplace_back(option);
  }
  wire::Icmpv6Message message;
  message.body = ra;
  return build_icmpv6_packet({source, kAllNodes, std::nullopt, std::nullopt, 255}, message);
}

class CompositionTest : public MobileNodeTest {
 protected:
  void SetUp() override {
    auto config = config_for({kHa});
    config.link_local_address = kMnLinkLocal;
    config.link_layer_address = kMnMac;
    make(std::move(config));
  }
  std::vector<Action> event(const NodeEvent& e) {
    mn_->on_event(e, now_);
    return mn_->take_actions();
  }
  // Router A advertises 2001:db8:2::/64 and SLAAC gives kCoa: the node registers it.
  std::vector<Action> attach_to_a() {
    auto actions = feed(ra_packet(kRouterA, "2001:db8:2::"));
    for (auto& action : event(AddressAdded{kCoaIf, kCoa, 64, std::nullopt, std::nullopt, false}))
      actions.push_back(std::move(action));
    return actions;
  }
  void register_at_a() {
    auto bu = only_bu(attach_to_a());
    BaSpec ba;
    ba.sequence = bu.sequence_number;
    feed(ba_packet(ba));
    ASSERT_EQ(mn_->state(kHoa), HomeState::kRegistered);
  }
  static std::vector<Sent> icmp_of(const std::vector<Action>& actions, std::uint8_t type) {
    std::vector<Sent> out;
    for (auto& sent : shuttle::sent_packets(actions)) {
      if (sent.icmp && wire::icmpv6_type(*sent.icmp) == type) out.push_back(std::move(sent));
    }
    return out;
  }
};

TEST_F(CompositionTest, LinkUpSendsRouterSolicitationFromLinkLocal_RFC4861_6_3_7) {
  auto actions = event(LinkUp{kCoaIf});
  auto rs = icmp_of(actions, wire::RouterSolicitation::kType);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].layout.ipv6.source, kMnLinkLocal);
  EXPECT_EQ(rs[0].layout.ipv6.destination, addr("ff02::2"));
  EXPECT_EQ(rs[0].layout.ipv6.hop_limit, 255);
  EXPECT_TRUE(rs[0].checksum_valid);
  ASSERT_EQ(rs[0].icmp_body<wire::RouterSolicitation>()->options.size(), 1u);
  EXPECT_EQ(shuttle::actions_of<Transmit>(actions)[0].ifindex, kCoaIf);
  EXPECT_EQ(mn_->counters().rs_sent, 1u);
}

TEST_F(CompositionTest, EachRadioSolicitsWithItsOwnAddresses_RFC4861_4_1) {
  // Two radios: what goes out of the second carries its link-local address and its MAC.
  auto config = config_for({kHa});
  config.link_local_address = kMnLinkLocal;
  config.link_layer_address = kMnMac;
  const LinkLayerAddress second_mac{0x02, 0, 0, 0, 0, 0x22};
  config.interfaces = {{kCoaIf + 1, second_mac, addr("fe80::22")}};
  make(std::move(config));
  auto first = icmp_of(event(LinkUp{kCoaIf}), wire::RouterSolicitation::kType);
  auto second = icmp_of(event(LinkUp{kCoaIf + 1}), wire::RouterSolicitation::kType);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].layout.ipv6.source, kMnLinkLocal);
  EXPECT_EQ(second[0].layout.ipv6.source, addr("fe80::22"));
  const auto& option = second[0].icmp_body<wire::RouterSolicitation>()->options.at(0);
  const auto* sllao = std::get_if<wire::SourceLinkLayerAddressOption>(&option.body);
  ASSERT_NE(sllao, nullptr);
  EXPECT_EQ(std::to_integer<int>(sllao->link_layer_address.at(5)), 0x22);
}

TEST_F(CompositionTest, RouterSolicitationWithoutLinkLocalComesFromUnspecified_RFC4861_4_1) {
  make(config_for({kHa}));
  auto rs = icmp_of(event(LinkUp{kCoaIf}), wire::RouterSolicitation::kType);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(rs[0].layout.ipv6.source.is_unspecified());
  EXPECT_TRUE(rs[0].icmp_body<wire::RouterSolicitation>()->options.empty());  // no SLLAO
}

TEST_F(CompositionTest, SolicitationsRepeatOnTheDetectorsDeadline_RFC4861_6_3_7) {
  event(LinkUp{kCoaIf});
  ASSERT_TRUE(mn_->next_deadline().has_value());
  EXPECT_EQ(*mn_->next_deadline(), now_ + kRtrSolicitationInterval);
  auto again = advance(kRtrSolicitationInterval);
  EXPECT_EQ(icmp_of(again, wire::RouterSolicitation::kType).size(), 1u);
}

TEST_F(CompositionTest, AdvertisedPrefixAndCareOfAddressRegister_11_5_4) {
  auto sent = bus(attach_to_a());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.ipv6.source, kCoa);
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_TRUE(sent[0].message<wire::BindingUpdate>()->h());
  ASSERT_TRUE(mn_->primary_care_of().has_value());
  EXPECT_EQ(mn_->primary_care_of()->ifindex, kCoaIf);
}

TEST_F(CompositionTest, LinkUpProbesTheRouterWithUnicastNeighborSolicitation_11_5_1) {
  register_at_a();
  auto ns = icmp_of(event(LinkUp{kCoaIf}), wire::NeighborSolicitation::kType);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].layout.ipv6.destination, kRouterA);
  EXPECT_EQ(ns[0].layout.ipv6.source, kMnLinkLocal);
  EXPECT_EQ(ns[0].layout.ipv6.hop_limit, 255);
  EXPECT_EQ(ns[0].icmp_body<wire::NeighborSolicitation>()->target_address, kRouterA);
  EXPECT_EQ(mn_->counters().router_probes_sent, 1u);
}

TEST_F(CompositionTest, UnreachableRouterAndNewLinkRegisterTheNewCareOf_11_5_1) {
  register_at_a();
  event(NeighborReachability{kCoaIf, kRouterA, false});
  feed(ra_packet(kRouterB, "2001:db8:3::"));
  auto sent = bus(event(AddressAdded{kCoaIf, kCoa2, 64, std::nullopt, std::nullopt, false}));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].layout.ipv6.source, kCoa2);
}

TEST_F(CompositionTest, TunnelledRouterAdvertisementIsNotMovement_11_5_1) {
  register_at_a();
  event(NeighborReachability{kCoaIf, kRouterA, false});
  auto bytes = ra_packet(kHomeRouter, "2001:db8:1::", true, kHaMac);
  auto packet = make_rx_packet(bytes, kCoaIf);
  ASSERT_TRUE(packet.has_value());
  packet->tunnel = TunnelOuter{kHa, kCoa};
  mn_->on_packet(*packet, now_);
  EXPECT_TRUE(bus(mn_->take_actions()).empty());
  EXPECT_FALSE(mn_->movement().at_home());
  EXPECT_NE(mn_->state(kHoa), HomeState::kDeregistering);
}

TEST_F(CompositionTest, PrimaryCareOfRemovedTakesDownTheReverseTunnel_11_5_4) {
  register_at_a();
  auto routes = shuttle::actions_of<TunnelRoute>(event(AddressRemoved{kCoaIf, kCoa}));
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].change, Change::kRemove);
  EXPECT_FALSE(mn_->primary_care_of().has_value());
}

TEST_F(CompositionTest, HomeRouterThatIsTheHomeAgentGivesItsLinkLayerAddress_11_5_5) {
  register_at_a();
  event(NeighborReachability{kCoaIf, kRouterA, false});
  auto actions = feed(ra_packet(kHomeRouter, "2001:db8:1::", true, kHaMac));
  auto transmits = shuttle::actions_of<Transmit>(actions);
  auto sent = bus(actions);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message<wire::BindingUpdate>()->lifetime, 0);
  EXPECT_EQ(sent[0].layout.ipv6.source, kHoa);
  EXPECT_EQ(mn_->state(kHoa), HomeState::kDeregistering);
  EXPECT_EQ(mn_->counters().home_agent_solicitations, 0u);
  auto bu_transmit = std::find_if(transmits.begin(), transmits.end(),
                                  [&](const Transmit& t) { return t.packet == sent[0].bytes; });
  ASSERT_NE(bu_transmit, transmits.end());
  EXPECT_EQ(bu_transmit->link_destination, kHaMac);
}

TEST_F(CompositionTest, OtherHomeRouterMakesTheNodeSolicitTheHomeAgentFromUnspecified_11_5_5) {
  register_at_a();
  event(NeighborReachability{kCoaIf, kRouterA, false});
  auto actions = feed(ra_packet(kHomeRouter, "2001:db8:1::"));
  EXPECT_TRUE(bus(actions).empty());
  auto ns = icmp_of(actions, wire::NeighborSolicitation::kType);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_TRUE(ns[0].layout.ipv6.source.is_unspecified());
  EXPECT_EQ(ns[0].layout.ipv6.destination, addr("ff02::1:ff00:1"));  // solicited-node of kHa
  EXPECT_EQ(ns[0].layout.ipv6.hop_limit, 255);
  EXPECT_EQ(ns[0].icmp_body<wire::NeighborSolicitation>()->target_address, kHa);
  // The home agent answers to all-nodes (RFC 4861 §7.2.4) with its link-layer address.
  wire::NeighborAdvertisement na;
  na.o = true;
  na.target_address = kHa;
  wire::Bytes tlla;
  for (auto octet : kHaMac)
    tlla.push_back(std::byte{octet});
  na.options = {wire::NdOption{wire::TargetLinkLayerAddressOption{tlla}}};
  wire::Icmpv6Message message;
  message.body = na;
  auto reply =
      feed(build_icmpv6_packet({kHa, kAllNodes, std::nullopt, std::nullopt, 255}, message));
  auto transmits = shuttle::actions_of<Transmit>(reply);
  auto sent = bus(reply);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message<wire::BindingUpdate>()->lifetime, 0);
  auto bu_transmit = std::find_if(transmits.begin(), transmits.end(),
                                  [&](const Transmit& t) { return t.packet == sent[0].bytes; });
  ASSERT_NE(bu_transmit, transmits.end());
  EXPECT_EQ(bu_transmit->link_destination, kHaMac);
}

TEST_F(CompositionTest, UnansweredHomeAgentSolicitationsDeregisterAnyway_11_5_5) {
  register_at_a();
  event(NeighborReachability{kCoaIf, kRouterA, false});
  feed(ra_packet(kHomeRouter, "2001:db8:1::"));
  auto later = advance(MobileNode::kMaxResolveSolicitations * kRetransTimer);
  EXPECT_EQ(icmp_of(later, wire::NeighborSolicitation::kType).size(),
            static_cast<std::size_t>(MobileNode::kMaxResolveSolicitations - 1));
  EXPECT_EQ(mn_->counters().home_agent_solicitations,
            static_cast<std::uint64_t>(MobileNode::kMaxResolveSolicitations));
  auto sent = bus(later);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].message<wire::BindingUpdate>()->lifetime, 0);
}

TEST_F(CompositionTest, Type2HeaderNotNamingAHomeAddressIsDropped_11_3_3) {
  register_at_a();
  BaSpec ba;
  ba.type2 = kStranger;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->counters().dropped_bad_type2, 1u);
  EXPECT_EQ(mn_->counters().ba_received, 1u);  // only the registration's
}

TEST_F(CompositionTest, TunnelledPacketFromCorrespondentStartsReturnRoutability_11_7_2) {
  register_at_a();
  EXPECT_EQ(mn_->send_path(kHoa, kCn, now_).path, SendPath::kReverseTunnel);
  wire::Icmpv6Message message;
  message.body = wire::EchoRequest{};
  auto inner = build_icmpv6_packet({kCn, kHoa, std::nullopt, std::nullopt, 64}, message);
  auto packet = make_rx_packet(inner, kCoaIf);
  ASSERT_TRUE(packet.has_value());
  packet->tunnel = TunnelOuter{kHa, kCoa};
  mn_->on_packet(*packet, now_);
  auto sent = shuttle::sent_packets(mn_->take_actions());
  ASSERT_EQ(sent.size(), 2u);
  // §11.6.1: the HoTI through the reverse tunnel to the home agent, the CoTI directly.
  EXPECT_EQ(sent[0].layout.ipv6.destination, kHa);
  EXPECT_EQ(sent[0].layout.upper_protocol, wire::ip_proto::kIpv6);
  EXPECT_NE(sent[1].message<wire::CareOfTestInit>(), nullptr);
  EXPECT_EQ(sent[1].layout.ipv6.source, kCoa);
  ASSERT_NE(mn_->route_optimization().find(kCn, kHoa), nullptr);
}

TEST_F(CompositionTest, CorrespondentsLearnANewCareOfOnlyAfterTheHomeAck_11_7_2) {
  register_at_a();
  // Registered at the new care-of address but not acknowledged yet: route optimisation does
  // not use it (correspondent registrations come after the home BA).
  event(NeighborReachability{kCoaIf, kRouterA, false});
  feed(ra_packet(kRouterB, "2001:db8:3::"));
  auto bu = only_bu(event(AddressAdded{kCoaIf, kCoa2, 64, std::nullopt, std::nullopt, false}));
  EXPECT_NE(mn_->send_path(kHoa, kCn, now_).care_of_address, kCoa2);
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.destination = kCoa2;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->send_path(kHoa, kCn, now_).care_of_address, kCoa2);
}

// ---------------------------------------------------------------------------------------------
// Answering Neighbor Solicitations for the home address (§11.5.5, RFC 4861 §7.2.4)

// What a node of the home link (the home agent resolving us for its BA, or any neighbour)
// sends: from `source` (unspecified for DAD) to the target's solicited-node group.
wire::Bytes ns_packet(const Ipv6Address& source, const Ipv6Address& target,
                      std::optional<LinkLayerAddress> sllao, std::uint8_t hop_limit = 255) {
  wire::NeighborSolicitation ns;
  ns.target_address = target;
  if (sllao) {
    wire::SourceLinkLayerAddressOption option;
    for (auto octet : *sllao)
      option.link_layer_address.push_back(std::byte{octet});
    ns.options.emplace_back(option);
  }
  Ipv6Address group = addr("ff02::1:ff00:0");
  std::copy(target.bytes.begin() + 13, target.bytes.end(), group.bytes.begin() + 13);
  wire::Icmpv6Message message;
  message.body = ns;
  return build_icmpv6_packet({source, group, std::nullopt, std::nullopt, hop_limit}, message);
}

class NeighborSolicitationTest : public MobileNodeTest {
 protected:
  std::vector<Action> feed_home(const wire::Bytes& bytes) {
    auto packet = make_rx_packet(bytes, kHomeIf);
    EXPECT_TRUE(packet.has_value());
    if (!packet) return {};
    mn_->on_packet(*packet, now_);
    return mn_->take_actions();
  }
  // Registered away, then back home: the de-registration BU is outstanding.
  std::vector<Action> return_home() {
    register_home();
    now_ += 10s;
    mn_->returned_home(HomeLink{kHomeIf, kMnMac, kHaMac, std::nullopt, 64}, now_);
    return mn_->take_actions();
  }
  static wire::NeighborAdvertisement only_na(const std::vector<Action>& actions,
                                             Sent* sent = nullptr, Transmit* transmit = nullptr) {
    auto transmits = shuttle::actions_of<Transmit>(actions);
    EXPECT_EQ(transmits.size(), 1u);
    if (transmits.empty()) return {};
    auto decoded = shuttle::decode_sent(transmits[0]);
    if (sent) *sent = decoded;
    if (transmit) *transmit = transmits[0];
    const auto* na = decoded.icmp_body<wire::NeighborAdvertisement>();
    EXPECT_NE(na, nullptr);
    return na ? *na : wire::NeighborAdvertisement{};
  }
};

TEST_F(NeighborSolicitationTest, HomeAgentSolicitationAnsweredWithUnicastNa_11_5_5) {
  auto returning = return_home();
  // §11.5.5 step 4: no DAD on the home address while the binding is alive.
  EXPECT_TRUE(shuttle::actions_of<StartDad>(returning).empty());
  ASSERT_EQ(mn_->state(kHoa), HomeState::kDeregistering);
  Sent sent;
  Transmit transmit;
  auto na = only_na(feed_home(ns_packet(kHa, kHoa, kHaMac)), &sent, &transmit);
  EXPECT_TRUE(na.s);
  EXPECT_TRUE(na.o);
  EXPECT_FALSE(na.r);
  EXPECT_EQ(na.target_address, kHoa);
  EXPECT_EQ(sent.layout.ipv6.source, kHoa);
  EXPECT_EQ(sent.layout.ipv6.destination, kHa);  // unicast to the solicitor
  EXPECT_EQ(sent.layout.ipv6.hop_limit, 255);
  EXPECT_TRUE(sent.checksum_valid);
  EXPECT_EQ(transmit.ifindex, kHomeIf);
  EXPECT_EQ(transmit.link_destination, kHaMac);  // the sender's link-layer address
  ASSERT_EQ(na.options.size(), 1u);
  const auto* tlla = std::get_if<wire::TargetLinkLayerAddressOption>(&na.options[0].body);
  ASSERT_NE(tlla, nullptr);
  EXPECT_EQ(tlla->link_layer_address, (wire::Bytes{std::byte{2}, std::byte{0}, std::byte{0},
                                                   std::byte{0}, std::byte{0}, std::byte{0x64}}));
  EXPECT_EQ(mn_->counters().ns_answered, 1u);
}

TEST_F(NeighborSolicitationTest, DerivedLinkLocalAnsweredWhenLWasSet_11_5_5) {
  auto config = config_for({kHa});
  config.link_local_address = addr("fe80::100");  // same interface identifier as kHoa
  make(std::move(config));
  return_home();
  auto na = only_na(feed_home(ns_packet(addr("fe80::1"), addr("fe80::100"), kHaMac)));
  EXPECT_EQ(na.target_address, addr("fe80::100"));
  EXPECT_TRUE(na.s);
}

TEST_F(NeighborSolicitationTest, LinkLocalNotAnsweredWithoutL_11_5_5) {
  return_home();
  EXPECT_TRUE(feed_home(ns_packet(addr("fe80::1"), addr("fe80::100"), kHaMac)).empty());
}

TEST_F(NeighborSolicitationTest, NotAnsweredWhileAwayTheHomeAgentDefends_11_5_5) {
  register_home();
  EXPECT_TRUE(feed_home(ns_packet(kHa, kHoa, kHaMac)).empty());
  EXPECT_EQ(mn_->counters().ns_answered, 0u);
}

TEST_F(NeighborSolicitationTest, AtHomeAnswersNeighboursNormally_RFC4861_7_2_4) {
  auto returning = return_home();
  BaSpec ba;
  ba.sequence = bus(returning).at(0).message<wire::BindingUpdate>()->sequence_number;
  ba.lifetime = 0;
  ba.destination = kHoa;
  ba.type2.reset();
  feed(ba_packet(ba));
  ASSERT_EQ(mn_->state(kHoa), HomeState::kAtHome);
  const Ipv6Address neighbour = addr("2001:db8:1::77");
  Sent sent;
  auto na =
      only_na(feed_home(ns_packet(neighbour, kHoa, LinkLayerAddress{2, 0, 0, 0, 0, 0x77})), &sent);
  EXPECT_TRUE(na.s);
  EXPECT_TRUE(na.o);
  EXPECT_EQ(sent.layout.ipv6.destination, neighbour);
}

TEST_F(NeighborSolicitationTest, DadProbeForHomeAddressAnsweredToAllNodes_RFC4861_7_2_4) {
  return_home();
  Sent sent;
  Transmit transmit;
  auto na = only_na(feed_home(ns_packet(Ipv6Address{}, kHoa, std::nullopt)), &sent, &transmit);
  EXPECT_FALSE(na.s);
  EXPECT_TRUE(na.o);
  EXPECT_EQ(sent.layout.ipv6.destination, kAllNodes);
  EXPECT_FALSE(transmit.link_destination.has_value());
}

TEST_F(NeighborSolicitationTest, SolicitationNotFromOurLinkIgnored_RFC4861_7_1_1) {
  return_home();
  EXPECT_TRUE(feed_home(ns_packet(kHa, kHoa, kHaMac, 254)).empty());
  // From the unspecified address with an SLLAO: invalid.
  EXPECT_TRUE(feed_home(ns_packet(Ipv6Address{}, kHoa, kHaMac)).empty());
  EXPECT_EQ(mn_->counters().ns_answered, 0u);
}

// ---------------------------------------------------------------------------------------------
// Source address selection (SEEDS §3.2.6, draft-04 §9.1)

const Ipv6Address kResolver = addr("2001:db8:2::53");

class SourceSelectionTest : public MobileNodeTest {
 protected:
  void SetUp() override {
    auto config = config_for({kHa});
    // DNS (udp/53) to the visited network's resolver is short-lived.
    config.source_selection.care_of_rules = {SourceRule{addr("2001:db8:2::"), 64, 17, 53}};
    make(std::move(config));
  }
};

TEST_F(SourceSelectionTest, HomeAddressIsTheDefault_SEEDS_3_2_6) {
  register_home();
  EXPECT_EQ(mn_->select_source(kCn, 6, 80), kHoa);
}

TEST_F(SourceSelectionTest, ConfiguredShortLivedTrafficUsesCareOf_draft04_9_1) {
  register_home();
  EXPECT_EQ(mn_->select_source(kResolver, 17, 53), kCoa);
  EXPECT_EQ(mn_->select_source(kResolver, 6, 53), kHoa) << "protocol must match";
  EXPECT_EQ(mn_->select_source(kResolver, 17, 5353), kHoa) << "port must match";
  EXPECT_EQ(mn_->select_source(kCn, 17, 53), kHoa) << "destination must match";
}

TEST_F(SourceSelectionTest, WithoutCareOfTheHomeAddress_draft04_9_1) {
  EXPECT_EQ(mn_->select_source(kResolver, 17, 53), kHoa);
}

TEST_F(SourceSelectionTest, AtHomeTheHomeAddress_draft04_9_1) {
  register_home();
  mn_->returned_home(HomeLink{kHomeIf, kMnMac, kHaMac, std::nullopt, 64}, now_);
  EXPECT_EQ(mn_->select_source(kResolver, 17, 53), kHoa);
}

// ---------------------------------------------------------------------------------------------
// Multicast (draft-04 §10, §11.3.4)

const Ipv6Address kGroup = addr("ff0e::1234");
const Ipv6Address kLocalGroup = addr("ff05::99");

// An MLD Query (RFC 2710 §3) from the home agent, as it arrives through the tunnel.
RxPacket tunnelled_mld(const wire::Bytes& inner, const Ipv6Address& outer_source) {
  auto packet = make_rx_packet(inner, kCoaIf);
  EXPECT_TRUE(packet.has_value());
  packet->tunnel = TunnelOuter{outer_source, kCoa};
  return *packet;
}

wire::Bytes mld_query(std::uint8_t type = 130) {
  wire::PacketSpec spec;
  spec.header.source = addr("fe80::1");
  spec.header.destination = kAllNodes;
  spec.header.hop_limit = 1;
  spec.upper_protocol = wire::kIcmpv6NextHeader;
  spec.upper = wire::Bytes(24, std::byte{0});
  spec.upper[0] = std::byte{type};
  return wire::build_packet(spec);
}

class MulticastTest : public MobileNodeTest {
 protected:
  void SetUp() override {
    auto config = config_for({kHa});
    config.multicast.default_mode = MulticastMode::kHomeTunnel;
    config.multicast.rules = {MulticastRule{addr("ff05::"), 16, MulticastMode::kLocal}};
    make(std::move(config));
  }
};

TEST_F(MulticastTest, LocalMembershipUsesTheCareOfAddress_11_3_4) {
  register_home();
  auto path = mn_->multicast_path(kLocalGroup);
  EXPECT_EQ(path.kind, MulticastPath::Kind::kLocal);
  EXPECT_EQ(path.source, kCoa);
  EXPECT_EQ(path.ifindex, kCoaIf);
}

TEST_F(MulticastTest, TunnelMembershipNotBeforeABinding_draft04_10) {
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);  // no care-of
  move_to(kCoa);
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);  // no binding
  // Even an MLD message through the tunnel does not count before the binding exists.
  auto bytes = mld_query();
  mn_->on_packet(tunnelled_mld(bytes, kHa), now_);
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);
}

TEST_F(MulticastTest, TunnelMembershipOnceTheHomeAgentSentMld_draft04_10) {
  register_home();
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);
  auto bytes = mld_query();
  mn_->on_packet(tunnelled_mld(bytes, kStranger), now_);  // not our home agent
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);
  mn_->on_packet(tunnelled_mld(bytes, kHa), now_);
  auto path = mn_->multicast_path(kGroup);
  EXPECT_EQ(path.kind, MulticastPath::Kind::kHomeTunnel);
  EXPECT_EQ(path.source, kHoa);  // inner source
  EXPECT_EQ(path.care_of_address, kCoa);
  EXPECT_EQ(path.home_agent, kHa);
}

TEST_F(MulticastTest, NonMldThroughTunnelDoesNotEnableIt_draft04_10) {
  register_home();
  auto bytes = mld_query(128);  // an Echo Request, not MLD
  mn_->on_packet(tunnelled_mld(bytes, kHa), now_);
  EXPECT_EQ(mn_->multicast_path(kGroup).kind, MulticastPath::Kind::kNotYet);
}

TEST_F(MulticastTest, AtHomeJoinedLocallyWithTheHomeAddress_draft04_10) {
  register_home();
  mn_->returned_home(HomeLink{kHomeIf, kMnMac, kHaMac, std::nullopt, 64}, now_);
  auto path = mn_->multicast_path(kGroup);
  EXPECT_EQ(path.kind, MulticastPath::Kind::kLocal);
  EXPECT_EQ(path.source, kHoa);
  EXPECT_EQ(path.ifindex, kHomeIf);
}

// ---------------------------------------------------------------------------------------------
// Forwarding from the previous care-of address (draft-04 §9.6)

const Ipv6Address kRouterAGlobal = addr("2001:db8:2::1");

MobileNodeConfig forwarding_config() {
  auto config = config_for({kHa});
  config.forward_from_previous_care_of = true;
  config.forwarding_agents = {ForwardingAgent{addr("2001:db8:2::"), 64, kRouterAGlobal}};
  return config;
}

std::vector<Sent> bus_to(const std::vector<Action>& actions, const Ipv6Address& destination) {
  std::vector<Sent> out;
  for (auto& sent : shuttle::sent_packets(actions)) {
    if (sent.message<wire::BindingUpdate>() && sent.layout.ipv6.destination == destination)
      out.push_back(std::move(sent));
  }
  return out;
}

TEST_F(MobileNodeTest, AfterMovingPreviousCareOfRegisteredWithItsRouter_draft04_9_6) {
  make(forwarding_config());
  register_home();
  now_ += 30s;
  auto actions = move_to(kCoa2);
  ASSERT_EQ(bus_to(actions, kHa).size(), 1u);
  auto forwarding = bus_to(actions, kRouterAGlobal);
  ASSERT_EQ(forwarding.size(), 1u);
  const auto& bu = *forwarding[0].message<wire::BindingUpdate>();
  EXPECT_TRUE(bu.a());
  EXPECT_TRUE(bu.h());
  EXPECT_EQ(bu.lifetime, 5);  // 20 s, the configured short lifetime
  EXPECT_EQ(forwarding[0].layout.ipv6.source, kCoa2);
  EXPECT_EQ(forwarding[0].layout.home_address, kCoa);  // "home address" = the old CoA
  const auto* alternate = wire::find_option<wire::AlternateCareOfAddress>(*forwarding[0].mh);
  ASSERT_NE(alternate, nullptr);
  EXPECT_EQ(alternate->alternate_care_of_address, kCoa2);
  ASSERT_EQ(mn_->forwardings().size(), 1u);
  EXPECT_EQ(mn_->forwardings()[0].state, ForwardingState::kRegistering);
  // The router's BA, to the new care-of address with the old one in its Type 2 header.
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.lifetime = 5;
  ba.source = kRouterAGlobal;
  ba.destination = kCoa2;
  ba.type2 = kCoa;
  feed(ba_packet(ba));
  EXPECT_EQ(mn_->forwardings()[0].state, ForwardingState::kRegistered);
  EXPECT_EQ(mn_->counters().forwarding_accepted, 1u);
  EXPECT_EQ(mn_->counters().dropped_bad_type2, 0u);
  // The forwarding ends with its lifetime; no refresh.
  auto later = advance(25s);
  EXPECT_TRUE(bus_to(later, kRouterAGlobal).empty());
  EXPECT_TRUE(mn_->forwardings().empty());
  EXPECT_EQ(mn_->binding_update_list().find(kRouterAGlobal, kCoa), nullptr);
}

TEST_F(MobileNodeTest, LiveForwardingFollowsToTheNewestCareOf_draft04_9_6) {
  make(forwarding_config());
  register_home();
  move_to(kCoa2);
  now_ += 2s;
  const Ipv6Address coa3 = addr("2001:db8:4::100");
  auto actions = move_to(coa3);
  // kCoa2's link has no agent: only the forwarding of kCoa is re-pointed at coa3.
  auto forwarding = bus_to(actions, kRouterAGlobal);
  ASSERT_EQ(forwarding.size(), 1u);
  EXPECT_EQ(forwarding[0].layout.home_address, kCoa);
  EXPECT_EQ(forwarding[0].layout.ipv6.source, coa3);
  EXPECT_EQ(forwarding[0].message<wire::BindingUpdate>()->lifetime, 4);  // 18 s left
  ASSERT_EQ(mn_->forwardings().size(), 1u);
  EXPECT_EQ(mn_->forwardings()[0].care_of, coa3);
}

TEST_F(MobileNodeTest, NoForwardingUnlessConfigured_draft04_9_6) {
  auto config = forwarding_config();
  config.forward_from_previous_care_of = false;
  make(std::move(config));
  register_home();
  EXPECT_TRUE(bus_to(move_to(kCoa2), kRouterAGlobal).empty());
  EXPECT_TRUE(mn_->forwardings().empty());
}

TEST_F(MobileNodeTest, NoForwardingWithoutAnAgentForThePreviousLink_draft04_9_6) {
  auto config = forwarding_config();
  config.forwarding_agents.clear();
  make(std::move(config));
  register_home();
  EXPECT_EQ(bus(move_to(kCoa2)).size(), 1u);  // only the home registration
  EXPECT_TRUE(mn_->forwardings().empty());
}

TEST_F(MobileNodeTest, ForwardingBuRetransmittedOnlyWithinItsLifetime_draft04_9_6) {
  make(forwarding_config());
  register_home();
  move_to(kCoa2);
  TimePoint start = now_;
  std::vector<Duration> times;
  for (const auto& t : run_until(start + 30s)) {
    if (const auto* tx = std::get_if<Transmit>(&t.action)) {
      auto sent = shuttle::decode_sent(*tx);
      if (sent.message<wire::BindingUpdate>() && sent.layout.ipv6.destination == kRouterAGlobal)
        times.push_back(t.at - start);
    }
  }
  // 1.5 s first (the router runs DAD), then doubling; 10.5 + 12 would pass the 20 s lifetime.
  EXPECT_EQ(times, (std::vector<Duration>{1500ms, 4500ms, 10500ms}));
  EXPECT_TRUE(mn_->forwardings().empty());
}

TEST_F(MobileNodeTest, ForwardingRefusedIsLoggedAndNotRetried_draft04_9_6) {
  make(forwarding_config());
  register_home();
  auto bu = *bus_to(move_to(kCoa2), kRouterAGlobal).at(0).message<wire::BindingUpdate>();
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  ba.status = wire::kBaStatusHomeRegistrationNotSupported;
  ba.source = kRouterAGlobal;
  ba.destination = kCoa2;
  ba.type2 = kCoa;
  auto actions = feed(ba_packet(ba));
  EXPECT_TRUE(has_log(actions, LogLevel::kWarn, "refused to forward"));
  EXPECT_EQ(mn_->forwardings().at(0).state, ForwardingState::kRejected);
  EXPECT_TRUE(bus_to(advance(10s), kRouterAGlobal).empty());
}

TEST_F(CompositionTest, ForwardingAgentLearnedFromRouterAdvertisement_draft04_9_6) {
  auto config = forwarding_config();
  config.forwarding_agents.clear();
  config.link_local_address = kMnLinkLocal;
  make(std::move(config));
  // Router A: H bit, and its global address in an R-bit Prefix Information option (§7.2).
  wire::RouterAdvertisement ra;
  ra.h = true;
  ra.router_lifetime = 1800;
  wire::PrefixInformationOption pio;
  pio.prefix_length = 64;
  pio.l = true;
  pio.a = true;
  pio.r = true;
  pio.valid_lifetime = 2592000;
  pio.preferred_lifetime = 604800;
  pio.prefix = kRouterAGlobal;
  ra.options.emplace_back(pio);
  wire::Icmpv6Message message;
  message.body = ra;
  feed(build_icmpv6_packet({kRouterA, kAllNodes, std::nullopt, std::nullopt, 255}, message));
  auto bu = only_bu(event(AddressAdded{kCoaIf, kCoa, 64, std::nullopt, std::nullopt, false}));
  BaSpec ba;
  ba.sequence = bu.sequence_number;
  feed(ba_packet(ba));
  // Moving to router B's link: the previous router is asked to forward.
  event(NeighborReachability{kCoaIf, kRouterA, false});
  feed(ra_packet(kRouterB, "2001:db8:3::"));
  auto actions = event(AddressAdded{kCoaIf, kCoa2, 64, std::nullopt, std::nullopt, false});
  auto forwarding = bus_to(actions, kRouterAGlobal);
  ASSERT_EQ(forwarding.size(), 1u);
  EXPECT_EQ(forwarding[0].layout.home_address, kCoa);
}

TEST_F(EndToEndTest, PreviousRouterTunnelsPacketsInFlightToTheNewCareOf_draft04_9_6) {
  // Router A of the previous link, acting as a temporary home agent for its prefix.
  HomeAgentConfig router_config;
  router_config.home_agent = false;
  router_config.forward_from_previous_care_of = true;
  router_config.home_ifindex = kCoaIf;
  router_config.addresses = {kRouterAGlobal};
  router_config.link_local_address = kRouterA;
  router_config.prefixes = {
      HomePrefix{addr("2001:db8:2::"), 64, std::nullopt, std::nullopt, true, true}};
  BindingCache router_cache(8);
  SplitMix64 router_rng(33);
  HomeAgent router(router_config, router_cache, router_rng);
  SplitMix64 rng(44);
  MobileNode mn(forwarding_config(), rng);
  mn.set_primary_care_of(CareOf{kCoa, kCoaIf, std::nullopt}, now_);
  mn.take_actions();
  mn.set_primary_care_of(CareOf{kCoa2, kCoaIf, std::nullopt}, now_);
  std::optional<Sent> ack;
  for (const auto& transmit : shuttle::actions_of<Transmit>(mn.take_actions())) {
    if (shuttle::decode_sent(transmit).layout.ipv6.destination != kRouterAGlobal) continue;
    router.on_packet(shuttle::rx(transmit.packet, kCoaIf), now_);
  }
  for (auto& action : router.take_actions()) {
    if (const auto* dad = std::get_if<StartDad>(&action)) {
      EXPECT_EQ(dad->address, kCoa);
      router.on_event(DadResult{dad->ifindex, dad->address, false}, now_);
    }
  }
  for (const auto& transmit : shuttle::actions_of<Transmit>(router.take_actions())) {
    auto sent = shuttle::decode_sent(transmit);
    if (sent.message<wire::BindingAcknowledgement>()) ack = sent;
    mn.on_packet(shuttle::rx(transmit.packet, kCoaIf), now_);
  }
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->message<wire::BindingAcknowledgement>()->status, 0);
  EXPECT_EQ(ack->layout.ipv6.destination, kCoa2);
  ASSERT_EQ(mn.forwardings().size(), 1u);
  EXPECT_EQ(mn.forwardings()[0].state, ForwardingState::kRegistered);
  // A packet still in flight to the old care-of address is tunnelled to the new one.
  wire::PacketSpec data;
  data.header.source = kCn;
  data.header.destination = kCoa;
  data.upper_protocol = 17;
  data.upper = wire::Bytes(8, std::byte{0});
  data.compute_checksum = false;
  auto bytes = wire::build_packet(data);
  auto decision = router.decide_intercepted(*make_rx_packet(bytes, kCoaIf), now_);
  EXPECT_EQ(decision.verdict, InterceptVerdict::kTunnel);
  ASSERT_EQ(decision.targets.size(), 1u);
  EXPECT_EQ(decision.targets[0].care_of_address, kCoa2);
  EXPECT_EQ(decision.targets[0].local_address, kRouterAGlobal);
}

}  // namespace
}  // namespace mipv6::core
