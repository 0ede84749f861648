#pragma once
/// \file
/// coport::remote_link — the seam where a transport plugs into a node.
///
/// The runtime knows nothing of sockets: for a port on another node it calls this interface.
/// A transport reports back through the node's seam functions: `deliver` (a message arrived
/// for a local port), `remote_port_died`, `remote_node_up`, `remote_node_lost`, and
/// `accept_spawn` (another node spawns a port here).
/// Threading: the node may call every member from any of its threads at once. It calls
/// `watch`, `unwatch` and a watched `spawn` while holding its monitor table's lock, so that
/// the watches of one target reach the link in the order they were made: an implementation
/// must not call back into the node's monitor functions (`remote_port_died`,
/// `remote_node_lost`) from inside them (post the call instead). Lifetime: the node keeps every link it was given until it is destroyed.

#include <cstdint>
#include <string_view>

#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"

namespace coport {

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
  virtual port_id spawn(const port_id& port, std::string_view init, message args,
                        bool watched) = 0;
};

/// For transports that batch writes: when the calling thread is running a port's handlers,
/// arranges for `flush` to be called on this thread when that run ends (once per run, for
/// every caller that asked; at most 8 distinct functions a run) and returns true; otherwise
/// returns false and the caller should write at once. A run handles up to the node's
/// `port_budget` messages, so a handler that sends many remote messages costs one write.
bool flush_at_run_end(void (*flush)()) noexcept;

}  // namespace coport
