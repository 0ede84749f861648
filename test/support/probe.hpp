#pragma once
/// \file
/// Test support: a thread-safe record of events and bounded waits for them.
/// Every wait has a deadline (default 10 s) so that a failing test ends by itself.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace coport::test {

using namespace std::chrono_literals;

/// Events recorded from any thread, awaited from the test's thread.
class probe {
 public:
  void add(std::string event) {
    // Notify under the lock: a waiter that wakes may destroy the probe right after.
    std::lock_guard lock{mutex_};
    events_.push_back(std::move(event));
    cv_.notify_all();
  }

  /// Waits until at least `n` events are recorded; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lock{mutex_};
    return cv_.wait_for(lock, limit, [&] { return events_.size() >= n; });
  }

  std::vector<std::string> events() const {
    std::lock_guard lock{mutex_};
    return events_;
  }

  std::size_t size() const {
    std::lock_guard lock{mutex_};
    return events_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

/// Polls `pred` until it holds or `limit` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace coport::test
