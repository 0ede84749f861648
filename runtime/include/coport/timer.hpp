#pragma once
/// \file
/// coport::timer — the handle `node::after` returns; `cancel()` stops the timer.
///
/// Dropping the handle does not cancel (AEMP's `after` has no handle at all).
/// Threading: `cancel` may be called from any thread. Lifetime: may outlive the node.

#include <memory>

namespace coport {

namespace detail {
struct timer_state;
}

/// A handle on a pending `after`.
class timer {
 public:
  timer() noexcept = default;
  explicit timer(std::weak_ptr<detail::timer_state> state) noexcept : state_{std::move(state)} {}

  /// Cancels the timer; returns true if this call stopped it before it fired.
  bool cancel() noexcept;

 private:
  std::weak_ptr<detail::timer_state> state_;
};

}  // namespace coport
