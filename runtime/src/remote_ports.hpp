#pragma once
/// \file
/// detail::remote_ports — a node's side of every port on another node: the link to the
/// transport, messages, kills and spawns for remote ports, monitors on them, and what the
/// transport reports back (deaths, lost nodes). What happens to a message for another node
/// starts here and goes on in transport/src/peer.cpp.
///
/// Threading: thread-safe. The link pointer is read without a lock on every remote send;
/// monitors on remote ports are kept under one mutex, and the link's watch, unwatch and
/// spawn are called under it so that they reach the link in the order they were made.
/// Lifetime: part of node_core; links given to the node live as long as it.
/// May include: the runtime's public and detail headers (remote.hpp is the transport's seam),
/// port_impl; the core by declaration only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "coport/detail/message_block.hpp"
#include "coport/detail/unique_function.hpp"
#include "coport/monitor.hpp"
#include "coport/remote.hpp"
#include "monitors.hpp"
#include "port_impl.hpp"

namespace coport::detail {

class node_core;

/// Ports on other nodes, as this node sees them.
class remote_ports {
 public:
  explicit remote_ports(node_core& core, std::uint64_t mint_start) noexcept
      : core_{core}, minted_next_{mint_start} {}

  /// The transport, or null.
  remote_link* link() const noexcept { return link_.load(std::memory_order_acquire); }
  /// Plugs a transport in (null unplugs; the old one stays alive).
  void set_link(std::shared_ptr<remote_link> link);

  /// Sends a message block to `to`, a port of another node; takes ownership. Without a
  /// transport the message is dropped and counted.
  void send(const port_id& to, message_block* n) noexcept;
  /// Kills the remote `port`.
  void kill(const port_id& port, const reason& why);
  /// Adds a monitor on the remote `target`. With `before_watch` (a spawn_monitor), that is
  /// called under the lock instead of the link's watch and may rewrite `target`.
  monitor add_monitor(port_id& target, unique_function<void(const reason&)> action,
                      unique_function<port_id()> before_watch);
  /// Cancels a monitor that add_monitor made.
  void cancel_monitor(monitor_record* record, std::uint64_t serial, const port_id& target) noexcept;
  /// The transport says `port` died (or lost messages): fires its monitors here. `after`
  /// (may be empty) is posted once they have all run, deferred parts included (fire_hold).
  bool port_died(const port_id& port, const reason& why, unique_function<void()> after = {});
  /// The transport lost the node: fires every monitor on its ports; `after` as above.
  void node_lost(std::uint32_t node_number, const reason& why,
                 unique_function<void()> after = {});

  /// A fresh local number for a port this node spawns on another node (minted_bit set).
  std::uint64_t mint_local() noexcept;

 private:
  std::shared_ptr<fire_hold> hold_for(unique_function<void()> after);

  node_core& core_;
  std::atomic<remote_link*> link_{nullptr};
  std::atomic<std::uint64_t> minted_next_;
  std::mutex mutex_;  // guards links_, monitors_, serial_
  std::vector<std::shared_ptr<remote_link>> links_;
  std::unordered_map<port_id, monitor_list> monitors_;
  std::uint64_t serial_ = 0;
};

}  // namespace coport::detail
