#include "sim/node.h"

#include <algorithm>

#include "sim/link.h"

namespace mipv6::sim {

Interface::Interface(Node& owner, std::uint32_t ifindex, MacAddress mac, std::string name)
    : owner_(owner), ifindex_(ifindex), mac_(mac), name_(std::move(name)) {}

Interface::~Interface() {
  if (link_ != nullptr) link_->forget(*this);
}

void Interface::add_address(const wire::Ipv6Address& address, std::uint8_t prefix_len) {
  if (has_address(address)) return;
  addresses_.push_back(InterfaceAddress{address, prefix_len});
  // RFC 4861 §7.2.1: a node joins the solicited-node group of every unicast address it holds.
  join_group(solicited_node_multicast(address));
  if (link_ != nullptr) link_->learn(*this, address);
}

bool Interface::remove_address(const wire::Ipv6Address& address) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const InterfaceAddress& a) { return a.address == address; });
  if (it == addresses_.end()) return false;
  addresses_.erase(it);
  leave_group(solicited_node_multicast(address));
  if (link_ != nullptr) link_->unlearn(*this, address);
  return true;
}

void Interface::join_group(const wire::Ipv6Address& group) {
  const MacAddress mac = MacAddress::for_ipv6_multicast(group);
  if (++groups_[mac] != 1) return;
  if (link_ != nullptr && filter_multicast_) link_->add_listener(*this, mac);
}

void Interface::leave_group(const wire::Ipv6Address& group) {
  const MacAddress mac = MacAddress::for_ipv6_multicast(group);
  auto it = groups_.find(mac);
  if (it == groups_.end() || --it->second != 0) return;
  groups_.erase(it);
  if (link_ != nullptr && filter_multicast_) link_->remove_listener(*this, mac);
}

bool Interface::listens(const MacAddress& destination) const {
  if (!filter_multicast_ || destination == kAllNodesMac || destination == MacAddress::broadcast())
    return true;
  return groups_.contains(destination);
}

bool Interface::has_address(const wire::Ipv6Address& address) const {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const InterfaceAddress& a) { return a.address == address; });
}

bool Interface::on_link(const wire::Ipv6Address& address) const {
  return std::any_of(addresses_.begin(), addresses_.end(), [&](const InterfaceAddress& a) {
    return address.in_prefix(a.address, a.prefix_len);
  });
}

bool Interface::send_frame(const MacAddress& destination, wire::Bytes packet) {
  if (link_ == nullptr) return false;
  link_->send(*this, Frame{destination, mac_, std::move(packet)});
  return true;
}

bool Interface::send_ipv6(const wire::Ipv6Address& next_hop, wire::Bytes packet) {
  if (link_ == nullptr) return false;
  if (next_hop.is_multicast()) {
    return send_frame(MacAddress::for_ipv6_multicast(next_hop), std::move(packet));
  }
  if (nd_) return nd_->send(next_hop, std::move(packet));
  auto mac = link_->resolve(next_hop);
  if (!mac) return false;
  return send_frame(*mac, std::move(packet));
}

NeighborDiscovery& Interface::enable_nd(const NdConfig& config) {
  if (nd_) return *nd_;
  nd_ = std::make_unique<NeighborDiscovery>(*this, config);
  // From now on group frames are filtered by the groups joined (a NIC's multicast filter).
  if (link_ != nullptr) link_->unindex(*this);
  filter_multicast_ = true;
  if (link_ != nullptr) link_->index(*this);
  if (config.is_router) join_group(kAllRouters);  // RFC 4291 §2.7.1
  return *nd_;
}

Node::Node(Scheduler& scheduler, std::string name)
    : scheduler_(scheduler), name_(std::move(name)) {}

Interface& Node::add_interface(MacAddress mac, std::string name) {
  auto ifindex = static_cast<std::uint32_t>(interfaces_.size() + 1);
  if (name.empty()) name = "eth" + std::to_string(ifindex - 1);
  interfaces_.push_back(std::make_unique<Interface>(*this, ifindex, mac, std::move(name)));
  return *interfaces_.back();
}

Interface* Node::interface(std::uint32_t ifindex) const {
  if (ifindex == 0 || ifindex > interfaces_.size()) return nullptr;
  return interfaces_[ifindex - 1].get();
}

bool Node::owns_address(const wire::Ipv6Address& address) const {
  return std::any_of(interfaces_.begin(), interfaces_.end(),
                     [&](const auto& i) { return i->has_address(address); });
}

}  // namespace mipv6::sim
