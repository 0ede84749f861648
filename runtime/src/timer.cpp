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
  {
    std::lock_guard lock{timers_mutex_};
    timers_.insert(state.get());
  }
  std::lock_guard lock{state->mutex};
  state->timer.expires_after(delay);
  state->timer.async_wait([state, keep = shared_from_this()](const std::error_code& ec) {
    message_node* msg;
    unique_function<void()> fn;
    {
      std::lock_guard guard{state->mutex};
      if (state->done) return;
      state->done = true;
      msg = std::exchange(state->msg, nullptr);
      fn = std::move(state->callback);
    }
    keep->timer_done(state.get());
    if (ec) {
      destroy_message(msg);
      return;
    }
    if (msg) {
      keep->send(state->target, msg);
      return;
    }
    try {
      if (fn) fn();
    } catch (const std::exception& e) {
      log(log_level::error, "node {}: an `after` callback threw: {}", keep->id(), e.what());
    } catch (...) {
      log(log_level::error, "node {}: an `after` callback threw", keep->id());
    }
  });
  return timer{state};
}

void node_core::timer_done(timer_state* t) noexcept {
  std::lock_guard lock{timers_mutex_};
  timers_.erase(t);
}

}  // namespace detail

bool timer::cancel() noexcept {
  if (auto s = state_.lock()) return s->cancel();
  return false;
}

}  // namespace coport
