#pragma once
/// \file
/// detail::node_core — the state of a node shared by its handle, its jobs and its guards.
///
/// The `node` object owns the core through a shared_ptr; Asio handlers and monitor guards hold
/// it too, so a job that runs (or is destroyed) after the node is gone touches valid memory.
/// Threading: every member is thread-safe unless it says otherwise.

#include <asio/defer.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coport/detail/interner.hpp"
#include "coport/node.hpp"
#include "inits.hpp"
#include "monitors.hpp"
#include "node_events.hpp"
#include "node_port.hpp"
#include "port_table.hpp"
#include "remote_ports.hpp"
#include "scheduler.hpp"
#include "timers.hpp"

namespace coport::detail {

/// The port ID with the given numbers.
port_id make_port_id(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation);

/// What running a port did.
enum class run_result {
  idle,   ///< nothing left: the port is parked until the next message
  more,   ///< the budget ran out with messages left: run it again
  ended,  ///< the port was killed and torn down
};

/// The port this thread is running, if any.
inline context& current() noexcept {
  return per_thread.current;
}
inline constexpr std::uint32_t batch_limit = 32;  ///< messages pushed with one CAS at most

inline std::size_t send_cache_slot(std::uint64_t local) noexcept {
  // Fibonacci hashing: serials and slots grow together, so the low bits alone collide.
  return (local * 0x9E3779B97F4A7C15ull) >> (64 - send_cache_bits);
}

/// The shared state of one node.
class node_core : public std::enable_shared_from_this<node_core> {
 public:
  node_core(node& owner, node_options options, asio::io_context* external);
  ~node_core();

  // -- identity ----------------------------------------------------------------------------
  node& owner() noexcept { return owner_; }
  const std::string& id() const noexcept { return id_; }
  std::uint32_t node_number() const noexcept { return node_number_; }
  std::uint32_t incarnation() const noexcept { return incarnation_; }
  port_id id_of(const port_impl* p) const noexcept;
  /// True for a port of this node and this incarnation (or of no stated incarnation).
  bool is_local(const port_id& p) const noexcept {
    return p.node_number() == node_number_ &&
           (p.incarnation() == incarnation_ || p.incarnation() == 0);
  }
  /// True for a port ID naming this node's ID (of any incarnation).
  bool is_own_node(const port_id& p) const noexcept { return p.node_number() == node_number_; }

  // -- executor ------------------------------------------------------------------------------
  /// Starts the worker threads (self-run, threaded mode only).
  void start();
  asio::io_context& io() noexcept { return *io_; }
  /// Posts `job` to the executor; the job keeps the core alive.
  template <class F>
  void post_job(F&& job);
  /// Like post_job, as a continuation of the current handler (asio::defer: no thread wake).
  template <class F>
  void defer_job(F&& job);
  bool deterministic() const noexcept { return options_.mode == run_mode::deterministic; }
  bool step();
  void shutdown();
  bool shutting_down() const noexcept { return shutting_down_.load(std::memory_order_acquire); }

  // -- ports ---------------------------------------------------------------------------------
  /// A new port (one reference for the table plus `extra_refs` for the caller).
  port_impl* create_port(message_handler fallback, std::int32_t extra_refs = 0,
                         std::unique_ptr<actor_state> actor = nullptr);
  /// A port with the minted number `local` (another node spawns it here) and one extra
  /// reference for the caller; null when that number is in use.
  port_impl* create_minted_port(std::uint64_t local);
  /// The live local port `p` with a reference taken, or null.
  port_impl* acquire(const port_id& p, bool accept_killed = false) noexcept;
  /// Drops a reference; recycles the port after the last.
  void release(port_impl* p) noexcept;
  /// Sends a block to any port (local, or through the remote link); takes ownership.
  void send(const port_id& to, message_node* n) noexcept {
    if (is_local(to)) [[likely]] {
      if (port_impl* p = lookup_cached(to.local())) [[likely]] {
        push_sent(p, n);
        return;
      }
    }
    send_slow(to, n);
  }
  /// Pushes a block into a port we hold a reference to; consumes that reference.
  void deliver(port_impl* p, message_node* n) noexcept;
  /// Pushes a block into a port we hold a reference to, keeping the reference (after this
  /// thread's pending batch, so that order from this thread holds).
  void push_to(port_impl* p, message_node* n) noexcept {
    if (per_thread.pending_sends.count) [[unlikely]]
      flush_pending();
    push_plain(p, n);
  }
  /// The live local port `local` through this thread's send cache (a pinned reference that
  /// the cache owns; the caller takes none), or null. The hit path is inline.
  port_impl* lookup_cached(std::uint64_t local) noexcept {
    const send_cache_entry& e = per_thread.send_cache[send_cache_slot(local)];
    if (e.core_uid == uid_ && e.local == local && !e.port->killed.load(std::memory_order_acquire))
        [[likely]] {
      return e.port;
    }
    return lookup_slow(local);
  }
  /// `send`'s push into a port pinned by this thread's send cache: the one push that may be
  /// batched (the pin keeps the port's slot until the batch is pushed).
  void push_sent(port_impl* p, message_node* n) noexcept {
    if (++per_thread.sends_this_dispatch >= busy_sends) [[unlikely]] {
      pending_batch& b = per_thread.pending_sends;
      if (b.port == p && b.count != 0 && b.count + 1 < batch_limit) {
        // Another message for the open batch (a port address is unique to its node).
        n->next = b.newest;
        b.newest = n;
        ++b.count;
        return;
      }
      if (push_busy(p, n)) return;
    }
    push_plain(p, n);
  }
  void push_plain(port_impl* p, message_node* n) noexcept {
    push_result r = p->push(n);
    if (r != push_result::queued) [[unlikely]]
      pushed_not_queued(p, n, r);
  }
  /// A send by a handler that has sent `busy_sends` messages in this dispatch (see
  /// send_batch.cpp): offers this thread's woken ports to idle threads and batches sends to
  /// one port. False if the caller is to push plainly.
  bool push_busy(port_impl* p, message_node* n) noexcept;
  /// Pushes this thread's pending batch, if any (any node's).
  static void flush_pending() noexcept;
  /// The rest of `send`: cache misses, remote ports, drops.
  void send_slow(const port_id& to, message_node* n) noexcept;
  /// The rest of `push_to`: schedules a woken port or drops a message to a dead one.
  void pushed_not_queued(port_impl* p, message_node* n, push_result r) noexcept;
  /// The rest of `lookup_cached`: fills or evicts the entry.
  port_impl* lookup_slow(std::uint64_t local) noexcept;
  /// Kills a port we hold a reference to (first reason wins); consumes that reference.
  void kill(port_impl* p, reason why);
  /// Kills the port this thread is running (which the caller does not hold a reference to).
  void kill_running(port_impl* p, reason why) {
    p->add_ref();
    kill(p, std::move(why));
  }
  /// Runs up to `budget` messages of `p` on this thread (the scheduler's exclusive slot).
  run_result run_port(port_impl* p, std::size_t budget);
  /// Counts a dropped message.
  void count_drop() noexcept { dropped_.fetch_add(1, std::memory_order_relaxed); }
  node_stats stats() const noexcept;

