#pragma once
/// \file
/// coport::node — one runtime instance: its ports, monitors, timers, calls and spawns.
///
/// A node runs on its own thread pool, or embedded in an `asio::io_context` the user owns and
/// runs, or (for tests) stepped by hand. Several nodes may live in one process.
/// Threading: every member function is thread-safe. A port's handlers never run concurrently
/// with each other; different ports run in parallel. Per sender→receiver order is FIFO.
/// Lifetime: destroying the node shuts it down: every port is killed with reason `shutdown`,
/// monitors fire, and the node's own threads join. Do not destroy a node from one of its ports.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "coport/detail/actor_state.hpp"
#include "coport/detail/handler.hpp"
#include "coport/detail/unique_function.hpp"
#include "coport/message.hpp"
#include "coport/message_type.hpp"
#include "coport/monitor.hpp"
#include "coport/options.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"
#include "coport/remote.hpp"
#include "coport/subscription.hpp"
#include "coport/tag.hpp"
#include "coport/timer.hpp"

namespace asio {
class io_context;
}

namespace coport {

namespace detail {
class node_core;
struct node_access;
template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};
}  // namespace detail

/// The reply a `cal` callback gets: a message, or nothing on timeout or the target's death.
using reply = std::optional<message>;

/// One runtime instance.
class node {
 public:
  using duration = std::chrono::steady_clock::duration;

  // -- construction -------------------------------------------------------------------------

  /// A node that runs its own threads (or, with run_mode::deterministic, none).
  explicit node(node_options options = {});
  /// A node embedded in `context`, which the user runs; the node starts no thread.
  node(asio::io_context& context, node_options options = {});
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // -- identity ------------------------------------------------------------------------------

  /// This node's ID.
  const std::string& id() const noexcept;
  /// This start of the node: a random number, never 0, that every port ID of this node
  /// carries (a restarted node's new ports never answer to its old IDs).
  std::uint32_t incarnation() const noexcept;
  /// The node's own port (addressed by the bare node ID).
  port_id node_port() const noexcept;
  /// True when `port` lives on this node.
  bool is_local(const port_id& port) const noexcept;
  /// True while `port`, a port of this node, has not been killed (Erlang's
  /// is_process_alive); false for any other node's port.
  bool alive(const port_id& port) const noexcept;

  // -- ports ---------------------------------------------------------------------------------

  /// A new port with no handler: a message matching no tag handler kills it.
  port_id port();
  /// A new port whose default handler gets every message no tag handler takes.
  template <class F>
  port_id port(F&& default_handler) {
    return make_port(detail::make_handler(std::forward<F>(default_handler)));
  }

  /// A new port for a coroutine actor (see coport/actor.hpp's `spawn`): what no tag handler
  /// takes goes to the actor's mailbox.
  port_id port_with_actor(actor_options options = {});

  /// Adds or replaces the handler of `t` on the local `port`. The handler takes the payload's
  /// values (types checked against each message) or the whole `message`. Called outside the
  /// port's context, the change is made in order with the messages sent from this thread.
  template <class F>
  void rcv(const port_id& port, tag t, F&& handler) {
    set_handler(port, t, detail::make_handler(std::forward<F>(handler)));
  }
  /// Removes the handler of `t` from `port`.
  void rcv(const port_id& port, tag t, std::nullptr_t) { set_handler(port, t, {}); }
  /// Replaces the default handler of `port`.
  template <class F>
  void rcv_default(const port_id& port, F&& handler) {
    set_handler(port, tag{}, detail::make_handler(std::forward<F>(handler)), true);
  }

  /// Sends `t, values...` to `port`; never blocks. Local values are moved, never copied. A
  /// message to a dead or unknown port is dropped and counted.
  template <class... Ts>
  void snd(const port_id& port, tag t, Ts&&... values) {
    send_block(port, detail::make_payload(t, std::forward<Ts>(values)...));
  }
  /// Sends the declared message `type` (coport/message_type.hpp): each value is converted to
  /// its declared type, so the receiver's check of the same declaration matches (values of
  /// the declared types already are passed on exactly as `snd(port, tag, values...)` would).
  template <class... Ts, class... Us>
  requires(sizeof...(Ts) == sizeof...(Us)) void snd(const port_id& port,
                                                    const message_type<Ts...>& type,
                                                    Us&&... values) {
    send_block(port, declared_payload(type, std::forward<Us>(values)...));
  }
  /// Sends a message built beforehand.
  void snd(const port_id& port, message msg);

