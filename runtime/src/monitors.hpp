#pragma once
/// \file
/// detail::monitors — adding, cancelling and firing the node's monitors (`node::mon` and
/// everything built on it: spawn_monitor, cal's reply watch, serve's end).
///
/// A monitor on a local port is a record in that port's list (under the port's `mon_lock`),
/// fired once by the port's teardown; one on a port of another node goes to remote_ports.
/// A monitor on a port that is gone fires at once (posted) with `no_such_port`, or with
/// the reason its init failed, when inits remembers it.
///
/// No holes (README): after a loss the transport lets a sender's messages through again
/// only once the monitors that the loss fired have *run* — also a callback bound to a busy
/// port's context, which runs later in that port. `fire` takes a `fire_hold` for that: the
/// action and every job it defers (node::bind_to_context) hold it, and when the last holder
/// is gone (run, or dropped with its port) the hold's `after` is posted as a job of the node.
/// Threading: thread-safe. Lifetime: owned by the node's core; guards hold the core.
/// May include: the runtime's public and detail headers, and the core's declaration only.

#include <cstdint>
#include <memory>

#include "coport/detail/unique_function.hpp"
#include "coport/monitor.hpp"
#include "coport/reason.hpp"

namespace coport::detail {

class node_core;
struct monitor_record;
struct port_impl;

/// Shared by the actions one loss fired and the jobs they deferred; the last one to let go
/// posts `after` to the node (not called at all once the node is gone).
class fire_hold {
 public:
  fire_hold(std::weak_ptr<node_core> core, unique_function<void()> after) noexcept
      : core_{std::move(core)}, after_{std::move(after)} {}
  fire_hold(const fire_hold&) = delete;
  fire_hold& operator=(const fire_hold&) = delete;
  ~fire_hold();

 private:
  std::weak_ptr<node_core> core_;
  unique_function<void()> after_;
};

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
  /// is logged). While an action runs, `deferred_hold()` returns `hold`.
  void fire(monitor_record* list, const reason& why,
            const std::shared_ptr<fire_hold>& hold = {}) noexcept;
  /// Inside an action that `fire` runs: the hold that a job it defers must keep until it has
  /// run (null when nothing waits for the action, and outside actions).
  static std::shared_ptr<fire_hold> deferred_hold() noexcept;

 private:
  node_core& core_;
};

}  // namespace coport::detail
