// The mobile node engine (RFC 6275 §11), sans I/O: the Binding Update List and home
// registration (§11.7.1, §11.7.3), Binding Refresh Requests and Binding Errors from the home
// agent (§11.7.4, §11.3.6), home agent discovery and failover (§11.4.1, SEEDS §3.2.7), mobile
// prefix discovery (§11.4.2, §11.4.3), de-registration on returning home (§11.5.5), source
// address selection (draft-04 §9.1), multicast membership (draft-04 §10) and forwarding from
// the previous care-of address (draft-04 §9.6).
//
// Movement detection and route optimisation are separate components (MovementDetector,
// RouteOptimization) this engine owns: Router Advertisements and node events go to the
// detector, whose decisions are carried out after every input (RS, router probe NS) or fed
// back through two inputs that tests may also call directly:
//  - set_primary_care_of(coa, now): the primary care-of address changed (nullopt: none usable);
//    every home address away from home is (re-)registered with it;
//  - returned_home(link, now): the node is on its home link; the home addresses of that link are
//    de-registered (lifetime 0, care-of address = home address).
// Route optimisation sees every received packet first (HoT, CoT, BA/BRR/BE from correspondents,
// ICMP Parameter Problems, tunnelled data as triggers); after every input it is told the home
// registrations (home agent, expiry, at home) and the primary care-of address. Its actions join
// this engine's queue.
//
// Composition decisions:
//  - §11.7.2: the route-optimisation component learns a new primary care-of address only once
//    the home agent acknowledged a registration for it, so correspondent registrations follow
//    the home registration; until then it keeps the previous one (its bindings still point
//    there);
//  - a home address is "at home" for route optimisation only once de-registered (kAtHome): the
//    deletion's HoTI/HoT use the home address on the home link, which the home agent defends
//    until then (§11.5.5); while de-registering route optimisation is left as it was;
//  - §11.5.5 step 2: when the home-link router is not the home agent (or did not give its
//    link-layer address), a Neighbor Solicitation from the unspecified address asks for the
//    home agent's; after kMaxResolveSolicitations unanswered the de-registration goes anyway,
//    leaving link-layer resolution to the data plane; the home addresses of one home prefix
//    return together, with the link-layer address of the first one's home agent;
//  - Router Advertisements and Neighbor Advertisements that arrived tunnelled are not taken
//    as coming from our link;
//  - router probes (ProbeRouter) come from the configured link-local address, else from the
//    primary care-of address, else from the unspecified address.
//
// Decisions this engine makes where the RFC leaves a choice (see also the comments at each rule):
//  - retransmissions double up to MAX_BINDACK_TIMEOUT and then continue at that rate (§11.8
//    MAY); with another home agent to try, the registration gives up and moves on once
//    `max_timeout_attempts` Binding Updates sent at the capped timeout went unanswered;
//  - the reverse tunnel (TunnelRoute) moves to a new care-of address as soon as the Binding
//    Update for it is sent (§11.6.3), and is removed on returning home, when no care-of address
//    is usable, and when a home address is given up;
//  - a registration is refreshed at the Binding Refresh Advice interval (counted from the
//    acknowledgement), or at `refresh_fraction` of the granted lifetime, whichever comes first;
//  - DHAAD retransmissions keep the identifier (SEEDS §3.2.7: "the identifier matches
//    retransmissions"); after DHAAD_RETRIES unanswered requests discovery gives up until the
//    next care-of address change;
//  - Mobile Prefix Solicitations back off from INITIAL_SOLICIT_TIMER up to MAX_BINDACK_TIMEOUT
//    and keep the identifier across retransmissions;
//  - status 128 and 136-139 and other rejections with no specific rule stop the
//    retransmissions and are logged (kWarn); the next care-of address change tries again;
//  - the mobile node's TunnelRoute: home_address = the inner source, care_of_address = the outer
//    source, local_address = the home agent (the outer destination);
//  - an unsolicited MPA while an MPS is outstanding makes the MPS go again with the same
//    identifier (a new one would orphan the answer already on its way), otherwise a new MPS;
//  - an unanswered de-registration ends when the binding would have expired anyway; the NAs
//    of §11.5.5 step 6 are then sent as after a BA;
//  - the "do not send BUs" flag (BE status 2) is not cleared by this engine;
//  - §11.5.5: once the de-registration BU is out (and while at home) a Neighbor Solicitation
//    for a home address (or its derived link-local address when L was set) is answered with a
//    unicast NA to the solicitor's link-layer address, S = 1, O = 1 (we own the address; the
//    home agent's proxy entries must be overridden); one from the unspecified address (DAD) is
//    answered to all-nodes with S = 0 (RFC 4861 §7.2.4). No DAD is asked for on return;
//  - source selection and multicast are queries for the data plane (select_source,
//    multicast_path), answered for the first home address not given up. The engine emits no MLD
//    Report: the data plane sends it with the source / path the query gives;
//  - draft-04 §9.6 forwarding: the previous link's agent is configured per prefix or learned
//    from the RA (H bit and R-bit address) of the router the node moved to; the previous
//    care-of address counts also when it was lost (unreachable link) less than
//    `previous_care_of_lifetime` before the new one; the BU is not protected (no SA with a
//    visited router), is retransmitted like a first registration until its lifetime ends and is
//    never refreshed; live forwardings are re-pointed at each newer care-of address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/binding_update_list.h"
#include "core/constants.h"
#include "core/engine.h"
#include "core/movement_detector.h"
#include "core/rng.h"
#include "core/route_optimization.h"
#include "core/signalling.h"
#include "core/source_selection.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/icmpv6.h"
#include "wire/mobility.h"

