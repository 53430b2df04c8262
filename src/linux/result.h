// Result<T>: a value or an Error, the return type of every call into the kernel in src/linux.
// The data plane never lets an exception escape (issue 8): a failed system call becomes an
// Error carrying the errno and a message that says what was attempted, e.g.
// "RTM_NEWADDR 2001:db8::1/64 on ifindex 99: No such device".
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace mipv6::linux_dp {

struct Error {
  int code = 0;         // errno value (0 when the failure is not a system call's)
  std::string message;  // what was attempted, then strerror(code)
};

// An Error for `what` with the errno `code`; the message ends with strerror(code).
Error make_error(std::string_view what, int code);
// make_error() with the current errno.
Error errno_error(std::string_view what);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT
  template <class U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Error>) Result(U&& value)  // NOLINT
      : state_(T(std::forward<U>(value))) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mipv6::linux_dp
