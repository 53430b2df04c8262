#include "core/signalling.h"

#include <algorithm>
#include <vector>

#include "wire/checksum.h"
#include "wire/extension_headers.h"
#include "wire/packet.h"

namespace mipv6::core {
namespace {

constexpr std::size_t kMhTypeOffset = 2;
constexpr std::size_t kHeaderLenOffset = 1;

std::uint32_t absolute(const RxPacket& packet, std::size_t offset_in_mh) {
  return static_cast<std::uint32_t>(packet.layout.upper_offset + offset_in_mh);
}

// Writes the whole packet in one buffer, without the allocations of wire::build_packet: this is
// the hot path of every BA a home agent or correspondent sends. `encode_upper` appends the MH
// or ICMPv6 message.
template <class EncodeUpper>
wire::Bytes build_signalling_packet(const SignallingAddresses& a, std::uint8_t protocol,
                                    EncodeUpper&& encode_upper) {
  wire::Bytes packet;
  packet.reserve(128);
  wire::Writer out(packet);
  // RFC 6275 §6.4.1 / §6.3: the routing header comes before the Destination Options header
  // that carries the Home Address option.
  std::uint8_t after_routing =
      a.home_address_option ? wire::ip_proto::kDestinationOptions : protocol;
  wire::Ipv6Header header;
  header.source = a.source;
  header.destination = a.destination;
  header.hop_limit = a.hop_limit;
  header.next_header = a.type2_home_address ? wire::ip_proto::kRouting : after_routing;
  wire::encode_ipv6_header(out, header);
  if (a.type2_home_address)
    wire::write_type2_routing_header(out, after_routing, *a.type2_home_address);
  if (a.home_address_option)
    wire::write_home_address_destination_options(out, protocol, *a.home_address_option);
  std::size_t upper_offset = packet.size();
  encode_upper(packet);
  out.put_u16_at(4, static_cast<std::uint16_t>(packet.size() - wire::kIpv6HeaderSize));
  // §6.1.1, §6.3, §6.4: the Home Address option's address is the pseudo-header source, the
  // Type 2 Routing header's address (Segments Left 1: the final destination) its destination.
  std::size_t field = upper_offset + *wire::checksum_field_offset(protocol);
  if (field + 2 <= packet.size()) {
    out.put_u16_at(field, 0);
    out.put_u16_at(
        field, wire::upper_layer_checksum(a.home_address_option.value_or(a.source),
                                          a.type2_home_address.value_or(a.destination), protocol,
                                          wire::ByteSpan(packet).subspan(upper_offset)));
  }
  return packet;
}

wire::Bytes build_icmp_error(const wire::Ipv6Address& source, const RxPacket& invoking,
                             std::uint8_t code, wire::Icmpv6Body body) {
  // The invoking packet, trimmed so the whole error fits in the minimum MTU (RFC 4443 §2.4(c)):
  // 40 octets of IPv6 header and 8 of ICMPv6 header precede it.
  std::size_t room = kIpv6MinimumMtu - wire::kIpv6HeaderSize - 8;
  auto quoted = invoking.bytes.first(std::min(room, invoking.bytes.size()));
  std::visit(
      [&](auto& message) {
        if constexpr (requires { message.invoking_packet; })
          message.invoking_packet.assign(quoted.begin(), quoted.end());
      },
      body);
  wire::Icmpv6Message message;
  message.code = code;
  message.body = std::move(body);
  return build_icmpv6_packet({source, invoking.layout.ipv6.source, std::nullopt, std::nullopt, 64},
                             message);
}

}  // namespace

MhInput check_mobility_header(const RxPacket& packet) {
  MhInput input;
  if (!packet.layout.upper_complete()) {
    input.verdict = MhVerdict::kFragmented;
    return input;
  }
  auto mh = packet.upper();
  // §9.2, first: a checksum that does not verify (with the HAO / RH2 pseudo-header rules).
  if (mh.size() < 6 || !wire::verify_upper_checksum(packet.bytes, packet.layout)) {
    input.verdict = mh.size() < 6 ? MhVerdict::kMalformed : MhVerdict::kBadChecksum;
    return input;
  }
  input.mh_type = std::to_integer<std::uint8_t>(mh[kMhTypeOffset]);
  // Then the MH Type: unknown types get a Binding Error status 2.
  auto minimum = wire::minimum_header_len(input.mh_type);
  if (!minimum) {
    input.verdict = MhVerdict::kUnknownType;
    return input;
  }
  // Then Payload Proto, then Header Len, each answered by a Parameter Problem code 0.
  if (std::to_integer<std::uint8_t>(mh[0]) != wire::kIpProtoNone) {
    input.verdict = MhVerdict::kBadPayloadProto;
    input.pointer = absolute(packet, 0);
    return input;
  }
  if (std::to_integer<std::uint8_t>(mh[kHeaderLenOffset]) < *minimum) {
    input.verdict = MhVerdict::kBadHeaderLen;
    input.pointer = absolute(packet, kHeaderLenOffset);
    return input;
  }
  auto decoded = wire::decode_mobility_header(mh);
  if (!decoded) {
    input.verdict = MhVerdict::kMalformed;
    input.pointer = absolute(packet, decoded.error().offset);
    return input;
  }
  input.header = std::move(*decoded);
  input.verdict = MhVerdict::kAccept;
  return input;
}

IcmpInput check_icmpv6(const RxPacket& packet) {
  IcmpInput input;
  if (!packet.layout.upper_complete() ||
      !wire::verify_upper_checksum(packet.bytes, packet.layout)) {
    input.verdict = IcmpVerdict::kBadChecksum;
    return input;
  }
  auto decoded = wire::decode_icmpv6(packet.upper());
  if (!decoded) return input;
  input.message = std::move(*decoded);
  input.verdict = IcmpVerdict::kAccept;
  return input;
}

wire::Bytes build_mobility_packet(const SignallingAddresses& addresses,
                                  const wire::MobilityHeader& mh) {
  return build_signalling_packet(addresses, wire::kIpProtoMobility, [&](wire::Bytes& out) {
    // Alignment of mobility options is counted from the MH start (§6.2.1), which the encoder
    // takes as out.size(). It only fails for option data over 255 octets, which engines
    // never build.
    (void)wire::encode_mobility_header(mh, out);
  });
}

wire::Bytes build_icmpv6_packet(const SignallingAddresses& addresses,
                                const wire::Icmpv6Message& message) {
  return build_signalling_packet(addresses, wire::kIcmpv6NextHeader,
                                 [&](wire::Bytes& out) { wire::encode_icmpv6(message, out); });
}

bool may_send_icmp_error(const RxPacket& invoking) {
  const auto& source = invoking.layout.ipv6.source;
  if (source.is_unspecified() || source.is_multicast()) return false;
  if (invoking.layout.upper_protocol == wire::kIcmpv6NextHeader) {
    auto upper = invoking.upper();
    // Error messages have types 0-127 (RFC 4443 §2.1).
    if (upper.empty() || std::to_integer<std::uint8_t>(upper[0]) < 128) return false;
  }
  return true;
}

wire::Bytes build_parameter_problem(const wire::Ipv6Address& source, const RxPacket& invoking,
                                    std::uint8_t code, std::uint32_t pointer) {
  wire::ParameterProblem problem;
  problem.pointer = pointer;
  return build_icmp_error(source, invoking, code, std::move(problem));
}

wire::Bytes build_destination_unreachable(const wire::Ipv6Address& source, const RxPacket& invoking,
                                          std::uint8_t code) {
  return build_icmp_error(source, invoking, code, wire::DestinationUnreachable{});
}

void RateLimiter::refill(TimePoint now) {
  if (last_) {
    double elapsed = std::chrono::duration<double>(now - *last_).count();
    tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
  }
  // A time earlier than the last one (not expected) neither refills nor moves `last_` back.
  if (!last_ || now > *last_) last_ = now;
}

bool RateLimiter::can_allow(TimePoint now) {
  refill(now);
  return tokens_ >= 1.0;
}

bool RateLimiter::allow(TimePoint now) {
  if (!can_allow(now)) return false;
  tokens_ -= 1.0;
  return true;
}

KeyedRateLimiter::KeyedRateLimiter(RateLimit per_key, RateLimit global, std::size_t capacity,
                                   std::uint64_t hash_seed)
    : per_key_(per_key),
      global_(global),
      capacity_(std::clamp<std::size_t>(capacity, 1, kNil - 1)),
      index_(0, SeededHash{hash_seed}) {
  // All the memory the limiter will ever use for its keys, up front.
  slots_.reserve(capacity_);
  index_.reserve(capacity_);
}

std::size_t KeyedRateLimiter::SeededHash::operator()(
    const wire::Ipv6Address& address) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    high = (high << 8) | address.bytes[i];
    low = (low << 8) | address.bytes[i + 8];
  }
  // Both halves, each mixed with the seed, then a 64-bit finaliser (MurmurHash3's fmix64).
  std::uint64_t h = (high ^ seed) * 0x9e3779b97f4a7c15ull;
  h ^= (low ^ (seed << 32 | seed >> 32)) * 0xc2b2ae3d27d4eb4full;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