namespace mipv6::core {

// One home address and where to register it (§11.4.1, SEEDS §3.2.9: each home address has its
// own home agent).
struct HomeAddressConfig {
  wire::Ipv6Address home_address;
  std::uint8_t prefix_length = 64;  // the home prefix (for the DHAAD anycast address, §6.5)
  // Home agents to try, in order. Empty: "discover" with DHAAD (§11.4.1).
  std::vector<wire::Ipv6Address> home_agents;
};

// A router on a visited link that acts as temporary home agent for that link's care-of
// addresses (draft-04 §9.6).
struct ForwardingAgent {
  wire::Ipv6Address prefix;
  std::uint8_t prefix_length = 64;
  wire::Ipv6Address agent;
};

struct MobileNodeConfig {
  std::vector<HomeAddressConfig> home_addresses;
  // Local policy bound on the Lifetime asked of the home agent (§11.7.1).
  Duration registration_lifetime = 420s;
  // §13 InitialBindackTimeoutFirstReg (configurable); later registrations: kInitialBindackTimeout.
  Duration initial_bindack_timeout_first_reg = kDefaultInitialBindackTimeoutFirstReg;
  // Binding Updates sent at MAX_BINDACK_TIMEOUT, unanswered, before the next home agent is
  // tried (§11.8, SEEDS §3.2.7). With a single home agent the node keeps retrying.
  int max_timeout_attempts = 1;
  // Refresh at this fraction of the granted lifetime unless a Binding Refresh Advice says sooner.
  double refresh_fraction = 0.9;
  // The interface identifier of this link-local address is compared with each home address's
  // (§11.7.1: L = 1 when they are equal).
  std::optional<wire::Ipv6Address> link_local_address;
  // The SA the data plane applies to signalling with the home agent (§5.1, §11.7.1 "MUST be
  // protected"), and whether an acknowledgement or advertisement without it is ignored.
  Protection protection = Protection::kNone;
  bool require_protected_replies = false;
  // §11.4.2: a Mobile Prefix Solicitation goes out this long before a home address becomes
  // invalid.
  Duration prefix_solicit_lead = 60s;
  bool log_bindings = true;  // a Log action per Binding Update / Acknowledgement
  // The node's own link-layer address: the TLLA of the Neighbor Advertisements sent on
  // returning home (§11.5.5 step 6) and the SLLAO of router probes.
  LinkLayerAddress link_layer_address{};
  // A node with several interfaces (radios): each one's own link-layer and link-local address,
  // used for what is sent on it (RSs, router probes, the NAs on returning home, §11.5.5).
  // Interfaces not listed use the two fields above.
  struct InterfaceAddresses {
    std::uint32_t ifindex = 0;
    LinkLayerAddress link_layer_address{};
    std::optional<wire::Ipv6Address> link_local_address;
  };
  std::vector<InterfaceAddresses> interfaces;
  // Movement detection (§11.5); the home prefixes of `home_addresses` are added to
  // movement.home_prefixes. movement.interface_preference is the care-of interface preference.
  MovementDetectorConfig movement;
  RouteOptimizationConfig route_optimization;  // §11.6, §11.7.2
  SourceSelectionConfig source_selection;      // SEEDS §3.2.6, draft-04 §9.1
  MulticastConfig multicast;                   // draft-04 §10, §11.3.4
  // draft-04 §9.6: after a move, register the previous care-of address with a home agent on
  // the previous link (its access router), care-of address = the new primary, so packets
  // still in flight to the old address are tunnelled on.
  bool forward_from_previous_care_of = false;
  Duration previous_care_of_lifetime = 20s;
  // Agents configured per visited prefix; an RA with the H bit and an R-bit address also
  // names one (learned on each move).
  std::vector<ForwardingAgent> forwarding_agents;
};

// The primary care-of address (§11.5.4), as the movement detector chose it.
struct CareOf {
  wire::Ipv6Address address;
  std::uint32_t ifindex = 0;
  std::optional<Duration> valid_lifetime;  // remaining at the call; nullopt: infinite
};

// The home link the node has returned to (§11.5.5).
struct HomeLink {
  std::uint32_t ifindex = 0;
  LinkLayerAddress link_layer_address{};  // the node's own, for the TLLA of its NAs
  // The home agent's link-layer address (§11.5.5 step 2/3: the BU goes straight to it, since
  // the home agent still defends the home address). nullopt: the data plane resolves it.
  std::optional<LinkLayerAddress> home_agent_link_address;
  // Only the home addresses in this prefix are home; nullopt: all of them.
  std::optional<wire::Ipv6Address> prefix;
  std::uint8_t prefix_length = 64;
};

// How the data plane sends and receives a multicast group (draft-04 §10).
struct MulticastPath {
  enum class Kind : std::uint8_t {
    kLocal,       // join/send on `ifindex` with `source` (care-of address, or home address at home)
    kHomeTunnel,  // through the tunnel: inner source `source` (home address), to `home_agent`
    kNotYet,      // not possible yet: no care-of address, or the tunnel is not ready
  };
  Kind kind = Kind::kNotYet;
  wire::Ipv6Address source;
  std::uint32_t ifindex = 0;
  std::optional<wire::Ipv6Address> care_of_address;  // outer source in kHomeTunnel
  std::optional<wire::Ipv6Address> home_agent;
};

// A registration of a previous care-of address with its link's agent (draft-04 §9.6).
enum class ForwardingState : std::uint8_t { kRegistering, kRegistered, kRejected };
struct Forwarding {
  wire::Ipv6Address agent;
  wire::Ipv6Address previous_care_of;
  wire::Ipv6Address care_of;  // the new primary it forwards to
  ForwardingState state = ForwardingState::kRegistering;
  TimePoint ends{};  // the requested lifetime ends: retransmissions stop, the entry goes
};

// What a home address is doing.
enum class HomeState : std::uint8_t {
  kIdle,           // no care-of address yet, or nothing to do
  kDiscovering,    // DHAAD outstanding (§11.4.1)
  kRegistering,    // home registration Binding Update outstanding
  kRegistered,     // an accepted registration is held
  kDeregistering,  // at home, de-registration outstanding (§11.5.5)
  kAtHome,         // at home and de-registered
  kFailed,         // given up (BA 134, or no home agent left); the operator was told
};
std::string_view home_state_name(HomeState state);

struct MobileNodeCounters {
  std::uint64_t bu_sent = 0;
  std::uint64_t bu_retransmitted = 0;
  std::uint64_t bu_rate_limited = 0;  // delayed by MAX_UPDATE_RATE
  std::uint64_t ba_received = 0;
  std::uint64_t ba_accepted = 0;
  std::uint64_t ba_rejected = 0;
  std::uint64_t registrations = 0;
  std::uint64_t refreshes = 0;
  std::uint64_t deregistrations = 0;
  std::uint64_t failovers = 0;
  std::uint64_t home_addresses_given_up = 0;
  std::uint64_t home_addresses_formed = 0;  // from Mobile Prefix Advertisements (§11.4.3)
  std::uint64_t brr_received = 0;
  std::uint64_t be_received = 0;
  std::uint64_t dhaad_sent = 0;
  std::uint64_t dhaad_replies = 0;
  std::uint64_t dhaad_failed = 0;
  std::uint64_t mps_sent = 0;
  std::uint64_t mpa_accepted = 0;
  std::uint64_t mpa_discarded = 0;
  std::uint64_t na_sent = 0;
  std::uint64_t dropped_bad_checksum = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t dropped_unexpected_mh = 0;
  std::uint64_t dropped_unknown_sender = 0;  // no Binding Update List entry for the source
  std::uint64_t dropped_no_type2 = 0;        // away from home without a Type 2 Routing header
  std::uint64_t dropped_sequence = 0;        // BA not matching the outstanding Binding Update
  std::uint64_t dropped_unprotected = 0;
  std::uint64_t dropped_bad_icmp = 0;
  std::uint64_t dropped_bad_type2 = 0;  // §11.3.3: Type 2 Routing header not for us
  std::uint64_t rs_sent = 0;
  std::uint64_t router_probes_sent = 0;
  std::uint64_t home_agent_solicitations = 0;  // §11.5.5 step 2
  std::uint64_t ns_answered = 0;               // §11.5.5: NSs for a home address, answered
  std::uint64_t forwarding_bu_sent = 0;        // draft-04 §9.6
  std::uint64_t forwarding_accepted = 0;
  std::uint64_t forwarding_rejected = 0;

