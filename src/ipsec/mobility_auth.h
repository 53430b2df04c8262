// The Authentication Protocol for Mobile IPv6 (RFC 4285), with the Mobile Node Identifier option
// (RFC 4283): the lighter alternative to ESP for Binding Updates and Acknowledgements between a
// mobile node and its home agent. Sans I/O: the timestamp is handed in by the caller.
//
// What is signed (RFC 4285 §5.2, MN-HA subtype 1; MIPV6-FACTS §10.2):
//   Authenticator = First(96, HMAC_SHA1(key, care-of address | home address | MH Data))
// MH Data is the Mobility Header from its first octet up to and including the Mobility SPI field
// of the authentication option, with the Checksum field taken as zero.
//   - BU (mobile node → home agent): care-of address = IPv6 Source, home address = the Home
//     Address option's address (or the Source when there is none: de-registration at home);
//   - BA (home agent → mobile node): care-of address = IPv6 Destination, home address = the Type 2
//     Routing header's address (or the Destination when there is none).
// The option is the last one in the message (RFC 4285 §5); the Mobile Node Identifier and the
// Replay Protection options come before it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <variant>

#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::ipsec {

inline constexpr std::size_t kMnHaAuthenticatorSize = 12;  // First(96, HMAC-SHA1)
// RFC 4285 §5: SPI values 0-255 are reserved.
inline constexpr std::uint32_t kMinimumMobilitySpi = 256;

struct MnHaKey {
  std::uint32_t spi = 0;
  wire::Bytes key;  // any length; RFC 4285 suggests 16 octets
};

struct SignOptions {
  std::optional<wire::Bytes> network_access_identifier;  // RFC 4283 MN-ID, subtype 1 (NAI)
  std::optional<std::uint64_t> timestamp;                // RFC 4285 §6 Replay Protection (NTP)
};

enum class AuthError : std::uint8_t {
  kNotMobility,       // the packet does not end in a BU or a BA this module handles
  kMalformed,         // the chain or the MH does not decode
  kMissing,           // no Mobility Message Authentication option
  kNotLast,           // the option is not the last one
  kWrongSubtype,      // not MN-HA (subtype 1)
  kUnknownSpi,        // no key for the Mobility SPI
  kBadAuthenticator,  // authentication data does not verify (or is not 12 octets)
  kTooLarge,          // the signed message would not fit (Header Len is one octet)
};
std::string_view to_string(AuthError error);

// Appends the MN-ID (if asked), the Replay Protection option (if asked) and the MN-HA
// authentication option, with the padding their alignments need (MN-ID none, Replay
// Protection 8n+2, authentication 4n+1), to the Mobility Header of `packet` (a whole IPv6
// packet whose upper layer is a BU or a BA), then rewrites Header Len, Payload Length and the
// MH checksum. Existing options are kept, their padding recomputed; an earlier authentication
// option is replaced (signing again), and so are an MN-ID or Replay Protection option when
// `options` brings a new one. Errors: kNotMobility, kMalformed (also for a message carrying
// Binding Authorization Data, which must be last itself, RFC 6275 §6.2.7), kUnknownSpi for a
// reserved SPI (< 256), kTooLarge (an option or Header Len over 255).
std::variant<wire::Bytes, AuthError> sign_mobility_message(wire::ByteSpan packet,
                                                           const MnHaKey& key,
                                                           const SignOptions& options = {});

struct Verified {
  std::uint32_t spi = 0;
  std::optional<std::uint64_t> timestamp;                // from the Replay Protection option
  std::optional<wire::Bytes> network_access_identifier;  // from the MN-ID option
};

// Verifies the MN-HA option of `packet` with the key `key_for_spi` returns (nullptr: unknown
// SPI; reserved SPIs < 256 are unknown without asking). The comparison is constant-time. The
// options must meet their xn+y alignment. The MH checksum is not checked here: the Checksum
// field is outside the authenticator; verify it with wire::verify_upper_checksum.
using KeyLookup = std::function<const wire::Bytes*(std::uint32_t spi)>;
std::variant<Verified, AuthError> verify_mobility_message(wire::ByteSpan packet,
                                                          const KeyLookup& key_for_spi);

// RFC 4285 §6: a receiver accepts a timestamp within `window_seconds` of its own clock and
// newer than the last one it accepted from that mobile node. NTP format: seconds since 1900 in
// the high 32 bits.
bool timestamp_acceptable(std::uint64_t received, std::uint64_t now,
                          std::optional<std::uint64_t> last_accepted, std::uint32_t window_seconds);

}  // namespace mipv6::ipsec
