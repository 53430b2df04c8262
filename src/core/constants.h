// Protocol constants (RFC 6275 §12) and configuration-variable defaults (§13), named after the
// RFC, plus the RFC 4861 constants Mobile IPv6 reuses.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace mipv6::core {

// RFC 6275 §12
inline constexpr int kDhaadRetries = 4;
inline constexpr Duration kInitialBindackTimeout = 1s;
inline constexpr Duration kInitialDhaadTimeout = 3s;
inline constexpr Duration kInitialSolicitTimer = 3s;
inline constexpr Duration kMaxBindackTimeout = 32s;
inline constexpr Duration kMaxDeleteBceTimeout = 10s;
inline constexpr Duration kMaxNonceLifetime = 240s;
inline constexpr Duration kMaxTokenLifetime = 210s;
inline constexpr int kMaxRoFailure = 3;
inline constexpr Duration kMaxRrBindingLifetime = 420s;
inline constexpr int kMaxUpdateRate = 3;  // per second
inline constexpr int kPrefixAdvRetries = 3;
inline constexpr Duration kPrefixAdvTimeout = 3s;

// RFC 6275 §13 defaults (each MUST be configurable where the RFC says so)
inline constexpr Duration kDefaultMaxMobPfxAdvInterval = 86400s;
inline constexpr Duration kDefaultMinDelayBetweenRas = 3s;
inline constexpr Duration kMinimumMinDelayBetweenRas = 30ms;
inline constexpr Duration kDefaultMinMobPfxAdvInterval = 600s;
inline constexpr Duration kDefaultInitialBindackTimeoutFirstReg = 1500ms;

// RFC 4861 §10 constants used by Mobile IPv6 (§10.4.1, §11.5.5)
inline constexpr int kMaxNeighborAdvertisement = 3;
inline constexpr Duration kRetransTimer = 1s;

}  // namespace mipv6::core
