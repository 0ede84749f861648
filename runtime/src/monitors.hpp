#pragma once
/// \file
/// detail::monitors — adding, cancelling and firing the node's monitors (`node::mon` and
/// everything built on it: spawn_monitor, cal's reply watch, serve's end).
///
/// A monitor on a local port is a record in that port's list (under the port's `mon_lock`),
/// fired once by the port's teardown; one on a port of another node goes to remote_ports.
/// A monitor on a port that is gone fires at once (posted) with `no_such_port`, or with
/// the reason its init failed, when inits remembers it.
/// Threading: thread-safe. Lifetime: owned by the node's core; guards hold the core.
/// May include: the runtime's public and detail headers, and the core's declaration only.

#include <cstdint>

#include "coport/detail/unique_function.hpp"
#include "coport/monitor.hpp"
#include "coport/reason.hpp"

namespace coport::detail {

class node_core;
struct monitor_record;
struct port_impl;

class monitors {
 public:
  explicit monitors(node_core& core) : core_{core} {}
  monitors(const monitors&) = delete;
  monitors& operator=(const monitors&) = delete;

  /// Adds a monitor to `target`: `action(why)` runs once, when it dies.
  monitor add(const port_id& target, unique_function<void(const reason&)> action);
  /// Cancels a monitor made by `add` (port null for a remote port).
  void cancel(port_impl* port, monitor_record* record, std::uint64_t serial,
              const port_id& remote_target) noexcept;
  /// Runs every action of `list` with `why` and frees the records (an action that throws
  /// is logged).
  void fire(monitor_record* list, const reason& why) noexcept;

 private:
  node_core& core_;
};

}  // namespace coport::detail
