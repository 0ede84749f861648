#pragma once
/// \file
/// detail::port_impl — one port: its inbox, its handlers and its monitors, and running it:
/// taking messages from its inbox, dispatching each to its handler (by tag, then the actor's
/// selective receive, then the fallback), killing the port when a handler throws or nothing
/// handles a message, and tearing a killed port down in its own context (queued messages
/// dropped and counted, handlers destroyed, monitors fired). The inbox's producer side
/// (`push`) is here, its consumer side (`take_all`, `try_block`, `run`) beside it and in
/// port_impl.cpp. The scheduler decides which thread runs a port; `run` is what that thread
/// does.
///
/// Threading: `refs`, `id`, `inbox` and `state` are touched by any thread; the monitor list
/// under `mon_lock`; everything else only by the thread that runs the port (the scheduler
/// guarantees one at a time). Lifetime: port objects live in the node's port table and are
/// recycled, never freed, while the node lives, so a stale pointer is always safe to probe.
/// May include: the runtime's public and detail headers, intrusive_list, spinlock, thread_state;
/// the core by declaration only (port_impl.cpp uses it, and send_path for batches).

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "coport/detail/actor_state.hpp"
#include "coport/detail/handler.hpp"
#include "coport/detail/message_block.hpp"
#include "coport/detail/unique_function.hpp"
#include "coport/reason.hpp"
#include "coport/tag.hpp"
#include "intrusive_list.hpp"
#include "spinlock.hpp"
#include "thread_state.hpp"

namespace coport::detail {

class node_core;

/// One monitor on a port: what to do when it dies.
struct monitor_record {
  monitor_record* next = nullptr;
  monitor_record* prev = nullptr;
  std::uint64_t serial = 0;  ///< tells a remote monitor's record from a later one at its address
  unique_function<void(const reason&)> action;
};

/// An intrusive doubly linked list of monitors.
struct monitor_list {
  monitor_record* head = nullptr;

  void push(monitor_record* r) noexcept {
    r->next = head;
    r->prev = nullptr;
    if (head) head->prev = r;
    head = r;
  }
  void erase(monitor_record* r) noexcept {
    if (r->prev)
      r->prev->next = r->next;
    else
      head = r->next;
    if (r->next) r->next->prev = r->prev;
  }
  monitor_record* take() noexcept { return std::exchange(head, nullptr); }
};

/// Result of pushing onto an inbox.
enum class push_result { queued, woke, dead };

/// What running a port did.
enum class run_result {
  idle,   ///< nothing left: the port is parked until the next message
  more,   ///< the budget ran out with messages left: run it again
  ended,  ///< the port was killed and torn down
  /// It handled what it had and is not parked (only when the runner asked for it): its
  /// runner keeps it aside while the next port runs (scheduler.cpp) and parks it then if
  /// nothing came. A partner's answer to what it sent usually comes first, and
  /// then needs no wake-up: the push finds the port unparked, and nobody schedules it (one
  /// CAS and a schedule less per message of a ping-pong).
  drained,
};

/// A port: two cache lines. The first is what the running thread reads for every message
/// (and senders only read, to see `state`); the second is what senders write (the inbox)
/// and what monitors and kills touch. Sharing one line made a producer's push and its
/// consumer's per-message reads bounce the line between cores on every message.
struct alignas(64) port_impl {
  // -- line 0: read per message by the runner; read-mostly for everyone else ------------------
  std::atomic<std::int32_t> refs{0};  ///< 0 = free slot
  /// killed_bit once killed; measured_bit while measured (node::measure). Senders read it on
  /// every send: a port that is either takes their slow path, so measuring costs the others
  /// nothing.
  std::atomic<std::uint8_t> state{0};
  static constexpr std::uint8_t killed_bit = 1, measured_bit = 2;
  message_block* cache = nullptr;   ///< FIFO taken from the inbox, kept while the port is not
                                    ///< running (runner only)
  port_impl* next_ready = nullptr;  ///< (scheduler only)
  std::vector<std::pair<tag, message_handler>> handlers;  ///< (runner only)
  std::unique_ptr<actor_state> actor;  ///< a coroutine actor's mailbox; takes what no tag
                                       ///< handler does (runner only)
  message_handler fallback;            ///< (runner only)

