#include "sim/link.h"

#include <algorithm>
#include <iterator>

#include "sim/random.h"

namespace mipv6::sim {

Link::Link(Scheduler& scheduler, std::string name, LinkParams params, std::uint64_t seed)
    : scheduler_(scheduler), name_(std::move(name)), params_(params), rng_(seed) {}

Link::~Link() {
  for (Interface* iface : attached_) {
    if (iface != nullptr) iface->link_ = nullptr;
  }
}

double Link::loss_at(TimePoint t) const {
  for (const LossBurst& b : bursts_) {
    if (t >= b.start && t < b.end) return b.loss;
  }
  return params_.loss;
}

Duration Link::serialisation_delay(std::size_t wire_bytes) const {
  if (params_.bandwidth_bps == 0) return Duration(0);
  const std::uint64_t bits = std::uint64_t{wire_bytes} * 8;
  // Round up: a frame has not left the transmitter until its last bit has.
  const std::uint64_t ns =
      (bits * 1'000'000'000ull + params_.bandwidth_bps - 1) / params_.bandwidth_bps;
  return Duration(static_cast<std::int64_t>(ns));
}

void Link::attach(Interface& iface) {
  if (iface.link_ == this) return;
  if (iface.link_ != nullptr) iface.link_->detach(iface);
  iface.link_ = this;
  iface.tx_busy_until_ = scheduler_.now();
  iface.tx_waiting_.clear();
  iface.tx_waiting_head_ = 0;
  iface.attach_seq_ = next_attach_seq_++;
  slot_of_[&iface] = attached_.size();
  attached_.push_back(&iface);
  index(iface);
  by_mac_[iface.mac()] = &iface;
  for (const InterfaceAddress& a : iface.addresses())
    learn(iface, a.address);
  iface.node().on_link_up(iface);
}

void Link::detach(Interface& iface) {
  if (iface.link_ != this) return;
  forget(iface);
  iface.node().on_link_down(iface);
}

void Link::forget(Interface& iface) {
  auto slot = slot_of_.find(&iface);
  if (slot == slot_of_.end()) return;
  attached_[slot->second] = nullptr;
  slot_of_.erase(slot);
  ++holes_;
  unindex(iface);
  if (delivering_ != 0)
    std::replace(group_receivers_.begin(), group_receivers_.end(), &iface,
                 static_cast<Interface*>(nullptr));
  auto mac = by_mac_.find(iface.mac());
  if (mac != by_mac_.end() && mac->second == &iface) by_mac_.erase(mac);
  for (const InterfaceAddress& a : iface.addresses())
    unlearn(iface, a.address);
  iface.link_ = nullptr;
  if (delivering_ == 0) compact();
}

// Compacting costs O(attached); doing it only once holes make up half the vector keeps a detach
// amortised O(1) on a link with many mobile nodes.
void Link::compact() {
  if (holes_ == 0 || holes_ * 2 < attached_.size()) return;
  std::erase(attached_, nullptr);
  for (std::size_t i = 0; i < attached_.size(); ++i)
    slot_of_[attached_[i]] = i;
  holes_ = 0;
}

namespace {

void erase_one(std::vector<Interface*>& list, Interface* iface) {
  auto it = std::find(list.begin(), list.end(), iface);
  if (it != list.end()) list.erase(it);
}

}  // namespace

bool Link::attached_earlier(const Interface* a, const Interface* b) {
  return a->attach_seq_ < b->attach_seq_;
}

// Inserts `iface` at its place in `list` (ordered by attachment): at the end when it joins at
// attach time, the common case.
void Link::insert_ordered(std::vector<Interface*>& list, Interface* iface) {
  list.insert(std::upper_bound(list.begin(), list.end(), iface, attached_earlier), iface);
}

void Link::index(Interface& iface) {
  if (!iface.filter_multicast_) {
    insert_ordered(unfiltered_, &iface);
    return;
  }
  for (const auto& [group, count] : iface.groups_)
    add_listener(iface, group);
}

void Link::unindex(Interface& iface) {
  if (!iface.filter_multicast_) {
    erase_one(unfiltered_, &iface);
    return;
  }
  for (const auto& [group, count] : iface.groups_)
    remove_listener(iface, group);
}

void Link::add_listener(Interface& iface, const MacAddress& group) {
  if (group == kAllNodesMac) return;  // everyone: the attachment list itself
  insert_ordered(members_[group], &iface);
}

void Link::remove_listener(Interface& iface, const MacAddress& group) {
  auto it = members_.find(group);
  if (it == members_.end()) return;
  erase_one(it->second, &iface);
  if (it->second.empty()) members_.erase(it);
}

void Link::learn(Interface& iface, const wire::Ipv6Address& address) {
  neighbours_[address] = &iface;
}

void Link::unlearn(Interface& iface, const wire::Ipv6Address& address) {
  auto it = neighbours_.find(address);
  if (it != neighbours_.end() && it->second == &iface) neighbours_.erase(it);
}

std::optional<MacAddress> Link::resolve(const wire::Ipv6Address& address) const {
  auto it = neighbours_.find(address);
  if (it == neighbours_.end()) return std::nullopt;
  return it->second->mac();
}

void Link::send(Interface& from, Frame frame) {
  ++counters_.frames_sent;
  const TimePoint now = scheduler_.now();
  auto& waiting = from.tx_waiting_;
  auto& head = from.tx_waiting_head_;
  while (head < waiting.size() && waiting[head] <= now)
    ++head;                                                   // those have reached the transmitter
  if (head == waiting.size() || head * 2 > waiting.size()) {  // reclaim the consumed front
    waiting.erase(waiting.begin(), waiting.begin() + static_cast<std::ptrdiff_t>(head));
    head = 0;
  }
  const TimePoint start = std::max(now, from.tx_busy_until_);
  if (start > now) {
    if (params_.queue_limit != 0 && waiting.size() - head >= params_.queue_limit) {
      ++counters_.frames_dropped_queue;
      return;
    }
    waiting.push_back(start);
  }
  const TimePoint finish = start + serialisation_delay(frame.wire_size());
  from.tx_busy_until_ = finish;
  if (chance(rng_, loss_at(start))) {
    ++counters_.frames_dropped_loss;
    return;
  }
  scheduler_.schedule(finish + params_.delay, [this, f = std::move(frame)] { deliver(f); });
}

// The sender is recognised by its MAC (the frame's source): an Ethernet port does not receive
// its own frames.
void Link::deliver(const Frame& frame) {
  ++counters_.frames_carried;
  if (pcap_) pcap_->write(scheduler_.now(), frame);
  if (observer_) observer_(*this, scheduler_.now(), frame);
  ++delivering_;
  if (frame.destination.is_multicast() && frame.destination != kAllNodesMac &&
      frame.destination != MacAddress::broadcast()) {
    deliver_to_group(frame);
  } else if (frame.destination.is_multicast()) {
    // Interfaces attached during this delivery (at the end) do not receive this frame.
    const std::size_t n = attached_.size();
    for (std::size_t i = 0; i < n; ++i) {
      Interface* receiver = attached_[i];
      if (receiver != nullptr && receiver->mac() != frame.source) deliver_to(*receiver, frame);
    }
  } else if (auto it = by_mac_.find(frame.destination); it != by_mac_.end()) {
    if (frame.source != frame.destination) deliver_to(*it->second, frame);
  }
  if (--delivering_ == 0) compact();
}

// The group's members and the unfiltered interfaces, merged in attachment order: the order in
// which every one of them would have received the frame from the whole attachment list.
void Link::deliver_to_group(const Frame& frame) {
  static const std::vector<Interface*> kNone;
  auto it = members_.find(frame.destination);
  const std::vector<Interface*>& members = it == members_.end() ? kNone : it->second;
  group_receivers_.clear();
  std::merge(members.begin(), members.end(), unfiltered_.begin(), unfiltered_.end(),
             std::back_inserter(group_receivers_), attached_earlier);
  // Interfaces attached during this delivery (a later sequence) do not receive this frame.
  const std::uint64_t attached_before = next_attach_seq_;
  for (std::size_t i = 0; i < group_receivers_.size(); ++i) {
    Interface* receiver = group_receivers_[i];
    if (receiver == nullptr || receiver->link_ != this ||
        receiver->attach_seq_ >= attached_before || receiver->mac() == frame.source)
      continue;
    deliver_to(*receiver, frame);
  }
}

void Link::deliver_to(Interface& receiver, const Frame& frame) {
  ++counters_.frames_delivered;
  receiver.node().on_frame(receiver, frame);
}

}  // namespace mipv6::sim
