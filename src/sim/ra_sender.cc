#include "sim/ra_sender.h"

#include <algorithm>

#include "sim/node.h"

namespace mipv6::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kFastMinInterval{30};  // RFC 6275 §7.5
constexpr milliseconds kFastMaxInterval{70};  // RFC 6275 §7.5
constexpr seconds kMaxMaxInterval{1800};      // RFC 4861 §6.2.1
constexpr milliseconds kFastThreshold{200};   // RFC 6275 §7.5: add 20 ms below 200 ms
constexpr milliseconds kFastAllowance{20};
constexpr seconds kDefaultMinDelayBetweenRas{3};  // RFC 6275 §13

std::uint32_t to_ms(Duration d) {
  return static_cast<std::uint32_t>(std::chrono::duration_cast<milliseconds>(d).count());
}

}  // namespace

std::optional<std::string> validate_ra_config(const RaConfig& c) {
  if (c.max_interval < kFastMaxInterval || c.max_interval > kMaxMaxInterval) {
    return "MaxRtrAdvInterval must lie in [0.07 s, 1800 s] (RFC 4861 §6.2.1, RFC 6275 §7.5)";
  }
  if (c.min_interval < kFastMinInterval || c.min_interval * 4 > c.max_interval * 3) {
    return "MinRtrAdvInterval must lie in [0.03 s, 0.75 × MaxRtrAdvInterval] (§6.2.1, §7.5)";
  }
  if (c.home_agent_lifetime && *c.home_agent_lifetime == 0) {
    return "Home Agent Lifetime 0 MUST NOT be used (RFC 6275 §7.4)";
  }
  if (c.min_delay_between_ras && *c.min_delay_between_ras < kFastMinInterval) {
    return "MinDelayBetweenRAs must be at least 0.03 s (RFC 6275 §13)";
  }
  return std::nullopt;
}

RaSender::RaSender(Interface& iface, RaConfig config, std::uint64_t seed)
    : iface_(iface), config_(std::move(config)), rng_(seed) {}

RaSender::~RaSender() {
  iface_.node().scheduler().cancel(timer_);
}

std::uint16_t RaSender::router_lifetime() const {
  if (config_.default_lifetime) return *config_.default_lifetime;
  // RFC 4861 §6.2.1: 3 × MaxRtrAdvInterval; RFC 6275 §7.5: never below 1 s.
  const auto s = std::chrono::duration_cast<seconds>(config_.max_interval * 3).count();
  return static_cast<std::uint16_t>(std::clamp<std::int64_t>(s, 1, 9000));
}

Duration RaSender::min_delay_between_ras() const {
  if (config_.min_delay_between_ras) return *config_.min_delay_between_ras;
  // RFC 6275 §13: SHOULD equal MinRtrAdvInterval when that is below 3 s.
  return std::min<Duration>(kDefaultMinDelayBetweenRas, config_.min_interval);
}

wire::RouterAdvertisement RaSender::build() const {
  wire::RouterAdvertisement ra;
  ra.cur_hop_limit = config_.cur_hop_limit;
  ra.m = config_.managed;
  ra.o = config_.other;
  ra.h = config_.home_agent;  // RFC 6275 §7.1
  ra.router_lifetime = router_lifetime();
  ra.reachable_time = config_.reachable_time_ms;
  ra.retrans_timer = config_.retrans_timer_ms;
  // RFC 4861 §4.2 / RFC 6275 §7.5: the SLLAO; a home agent includes it in every RA.
  if (config_.source_lla || config_.home_agent) {
    ra.options.emplace_back(wire::SourceLinkLayerAddressOption{mac_bytes(iface_.mac())});
  }
  for (const RaPrefix& p : config_.prefixes) {
    wire::PrefixInformationOption pio;
    pio.prefix_length = p.prefix_len;
    pio.l = p.l;
    pio.a = p.a;
    pio.r = p.r;
    pio.valid_lifetime = p.valid_lifetime;
    pio.preferred_lifetime = p.preferred_lifetime;
    pio.prefix = p.prefix;
    // RFC 6275 §7.2: with R the Prefix field holds the router's full address in the prefix.
    if (p.r) {
      for (const InterfaceAddress& a : iface_.addresses()) {
        if (!a.address.is_link_local() && a.address.in_prefix(p.prefix, p.prefix_len)) {
          pio.prefix = a.address;
          break;
        }
      }
    }
    ra.options.emplace_back(pio);
  }
  if (config_.advertisement_interval_option) {
    // RFC 6275 §7.3: MaxRtrAdvInterval in ms; §7.5: plus 20 ms when below 200 ms.
    Duration advertised = config_.max_interval;
    if (advertised < kFastThreshold) advertised += kFastAllowance;
    ra.options.emplace_back(wire::AdvertisementIntervalOption{0, to_ms(advertised)});
  }
  // RFC 6275 §7.4: only with H, and omitted when both values are their defaults.
  const std::uint16_t ha_lifetime = config_.home_agent_lifetime.value_or(ra.router_lifetime);
  if (config_.home_agent &&
      (config_.home_agent_preference != 0 || ha_lifetime != ra.router_lifetime)) {
    ra.options.emplace_back(
        wire::HomeAgentInformationOption{0, config_.home_agent_preference, ha_lifetime});
  }
  return ra;
}

