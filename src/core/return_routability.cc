#include "core/return_routability.h"

#include <algorithm>
#include <span>

#include "core/constants.h"
#include "crypto/crypto.h"

namespace mipv6::core {
namespace {

wire::ByteSpan octets(const wire::Ipv6Address& address) {
  return std::as_bytes(std::span(address.bytes));
}

// First(64, x) read as a big-endian integer: the token's octets in wire order (§5.2.5 and the
// HoT/CoT Keygen Token fields, §6.1.5, §6.1.6).
KeygenToken first_64(const crypto::Sha1Digest& digest) {
  return wire::load_be64(digest.data());
}

std::array<std::byte, 8> token_octets(KeygenToken token) {
  std::array<std::byte, 8> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::byte>(token >> (56 - 8 * i));
  }
  return out;
}

KeygenToken keygen_token(const NodeKey& kcn, const wire::Ipv6Address& address, const Nonce& nonce,
                         std::byte which) {
  const std::array<std::byte, 1> suffix{which};
  return first_64(crypto::hmac_sha1(kcn, {octets(address), nonce, suffix}));
}

}  // namespace

KeygenToken home_keygen_token(const NodeKey& kcn, const wire::Ipv6Address& home_address,
                              const Nonce& nonce) {
  // §5.2.5: the trailing 0 octet separates home from care-of tokens.
  return keygen_token(kcn, home_address, nonce, std::byte{0});
}

KeygenToken care_of_keygen_token(const NodeKey& kcn, const wire::Ipv6Address& care_of_address,
                                 const Nonce& nonce) {
  // §5.2.6: the trailing 1 octet.
  return keygen_token(kcn, care_of_address, nonce, std::byte{1});
}

BindingKey binding_management_key(KeygenToken home_token,
                                  std::optional<KeygenToken> care_of_token) {
  const auto home = token_octets(home_token);
  if (!care_of_token) return crypto::sha1(home);  // §5.2.5: deletion, home token only
  const auto care_of = token_octets(*care_of_token);
  return crypto::sha1({home, care_of});
}

Authenticator binding_authenticator(const BindingKey& kbm, const wire::Ipv6Address& care_of_address,
                                    const wire::Ipv6Address& correspondent,
                                    wire::ByteSpan mh_data) {
  // §6.2.7: Mobility Data = care-of address | correspondent | MH Data; keep the first 96 bits.
  const auto mac =
      crypto::hmac_sha1(kbm, {octets(care_of_address), octets(correspondent), mh_data});
  Authenticator out{};
  std::copy_n(mac.begin(), out.size(), out.begin());
  return out;
}

NonceTable::NonceTable(Rng& rng, TimePoint now, Duration rotation)
    : rng_(rng), rotation_(rotation > Duration::zero() ? rotation : Duration(1)) {
  // §5.2.7: a nonce lives at most kMaxNonceLifetime after its first use, and its first use
  // precedes the next rotation, so ceil(lifetime / rotation) + 1 generations can be alive.
  const auto lifetime = std::chrono::duration_cast<Duration>(kMaxNonceLifetime);
  const auto generations = (lifetime.count() + rotation_.count() - 1) / rotation_.count() + 1;
  slots_.resize(static_cast<std::size_t>(generations));
  Slot& first = slots_[0];
  first.generation.index = rng_.next_u16();
  rng_.fill(first.generation.nonce);
  rng_.fill(first.generation.kcn);
  first.created = now;
  first.filled = true;
}

void NonceTable::rotate(TimePoint now) {
  const std::uint16_t next_index =
      static_cast<std::uint16_t>(slots_[current_].generation.index + 1);
  current_ = (current_ + 1) % slots_.size();
  Slot& slot = slots_[current_];
  slot = Slot{};
  slot.generation.index = next_index;
  // §5.2.7: Kcn is regenerated with the nonce, so the index identifies both.
  rng_.fill(slot.generation.nonce);
  rng_.fill(slot.generation.kcn);
  slot.created = now;
  slot.filled = true;
}

const NonceTable::Generation& NonceTable::current(TimePoint now) {
  // §5.2.2: a new nonce at regular intervals; a single rotation however long the gap was,
  // because only nonces that were handed out need to stay acceptable.
  if (now - slots_[current_].created >= rotation_) rotate(now);
  Slot& slot = slots_[current_];
  if (!slot.first_use) slot.first_use = now;
  return slot.generation;
}

const NonceTable::Generation* NonceTable::find(std::uint16_t index, TimePoint now) const {
  for (const Slot& slot : slots_) {
    if (!slot.filled || !slot.first_use || slot.generation.index != index) continue;
    // §5.2.7: MUST NOT accept a nonce beyond MAX_NONCE_LIFETIME after its first use.
    if (now - *slot.first_use > kMaxNonceLifetime) return nullptr;
    if (now < *slot.first_use) return nullptr;
    return &slot.generation;
  }
  return nullptr;
}

}  // namespace mipv6::core
