#include "daemon/signalling_security.h"

#include <algorithm>
#include <utility>

#include "ipsec/mobility_auth.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"

namespace mipv6::daemon {

namespace {

constexpr std::uint8_t kMps = 146;  // Mobile Prefix Solicitation (RFC 6275 §6.7)
constexpr std::uint8_t kMpa = 147;  // Mobile Prefix Advertisement (§6.8)
constexpr std::uint8_t kBindingUpdateHomeFlag = 0x40;

// What a packet is, as far as the policy cares: its upper layer and message type.
struct Message {
  std::uint8_t protocol = 0;
  std::optional<std::uint8_t> type;  // MH Type or ICMPv6 Type
  bool home_registration = false;    // a BU with the H flag (§6.1.7)
};

Message classify(wire::ByteSpan packet, const wire::PacketLayout& layout) {
  Message message{layout.upper_protocol, std::nullopt, false};
  if (!layout.upper_complete()) return message;
  const wire::ByteSpan upper = packet.subspan(layout.upper_offset, layout.upper_length);
  if (layout.upper_protocol == wire::ip_proto::kMobility && upper.size() >= 3) {
    message.type = static_cast<std::uint8_t>(upper[2]);
    message.home_registration = *message.type == wire::kMhTypeBindingUpdate && upper.size() >= 9 &&
                                (static_cast<std::uint8_t>(upper[8]) & kBindingUpdateHomeFlag);
  } else if (layout.upper_protocol == wire::ip_proto::kIcmpv6 && !upper.empty()) {
    message.type = static_cast<std::uint8_t>(upper[0]);
  }
  return message;
}

bool is_mh(const Message& m, std::uint8_t type) {
  return m.protocol == wire::ip_proto::kMobility && m.type == type;
}
bool is_icmp(const Message& m, std::uint8_t type) {
  return m.protocol == wire::ip_proto::kIcmpv6 && m.type == type;
}

// RFC 4877 §4.2: the home address is the selector — the Home Address option's address (or the
// source, from the home link) for what a mobile node sends, the Type 2 Routing header's address
// (or the destination) for what it receives.
wire::Ipv6Address home_of_sent_by_mobile(const wire::PacketLayout& layout) {
  return layout.home_address.value_or(layout.ipv6.source);
}
wire::Ipv6Address home_of_sent_to_mobile(const wire::PacketLayout& layout) {
  return layout.type2_address.value_or(layout.ipv6.destination);
}

bool has_auth_option(wire::ByteSpan packet) {
  auto verified = ipsec::verify_mobility_message(
      packet, [](std::uint32_t) -> const wire::Bytes* { return nullptr; });
  const auto* error = std::get_if<ipsec::AuthError>(&verified);
  return error == nullptr || *error != ipsec::AuthError::kMissing;
}

}  // namespace

nlohmann::json SecurityCounters::to_json() const {
  nlohmann::json out = nlohmann::json::object();
#define MIPV6D_SECURITY_JSON(name) out[#name] = name;
  MIPV6D_SECURITY_COUNTERS(MIPV6D_SECURITY_JSON)
#undef MIPV6D_SECURITY_JSON
  return out;
}

// One mobile node's ESP SAs. `mobile_side`: this node is that mobile node (it sends mn_to_ha).
struct SignallingSecurity::EspPeer {
  EspEntry entry;
  bool mobile_side = false;
  ipsec::EspSender transport_out;
  ipsec::EspReceiver transport_in;
  std::optional<ipsec::EspSender> tunnel_out;
  std::optional<ipsec::EspReceiver> tunnel_in;
};

struct SignallingSecurity::AuthPeer {
  AuthOptionEntry entry;
  bool mobile_side = false;
  std::optional<std::uint64_t> last_timestamp;  // RFC 4285 §6: each newer than the last
};

namespace {

ipsec::EspParameters parameters(const EspEntry& entry, std::uint32_t spi, const EspKeys& keys) {
  return {spi, entry.suite, keys.encryption, keys.authentication, entry.replay_window};
}

}  // namespace

SignallingSecurity::SignallingSecurity(const SecuritySection& section,
                                       std::optional<wire::Ipv6Address> own_home_address,
                                       NtpClock ntp_now)
    : mode_(section.signalling),
      timestamp_window_(section.timestamp_window),
      own_home_address_(own_home_address),
      ntp_now_(std::move(ntp_now)) {
  if (mode_ == Signalling::kEsp) {
    for (const EspEntry& entry : section.esp) {
      const bool mobile = own_home_address_ == entry.home_address;
      // A mobile node sends on mn_to_ha and receives on ha_to_mn; a home agent the reverse.
      const auto& out_keys = mobile ? entry.mn_to_ha : entry.ha_to_mn;
      const auto& in_keys = mobile ? entry.ha_to_mn : entry.mn_to_ha;
      const std::uint32_t out_spi = mobile ? entry.spi_mn_to_ha : entry.spi_ha_to_mn;
      const std::uint32_t in_spi = mobile ? entry.spi_ha_to_mn : entry.spi_mn_to_ha;
      auto peer = std::unique_ptr<EspPeer>(new EspPeer{
          entry, mobile, ipsec::EspSender(parameters(entry, out_spi, out_keys)),
          ipsec::EspReceiver(parameters(entry, in_spi, in_keys)), std::nullopt, std::nullopt});
      inbound_[in_spi] = {peer.get(), false};
      if (entry.has_tunnel()) {
        const auto& tout = mobile ? entry.tunnel_mn_to_ha : entry.tunnel_ha_to_mn;
        const auto& tin = mobile ? entry.tunnel_ha_to_mn : entry.tunnel_mn_to_ha;
        const std::uint32_t tout_spi =
            mobile ? *entry.spi_tunnel_mn_to_ha : *entry.spi_tunnel_ha_to_mn;
        const std::uint32_t tin_spi =
            mobile ? *entry.spi_tunnel_ha_to_mn : *entry.spi_tunnel_mn_to_ha;
        peer->tunnel_out.emplace(parameters(entry, tout_spi, tout));
        peer->tunnel_in.emplace(parameters(entry, tin_spi, tin));
        inbound_[tin_spi] = {peer.get(), true};
        any_tunnel_sa_ = true;
      }
      peer->entry.mn_to_ha = {};  // the SAs hold the keys; the copy is not needed
      peer->entry.ha_to_mn = {};
      peer->entry.tunnel_mn_to_ha = {};
      peer->entry.tunnel_ha_to_mn = {};
      esp_peers_.push_back(std::move(peer));
    }
  }
  if (mode_ == Signalling::kAuthOption) {
    for (const AuthOptionEntry& entry : section.auth_option)
      auth_peers_.push_back(std::unique_ptr<AuthPeer>(
          new AuthPeer{entry, own_home_address_ == entry.home_address, std::nullopt}));
  }
}

SignallingSecurity::~SignallingSecurity() = default;

SignallingSecurity::EspPeer* SignallingSecurity::esp_peer(const wire::Ipv6Address& home) const {
  for (const auto& peer : esp_peers_)
    if (peer->entry.home_address == home) return peer.get();
  return nullptr;
}

SignallingSecurity::AuthPeer* SignallingSecurity::auth_peer(const wire::Ipv6Address& home) const {
  for (const auto& peer : auth_peers_)
    if (peer->entry.home_address == home) return peer.get();
  return nullptr;
}

nlohmann::json SignallingSecurity::stats() const {
  nlohmann::json out = counters_.to_json();
  out["signalling"] = signalling_name(mode_);
  nlohmann::json sas = nlohmann::json::array();
  for (const auto& peer : esp_peers_) {
    nlohmann::json sa = {{"home_address", peer->entry.home_address.to_string()},
                         {"out_spi", peer->transport_out.spi()},
                         {"out_next_sequence", peer->transport_out.next_sequence()},
                         {"in_spi", peer->transport_in.spi()},
                         {"in_highest_sequence", peer->transport_in.highest_sequence()}};
    if (peer->tunnel_out) {
      sa["tunnel_out_spi"] = peer->tunnel_out->spi();
      sa["tunnel_out_next_sequence"] = peer->tunnel_out->next_sequence();
      sa["tunnel_in_spi"] = peer->tunnel_in->spi();
      sa["tunnel_in_highest_sequence"] = peer->tunnel_in->highest_sequence();
    }
    sas.push_back(std::move(sa));
  }
  out["esp_sas"] = std::move(sas);
  return out;
}

void SignallingSecurity::count(ipsec::EspError error) {
  switch (error) {
    case ipsec::EspError::kTruncated:
      ++counters_.dropped_esp_truncated;
      return;
    case ipsec::EspError::kMalformedPacket:
      ++counters_.dropped_esp_malformed;
      return;
    case ipsec::EspError::kWrongSpi:
      ++counters_.dropped_esp_unknown_spi;
      return;
    case ipsec::EspError::kAuthenticationFailed:
      ++counters_.dropped_esp_authentication;
      return;
    case ipsec::EspError::kReplayed:
      ++counters_.dropped_esp_replayed;
      return;
    case ipsec::EspError::kTooOld:
      ++counters_.dropped_esp_too_old;
      return;
    case ipsec::EspError::kBadPadding:
      ++counters_.dropped_esp_bad_padding;
      return;
    case ipsec::EspError::kSequenceExhausted:
      ++counters_.esp_sequence_exhausted;
      return;
    case ipsec::EspError::kCryptoFailure:
      ++counters_.esp_protect_failed;
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Outbound

std::optional<wire::Bytes> SignallingSecurity::outbound(wire::ByteSpan packet) {
  if (mode_ == Signalling::kNone) return std::nullopt;
  // The data path's tunnel packets, the bulk of what is sent, need no walk when no SA could
  // apply to them.
  const bool tunnelled = packet.size() > 6 && packet[6] == std::byte{wire::ip_proto::kIpv6};
  if (tunnelled && !any_tunnel_sa_) return std::nullopt;
  auto layout = wire::walk_chain(packet);
  if (!layout) return std::nullopt;  // not ours to judge: the kernel sends what it can
  if (mode_ == Signalling::kEsp) {
    if (layout->upper_protocol == wire::ip_proto::kIpv6) return protect_tunnelled(packet, *layout);
    return protect_esp(packet, *layout);
  }
  return sign(packet, *layout);
}

wire::Bytes SignallingSecurity::apply(std::variant<wire::Bytes, ipsec::EspError> result) {
  if (auto* error = std::get_if<ipsec::EspError>(&result)) {
    // RFC 4303 §3.3.3: an exhausted counter means a new SA; with manual keys, the operator's.
    count(*error);
    return {};
  }
  ++counters_.esp_sent;
  return std::move(std::get<wire::Bytes>(result));
}

// Transport mode (RFC 3776 §3, RFC 4877 §4.1): BU and MPS from the mobile node, BA and MPA from
// the home agent. Other signalling (return routability with correspondents, DHAAD, Binding
// Errors) has no SA and goes as it is.
std::optional<wire::Bytes> SignallingSecurity::protect_esp(wire::ByteSpan packet,
                                                           const wire::PacketLayout& layout) {
  const Message message = classify(packet, layout);
  const bool from_mobile = message.home_registration || is_icmp(message, kMps);
  const bool to_mobile =
      is_mh(message, wire::kMhTypeBindingAcknowledgement) || is_icmp(message, kMpa);
  if (!from_mobile && !to_mobile) return std::nullopt;
  EspPeer* peer =
      esp_peer(from_mobile ? home_of_sent_by_mobile(layout) : home_of_sent_to_mobile(layout));
  // A BA to a mobile node we hold no SA for (a correspondent's BA, or a home agent's answer to
  // a node it does not serve) goes unprotected; the side must match, too.
  if (peer == nullptr || peer->mobile_side != from_mobile) return std::nullopt;
  return apply(ipsec::protect_transport(peer->transport_out, packet));
}

// Tunnel mode (RFC 4877 §4.3): the mobile node's reverse-tunnelled HoTI, the home agent's
// tunnelled HoT, and every tunnelled packet when protect_tunnel_payload is set (§5.1 "MAY").
std::optional<wire::Bytes> SignallingSecurity::protect_tunnelled(wire::ByteSpan packet,
                                                                 const wire::PacketLayout& layout) {
  if (!layout.upper_complete()) return std::nullopt;
  const wire::ByteSpan inner = packet.subspan(layout.upper_offset, layout.upper_length);
  auto inner_layout = wire::walk_chain(inner);
  if (!inner_layout) return std::nullopt;
  const Message message = classify(inner, *inner_layout);
  EspPeer* peer = nullptr;
  bool test_message = false;
  if (own_home_address_ && inner_layout->ipv6.source == *own_home_address_) {
    peer = esp_peer(inner_layout->ipv6.source);  // the mobile node's reverse tunnel
    test_message = is_mh(message, wire::kMhTypeHomeTestInit);
  } else {
    peer = esp_peer(inner_layout->ipv6.destination);  // the home agent's tunnel
    if (peer != nullptr && peer->mobile_side) peer = nullptr;
    test_message = is_mh(message, wire::kMhTypeHomeTest);
  }
  if (peer == nullptr || !peer->tunnel_out) return std::nullopt;
  if (!test_message && !peer->entry.protect_tunnel_payload) return std::nullopt;
  return apply(ipsec::protect_tunnel(*peer->tunnel_out, inner, layout.ipv6.source,
                                     layout.ipv6.destination, layout.ipv6.hop_limit));
}

// RFC 4285 §5: the mobile node signs its home registrations, the home agent its
// acknowledgements, each with a timestamp (§6) so that a replay is recognised.
std::optional<wire::Bytes> SignallingSecurity::sign(wire::ByteSpan packet,
                                                    const wire::PacketLayout& layout) {
  const Message message = classify(packet, layout);
  const bool from_mobile = message.home_registration;
  const bool to_mobile = is_mh(message, wire::kMhTypeBindingAcknowledgement);
  if (!from_mobile && !to_mobile) return std::nullopt;
  AuthPeer* peer =
      auth_peer(from_mobile ? home_of_sent_by_mobile(layout) : home_of_sent_to_mobile(layout));
  if (peer == nullptr || peer->mobile_side != from_mobile) return std::nullopt;
  ipsec::SignOptions options;
  options.timestamp = ntp_now_();
  if (from_mobile && peer->entry.identifier)
    options.network_access_identifier =
        wire::Bytes(reinterpret_cast<const std::byte*>(peer->entry.identifier->data()),
                    reinterpret_cast<const std::byte*>(peer->entry.identifier->data() +
                                                       peer->entry.identifier->size()));
  auto signed_packet = ipsec::sign_mobility_message(
      packet, ipsec::MnHaKey{peer->entry.spi, peer->entry.key}, options);
  if (auto* bytes = std::get_if<wire::Bytes>(&signed_packet)) {
    ++counters_.auth_signed;
    return std::move(*bytes);
  }
  ++counters_.auth_sign_failed;
  return wire::Bytes{};
}

// ---------------------------------------------------------------------------------------------
// Inbound

std::optional<OpenedPacket> SignallingSecurity::open(wire::ByteSpan packet,
                                                     const wire::PacketLayout& layout) {
  ++counters_.esp_received;
  const auto spi = ipsec::peek_spi(packet.subspan(layout.upper_offset));
  if (!spi || !layout.upper_complete()) {
    ++counters_.dropped_esp_malformed;
    return std::nullopt;
  }
  auto it = mode_ == Signalling::kEsp ? inbound_.find(*spi) : inbound_.end();
  if (it == inbound_.end()) {
    ++counters_.dropped_esp_unknown_spi;  // RFC 4303 §3.4.2: no SA, discard (auditable event)
    return std::nullopt;
  }
  EspPeer& peer = *it->second.peer;
  const bool tunnel = it->second.tunnel;
  auto opened = ipsec::unprotect(tunnel ? *peer.tunnel_in : peer.transport_in, packet,
                                 layout.upper_offset, layout.upper_next_header_offset);
  if (auto* error = std::get_if<ipsec::EspError>(&opened)) {
    count(*error);
    return std::nullopt;
  }
  wire::Bytes plain = std::move(std::get<wire::Bytes>(opened));
  if (!covers(peer, tunnel, plain)) return std::nullopt;
  ++counters_.esp_opened;
  return OpenedPacket{std::move(plain),
                      tunnel ? core::Protection::kEspTunnel : core::Protection::kEspTransport,
                      *spi};
}

// RFC 6275 §5.1 / RFC 4877 §4.2: an SA protects its own home address only — a mobile node must
// not register (or receive) another's with it — and only the messages its policy names.
bool SignallingSecurity::covers(const EspPeer& peer, bool tunnel, wire::ByteSpan opened) {
  auto layout = wire::walk_chain(opened);
  if (!layout) {
    ++counters_.dropped_esp_malformed;
    return false;
  }
  if (tunnel) {
    if (layout->upper_protocol != wire::ip_proto::kIpv6 || !layout->upper_complete()) {
      ++counters_.dropped_esp_not_covered;
      return false;
    }
    auto inner = wire::decode_ipv6_header(opened.subspan(layout->upper_offset));
    if (!inner) {
      ++counters_.dropped_esp_malformed;
      return false;
    }
    const wire::Ipv6Address& home = peer.mobile_side ? inner->destination : inner->source;
    if (home != peer.entry.home_address) {
      ++counters_.dropped_esp_wrong_home_address;
      return false;
    }
    return true;
  }
  const Message message = classify(opened, *layout);
  // We receive what the other side sends: a home agent BU and MPS, a mobile node the rest.
  const bool covered =
      peer.mobile_side ? (message.protocol == wire::ip_proto::kMobility || is_icmp(message, kMpa))
                       : (message.protocol == wire::ip_proto::kMobility || is_icmp(message, kMps));
  if (!covered) {
    ++counters_.dropped_esp_not_covered;
    return false;
  }
  const wire::Ipv6Address home =
      peer.mobile_side ? home_of_sent_to_mobile(*layout) : home_of_sent_by_mobile(*layout);
  if (home != peer.entry.home_address) {
    ++counters_.dropped_esp_wrong_home_address;
    return false;
  }
  return true;
}

bool SignallingSecurity::admit(core::RxPacket& packet) {
  if (mode_ == Signalling::kNone || packet.protection != core::Protection::kNone) return true;
  if (mode_ == Signalling::kEsp) return admit_esp_mode(packet);
  return admit_auth_mode(packet);
}

// §5.1, §10.3.1: with ESP required, a home registration or a prefix solicitation that arrives in
// the clear is dropped, and so is a BA or an MPA from this mobile node's home agent.
bool SignallingSecurity::admit_esp_mode(const core::RxPacket& packet) {
  const Message message = classify(packet.bytes, packet.layout);
  bool needs_protection = message.home_registration || is_icmp(message, kMps);
  if (own_home_address_ && !needs_protection) {
    const EspPeer* own = esp_peer(*own_home_address_);
    const bool from_agent = own != nullptr && packet.layout.ipv6.source == own->entry.home_agent;
    needs_protection = from_agent && (is_mh(message, wire::kMhTypeBindingAcknowledgement) ||
                                      is_icmp(message, kMpa));
  }
  if (!needs_protection) return true;
  ++counters_.dropped_unprotected_signalling;
  return false;
}

// RFC 4285 §5, §6: a home registration (and the home agent's answer to one) must carry a valid
// MN-HA option from the SA of its home address, with a fresh timestamp.
bool SignallingSecurity::admit_auth_mode(core::RxPacket& packet) {
  const Message message = classify(packet.bytes, packet.layout);
  const bool to_home_agent = message.home_registration;
  // A BA signed by our home agent carries the option; a correspondent's carries none (§9.5.4)
  // and is the engine's to judge — as is an unsigned BA for a home registration, which the
  // engine ignores because it requires protected replies.
  const bool to_mobile = own_home_address_ && is_mh(message, wire::kMhTypeBindingAcknowledgement) &&
                         home_of_sent_to_mobile(packet.layout) == *own_home_address_ &&
                         has_auth_option(packet.bytes);
  if (!to_home_agent && !to_mobile) return true;
  const wire::Ipv6Address home =
      to_home_agent ? home_of_sent_by_mobile(packet.layout) : home_of_sent_to_mobile(packet.layout);
  AuthPeer* peer = auth_peer(home);
  auto verified =
      ipsec::verify_mobility_message(packet.bytes, [&](std::uint32_t spi) -> const wire::Bytes* {
        for (const auto& candidate : auth_peers_)
          if (candidate->entry.spi == spi) return &candidate->entry.key;
        return nullptr;
      });
  if (auto* error = std::get_if<ipsec::AuthError>(&verified)) {
    if (*error == ipsec::AuthError::kMissing) {
      ++counters_.dropped_auth_missing;
    } else if (*error == ipsec::AuthError::kUnknownSpi) {
      ++counters_.dropped_auth_unknown_spi;
    } else {
      ++counters_.dropped_auth_bad;
    }
    return false;
  }
  const auto& result = std::get<ipsec::Verified>(verified);
  if (peer == nullptr || peer->entry.spi != result.spi) {
    ++counters_.dropped_auth_wrong_home_address;
    return false;
  }
  // The home agent demands a timestamp newer than the last (a replay is dropped); the mobile
  // node checks only that the home agent's is within the window.
  const std::optional<std::uint64_t> last =
      to_home_agent ? peer->last_timestamp : std::optional<std::uint64_t>{};
  if (!result.timestamp ||
      !ipsec::timestamp_acceptable(*result.timestamp, ntp_now_(), last, timestamp_window_)) {
    ++counters_.dropped_auth_timestamp;
    return false;
  }
  if (to_home_agent) peer->last_timestamp = result.timestamp;
  ++counters_.auth_verified;
  packet.protection = core::Protection::kAuthOption;
  packet.spi = result.spi;
  return true;
}

bool SignallingSecurity::admit_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner) {
  if (mode_ != Signalling::kEsp || outer.protection != core::Protection::kNone) return true;
  auto layout = wire::walk_chain(inner);
  if (!layout) return true;  // the role counts what it cannot read
  const Message message = classify(inner, *layout);
  const bool mobile = own_home_address_ && layout->ipv6.destination == *own_home_address_;
  const EspPeer* peer = esp_peer(mobile ? layout->ipv6.destination : layout->ipv6.source);
  if (peer == nullptr || !peer->tunnel_in || peer->mobile_side != mobile) return true;
  const bool test_message =
      is_mh(message, mobile ? wire::kMhTypeHomeTest : wire::kMhTypeHomeTestInit);
  if (!test_message && !peer->entry.protect_tunnel_payload) return true;
  ++counters_.dropped_unprotected_tunnel;
  return false;
}

// ---------------------------------------------------------------------------------------------
// ProtectingSender

linux_dp::Status ProtectingSender::send(wire::ByteSpan packet, std::uint32_t ifindex) {
  auto replaced = security_.outbound(packet);
  if (!replaced) return inner_.send(packet, ifindex);
  if (replaced->empty()) return linux_dp::make_error("signalling SA refused the packet", EPERM);
  return inner_.send(*replaced, ifindex);
}

linux_dp::Status ProtectingSender::send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                                const core::LinkLayerAddress& destination) {
  auto replaced = security_.outbound(packet);
  if (!replaced) return inner_.send_to_link(packet, ifindex, destination);
  if (replaced->empty()) return linux_dp::make_error("signalling SA refused the packet", EPERM);
  return inner_.send_to_link(*replaced, ifindex, destination);
}

// The home agent's tunnel batches: only packets the policy names are rewritten (a HoT, or every
// packet of a mobile node whose payload is protected); the others go as they are.
std::size_t ProtectingSender::send_batch(std::span<const wire::ByteSpan> packets,
                                         std::uint32_t ifindex) {
  protected_.clear();
  batch_.clear();
  protected_.reserve(packets.size());  // batch_ points into it: no reallocation
  for (const wire::ByteSpan& packet : packets) {
    auto replaced = security_.outbound(packet);
    if (!replaced) {
      batch_.push_back(packet);
    } else if (!replaced->empty()) {  // empty: refused by an exhausted SA (counted)
      protected_.push_back(std::move(*replaced));
      batch_.push_back(protected_.back());
    }
  }
  return inner_.send_batch(batch_, ifindex);
}

}  // namespace mipv6::daemon
