#pragma once
/// \file
/// coport::groups — process groups after Erlang's original `pg`: named groups of ports on
/// any nodes, and group messages that every member receives in one order.
///
/// ```cpp
/// coport::groups::service pg{n, net.names()};
/// pg.create("chat", {.standbys = {"b", "c"}});          // master here, standbys on b and c
/// auto e = pg.join("chat", me, [](coport::groups::join_result r) { /* r.old_members */ });
/// e = pg.send("chat", "line"s, "hello");  // every member gets: pg_message, from, "chat", ...
/// if (e != coport::groups::errc::ok) { /* describe(e): no such group, ... */ }
/// ```
/// Every group message goes through the group's master port, which numbers it (epoch,
/// sequence) and forwards it to the groups agent of every node with members, once per node;
/// the agent delivers it to its local members in sequence order. Joins and leaves are
/// numbered in the same stream. Guarantees (README "Process groups"):
/// - total order: two members that both receive m1 and m2 receive them in the same order;
/// - view synchrony: a member receives exactly the messages ordered after its join was
///   ordered, up to its leave; joins and leaves reach members (who asked) in that stream;
/// - failover: with standbys, the master's node dying hands the group to the first living
///   standby, which makes the survivors agree (each one's sequence is a prefix of another's,
///   equal after its flush) and bumps the epoch; the old master is fenced;
/// - causal groups (`ordering::causal`): no master in the message path; a message sent after
///   delivering m1 is delivered after m1 everywhere (ISIS CBCAST, vector stamps). A send
///   from a node where the group has no member (yet: until this node's agent has applied
///   a local member's join) goes through the master instead and is delivered to every
///   member in the master's order; such messages carry no stamp, so they are ordered only
///   among themselves, not causally with the members' messages.
/// A member receives `pg_message, port_id from, std::string group, values...`; with
/// `join_options::notify` also `pg_new_member, group, port` and `pg_member_left, group, port,
/// reason`. `on_group(name, handler)` is a receive clause for coroutine actors.
/// Trust: each node speaks for its own ports only. A master takes a join or leave only from
/// the member's node, a message only from its sender's node (or with no sender), and an
/// agent takes the ordered stream only from the node of the master it follows, another
/// master only when the registry names it, and epochs a few steps on at most (`message::
/// origin`, the transport's authenticated link, tells the node; the sending port is not
/// known). A linked node can still register a port of its own under a group's name: the
/// registry does not know which node may hold a group.
/// Threading: thread-safe; callbacks run in the calling port's context (or on one of the
/// node's threads when called from outside any port). Lifetime: one per node, made after
/// the registry and destroyed before it; every node with members, masters or standbys runs
/// one. Destroying it ends this node's masters and standbys (reason `shutdown`: a standby
/// elsewhere takes over).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coport/envelope.hpp"
#include "coport/node.hpp"
#include "coport/receive.hpp"
#include "coport/registry.hpp"

