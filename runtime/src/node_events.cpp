// Node events: counted links per node, and their subscribers (see node_events.hpp).
#include "node_events.hpp"

#include <condition_variable>
#include <deque>
#include <thread>

namespace coport::detail {

/// One subscription: its callback and the events waiting for it. Each event's job queues
/// the event and, unless another thread is running the callback already, runs the callback
/// for every queued event in order (so a busy callback never parks a second worker, and
/// events reach it in the order they were posted). Cancel marks it cancelled, drops what
/// waits and waits until no thread runs the callback, unless it is called from inside the
/// callback: once it returns, the callback never runs again.
struct node_events::watch : std::enable_shared_from_this<node_events::watch> {
  struct event {
    std::string id;
    bool up;
    reason why;
  };

  watch(callback f, poster p) : run_callback{std::move(f)}, post{std::move(p)} {}

  std::mutex mutex;
  std::condition_variable idle;
  bool cancelled = false;     // under mutex
  bool busy = false;          // under mutex: a thread is draining `waiting`
  std::thread::id runner;     // under mutex: that thread
  std::deque<event> waiting;  // under mutex
  callback run_callback;      // used by the draining thread only
  poster post;                // from any thread (it only posts)

  void run(event e) {
    {
      std::lock_guard lock{mutex};
      if (cancelled) return;
      waiting.push_back(std::move(e));
    }
    drain();
  }

  /// Runs the callback for every waiting event, unless another thread is doing so.
  void drain() {
    {
      std::lock_guard lock{mutex};
      if (cancelled || busy || waiting.empty()) return;  // the draining thread takes it
      busy = true;
      runner = std::this_thread::get_id();
    }
    for (;;) {
      event next;
      {
        std::lock_guard lock{mutex};
        if (cancelled || waiting.empty()) return finish();
        next = std::move(waiting.front());
        waiting.pop_front();
      }
      try {
        run_callback(next.id, next.up, next.why);
      } catch (...) {
        // The caller logs it (or kills the port); what waits is drained by a job of its own.
        bool more;
        {
          std::lock_guard lock{mutex};
          more = !cancelled && !waiting.empty();
          finish();
        }
        if (more) post([self = shared_from_this()] { self->drain(); });
        throw;
      }
    }
  }

  void cancel() noexcept {
    callback gone;  // destroyed outside the lock
    std::unique_lock lock{mutex};
    cancelled = true;
    waiting.clear();
    if (busy && runner == std::this_thread::get_id()) return;  // from inside the callback
    idle.wait(lock, [&] { return !busy; });
    gone = std::move(run_callback);
  }

 private:
  /// Ends a drain (under mutex).
  void finish() {
    busy = false;
    runner = {};
    idle.notify_all();
  }
};

struct node_events::state {
  mutable std::mutex mutex;
  std::map<std::string, int, std::less<>> up;  // links per node
  std::map<std::uint64_t, std::shared_ptr<watch>> watches;
  std::uint64_t serial = 0;

  /// Posts the event to every subscriber in `to` (taken under the mutex, posted after it).
  static void tell(std::vector<std::shared_ptr<watch>> to, std::string_view node_id, bool is_up,
                   const reason& why) {
    for (auto& w : to) {
      w->post([w, e = watch::event{std::string{node_id}, is_up, why}]() mutable {
        w->run(std::move(e));
      });
    }
  }
};

node_events::node_events() : state_{std::make_shared<state>()} {}

subscription node_events::subscribe(callback f, poster post) {
  auto w = std::make_shared<watch>(std::move(f), std::move(post));
  std::uint64_t key;
  {
    std::lock_guard lock{state_->mutex};
    key = ++state_->serial;
    state_->watches.emplace(key, w);
  }
  return subscription{[weak = std::weak_ptr<state>(state_), key, w] {
    if (auto s = weak.lock()) {
      std::shared_ptr<watch> gone;  // destroyed outside the lock
      std::lock_guard lock{s->mutex};
      if (auto it = s->watches.find(key); it != s->watches.end()) {
        gone = std::move(it->second);
        s->watches.erase(it);
      }
    }
    w->cancel();
  }};
}

void node_events::up(std::string_view node_id) {
  std::vector<std::shared_ptr<watch>> to;
  {
    std::lock_guard lock{state_->mutex};
    if (++state_->up[std::string{node_id}] != 1) return;
    for (auto& [key, w] : state_->watches) to.push_back(w);
  }
  state::tell(std::move(to), node_id, true, reason{});
}

void node_events::down(std::string_view node_id, const reason& why) {
  std::vector<std::shared_ptr<watch>> to;
  {
    std::lock_guard lock{state_->mutex};
    auto it = state_->up.find(node_id);
    if (it == state_->up.end() || --it->second > 0) return;
    state_->up.erase(it);
    for (auto& [key, w] : state_->watches) to.push_back(w);
  }
  state::tell(std::move(to), node_id, false, why);
}

std::vector<std::string> node_events::up_nodes() const {
  std::lock_guard lock{state_->mutex};
  std::vector<std::string> out;
  for (const auto& [id, count] : state_->up) out.push_back(id);
  return out;
}

}  // namespace coport::detail
