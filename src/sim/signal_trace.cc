#include "sim/signal_trace.h"

#include <algorithm>
#include <cstring>

#include "core/engine.h"
#include "sim/mobile_host.h"
#include "sim/slaac.h"
#include "wire/ipv6.h"
#include "wire/packet.h"

namespace mipv6::sim {

namespace {

using namespace std::chrono_literals;

// ICMPv6 types (RFC 4861 §4, RFC 6275 §6.5-§6.8).
constexpr std::uint8_t kRouterSolicitation = 133;
constexpr std::uint8_t kRouterAdvertisement = 134;
constexpr std::uint8_t kNeighborSolicitation = 135;
constexpr std::uint8_t kNeighborAdvertisement = 136;
constexpr std::uint8_t kDhaadRequest = 144;
constexpr std::uint8_t kDhaadReply = 145;
constexpr std::uint8_t kPrefixSolicitation = 146;
constexpr std::uint8_t kPrefixAdvertisement = 147;
constexpr std::size_t kNdTargetOffset = 8;  // type, code, checksum, reserved / flags
constexpr std::size_t kHopLimitOffset = 7;  // RFC 8200 §3
// Frames of one packet are all seen within this (the longest path is a few tens of ms); the
// same bytes later are a new packet (e.g. an identical periodic RA).
constexpr Duration kSamePacketWindow = 5s;

const char* icmp_label(std::uint8_t type) {
  switch (type) {
    case kRouterSolicitation:
      return "RS";
    case kRouterAdvertisement:
      return "RA";
    case kNeighborSolicitation:
      return "NS";
    case kNeighborAdvertisement:
      return "NA";
    case kDhaadRequest:
      return "DHAAD request";
    case kDhaadReply:
      return "DHAAD reply";
    case kPrefixSolicitation:
      return "MPS";
    case kPrefixAdvertisement:
      return "MPA";
    default:
      return "";
  }
}

// The chart's label of a signalling packet; empty for data and everything else.
std::string signalling_label(wire::ByteSpan packet) {
  auto rx = core::make_rx_packet(packet, 0);
  if (!rx) return {};
  switch (rx->layout.upper_protocol) {
    case wire::ip_proto::kMobility:
      return mobility_label(packet);
    case wire::ip_proto::kIcmpv6: {
      auto upper = rx->upper();
      return upper.empty() ? std::string() : icmp_label(std::to_integer<std::uint8_t>(upper[0]));
    }
    case wire::ip_proto::kIpv6: {
      auto inner = wire::decapsulate(packet);
      if (!inner) return {};
      std::string label = signalling_label(*inner);
      return label.empty() ? label : label + " (tunnel)";
    }
    default:
      return {};
  }
}

// FNV-1a over the packet without its Hop Limit: the same packet on every link it crosses.
std::uint64_t digest(wire::ByteSpan packet) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < packet.size(); ++i) {
    if (i == kHopLimitOffset) continue;
    h = (h ^ std::to_integer<std::uint64_t>(packet[i])) * 1099511628211ull;
  }
  return h;
}

std::array<std::uint8_t, 8> interface_identifier(const wire::Ipv6Address& address) {
  std::array<std::uint8_t, 8> iid{};
  std::copy(address.bytes.begin() + 8, address.bytes.end(), iid.begin());
  return iid;
}

bool is_icmp_type(const core::RxPacket& rx, std::uint8_t type) {
  auto upper = rx.upper();
  return rx.layout.upper_protocol == wire::ip_proto::kIcmpv6 && !upper.empty() &&
         std::to_integer<std::uint8_t>(upper[0]) == type;
}

}  // namespace

SignalTrace::SignalTrace(std::size_t max_records) : max_records_(max_records) {}

void SignalTrace::observe(const Node& node) {
  observed_name_ = node.name();
  for (const auto& iface : node.interfaces()) {
    observed_macs_.push_back(iface->mac());
    observed_iids_.push_back(
        interface_identifier(eui64_address(wire::Ipv6Address{}, iface->mac())));
  }
}

void SignalTrace::name_node(const Node& node) {
  for (const auto& iface : node.interfaces()) {
    mac_names_[iface->mac()] = node.name();
    for (const InterfaceAddress& a : iface->addresses()) {
      if (!a.address.is_link_local()) address_names_[a.address] = node.name();
    }
  }
}

void SignalTrace::set_link_router(const std::string& link, const std::string& router) {
  link_routers_[link] = router;
}

