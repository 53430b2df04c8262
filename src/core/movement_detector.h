// The mobile node's movement detector and care-of address selection (RFC 6275 §11.5.1-§11.5.4,
// draft-ietf-mobileip-ipv6-04 §9.2/§9.12, SEEDS §3.2.4). Sans I/O like the engines
// (DESIGN.md §2): Router Advertisements, node events and the current time go in; decisions come
// out in a queue the MobileNode drains (it sends the RS/NS, registers the care-of address...).
//
// The model is RFC 4861's Default Router List and Prefix List, kept per router:
//   - A router is identified by the global addresses of its R-bit Prefix Information options
//     (§7.2) when it sends them, else by (interface, link-local source): link-local addresses
//     are not unique across links (§11.5.1), so after a move the new router may reuse the old
//     one's link-local address.
//   - Movement is certain only when the current default router is gone (NUD says unreachable,
//     its Router Lifetime ran out, or its RAs stopped beyond the Advertisement Interval's promise
//     and a probe failed) AND the router that replaces it does not advertise the primary care-of
//     address's prefix (SEEDS §3.2.4). A new router or a new prefix alone is never movement: the
//     old router is kept while it is reachable (§11.5.1).
//   - The primary care-of address always has a prefix advertised by the current default router
//     (§11.5.4). Care-of addresses come from AddressAdded events, whatever configured them.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "core/engine.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/icmpv6.h"

