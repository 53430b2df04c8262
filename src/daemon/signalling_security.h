// Protection of the signalling between a mobile node and its home agent (RFC 6275 §5.1, issue 7):
// the daemon's security policy database and its security associations, between the roles and
// the wire.
//
// The engines stay as they are: what they send goes through ProtectingSender, which looks each
// packet up by its selectors (RFC 4301 §4.4.1; the selectors RFC 4877 §4.2 gives a mobile node:
// the home address — from the Home Address option or the Type 2 Routing header, so that the SAs
// survive movement — the home agent, the protocol and the message type) and applies:
//   - with signalling = "esp": ESP transport mode to BU and MPS (mobile node → home agent) and BA
//     and MPA (home agent → mobile node), ESP tunnel mode to reverse-tunnelled HoTI and tunnelled
//     HoT (RFC 4877 §4.3), and, when asked, to every tunnelled packet (§5.1 "MAY");
//   - with signalling = "auth-option": the RFC 4285 MN-HA option to BU and BA.
// What arrives is opened (ESP) or verified (RFC 4285) before dispatch, and the engines learn what
// protected it (core::RxPacket::protection); signalling the policy wants protected that arrives
// without it — or protected by another home address's SA, replayed, or failing its ICV — is
// dropped silently and counted here (§10.3.1 "silently discarded"; RFC 4303 §3.4).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "daemon/config.h"
#include "daemon/role.h"
#include "ipsec/esp.h"
#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/chain.h"

namespace mipv6::daemon {

// clang-format off
#define MIPV6D_SECURITY_COUNTERS(X) \
  X(esp_received) X(esp_opened) X(esp_sent) X(esp_protect_failed) X(esp_sequence_exhausted) \
  X(dropped_esp_malformed) X(dropped_esp_unknown_spi) X(dropped_esp_truncated) \
  X(dropped_esp_authentication) X(dropped_esp_replayed) X(dropped_esp_too_old) \
  X(dropped_esp_bad_padding) X(dropped_esp_wrong_home_address) X(dropped_esp_not_covered) \
  X(dropped_unprotected_signalling) X(dropped_unprotected_tunnel) \
  X(auth_signed) X(auth_sign_failed) X(auth_verified) X(dropped_auth_missing) \
  X(dropped_auth_bad) X(dropped_auth_unknown_spi) X(dropped_auth_wrong_home_address) \
  X(dropped_auth_timestamp)
// clang-format on
struct SecurityCounters {
#define MIPV6D_SECURITY_FIELD(name) std::uint64_t name = 0;
  MIPV6D_SECURITY_COUNTERS(MIPV6D_SECURITY_FIELD)
#undef MIPV6D_SECURITY_FIELD
  nlohmann::json to_json() const;
};

// A packet opened from ESP: the packet as it would have arrived without ESP (transport mode), or
// the outer header followed by the inner packet as if IPv6-in-IPv6 (tunnel mode).
struct OpenedPacket {
  wire::Bytes packet;
  core::Protection protection = core::Protection::kNone;
  std::uint32_t spi = 0;
};

class SignallingSecurity {
 public:
  // The wall clock as an NTP timestamp (RFC 4285 §6 replay protection), from src/linux.
  using NtpClock = std::function<std::uint64_t()>;

  // `own_home_address`: this node's home address when it is a mobile node; the entry for it is
  // the mobile node's side of its SAs, every other entry the home agent's side.
  SignallingSecurity(const SecuritySection& section,
                     std::optional<wire::Ipv6Address> own_home_address, NtpClock ntp_now);
  ~SignallingSecurity();

  Signalling mode() const { return mode_; }

  // Outbound: nullopt when `packet` goes out as it is; otherwise the bytes to send instead, or
  // an empty packet when it must not go out at all (its SA is exhausted: counted).
  std::optional<wire::Bytes> outbound(wire::ByteSpan packet);

  // Inbound ESP (the chain of `packet` ends with ESP, `layout` says where): the opened packet,
  // or nullopt when it was dropped (counted).
  std::optional<OpenedPacket> open(wire::ByteSpan packet, const wire::PacketLayout& layout);
  // Signalling about to be dispatched: false when the policy drops it (counted). A verified
  // RFC 4285 option sets packet.protection and packet.spi.
  bool admit(core::RxPacket& packet);
  // A tunnelled packet that did not come out of ESP: false when the policy wants ESP tunnel
  // mode for it (a HoTI/HoT, or any packet of a mobile node whose payload is protected).
  bool admit_tunnelled(const core::RxPacket& outer, wire::ByteSpan inner);

  const SecurityCounters& counters() const { return counters_; }
  nlohmann::json stats() const;

 private:
  struct EspPeer;
  struct AuthPeer;
  struct InboundSa {
    EspPeer* peer = nullptr;
    bool tunnel = false;
  };

  std::optional<wire::Bytes> protect_esp(wire::ByteSpan packet, const wire::PacketLayout& layout);
  std::optional<wire::Bytes> protect_tunnelled(wire::ByteSpan packet,
                                               const wire::PacketLayout& layout);
  std::optional<wire::Bytes> sign(wire::ByteSpan packet, const wire::PacketLayout& layout);
  wire::Bytes apply(std::variant<wire::Bytes, ipsec::EspError> result);
  bool covers(const EspPeer& peer, bool tunnel, wire::ByteSpan opened);
  bool admit_esp_mode(const core::RxPacket& packet);
  bool admit_auth_mode(core::RxPacket& packet);
  void count(ipsec::EspError error);

  EspPeer* esp_peer(const wire::Ipv6Address& home_address) const;
  AuthPeer* auth_peer(const wire::Ipv6Address& home_address) const;

  Signalling mode_;
  std::uint32_t timestamp_window_;
  std::optional<wire::Ipv6Address> own_home_address_;
  NtpClock ntp_now_;
  std::vector<std::unique_ptr<EspPeer>> esp_peers_;
  std::vector<std::unique_ptr<AuthPeer>> auth_peers_;
  std::unordered_map<std::uint32_t, InboundSa> inbound_;  // by SPI
  bool any_tunnel_sa_ = false;  // false: tunnelled packets are never rewritten
  SecurityCounters counters_;
};

// The Sender the roles get when signalling is protected: every packet passes outbound() first.
class ProtectingSender final : public Sender {
 public:
  ProtectingSender(Sender& inner, SignallingSecurity& security)
      : inner_(inner), security_(security) {}

  linux_dp::Status send(wire::ByteSpan packet, std::uint32_t ifindex = 0) override;
  linux_dp::Status send_to_link(wire::ByteSpan packet, std::uint32_t ifindex,
                                const core::LinkLayerAddress& destination) override;
  std::size_t send_batch(std::span<const wire::ByteSpan> packets,
                         std::uint32_t ifindex = 0) override;

 private:
  Sender& inner_;
  SignallingSecurity& security_;
  std::vector<wire::Bytes> protected_;  // send_batch's rewritten packets, kept for the call
  std::vector<wire::ByteSpan> batch_;
};

}  // namespace mipv6::daemon