  /// Kills `port` normally. Deferred: monitors never run inside this call. Unknown: no-op.
  void kil(const port_id& port) { kill(port, reason{}); }
  /// Kills `port` with `why` (abnormal unless empty).
  void kil(const port_id& port, reason why) { kill(port, std::move(why)); }
  /// Kills `port` with the reason `kind, details...`.
  template <class... S>
  void kil(const port_id& port, std::string kind, S&&... details) {
    kill(port, reason{std::vector<std::string>{std::move(kind), std::string(details)...}});
  }

  // -- monitors ------------------------------------------------------------------------------

  /// Calls `callback(const reason&)` once when `port` dies (empty reason = normal). Made inside
  /// a port, the callback runs in that port's context (and not at all if it died first).
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&, const reason&>>>
  monitor mon(const port_id& port, F&& callback) {
    return add_monitor(
        port,
        bind_to_context(detail::unique_function<void(const reason&)>(std::forward<F>(callback))));
  }
  /// Kills `linked` with the same reason when `port` dies abnormally (a link).
  monitor mon(const port_id& port, const port_id& linked);
  /// Links `port` to the current port (inside a port only).
  monitor mon(const port_id& port);
  /// Sends `t, values..., reason` to `receiver` when `port` dies.
  template <class... Ts>
  monitor mon(const port_id& port, const port_id& receiver, tag t, Ts&&... values) {
    return add_monitor(port, [this, receiver, t,
                              vals = std::tuple<detail::stored_t<Ts>...>(
                                  std::forward<Ts>(values)...)](const reason& why) mutable {
      std::apply([&](auto&... v) { snd(receiver, t, std::move(v)..., why); }, vals);
    });
  }
  /// Sends the declared message `type` to `receiver` when `port` dies: `values...` and the
  /// reason, which is the declaration's last value (`message_type<std::string, reason>`),
  /// each converted to its declared type as `snd` does.
  template <class... Ts, class... Us>
  requires(sizeof...(Us) + 1 == sizeof...(Ts) &&
           std::same_as<std::tuple_element_t<sizeof...(Ts) - 1, std::tuple<Ts...>>, reason>) monitor
      mon(const port_id& port, const port_id& receiver, const message_type<Ts...>& type,
          Us&&... values) {
    return add_monitor(port, [this, receiver, type,
                              vals = std::tuple<detail::stored_t<Us>...>(
                                  std::forward<Us>(values)...)](const reason& why) mutable {
      std::apply([&](auto&... v) { snd(receiver, type, std::move(v)..., why); }, vals);
    });
  }
  /// Keeps `objects` alive until `port` dies (or the guard is destroyed).
  template <class... Ts>
  monitor mon_guard(const port_id& port, Ts&&... objects) {
    return add_monitor(port, [held = std::tuple<std::decay_t<Ts>...>(std::forward<Ts>(objects)...)](
                                 const reason&) mutable { (void)held; });
  }

  // -- context -------------------------------------------------------------------------------

  /// Wraps `f` so that calling it (from any thread) runs it in the current port's context;
  /// an exception escaping it kills that port. Throws std::logic_error outside a port.
  template <class F>
  auto psub(F&& f) {
    return [this, target = current_port_or_throw("psub"),
            fn = std::forward<F>(f)](auto&&... args) mutable {
      peval(target, [fn, ... a = std::forward<decltype(args)>(args)]() mutable { fn(a...); });
    };
  }
  /// Runs `f()` in `port`'s context, in order with messages sent from this thread; an
  /// exception escaping it kills the port. A dead port drops it.
  template <class F>
  void peval(const port_id& port, F&& f) {
    send_block(port, detail::make_closure(std::forward<F>(f)));
  }

  // -- timers --------------------------------------------------------------------------------

  /// Sends `t, values...` to `port` after `delay`.
  template <class... Ts>
  timer after(duration delay, const port_id& port, tag t, Ts&&... values) {
    return start_timer(delay, port, detail::make_payload(t, std::forward<Ts>(values)...), {});
  }
  /// Sends the declared message `type` with `values...` (each converted to its declared type,
  /// as `snd` does) to `port` after `delay`.
  template <class... Ts, class... Us>
  requires(sizeof...(Ts) == sizeof...(Us)) timer
      after(duration delay, const port_id& port, const message_type<Ts...>& type, Us&&... values) {
    return start_timer(delay, port, declared_payload(type, std::forward<Us>(values)...), {});
  }
  /// Calls `callback()` after `delay`: in the current port's context when made inside a port.
  template <class F, class = std::enable_if_t<std::is_invocable_v<F&>>>
  timer after(duration delay, F&& callback) {
    auto target = current_port();
    if (target) {
      return start_timer(delay, target, detail::make_closure(std::forward<F>(callback)), {});
    }
    return start_timer(delay, {}, nullptr, std::forward<F>(callback));
  }

