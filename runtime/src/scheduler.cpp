#include "scheduler.hpp"

#include <chrono>

#include "node_core.hpp"

namespace coport::detail {

/// The runner active on a thread (thread_state::runner).
struct local_runner {
  scheduler* owner;
  ready_list queue;
  /// The port that drained here (run_result::drained), looked at again after the next run.
  port_impl* drained = nullptr;
};

namespace {

/// How long one runner job may keep its thread before it yields to Asio (timers, I/O, the
/// embedding application's handlers). Yielding re-queues the runner as a continuation on
/// this thread (asio::defer), so it does not wake another thread.
constexpr auto time_slice = std::chrono::milliseconds{1};
constexpr std::size_t clock_check_every = 64;

}  // namespace

scheduler::scheduler(node_core& core, bool deterministic, unsigned max_runners, std::size_t budget)
    : core_{core},
      deterministic_{deterministic},
      max_runners_{max_runners == 0 ? 1 : max_runners},
      budget_{budget == 0 ? 1 : budget} {}

void scheduler::schedule(port_impl* p) {
  if (local_runner* r = per_thread.runner; r && r->owner == this) {
    r->queue.push(p);
    if (r->queue.size < 2 && per_thread.sends_this_dispatch < busy_sends) return;
    // More than one ready port here, or a handler that keeps this thread busy: share them.
    offer_local();
    return;
  }
  if (deterministic_) {
    std::lock_guard lock{mutex_};
    push_shared_locked(p);
    return;
  }
  // From outside a runner: no lock.
  port_impl* head = injected_.load(std::memory_order_relaxed);
  do {
    p->next_ready = head;
  } while (!injected_.compare_exchange_weak(head, p, std::memory_order_seq_cst,
                                            std::memory_order_relaxed));
  // Wake a thread unless a runner is looking for work (it will find the port): the push and
  // this read pair with a searcher's "stop searching, then look again" (run_job).
  if (searching_.load(std::memory_order_seq_cst) == 0 && claim_runner()) post_runner();
}

void scheduler::push_shared_locked(port_impl* p) noexcept {
  shared_.push(p);
  shared_nonempty_.store(true, std::memory_order_seq_cst);
}

bool scheduler::claim_runner() noexcept {
  unsigned up = runners_.load(std::memory_order_seq_cst);
  while (up < max_runners_) {
    if (runners_.compare_exchange_weak(up, up + 1, std::memory_order_seq_cst)) return true;
  }
  return false;
}

void scheduler::offer_local() {
  local_runner* r = per_thread.runner;
  if (!r || r->owner != this) return;
  // A drained port is not parked: mail to it wakes nobody, so it goes too.
  if (r->drained) r->queue.push(std::exchange(r->drained, nullptr));
  if (r->queue.size == 0) return;
  // A busy producer hands over everything; otherwise the newest port stays here (the one a
  // ping-pong partner just woke runs next on this core).
  share(r->queue, per_thread.sends_this_dispatch >= busy_sends ? 0 : 1);
}

void scheduler::share(ready_list& from, std::size_t keep) {
  std::size_t moved = 0;
  {
    // Ports go to the shared queue even when every runner is taken: a busy runner's local
    // queue waits for its handler, a shared one is taken by the next runner that is free.
    std::lock_guard lock{mutex_};
    while (from.size > keep) {
      push_shared_locked(from.pop());
      ++moved;
    }
  }
  while (moved-- > 0 && claim_runner()) post_runner();
}

void scheduler::post_runner() {
  core_.post_job([this] { run_job(); });
}

void scheduler::run_one(port_impl* p, std::size_t budget, local_runner* runner) {
  // The queue holds no reference: after an idle or ended run the port is not touched again.
  const run_result r = p->run(core_, budget, runner != nullptr);
  if (!runner) {
    if (r != run_result::more) return;
    std::lock_guard lock{mutex_};
    push_shared_locked(p);
    return;
  }
  // A runner's port may drain without parking (port_impl.hpp), for one run of the port that
  // runs next here (as a rule the partner it just sent to, whose answer then needs no
  // wake-up); mail from elsewhere wakes nobody meanwhile, so it waits no longer than that.
  if (runner->drained) settle(*runner, std::exchange(runner->drained, nullptr));
  if (r == run_result::drained) {
    if (runner->queue.size != 0) {
      runner->drained = p;
    } else {
      settle(*runner, p);
    }
    return;
  }
  if (r != run_result::more) return;
  runner->queue.push(p);
}

void scheduler::settle(local_runner& runner, port_impl* p) {
  // Mail came (a partner's answer, as a rule; a kill is mail too): it is ready, and nobody
  // scheduled it. Nothing: it parks, unless a message comes right now, and parks at once for
  // its next runs (its partner did not answer: draining it again would only cost).
  if (p->has_mail()) return runner.queue.push(p);
  p->drain_skips = port_impl::drain_retry;  // (before the park hands it to other threads)
  if (!p->try_block()) runner.queue.push(p);
}

void scheduler::sampled_run(port_impl* p, std::size_t budget, local_runner* runner) {
  const std::uint64_t before = per_thread.handled;
  const auto started = std::chrono::steady_clock::now();
  core_.note_mailbox(p, p->queued_depth(1000), started);
  run_one(p, budget, runner);
  core_.run_sampled(std::chrono::steady_clock::now() - started, per_thread.handled - before);
}

port_impl* scheduler::take_injected() {
  if (!injected_.load(std::memory_order_relaxed)) return nullptr;
  port_impl* fifo =
      reverse_list<&port_impl::next_ready>(injected_.exchange(nullptr, std::memory_order_acquire));
  ready_list taken;
  while (fifo) {
    port_impl* next = fifo->next_ready;
    taken.push(fifo);
    fifo = next;
  }
  // Run the oldest here; the others go where an idle thread can take them (they must not
  // wait behind a long handler of this runner while another thread is idle).
  port_impl* first = taken.pop();
  if (taken.size) share(taken, 0);
  return first;
}

port_impl* scheduler::pop_shared() {
  if (!shared_nonempty_.load(std::memory_order_seq_cst)) return nullptr;
  std::lock_guard lock{mutex_};
  port_impl* p = shared_.pop();
  if (!shared_.head) shared_nonempty_.store(false, std::memory_order_seq_cst);
  return p;
}

void scheduler::run_job() {
  local_runner runner{this, {}};
  local_runner* previous = std::exchange(per_thread.runner, &runner);
  const std::uint64_t handled_before = per_thread.handled;
  std::size_t ran = 0;
  auto slice_end = std::chrono::steady_clock::now() + time_slice;
  for (;;) {
    // (A drained port is only ever kept while the queue holds the port that runs next, and
    // run_one settles it after that run: the queue is never empty with one kept.)
    port_impl* p = runner.queue.pop();
    if (!p) {
      searching_.fetch_add(1, std::memory_order_seq_cst);
      p = take_injected();
      if (!p) p = pop_shared();
      searching_.fetch_sub(1, std::memory_order_seq_cst);
      // Stop searching, then look again (seq_cst on both sides): a port pushed from outside
      // while we were the searcher that its pusher counted on is seen here or by the pusher.
      bool more = injected_.load(std::memory_order_seq_cst) != nullptr ||
                  shared_nonempty_.load(std::memory_order_seq_cst);
      if (p) {
        if (more && searching_.load(std::memory_order_seq_cst) == 0 && claim_runner()) {
          post_runner();
        }
      } else {
        // Give the slot back, then look once more: a pusher that found no searcher and no
        // free slot (this runner still held it) counted on this look.
        runners_.fetch_sub(1, std::memory_order_seq_cst);
        more = injected_.load(std::memory_order_seq_cst) != nullptr ||
               shared_nonempty_.load(std::memory_order_seq_cst);
        if (more && claim_runner()) continue;
        break;
      }
    }
    if ((ran + 1) % clock_check_every == 0) [[unlikely]] {
      sampled_run(p, budget_, &runner);
    } else {
      run_one(p, budget_, &runner);
    }
    if (++ran % clock_check_every == 0 && std::chrono::steady_clock::now() >= slice_end) {
      // Yield to Asio; keep this runner's slot and continue as a continuation of this thread.
      {
        std::lock_guard lock{mutex_};
        while (port_impl* q = runner.queue.pop()) push_shared_locked(q);
        if (runner.drained) push_shared_locked(std::exchange(runner.drained, nullptr));
      }
      handled_.fetch_add(per_thread.handled - handled_before, std::memory_order_relaxed);
      per_thread.handled = handled_before;  // counted: not again by a job around this one
      per_thread.runner = previous;
      core_.defer_job([this] { run_job(); });
      return;
    }
  }
  handled_.fetch_add(per_thread.handled - handled_before, std::memory_order_relaxed);
  per_thread.handled = handled_before;
  per_thread.runner = previous;
}

bool scheduler::step() {
  port_impl* p = pop_shared();
  if (!p) return false;
  const std::uint64_t before = per_thread.handled;
  if (steps_.fetch_add(1, std::memory_order_relaxed) % handler_sample == handler_sample - 1) {
    sampled_run(p, 1, nullptr);
  } else {
    run_one(p, 1, nullptr);
  }
  handled_.fetch_add(per_thread.handled - before, std::memory_order_relaxed);
  // Counted here: a job of another node that stepped this one from a handler must not
  // count these again.
  per_thread.handled = before;
  return true;
}

std::size_t scheduler::help() {
  std::size_t n = 0;
  for (;;) {
    port_impl* p = take_injected();
    if (!p) p = pop_shared();
    if (!p) return n;
    const std::uint64_t before = per_thread.handled;
    run_one(p, budget_, nullptr);
    handled_.fetch_add(per_thread.handled - before, std::memory_order_relaxed);
    per_thread.handled = before;  // as in step
    ++n;
  }
}

}  // namespace coport::detail
