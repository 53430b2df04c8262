#include "ipsec/mobility_auth.h"

#include <algorithm>
#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "wire/chain.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"
#include "wire/mobility_options.h"
#include "wire/packet.h"

namespace mipv6::ipsec {
namespace {

// RFC 6275 §6.1.1: the Checksum field sits at octets 4-5 of the Mobility Header.
constexpr std::size_t kMhChecksumOffset = 4;
// IPv6 Payload Length at octets 4-5 of the fixed header (RFC 8200 §3).
constexpr std::size_t kPayloadLengthOffset = 4;

// A packet whose upper layer is a whole BU or BA, located and decoded.
struct MobilityPacket {
  wire::PacketLayout layout;
  wire::MobilityHeader mh;
  wire::ByteSpan mh_bytes;  // exactly (Header Len + 1) * 8 octets
};

bool is_bu_or_ba(const wire::MobilityHeader& mh) {
  return mh.mh_type() == wire::kMhTypeBindingUpdate ||
         mh.mh_type() == wire::kMhTypeBindingAcknowledgement;
}

std::variant<MobilityPacket, AuthError> parse(wire::ByteSpan packet) {
  auto layout = wire::walk_chain(packet);
  if (!layout) return AuthError::kMalformed;
  if (layout->upper_protocol != wire::ip_proto::kMobility) return AuthError::kNotMobility;
  if (!layout->upper_complete()) return AuthError::kMalformed;
  const wire::ByteSpan upper = packet.subspan(layout->upper_offset, layout->upper_length);
  // Alignment is enforced: a message that breaks xn+y is not one we sign or trust.
  auto mh = wire::decode_mobility_header(upper);
  if (!mh) return AuthError::kMalformed;
  if (!is_bu_or_ba(*mh)) return AuthError::kNotMobility;
  const std::size_t mh_size = (std::size_t{mh->header_len} + 1) * 8;
  return MobilityPacket{*layout, std::move(*mh), upper.first(mh_size)};
}

struct SignedAddresses {
  wire::Ipv6Address care_of;
  wire::Ipv6Address home;
};

// RFC 4285 §5.2 (MIPV6-FACTS §10.2): which addresses enter the authenticator. A BU travels
// from the care-of address (Source) and names the home address in its Home Address option; a
// BA travels to the care-of address (Destination) and names the home address in its Type 2
// Routing header. Without those headers the mobile node is at home: both are the same address.
SignedAddresses signed_addresses(const MobilityPacket& p) {
  const wire::Ipv6Header& ip = p.layout.ipv6;
  if (p.mh.mh_type() == wire::kMhTypeBindingUpdate) {
    return {ip.source, p.layout.home_address.value_or(ip.source)};
  }
  return {ip.destination, p.layout.type2_address.value_or(ip.destination)};
}

wire::ByteSpan address_bytes(const wire::Ipv6Address& address) {
  return std::as_bytes(std::span(address.bytes));
}

// First(96, HMAC_SHA1(key, CoA | HoA | MH Data)), RFC 4285 §5.2. `mh_data` ends with the
// Mobility SPI; its Checksum field must already be zero.
wire::Bytes mn_ha_authenticator(wire::ByteSpan key, const SignedAddresses& addresses,
                                wire::ByteSpan mh_data) {
  const crypto::Sha1Digest digest = crypto::hmac_sha1(
      key, {address_bytes(addresses.care_of), address_bytes(addresses.home), mh_data});
  return wire::Bytes(digest.begin(), digest.begin() + kMnHaAuthenticatorSize);
}

// The MH Data of RFC 4285 §5.2: the MH up to (excluding) the authentication data, with the
// Checksum field zeroed.
wire::Bytes mh_data_before(wire::ByteSpan mh, std::size_t authenticator_offset) {
  wire::Bytes data(mh.begin(), mh.begin() + static_cast<std::ptrdiff_t>(authenticator_offset));
  data[kMhChecksumOffset] = std::byte{0};
  data[kMhChecksumOffset + 1] = std::byte{0};
  return data;
}

// The options of the signed message: the existing ones minus padding (re-computed) and minus
// an earlier authentication option (signing again replaces it), then MN-ID, Replay Protection
// and the MN-HA option with a zero authenticator, which is filled in once the bytes exist.
std::vector<wire::MobilityOption> options_to_sign(const wire::MobilityHeader& mh,
                                                  const MnHaKey& key, const SignOptions& sign) {
  std::vector<wire::MobilityOption> options;
  for (const auto& option : mh.options) {
    if (wire::is_padding(option)) continue;
    if (std::holds_alternative<wire::MobilityMessageAuthentication>(option)) continue;
    if (sign.network_access_identifier &&
        std::holds_alternative<wire::MobileNodeIdentifier>(option)) {
      continue;  // replaced by the caller's identifier
    }
    if (sign.timestamp && std::holds_alternative<wire::MobilityMessageReplayProtection>(option)) {
      continue;  // replaced by the caller's timestamp
    }
    options.push_back(option);
  }
  // RFC 4283 §3 / RFC 4285 §5: the identifier and the replay protection come before the
  // authentication option, which is last.
  if (sign.network_access_identifier) {
    options.push_back(
        wire::MobileNodeIdentifier{wire::kMnIdSubtypeNai, *sign.network_access_identifier});
  }
  if (sign.timestamp) options.push_back(wire::MobilityMessageReplayProtection{*sign.timestamp});
  options.push_back(wire::MobilityMessageAuthentication{wire::kMobilityAuthSubtypeMnHa, key.spi,
                                                        wire::Bytes(kMnHaAuthenticatorSize)});
  return options;
}

bool has_binding_authorization_data(const wire::MobilityHeader& mh) {
  return wire::find_option<wire::BindingAuthorizationData>(mh) != nullptr;
}

void write_payload_length(wire::Bytes& packet) {
  const std::size_t payload = packet.size() - wire::kIpv6HeaderSize;
  wire::store_be16(&packet[kPayloadLengthOffset], static_cast<std::uint16_t>(payload));
}

}  // namespace

std::string_view to_string(AuthError error) {
  switch (error) {
    case AuthError::kNotMobility:
      return "not a Binding Update or Acknowledgement";
    case AuthError::kMalformed:
      return "malformed packet";
    case AuthError::kMissing:
      return "no mobility message authentication option";
    case AuthError::kNotLast:
      return "authentication option not last";
    case AuthError::kWrongSubtype:
      return "authentication option is not MN-HA";
    case AuthError::kUnknownSpi:
      return "unknown mobility SPI";
    case AuthError::kBadAuthenticator:
      return "authenticator does not verify";
    case AuthError::kTooLarge:
      return "signed message too large";
  }
  return "unknown error";
}

std::variant<wire::Bytes, AuthError> sign_mobility_message(wire::ByteSpan packet,
                                                           const MnHaKey& key,
                                                           const SignOptions& options) {
  auto parsed = parse(packet);
  if (const auto* error = std::get_if<AuthError>(&parsed)) return *error;
  const MobilityPacket& p = std::get<MobilityPacket>(parsed);
  // RFC 6275 §6.2.7 wants Binding Authorization Data last, RFC 4285 §5 its option last: a
  // message cannot carry both as the last option.
  if (has_binding_authorization_data(p.mh)) return AuthError::kMalformed;
  // RFC 4285 §5: SPIs 0-255 are reserved; no security association may use one.
  if (key.spi < kMinimumMobilitySpi) return AuthError::kUnknownSpi;

  wire::MobilityHeader mh = p.mh;
  mh.checksum = 0;
  mh.options = options_to_sign(p.mh, key, options);
  // auto_pad aligns every option (RFC 6275 §6.2.1: MN-ID none, Replay Protection 8n+2,
  // authentication 4n+1) and anchors the last authentication option so that it ends the MH
  // on an 8-octet boundary (§6.1.1), with the padding before it: its 19 octets start at 8n+5.
  wire::Bytes out(packet.begin(),
                  packet.begin() + static_cast<std::ptrdiff_t>(p.layout.upper_offset));
  const std::size_t mh_start = out.size();
  if (!wire::encode_mobility_header(mh, out)) return AuthError::kTooLarge;
  if (out.size() - wire::kIpv6HeaderSize > 0xffff) return AuthError::kTooLarge;

  const std::span<std::byte> new_mh = std::span(out).subspan(mh_start);
  const std::size_t authenticator_offset = new_mh.size() - kMnHaAuthenticatorSize;
  const wire::Bytes authenticator = mn_ha_authenticator(
      key.key, signed_addresses(p), mh_data_before(new_mh, authenticator_offset));
  std::copy(authenticator.begin(), authenticator.end(),
            new_mh.begin() + static_cast<std::ptrdiff_t>(authenticator_offset));

  write_payload_length(out);
  // The extension headers are unchanged, so the pseudo-header addresses (HoA from the Home
  // Address option, RH2 final destination) are those the walker finds again.
  if (!wire::fill_upper_checksum(out)) return AuthError::kMalformed;
  return out;
}

std::variant<Verified, AuthError> verify_mobility_message(wire::ByteSpan packet,
                                                          const KeyLookup& key_for_spi) {
  auto parsed = parse(packet);
  if (const auto* error = std::get_if<AuthError>(&parsed)) return *error;
  const MobilityPacket& p = std::get<MobilityPacket>(parsed);

  const auto& options = p.mh.options;
  const auto auth_it = std::find_if(options.begin(), options.end(), [](const auto& option) {
    return std::holds_alternative<wire::MobilityMessageAuthentication>(option);
  });
  if (auth_it == options.end()) return AuthError::kMissing;
  // RFC 4285 §5: the option MUST be the last option: nothing follows it, not even padding.
  if (std::next(auth_it) != options.end()) return AuthError::kNotLast;
  const auto& auth = std::get<wire::MobilityMessageAuthentication>(*auth_it);
  // RFC 4285 §5: subtype 1 is MN-HA; MN-AAA (2) is checked by an AAA server, not here.
  if (auth.subtype != wire::kMobilityAuthSubtypeMnHa) return AuthError::kWrongSubtype;
  // RFC 4285 §5: SPIs 0-255 are reserved, so no security association uses them.
  if (auth.mobility_spi < kMinimumMobilitySpi) return AuthError::kUnknownSpi;
  const wire::Bytes* key = key_for_spi ? key_for_spi(auth.mobility_spi) : nullptr;
  if (key == nullptr) return AuthError::kUnknownSpi;
  if (auth.authentication_data.size() != kMnHaAuthenticatorSize) {
    return AuthError::kBadAuthenticator;
  }

  // The option is last and not followed by padding, so its authentication data ends the MH.
  const std::size_t authenticator_offset = p.mh_bytes.size() - kMnHaAuthenticatorSize;
  const wire::Bytes expected = mn_ha_authenticator(
      *key, signed_addresses(p), mh_data_before(p.mh_bytes, authenticator_offset));
  if (!crypto::equal_constant_time(expected, auth.authentication_data)) {
    return AuthError::kBadAuthenticator;
  }

  Verified verified;
  verified.spi = auth.mobility_spi;
  if (const auto* replay = wire::find_option<wire::MobilityMessageReplayProtection>(p.mh)) {
    verified.timestamp = replay->timestamp;
  }
  if (const auto* id = wire::find_option<wire::MobileNodeIdentifier>(p.mh);
      id != nullptr && id->subtype == wire::kMnIdSubtypeNai) {
    verified.network_access_identifier = id->identifier;
  }
  return verified;
}

bool timestamp_acceptable(std::uint64_t received, std::uint64_t now,
                          std::optional<std::uint64_t> last_accepted,
                          std::uint32_t window_seconds) {
  // RFC 4285 §6: "close enough" to the receiver's clock, in either direction. The seconds are
  // the high 32 bits of the NTP timestamp; the difference of two 32-bit values fits in 64 bits.
  const std::uint64_t received_seconds = received >> 32;
  const std::uint64_t now_seconds = now >> 32;
  const std::uint64_t skew = received_seconds > now_seconds ? received_seconds - now_seconds
                                                            : now_seconds - received_seconds;
  if (skew > window_seconds) return false;
  // RFC 4285 §6: and newer than the last accepted one, so a capture cannot be replayed inside
  // the window.
  return !last_accepted || received > *last_accepted;
}

}  // namespace mipv6::ipsec