namespace coport::groups {

using namespace coport::literals;

/// How a group orders its messages.
enum class ordering : std::uint8_t {
  total,   ///< through the master: one order for all members
  causal,  ///< ISIS CBCAST: causally related messages in order, concurrent ones in any
};

/// How a group is made.
struct group_options {
  ordering order = ordering::total;
  /// Nodes for standby masters, in succession order (each must run a `groups`).
  std::vector<std::string> standbys;
  /// Ordered items the master and its standbys keep for resends and failover flushes.
  std::size_t history = 4096;
  /// Quorum mode (total order only; at least two standby nodes): the master releases an
  /// item only once a majority of the group's homes (its node and the standby nodes) hold
  /// it, and a standby takes over only once a majority voted for it. A side of a partition
  /// without a majority releases nothing, so two masters never release at once, and a
  /// message `send`'s master confirmed is never lost while a majority of homes lives (and
  /// fewer than N - Q + 1 of them restart at once: their promises live in memory). The
  /// cost: a round trip to a majority per release, and a group that stops while no majority
  /// of its homes is up and linked (README "Process groups").
  bool quorum = false;
};

/// Why a group operation did not happen.
enum class errc : std::uint8_t {
  ok = 0,
  no_such_group,         ///< no master is registered under the name (Erlang: badarg)
  already_created,       ///< create: a master exists under the name
  already_member,        ///< join: the port is a member (it stays a member once)
  not_a_member,          ///< leave of a port that did not join (or left, or died, or was refused)
  not_in_port,           ///< esend, or a causal send, outside any port's context
  bad_argument,          ///< an empty or too long name, a null port, or another node's port
  too_many_unconfirmed,  ///< send: service_options::max_unconfirmed sends wait already
};
/// "no such group", ...
const char* describe(errc e) noexcept;

/// What `create` made.
struct create_result {
  errc error = errc::ok;
  port_id master;
  explicit operator bool() const noexcept { return error == errc::ok; }
};

/// How a port joins.
struct join_options {
  /// Also receive `pg_new_member` / `pg_member_left` for this group, in the message order.
  bool notify = false;
};

/// What a join did once it was ordered.
struct join_result {
  errc error = errc::ok;
  std::vector<port_id> old_members;  ///< the members before this join, in join order
};

/// The tags members see.
inline const tag& message_tag() {
  return "pg_message"_tag;
}
inline const tag& new_member_tag() {
  return "pg_new_member"_tag;
}
inline const tag& member_left_tag() {
  return "pg_member_left"_tag;
}

/// A group message that no master confirmed in time (service_options::on_send_failed).
struct send_failure {
  std::string group;
  port_id from;     ///< its sender (null: sent outside any port)
  reason why;       ///< pg_send_unconfirmed (it may still be delivered) or no_such_group
  message payload;  ///< `pg_message, from, group, values...`, as sent
};

/// How a node's groups service waits for groups it does not know yet, and for masters to
/// confirm what it sent.
struct service_options {
  /// A join or send of a group whose master this node's registry does not name yet (right
  /// after start, or while a standby takes over) waits at most this long for it, in order,
  /// instead of failing with no_such_group; then a join's `done` gets no_such_group and a
  /// send's port gets `pg_send_failed, group, reason`. 0: fail at once.
  node::duration wait = std::chrono::seconds{5};
  /// Joins and sends waiting at once, on the whole node; beyond it they fail at once.
  std::size_t max_waiting = 4096;
  /// A group message is kept until a master confirms it ordered and released it (it is
  /// sent again to the next master after a failover, and ordered once); one not confirmed
  /// within this time is reported: `pg_send_failed, group, reason` to its sending port and
  /// `on_send_failed`. Longer than a failover (the transport's node timeout and a takeover).
  node::duration send_timeout = std::chrono::seconds{10};
  /// Sends waiting for a confirmation at once on the whole node, and what their packed
  /// values weigh; beyond either, send is refused (errc::too_many_unconfirmed).
  std::size_t max_unconfirmed = std::size_t{1} << 18;
  std::size_t max_unconfirmed_bytes = std::size_t{256} << 20;
  /// Called for each send no master confirmed in time, or that waited in vain for its
  /// group's first master (on one of the node's threads, in the groups agent's port: keep
  /// it short).
  std::function<void(const send_failure&)> on_send_failed = {};
};

/// What a sender gets when its group message could not be handed to a master.
inline const tag& send_failed_tag() {
  return "pg_send_failed"_tag;
}

/// Figures of a node's groups (service::stats).
struct service_stats {
  /// The group roles (master or standby) this node holds, by group: their epochs.
  std::vector<std::pair<std::string, std::uint64_t>> epochs;
  std::uint64_t delivered = 0;    ///< group messages handed to local members (once per member)
  std::uint64_t held_back = 0;    ///< items that arrived past a gap and waited for it to fill
  std::uint64_t takeovers = 0;    ///< standbys of this node that became the master
  std::uint64_t waited = 0;       ///< joins and sends that waited for their group's master
  std::uint64_t wait_failed = 0;  ///< of those, the ones whose group did not come in time
  std::uint64_t unconfirmed = 0;  ///< sends waiting for their master's confirmation now
  std::uint64_t resent = 0;       ///< sends sent again to a next master
  std::uint64_t send_failed = 0;  ///< sends no master confirmed in time (reported)
};

/// A node's groups: its agent (delivery to local members) and the API.
class service {
 public:
  service(node& n, registry& names, service_options options = {});
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  /// The longest group name (bytes).
  static constexpr std::size_t max_name = 200;
  /// Masters (and, apart, standbys) that one other node may have made on this node and that
  /// are alive at once: each holds members and ordered items on that node's behalf. A create
  /// beyond it makes a master that dies at once (`spawn_failed`).
  static constexpr std::size_t max_roles_per_peer = 64;

  /// Makes the group's master port on this node (Erlang's pg:create/1).
  create_result create(std::string name, group_options options = {});
  /// Makes it on `node_id` (which must run a `groups`); the master's ID is returned at once
  /// (minted here, like `spawn`). That node keeps at most max_roles_per_peer masters made
  /// from this node alive.
  create_result create(std::string name, std::string_view node_id, group_options options = {});

