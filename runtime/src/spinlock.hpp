#pragma once
/// \file
/// detail::spinlock — a one-byte lock for short, rare critical sections (monitor lists).
/// May include: the standard library only.

#include <atomic>
#include <thread>

namespace coport::detail {

/// A test-and-test-and-set lock; BasicLockable.
class spinlock {
 public:
  void lock() noexcept {
    for (int spins = 0; flag_.exchange(true, std::memory_order_acquire); ++spins) {
      while (flag_.load(std::memory_order_relaxed)) {
        if (++spins > 64) std::this_thread::yield();
      }
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace coport::detail