namespace mipv6::core {

// RFC 4861 §10 host constants for Router Solicitations (§6.3.7).
inline constexpr int kMaxRtrSolicitations = 3;
inline constexpr Duration kRtrSolicitationInterval = 4s;
// RFC 4861 §7.3.3/§10: a unicast probe is given up after MAX_UNICAST_SOLICIT (3) × RETRANS_TIMER.
inline constexpr Duration kDefaultProbeTimeout = 3s;

struct HomeLinkPrefix {
  wire::Ipv6Address prefix;
  std::uint8_t prefix_length = 64;
  friend bool operator==(const HomeLinkPrefix&, const HomeLinkPrefix&) = default;
};

struct MovementDetectorConfig {
  std::vector<HomeLinkPrefix> home_prefixes;
  // Interfaces by preference, best first; unlisted interfaces come after all listed ones, equal.
  std::vector<std::uint32_t> interface_preference;
  // §11.5.1: "its own policy to determine how many lost Advertisements from its current default
  // router constitute an L3 handover indication": after this many Advertisement Intervals without
  // an RA, the current default router is probed.
  unsigned ra_loss_threshold = 3;
  Duration probe_timeout = kDefaultProbeTimeout;
  // §11.5.1: "Unless it is well-known that an L2 handover indication is likely to imply L3
  // movement", a link-up hint first probes the current router; set this to solicit at once too.
  bool l2_hint_implies_movement = false;
  // draft-04 §9.2: lower-layer information MAY make the node switch while the old router is
  // still reachable; here, a usable router on a better interface (by interface_preference).
  bool switch_to_preferred_interface = true;
};

// ---------------------------------------------------------------------------------------------
// Decisions (outputs)

// Send a multicast Router Solicitation on the interface (RFC 4861 §6.3.7).
struct SendRouterSolicitation {
  std::uint32_t ifindex = 0;
  friend bool operator==(const SendRouterSolicitation&, const SendRouterSolicitation&) = default;
};

// Send a unicast Neighbor Solicitation to the router and report the outcome as a
// NeighborReachability event for `address` (§11.5.1, draft-04 §9.2). `address` is the router's
// global (R-bit) address when known — only the real router answers it — else its link-local
// one. No event within probe_timeout counts as unreachable.
struct ProbeRouter {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  wire::Ipv6Address link_local_address;
  friend bool operator==(const ProbeRouter&, const ProbeRouter&) = default;
};

enum class MoveReason : std::uint8_t {
  kInitial,             // first care-of address after start-up or after leaving home
  kMovement,            // L3 handover: the default router was replaced by one on a new link
  kDeprecated,          // the primary's preferred lifetime ended (§11.5.3)
  kPreferredInterface,  // a better interface became usable (draft-04 §9.2)
  kPrimaryInvalid,      // the primary was removed or its prefix withdrawn (§11.5.4)
};

// A new primary care-of address: the MobileNode registers it with its home agent (§11.5.4,
// §11.7.1). Lifetimes are what remains of the address's (nullopt: infinite); a binding must not
// outlive them.
struct MovedTo {
  wire::Ipv6Address care_of_address;
  std::uint32_t ifindex = 0;
  wire::Ipv6Address router;                        // link-local address of the new default router
  std::optional<wire::Ipv6Address> router_global;  // its R-bit address, if it sent one
  wire::Ipv6Address prefix;                        // the advertised prefix the address belongs to
  std::uint8_t prefix_length = 64;
  std::optional<Duration> valid_lifetime;
  std::optional<Duration> preferred_lifetime;
  // The former primary, now kept as a non-primary care-of address that still accepts packets
  // (§11.5.4, draft-04 §9.12); nullopt when there was none or it was invalidated.
  std::optional<wire::Ipv6Address> previous_care_of_address;
  MoveReason reason = MoveReason::kInitial;
  friend bool operator==(const MovedTo&, const MovedTo&) = default;
};

// The current default router advertises a home prefix on-link: the node is home (§11.5.2).
// Returning home (§11.5.5) needs the home agent's link-layer address; the router's, when it is
// the home agent, is given if its RA carried a Source Link-Layer Address option.
struct AtHome {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address router;
  std::optional<wire::Ipv6Address> router_global;
  std::optional<LinkLayerAddress> router_link_layer_address;
  bool router_is_home_agent = false;  // RA H bit (§7.1)
  HomeLinkPrefix home_prefix;
  friend bool operator==(const AtHome&, const AtHome&) = default;
};

enum class CareOfLostReason : std::uint8_t {
  kLinkUnreachable,  // its prefix came only from routers on a link now unreachable (§11.5.4)
  kRemoved,          // AddressRemoved, DAD found a duplicate, or its valid lifetime ended
};

// A care-of address the node was accepting packets at (the primary or a retained former one)
// must no longer be used or accepted.
struct CareOfLost {
  wire::Ipv6Address care_of_address;
  std::uint32_t ifindex = 0;
  bool was_primary = false;
  CareOfLostReason reason = CareOfLostReason::kRemoved;
  friend bool operator==(const CareOfLost&, const CareOfLost&) = default;
};

using MovementDecision =
    std::variant<SendRouterSolicitation, ProbeRouter, MovedTo, AtHome, CareOfLost>;

// ---------------------------------------------------------------------------------------------
// State, visible for diagnostics (mipv6ctl) and tests

struct AdvertisedPrefix {
  wire::Ipv6Address prefix;  // masked to prefix_length
  std::uint8_t prefix_length = 64;
  bool on_link = false;                  // L flag
  std::optional<TimePoint> valid_until;  // nullopt: infinite
};

struct RouterEntry {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address link_local_address;
  std::vector<wire::Ipv6Address> global_addresses;  // from R-bit Prefix Information options
  std::optional<LinkLayerAddress> link_layer_address;
  bool home_agent = false;
  std::vector<AdvertisedPrefix> prefixes;
  TimePoint last_heard{};                 // last RA or reachability confirmation
  std::optional<TimePoint> lifetime_end;  // nullopt: Router Lifetime 0, not a default router
  std::optional<Duration> advertisement_interval;  // §7.3 option, if sent
  bool advertisements_overdue = false;             // RA loss already acted upon
  std::optional<TimePoint> probe_deadline;         // a ProbeRouter is outstanding
};

struct CareOfCandidate {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint8_t prefix_length = 64;
  std::optional<TimePoint> valid_until;
  std::optional<TimePoint> preferred_until;  // cleared once reached: then deprecated is set
  bool tentative = false;
  bool deprecated = false;
};

class MovementDetector {
 public:
  explicit MovementDetector(MovementDetectorConfig config);

  // A Router Advertisement received on `ifindex` from `source`. The caller has checked what
  // RFC 4861 §6.1.2 asks of the packet (hop limit 255, checksum, code 0); RAs whose source is
  // not link-local are ignored here (§6.1.2).
  void on_router_advertisement(std::uint32_t ifindex, const wire::Ipv6Address& source,
                               const wire::RouterAdvertisement& ra, TimePoint now);
  // Convenience for the MobileNode: when `packet` is a valid RA (ICMPv6 type 134, code 0, hop
  // limit 255, link-local source, whole, checksum right: RFC 4861 §6.1.2), processes it and
  // returns true; anything else is left alone and returns false.
  bool on_packet(const RxPacket& packet, TimePoint now);

  // LinkUp/LinkDown (L2 hints, §11.5.1), AddressAdded/AddressRemoved/DadResult (care-of
  // address candidates; AddressAdded for a known address updates it, e.g. tentative -> done),
  // NeighborReachability (NUD or probe results). PrefixUpdate is not the detector's business.
  void on_event(const NodeEvent& event, TimePoint now);