  // -- monitors ------------------------------------------------------------------------------
  detail::monitors& monitors() noexcept { return monitors_; }
  /// Logs that a user callback (`what`) threw `error`.
  void log_error(const char* what, const char* error) noexcept;
  /// Posts `f()` as a plain job (no port context); an exception escaping it is logged.
  template <class F>
  void post_guarded(const char* what, F&& f);
  /// Ports on other nodes: the link, remote monitors, remote spawns.
  remote_ports& remote() noexcept { return remote_; }

  // -- spawn -----------------------------------------------------------------------------------
  /// The registered init functions, spawn places and init failures.
  detail::inits& inits() noexcept { return inits_; }

  // -- node events -----------------------------------------------------------------------------
  node_events& events() noexcept { return events_; }

  // -- the node port ----------------------------------------------------------------------------
  node_port& own_port() noexcept { return own_port_; }
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }

  // -- time and timers ---------------------------------------------------------------------------
  detail::timers& timers() noexcept { return timers_; }
  std::chrono::steady_clock::time_point now() const noexcept { return timers_.now(); }

  // -- inits ----------------------------------------------------------------------------------
  /// Makes the new port `p` (a reference held, which this consumes) run init `name`.
  void start_init(port_impl* p, std::string_view name, message args);
  /// Runs init `name` with `args` in the current port (spawn); kills it on failure.
  void run_init(const std::string& name, message& args);

 private:
  void dispatch(port_impl* p, message_node* n);
  /// Counts a port just made; kills it at once when the node is shutting down.
  port_impl* born(port_impl* p);
  void teardown(port_impl* p);
  void log_death(port_impl* p, const reason& why);

  node& owner_;
  node_options options_;
  std::string id_;
  std::uint64_t uid_;  // unique in the process, never reused (send caches key on it)
  std::uint32_t node_number_ = 0;
  std::uint32_t incarnation_ = 0;
  std::chrono::steady_clock::time_point started_;

  std::unique_ptr<asio::io_context> own_io_;
  asio::io_context* io_ = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  port_table ports_;
  scheduler scheduler_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::size_t> created_{0};
  std::atomic<std::size_t> dropped_{0};
  std::atomic<std::size_t> live_{0};  // created and not yet torn down
  std::mutex ended_mutex_;
  std::condition_variable ended_cv_;

  detail::timers timers_;
  detail::monitors monitors_;

  detail::inits inits_;

  node_port own_port_;
  remote_ports remote_;

  node_events events_;
};

template <class F>
void node_core::post_job(F&& job) {
  asio::post(*io_, [self = shared_from_this(), job = std::forward<F>(job)]() mutable { job(); });
}

template <class F>
void node_core::post_guarded(const char* what, F&& f) {
  post_job([this, what, f = std::forward<F>(f)]() mutable {
    try {
      f();
    } catch (const std::exception& e) {
      log_error(what, e.what());
    } catch (...) {
      log_error(what, "unknown exception");
    }
  });
}

template <class F>
void node_core::defer_job(F&& job) {
  asio::defer(*io_, [self = shared_from_this(), job = std::forward<F>(job)]() mutable { job(); });
}

}  // namespace coport::detail
