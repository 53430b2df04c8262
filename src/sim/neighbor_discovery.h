// Neighbor Discovery for simulated interfaces (RFC 4861): address resolution by Neighbor
// Solicitation / Advertisement (§7.2), the neighbour cache with its INCOMPLETE / REACHABLE /
// STALE / DELAY / PROBE states (§7.3.2, Appendix C), Neighbor Unreachability Detection with
// unicast probes (§7.3), packets queued while resolution is in progress, and proxy answers for
// addresses another node owns (RFC 4861 §7.2.8; what a home agent does, RFC 6275 §10.4.1).
//
// Every packet is built with src/wire and carried by the interface's link. An interface with
// ND enabled resolves unicast next hops here instead of through the link's static table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/time.h"
#include "sim/mac.h"
#include "sim/scheduler.h"
#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

namespace mipv6::sim {

class Interface;

// RFC 4861 §10 protocol constants and host variables, as used here.
struct NdConfig {
  Duration retrans_timer = std::chrono::seconds(1);      // RetransTimer (RETRANS_TIMER)
  Duration reachable_time = std::chrono::seconds(30);    // ReachableTime (REACHABLE_TIME);
                                                         // not randomised, for exact timings
  Duration delay_first_probe = std::chrono::seconds(5);  // DELAY_FIRST_PROBE_TIME
  unsigned max_multicast_solicit = 3;                    // MAX_MULTICAST_SOLICIT
  unsigned max_unicast_solicit = 3;                      // MAX_UNICAST_SOLICIT
  std::size_t queue_limit = 3;  // packets held per INCOMPLETE entry (§7.2.2: "small queue")
  bool is_router = false;       // the R flag of our advertisements (§4.4)
};

enum class NeighborState : std::uint8_t { kIncomplete, kReachable, kStale, kDelay, kProbe };
enum class NudResult : std::uint8_t { kReachable, kUnreachable };

struct NdCounters {
  std::uint64_t ns_sent = 0;
  std::uint64_t na_sent = 0;
  std::uint64_t ns_received = 0;
  std::uint64_t na_received = 0;
  std::uint64_t invalid_received = 0;  // failed the §7.1 validity checks
  std::uint64_t queue_dropped = 0;     // queue full (§7.2.2) or resolution failed
  friend bool operator==(const NdCounters&, const NdCounters&) = default;
};

// RFC 4291 §2.7.1: ff02::1:ffXX:XXXX from the low 24 bits of `address`.
wire::Ipv6Address solicited_node_multicast(const wire::Ipv6Address& address);
inline const wire::Ipv6Address kAllNodes{
    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};  // RFC 4291 §2.7.1
inline const wire::Ipv6Address kAllRouters{
    {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}};
// The Ethernet link-layer address as ND options carry it (RFC 4861 §4.6.1, RFC 2464 §8).
wire::Bytes mac_bytes(const MacAddress& mac);
std::optional<MacAddress> mac_from_option(const wire::Bytes& data);

// An ND message that passed RFC 4861's validity checks (§6.1, §7.1): Hop Limit 255, ICMP code
// 0, a correct checksum, the ICMPv6 message decodable.
struct NdInput {
  wire::Ipv6Header ip;
  wire::Icmpv6Message message;
};
// Decodes `packet` as an ND/RA/RS message; nullopt when it is not one or fails validation.
std::optional<NdInput> parse_nd(wire::ByteSpan packet);
// A whole packet carrying `message` (Hop Limit 255, RFC 4861 §7.1), checksum filled in.
wire::Bytes build_nd_packet(const wire::Ipv6Address& source, const wire::Ipv6Address& destination,
                            wire::Icmpv6Body body);

class NeighborDiscovery {
 public:
  using NudCallback = std::function<void(const wire::Ipv6Address&, NudResult)>;
  // Answers NS for a target when this returns true (our own usable addresses).
  using OwnsTarget = std::function<bool(const wire::Ipv6Address&)>;
  // A queued packet dropped because resolution failed (RFC 4861 §7.2.2: its sender gets an
  // ICMPv6 Destination Unreachable, code 3, from whoever owns the packet's path).
  using DropCallback = std::function<void(const wire::Bytes&)>;

