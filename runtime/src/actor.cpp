// Coroutine actors: the mailbox, waiting receives, parking and resuming, start and finish.
#include "coport/actor.hpp"

#include <fmt/format.h>

#include "node_core.hpp"

namespace coport {

namespace detail {

actor_state::~actor_state() {
  deadline_.cancel();
  if (frame_) frame_.destroy();
}

void actor_state::enqueue(message& m) {
  if (waiting_ && waiting_->match(waiting_->matcher, m)) {
    receive_wait* w = std::exchange(waiting_, nullptr);
    w->result = std::move(m);
    if (has_deadline_) {
      has_deadline_ = false;
      deadline_.cancel();
    }
    resume(std::exchange(suspended_, {}));
    return;
  }
  if (options_.mailbox_limit != 0 && mailbox_.size() >= options_.mailbox_limit) {
    if (options_.on_overflow == overflow_policy::kill) {
      owner_.kil(self(), "mailbox_overflow",
                 fmt::format("mailbox limit {} reached", options_.mailbox_limit));
    }
    detail::node_access::core(owner_)->sends().count_drop();
    return;
  }
  mailbox_.push(m);
}

void actor_state::wait_for(receive_wait& wait, std::coroutine_handle<> h,
                           std::optional<std::chrono::steady_clock::duration> timeout) {
  waiting_ = &wait;
  std::uint64_t serial = park(h);
  if (timeout) {
    has_deadline_ = true;
    deadline_ = owner_.after(*timeout, [this, serial] {
      if (!parked(serial) || !waiting_) return;
      has_deadline_ = false;
      std::exchange(waiting_, nullptr)->timed_out = true;
      resume(std::exchange(suspended_, {}));
    });
  }
}

std::uint64_t actor_state::park(std::coroutine_handle<> h) noexcept {
  suspended_ = h;
  return ++serial_;
}

bool actor_state::resume_if(std::uint64_t serial) {
  if (!parked(serial)) return false;
  resume(std::exchange(suspended_, {}));
  return true;
}

void actor_state::resume(std::coroutine_handle<> h) {
  ++serial_;  // completions quoting the old serial are stale from now on
  h.resume();
}

void actor_state::start(std::coroutine_handle<> frame, std::shared_ptr<void> keep_alive) {
  frame_ = frame;
  keep_alive_ = std::move(keep_alive);
  frame.resume();
}

void actor_state::finished(const std::string* error) {
  if (error) {
    owner_.kil(self(), "die", *error);
  } else {
    owner_.kil(self());
  }
}

actor_state& current_actor() {
  auto& ctx = current();
  if (!ctx.port || !ctx.port->actor) {
    throw std::logic_error{"coport: receive, sleep and call need a coroutine actor's context"};
  }
  return *ctx.port->actor;
}

actor_state& ensure_current_actor(actor_options options) {
  auto& ctx = current();
  if (!ctx.port) throw std::logic_error{"coport: a coroutine actor must start in a port"};
  if (!ctx.port->actor) {
    ctx.port->actor = std::make_unique<actor_state>(ctx.core->owner(), options);
  }
  return *ctx.port->actor;
}

void start_actor(actor a, std::shared_ptr<void> keep_alive, actor_options options) {
  actor_state& state = ensure_current_actor(options);
  if (state.has_frame()) throw std::logic_error{"coport: this port already runs a coroutine"};
  auto h = a.release();
  h.promise().state = &state;
  state.start(h, std::move(keep_alive));
}

void post_to_port(const std::shared_ptr<node_core>& core, const port_id& port,
                  message_block* closure) noexcept {
  core->sends().send(port, closure);
}

}  // namespace detail

port_id node::port_with_actor(actor_options options) {
  detail::port_impl* p =
      core_->create_port({}, 0, std::make_unique<detail::actor_state>(*this, options));
  return core_->id_of(p);
}

asio::io_context& node::context() noexcept {
  return core_->io();
}

}  // namespace coport
