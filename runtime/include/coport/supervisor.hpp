#pragma once
/// \file
/// coport::supervise — OTP's supervisor for coport ports: a port that starts children from
/// registered inits (event ports and coroutine actors alike, on this node or another),
/// watches them, and restarts them by a strategy, within a restart intensity; past it the
/// supervisor ends with `reached_max_restart_intensity`, so that its own supervisor decides
/// (trees escalate).
///
/// ```cpp
/// coport::supervisor_spec spec;
/// spec.strategy = coport::restart_strategy::one_for_one;
/// spec.children.push_back(coport::child_spec::of("db", "app.db", std::string{"/var/db"}));
/// spec.children.push_back(coport::child_spec::of("worker", "app.worker").on({"w1", "w2"}));
/// coport::port_id sup = coport::start_supervisor(n, std::move(spec));
/// n.cal(sup, "which_children", [](coport::reply r) { /* "children", ids, ports */ });
/// ```
///
/// Children are spawned in the order of `children`, each with a monitor made before its
/// init runs (spawn_monitor). coport's spawn does not wait for an init: inits on one node run
/// in spawn order, a child supervisor's own children start after its later siblings' inits,
/// and a failing init is a death like any other (restarts, then the intensity). When a child
/// dies, its `restart` type decides whether it is restarted (permanent: always; transient:
/// after an abnormal end, where `shutdown` counts as normal; temporary: never, and its spec
/// is forgotten), the strategy which others go with it (one_for_one: none; one_for_all: all;
/// rest_for_one: those started after it), and its backoff when. Siblings that go with it are
/// ended last first, each waited for, then all start again in order. A child starts on the
/// first node of its `nodes` that is this one or up, else on the first (spawn dials it).
///
/// Ending a child ("terminate" below) waits for its end, at most its `shutdown` time, and
/// then kills it for good: a worker is killed with `shutdown` (a coport port cannot trap a
/// kill: the wait only covers a remote child's kill travelling), a child made with
/// `child_spec::supervisor` is sent `stop`, so that its own children end in order first.
///
/// The supervisor answers, from any node (`cal`):
///   `which_children`           -> `children`, vector<string> ids, vector<port_id> ports
///                                 (the null ID for a child not running), in start order
///   `count_children`           -> `count`, i64 specs, i64 running
///   `terminate_child`, id      -> `ok` once it ended | `error`, string: it stays down until
///                                 restart_child (a temporary child is forgotten)
///   `restart_child`, id        -> `ok`, port_id | `error`, string: starts a child not running
///   `delete_child`, id         -> `ok` | `error`, string: forgets a child not running
/// and `stop` (no reply): every child is ended, last first, then the supervisor ends
/// normally. `start_child` adds one (local). A supervisor that ends any other way (killed,
/// normally or not, or past its intensity) kills the children still running with its reason
/// (`shutdown` for a normal kill); a child on another node whose supervisor's *node* dies is
/// not told (give it a monitor on the supervisor when that matters).
///
/// Threading: a supervisor's state lives in its port's context; the functions here may be
/// called from any thread. Lifetime: the supervisor lives until stopped, killed, or past
/// its intensity; the callbacks of start_child run in its context.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "coport/node.hpp"

namespace coport {

/// Which children are restarted with one that died (OTP's strategies).
enum class restart_strategy {
  one_for_one,  ///< only the child that died
  one_for_all,  ///< every child: the others are killed, then all start again in order
  rest_for_one  ///< the child that died and those started after it
};

/// Whether a child that ended is started again.
enum class restart_type {
  permanent,  ///< always
  transient,  ///< after an abnormal end (not an empty reason, not `shutdown`)
  temporary   ///< never; the spec is forgotten when it ends
};

/// One child of a supervisor.
class child_spec {
 public:
  /// A child `id` (unique in its supervisor) made by the registered init `init` with `args`
  /// (copied; each start gets them again).
  template <class... A>
  static child_spec of(std::string id, std::string init, A&&... args) {
    child_spec c;
    c.id = std::move(id);
    c.init = std::move(init);
    c.start_ = [args = std::make_tuple(detail::stored_t<A>(std::forward<A>(args))...)](
                   node& n, std::string_view where, std::string_view name,
                   detail::unique_function<void(const reason&)> on_death) {
      return std::apply(
          [&](const auto&... a) {
            return n.spawn_monitor(where, name, std::move(on_death), detail::stored_t<A>(a)...);
          },
          args);
    };
    return c;
  }

