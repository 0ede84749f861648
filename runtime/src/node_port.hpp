#pragma once
/// \file
/// detail::node_port — what the node port (the bare node ID, local number 0) does with a
/// message: answers `ping` and `info` (as `cal` requests: the reply port comes last; answers
/// go only to a port of the requesting node), a `cal` no service takes with `badrpc`, hands
/// a tag some local port serves (`node::serve`) to that port, and logs anything else. It
/// never dies of a bad request.
/// Threading: thread-safe; `on_message` runs in the node port's context. Lifetime: owned by
/// the node's core, which it uses to send and to read the node's figures.
/// May include: the runtime's public and detail headers, and the core's declaration only.

#include <mutex>
#include <unordered_map>

#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/tag.hpp"

namespace coport::detail {

class node_core;

class node_port {
 public:
  explicit node_port(node_core& core) : core_{core} {}
  node_port(const node_port&) = delete;
  node_port& operator=(const node_port&) = delete;

  /// node::serve: `port` serves tag `t` of the node port (false when taken).
  bool add_service(tag t, const port_id& port);
  /// Ends it, when `port` still serves `t`.
  void remove_service(tag t, const port_id& port) noexcept;
  /// The port that serves `t` (null: none). A link hands such a message to it directly.
  port_id service_for(tag t) const;
  /// The node port's handler.
  void on_message(message& m);

 private:
  node_core& core_;
  mutable std::mutex mutex_;
  std::unordered_map<tag, port_id> services_;  // node-port tags served by local ports
};

}  // namespace coport::detail