double KeyedRateLimiter::refilled(const Slot& slot, TimePoint now) const {
  double elapsed = std::max(0.0, std::chrono::duration<double>(now - slot.last).count());
  return std::min(per_key_.burst, slot.tokens + elapsed * per_key_.rate_per_second);
}

void KeyedRateLimiter::unlink(std::uint32_t index) {
  Slot& slot = slots_[index];
  if (slot.newer != kNil)
    slots_[slot.newer].older = slot.older;
  else
    most_recent_ = slot.older;
  if (slot.older != kNil)
    slots_[slot.older].newer = slot.newer;
  else
    least_recent_ = slot.newer;
  slot.newer = slot.older = kNil;
}

void KeyedRateLimiter::push_most_recent(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.newer = kNil;
  slot.older = most_recent_;
  if (most_recent_ != kNil) slots_[most_recent_].newer = index;
  most_recent_ = index;
  if (least_recent_ == kNil) least_recent_ = index;
}

std::uint32_t KeyedRateLimiter::take_slot() {
  if (slots_.size() < capacity_) {
    slots_.emplace_back();
    return static_cast<std::uint32_t>(slots_.size() - 1);
  }
  std::uint32_t victim = least_recent_;
  unlink(victim);
  index_.erase(slots_[victim].key);
  return victim;
}

bool KeyedRateLimiter::allow(const wire::Ipv6Address& key, TimePoint now) {
  auto found = index_.find(key);
  // An untracked key has a full bucket.
  double tokens = found == index_.end() ? per_key_.burst : refilled(slots_[found->second], now);
  bool allowed = tokens >= 1.0 && global_.can_allow(now);
  if (found != index_.end()) {
    std::uint32_t index = found->second;
    Slot& slot = slots_[index];
    slot.tokens = allowed ? tokens - 1.0 : tokens;
    if (now > slot.last) slot.last = now;
    unlink(index);
    push_most_recent(index);
  } else if (allowed) {
    std::uint32_t index = take_slot();
    Slot& slot = slots_[index];
    slot.key = key;
    slot.tokens = tokens - 1.0;
    slot.last = now;
    index_.emplace(key, index);
    push_most_recent(index);
  }
  if (allowed) (void)global_.allow(now);
  return allowed;
}

}  // namespace mipv6::core