  NeighborDiscovery(Interface& iface, NdConfig config);
  ~NeighborDiscovery();
  NeighborDiscovery(const NeighborDiscovery&) = delete;
  NeighborDiscovery& operator=(const NeighborDiscovery&) = delete;

  const NdConfig& config() const { return config_; }
  const NdCounters& counters() const { return counters_; }
  void set_nud_callback(NudCallback cb) { nud_callback_ = std::move(cb); }
  void set_drop_callback(DropCallback cb) { drop_callback_ = std::move(cb); }
  // By default a target is ours when the interface holds it (Interface::has_address).
  void set_owns_target(OwnsTarget f) { owns_target_ = std::move(f); }

  // Sends `packet` to the unicast `next_hop`: at once when its link-layer address is known,
  // else queued while resolution runs (§7.2.2). False when the packet was dropped.
  bool send(const wire::Ipv6Address& next_hop, wire::Bytes packet);
  // Handles a received NS or NA (other messages: false, untouched).
  bool on_packet(const NdInput& input, const Frame& frame);

  // Proxy ND (RFC 4861 §7.2.8, RFC 6275 §10.4.1): answer NS for `address` with our MAC (the
  // interface joins the address's solicited-node group meanwhile).
  void add_proxy(const wire::Ipv6Address& address);
  void remove_proxy(const wire::Ipv6Address& address);
  bool proxies(const wire::Ipv6Address& address) const { return proxies_.contains(address); }

  // Forward-progress hint from an upper layer (§7.3.1): the entry becomes REACHABLE.
  void confirm_reachable(const wire::Ipv6Address& neighbour);
  // Starts NUD on `neighbour` now (PROBE with unicast NS), e.g. for movement detection
  // (RFC 6275 §11.5.1). Without a link-layer address this is address resolution.
  void probe(const wire::Ipv6Address& neighbour);
  // Forgets every entry and drops queued packets (a new link: RFC 6275 §11.5.1 says old
  // neighbours are to be re-checked).
  void flush();

  std::optional<NeighborState> state(const wire::Ipv6Address& neighbour) const;
  std::optional<MacAddress> link_address(const wire::Ipv6Address& neighbour) const;
  // Learns (STALE) a neighbour's link-layer address from an RS / RA / NS SLLAO (§6.3.4, §7.2.3).
  void learn(const wire::Ipv6Address& neighbour, const MacAddress& mac);
  // The source address for our NS: an address of the interface (link-local preferred).
  std::optional<wire::Ipv6Address> source_address() const;

 private:
  struct Entry {
    NeighborState state = NeighborState::kIncomplete;
    std::optional<MacAddress> mac;
    unsigned probes_sent = 0;
    bool report = false;  // a NUD run whose outcome the callback is told
    EventId timer;
    std::vector<wire::Bytes> queue;
  };
  Entry& entry(const wire::Ipv6Address& neighbour);
  void set_state(const wire::Ipv6Address& neighbour, Entry& e, NeighborState s);
  void arm(const wire::Ipv6Address& neighbour, Entry& e, Duration d);
  void on_timer(const wire::Ipv6Address& neighbour);
  void solicit(const wire::Ipv6Address& neighbour, const Entry& e);
  void fail(const wire::Ipv6Address& neighbour);
  void flush_queue(Entry& e);
  void on_solicitation(const NdInput& input, const wire::NeighborSolicitation& ns);
  void on_advertisement(const wire::NeighborAdvertisement& na);
  void advertise(const wire::Ipv6Address& target, const wire::Ipv6Address& destination,
                 bool solicited, bool override_flag);

  Interface& iface_;
  NdConfig config_;
  NdCounters counters_;
  NudCallback nud_callback_;
  DropCallback drop_callback_;
  OwnsTarget owns_target_;
  std::unordered_map<wire::Ipv6Address, Entry> cache_;
  std::unordered_set<wire::Ipv6Address> proxies_;
};

}  // namespace mipv6::sim