void RaSender::start() {
  initial_sent_ = 0;
  schedule_next(Duration{0});
}

void RaSender::stop() {
  iface_.node().scheduler().cancel(timer_);
  timer_ = {};
  next_at_.reset();
}

Duration RaSender::next_interval() {
  // RFC 4861 §6.2.4: uniformly distributed in [MinRtrAdvInterval, MaxRtrAdvInterval]; the
  // first MAX_INITIAL_RTR_ADVERTISEMENTS at most MAX_INITIAL_RTR_ADVERT_INTERVAL apart.
  const auto span =
      static_cast<std::uint64_t>((config_.max_interval - config_.min_interval).count());
  Duration d = config_.min_interval + Duration(static_cast<Duration::rep>(rng_.uniform(span + 1)));
  if (initial_sent_ < config_.max_initial_advertisements)
    d = std::min(d, config_.max_initial_interval);
  return d;
}

void RaSender::schedule_next(Duration delay) {
  Scheduler& s = iface_.node().scheduler();
  s.cancel(timer_);
  next_at_ = s.now() + delay;
  timer_ = s.schedule_in(delay, [this] { send_now(); });
}

void RaSender::send_now() {
  timer_ = {};
  auto source = iface_.nd() != nullptr ? iface_.nd()->source_address() : std::nullopt;
  if (!source) {
    for (const InterfaceAddress& a : iface_.addresses()) {
      if (a.address.is_link_local()) source = a.address;
    }
  }
  // RFC 4861 §6.1.2: an RA's source is the router's link-local address.
  if (source && source->is_link_local()) {
    iface_.send_frame(MacAddress::for_ipv6_multicast(kAllNodes),
                      build_nd_packet(*source, kAllNodes, build()));
    ++counters_.unsolicited;
    last_multicast_ = iface_.node().scheduler().now();
  }
  ++initial_sent_;
  schedule_next(next_interval());
}

void RaSender::on_router_solicitation(const NdInput& input) {
  ++counters_.rs_received;
  if (!next_at_) return;  // not advertising
  // RFC 4861 §6.2.6: learn the solicitor's link-layer address (STALE).
  if (const auto* rs = std::get_if<wire::RouterSolicitation>(&input.message.body)) {
    for (const wire::NdOption& o : rs->options) {
      const auto* sllao = std::get_if<wire::SourceLinkLayerAddressOption>(&o.body);
      if (sllao == nullptr || input.ip.source.is_unspecified() || iface_.nd() == nullptr) continue;
      if (auto mac = mac_from_option(sllao->link_layer_address))
        iface_.nd()->learn(input.ip.source, *mac);
    }
  }
  // §6.2.6: a random delay in [0, MAX_RA_DELAY_TIME]; the multicast answer keeps
  // MinDelayBetweenRAs after the previous one; an RA already due earlier answers instead.
  Scheduler& s = iface_.node().scheduler();
  const auto max_delay = static_cast<std::uint64_t>(config_.max_ra_delay.count());
  TimePoint at = s.now() + Duration(static_cast<Duration::rep>(rng_.uniform(max_delay + 1)));
  if (last_multicast_) at = std::max(at, *last_multicast_ + min_delay_between_ras());
  if (*next_at_ <= at) return;
  ++counters_.solicited;
  schedule_next(at - s.now());
}

}  // namespace mipv6::sim
