// coport::node — the public API over the node's core.
#include "coport/node.hpp"

#include <fmt/format.h>

#include "coport/detail/interner.hpp"
#include "coport/internal/log.hpp"
#include "node_core.hpp"
#include "timer_state.hpp"

namespace coport {

using detail::current;
using detail::port_impl;

// -- construction ---------------------------------------------------------------------------

node::node(node_options options)
    : core_{std::make_shared<detail::node_core>(*this, std::move(options), nullptr)} {
  core_->start();
}

node::node(asio::io_context& context, node_options options)
    : core_{std::make_shared<detail::node_core>(*this, std::move(options), &context)} {}

node::~node() {
  shutdown();
  core_->close_log_sink();
}

void node::shutdown() {
  core_->shutdown();
}

// -- identity -------------------------------------------------------------------------------

const std::string& node::id() const noexcept {
  return core_->id();
}

std::uint32_t node::incarnation() const noexcept {
  return core_->incarnation();
}

port_id node::node_port() const noexcept {
  return detail::make_port_id(core_->node_number(), 0, 0);
}

bool node::is_local(const port_id& port) const noexcept {
  return core_->is_local(port);
}

bool node::alive(const port_id& port) const noexcept {
  detail::port_impl* p = core_->acquire(port);
  if (p) core_->release(p);
  return p != nullptr;
}

// -- ports ----------------------------------------------------------------------------------

port_id node::port() {
  return make_port({});
}

port_id node::make_port(detail::message_handler fallback) {
  port_impl* p = core_->create_port(std::move(fallback));
  return core_->id_of(p);
}

namespace {

/// Keeps a replaced handler alive until the running dispatch ends (it may be the one running).
void bury(port_impl* p, detail::message_handler h) {
  if (!p->graveyard) p->graveyard = std::make_unique<std::vector<detail::message_handler>>();
  p->graveyard->push_back(std::move(h));
  detail::per_thread.buried_this_dispatch = true;
}

void apply_handler(port_impl* p, tag t, detail::message_handler h, bool fallback) {
  if (fallback) {
    if (p->fallback) bury(p, std::move(p->fallback));
    p->fallback = std::move(h);
    return;
  }
  for (auto it = p->handlers.begin(); it != p->handlers.end(); ++it) {
    if (it->first != t) continue;
    bury(p, std::move(it->second));
    if (h) {
      it->second = std::move(h);
    } else {
      p->handlers.erase(it);
    }
    return;
  }
  if (h) p->handlers.emplace_back(t, std::move(h));
}

}  // namespace

void node::set_handler(const port_id& port, tag t, detail::message_handler h, bool fallback) {
  if (!is_local(port)) {
    throw std::invalid_argument{
        fmt::format("coport: rcv on {}, which is not a port of node {}", port.to_string(), id())};
  }
  auto& ctx = current();
  if (ctx.core == core_.get() && core_->id_of(ctx.port) == port) {
    apply_handler(ctx.port, t, std::move(h), fallback);
    return;
  }
  peval(port, [t, h = std::move(h), fallback]() mutable {
    apply_handler(current().port, t, std::move(h), fallback);
  });
}

void node::snd(const port_id& port, message msg) {
  if (!msg) return;
  send_block(port, msg.release());
}

void node::send_block(const port_id& port, detail::message_block* n) {
  core_->sends().send(port, n);
}

void node::kill(const port_id& port, reason why) {
  if (port.is_node_port()) {
    throw std::invalid_argument{fmt::format(
        "coport: kil of the node port {} (shut the node down instead)", port.to_string())};
  }
  if (port.is_null()) return;
  if (!is_local(port)) {
    if (core_->is_own_node(port)) return;  // a port of an earlier incarnation: gone
    core_->remote().kill(port, why);
    return;
  }
  if (port_impl* p = core_->acquire(port)) core_->kill(p, std::move(why));
}

// -- monitors -------------------------------------------------------------------------------

monitor node::add_monitor(const port_id& port,
                          detail::unique_function<void(const reason&)> action) {
  return core_->monitors().add(port, std::move(action));
}

monitor node::mon(const port_id& port, const port_id& linked) {
  return add_monitor(port, [this, linked](const reason& why) {
    if (!why.normal()) kil(linked, why);
  });
}

monitor node::mon(const port_id& port) {
  return mon(port, current_port_or_throw("mon"));
}

detail::unique_function<void(const reason&)> node::bind_to_context(
    detail::unique_function<void(const reason&)> f) {
  // The callback runs later, as a job; a loss that waits for it (no holes) waits until that
  // job has run or was dropped with its port: the job keeps the fire's hold.
  if (port_id here = current_port()) {
    return [this, here, f = std::move(f)](const reason& why) mutable {
      peval(here, [f = std::move(f), why, hold = detail::monitors::deferred_hold()]() mutable {
        f(why);
      });
    };
  }
  return [core = core_.get(), f = std::move(f)](const reason& why) mutable {
    core->post_guarded("a monitor callback",
                       [f = std::move(f), why, hold = detail::monitors::deferred_hold()]() mutable {
                         f(why);
                       });
  };
}

port_id node::current_port() const noexcept {
  auto& ctx = current();
  return ctx.core == core_.get() ? core_->id_of(ctx.port) : port_id{};
}

port_id node::current_port_or_throw(const char* what) const {
  port_id here = current_port();
  if (!here) {
    throw std::logic_error{fmt::format("coport: {} needs a current port of node {}", what, id())};
  }
  return here;
}

subscription node::add_node_monitor(
    detail::unique_function<void(const std::string&, bool, const reason&)> callback) {
  // Each event posts a job that runs it, in the current port's context if made there.
  detail::node_events::poster post;
  if (port_id here = current_port()) {
    post = [this, here](detail::unique_function<void()> job) { peval(here, std::move(job)); };
  } else {
    post = [core = core_.get()](detail::unique_function<void()> job) {
      core->post_guarded("a node monitor", std::move(job));
    };
  }
  return core_->events().subscribe(std::move(callback), std::move(post));
}

bool node::has_init(std::string_view name) const {
  return core_->inits().has(name);
}

subscription node::serve(tag t, const port_id& port) {
  static const tag ping{"ping"}, info{"info"};
  if (t == ping || t == info || t == tag{}) {
    throw std::invalid_argument{"coport: serve: the node port answers this tag itself"};
  }
  if (!is_local(port) || port.is_node_port()) {
    throw std::invalid_argument{
        fmt::format("coport: serve: {} is not a port of this node", port.to_string())};
  }
  if (!core_->own_port().add_service(t, port)) {
    throw std::invalid_argument{fmt::format("coport: serve: tag '{}' is served already", t.name())};
  }
  std::weak_ptr<detail::node_core> weak = core_;
  // The port's death ends it too (the guard is held by the monitor's action).
  auto end = [weak, t, port] {
    if (auto core = weak.lock()) core->own_port().remove_service(t, port);
  };
  auto death = std::make_shared<monitor>(add_monitor(port, [end](const reason&) { end(); }));
  return subscription{[end, death] {
    end();
    death->cancel();
  }};
}

std::vector<std::string> node::up_nodes() const {
  return core_->events().up_nodes();
}

std::chrono::steady_clock::time_point node::now() const noexcept {
  return core_->now();
}

std::size_t node::advance(duration d) {
  return core_->timers().advance(d);
}

node_link node::plug(std::shared_ptr<remote_link> link) {
  core_->remote().set_link(std::move(link));
  return node_link{core_.get()};
}

// -- timers ---------------------------------------------------------------------------------

timer node::start_timer(duration delay, const port_id& port, detail::message_block* n,
                        detail::unique_function<void()> callback) {
  return core_->timers().start(delay, port, n, std::move(callback));
}

// -- deterministic mode, statistics -----------------------------------------------------------

bool node::step() {
  if (!core_->deterministic()) {
    throw std::logic_error{"coport: step() needs a node made with run_mode::deterministic"};
  }
  return core_->step();
}

std::size_t node::run_until_idle() {
  std::size_t n = 0;
  while (step()) ++n;
  return n;
}

node_stats node::stats() const noexcept {
  return core_->stats();
}

bool node::measure(const port_id& port, std::string name) {
  detail::port_impl* p = core_->acquire(port);
  if (!p) return false;
  bool made = core_->measure(p, std::move(name));
  core_->release(p);
  return made;
}

std::vector<port_figures> node::measured() const {
  return core_->meters().figures();
}

// -- context --------------------------------------------------------------------------------

port_id self() {
  auto& ctx = current();
  if (!ctx.core) throw std::logic_error{"coport: self() outside a port's context"};
  return ctx.core->id_of(ctx.port);
}

node& this_node() {
  auto& ctx = current();
  if (!ctx.core) throw std::logic_error{"coport: this_node() outside a port's context"};
  return ctx.core->owner();
}

bool in_port_context() noexcept {
  return current().core != nullptr;
}

port_id message_origin() noexcept {
  auto& ctx = current();
  return ctx.origin ? detail::make_port_id(ctx.origin, 0, 0) : port_id{};
}

}  // namespace coport
