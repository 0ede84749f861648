#pragma once
/// \file
/// detail::actor_state — a coroutine actor's mailbox, its suspended coroutine and its wait.
///
/// The port's dispatch hands every message that no `rcv` tag handler takes to `enqueue`: a
/// pending receive that matches gets it at once and the coroutine resumes inline, in the
/// port's context; anything else is queued in the mailbox (mailbox.hpp: arrival order, an
/// index by tag) for a later receive to find. A waiting receive tests each new message once, as it
/// arrives, so it scans only what arrived since its last scan. Threading: used only in the owning
/// port's context. Lifetime: owned by the port; destroyed at its teardown, which destroys the
/// coroutine frame (running the frame's destructors).

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "coport/detail/mailbox.hpp"
#include "coport/detail/message_block.hpp"
#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/timer.hpp"

namespace coport {

class node;

/// What a bounded mailbox does when it is full.
enum class overflow_policy {
  drop_newest,  ///< the arriving message is dropped (and counted)
  kill,         ///< the port dies with reason `mailbox_overflow`
};

/// Options of a coroutine actor.
struct actor_options {
  /// The most messages the mailbox holds; 0 = unbounded (the default, as in Erlang).
  std::size_t mailbox_limit = 0;
  overflow_policy on_overflow = overflow_policy::drop_newest;
};

namespace detail {

/// A receive that is waiting: how it matches, and where the match goes.
struct receive_wait {
  bool (*match)(void* matcher, const message& m) = nullptr;
  void* matcher = nullptr;
  message result;
  bool timed_out = false;
};

/// The per-port state of a coroutine actor.
class actor_state {
 public:
  actor_state(node& owner, actor_options options) noexcept : owner_{owner}, options_{options} {}
  ~actor_state();
  actor_state(const actor_state&) = delete;
  actor_state& operator=(const actor_state&) = delete;

  node& owner() noexcept { return owner_; }

  /// Takes a message that no tag handler took.
  void enqueue(message& m);

  /// Removes and returns the first queued message that `match` accepts (empty if none).
  message take_first(bool (*match)(void*, const message&), void* matcher) {
    if (mailbox_.empty()) return {};  // the common case of a receive loop that keeps up: inline
    return mailbox_.take_first(match, matcher);
  }
  /// The same for a matcher that accepts only messages tagged one of `tags` (mailbox.hpp).
  message take_first(std::span<const tag> tags, bool (*match)(void*, const message&),
                     void* matcher) {
    if (mailbox_.empty()) return {};
    return mailbox_.take_first(tags, match, matcher);
  }

  /// Suspends the coroutine on `wait` until a match arrives or `timeout` passes.
  void wait_for(receive_wait& wait, std::coroutine_handle<> h,
                std::optional<std::chrono::steady_clock::duration> timeout);

  /// Suspends the coroutine on another operation; returns the serial its completion quotes.
  std::uint64_t park(std::coroutine_handle<> h) noexcept;
  /// True while the coroutine is parked under `serial`.
  bool parked(std::uint64_t serial) const noexcept { return suspended_ && serial_ == serial; }
  /// Resumes the coroutine if it is still parked under `serial` (port context only).
  bool resume_if(std::uint64_t serial);

  /// Attaches the coroutine frame (started at once) and keeps `keep_alive` with it.
  void start(std::coroutine_handle<> frame, std::shared_ptr<void> keep_alive);

  /// The coroutine returned (`error` empty) or threw: kill the port accordingly.
  void finished(const std::string* error);

  bool has_frame() const noexcept { return static_cast<bool>(frame_); }

  // Made and ended on different threads as often as not: take the message pool's blocks.
  static void* operator new(std::size_t size) { return allocate_message(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocate_message(p, size); }

 private:
  void resume(std::coroutine_handle<> h);

  node& owner_;
  actor_options options_;
  std::coroutine_handle<> frame_;
  std::shared_ptr<void> keep_alive_;
  mailbox mailbox_;  ///< (after keep_alive_: what waits in it goes first)
  receive_wait* waiting_ = nullptr;
  std::coroutine_handle<> suspended_;
  std::uint64_t serial_ = 0;
  timer deadline_;
  bool has_deadline_ = false;  ///< a receive timeout is pending (saves cancelling none)
};

class node_core;

/// Sends a closure block to `port` of the node `core` (usable after the node is gone).
void post_to_port(const std::shared_ptr<node_core>& core, const port_id& port,
                  message_block* closure) noexcept;

/// The actor state of the current port; throws std::logic_error outside a coroutine actor.
actor_state& current_actor();

/// Gives the current port an actor state if it has none yet (spawn by name); returns it.
actor_state& ensure_current_actor(actor_options options);

}  // namespace detail
}  // namespace coport
