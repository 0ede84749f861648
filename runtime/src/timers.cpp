// Timers: `after` with a message or a callback, cancellable; the node's clock (see
// timers.hpp).
#include "timers.hpp"

#include <vector>

#include "coport/internal/log.hpp"
#include "node_core.hpp"
#include "timer_state.hpp"

namespace coport {

namespace detail {

bool timer_state::cancel() noexcept {
  {
    std::lock_guard lock{mutex};
    if (done) return false;
    done = true;
    timer.cancel();
  }
  owner.done(this);
  return true;
}

timers::timers(node_core& core, bool deterministic, time_point start)
    : core_{core}, deterministic_{deterministic}, virtual_now_{start} {}

timer timers::start(node::duration delay, const port_id& port, message_block* n,
                    unique_function<void()> callback) {
  auto state = std::make_shared<timer_state>(*this, core_.io());
  state->target = port;
  state->msg = n;
  state->callback = std::move(callback);
  {
    std::lock_guard lock{mutex_};
    if (stopped_) {
      state->done = true;
      return timer{state};
    }
    pending_.insert(state.get());
    if (deterministic_) {
      state->manual = true;
      state->due = virtual_now_ + (delay < node::duration::zero() ? node::duration::zero() : delay);
      state->serial = ++manual_serial_;
      manual_.emplace(std::pair{state->due, state->serial}, state);
      return timer{state};
    }
  }
  std::lock_guard lock{state->mutex};
  if (state->done) return timer{state};  // cancelled (cancel_all) before it was armed
  state->timer.expires_after(delay);
  state->timer.async_wait([state, keep = core_.shared_from_this()](const std::error_code& ec) {
    keep->timers().fire(state, static_cast<bool>(ec));
  });
  return timer{state};
}

void timers::fire(const std::shared_ptr<timer_state>& state, bool cancelled) {
  message_block* msg;
  unique_function<void()> fn;
  {
    std::lock_guard guard{state->mutex};
    if (state->done) return;
    state->done = true;
    msg = std::exchange(state->msg, nullptr);
    fn = std::move(state->callback);
  }
  done(state.get());
  if (cancelled) {
    destroy_message(msg);
    return;
  }
  if (msg) {
    core_.sends().send(state->target, msg);
    return;
  }
  try {
    if (fn) fn();
  } catch (const std::exception& e) {
    log(log_level::error, {"runtime", core_.id()}, "an `after` callback threw: {}", e.what());
  } catch (...) {
    log(log_level::error, {"runtime", core_.id()}, "an `after` callback threw");
  }
}

void timers::done(timer_state* t) noexcept {
  std::lock_guard lock{mutex_};
  pending_.erase(t);
  if (t->manual) manual_.erase(std::pair{t->due, t->serial});
}

timers::time_point timers::now() const noexcept {
  if (!deterministic_) return std::chrono::steady_clock::now();
  std::lock_guard lock{mutex_};
  return virtual_now_;
}

std::size_t timers::advance(node::duration d) {
  if (!deterministic_) {
    throw std::logic_error{"coport: advance() needs a node made with run_mode::deterministic"};
  }
  time_point until;
  {
    std::lock_guard lock{mutex_};
    until = virtual_now_ + (d < node::duration::zero() ? node::duration::zero() : d);
  }
  std::size_t fired = 0;
  for (;;) {
    std::shared_ptr<timer_state> next;
    {
      std::lock_guard lock{mutex_};
      auto it = manual_.begin();
      if (it == manual_.end() || it->first.first > until) {
        virtual_now_ = until;
        break;
      }
      // The clock stands at each timer's due time while it fires (a timer it starts with a
      // zero delay fires in this same call, after the ones already due).
      virtual_now_ = it->first.first;
      next = it->second;
    }
    fire(next, false);
    ++fired;
  }
  return fired;
}

void timers::cancel_all() {
  std::vector<std::shared_ptr<timer_state>> pending;
  {
    std::lock_guard lock{mutex_};
    stopped_ = true;
    for (timer_state* t : pending_) {
      if (auto s = t->weak_from_this().lock()) pending.push_back(std::move(s));
    }
  }
  for (auto& t : pending) t->cancel();
}

}  // namespace detail

bool timer::cancel() noexcept {
  if (auto s = state_.lock()) return s->cancel();
  return false;
}

}  // namespace coport
