#pragma once
/// \file
/// coport::registry — names for ports across the network (AEMP's grp_reg, grp_get,
/// grp_mon): the building block of process groups.
///
/// A name holds any number of ports, on any nodes; a port may hold many names. Every node
/// keeps a replica of the whole registry, so `get` answers at once, without a round trip.
/// Consistency: each node owns the entries of its own ports and sends their changes to
/// every linked node in the order it made them (per-owner ordered updates); when a link
/// comes up, each side sends the other a snapshot of its own entries (a registry made on a
/// node that is linked already sends its own and asks each linked node for theirs); a node
/// declared down loses its entries everywhere. Replicas are therefore eventually consistent across
/// owners: once links are stable, every node's `get` gives the same set; between two
/// owners' changes no order is promised. After a partition heals, the snapshots exchanged
/// on the new links make every replica converge again.
/// The owner of an entry is the node whose link brought it (`message::origin`, the node the
/// transport authenticated), never a value in the update: a node can add, remove or
/// replace entries of its own ports only, and only while it is linked.
/// The registry is a service port on the node (tag `coport.registry` of the node port); it
/// uses the runtime's public API and node events only.
/// Threading: thread-safe. Lifetime: create after the node, destroy before it; every node
/// of the network runs one. Destroying it frees its service tag at once (another registry
/// may be made on the node right away).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coport/node.hpp"

namespace coport {

/// The order the registry lists ports in, the same on every node: node ID, then local
/// number, then incarnation (port_id's own order uses numbers that differ between
/// processes).
struct port_order {
  bool operator()(const port_id& a, const port_id& b) const noexcept {
    if (auto c = a.node().compare(b.node()); c != 0) return c < 0;
    if (a.local() != b.local()) return a.local() < b.local();
    return a.incarnation() < b.incarnation();
  }
};

/// What a registry monitor is told: the ports under `name` now, and what changed.
struct registry_event {
  std::string name;
  std::vector<port_id> ports;    ///< in port_order
  std::vector<port_id> added;    ///< since the last event (all of `ports` in the first)
  std::vector<port_id> removed;  ///< since the last event
};

/// Figures of a node's replica (registry::stats).
struct registry_stats {
  std::size_t names = 0;     ///< names with at least one port
  std::size_t entries = 0;   ///< (name, port) pairs, every node's
  std::size_t nodes = 0;     ///< nodes with at least one entry (this one included)
  std::uint64_t updates = 0;  ///< changes applied to the replica since it started
};

/// A node's replica of the network's names.
class registry {
 public:
  explicit registry(node& n);
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// The longest name (bytes).
  static constexpr std::size_t max_name = 255;
  /// Entries one other node may hold in this replica: what a peer can make it keep (with
  /// names of max_name bytes, about 45 MB); beyond it the peer's additions are ignored and
  /// logged once.
  static constexpr std::size_t max_entries_per_node = 1 << 16;

  /// Registers the local `port` under `name` until the guard ends, or the port dies.
  /// Registering the same pair twice holds it until both guards end. Visible to `get` on
  /// this node at once, elsewhere when the update arrives. Throws std::invalid_argument for
  /// an empty or too long name, or a port of another node.
  subscription reg(std::string name, const port_id& port);
  /// The ports under `name` across the network (in port_order), from the local replica.
  std::vector<port_id> get(std::string_view name) const;
  /// Every registered name, from the local replica.
  std::vector<std::string> names() const;
  /// Calls `callback(const registry_event&)` with the ports under `name` now (even none),
  /// then at every change, in order: in the current port's context when made inside a
  /// port, else in the registry's own port. The guard ends it.
  subscription mon(std::string name, std::function<void(const registry_event&)> callback);

  /// The replica's figures now.
  registry_stats stats() const;
  /// True once node `node_id`'s entries are in this replica: its snapshot, which a node sends
  /// when a link to it comes up, has arrived (and the link has not gone down since). A client
  /// node that links to every node waits for this before it reads the whole network's names.
  bool has_entries_of(std::string_view node_id) const;

  /// The registry's service port.
  port_id port() const noexcept;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace coport
