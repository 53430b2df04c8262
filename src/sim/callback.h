// A move-only `void()` callable with inline storage, for the event queue: most simulator events
// (a frame in flight, a timer of an engine) capture a few pointers and one buffer, so they fit in
// the inline bytes and scheduling one costs no heap allocation (std::function allocates beyond
// 16 bytes in libstdc++). Larger or throwing-move callables go to the heap transparently.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace mipv6::sim {

class Callback {
 public:
  // 48 bytes hold a frame in flight (link pointer + Frame); with the ops pointer that makes 56,
  // so a scheduler slot (sequence + callback) fits one 64-byte cache line.
  static constexpr std::size_t kInlineSize = 48;
  static constexpr std::size_t kInlineAlign = alignof(void*);

  Callback() = default;
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, Callback> &&
           std::is_invocable_r_v<void, std::decay_t<F>&>)
      Callback(F&& f) {  // NOLINT(google-explicit-constructor): lambdas convert implicitly
    construct(std::forward<F>(f));
  }
  Callback(Callback&& other) noexcept { take(other); }
  Callback& operator=(Callback&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  Callback(const Callback&) = delete;
  Callback& operator=(const Callback&) = delete;
  ~Callback() { reset(); }

  // Replaces the stored callable, constructing the new one in place (no temporary Callback).
  template <class F>
  void emplace(F&& f) {
    if constexpr (std::is_same_v<std::decay_t<F>, Callback>) {
      static_assert(!std::is_lvalue_reference_v<F>, "a Callback is moved in: use std::move");
      *this = std::move(f);
    } else {
      reset();
      construct(std::forward<F>(f));
    }
  }

  explicit operator bool() const { return ops_ != nullptr; }
  void operator()() { ops_->invoke(storage_); }
  void reset() {
    if (ops_ != nullptr && ops_->destroy != nullptr) ops_->destroy(storage_);
    ops_ = nullptr;
  }
  // True when a callable of type F is stored without a heap allocation.
  template <class F>
  static constexpr bool fits_inline() {
    return sizeof(F) <= kInlineSize && alignof(F) <= kInlineAlign &&
           std::is_nothrow_move_constructible_v<F>;
  }

 private:
  struct Ops {
    void (*invoke)(void*);
    void (*move)(void* to, void* from);  // move-constructs into `to`, destroys `from`
    void (*destroy)(void*);              // nullptr: trivially destructible, nothing to do
  };
  template <class Fn>
  static Fn* as(void* p) {
    return std::launder(static_cast<Fn*>(p));
  }
  template <class Fn>
  static constexpr Ops kInlineOps{
      [](void* p) { (*as<Fn>(p))(); },
      [](void* to, void* from) {
        ::new (to) Fn(std::move(*as<Fn>(from)));
        as<Fn>(from)->~Fn();
      },
      std::is_trivially_destructible_v<Fn> ? nullptr : +[](void* p) { as<Fn>(p)->~Fn(); }};
  template <class Fn>
  static constexpr Ops kHeapOps{[](void* p) { (**as<Fn*>(p))(); },
                                [](void* to, void* from) { ::new (to) Fn*(*as<Fn*>(from)); },
                                [](void* p) { delete *as<Fn*>(p); }};

  template <class F>
  void construct(F&& f) {
    using Fn = std::decay_t<F>;
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      ::new (static_cast<void*>(storage_)) Fn*(new Fn(std::forward<F>(f)));
      ops_ = &kHeapOps<Fn>;
    }
  }

  void take(Callback& other) {
    if (other.ops_ == nullptr) return;
    other.ops_->move(storage_, other.storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }

  const Ops* ops_ = nullptr;
  alignas(kInlineAlign) std::byte storage_[kInlineSize];
};

}  // namespace mipv6::sim
