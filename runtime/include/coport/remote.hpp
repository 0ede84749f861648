#pragma once
/// \file
/// coport::remote_link — the seam where a transport plugs into a node.
///
/// The runtime knows nothing of sockets: for a port on another node it calls this interface.
/// A transport reports back through `node::deliver` (a message arrived for a local port),
/// `node::remote_port_died` and `node::remote_node_lost`.
/// Threading: the node may call every member from any of its threads at once.

#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"

namespace coport {

/// What a node needs from a transport.
class remote_link {
 public:
  virtual ~remote_link() = default;

  /// Sends `msg` to the remote port `to`; never blocks. A message that cannot go is dropped
  /// and the transport fires the monitors of that node (no holes).
  virtual void send(const port_id& to, message msg) = 0;

  /// Kills the remote port `target` with `why`.
  virtual void kill(const port_id& target, const reason& why) = 0;

  /// The first local monitor on the remote `target` was added: watch it.
  virtual void watch(const port_id& target) = 0;

  /// The last local monitor on the remote `target` was removed.
  virtual void unwatch(const port_id& target) = 0;
};

}  // namespace coport
