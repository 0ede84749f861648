#pragma once
/// \file
/// detail::unique_function — a move-only std::function (handlers may own move-only state).
///
/// The callable lives in a block from the message pool (per-thread free lists): a port made
/// on one thread and ended on another costs no malloc/free pair across threads.
/// Threading: none of its own; one owner at a time.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "coport/detail/message_block.hpp"

namespace coport::detail {

template <class Sig>
class unique_function;

/// A type-erased, move-only callable.
template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() noexcept = default;
  unique_function(std::nullptr_t) noexcept {}

  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function> &&
                                              std::is_invocable_r_v<R, F&, Args...>>>
  unique_function(F&& f) : impl_{std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))} {}

  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F f) : fn(std::move(f)) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;

    static void* operator new(std::size_t size) { return allocate_message(size); }
    static void operator delete(void* p, std::size_t size) noexcept { deallocate_message(p, size); }
    // Over-aligned callables bypass the pool (its blocks are 16-byte aligned).
    static void* operator new(std::size_t size, std::align_val_t a) {
      return ::operator new(size, a);
    }
    static void operator delete(void* p, std::size_t size, std::align_val_t a) noexcept {
      (void)size;
      ::operator delete(p, a);  // unsized: clang enables sized deallocation only on request
    }
  };

  std::unique_ptr<concept_t> impl_;
};

}  // namespace coport::detail
