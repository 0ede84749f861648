// `cal` (request/reply) and `spawn` (ports made by a registered init function).
#include <fmt/format.h>

#include "coport/internal/log.hpp"
#include "coport/trace.hpp"
#include "node_core.hpp"
#include "spinlock.hpp"

namespace coport {

namespace {

/// The state of one `cal`, finished exactly once in the reply port's context.
struct cal_state {
  detail::spinlock lock;  // guards done, guard, deadline
  bool done = false;
  monitor guard;
  timer deadline;
  port_id reply_port;
  detail::unique_function<void(reply)> callback;
};

}  // namespace

port_id node::start_cal(const port_id& port, detail::unique_function<void(reply)> callback,
                        std::optional<duration> timeout,
                        detail::unique_function<detail::message_block*(const port_id&)> build) {
  auto state = std::make_shared<cal_state>();
  // The callback runs where it belongs (below), in the trace of the reply's run, if any: what
  // it sends, and a coroutine it resumes, stay in a traced request's trace (coport/trace.hpp).
  // Off, the trace is a null pointer (no allocation).
  auto in_trace = [] {
    const trace_context* t = detail::per_thread.outgoing_trace;
    return t ? std::make_unique<trace_context>(*t) : nullptr;
  };
  auto call = [](auto& cb, reply r, const std::unique_ptr<trace_context>& trace) {
    if (!trace) return cb(std::move(r));
    trace_scope scope{*trace};
    cb(std::move(r));
  };
  if (port_id here = current_port()) {
    state->callback = [this, here, in_trace, call, cb = std::move(callback)](reply r) mutable {
      peval(here, [call, cb = std::move(cb), r = std::move(r), trace = in_trace()]() mutable {
        call(cb, std::move(r), trace);
      });
    };
  } else {
    // Outside any port: run it as a plain job, not in the reply port's context (which ends
    // with the reply, so code in the callback must not look like it belongs there).
    state->callback = [core = core_.get(), in_trace, call,
                       cb = std::move(callback)](reply r) mutable {
      core->post_guarded("a cal callback",
                         [call, cb = std::move(cb), r = std::move(r),
                          trace = in_trace()]() mutable { call(cb, std::move(r), trace); });
    };
  }
  // Every path ends here, in the reply port's context.
  auto finish = [this, state](reply r) {
    monitor guard;
    timer deadline;
    {
      std::lock_guard lock{state->lock};
      if (state->done) return;
      state->done = true;
      guard = std::move(state->guard);
      deadline = state->deadline;
    }
    guard.cancel();
    deadline.cancel();
    kil(state->reply_port);
    state->callback(std::move(r));
  };
  port_id reply_port = make_port(
      detail::make_handler([finish](message& m) mutable { finish(reply{std::move(m)}); }));
  state->reply_port = reply_port;

  monitor guard = add_monitor(port, [this, reply_port, finish](const reason&) mutable {
    peval(reply_port, [finish]() mutable { finish(std::nullopt); });
  });
  timer deadline;
  if (timeout) {
    deadline = start_timer(*timeout, reply_port,
                           detail::make_closure([finish]() mutable { finish(std::nullopt); }), {});
  }
  {
    std::unique_lock lock{state->lock};
    if (!state->done) {
      state->guard = std::move(guard);
      state->deadline = deadline;
    } else {
      lock.unlock();
      guard.cancel();
      deadline.cancel();
    }
  }
  send_block(port, build(reply_port));
  return reply_port;
}

void node::add_init(std::string name, detail::message_handler init, std::size_t max_per_peer,
                    const detail::signature* parameters) {
  core_->inits().add(std::move(name), std::move(init), max_per_peer, parameters);
}

std::vector<node::init_function> node::init_functions() const {
  std::vector<init_function> out;
  for (const auto& [name, parameters] : core_->inits().signatures()) {
    init_function f;
    f.name = name;
    f.any_message = parameters == nullptr;
    if (parameters) {
      for (std::size_t i = 0; i < parameters->size; ++i) {
        f.parameters.push_back(detail::wire_name_of(*parameters->types[i]));
      }
    }
    out.push_back(std::move(f));
  }
  return out;
}

port_id node::spawn_block(std::string_view where, std::string_view name,
                          detail::message_block* args, spawn_extra extra) {
  message owned{args};
  auto target = port_id::parse(where);
  if (!target) {
    throw std::invalid_argument{fmt::format("coport: spawn on '{}': not a node or port ID", where)};
  }
  if (name.empty()) throw std::invalid_argument{"coport: spawn needs an init function's name"};
  if (core_->is_own_node(*target) && !is_local(*target)) {
    throw std::invalid_argument{
        fmt::format("coport: spawn on '{}': an earlier incarnation of this node", where)};
  }
  const port_id spawner = extra.link_to;
  const bool watched = extra.on_death || spawner;
  // spawn_link's action kills the spawner; spawn_monitor's is the user's callback.
  auto death_action = [&]() -> detail::unique_function<void(const reason&)> {
    if (!spawner) return std::move(extra.on_death);
    return [this, spawner](const reason& why) {
      if (!why.normal()) kil(spawner, why);
    };
  };
  // Hands the guard to spawn_monitor's caller (or keeps the monitor), and links the other
  // way for spawn_link: the spawner's death kills the new port.
  auto keep = [&](monitor guard, const port_id& id) {
    if (extra.guard) {
      *extra.guard = std::move(guard);
    } else {
      guard.release();
    }
    if (spawner) mon(spawner, id).release();
  };
  if (!is_local(*target)) {
    // Another node: mint the port's number here, so that no round trip is needed.
    port_id minted = detail::make_port_id(target->node_number(), core_->remote().mint_local(), 0);
    auto start = [&, this](bool watch_first) {
      if (remote_link* link = core_->remote().link()) {
        return link->spawn(minted, name, std::move(owned), watch_first);
      }
      return minted;
    };
    if (watched) {
      keep(core_->remote().add_monitor(minted, death_action(),
                                       [&] { return start(/*watched=*/true); }),
           minted);
      return minted;
    }
    if (!core_->remote().link()) {
      detail::log(log_level::warn, {"runtime", id()},
                  "spawn of '{}' on {}: no transport to that node", name, target->node());
      core_->sends().count_drop();
      return minted;
    }
    return start(/*watched=*/false);
  }
  detail::port_impl* p = core_->create_port({}, /*extra_refs=*/1);
  port_id id = core_->id_of(p);
  // The monitor is in place before the init can run, so no reason can be missed.
  if (watched) keep(core_->monitors().add(id, death_action()), id);
  core_->start_init(p, name, std::move(owned));
  return id;
}

}  // namespace coport