  void on_timeout(TimePoint now);
  // The care-of interface preference, changed at run time (e.g. the radio that came up last
  // first, for make-before-break): re-selects at once, so a ready router on a now better
  // interface takes over (draft-04 §9.2).
  void set_interface_preference(std::vector<std::uint32_t> order, TimePoint now);
  // A home prefix learned after start (renumbering of the home link, RFC 6275 §11.4.3): its RAs
  // now mean "at home" too (§11.5.2).
  void add_home_prefix(const HomeLinkPrefix& prefix, TimePoint now);
  std::optional<TimePoint> next_deadline() const;

  std::vector<MovementDecision> take_decisions() { return std::exchange(decisions_, {}); }

  // The registered-to-be care-of address; nullopt at home or when none is usable yet.
  const std::optional<wire::Ipv6Address>& primary_care_of_address() const { return primary_; }
  // The primary and the retained former primaries: where packets are still accepted (§11.5.4).
  std::vector<wire::Ipv6Address> accepted_care_of_addresses() const;
  bool at_home() const { return at_home_; }
  const RouterEntry* default_router() const;
  const std::vector<RouterEntry>& routers() const { return routers_; }
  const std::vector<CareOfCandidate>& addresses() const { return addresses_; }

 private:
  struct Interface {
    std::uint32_t ifindex = 0;
    bool up = true;
    int solicitations_left = 0;
    std::optional<TimePoint> next_solicitation;
  };

  // Inputs
  void on_link_up(const LinkUp& event, TimePoint now);
  void on_link_down(const LinkDown& event, TimePoint now);
  void on_address_added(const AddressAdded& event, TimePoint now);
  void on_address_removed(std::uint32_t ifindex, const wire::Ipv6Address& address);
  void on_reachability(const NeighborReachability& event, TimePoint now);

  // Router list
  std::size_t find_or_add_router(std::uint32_t ifindex, const wire::Ipv6Address& source,
                                 const std::vector<wire::Ipv6Address>& globals);
  void learn_prefixes(RouterEntry& router, const wire::RouterAdvertisement& ra, TimePoint now);
  void expire(TimePoint now);
  void check_advertisement_loss(TimePoint now);
  void probe(RouterEntry& router, TimePoint now);
  void router_gone(std::size_t index, TimePoint now);
  std::optional<TimePoint> advertisement_deadline(const RouterEntry& router) const;

  // Selection
  void reconcile(TimePoint now);
  void select_default_router(TimePoint now);
  void maybe_switch_interface(TimePoint now);
  bool ready_router_elsewhere(std::uint32_t ifindex, TimePoint now) const;
  bool usable_default(const RouterEntry& router, TimePoint now) const;
  std::size_t interface_rank(std::uint32_t ifindex) const;
  std::optional<HomeLinkPrefix> home_prefix_on_link(const RouterEntry& router) const;
  void update_home_state();
  void update_primary(TimePoint now);
  const CareOfCandidate* best_care_of(const RouterEntry& router) const;
  bool usable_care_of(const CareOfCandidate& address, const RouterEntry& router) const;
  const AdvertisedPrefix* prefix_of(const RouterEntry& router,
                                    const wire::Ipv6Address& address) const;
  bool is_home_address(const wire::Ipv6Address& address) const;
  void invalidate_link(const RouterEntry& gone);
  void lose(const wire::Ipv6Address& address, std::uint32_t ifindex, CareOfLostReason reason);
  MoveReason pending_reason_or(MoveReason fallback);

  // Solicitation
  Interface& interface(std::uint32_t ifindex);
  bool interface_up(std::uint32_t ifindex) const;
  void solicit(std::uint32_t ifindex, TimePoint now);
  void solicit_on_other_links(std::uint32_t except_ifindex, TimePoint now);

  CareOfCandidate* find_address(std::uint32_t ifindex, const wire::Ipv6Address& address);

  MovementDetectorConfig config_;
  std::vector<RouterEntry> routers_;
  std::vector<CareOfCandidate> addresses_;
  std::vector<Interface> interfaces_;
  std::optional<std::size_t> current_;  // index into routers_
  std::optional<wire::Ipv6Address> primary_;
  std::uint32_t primary_ifindex_ = 0;
  std::vector<std::pair<std::uint32_t, wire::Ipv6Address>> retained_;  // former primaries
  bool at_home_ = false;
  std::optional<MoveReason> pending_reason_;  // why the next MovedTo happens
  std::vector<MovementDecision> decisions_;
};

}  // namespace mipv6::core
