// Return routability cryptography (RFC 6275 §5.2) and the correspondent's nonce table.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/rng.h"
#include "core/time.h"
#include "wire/address.h"
#include "wire/bytes.h"

namespace mipv6::core {

using NodeKey = std::array<std::byte, 20>;        // Kcn (§5.2.1)
using Nonce = std::array<std::byte, 8>;           // §5.2.2: 64 bits recommended
using KeygenToken = std::uint64_t;                // First(64, ...) (§5.2.5), as read big-endian
using BindingKey = std::array<std::byte, 20>;     // Kbm (§5.2.5)
using Authenticator = std::array<std::byte, 12>;  // First(96, HMAC_SHA1(...)) (§6.2.7)

// §5.2.5: home keygen token = First(64, HMAC_SHA1(Kcn, home address | nonce | 0)).
KeygenToken home_keygen_token(const NodeKey& kcn, const wire::Ipv6Address& home_address,
                              const Nonce& nonce);
// §5.2.6: care-of keygen token = First(64, HMAC_SHA1(Kcn, care-of address | nonce | 1)).
KeygenToken care_of_keygen_token(const NodeKey& kcn, const wire::Ipv6Address& care_of_address,
                                 const Nonce& nonce);
// §5.2.5: Kbm = SHA1(home token | care-of token); for a de-registration (no care-of token),
// Kbm = SHA1(home token).
BindingKey binding_management_key(KeygenToken home_token, std::optional<KeygenToken> care_of_token);
// §6.2.7: First(96, HMAC_SHA1(Kbm, care-of address | correspondent | MH data)), where MH data
// is wire::authenticator_input() of the message.
Authenticator binding_authenticator(const BindingKey& kbm, const wire::Ipv6Address& care_of_address,
                                    const wire::Ipv6Address& correspondent, wire::ByteSpan mh_data);

// The correspondent's nonces (§5.2.2, §5.2.7): a new nonce every `rotation`, each identified
// by a 16-bit index, with Kcn regenerated together with each new nonce so that one index names
// both (§5.2.7). A nonce is accepted from its first use in a HoT/CoT until kMaxNonceLifetime
// after that first use, both instants included — which satisfies both "SHOULD accept for at
// least MAX_TOKEN_LIFETIME after first use" and "MUST NOT accept beyond MAX_NONCE_LIFETIME
// after first use" (§5.2.7). Bounded state: ceil(kMaxNonceLifetime / rotation) + 1
// generations, in a ring (the generation overwritten is always past its lifetime).
class NonceTable {
 public:
  // `rotation` must be positive; the table keeps `rng` to draw later nonces and keys.
  NonceTable(Rng& rng, TimePoint now, Duration rotation = std::chrono::seconds(30));

  struct Generation {
    std::uint16_t index = 0;
    Nonce nonce{};
    NodeKey kcn{};
  };
  // The generation to use for a HoT/CoT sent now (rotating first if due); records `now` as its
  // first use if it had none.
  const Generation& current(TimePoint now);
  // The generation named by `index` if it is still acceptable at `now`; nullptr if unknown,
  // never handed out by current(), or expired (BA 136/137/138, §9.5.1).
  const Generation* find(std::uint16_t index, TimePoint now) const;

  // How many generations the ring holds (the bound above).
  std::size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    Generation generation;
    TimePoint created{};
    std::optional<TimePoint> first_use;
    bool filled = false;
  };
  void rotate(TimePoint now);

  Rng& rng_;
  Duration rotation_;
  std::vector<Slot> slots_;
  std::size_t current_ = 0;  // slot of the current generation
};

}  // namespace mipv6::core
