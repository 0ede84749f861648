#pragma once
/// \file
/// service::state — what a node's groups share: the node, the registry, the agent, and the
/// table of the group roles (master or standby) this node holds.
/// Threading: `roles`, `promised`, `causal`, `joined` and `created` under `mutex`; the agent and
/// each role run in their own ports. Lifetime: owned by `groups`; ports hold it weakly or by
/// shared_ptr until they die. May include: protocol, coport/groups/groups.hpp, the runtime's public
/// headers, coport/internal (log, refusals); never the transport or network.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "coport/groups/groups.hpp"
#include "coport/internal/log.hpp"
#include "coport/internal/refusals.hpp"
#include "protocol.hpp"

namespace coport::groups {

namespace detail {
class agent;
class outbox;
}  // namespace detail

struct service::state : std::enable_shared_from_this<service::state> {
  state(node& n, registry& r) : owner{n}, names{r}, own_id{n.id()} {}

  node& owner;
  registry& names;
  const std::string own_id;
  port_id agent_port;
  /// The groups agent of node `node_id` (this node's, or another's: its node port 0).
  port_id agent_of(const std::string& node_id) const {
    return node_id == own_id ? agent_port : port_id{node_id, 0};
  }
  std::vector<subscription> services;
  /// This node's group sends until a master confirms them (outbox.hpp; set once, at start).
  std::shared_ptr<detail::outbox> outbox;

  /// A role this node holds for a group (master or standby): its port and epoch.
  struct role {
    port_id port;
    std::uint64_t epoch = 0;
    bool master = false;
  };
  mutable std::mutex mutex;
  std::map<std::string, role, std::less<>> roles;
  /// Every role port alive on this node (a group may have two for a moment: a master that
  /// steps down beside a newer master's standby): ended with the service.
  std::set<port_id> role_ports;
  std::set<std::string, std::less<>> causal;  ///< causal groups this node's agent knows
  /// Local ports that asked to join each group and have not left it (what `leave` checks):
  /// from `join` until `leave`, a refused join, or the agent applying their leave.
  struct joined_ports {
    std::set<port_id> ports;
    std::size_t pruned_at = 0;  ///< its size after the last pruning of dead ports
  };
  std::map<std::string, joined_ports, std::less<>> joined;
  /// Records that `member` asked to join `group` (under mutex). Ports that died without
  /// their leave reaching the agent are pruned when the set has doubled since the last
  /// pruning (amortised: a join stays O(log n)).
  void note_joined(std::string_view group, const port_id& member) {
    auto it = joined.find(group);
    if (it == joined.end()) it = joined.emplace(std::string{group}, joined_ports{}).first;
    auto& j = it->second;
    if (j.ports.size() >= 2 * j.pruned_at + 16) {
      std::erase_if(j.ports, [&](const port_id& p) { return !owner.alive(p); });
      j.pruned_at = j.ports.size();
    }
    j.ports.insert(member);
  }
  bool is_joined(std::string_view group, const port_id& member) const {
    auto it = joined.find(group);
    return it != joined.end() && it->second.ports.count(member) > 0;
  }
  /// Forgets that `member` joined `group` (under mutex).
  void forget_joined(std::string_view group, const port_id& member) {
    auto it = joined.find(group);
    if (it == joined.end()) return;
    it->second.ports.erase(member);
    if (it->second.ports.empty()) joined.erase(it);
  }
  /// Masters this node created on other nodes, until the registry brings their entries
  /// (such a master registers itself when its init runs there).
  std::map<std::string, port_id, std::less<>> created;

