#pragma once
/// \file
/// coport::remote_link and coport::node_link — the seam where a transport plugs into a node.
///
/// The runtime knows nothing of sockets: for a port on another node it calls `remote_link`,
/// which the transport implements. The transport reports back through the `node_link` that
/// `node::plug` hands it (the node's end of its links): `deliver` (a message arrived for a
/// local port), `remote_port_died`, `remote_node_up`, `remote_node_lost`, `accept_spawn` and
/// `refuse_spawn` (another node spawns a port here). A user's code holds neither: the node's
/// own class carries only `plug`.
/// Threading: the node may call every member from any of its threads at once. It calls
/// `watch`, `unwatch` and a watched `spawn` while holding its monitor table's lock, so that
/// the watches of one target reach the link in the order they were made: an implementation
/// must not call back into the node's monitor functions (`remote_port_died`,
/// `remote_node_lost`) from inside them (post the call instead). node_link's members are
/// thread-safe. Lifetime: the node keeps every link it was given until it is destroyed; a
/// node_link is valid while its node lives (the transport, which the node outlives or
/// unplugs first, holds it).
/// May include: the runtime's public headers and detail/unique_function.hpp only.

#include <cstdint>
#include <string_view>

#include "coport/detail/unique_function.hpp"
#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"

namespace coport {

class node;
namespace detail {
class node_core;
}

/// What a node needs from a transport.
class remote_link {
 public:
  virtual ~remote_link() = default;

  /// Sends `msg` to the remote port `to`; never blocks. A message that cannot go is dropped,
  /// counted, and the monitors of `to` fire (no holes).
  virtual void send(const port_id& to, message msg) = 0;

  /// Kills the remote port `target` with `why`.
  virtual void kill(const port_id& target, const reason& why) = 0;

  /// The first local monitor on the remote `target` was added: watch it.
  virtual void watch(const port_id& target) = 0;

  /// The last local monitor on the remote `target` was removed.
  virtual void unwatch(const port_id& target) = 0;

  /// Starts init `init` with `args` as the port `port` on its (remote) node; the node minted
  /// `port`'s local number. With `watched`, the watch is made before the init runs (a
  /// spawn_monitor). Returns `port` with its node's incarnation when the link knows it.
  virtual port_id spawn(const port_id& port, std::string_view init, message args, bool watched) = 0;
};

/// The node's end of its links: what a transport may do to the node it serves. Made by
/// `node::plug`; empty (false) otherwise.
class node_link {
 public:
  node_link() noexcept = default;
  explicit operator bool() const noexcept { return core_ != nullptr; }

  /// A message for a local port arrived. Only local ports are served (a message for another
  /// node is dropped and counted, so nothing bounces between nodes); returns false when the
  /// message was dropped because the port does not exist here.
  bool deliver(const port_id& to, message msg) const;
  /// The same for a message that arrived on the authenticated link to node `origin` (its
  /// ID): the message's `origin()` and, while a handler handles it, `message_origin()` name
  /// that node. A message from an ID that is not interned, or interned beyond
  /// `detail::max_origin`, is dropped and counted (it cannot be attributed). The ID is
  /// looked up (lock-free) per message: `deliver_from` takes the interned number instead.
  bool deliver(const port_id& to, message msg, std::string_view origin) const;
  /// The same with the origin's interned node number (`port_id::node_number`).
  bool deliver_from(const port_id& to, message msg, std::uint32_t origin) const;
  /// The remote `port` died with `why` (or messages to it were lost); fires this node's
  /// monitors on it. Returns true when any monitor was there. `after` (may be empty) is
  /// what must wait until those monitors have run ("no holes"): it is posted as a job of
  /// the node once every action has run, also a callback that runs later in a busy port's
  /// context (or was dropped with that port); never called inside this call, nor once the
  /// node is gone.
  bool remote_port_died(const port_id& port, const reason& why,
                        detail::unique_function<void()> after = {}) const;
  /// A link to `node_id` is established (node-up events).
  void remote_node_up(std::string_view node_id) const;
  /// The connection to `node_id` was lost; fires every monitor on its ports and the
  /// node-down events. `after` as for remote_port_died (the monitors only, not node-down).
  void remote_node_lost(std::string_view node_id, const reason& why,
                        detail::unique_function<void()> after = {}) const;
  /// Node `origin` (the ID its link proved) spawns init `init` with `args` here, as the port
  /// with the local number `local` that it minted. `on_death` (may be empty) is installed as
  /// a monitor before the init runs. Returns the port, or the null ID, and then no port is
  /// made, `on_death` is not kept and `*refused` (when given) says why: `local` is not a
  /// minted number or is in use (`spawn_failed`); no init of that name is registered here
  /// (`no_such_init`, which a monitor made later on that port sees too); `origin` has
  /// node::max_spawned_per_peer ports spawned here alive, or as many of that init's as its
  /// registration allows (`spawn_failed`). An empty `origin` is not counted (for callers
  /// that are not a link).
  port_id accept_spawn(std::uint64_t local, std::string_view init, message args,
                       detail::unique_function<void(const reason&)> on_death,
                       std::string_view origin = {}, reason* refused = nullptr) const;
  /// Another node's spawn cannot start here (its arguments do not decode): the port with the
  /// minted number `local` is made dead with `why`, so that `on_death` and any monitor made
  /// later (within the init-failure memory) see the reason. Returns the port, or the null ID
  /// as accept_spawn does.
  port_id refuse_spawn(std::uint64_t local, reason why,
                       detail::unique_function<void(const reason&)> on_death) const;

 private:
  friend class node;
  explicit node_link(detail::node_core* core) noexcept : core_{core} {}
  detail::node_core* core_ = nullptr;
};

/// For transports that batch writes: when the calling thread is running a port's handlers,
/// arranges for `flush` to be called on this thread when that run ends (once per run, for
/// every caller that asked; at most 8 distinct functions a run) and returns true; otherwise
/// returns false and the caller should write at once. A run handles up to the node's
/// `port_budget` messages, so a handler that sends many remote messages costs one write.
bool flush_at_run_end(void (*flush)()) noexcept;

}  // namespace coport
