// Router Advertisements from a simulated router interface (RFC 4861 §6.2 with RFC 6275 §7):
// periodic unsolicited RAs at random intervals in [MinRtrAdvInterval, MaxRtrAdvInterval]
// (§6.2.4), answers to Router Solicitations after 0..MAX_RA_DELAY_TIME with
// MinDelayBetweenRAs between multicast RAs (§6.2.6, RFC 6275 §13), and the Mobile IPv6
// additions: the H flag (§7.1), R-bit prefixes holding the router's full address (§7.2), the
// Advertisement Interval option (§7.3) and the Home Agent Information option (§7.4), with the
// fast intervals RFC 6275 §7.5 allows (0.03 / 0.07 s).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "sim/neighbor_discovery.h"
#include "sim/scheduler.h"
#include "wire/address.h"
#include "wire/icmpv6.h"

namespace mipv6::sim {

class Interface;

struct RaPrefix {
  wire::Ipv6Address prefix;  // with r: replaced by the interface's address in the prefix
  std::uint8_t prefix_len = 64;
  bool l = true;                             // on-link (RFC 4861 §4.6.2)
  bool a = true;                             // autonomous address configuration
  bool r = false;                            // router address (RFC 6275 §7.2)
  std::uint32_t valid_lifetime = 86400;      // AdvValidLifetime (RFC 4861 §6.2.1)
  std::uint32_t preferred_lifetime = 14400;  // AdvPreferredLifetime
};

struct RaConfig {
  Duration min_interval = std::chrono::seconds(198);  // MinRtrAdvInterval (0.33 × Max)
  Duration max_interval = std::chrono::seconds(600);  // MaxRtrAdvInterval (§6.2.1)
  // AdvDefaultLifetime in seconds; default 3 × MaxRtrAdvInterval, at least 1 s (RFC 6275 §7.5).
  std::optional<std::uint16_t> default_lifetime;
  std::uint8_t cur_hop_limit = 64;
  bool managed = false;
  bool other = false;
  std::uint32_t reachable_time_ms = 0;  // 0: unspecified
  std::uint32_t retrans_timer_ms = 0;
  std::vector<RaPrefix> prefixes;
  bool home_agent = false;                           // H flag (RFC 6275 §7.1)
  std::uint16_t home_agent_preference = 0;           // §7.4; default 0
  std::optional<std::uint16_t> home_agent_lifetime;  // §7.4; default Router Lifetime
  bool advertisement_interval_option = false;        // §7.3
  bool source_lla = true;                            // SLLAO; always sent by a home agent (§7.5)
  // MinDelayBetweenRAs (RFC 6275 §13: default 3 s, and SHOULD equal MinRtrAdvInterval when
  // that is smaller): nullopt applies that rule.
  std::optional<Duration> min_delay_between_ras;
  unsigned max_initial_advertisements = 3;                   // MAX_INITIAL_RTR_ADVERTISEMENTS
  Duration max_initial_interval = std::chrono::seconds(16);  // MAX_INITIAL_RTR_ADVERT_INTERVAL
  Duration max_ra_delay = std::chrono::milliseconds(500);    // MAX_RA_DELAY_TIME (§10)
};

// What is wrong with `config` (RFC 4861 §6.2.1 bounds with RFC 6275 §7.5's lower minimums),
// or nullopt when it is acceptable.
std::optional<std::string> validate_ra_config(const RaConfig& config);

struct RaCounters {
  std::uint64_t unsolicited = 0;
  std::uint64_t solicited = 0;  // RAs scheduled early because of an RS
  std::uint64_t rs_received = 0;
  friend bool operator==(const RaCounters&, const RaCounters&) = default;
};

class RaSender {
 public:
  // `rng` draws the random intervals and RS delays (a seeded stream, sim/random.h).
  RaSender(Interface& iface, RaConfig config, std::uint64_t seed);
  ~RaSender();
  RaSender(const RaSender&) = delete;
  RaSender& operator=(const RaSender&) = delete;

  Interface& interface() const { return iface_; }
  const RaConfig& config() const { return config_; }
  const RaCounters& counters() const { return counters_; }

  // Replaces the advertised prefixes (renumbering); the next RA carries them.
  void set_prefixes(std::vector<RaPrefix> prefixes) { config_.prefixes = std::move(prefixes); }
  // Starts advertising: the first RA now (RFC 4861 §6.2.4), then at random intervals.
  void start();
  void stop();
  // A Router Solicitation arrived on the interface (already validated, §6.1.1).
  void on_router_solicitation(const NdInput& input);

  // The RA this interface sends now (also for tests and the pcap checks).
  wire::RouterAdvertisement build() const;
  std::uint16_t router_lifetime() const;
  Duration min_delay_between_ras() const;

 private:
  void send_now();
  void schedule_next(Duration delay);
  Duration next_interval();

  Interface& iface_;
  RaConfig config_;
  core::SplitMix64 rng_;
  RaCounters counters_;
  EventId timer_;
  std::optional<TimePoint> next_at_;
  std::optional<TimePoint> last_multicast_;
  unsigned initial_sent_ = 0;
};

}  // namespace mipv6::sim
