#pragma once
/// \file
/// coport::subscription — a guard that ends a subscription (such as `mon_nodes`) when destroyed.
///
/// Threading: may be destroyed on any thread. Lifetime: may outlive what it subscribed to.

#include <functional>
#include <utility>

namespace coport {

/// Cancels a subscription when destroyed, unless released.
class [[nodiscard("destroying the guard ends the subscription")]] subscription {
 public:
  subscription() noexcept = default;
  explicit subscription(std::function<void()> cancel) noexcept : cancel_{std::move(cancel)} {}
  subscription(subscription && other) noexcept : cancel_{std::exchange(other.cancel_, {})} {}
  subscription& operator=(subscription&& other) noexcept {
    if (this != &other) {
      cancel();
      cancel_ = std::exchange(other.cancel_, {});
    }
    return *this;
  }
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription() {
    cancel();
  }

  /// Ends the subscription now.
  void cancel() noexcept {
    if (auto c = std::exchange(cancel_, {})) c();
  }
  /// Keeps the subscription for the node's life and empties this guard.
  void release() noexcept {
    cancel_ = {};
  }

  explicit operator bool() const noexcept {
    return static_cast<bool>(cancel_);
  }

 private:
  std::function<void()> cancel_;
};

}  // namespace coport
