#pragma once
/// \file
/// detail::scheduler — decides which thread runs which ready port, on top of Asio.
///
/// A port that becomes ready while a runner is running on this thread goes into the thread's
/// local queue (no lock, no atomic): the woken receiver of a ping-pong runs next on the same
/// core. When a local queue holds more than one port, all but the newest go to the shared
/// queue (and a runner is posted if a slot is free), so independent ports spread over the
/// pool instead of waiting behind this thread's handler; a handler that has sent
/// `busy_sends` messages hands over the newest too (`offer_local`). A runner is one Asio
/// handler that runs many ports, then yields to Asio. (No thread steals from another's local
/// queue: a long handler that woke one port and sends little keeps it until it returns.)
/// In deterministic mode nothing is posted: `step` runs one message at a time, FIFO by port.
/// A port woken from outside any runner (another thread) is pushed onto a lock-free stack and
/// a runner is posted only if no runner is between ports looking for work (as in Tokio).
/// (Spinning a few microseconds before giving up a slot measured no better here.)
/// Threading: `schedule` is thread-safe; `step` and `help` are called by one thread at a time.
/// May include: port_impl; the core by declaration only (Asio in scheduler.cpp).

#include <atomic>
#include <cstddef>
#include <mutex>

#include "port_impl.hpp"

namespace coport::detail {

class node_core;

/// A FIFO of ready ports linked through `next_ready`.
struct ready_list {
  port_impl* head = nullptr;
  port_impl* tail = nullptr;
  std::size_t size = 0;

  void push(port_impl* p) noexcept {
    p->next_ready = nullptr;
    if (tail)
      tail->next_ready = p;
    else
      head = p;
    tail = p;
    ++size;
  }
  port_impl* pop() noexcept {
    port_impl* p = head;
    if (!p) return nullptr;
    head = p->next_ready;
    if (!head) tail = nullptr;
    --size;
    return p;
  }
};

/// A handler that has pushed `busy_sends` messages in one dispatch (thread_state::
/// sends_this_dispatch) is a producer that will keep its thread for a while: ports it wakes
/// are offered to idle threads at once instead of waiting behind it in the local queue.
inline constexpr std::uint32_t busy_sends = 64;

/// One port run in this many is timed for the node's handler-time histogram.
inline constexpr std::uint64_t handler_sample = 64;

/// Runs ready ports on the node's executor.
class scheduler {
 public:
  scheduler(node_core& core, bool deterministic, unsigned max_runners, std::size_t budget);

  /// Makes `p` run. `p` must have just been woken by a push (so that nothing tears it down
  /// before it runs); the queue takes no reference.
  void schedule(port_impl* p);

  /// Called when the running handler has become a busy producer: hands this thread's local
  /// queue to idle threads, if there are any.
  void offer_local();

  /// Deterministic mode: runs one message of the oldest ready port; false if none was ready.
  bool step();

  /// Runs ready ports from the shared queue on the calling thread until it is empty (used by
  /// shutdown); returns the number of ports run.
  std::size_t help();

  /// Messages the node's ports have handled: each thread counts what it handles
  /// (thread_state::handled), and a runner adds its thread's count over the job when the job
  /// ends or yields (at least every millisecond while it runs): one atomic add per job, not
  /// one per message.
  std::uint64_t handled() const noexcept { return handled_.load(std::memory_order_relaxed); }

 private:
  void post_runner();
  void run_job();
  /// Runs `p` once; with `runner` (a runner job's own), what still has messages goes back
  /// to its queue and a drained port waits in its slot; without, to the shared queue.
  void run_one(port_impl* p, std::size_t budget, local_runner* runner);
  /// A drained port looked at again: ready if mail came, else parked.
  void settle(local_runner& runner, port_impl* p);
  /// run_one, timed: one sample of the node's handler-time histogram (the mean of the run's
  /// handler runs). Every handler_sample-th run of a job, and step.
  void sampled_run(port_impl* p, std::size_t budget, local_runner* runner);
  /// Appends to the shared queue and marks it non-empty (mutex_ held).
  void push_shared_locked(port_impl* p) noexcept;
  /// Takes a runner slot if one is free.
  bool claim_runner() noexcept;
  /// Pushes onto the shared queue and wakes a runner for it if a slot is free.
  void share(ready_list& from, std::size_t keep);
  /// Takes the ports injected from outside: returns the oldest, shares the others.
  port_impl* take_injected();
  port_impl* pop_shared();

  node_core& core_;
  const bool deterministic_;
  const unsigned max_runners_;
  const std::size_t budget_;

  /// Runner jobs posted or running (at most max_runners_); taken and given back by CAS.
  std::atomic<unsigned> runners_{0};
  /// Ports woken by threads that run no runner of this node (a spawning main thread, sender
  /// threads): a lock-free stack through next_ready, so that those threads take no lock.
  std::atomic<port_impl*> injected_{nullptr};
  /// Runners between ports, looking for work (a pusher from outside need wake nobody then).
  std::atomic<unsigned> searching_{0};

  mutable std::mutex mutex_;  // guards shared_
  ready_list shared_;
  std::atomic<bool> shared_nonempty_{false};  ///< mirrors !shared_.empty() (written under mutex_)
  /// Read by scrapes only: on a line of its own, away from what every push touches.
  alignas(64) std::atomic<std::uint64_t> handled_{0};
  std::atomic<std::uint64_t> steps_{0};  ///< deterministic steps (which to sample)
};

}  // namespace coport::detail
