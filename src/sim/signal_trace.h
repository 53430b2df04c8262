// The signalling of one observed mobile node as the links carried it, for the message sequence
// chart (sim/scenario_result.h SignalRecord): Mobility Header messages, plain or inside the home
// agent's IPv6-in-IPv6 tunnel (RFC 2473), Router Solicitations and Advertisements, Neighbor
// Solicitations and Advertisements (RFC 4861), DHAAD and Mobile Prefix messages (RFC 6275 §6.5 -
// §6.8) that the node sends or receives or that concern its addresses.
//
// It listens to Link::set_observer. A packet is one record however many links it crosses (the
// same bytes, routers only lower the Hop Limit): `at` and `from` come from the first frame seen
// (the node that put it on a link, so a packet the home agent decapsulates starts at the home
// agent). `to` is the node whose address the packet is for (outer header) when that is a router,
// a home agent or the correspondent; for the observed node's addresses it is the node the last
// frame went to (so a packet to the home address that the home agent intercepts ends at the home
// agent). `arrived` is when a frame reached `to`; nullopt: it never did (lost). Multicast frames
// go from the node to its link's router, or from a router to the node. Periodic multicast RAs are
// recorded only once after each attachment or Router Solicitation of the node, so that fast RAs
// (§7.5) do not flood the chart. The number of records is bounded; later packets are not recorded.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/link.h"
#include "sim/mac.h"
#include "sim/node.h"
#include "sim/scenario_result.h"

namespace mipv6::sim {

class SignalTrace {
 public:
  static constexpr std::size_t kDefaultMaxRecords = 4000;

  explicit SignalTrace(std::size_t max_records = kDefaultMaxRecords);

  // The observed node: its frames are recognised by its interfaces' MACs, its addresses by the
  // EUI-64 interface identifiers of those MACs (home and care-of addresses alike).
  void observe(const Node& node);
  // Frames from `node`'s MACs and packets to its addresses (as configured now) are labelled
  // with its name.
  void name_node(const Node& node);
  // The router that receives the observed node's multicast on `link` (its RSs).
  void set_link_router(const std::string& link, const std::string& router);
  // The observed node just attached to `link` (or solicited there): its next RA is recorded.
  void expect_ra(const std::string& link);

  void on_frame(const Link& link, TimePoint at, const Frame& frame);
  const std::vector<SignalRecord>& records() const { return records_; }

 private:
  struct Open {
    std::size_t index;
    TimePoint first_seen;
    MacAddress first_source;
    bool fixed_to;  // addressed to a named node (not the observed one)
  };
  bool is_observed(const MacAddress& mac) const;
  bool is_observed(const wire::Ipv6Address& address) const;
  bool concerns_observed(const Link& link, const Frame& frame) const;
  std::string label(const Link& link, const Frame& frame) const;
  std::string name_of(const MacAddress& mac) const;
  std::string destination_name(const Link& link, const Frame& frame) const;
  std::optional<std::string> addressee(const Frame& frame) const;

  std::size_t max_records_;
  std::string observed_name_;
  std::vector<MacAddress> observed_macs_;
  std::vector<std::array<std::uint8_t, 8>> observed_iids_;
  std::unordered_map<MacAddress, std::string> mac_names_;
  std::unordered_map<wire::Ipv6Address, std::string> address_names_;
  std::unordered_map<std::string, std::string> link_routers_;
  std::unordered_map<std::string, bool> ra_expected_;
  std::unordered_map<std::uint64_t, Open> open_;  // packet digest -> its record
  std::vector<SignalRecord> records_;
};

}  // namespace mipv6::sim