void SignalTrace::expect_ra(const std::string& link) {
  ra_expected_[link] = true;
}

bool SignalTrace::is_observed(const MacAddress& mac) const {
  return std::find(observed_macs_.begin(), observed_macs_.end(), mac) != observed_macs_.end();
}

bool SignalTrace::is_observed(const wire::Ipv6Address& address) const {
  if (address.is_multicast() || address.is_unspecified()) return false;
  const auto iid = interface_identifier(address);
  return std::find(observed_iids_.begin(), observed_iids_.end(), iid) != observed_iids_.end();
}

// The node's own frames, packets from or to its addresses (outer or tunnelled inner header),
// and Neighbor Solicitations / Advertisements about its addresses (DAD, resolution by a router).
bool SignalTrace::concerns_observed(const Link& link, const Frame& frame) const {
  if (is_observed(frame.source) || is_observed(frame.destination)) return true;
  auto rx = core::make_rx_packet(frame.packet, 0);
  if (!rx) return false;
  const auto& ip = rx->layout.ipv6;
  if (is_observed(ip.source) || is_observed(ip.destination)) return true;
  if (rx->layout.upper_protocol == wire::ip_proto::kIpv6) {
    if (auto inner = wire::decapsulate(frame.packet)) {
      auto header = wire::decode_ipv6_header(*inner);
      if (header && (is_observed(header->source) || is_observed(header->destination))) return true;
    }
  }
  if (is_icmp_type(*rx, kNeighborSolicitation) || is_icmp_type(*rx, kNeighborAdvertisement)) {
    auto upper = rx->upper();
    if (upper.size() < kNdTargetOffset + 16) return false;
    wire::Ipv6Address target;
    std::memcpy(target.bytes.data(), upper.data() + kNdTargetOffset, target.bytes.size());
    return is_observed(target);
  }
  if (is_icmp_type(*rx, kRouterAdvertisement) && frame.destination.is_multicast()) {
    auto it = ra_expected_.find(link.name());
    return it != ra_expected_.end() && it->second;
  }
  return false;
}

std::string SignalTrace::name_of(const MacAddress& mac) const {
  if (is_observed(mac)) return observed_name_;
  auto it = mac_names_.find(mac);
  return it == mac_names_.end() ? std::string("?") : it->second;
}

std::string SignalTrace::destination_name(const Link& link, const Frame& frame) const {
  if (!frame.destination.is_multicast()) return name_of(frame.destination);
  if (!is_observed(frame.source)) return observed_name_;
  auto it = link_routers_.find(link.name());
  return it == link_routers_.end() ? link.name() : it->second;
}

// The router, home agent or correspondent the packet is addressed to (outer header), if any.
std::optional<std::string> SignalTrace::addressee(const Frame& frame) const {
  auto header = wire::decode_ipv6_header(frame.packet);
  if (!header) return std::nullopt;
  auto it = address_names_.find(header->destination);
  if (it == address_names_.end()) return std::nullopt;
  return it->second;
}

void SignalTrace::on_frame(const Link& link, TimePoint at, const Frame& frame) {
  if (!concerns_observed(link, frame)) return;
  std::string label = signalling_label(frame.packet);
  if (label.empty()) return;
  // The RA that answers an RS, or the first one after an attachment: recorded once.
  if (label == "RA" && frame.destination.is_multicast()) ra_expected_[link.name()] = false;
  if (label == "RS" && is_observed(frame.source)) expect_ra(link.name());
  const std::string handed_to = destination_name(link, frame);
  const std::uint64_t key = digest(frame.packet);
  auto it = open_.find(key);
  // The same bytes from the node that first sent them: a retransmission or the same message on
  // another link, a new packet (routers forwarding it have other MACs).
  if (it != open_.end() && at - it->second.first_seen < kSamePacketWindow &&
      it->second.first_source != frame.source) {
    SignalRecord& record = records_[it->second.index];
    if (!it->second.fixed_to) record.to = handed_to;
    if (record.to == handed_to) record.arrived = at;
    return;
  }
  if (records_.size() >= max_records_) return;
  const std::optional<std::string> named = addressee(frame);
  SignalRecord record{
      at,         std::nullopt, name_of(frame.source), named.value_or(handed_to), std::move(label),
      link.name()};
  if (record.to == handed_to) record.arrived = at;
  records_.push_back(std::move(record));
  open_[key] = Open{records_.size() - 1, at, frame.source, named.has_value()};
}

}  // namespace mipv6::sim
