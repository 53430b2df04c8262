// A simple IPv6 router: forwards between its interfaces by longest-prefix match (RFC 8200 §3
// hop limit rules), with zero processing delay. Packets for its own addresses or for a multicast
// group go to on_local_packet() (the place where Router Advertisements and ND will be answered
// in the next part of issue 5). Packets it cannot forward are dropped, counted and, unless
// disabled, answered with an ICMPv6 error (RFC 4443 §3.1 Destination Unreachable, §3.3 Time
// Exceeded) subject to §2.4 (e); the §2.4 (f) rate limit is not modelled.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "sim/node.h"
#include "sim/ra_sender.h"
#include "wire/address.h"
#include "wire/ipv6.h"

namespace mipv6::sim {

struct Route {
  wire::Ipv6Address prefix;
  std::uint8_t prefix_len = 0;
  Interface* out = nullptr;
  // The next router; nullopt: the destination is on the link of `out`.
  std::optional<wire::Ipv6Address> gateway;
};

struct RouterCounters {
  std::uint64_t forwarded = 0;
  std::uint64_t local = 0;              // for this router (own address or multicast)
  std::uint64_t dropped_malformed = 0;  // not a decodable IPv6 header
  std::uint64_t dropped_hop_limit = 0;  // Hop Limit would reach 0 (RFC 8200 §3)
  std::uint64_t dropped_no_route = 0;
  std::uint64_t dropped_scope = 0;         // link-local source or destination (RFC 4291 §2.5.6)
  std::uint64_t dropped_no_neighbour = 0;  // next hop not resolvable on the outgoing link
  std::uint64_t icmp_errors_sent = 0;
  friend bool operator==(const RouterCounters&, const RouterCounters&) = default;
};

class Router : public Node {
 public:
  using Node::Node;

  void add_route(const Route& route);
  // Convenience: an on-link route for each address prefix of each interface.
  void add_connected_routes();
  // The route with the longest prefix containing `destination` (ties: the first added).
  const Route* lookup(const wire::Ipv6Address& destination) const;
  const RouterCounters& counters() const { return counters_; }
  void set_icmp_errors(bool enabled) { icmp_errors_ = enabled; }

  // Neighbor Discovery on `iface` (RFC 4861, R flag set in its NAs): NS/NA are answered and
  // next hops resolved with NS instead of the link's static table.
  NeighborDiscovery& enable_nd(Interface& iface, NdConfig config = {});
  // Sends Router Advertisements on `iface` (enables ND there too) and answers its RSs;
  // advertising starts at once. `seed` feeds the random intervals.
  RaSender& advertise(Interface& iface, const RaConfig& config, std::uint64_t seed);
  RaSender* ra_sender(const Interface& iface) const;

  void on_frame(Interface& in, const Frame& frame) override;
  // A router interface coming up starts its advertiser afresh (RFC 4861 §6.2.4: the initial
  // RAs, MAX_INITIAL_RTR_ADVERT_INTERVAL apart at most, as radvd does); going down stops it.
  void on_link_up(Interface& in) override;
  void on_link_down(Interface& in) override;

 protected:
  virtual void on_local_packet(Interface& in, const Frame& frame) {
    (void)in;
    (void)frame;
  }

 private:
  enum class Error { kNoRoute, kAddressUnreachable, kHopLimitExceeded };
  bool handle_nd(Interface& in, const Frame& frame);
  void on_resolution_failed(const wire::Bytes& packet);
  void forward(Interface& in, const wire::Ipv6Header& header, const Frame& frame);
  void send_icmp_error(Interface& in, const wire::Ipv6Header& header, const Frame& frame,
                       Error error);

  std::vector<Route> routes_;  // sorted by prefix length, longest first
  RouterCounters counters_;
  bool icmp_errors_ = true;
  std::vector<std::unique_ptr<RaSender>> ra_senders_;
};

}  // namespace mipv6::sim
