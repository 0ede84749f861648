#pragma once
/// \file
/// detail::timers — the node's clock and its pending `after`s: Asio timers on the node's
/// io_context, or, on a deterministic node, a virtual clock that moves only by `advance`
/// and the timers that wait on it (fired in due order).
///
/// A timer that fires sends its message through the core, or runs its callback (an
/// exception is logged); one cancelled drops its message. `cancel_all` (at shutdown) stops
/// every pending one, and later `start`s are done at once.
/// Threading: thread-safe. Lifetime: owned by the node's core; a pending Asio wait keeps
/// the core alive.
/// May include: the runtime's public and detail headers, Asio (in .cpp files and
/// timer_state.hpp), and the core's declaration only.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "coport/detail/message_block.hpp"
#include "coport/detail/unique_function.hpp"
#include "coport/node.hpp"
#include "coport/timer.hpp"

namespace coport::detail {

class node_core;
struct timer_state;

class timers {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Timers of `core`; on a deterministic node, the virtual clock starts at `start`.
  timers(node_core& core, bool deterministic, time_point start);
  timers(const timers&) = delete;
  timers& operator=(const timers&) = delete;

  /// After `delay`, sends block `n` (owned) to `port`, or, with no block, runs `callback`.
  timer start(node::duration delay, const port_id& port, message_block* n,
              unique_function<void()> callback);
  /// steady_clock, or the virtual clock.
  time_point now() const noexcept;
  /// Deterministic mode: moves the clock by `d`, firing what falls due; how many fired.
  std::size_t advance(node::duration d);
  /// Cancels every pending timer; later ones are done at once.
  void cancel_all();

  /// Runs an expired (or cancelled) timer's action: from the Asio wait or `advance`.
  void fire(const std::shared_ptr<timer_state>& state, bool cancelled);
  /// Forgets a timer that fired or was cancelled.
  void done(timer_state* t) noexcept;

 private:
  node_core& core_;
  const bool deterministic_;
  mutable std::mutex mutex_;
  bool stopped_ = false;
  std::unordered_set<timer_state*> pending_;
  // Deterministic mode: the virtual clock and the timers waiting on it, by (due, serial).
  time_point virtual_now_;
  std::multimap<std::pair<time_point, std::uint64_t>, std::shared_ptr<timer_state>> manual_;
  std::uint64_t manual_serial_ = 0;
};

}  // namespace coport::detail