  /// Adds `member`, a port of this node, once the master ordered it; `done` gets the members
  /// before it. While no master is known here it waits (service_options::wait), and then
  /// `done` gets no_such_group if none came. A port already a member stays one
  /// (errc::already_member, not ordered again); a port of another node is
  /// errc::bad_argument (a node joins and removes its own ports: a master refuses the
  /// others, whatever node asks).
  [[nodiscard]] errc join(std::string_view name, const port_id& member,
                          std::function<void(join_result)> done = {}, join_options options = {});
  /// Removes `member`, a port of this node (ordered like a message; a member that dies
  /// leaves by itself). A port of another node is errc::bad_argument; a port that did not
  /// join the group here, or left it already, errc::not_a_member (a join asked for counts
  /// at once: the leave is ordered after it).
  [[nodiscard]] errc leave(std::string_view name, const port_id& member);

  /// Every member receives `pg_message, from, name, values...` (from: the current port, or
  /// the null port outside one). While no master is known here it waits, behind earlier
  /// waiting joins and sends (service_options::wait); errc::no_such_group when it cannot.
  /// Then it is kept until the master confirms it, sent again to the next master after a
  /// failover, and ordered once; if no master confirms it within send_timeout, its port gets
  /// `pg_send_failed, name, reason` (and service_options::on_send_failed is called).
  template <class... Ts>
  [[nodiscard]] errc send(std::string_view name, Ts&&... values) {
    return send_from(current(), name, false, std::forward<Ts>(values)...);
  }
  /// The same, except to the sending port itself (inside a port only).
  template <class... Ts>
  [[nodiscard]] errc esend(std::string_view name, Ts&&... values) {
    return send_from(current(), name, true, std::forward<Ts>(values)...);
  }
  /// `send` on behalf of `from` (a port of this node, or null).
  template <class... Ts>
  [[nodiscard]] errc send_from(const port_id& from, std::string_view name, bool except_sender,
                               Ts&&... values) {
    if (name.empty() || name.size() > max_name) return errc::bad_argument;
    message m = message::make(message_tag(), from, std::string{name}, std::forward<Ts>(values)...);
    if (!m.copyable()) return errc::bad_argument;  // it goes to many members
    return route(from, name, except_sender, envelope{std::move(m)});
  }

  /// Calls `done` with the members in join order, as the master sees them.
  [[nodiscard]] errc members(std::string_view name, std::function<void(std::vector<port_id>)> done);
  /// The group's master as this node's registry replica knows it (null: none).
  port_id master(std::string_view name) const;
  /// The groups agent's port (the node-port service `coport.groups`).
  port_id agent() const noexcept;
  /// The figures now.
  service_stats stats() const;

  struct state;

 private:
  port_id current() const noexcept;
  errc route(const port_id& from, std::string_view name, bool except_sender, envelope e);

  std::shared_ptr<state> state_;
};

namespace detail {
/// The values after (from, name) that handler `F(port_id from, values...)` takes.
template <class F>
using group_args = typename coport::detail::callable_traits<std::decay_t<F>>::args;

/// True when `m` is a group message of `name` whose values fit `F`.
template <class F>
bool fits_group(const message& m, const std::string& name) {
  if (m.tag() != message_tag() || m.size() < 2 || !m.holds<std::string>(1) ||
      m.get<std::string>(1) != name) {
    return false;
  }
  return []<class P, class... A>(std::tuple<P, A...>*, const message& msg) {
    return msg.is<port_id, std::string, std::decay_t<A>...>();
  }(static_cast<group_args<F>*>(nullptr), m);
}

/// Calls `h(from, values...)` with a group message's values (which fit).
template <class F>
decltype(auto) call_group(F& h, message& m) {
  return []<class P, class... A>(std::tuple<P, A...>*, F& fn, message& msg) -> decltype(auto) {
    auto& values = msg.as<port_id, std::string, std::decay_t<A>...>();
    return [&]<std::size_t... I>(std::index_sequence<I...>)->decltype(auto) {
      return fn(std::get<0>(values), std::move(std::get<I + 2>(values))...);
    }
    (std::index_sequence_for<A...>{});
  }(static_cast<group_args<F>*>(nullptr), h, m);
}
}  // namespace detail

/// A receive clause for coroutine actors: a message of group `name` whose values fit
/// `handler(port_id from, values...)`; other messages stay queued.
///
///     co_await receive(on_group("chat", [](port_id from, std::string line) { ... }));
template <class F>
auto on_group(std::string name, F&& handler) {
  using fn_t = std::decay_t<F>;
  return when(
      [name = std::move(name)](const message& m) { return detail::fits_group<fn_t>(m, name); },
      [h = fn_t(std::forward<F>(handler))](message& m) mutable {
        return detail::call_group(h, m);
      });
}

}  // namespace coport::groups
