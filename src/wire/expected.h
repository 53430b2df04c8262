// Expected<T>: a value or a WireError, the result type of every decoder (DESIGN.md §2).
// In-house because GCC 12 needs -std=c++2b for std::expected and clang 14 rejects it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace mipv6::wire {

// Why a decode failed. Stable names (to_string) appear in mipv6-pcap's JSON output.
enum class WireErrc : std::uint8_t {
  kTruncated,         // fewer bytes than a field or a length says
  kBadLength,         // a length field that is impossible or below the minimum for its type
  kBadValue,          // a field value the format forbids (e.g. Payload Proto != 59)
  kMisalignedOption,  // an option that breaks its xn+y alignment rule (RFC 6275 §6.2)
  kOptionNotLast,     // Binding Authorization Data not last, or padded after (RFC 6275 §6.2.7)
  kBadChecksum,       // checksum does not verify
  kChainTooLong,      // extension-header chain over the hard limits
  kBadOrder,          // an extension header where RFC 8200 §4.1 / RFC 6275 §6.3 forbid it
  kUnsupported,       // a valid format this codec does not handle
  kTrailingBytes,     // bytes left over where the format defines none
};

std::string_view to_string(WireErrc code);

struct WireError {
  WireErrc code;
  std::size_t offset;  // byte offset of the offending field, relative to the decoded buffer
  friend bool operator==(const WireError&, const WireError&) = default;
};

template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(const T& value) : state_(value) {}        // NOLINT: implicit by design
  Expected(T&& value) : state_(std::move(value)) {}  // NOLINT
  Expected(WireError error) : state_(error) {}       // NOLINT
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, WireError>) Expected(U&& value)
      : state_(T(std::forward<U>(value))) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const WireError& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, WireError> state_;
};

// Expected<void>: success or an error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(WireError error) : error_(error), ok_(false) {}  // NOLINT: implicit by design
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const WireError& error() const { return error_; }

 private:
  WireError error_{WireErrc::kUnsupported, 0};
  bool ok_ = true;
};

using Status = Expected<void>;

}  // namespace mipv6::wire

#define MIPV6_CONCAT_INNER(a, b) a##b
#define MIPV6_CONCAT(a, b) MIPV6_CONCAT_INNER(a, b)

// MIPV6_TRY(lhs, expr): evaluate an Expected; on error return it from the enclosing function,
// otherwise move the value into `lhs` (which may be a declaration: `auto x`).
#define MIPV6_TRY(lhs, expr)                            \
  auto MIPV6_CONCAT(try_result_, __LINE__) = (expr);    \
  if (!MIPV6_CONCAT(try_result_, __LINE__)) {           \
    return MIPV6_CONCAT(try_result_, __LINE__).error(); \
  }                                                     \
  lhs = std::move(*MIPV6_CONCAT(try_result_, __LINE__))

// MIPV6_CHECK(expr): evaluate a Status (or any Expected) and return its error if it failed.
#define MIPV6_CHECK(expr)                             \
  do {                                                \
    auto check_result_ = (expr);                      \
    if (!check_result_) return check_result_.error(); \
  } while (false)