  // -- request/reply -------------------------------------------------------------------------

  /// `cal(port, tag, values..., callback[, timeout])`: sends `tag, values..., reply_port` and
  /// calls `callback(reply)` exactly once: with the reply, or empty on timeout or if `port`
  /// dies first. Inside a port the callback runs in that port's context. Returns the reply port.
  template <class... A>
  port_id cal(const port_id& port, tag t, A&&... args) {
    static_assert(sizeof...(A) >= 1, "cal needs a callback");
    auto all = std::forward_as_tuple(std::forward<A>(args)...);
    using last_t = std::decay_t<std::tuple_element_t<sizeof...(A) - 1, std::tuple<A...>>>;
    if constexpr (detail::is_duration<last_t>::value) {
      static_assert(sizeof...(A) >= 2, "cal needs a callback before the timeout");
      constexpr std::size_t cb = sizeof...(A) - 2;
      return cal_split(port, t, make_reply_callback<cb, A...>(all),
                       std::chrono::duration_cast<duration>(std::get<cb + 1>(all)), all,
                       std::make_index_sequence<cb>{});
    } else {
      constexpr std::size_t cb = sizeof...(A) - 1;
      return cal_split(port, t, make_reply_callback<cb, A...>(all), std::nullopt, all,
                       std::make_index_sequence<cb>{});
    }
  }

  // -- spawn ---------------------------------------------------------------------------------

  /// Registers the init function `name` for `spawn`; it runs in the new port's context with
  /// the spawn arguments (types checked) and typically calls `rcv(self(), ...)`.
  /// `max_per_peer`: how many ports made by it for one other node may be alive at once
  /// (that node's further spawns of it are refused with `spawn_failed`); at most, and by
  /// default, max_spawned_per_peer. For inits whose ports hold much on a peer's behalf.
  template <class F>
  void register_init(std::string name, F&& init, std::size_t max_per_peer = max_spawned_per_peer) {
    const detail::signature* parameters = detail::handler_signature<F>();
    add_init(std::move(name), detail::make_handler(std::forward<F>(init)), max_per_peer,
             parameters);
  }
  /// True when init `name` is registered on this node.
  bool has_init(std::string_view name) const;
  /// An init function as `init_functions` lists it.
  struct init_function {
    std::string name;
    /// The wire names of its parameter types ("i64", "string", a registered name; "" for a
    /// type with none yet); none with `any_message` (it takes the message itself).
    std::vector<std::string> parameters;
    bool any_message = false;
  };
  /// The init functions registered on this node, sorted by name (schemas, README "Rolling
  /// upgrades").
  std::vector<init_function> init_functions() const;
  /// Creates a port on `where` (a node ID or any port of it) running init `name` with `args`;
  /// returns the new port's ID at once. An unknown name or a failing init kills the new port
  /// with a reason that says why (`no_such_init`, `bad_message`, `die`).
  /// On another node the ID is minted here, so no round trip happens; messages sent to it
  /// before the init ran are handled after it. A monitor made right after `spawn` returns
  /// still sees an init's failure reason: the node remembers the last 4096 init failures.
  template <class... A>
  port_id spawn(std::string_view where, std::string_view name, A&&... args) {
    return spawn_block(where, name, detail::make_payload(tag{name}, std::forward<A>(args)...),
                       spawn_extra{});
  }
  /// `spawn` with a monitor made before the init runs (Erlang's spawn_monitor): `callback`
  /// (const reason&) is called once when the port dies, whatever happens. Returns the port
  /// and the monitor's guard.
  template <class F, class... A,
            class = std::enable_if_t<std::is_invocable_v<std::decay_t<F>&, const reason&>>>
  std::pair<port_id, monitor> spawn_monitor(std::string_view where, std::string_view name,
                                            F&& callback, A&&... args) {
    spawn_extra extra;
    extra.on_death =
        bind_to_context(detail::unique_function<void(const reason&)>(std::forward<F>(callback)));
    monitor guard;
    extra.guard = &guard;
    port_id id = spawn_block(where, name, detail::make_payload(tag{name}, std::forward<A>(args)...),
                             std::move(extra));
    return {id, std::move(guard)};
  }
  /// `spawn` linked both ways to the current port before the init runs (Erlang's
  /// spawn_link): either dying abnormally kills the other with the same reason. Inside a
  /// port only.
  template <class... A>
  port_id spawn_link(std::string_view where, std::string_view name, A&&... args) {
    spawn_extra extra;
    extra.link_to = current_port_or_throw("spawn_link");
    return spawn_block(where, name, detail::make_payload(tag{name}, std::forward<A>(args)...),
                       std::move(extra));
  }

