#pragma once
/// \file
/// coport::sleep — `co_await sleep(d)` suspends a coroutine actor for `d` without blocking a
/// thread; its port keeps receiving (messages queue in the mailbox, `rcv` handlers run).
/// Threading: inside a coroutine actor only.

#include <chrono>
#include <coroutine>
#include <cstdint>

#include "coport/detail/actor_state.hpp"
#include "coport/node.hpp"

namespace coport {

namespace detail {

class sleep_awaiter {
 public:
  explicit sleep_awaiter(std::chrono::steady_clock::duration d) : delay_{d} {}
  bool await_ready() const noexcept {
    return delay_ <= std::chrono::steady_clock::duration::zero();
  }
  void await_suspend(std::coroutine_handle<> h) {
    actor_state& state = current_actor();
    std::uint64_t serial = state.park(h);
    state.owner().after(delay_, [&state, serial] { state.resume_if(serial); });
  }
  void await_resume() const noexcept {}

 private:
  std::chrono::steady_clock::duration delay_;
};

}  // namespace detail

/// Suspends the current coroutine actor for `d`.
inline detail::sleep_awaiter sleep(std::chrono::steady_clock::duration d) {
  return detail::sleep_awaiter{d};
}

}  // namespace coport
