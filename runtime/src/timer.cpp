// Timers: `after` with a message or a callback, cancellable.
#include "coport/timer.hpp"

#include "log.hpp"
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
  core.timer_done(this);
  return true;
}

timer node_core::start_timer(node::duration delay, const port_id& port, message_node* n,
                             unique_function<void()> callback) {
  auto state = std::make_shared<timer_state>(*this, *io_);
  state->target = port;
  state->msg = n;
  state->callback = std::move(callback);
  if (shutting_down()) {
    state->done = true;
    return timer{state};
  }
  if (deterministic()) {
    std::lock_guard lock{timers_mutex_};
    timers_.insert(state.get());
    state->manual = true;
    state->due = virtual_now_ + (delay < node::duration::zero() ? node::duration::zero() : delay);
    state->serial = ++manual_serial_;
    manual_timers_.emplace(std::pair{state->due, state->serial}, state);
    return timer{state};
  }
  {
    std::lock_guard lock{timers_mutex_};
    timers_.insert(state.get());
  }
  std::lock_guard lock{state->mutex};
  state->timer.expires_after(delay);
  state->timer.async_wait([state, keep = shared_from_this()](const std::error_code& ec) {
    keep->fire_timer(state, static_cast<bool>(ec));
  });
  return timer{state};
}

void node_core::fire_timer(const std::shared_ptr<timer_state>& state, bool cancelled) {
  message_node* msg;
  unique_function<void()> fn;
  {
    std::lock_guard guard{state->mutex};
    if (state->done) return;
    state->done = true;
    msg = std::exchange(state->msg, nullptr);
    fn = std::move(state->callback);
  }
  timer_done(state.get());
  if (cancelled) {
    destroy_message(msg);
    return;
  }
  if (msg) {
    send(state->target, msg);
    return;
  }
  try {
    if (fn) fn();
  } catch (const std::exception& e) {
    log(log_level::error, "node {}: an `after` callback threw: {}", id(), e.what());
  } catch (...) {
    log(log_level::error, "node {}: an `after` callback threw", id());
  }
}

void node_core::timer_done(timer_state* t) noexcept {
  std::lock_guard lock{timers_mutex_};
  timers_.erase(t);
  if (t->manual) manual_timers_.erase(std::pair{t->due, t->serial});
}

std::chrono::steady_clock::time_point node_core::now() const noexcept {
  if (!deterministic()) return std::chrono::steady_clock::now();
  std::lock_guard lock{const_cast<std::mutex&>(timers_mutex_)};
  return virtual_now_;
}

std::size_t node_core::advance(node::duration d) {
  if (!deterministic()) {
    throw std::logic_error{"coport: advance() needs a node made with run_mode::deterministic"};
  }
  std::chrono::steady_clock::time_point until;
  {
    std::lock_guard lock{timers_mutex_};
    until = virtual_now_ + (d < node::duration::zero() ? node::duration::zero() : d);
  }
  std::size_t fired = 0;
  for (;;) {
    std::shared_ptr<timer_state> next;
    {
      std::lock_guard lock{timers_mutex_};
      auto it = manual_timers_.begin();
      if (it == manual_timers_.end() || it->first.first > until) {
        virtual_now_ = until;
        break;
      }
      // The clock stands at each timer's due time while it fires (a timer it starts with a
      // zero delay fires in this same call, after the ones already due).
      virtual_now_ = it->first.first;
      next = it->second;
    }
    fire_timer(next, false);
    ++fired;
  }
  return fired;
}

}  // namespace detail

bool timer::cancel() noexcept {
  if (auto s = state_.lock()) return s->cancel();
  return false;
}

}  // namespace coport
