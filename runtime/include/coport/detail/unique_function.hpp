#pragma once
/// \file
/// detail::unique_function — a move-only std::function (handlers may own move-only state).
///
/// Threading: none of its own; one owner at a time.

#include <memory>
#include <type_traits>
#include <utility>

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
  };

  std::unique_ptr<concept_t> impl_;
};

}  // namespace coport::detail