  /// A child that is itself a supervisor (made by an init from register_supervisor): ended
  /// by sending it `stop`, waited for up to a minute.
  template <class... A>
  static child_spec supervisor(std::string id, std::string init, A&&... args) {
    child_spec c = of(std::move(id), std::move(init), std::forward<A>(args)...);
    c.stop_tag = "stop";
    c.shutdown = std::chrono::minutes{1};
    return c;
  }

  /// Where it may run, in order of preference: node IDs (empty: the supervisor's node).
  child_spec& on(std::vector<std::string> node_ids) {
    nodes = std::move(node_ids);
    return *this;
  }
  child_spec& restart_as(restart_type type) {
    restart = type;
    return *this;
  }
  child_spec& shutdown_within(node::duration d) {
    shutdown = d;
    return *this;
  }

  std::string id;
  std::string init;
  std::vector<std::string> nodes;
  restart_type restart = restart_type::permanent;
  /// How long ending this child waits for its end before killing it and going on.
  node::duration shutdown = std::chrono::seconds{5};
  /// Ending it sends this tag (and kills it only after `shutdown`); empty: kill at once.
  std::string stop_tag;

  /// True when made by `of` or `supervisor` (it can start).
  bool startable() const noexcept { return static_cast<bool>(start_); }

  /// Low-level: starts the child on `where` with `on_death` as its monitor.
  std::pair<port_id, monitor> start(node& n, std::string_view where,
                                    detail::unique_function<void(const reason&)> on_death) const {
    return start_(n, where, init, std::move(on_death));
  }

 private:
  std::function<std::pair<port_id, monitor>(node&, std::string_view, std::string_view,
                                            detail::unique_function<void(const reason&)>)>
      start_;
};

/// A supervisor: its strategy, intensity, backoff and children.
struct supervisor_spec {
  restart_strategy strategy = restart_strategy::one_for_one;
  /// More than `max_restarts` restarts within `period` end the supervisor (OTP's intensity).
  std::size_t max_restarts = 3;
  node::duration period = std::chrono::seconds{5};
  /// The delay before a child is started again: 0 for the first restart after it ran for
  /// `period` or longer, else `backoff_initial` doubled with each quick death in a row, at
  /// most `backoff_max` (0, the default: at once, as OTP).
  node::duration backoff_initial{0};
  node::duration backoff_max = std::chrono::seconds{1};
  std::vector<child_spec> children;
};

/// Starts a supervisor on a new port of `n` and returns the port. Throws
/// std::invalid_argument when two children share an ID, a child has an empty ID, no init, an
/// invalid node ID or a negative shutdown, was not made by `of`, or `period` is not positive.
port_id start_supervisor(node& n, supervisor_spec spec);

/// Makes the current port a supervisor (inside an init: see register_supervisor). Throws
/// std::logic_error outside a port, std::invalid_argument as start_supervisor.
void supervise(node& n, supervisor_spec spec);

/// Registers init `name` that makes its port a supervisor with `make()`'s spec: a
/// supervisor that is a child of another, or spawned on another node.
void register_supervisor(node& n, std::string name, std::function<supervisor_spec()> make);

/// Adds `child` to the local supervisor `sup` and starts it (OTP's start_child); `done`
/// (optional; in the supervisor's context) gets its port, or the null ID and why not (a
/// duplicate ID, a spec start_supervisor would refuse, a supervisor that is stopping). A
/// dead supervisor calls nothing.
void start_child(node& n, const port_id& sup, child_spec child,
                 std::function<void(const port_id&, const std::string&)> done = {});

}  // namespace coport
