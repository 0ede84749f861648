#pragma once
/// \file
/// detail::node_core — the state of a node shared by its handle, its jobs and its guards.
///
/// The `node` object owns the core through a shared_ptr; Asio handlers and monitor guards hold
/// it too, so a job that runs (or is destroyed) after the node is gone touches valid memory.
/// Threading: every member is thread-safe unless it says otherwise.
/// May include: its parts' headers, the runtime's public and detail headers, Asio (the executor it
/// owns).

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
#include "port_meters.hpp"
#include "port_table.hpp"
#include "remote_ports.hpp"
#include "scheduler.hpp"
#include "send_path.hpp"
#include "spinlock.hpp"
#include "timers.hpp"
#include "tracer.hpp"

namespace coport::detail {

/// The port ID with the given numbers.
port_id make_port_id(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation);

/// The port this thread is running, if any.
inline context& current() noexcept {
  return per_thread.current;
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
  bool is_local(const port_id& p) const noexcept { return sends_.is_local(p); }
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
  /// Stops sending this node's log lines to its own sink (node_options::log): the node's
  /// destructor, after shutdown.
  void close_log_sink() noexcept;
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
  /// How messages reach ports: send, push, batches, drops.
  send_path& sends() noexcept { return sends_; }
  /// Kills a port we hold a reference to (first reason wins); consumes that reference.
  void kill(port_impl* p, reason why);
  /// Kills the port this thread is running (which the caller does not hold a reference to).
  void kill_running(port_impl* p, reason why) {
    p->add_ref();
    kill(p, std::move(why));
  }
  /// A torn-down port leaves the table (counted; the last one wakes shutdown); consumes the
  /// table's reference.
  void ended(port_impl* p) noexcept;
  node_stats stats() const noexcept;
  /// The measured ports (node::measure).
  port_meters& meters() noexcept { return meters_; }
  /// Makes `p` (a live port) measured under `name`; false when it is already, or
  /// port_meters::capacity ports are.
  bool measure(port_impl* p, std::string name);
  /// A measured port's handler run took `d`.
  void measured_ran(std::uint32_t meter, std::chrono::steady_clock::duration d) noexcept {
    port_meter& m = meters_.at(meter);
    m.handled.fetch_add(1, std::memory_order_relaxed);
    m.times.record(d);
  }
  /// A sampled port run handled `messages` in `d` (scheduler): one sample of their mean.
  void run_sampled(std::chrono::steady_clock::duration d, std::uint64_t messages) noexcept {
    if (messages) handler_times_.record(d / static_cast<std::int64_t>(messages));
  }
  /// A sampled run of `p` starts with `depth` messages queued (node_stats::deepest_mailbox).
  void note_mailbox(port_impl* p, std::size_t depth,
                    std::chrono::steady_clock::time_point now) noexcept;

  // -- tracing ---------------------------------------------------------------------------------
  detail::tracer& tracer() noexcept { return tracer_; }

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
  /// Counts a port just made; kills it at once when the node is shutting down.
  port_impl* born(port_impl* p);

  node& owner_;
  node_options options_;
  std::string id_;
  std::uint64_t uid_;                 // unique in the process, never reused (send caches key on it)
  std::uint64_t log_sink_token_ = 0;  // node_options::log's registration (0: none)
  std::uint32_t node_number_ = 0;
  std::uint32_t incarnation_ = 0;
  std::chrono::steady_clock::time_point started_;

  std::unique_ptr<asio::io_context> own_io_;
  asio::io_context* io_ = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;

  port_table ports_;
  scheduler scheduler_;
  port_meters meters_;
  timings handler_times_;
  struct deepest_mailbox {
    std::size_t depth = 0;
    port_id port;
    std::chrono::steady_clock::time_point at;
  };
  mutable spinlock deepest_lock_;  // taken by one port run in 64, and by stats()
  deepest_mailbox deepest_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<std::size_t> created_{0};
  std::atomic<std::size_t> live_{0};  // created and not yet torn down
  std::mutex ended_mutex_;
  std::condition_variable ended_cv_;

  detail::timers timers_;
  detail::monitors monitors_;

  detail::inits inits_;

  node_port own_port_;
  remote_ports remote_;
  send_path sends_;
  detail::tracer tracer_;

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
