#include "scheduler.hpp"

#include <chrono>

#include "node_core.hpp"

namespace coport::detail {

namespace {

/// The runner active on this thread, if any.
struct local_runner {
  scheduler* owner;
  ready_list queue;
};
thread_local local_runner* this_runner = nullptr;

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
  if (local_runner* r = this_runner; r && r->owner == this) {
    r->queue.push(p);
    if (r->queue.size < 2 && sends_this_dispatch < busy_sends) return;
    // More than one ready port here, or a handler that keeps this thread busy: share them.
    offer_local();
    return;
  }
  bool post = false;
  {
    std::lock_guard lock{mutex_};
    shared_.push(p);
    if (!deterministic_ && runners_ < max_runners_) {
      ++runners_;
      post = true;
    }
  }
  if (post) post_runner();
}

void scheduler::offer_local() {
  local_runner* r = this_runner;
  if (!r || r->owner != this || r->queue.size == 0) return;
  // A busy producer hands over everything; otherwise the newest port stays here (the one a
  // ping-pong partner just woke runs next on this core).
  std::size_t keep = sends_this_dispatch >= busy_sends ? 0 : 1;
  unsigned posts = 0;
  {
    // Ports go to the shared queue even when every runner is taken: a busy runner's local
    // queue waits for its handler, a shared one is taken by the next runner that is free.
    std::lock_guard lock{mutex_};
    while (r->queue.size > keep) {
      shared_.push(r->queue.pop());
      if (runners_ < max_runners_) {
        ++runners_;
        ++posts;
      }
    }
  }
  while (posts-- > 0) post_runner();
}

void scheduler::post_runner() {
  core_.post_job([this] { run_job(); });
}

void scheduler::run_one(port_impl* p, std::size_t budget, ready_list* requeue_local) {
  // The queue holds no reference: after an idle or ended run the port is not touched again.
  if (core_.run_port(p, budget) != run_result::more) return;
  if (requeue_local) {
    requeue_local->push(p);
  } else {
    std::lock_guard lock{mutex_};
    shared_.push(p);
  }
}

void scheduler::run_job() {
  local_runner runner{this, {}};
  local_runner* previous = std::exchange(this_runner, &runner);
  std::size_t ran = 0;
  auto slice_end = std::chrono::steady_clock::now() + time_slice;
  for (;;) {
    port_impl* p = runner.queue.pop();
    if (!p) {
      std::lock_guard lock{mutex_};
      p = shared_.pop();
      if (!p) {
        --runners_;
        break;
      }
    }
    run_one(p, budget_, &runner.queue);
    if (++ran % clock_check_every == 0 && std::chrono::steady_clock::now() >= slice_end) {
      // Yield to Asio; keep this runner's slot and continue as a continuation of this thread.
      {
        std::lock_guard lock{mutex_};
        while (port_impl* q = runner.queue.pop()) shared_.push(q);
      }
      this_runner = previous;
      core_.defer_job([this] { run_job(); });
      return;
    }
  }
  this_runner = previous;
}

bool scheduler::step() {
  port_impl* p;
  {
    std::lock_guard lock{mutex_};
    p = shared_.pop();
  }
  if (!p) return false;
  run_one(p, 1, nullptr);
  return true;
}

std::size_t scheduler::help() {
  std::size_t n = 0;
  for (;;) {
    port_impl* p;
    {
      std::lock_guard lock{mutex_};
      p = shared_.pop();
    }
    if (!p) return n;
    run_one(p, budget_, nullptr);
    ++n;
  }
}

}  // namespace coport::detail
