// Simulated hosts and their interfaces. A Node owns interfaces (ifindex from 1, a MAC, IPv6
// addresses); a Link delivers frames to a Node through its virtual on_frame(), and tells it when
// an interface gains or loses its link (attach/detach: how a mobile node moves).
//
// Neighbour resolution is a static table by default: the link knows the addresses of every
// attached interface and resolves unicast next hops from it. An interface with Neighbor
// Discovery enabled (enable_nd, sim/neighbor_discovery.h) resolves with NS/NA and NUD instead.
//
// Multicast reception: an interface with Neighbor Discovery filters group frames by MAC, as a
// NIC does (RFC 2464 §7): it receives all-nodes (always) and the groups it joined, reference
// counted: the solicited-node group of each of its addresses (add_address, RFC 4861 §7.2.1),
// of SLAAC's tentative addresses (RFC 4862 §5.4.2), of proxied addresses (RFC 6275 §10.4.1),
// all-routers on a router (RFC 4291 §2.7.1), and whatever a node joins itself. An interface
// without ND (a static one: capture taps, backbone ports) receives every group frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/time.h"
#include "sim/mac.h"
#include "sim/neighbor_discovery.h"
#include "sim/scheduler.h"
#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::sim {

class Link;
class Node;

struct InterfaceAddress {
  wire::Ipv6Address address;
  std::uint8_t prefix_len = 64;
  friend bool operator==(const InterfaceAddress&, const InterfaceAddress&) = default;
};

class Interface {
 public:
  Interface(Node& owner, std::uint32_t ifindex, MacAddress mac, std::string name);
  ~Interface();  // detaches silently (no link-down callback into a dying node)
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  Node& node() const { return owner_; }
  std::uint32_t ifindex() const { return ifindex_; }
  const MacAddress& mac() const { return mac_; }
  const std::string& name() const { return name_; }
  Link* link() const { return link_; }
  bool attached() const { return link_ != nullptr; }

  const std::vector<InterfaceAddress>& addresses() const { return addresses_; }
  void add_address(const wire::Ipv6Address& address, std::uint8_t prefix_len = 64);
  bool remove_address(const wire::Ipv6Address& address);
  bool has_address(const wire::Ipv6Address& address) const;
  // True when `address` lies in the prefix of one of this interface's addresses (on-link).
  bool on_link(const wire::Ipv6Address& address) const;

  // Hands a frame to the link. False when the interface is not attached.
  bool send_frame(const MacAddress& destination, wire::Bytes packet);
  // Sends an IPv6 packet to `next_hop` on this link: multicast maps to its MAC (RFC 2464 §7),
  // unicast is resolved by Neighbor Discovery when enabled (queued while resolving), else
  // through the link's static neighbour table. False when detached or unresolved.
  bool send_ipv6(const wire::Ipv6Address& next_hop, wire::Bytes packet);

  // Turns on Neighbor Discovery (RFC 4861) for this interface, replacing the static table, and
  // with it the multicast filter (a router's interface joins all-routers).
  NeighborDiscovery& enable_nd(const NdConfig& config = {});
  NeighborDiscovery* nd() const { return nd_.get(); }

  // Listens to the IPv6 multicast `group` (its MAC, RFC 2464 §7); joins are counted, so two
  // addresses sharing a solicited-node group leave it only when both are gone.
  void join_group(const wire::Ipv6Address& group);
  void leave_group(const wire::Ipv6Address& group);
  bool filters_multicast() const { return filter_multicast_; }
  // Whether a frame to the group MAC `destination` is received here.
  bool listens(const MacAddress& destination) const;

 private:
  friend class Link;
  Node& owner_;
  std::uint32_t ifindex_;
  MacAddress mac_;
  std::string name_;
  std::vector<InterfaceAddress> addresses_;
  Link* link_ = nullptr;
  // Transmitter state on the current link (FIFO per sender): when the last accepted frame
  // finishes serialisation, and the start times of frames still waiting for the transmitter.
  // (A vector with a read index: unlike std::deque it allocates nothing while unused, which
  // matters with 100,000 mobile nodes.)
  TimePoint tx_busy_until_{};
  std::vector<TimePoint> tx_waiting_;
  std::size_t tx_waiting_head_ = 0;
  std::unique_ptr<NeighborDiscovery> nd_;
  // Joined group MACs with their join counts: a handful on a host, one per proxied address on a
  // home agent's home interface (100,000 with as many mobile nodes), hence a hash map.
  std::unordered_map<MacAddress, std::uint32_t> groups_;
  bool filter_multicast_ = false;
  // Set by the link at each attach, increasing: multicast receivers go in this order.
  std::uint64_t attach_seq_ = 0;
};

class Node {
 public:
  Node(Scheduler& scheduler, std::string name);
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  Scheduler& scheduler() const { return scheduler_; }

  // Adds an interface; ifindexes count from 1 in creation order. The reference stays valid for
  // the node's lifetime.
  Interface& add_interface(MacAddress mac, std::string name = {});
  Interface* interface(std::uint32_t ifindex) const;
  const std::vector<std::unique_ptr<Interface>>& interfaces() const { return interfaces_; }
  // An address assigned to any interface of this node.
  bool owns_address(const wire::Ipv6Address& address) const;

  // A frame addressed to `in` (its MAC, or a group address) arrived. `frame` is valid only
  // during the call.
  virtual void on_frame(Interface& in, const Frame& frame) = 0;
  // `in` was attached to / detached from a link (link-layer up / down).
  virtual void on_link_up(Interface& in) { (void)in; }
  virtual void on_link_down(Interface& in) { (void)in; }

 private:
  Scheduler& scheduler_;
  std::string name_;
  std::vector<std::unique_ptr<Interface>> interfaces_;
};

}  // namespace mipv6::sim