  // -- line 1: written by senders, monitors and kills ------------------------------------------
  alignas(64) std::atomic<message_block*> inbox{blocked()};  ///< LIFO stack, or blocked()/dead()
  std::atomic<std::uint64_t> id{0};                          ///< local number while in use
  spinlock mon_lock;  ///< guards monitors, monitors_closed, death
  bool monitors_closed = false;
  /// Runs left that park at once instead of draining (runner only; beside the inbox, which
  /// the runner touches when it sets this): set when a drain found no answer.
  std::uint8_t drain_skips = 0;
  /// How many runs a port parks at once after a drain that found no answer (a ring, not a
  /// ping-pong: its partner sends on, not back), before it tries draining again.
  static constexpr std::uint8_t drain_retry = 16;
  /// Its meter in the node's port_meters (0: not measured; set before measured_bit).
  std::atomic<std::uint32_t> meter{0};
  monitor_list monitors;
  reason death;
  /// Handlers replaced while one runs, destroyed after the dispatch (runner only; rare;
  /// `buried_this_dispatch` tells the runner to look, so that it need not read this line).
  std::unique_ptr<std::vector<message_handler>> graveyard;

  static message_block* blocked() noexcept { return reinterpret_cast<message_block*>(1); }
  static message_block* dead() noexcept { return reinterpret_cast<message_block*>(2); }

  /// Pushes `n` (lock-free, one CAS); `woke` means the caller must schedule the port.
  push_result push(message_block* n) noexcept { return push_chain(n, n); }

  /// Pushes a chain linked newest -> ... -> oldest through `next` with one CAS; as `push`.
  push_result push_chain(message_block* newest, message_block* oldest) noexcept {
    message_block* head = inbox.load(std::memory_order_relaxed);
    do {
      if (head == dead()) return push_result::dead;
      oldest->next = head == blocked() ? nullptr : head;
    } while (!inbox.compare_exchange_weak(head, newest, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return head == blocked() ? push_result::woke : push_result::queued;
  }

  /// Runs up to `budget` messages of this port, a port of `core`, on this thread (the
  /// scheduler's exclusive slot); `ended` means it was torn down and may be recycled already.
  /// `may_drain`: a run that handled messages, the last of which sent to a port of this
  /// node, and finds no more returns `drained` instead of parking the port (the caller must
  /// then run it again).
  run_result run(node_core& core, std::size_t budget, bool may_drain = false);

  /// Takes everything pushed so far, oldest first (runner only).
  message_block* take_all() noexcept {
    // A plain load first: an empty inbox needs no exchange (one atomic RMW less per run).
    if (inbox.load(std::memory_order_relaxed) == nullptr) return nullptr;
    return reverse_list<&message_block::next>(inbox.exchange(nullptr, std::memory_order_acquire));
  }

  /// The messages queued for this port, counted up to `cap` (runner only: what it has not
  /// taken cannot go away under it; what is pushed meanwhile may or may not be counted).
  std::size_t queued_depth(std::size_t cap) const noexcept {
    std::size_t n = 0;
    for (const message_block* m = cache; m && n < cap; m = m->next) ++n;
    const message_block* head = inbox.load(std::memory_order_acquire);
    if (head == blocked() || head == dead()) return n;
    for (const message_block* m = head; m && n < cap; m = m->next) ++n;
    return n;
  }

  /// Something was pushed and not taken yet (runner only; a plain load).
  bool has_mail() const noexcept { return inbox.load(std::memory_order_relaxed) != nullptr; }

  /// Marks the port idle if nothing arrived; false if something did (runner only).
  bool try_block() noexcept {
    message_block* expected = nullptr;
    return inbox.compare_exchange_strong(expected, blocked(), std::memory_order_acq_rel,
                                         std::memory_order_relaxed);
  }

  /// Takes one reference if the port is alive with `wanted` as its number.
  bool try_acquire(std::uint64_t wanted, bool accept_killed = false) noexcept {
    std::int32_t r = refs.load(std::memory_order_relaxed);
    do {
      if (r == 0) return false;
    } while (!refs.compare_exchange_weak(r, r + 1, std::memory_order_acquire,
                                         std::memory_order_relaxed));
    if (id.load(std::memory_order_acquire) == wanted &&
        (accept_killed || !(state.load(std::memory_order_acquire) & killed_bit))) {
      return true;
    }
    release_ref_only();
    return false;
  }

  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }

  /// Drops a reference; true when it was the last (the caller recycles the port).
  bool release_ref_only() noexcept { return refs.fetch_sub(1, std::memory_order_acq_rel) == 1; }
};

static_assert(sizeof(port_impl) == 128, "port_impl is two cache lines");

}  // namespace coport::detail
