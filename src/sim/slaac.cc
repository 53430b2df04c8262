#include "sim/slaac.h"

#include <algorithm>

#include "sim/node.h"

namespace mipv6::sim {
namespace {

constexpr std::uint32_t kInfinite = 0xffffffff;        // RFC 4861 §4.6.2: all ones = infinity
constexpr Duration kTwoHours = std::chrono::hours(2);  // RFC 4862 §5.5.3 (e)
constexpr unsigned kInterfaceIdBits = 64;              // RFC 4291 §2.5.1

std::optional<Duration> lifetime(std::uint32_t seconds) {
  if (seconds == kInfinite) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace

wire::Ipv6Address eui64_address(const wire::Ipv6Address& prefix, const MacAddress& mac) {
  wire::Ipv6Address a = prefix;
  a.bytes[8] = static_cast<std::uint8_t>(mac.bytes[0] ^ 0x02);  // invert the U/L bit
  a.bytes[9] = mac.bytes[1];
  a.bytes[10] = mac.bytes[2];
  a.bytes[11] = 0xff;
  a.bytes[12] = 0xfe;
  a.bytes[13] = mac.bytes[3];
  a.bytes[14] = mac.bytes[4];
  a.bytes[15] = mac.bytes[5];
  return a;
}

Slaac::Slaac(Interface& iface, SlaacConfig config) : iface_(iface), config_(config) {}

Slaac::~Slaac() {
  Scheduler& s = iface_.node().scheduler();
  for (Managed& m : addresses_) {
    s.cancel(m.dad_timer);
    s.cancel(m.lifetime_timer);
  }
}

Slaac::Managed* Slaac::find(const wire::Ipv6Address& address) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const Managed& m) { return m.address == address; });
  return it == addresses_.end() ? nullptr : &*it;
}

const Slaac::Managed* Slaac::find(const wire::Ipv6Address& address) const {
  return const_cast<Slaac*>(this)->find(address);  // NOLINT: same lookup, const view
}

void Slaac::notify(AddressEvent::Kind kind, const Managed& m) {
  if (callback_) callback_(AddressEvent{kind, m.address, m.prefix_len, m.state});
}

void Slaac::start() {
  if (!config_.link_local) return;
  // RFC 4862 §5.3: fe80::/64 and the interface identifier; lifetimes infinite.
  auto ll = eui64_address(*wire::Ipv6Address::parse("fe80::"), iface_.mac());
  if (find(ll) == nullptr) add(ll, 64, std::nullopt, std::nullopt);
}

void Slaac::stop() {
  while (!addresses_.empty())
    remove(addresses_.back().address, AddressEvent::Kind::kRemoved);
}

void Slaac::add(const wire::Ipv6Address& address, std::uint8_t prefix_len,
                std::optional<Duration> preferred, std::optional<Duration> valid) {
  Managed m;
  m.address = address;
  m.prefix_len = prefix_len;
  // RFC 4429 §3.1: an Optimistic address may be used at once; RFC 4862 §5.4: a tentative one
  // is not assigned to the interface until DAD passes.
  m.state = config_.optimistic_dad ? AddressState::kOptimistic : AddressState::kTentative;
  addresses_.push_back(m);
  // RFC 4862 §5.4.2: the interface joins the tentative address's solicited-node group before
  // its DAD starts (to hear another node's DAD for the same address, §5.4.3).
  iface_.join_group(solicited_node_multicast(address));
  Managed& ref = addresses_.back();
  set_lifetimes(ref, preferred, valid);
  if (ref.state == AddressState::kOptimistic) iface_.add_address(address, prefix_len);
  notify(AddressEvent::Kind::kAdded, ref);
  if (config_.dup_addr_detect_transmits == 0) {  // §5.4: DAD disabled: preferred at once
    dad_step(address);
    return;
  }
  if (config_.skip_dad && config_.skip_dad(address)) {
    if (Managed* skipped = find(address)) skipped->dad_sent = config_.dup_addr_detect_transmits;
    dad_step(address);
    return;
  }
  send_dad_ns(address);
  Managed* again = find(address);
  if (again == nullptr) return;
  again->dad_sent = 1;
  again->dad_timer = iface_.node().scheduler().schedule_in(config_.retrans_timer,
                                                           [this, address] { dad_step(address); });
}

void Slaac::send_dad_ns(const wire::Ipv6Address& address) {
  // RFC 4862 §5.4.2: from the unspecified address to the solicited-node group, no SLLAO.
  wire::NeighborSolicitation ns;
  ns.target_address = address;
  auto group = solicited_node_multicast(address);
  iface_.send_frame(MacAddress::for_ipv6_multicast(group),
                    build_nd_packet(wire::Ipv6Address{}, group, ns));
  ++dad_ns_sent_;
}

void Slaac::dad_step(const wire::Ipv6Address& address) {
  Managed* m = find(address);
  if (m == nullptr) return;
  m->dad_timer = {};
  if (m->dad_sent < config_.dup_addr_detect_transmits) {  // §5.4.2: RetransTimer apart
    send_dad_ns(address);
    ++m->dad_sent;
    m->dad_timer = iface_.node().scheduler().schedule_in(config_.retrans_timer,
                                                         [this, address] { dad_step(address); });
    return;
  }
  // §5.4: no duplicate within DupAddrDetectTransmits × RetransTimer: the address is ours.
  m->state = m->preferred_until && *m->preferred_until <= iface_.node().scheduler().now()
                 ? AddressState::kDeprecated
                 : AddressState::kPreferred;
  iface_.add_address(address, m->prefix_len);
  notify(AddressEvent::Kind::kReady, *m);
}