  // name / value pairs, in declaration order, for mipv6ctl and logs.
  std::vector<std::pair<std::string_view, std::uint64_t>> list() const;
};

class MobileNode final : public Engine {
 public:
  MobileNode(MobileNodeConfig config, Rng& rng);

  void on_packet(const RxPacket& packet, TimePoint now) override;
  void on_event(const NodeEvent& event, TimePoint now) override;
  void on_timeout(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;

  // The movement detector's decision: `coa` is the new primary care-of address (§11.5.4), or
  // nullopt when none is usable. Each home address away from home is registered with it
  // (discovering its home agent first if needed); the same address again only updates its
  // valid lifetime.
  void set_primary_care_of(std::optional<CareOf> coa, TimePoint now);
  // The movement detector found the home link (§11.5.2): de-register the home addresses of
  // `link` (§11.5.5 step 3), then advertise them (step 6).
  void returned_home(const HomeLink& link, TimePoint now);

  HomeState state(const wire::Ipv6Address& home_address) const;
  // The home agent a home address registers with now (nullopt: none known yet).
  std::optional<wire::Ipv6Address> home_agent(const wire::Ipv6Address& home_address) const;
  const BindingUpdateList& binding_update_list() const { return list_; }
  const MobileNodeCounters& counters() const { return counters_; }
  const std::optional<CareOf>& primary_care_of() const { return care_of_; }

  // Data plane queries (§11.3.1, §11.3.3), answered by route optimisation: how to send a packet
  // from `home_address` to `correspondent` (records the use), and whether a packet's Type 2
  // Routing header may be processed.
  SendDecision send_path(const wire::Ipv6Address& home_address,
                         const wire::Ipv6Address& correspondent, TimePoint now);
  bool accept_type2(const RxPacket& packet) const { return ro_.accept_type2(packet); }
  std::vector<RouteOptimized> take_route_changes() { return ro_.take_route_changes(); }

  // SEEDS §3.2.6, draft-04 §9.1: the source address for a new flow (the home address of the
  // first usable home address by default).
  wire::Ipv6Address select_source(const wire::Ipv6Address& destination, std::uint8_t protocol,
                                  std::uint16_t destination_port) const;
  // draft-04 §10, §11.3.4: how to join / send to `group` now.
  MulticastPath multicast_path(const wire::Ipv6Address& group) const;
  const std::vector<Forwarding>& forwardings() const { return forwardings_; }

  const MovementDetector& movement() const { return detector_; }
  // See MovementDetector::set_interface_preference (the hosting node calls it when a radio
  // comes up, to make before break).
  void set_interface_preference(std::vector<std::uint32_t> order, TimePoint now);
  // The home addresses in use: the configured ones and those formed from Mobile Prefix
  // Advertisements (§11.4.3).
  std::vector<wire::Ipv6Address> home_addresses() const;
  const RouteOptimization& route_optimization() const { return ro_; }

  // §11.5.5 step 2: Neighbor Solicitations for the home agent's link-layer address.
  static constexpr int kMaxResolveSolicitations = 3;

 private:
  struct Dhaad {  // §11.4.1
    std::uint16_t identifier = 0;
    int sent = 0;
    Duration timeout{};
    std::optional<TimePoint> retransmit_at;
  };
  struct Solicit {  // §11.4.2
    std::uint16_t identifier = 0;
    bool outstanding = false;  // no MPA accepted for `identifier` yet
    Duration timeout{};
    std::optional<TimePoint> retransmit_at;
  };
  struct Advertise {  // §11.5.5 step 6
    int remaining = 0;
    std::optional<TimePoint> next;
    std::vector<wire::Ipv6Address> targets;
  };
  struct Resolve {  // §11.5.5 step 2: the home agent's link-layer address is being asked for
    wire::Ipv6Address home_agent;
    HomeLink link;
    int sent = 0;
    TimePoint next{};
  };
  struct Home {
    HomeAddressConfig config;
    HomeState state = HomeState::kIdle;
    std::vector<wire::Ipv6Address> candidates;  // home agents to try, in order
    std::size_t candidate = 0;
    std::optional<wire::Ipv6Address> registered_with;  // last accepted home registration
    std::optional<TunnelRoute> tunnel;                 // the reverse tunnel installed
    std::optional<TimePoint> pending_send;             // a BU waiting for MAX_UPDATE_RATE
    std::optional<TimePoint> refresh_at;
    std::optional<TimePoint> valid_until;  // of the home address (from MPAs); nullopt: infinite
    std::optional<TimePoint> solicit_at;   // §11.4.2: MPS before the home address goes invalid
    bool awaiting_prefixes = false;        // §11.7.3 status 1: no re-registration until MPA
    bool refresh_deferred = false;         // a refresh fell due while awaiting_prefixes
    bool link_local_compatible = false;    // L flag (§11.7.1)
    std::optional<HomeLink> home_link;     // set while at home
    bool home_agent_sent_mld = false;      // draft-04 §10: an MLD message came through the tunnel
    Dhaad dhaad;
    Solicit solicit;
    Advertise advertise;
  };

  void on_mobility(const RxPacket& packet, TimePoint now);
  void on_icmpv6(const RxPacket& packet, TimePoint now);
  void on_neighbor_solicitation(const RxPacket& packet, const wire::NeighborSolicitation& ns);
  const Home* home_for_target(const wire::Ipv6Address& target, std::uint32_t ifindex) const;
  void note_tunnelled_mld(const RxPacket& packet);
  const Home* usable_home() const;

  // draft-04 §9.6: forwarding from the previous care-of address.
  std::optional<wire::Ipv6Address> agent_for(const wire::Ipv6Address& care_of) const;
  void start_forwarding(const wire::Ipv6Address& previous, TimePoint now);
  void send_forwarding_bu(Forwarding& forwarding, bool retransmission, TimePoint now);
  bool on_forwarding_ack(const RxPacket& packet, TimePoint now);
  void run_forwarding_timers(TimePoint now);
  void on_binding_ack(const RxPacket& packet, const wire::MobilityHeader& mh, TimePoint now);
  void on_ba_accepted(Home& home, BindingUpdateListEntry& entry, const wire::MobilityHeader& mh,
                      TimePoint now);
  void on_ba_rejected(Home& home, BindingUpdateListEntry& entry,
                      const wire::BindingAcknowledgement& ba, TimePoint now);
  void on_refresh_request(const RxPacket& packet, TimePoint now);
  void on_binding_error(const RxPacket& packet, const wire::BindingError& be, TimePoint now);
  void on_dhaad_reply(const RxPacket& packet, const wire::HomeAgentAddressDiscoveryReply& reply,
                      TimePoint now);
  void on_mpa(const RxPacket& packet, const wire::MobilePrefixAdvertisement& mpa, TimePoint now);
  // Returns the home addresses to form from new prefixes (§11.4.3; added by add_home, after
  // which `home` may be invalid).
  std::vector<HomeAddressConfig> apply_prefixes(Home& home,
                                                const wire::MobilePrefixAdvertisement& mpa,
                                                TimePoint now);
  void add_home(HomeAddressConfig config, std::optional<Duration> valid, TimePoint now);
  std::optional<HomeAddressConfig> formed_home(const Home& home,
                                               const wire::PrefixInformationOption& pio,
                                               const wire::Ipv6Address& agent) const;
  Home make_home(const HomeAddressConfig& config) const;
  LinkLayerAddress link_layer_address_of(std::uint32_t ifindex) const;
  std::optional<wire::Ipv6Address> link_local_address_of(std::uint32_t ifindex) const;

  // Registration steps.
  void start(Home& home, TimePoint now);
  void register_home(Home& home, TimePoint now, bool retransmission = false);
  void send_home_bu(Home& home, BindingUpdateListEntry& entry, bool retransmission, TimePoint now);
  std::optional<Duration> registration_lifetime(const Home& home, TimePoint now) const;
  void next_home_agent(Home& home, TimePoint now);
  void give_up(Home& home, std::string_view why, TimePoint now);
  void move_tunnel(Home& home, std::optional<TunnelRoute> route);
  BindingUpdateListEntry* current_entry(Home& home);
  std::optional<wire::Ipv6Address> target_ha(const Home& home) const;

  void start_dhaad(Home& home, TimePoint now);
  void send_dhaad(Home& home, TimePoint now);
  void start_solicit(Home& home, TimePoint now);
  void send_mps(Home& home, TimePoint now);
  void send_advertisements(Home& home, TimePoint now);

  void run_home_timers(Home& home, TimePoint now);
  void on_dhaad_timeout(Home& home, TimePoint now);
  void on_binding_expired(Home& home, BindingUpdateListEntry& entry, TimePoint now);
  void send_neighbor_advertisements(Home& home, TimePoint now);
  void on_retransmit_timeout(Home& home, BindingUpdateListEntry& entry, TimePoint now);
  Home* home_for_ha(const wire::Ipv6Address& ha, const wire::Ipv6Address& home_address);
  Home* find_home(const wire::Ipv6Address& home_address);
  const Home* find_home(const wire::Ipv6Address& home_address) const;
  bool reply_protected_enough(const RxPacket& packet);

  // Composition (movement detection, route optimisation).
  void dispatch(const RxPacket& packet, TimePoint now);
  void after_input(TimePoint now);
  void carry_out(const MovementDecision& decision, TimePoint now);
  void send_router_solicitation(const SendRouterSolicitation& rs);
  void send_router_probe(const ProbeRouter& probe);
  void on_moved(const MovedTo& moved, TimePoint now);
  void on_at_home(const AtHome& home, TimePoint now);
  void solicit_home_agent(Resolve& resolve, TimePoint now);
  bool on_home_agent_advertisement(const RxPacket& packet, TimePoint now);
  void run_resolve_timers(TimePoint now);
  void sync_route_optimization(TimePoint now);
  RoHomeAddress ro_view(const Home& home) const;
  std::optional<wire::Ipv6Address> ro_care_of(TimePoint now) const;

  MobileNodeConfig config_;
  Rng& rng_;
  BindingUpdateList list_;
  MobileNodeCounters counters_;
  std::optional<CareOf> care_of_;
  std::optional<TimePoint> care_of_valid_until_;
  std::vector<Home> homes_;
  MovementDetector detector_;
  RouteOptimization ro_;
  std::vector<std::optional<RoHomeAddress>> ro_homes_;  // last told, per homes_ index
  std::optional<wire::Ipv6Address> ro_care_of_;         // last told
  std::vector<Resolve> resolving_;
  std::vector<Forwarding> forwardings_;
  // The agent learned for the current primary care-of address's link (draft-04 §9.6).
  std::optional<std::pair<wire::Ipv6Address, wire::Ipv6Address>> learned_agent_;  // coa, agent
  std::optional<std::pair<wire::Ipv6Address, TimePoint>> lost_care_of_;           // and when
};

}  // namespace mipv6::core
