// Running a port: taking messages from its inbox (the consumer side of the inbox whose
// producer side, push, is in port_impl.hpp), dispatching each to its handler, tearing the
// port down in its own context when it has been killed.
#include "port_impl.hpp"

#include <chrono>

#include <fmt/format.h>

#include "coport/internal/log.hpp"
#include "node_core.hpp"
#include "send_path.hpp"

namespace coport::detail {

namespace {

/// Sets the current port for the duration of a dispatch.
class context_scope {
 public:
  context_scope(node_core* core, port_impl* p) noexcept : saved_{current()} {
    current() = context{core, p};
  }
  ~context_scope() { current() = saved_; }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

 private:
  context saved_;
};

std::string printable_tag(tag t) {
  std::string out;
  for (char c : t.name().substr(0, 30)) out += (c >= 32 && c < 127) ? c : '?';
  return out;
}

}  // namespace

void throw_bad_message(const message& m, const signature& wanted) {
  throw bad_message_error{fmt::format("handler for '{}' takes {} but the message holds {}",
                                      printable_tag(m.tag()), describe(wanted),
                                      describe(*m.get_block()->ops->sig))};
}

namespace {

/// Calls them as the run ends, however it ends.
struct run_end_guard {
  run_end_guard() = default;
  run_end_guard(const run_end_guard&) = delete;
  run_end_guard& operator=(const run_end_guard&) = delete;
  ~run_end_guard() {
    if (per_thread.run_end.count == 0) [[likely]]
      return;
    run_end_flushes due = std::exchange(per_thread.run_end, run_end_flushes{});
    for (unsigned i = 0; i < due.count; ++i) due.fns[i]();
  }
};

}  // namespace

namespace {

void dispatch(node_core& core, port_impl* p, message_block* n);
[[gnu::noinline]] void measured_dispatch(node_core& core, port_impl* p, message_block* n);
void teardown(node_core& core, port_impl* p);
void log_death(node_core& core, port_impl* p, const reason& why);

}  // namespace

run_result port_impl::run(node_core& core, std::size_t budget, bool may_drain) {
  const std::size_t given = budget;
  port_impl* const p = this;
  const run_end_guard flush_at_end;
  // The FIFO lives in a local while the port runs: the port's first cache line is read by
  // every sender (`state`), so the runner writes it back only when it stops. The port's
  // context is set once per run, not per message, and restored before teardown (monitors
  // fire outside the dead port's context).
  message_block* fifo = std::exchange(p->cache, nullptr);
  const context saved = std::exchange(per_thread.current, context{&core, p});
  for (;;) {
    const std::uint8_t flags = p->state.load(std::memory_order_acquire);
    if (flags) [[unlikely]] {
      if (flags & port_impl::killed_bit) {
        p->cache = fifo;
        per_thread.current = saved;
        teardown(core, p);  // may recycle p: not touched after this
        return run_result::ended;
      }
    }
    if (!fifo) {
      fifo = p->take_all();
      if (!fifo) {
        // (Only a port whose last handler sent here expects an answer soon; a consumer that
        // only takes parks at once, and its producer's next push wakes it.)
        if (may_drain && budget != given && per_thread.sends_this_dispatch != 0) {
          if (p->drain_skips == 0) {
            per_thread.current = saved;
            return run_result::drained;
          }
          --p->drain_skips;
        }
        if (p->try_block()) {
          per_thread.current = saved;
          return run_result::idle;
        }
        continue;
      }
    }
    if (budget == 0) {
      p->cache = fifo;
      per_thread.current = saved;
      return run_result::more;
    }
    --budget;
    message_block* n = fifo;
    fifo = n->next;
    n->next = nullptr;
    per_thread.sends_this_dispatch = 0;
    ++per_thread.handled;
    try {
      // A measured port (the only other flag left here) has every handler run timed; the
      // others pay a register test (the node's histogram is sampled by the scheduler). A
      // traced message is a span: dispatch tells it by its kind.
      if (flags) [[unlikely]] {
        measured_dispatch(core, p, n);
      } else {
        dispatch(core, p, n);
      }
    } catch (...) {
      send_path::flush_pending();
      p->cache = fifo;  // dispatch failed outside the handler (out of memory): keep the rest
      per_thread.current = saved;
      throw;
    }
    if (per_thread.pending_sends.count) send_path::flush_pending();  // a busy handler's last batch
  }
}

namespace {

void dispatch(node_core& core, port_impl* p, message_block* n) {
  if (n->kind != message_kind::user) [[unlikely]] {  // one test, as kill's was before traces
    if (n->kind == message_kind::kill) {
      destroy_message(n);
      return;
    }
    if (n->kind == message_kind::traced) {
      // A span around the run (the mark taken, the block a plain user message again).
      core.tracer().handle(p, n, [&] { dispatch(core, p, n); });
      return;
    }
  }
  // run has set the port's context; the message's origin goes with it (message_origin).
  per_thread.current.origin = n->origin;
  try {
    if (n->kind == message_kind::closure) {
      message owner{n};
      n->ops->run(n);
    } else {
      message m{n};
      message_handler* h = nullptr;
      for (auto& entry : p->handlers) {
        if (entry.first == n->tag_) {
          h = &entry.second;
          break;
        }
      }
      if (h) {
        (*h)(m);
      } else if (p->actor) {
        p->actor->enqueue(m);
      } else if (p->fallback) {
        p->fallback(m);
      } else {
        core.kill_running(p, reason{"unhandled_message", fmt::format("no handler for message '{}'",
                                                                     printable_tag(m.tag()))});
      }
    }
  } catch (const bad_message_error& e) {
    core.kill_running(p, reason{"bad_message", e.what()});
  } catch (const std::exception& e) {
    core.kill_running(p, reason{"die", e.what()});
  } catch (...) {
    core.kill_running(p, reason{"die", "unknown exception"});
  }
  if (per_thread.buried_this_dispatch) [[unlikely]] {
    per_thread.buried_this_dispatch = false;
    p->graveyard.reset();
  }
}

void measured_dispatch(node_core& core, port_impl* p, message_block* n) {
  const std::uint32_t meter = p->meter.load(std::memory_order_acquire);
  const auto started = std::chrono::steady_clock::now();
  dispatch(core, p, n);
  if (meter) core.measured_ran(meter, std::chrono::steady_clock::now() - started);
}

void teardown(node_core& core, port_impl* p) {
  if (std::uint32_t m = p->meter.load(std::memory_order_relaxed)) core.meters().unlist(m);
  // Messages still queued are lost; later pushes see `dead` and drop theirs.
  message_block* stack = p->inbox.exchange(port_impl::dead(), std::memory_order_acq_rel);
  std::size_t lost = 0;
  for (message_block* list : {stack, p->cache}) {
    while (list && list != port_impl::blocked()) {
      message_block* next = list->next;
      if (list->kind != message_kind::kill) ++lost;
      destroy_message(list);
      list = next;
    }
  }
  p->cache = nullptr;
  if (lost) core.sends().count_drop(lost);

  // Handlers own user state (and, for coroutine actors, the coroutine frame): destroy them in
  // the port's own context so that destructors see `self()`.
  {
    context_scope scope{&core, p};
    p->actor.reset();  // destroys the coroutine frame: its destructors run here
    p->handlers.clear();
    p->fallback = nullptr;
    p->graveyard.reset();
  }

  monitor_record* list;
  reason why;
  {
    std::lock_guard lock{p->mon_lock};
    p->monitors_closed = true;
    list = p->monitors.take();
    why = p->death;
  }
  if (!list) log_death(core, p, why);
  core.monitors().fire(list, why);

  core.ended(p);
}

void log_death(node_core& core, port_impl* p, const reason& why) {
  if (why.normal() || why.kind() == "shutdown") return;
  log(log_level::warn, {"runtime", core.id(), core.id_of(p)}, "unmonitored port died: {}",
      why.to_string());
}

}  // namespace

}  // namespace coport::detail

namespace coport {

bool flush_at_run_end(void (*flush)()) noexcept {
  if (detail::current().port == nullptr) return false;
  auto& r = detail::per_thread.run_end;
  for (unsigned i = 0; i < r.count; ++i) {
    if (r.fns[i] == flush) return true;
  }
  if (r.count == std::size(r.fns)) return false;
  r.fns[r.count++] = flush;
  return true;
}

}  // namespace coport