  // -- node events ---------------------------------------------------------------------------

  /// Calls `callback(node_id, up, reason)` whenever a node comes up (`up` true, empty reason)
  /// or goes down (with why: `shutdown` when it left normally, saying so; anything else is a
  /// failure, e.g. `transport_error`), in the current port's context when made inside a port
  /// (AEMP's mon_nodes). The guard ends it: once `cancel()` (or its destructor) returns, the
  /// callback is not running and never runs again, also for events already queued; it
  /// waits for a call running on another thread (a callback may end its own guard). Do not
  /// end a guard while holding what its callback waits for.
  template <class F>
  subscription mon_nodes(F&& callback) {
    return add_node_monitor(detail::unique_function<void(const std::string&, bool, const reason&)>(
        std::forward<F>(callback)));
  }
  /// The IDs of the nodes a transport has an established link to.
  std::vector<std::string> up_nodes() const;

  // -- services ------------------------------------------------------------------------------

  /// Makes `port` (a local port) the service for tag `t` on this node: a message with tag `t`
  /// sent to the node port (the bare node ID, from here or from any node) goes to `port`, in
  /// the order that sender sent them (one from another node is handed to `port` at once,
  /// without a stop at the node port's handler; only while a service is being replaced can
  /// one that the node port took before `serve` arrive after later ones). This is how a
  /// well-known
  /// service is reached on every node without knowing its port's ID (Erlang's registered
  /// names, `{Name, Node} ! Msg`). The guard, or the port's death, ends it. Throws
  /// std::invalid_argument when `t` is taken, is `ping` or `info`, or `port` is not local.
  subscription serve(tag t, const port_id& port);

  // -- time ----------------------------------------------------------------------------------

  /// The node's clock: steady_clock, or in deterministic mode a virtual clock that moves
  /// only by `advance`.
  std::chrono::steady_clock::time_point now() const noexcept;
  /// Deterministic mode: moves the virtual clock forward by `d` and fires every timer that
  /// falls due (`after`, `cal` and `receive` timeouts, sleeps) in the order they are due;
  /// returns how many fired. What they send runs on the next steps.
  std::size_t advance(duration d);

  // -- deterministic mode and statistics ------------------------------------------------------

  /// Deterministic mode: handles one message of the first ready port (or one other job);
  /// returns false when nothing was ready.
  bool step();
  /// Deterministic mode: steps until nothing is ready; returns the number of steps.
  std::size_t run_until_idle();

  /// Counters.
  node_stats stats() const noexcept;
  /// Measures `port`, a live port of this node, under `name` (CAF's per-actor metrics): the
  /// messages waiting in its mailbox, those handled, and how long each handler run took
  /// (`measured`, and the metrics exporter). Senders to a measured port add to a counter,
  /// its runner reads the clock twice per message; other ports pay a load and a branch.
  /// False when the port is not a live local one, is measured already, or 4096 ports of
  /// this node are (logged). Ports spawned from inits that node_options::measure names are
  /// measured from the start. Messages queued before `measure` are not in the mailbox figure
  /// (it counts from then on). Each measured port is a series of its own (`port` label):
  /// measure long-lived ports, or few short-lived ones; a dead port's slot is reused once
  /// no thread holds it any more.
  bool measure(const port_id& port, std::string name);
  /// The figures of the measured ports that are alive.
  std::vector<port_figures> measured() const;

  /// Kills every port with reason `shutdown`, waits for them to end and joins the threads.
  /// Idempotent; the destructor calls it.
  void shutdown();

  // -- transport seam ------------------------------------------------------------------------

  /// Plugs a transport in: messages to other nodes go through `link` (null unplugs; the old
  /// link stays alive with the node). Returns the node's end for the transport to report
  /// through (coport/remote.hpp); a user's code never needs it.
  node_link plug(std::shared_ptr<remote_link> link);
  /// Ports spawned here on behalf of one other node that may be alive at once: beyond it,
  /// that node's spawns are refused (`spawn_failed`) until some of those ports die.
  static constexpr std::size_t max_spawned_per_peer = 4096;

