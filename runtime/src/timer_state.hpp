#pragma once
/// \file
/// detail::timer_state — one pending `after`: an Asio timer and what to do when it expires.
///
/// Threading: `cancel` and the completion race under `mutex`; exactly one of them wins.
/// Lifetime: owned by the pending completion handler; handles hold a weak_ptr.
/// May include: the runtime's public and detail headers, Asio (only timers.cpp includes this
/// header).

#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "coport/detail/message_block.hpp"
#include "coport/detail/unique_function.hpp"
#include "coport/port_id.hpp"

namespace coport::detail {

class timers;

struct timer_state : std::enable_shared_from_this<timer_state> {
  timer_state(timers& t, asio::io_context& io) : owner{t}, timer{io} {}
  ~timer_state() { destroy_message(msg); }
  timer_state(const timer_state&) = delete;
  timer_state& operator=(const timer_state&) = delete;

  /// Stops the timer; true if it had not fired yet.
  bool cancel() noexcept;

  timers& owner;
  asio::steady_timer timer;
  std::mutex mutex;
  bool done = false;
  port_id target;
  bool manual = false;  ///< on the virtual clock of a deterministic node (key: due, serial)
  std::chrono::steady_clock::time_point due{};
  std::uint64_t serial = 0;
  message_block* msg = nullptr;
  unique_function<void()> callback;
};

}  // namespace coport::detail