  /// Masters by group name as the registry has them, kept current by registry monitors, so
  /// that a send finds its master with one shared lock and no allocation (at most
  /// `directory_limit` names; others are looked up in the registry each time).
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct directory_entry {
    port_id master;
    subscription watch;
  };
  static constexpr std::size_t directory_limit = 1024;
  mutable std::shared_mutex directory_mutex;
  std::unordered_map<std::string, directory_entry, string_hash, std::equal_to<>> directory;
  std::atomic<std::size_t> causal_count{0};  ///< entries in `causal` (0: no lock needed)
  /// service_stats' counters (the agent's and the roles' ports add to them).
  std::atomic<std::uint64_t> delivered{0}, held_back{0}, takeovers{0};
  std::atomic<std::uint64_t> waited{0}, wait_failed{0};

  /// Joins and sends made while no master of their group is known here wait for the
  /// registry to name one (at most `wait`, service_options), in the order they were made:
  /// a send after them waits behind them (under mutex).
  struct waiting_group {
    std::deque<std::function<void(const port_id&)>> then;
    bool running = false;  ///< the queue is being run (a master came, or the time is up)
    port_id master;        ///< what it is being run with
    subscription watch;    ///< the registry's entry of the group
    timer limit;
    std::uint64_t generation = 0;  ///< which wait of this name (a late timer ignores others)
  };
  std::map<std::string, waiting_group, std::less<>> waiting;
  std::uint64_t waiting_generation = 0;
  std::size_t waiting_count = 0;
  /// waiting.size(), read without the lock: a send takes the lock only when some group waits.
  std::atomic<std::size_t> waiting_groups{0};
  node::duration wait{};
  std::size_t max_waiting = 0;

  /// The highest epoch a local role of `group` has, or this node promised (0: none).
  std::uint64_t local_epoch(std::string_view group) const {
    std::lock_guard lock{mutex};
    auto it = roles.find(group);
    auto p = promised.find(group);
    return std::max(it == roles.end() ? 0 : it->second.epoch, p == promised.end() ? 0 : p->second);
  }

  /// The registrations `create` made for masters here (a quorum master that steps down
  /// ends its own: the registry must stop naming it). Under mutex.
  std::map<std::string, std::pair<port_id, subscription>, std::less<>> create_regs;

  /// Quorum groups (group_options::quorum): the highest epoch this node promised to follow
  /// (a standby that started, or voted, at it); a role of an older epoch is no longer
  /// acknowledged here. Kept after the roles end, for max_promised groups at most.
  std::map<std::string, std::uint64_t, std::less<>> promised;
  static constexpr std::size_t max_promised = 1 << 14;
  /// True when this node promised an epoch of `group` (in this process).
  bool promised_here(std::string_view group) const {
    std::lock_guard lock{mutex};
    return promised.find(group) != promised.end();
  }
  /// Promises `epoch` for `group`: false when this node promised a newer one (or holds a
  /// newer role), or the table is full (under mutex).
  bool promise(std::string_view group, std::uint64_t epoch) {
    std::lock_guard lock{mutex};
    auto r = roles.find(group);
    if (r != roles.end() && r->second.epoch > epoch) return false;
    auto it = promised.find(group);
    if (it == promised.end()) {
      if (promised.size() >= max_promised) return false;
      promised.emplace(std::string{group}, epoch);
      return true;
    }
    if (it->second > epoch) return false;
    it->second = epoch;
    return true;
  }
};

namespace detail {

/// Starts the master role of `group` in the current port (the init of `master_init`).
void start_master(const std::shared_ptr<service::state>& st, std::string group, ordering order,
                  std::vector<std::string> standbys, std::uint64_t history, bool quorum);
/// Starts a standby role in the current port (the init of `standby_init`).
void start_standby(const std::shared_ptr<service::state>& st, std::string group, port_id master,
                   ordering order, std::uint64_t history, std::uint64_t epoch,
                   std::vector<std::string> homes, bool quorum);

/// Log lines of coport::groups: the shared template (coport/internal/log.hpp).
using coport::detail::info;
using coport::detail::warn;

/// What the master and the agent do with a message they do not take (coport/internal).
using coport::detail::refusals;

}  // namespace detail
}  // namespace coport::groups
