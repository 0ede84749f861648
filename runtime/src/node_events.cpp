// Node events: counted links per node, and their subscribers (see node_events.hpp).
#include "node_events.hpp"

#include <atomic>
#include <thread>

namespace coport::detail {

/// One subscription: its callback, run by the jobs each event posts, and whether it was
/// cancelled. A job runs the callback under `mutex` unless cancelled; cancel takes the
/// mutex, so once it returns no call runs or will run (a callback that cancels its own
/// guard is not waited for: it is the one running, and holds the mutex).
struct node_events::watch {
  watch(callback f, poster p) : run_callback{std::move(f)}, post{std::move(p)} {}

  std::mutex mutex;
  bool cancelled = false;                  // under mutex
  std::atomic<std::thread::id> running{};  // the thread inside the callback, if any
  callback run_callback;                   // under mutex
  poster post;                             // from any thread (it only posts)

  void run(const std::string& id, bool up, const reason& why) {
    std::lock_guard lock{mutex};
    if (cancelled) return;
    running.store(std::this_thread::get_id(), std::memory_order_relaxed);
    struct clear {
      std::atomic<std::thread::id>& r;
      ~clear() { r.store({}, std::memory_order_relaxed); }
    } on_exit{running};
    run_callback(id, up, why);
  }

  void cancel() noexcept {
    if (running.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      cancelled = true;  // from inside the callback: this thread holds the mutex
      return;
    }
    callback gone;  // destroyed outside the lock
    std::lock_guard lock{mutex};
    cancelled = true;
    gone = std::move(run_callback);
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
      w->post([w, id = std::string{node_id}, is_up, why] { w->run(id, is_up, why); });
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