  /// The io_context the node runs on (its own, or the embedding one): for Asio objects that
  /// coroutine actors await (coport/asio.hpp).
  asio::io_context& context() noexcept;

 private:
  friend struct detail::node_access;

  port_id make_port(detail::message_handler fallback);
  void set_handler(const port_id& port, tag t, detail::message_handler h, bool fallback = false);
  void send_block(const port_id& port, detail::message_block* n);
  /// The block of the declared message `type` with `values...`, each converted to its
  /// declared type (moved through when it is one already).
  template <class... Ts, class... Us>
  static detail::message_block* declared_payload(const message_type<Ts...>& type, Us&&... values) {
    if constexpr ((std::same_as<std::remove_cvref_t<Us>, Ts> && ...)) {
      return detail::make_payload(type.tag(), std::forward<Us>(values)...);
    } else {
      return detail::make_payload(
          type.tag(), message_type<Ts...>::template declared<Ts>(std::forward<Us>(values))...);
    }
  }
  void kill(const port_id& port, reason why);
  monitor add_monitor(const port_id& port, detail::unique_function<void(const reason&)> action);
  detail::unique_function<void(const reason&)> bind_to_context(
      detail::unique_function<void(const reason&)> f);
  port_id current_port() const noexcept;
  port_id current_port_or_throw(const char* what) const;
  timer start_timer(duration delay, const port_id& port, detail::message_block* n,
                    detail::unique_function<void()> callback);
  void add_init(std::string name, detail::message_handler init, std::size_t max_per_peer,
                const detail::signature* parameters);
  struct spawn_extra {
    detail::unique_function<void(const reason&)> on_death;  ///< spawn_monitor's callback
    monitor* guard = nullptr;                               ///< where its guard goes
    port_id link_to;                                        ///< spawn_link's other end
  };
  port_id spawn_block(std::string_view where, std::string_view name, detail::message_block* args,
                      spawn_extra extra);
  subscription add_node_monitor(
      detail::unique_function<void(const std::string&, bool, const reason&)> callback);
  port_id start_cal(const port_id& port, detail::unique_function<void(reply)> callback,
                    std::optional<duration> timeout,
                    detail::unique_function<detail::message_block*(const port_id&)> build);

  template <std::size_t I, class... A, class Tuple>
  static detail::unique_function<void(reply)> make_reply_callback(Tuple& all) {
    using cb_t = std::tuple_element_t<I, std::tuple<A...>>;
    static_assert(std::is_invocable_v<std::decay_t<cb_t>&, reply>,
                  "cal's callback must take a coport::reply (std::optional<message>)");
    return detail::unique_function<void(reply)>(std::forward<cb_t>(std::get<I>(all)));
  }

  template <class Tuple, std::size_t... I>
  port_id cal_split(const port_id& port, tag t, detail::unique_function<void(reply)> callback,
                    std::optional<duration> timeout, Tuple& all, std::index_sequence<I...>) {
    auto values = std::tuple<detail::stored_t<std::tuple_element_t<I, Tuple>>...>(
        std::forward<std::tuple_element_t<I, Tuple>>(std::get<I>(all))...);
    return start_cal(
        port, std::move(callback), timeout,
        [t, values = std::move(values)](const port_id& reply_port) mutable {
          return std::apply(
              [&](auto&... v) { return detail::make_payload(t, std::move(v)..., reply_port); },
              values);
        });
  }

  std::shared_ptr<detail::node_core> core_;
};

/// The current port (AEMP's `$SELF`); throws std::logic_error outside a port's context.
port_id self();
/// The node of the current port; throws std::logic_error outside a port's context.
node& this_node();
/// True inside a port's context.
bool in_port_context() noexcept;
/// The node that the message being handled came from, as the transport established it (the
/// authenticated link it arrived on; never a value in the message): that node's node port
/// (incarnation 0), or the null ID when the message was made on this node (a local send, a
/// timer, a closure run by `peval`/`psub`, a monitor's message), or outside a handler.
/// Valid inside a `rcv` handler or a default handler, for the message it was called with,
/// until it returns. A coroutine actor reads `message::origin()` of what its
/// `receive` returned instead (a message taken from its mailbox may be older than the one
/// that resumed it). Cost: a thread-local read; setting it costs the runner one store per
/// message.
port_id message_origin() noexcept;

namespace detail {
/// For the runtime's own templates (coport/asio.hpp) and sources: a node's shared core.
struct node_access {
  static const std::shared_ptr<node_core>& core(const node& n) noexcept { return n.core_; }
};
}  // namespace detail

}  // namespace coport