bool Slaac::on_packet(const NdInput& input) {
  wire::Ipv6Address target;
  bool conflict = false;
  if (const auto* ns = std::get_if<wire::NeighborSolicitation>(&input.message.body)) {
    target = ns->target_address;
    // §5.4.3: a DAD NS (from ::) for our tentative address: another node is trying it too.
    conflict = input.ip.source.is_unspecified();
  } else if (const auto* na = std::get_if<wire::NeighborAdvertisement>(&input.message.body)) {
    target = na->target_address;
    conflict = true;  // §5.4.4: someone already uses it
  } else {
    return false;
  }
  const Managed* m = find(target);
  if (m == nullptr) return false;
  const bool dad_running =
      m->state == AddressState::kTentative || m->state == AddressState::kOptimistic;
  if (!dad_running) return false;
  // RFC 4429 §3.3: an Optimistic address is answered for (ND's business), unlike a tentative one.
  if (!conflict && m->state == AddressState::kOptimistic) return false;
  // §5.4.3: an NS from a unicast source for a tentative address is silently discarded.
  if (conflict) duplicate(target);
  return true;
}

void Slaac::duplicate(const wire::Ipv6Address& address) {
  // §5.4.5: the address is not assigned; the interface stays up (manual intervention).
  remove(address, AddressEvent::Kind::kDuplicate);
}

void Slaac::set_lifetimes(Managed& m, std::optional<Duration> preferred,
                          std::optional<Duration> valid) {
  const TimePoint now = iface_.node().scheduler().now();
  m.preferred_until = preferred ? std::optional(now + *preferred) : std::nullopt;
  m.valid_until = valid ? std::optional(now + *valid) : std::nullopt;
  arm_lifetime(m);
}

void Slaac::arm_lifetime(Managed& m) {
  Scheduler& s = iface_.node().scheduler();
  s.cancel(m.lifetime_timer);
  m.lifetime_timer = {};
  std::optional<TimePoint> next;
  if (m.preferred_until && m.state != AddressState::kDeprecated) next = m.preferred_until;
  if (m.valid_until && (!next || *m.valid_until < *next)) next = m.valid_until;
  if (!next) return;
  const wire::Ipv6Address address = m.address;
  m.lifetime_timer = s.schedule(*next, [this, address] { on_lifetime(address); });
}

void Slaac::on_lifetime(const wire::Ipv6Address& address) {
  Managed* m = find(address);
  if (m == nullptr) return;
  m->lifetime_timer = {};
  const TimePoint now = iface_.node().scheduler().now();
  if (m->valid_until && *m->valid_until <= now) {  // §5.5.4: invalid: removed
    remove(address, AddressEvent::Kind::kRemoved);
    return;
  }
  if (m->preferred_until && *m->preferred_until <= now && m->state == AddressState::kPreferred) {
    m->state = AddressState::kDeprecated;  // §5.5.4: deprecated, still valid
    notify(AddressEvent::Kind::kDeprecated, *m);
  }
  arm_lifetime(*m);
}

void Slaac::remove(const wire::Ipv6Address& address, AddressEvent::Kind why) {
  auto it = std::find_if(addresses_.begin(), addresses_.end(),
                         [&](const Managed& m) { return m.address == address; });
  if (it == addresses_.end()) return;
  Managed m = *it;
  addresses_.erase(it);
  Scheduler& s = iface_.node().scheduler();
  s.cancel(m.dad_timer);
  s.cancel(m.lifetime_timer);
  iface_.remove_address(address);
  iface_.leave_group(solicited_node_multicast(address));
  notify(why, m);
}

void Slaac::on_prefix(const wire::PrefixInformationOption& pio) {
  // RFC 4862 §5.5.3: (a) A flag; (b) not link-local; (c) preferred ≤ valid; the prefix plus
  // the 64-bit interface identifier must make 128 bits (RFC 4291 §2.5.1).
  if (!pio.a || pio.prefix.is_link_local()) return;
  if (pio.preferred_lifetime > pio.valid_lifetime) return;
  if (pio.prefix_length + kInterfaceIdBits != 128) return;
  const auto address = eui64_address(pio.prefix, iface_.mac());
  Managed* m = find(address);
  if (m == nullptr) {
    // (d) a new prefix with a non-zero Valid Lifetime forms an address.
    if (pio.valid_lifetime == 0) return;
    add(address, pio.prefix_length, lifetime(pio.preferred_lifetime), lifetime(pio.valid_lifetime));
    return;
  }
  // (e) known prefix: the preferred lifetime is reset; the valid lifetime only beyond two hours
  // or the remaining one (the "two-hour rule" against lifetime-shortening attacks).
  const TimePoint now = iface_.node().scheduler().now();
  auto received = lifetime(pio.valid_lifetime);
  std::optional<Duration> remaining;
  if (m->valid_until) remaining = *m->valid_until - now;
  std::optional<Duration> valid = remaining;
  if (!received || *received > kTwoHours || (remaining && *received > *remaining)) {
    valid = received;
  } else if (!remaining || *remaining > kTwoHours) {
    valid = kTwoHours;
  }
  if (m->state == AddressState::kDeprecated && pio.preferred_lifetime > 0) {
    m->state = AddressState::kPreferred;
  }
  set_lifetimes(*m, lifetime(pio.preferred_lifetime), valid);
}

std::optional<AddressState> Slaac::state(const wire::Ipv6Address& address) const {
  const Managed* m = find(address);
  if (m == nullptr) return std::nullopt;
  return m->state;
}

bool Slaac::is_tentative(const wire::Ipv6Address& address) const {
  const Managed* m = find(address);
  return m != nullptr && m->state == AddressState::kTentative;
}

}  // namespace mipv6::sim
