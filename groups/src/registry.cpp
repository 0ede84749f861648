// coport::registry — the local replica, its owners' updates, and its monitors
// (see registry.hpp for the consistency it gives).
//
// Every change to the replica, and every new monitor, is made under one mutex and posts, in
// that order, a job to the registry's port; the port alone tells monitors and other nodes.
// So each monitor sees events in the order the replica changed, and each node's updates
// leave it in the order it made them.
#include "coport/registry.hpp"

#include "coport/dispatch_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "coport/internal/log.hpp"
#include "coport/internal/refusals.hpp"
#include "coport/internal/service.hpp"

namespace coport {

namespace {

// The registry's protocol.
/// node -> node (through the node port's service coport.registry): a kind ("add", "remove",
/// "snapshot" of all the sender's entries, or "sync": send me yours), the owner as the
/// sender names it (ignored: the link names the owner), names, and their ports.
const message_type<std::string, std::string, std::vector<std::string>, std::vector<port_id>>
    update_msg{"coport.registry"};
/// Local only: a registered local port died (its monitor): the port, why.
const message_type<port_id, reason> died_msg{"coport.registry.died", local_only};
/// Local only: a deferred answer to a node's sync is due (a timer): the node.
const message_type<std::string> answer_msg{"coport.registry.answer", local_only};

/// A linked node's sync is answered at most once in this time; one that comes sooner is
/// answered when it ends (a peer cannot make this node send its entries without bound).
constexpr std::chrono::seconds sync_interval{1};

}  // namespace

struct registry::state : std::enable_shared_from_this<registry::state> {
  explicit state(node& n) : owner{n}, own_id{n.id()} {}

  struct watcher {
    std::string name;
    port_id context;  // null: the registry's port
    std::shared_ptr<std::function<void(const registry_event&)>> callback;
    std::uint64_t since;  // events with a higher serial are its business
  };

  node& owner;
  const std::string own_id;
  port_id self_port;
  subscription service, node_events;

  mutable std::mutex mutex;
  std::map<std::string, std::set<port_id, port_order>, std::less<>> by_name;
  std::map<std::string, std::set<std::pair<std::string, port_id>>, std::less<>> by_owner;
  std::map<std::pair<std::string, port_id>, int> local_counts;  // registrations held here
  std::map<port_id, monitor> deaths;                            // one per registered local port
  std::map<std::uint64_t, watcher> watchers;
  std::uint64_t serial = 0, next_watcher = 0;
  std::uint64_t changes = 0;                     // applied to the replica (registry_stats::updates)
  std::set<std::string, std::less<>> snapshots;  // linked nodes whose snapshot arrived
  bool warned_full = false;

  // The registry port's context only:
  std::set<std::string> up;
  struct answers {
    std::chrono::steady_clock::time_point last{};
    bool answered = false, due = false;
  };
  std::map<std::string, answers, std::less<>> synced;  // linked nodes that asked

  // -- the replica (under the mutex) ----------------------------------------------------

  std::vector<port_id> ports_of(std::string_view name) const {
    auto it = by_name.find(name);
    if (it == by_name.end()) return {};
    return {it->second.begin(), it->second.end()};
  }

  /// Adds or removes one entry of `node_id`; on a change, posts its event.
  bool change(const std::string& node_id, const std::string& name, const port_id& port, bool add) {
    auto& mine = by_owner[node_id];
    if (add && node_id != own_id && mine.size() >= max_entries_per_node) {
      if (!warned_full) {
        warned_full = true;
        detail::warn({"registry", own_id},
                     "node {} registers more than {} names; the rest are ignored", node_id,
                     max_entries_per_node);
      }
      return false;
    }
    if (add ? !mine.emplace(name, port).second : mine.erase({name, port}) == 0) return false;
    if (add) {
      by_name[name].insert(port);
    } else if (auto it = by_name.find(name); it != by_name.end()) {
      it->second.erase(port);
      if (it->second.empty()) by_name.erase(it);
    }
    if (mine.empty()) by_owner.erase(node_id);
    registry_event e;
    e.name = name;
    e.ports = ports_of(name);
    (add ? e.added : e.removed).push_back(port);
    ++changes;
    post_event(std::move(e));
    return true;
  }

  void post_event(registry_event e) {
    std::uint64_t s = ++serial;
    owner.peval(self_port, [weak = weak_from_this(), e = std::move(e), s] {
      if (auto self = weak.lock()) self->dispatch(e, s, 0);
    });
  }

  /// Tells the monitors of `e.name` (all since before `s`, or only watcher `only`).
  void dispatch(const registry_event& e, std::uint64_t s, std::uint64_t only) {
    std::vector<std::pair<port_id, std::shared_ptr<std::function<void(const registry_event&)>>>>
        due;
    {
      std::lock_guard lock{mutex};
      for (const auto& [id, w] : watchers) {
        if (only ? id == only : (w.name == e.name && w.since < s)) {
          due.emplace_back(w.context, w.callback);
        }
      }
    }
    for (auto& entry : due) {
      auto callback = entry.second;  // (a structured binding cannot be captured in C++20)
      if (!entry.first) {
        (*callback)(e);
      } else {
        owner.peval(entry.first, [callback, e] { (*callback)(e); });
      }
    }
  }

  /// Sends a local change to every linked node (posted under the mutex, so in order). The
  /// message still names this node as the owner (the format of earlier versions); receivers
  /// take the owner from the link.
  void post_update(const char* kind, const std::string& name, const port_id& port) {
    owner.peval(self_port, [weak = weak_from_this(), kind, name, port] {
      auto self = weak.lock();
      if (!self) return;
      for (const auto& id : self->up) {
        self->owner.snd(port_id{id, 0}, update_msg, std::string{kind}, self->own_id,
                        std::vector<std::string>{name}, std::vector<port_id>{port});
      }
    });
  }

  // -- the registry port's context ------------------------------------------------------

  /// What the registry's port takes; anything else is dropped and logged, rate-limited (not
  /// ours to fail on: another version, or a bad peer).
  void on_message(message& m) { refused.take(table, m); }

  dispatch_table table = make_table();
  coport::detail::refusals refused{"registry", own_id, "the registry", "the registry protocol"};
  dispatch_table make_table() {
    dispatch_table t;
    t.on(died_msg, [this](message&, port_id& port, reason&) { port_died(port); });
    t.on(answer_msg, [this](message&, std::string& id) { answer_due(id); });
    t.on(update_msg,
         [this](message& m, std::string& kind, std::string&, std::vector<std::string>& names,
                std::vector<port_id>& ports) { on_update(m.origin(), kind, names, ports); });
    return t;
  }

  void on_update(const port_id& origin, const std::string& kind,
                 const std::vector<std::string>& names, const std::vector<port_id>& ports) {
    // The owner is the node whose link brought the update (value 1, the owner a sender
    // names, is ignored: any linked node could name another). Local messages are never
    // updates: this node's own entries change only through reg.
    if (!origin) return;
    const std::string from{origin.node()};
    // Updates of a node that is not linked (any more) are stale: its entries went with it.
    if (from == own_id || !up.count(from) || names.size() != ports.size()) return;
    // A registry made on a node that was linked already asks for the entries it missed.
    if (kind == "sync") return answer_sync(from);
    std::set<std::pair<std::string, port_id>> given;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (ports[i].node_number() == origin.node_number() && !ports[i].is_node_port() &&
          !names[i].empty() && names[i].size() <= max_name) {
        given.emplace(names[i], ports[i]);
      }
    }
    {
      std::lock_guard lock{mutex};
      if (kind == "add" || kind == "remove") {
        for (const auto& [name, port] : given) change(from, name, port, kind == "add");
      } else if (kind == "snapshot") {
        snapshots.insert(from);
        std::set<std::pair<std::string, port_id>> before;
        if (auto it = by_owner.find(from); it != by_owner.end()) before = it->second;
        for (const auto& e : before) {
          if (!given.count(e)) change(from, e.first, e.second, false);
        }
        for (const auto& e : given) {
          if (!before.count(e)) change(from, e.first, e.second, true);
        }
      }
    }
  }

  /// Answers node `from`'s sync with this node's snapshot, now or when sync_interval since
  /// the last answer has passed.
  void answer_sync(const std::string& from) {
    auto& a = synced[from];
    if (a.due) return;
    auto now = owner.now();
    if (a.answered && now - a.last < sync_interval) {
      a.due = true;
      owner.after(sync_interval - (now - a.last), self_port, answer_msg, from);
      return;
    }
    a.answered = true;
    a.last = now;
    send_snapshot(from);
  }

  void answer_due(const std::string& id) {
    auto it = synced.find(id);
    if (it == synced.end() || !it->second.due) return;
    it->second.due = false;
    it->second.answered = true;
    it->second.last = owner.now();
    send_snapshot(id);
  }

  /// Sends this node's own entries to node `id` (a "snapshot").
  void send_snapshot(const std::string& id) {
    std::vector<std::string> names;
    std::vector<port_id> ports;
    {
      std::lock_guard lock{mutex};
      if (auto it = by_owner.find(own_id); it != by_owner.end()) {
        for (const auto& [name, port] : it->second) {
          names.push_back(name);
          ports.push_back(port);
        }
      }
    }
    owner.snd(port_id{id, 0}, update_msg, std::string{"snapshot"}, own_id, std::move(names),
              std::move(ports));
  }

  void node_event(const std::string& id, bool is_up) {
    if (is_up) {
      up.insert(id);
      send_snapshot(id);
      return;
    }
    up.erase(id);
    synced.erase(id);
    std::lock_guard lock{mutex};
    snapshots.erase(id);
    if (auto it = by_owner.find(id); it != by_owner.end()) {
      auto gone = it->second;
      for (const auto& [name, port] : gone) change(id, name, port, false);
    }
  }

  void port_died(const port_id& port) {
    monitor guard;  // released outside the lock
    std::lock_guard lock{mutex};
    for (auto it = local_counts.begin(); it != local_counts.end();) {
      if (it->first.second == port) {
        if (change(own_id, it->first.first, port, false)) {
          post_update("remove", it->first.first, port);
        }
        it = local_counts.erase(it);
      } else {
        ++it;
      }
    }
    if (auto it = deaths.find(port); it != deaths.end()) {
      guard = std::move(it->second);
      deaths.erase(it);
    }
  }

  void unregister(const std::string& name, const port_id& port) {
    monitor guard;
    std::lock_guard lock{mutex};
    auto it = local_counts.find({name, port});
    if (it == local_counts.end() || --it->second > 0) return;
    local_counts.erase(it);
    if (change(own_id, name, port, false)) post_update("remove", name, port);
    bool more = std::any_of(local_counts.begin(), local_counts.end(),
                            [&](const auto& e) { return e.first.second == port; });
    if (!more) {
      if (auto d = deaths.find(port); d != deaths.end()) {
        guard = std::move(d->second);
        deaths.erase(d);
      }
    }
  }

  void start() {
    node_events = owner.mon_nodes(
        [weak = weak_from_this()](const std::string& id, bool is_up, const reason&) {
          if (auto self = weak.lock()) self->node_event(id, is_up);
        });
    // Nodes linked before this registry was made sent their snapshots to no one: ask them.
    for (const auto& id : owner.up_nodes()) {
      if (!up.insert(id).second) continue;
      send_snapshot(id);
      owner.snd(port_id{id, 0}, update_msg, std::string{"sync"}, own_id, std::vector<std::string>{},
                std::vector<port_id>{});
    }
  }
};

registry::registry(node& n) : state_{std::make_shared<state>(n)} {
  detail::open_service(n, update_msg.tag(), state_);
}

registry::~registry() {
  detail::close_service(state_->owner, state_);
}

subscription registry::reg(std::string name, const port_id& port) {
  auto& s = *state_;
  if (name.empty() || name.size() > max_name) {
    throw std::invalid_argument{
        fmt::format("coport: registry::reg: a name needs 1 to {} bytes", max_name)};
  }
  if (!s.owner.is_local(port) || port.is_node_port()) {
    throw std::invalid_argument{fmt::format(
        "coport: registry::reg: {} is not a port of this node (a node registers its own ports)",
        port.to_string())};
  }
  {
    std::lock_guard lock{s.mutex};
    if (s.local_counts[{name, port}]++ == 0) {
      if (s.change(s.own_id, name, port, true)) s.post_update("add", name, port);
      if (!s.deaths.count(port)) {
        s.deaths.emplace(port, s.owner.mon(port, s.self_port, died_msg, port));
      }
    }
  }
  return subscription{[weak = std::weak_ptr<state>(state_), name = std::move(name), port] {
    if (auto self = weak.lock()) self->unregister(name, port);
  }};
}

std::vector<port_id> registry::get(std::string_view name) const {
  std::lock_guard lock{state_->mutex};
  return state_->ports_of(name);
}

std::vector<std::string> registry::names() const {
  std::lock_guard lock{state_->mutex};
  std::vector<std::string> out;
  for (const auto& [name, ports] : state_->by_name) out.push_back(name);
  return out;
}

bool registry::has_entries_of(std::string_view node_id) const {
  std::lock_guard lock{state_->mutex};
  return state_->snapshots.count(node_id) > 0;
}

registry_stats registry::stats() const {
  std::lock_guard lock{state_->mutex};
  registry_stats s;
  s.names = state_->by_name.size();
  for (const auto& [node_id, entries] : state_->by_owner) s.entries += entries.size();
  s.nodes = state_->by_owner.size();
  s.updates = state_->changes;
  return s;
}

subscription registry::mon(std::string name, std::function<void(const registry_event&)> callback) {
  if (!callback) throw std::invalid_argument{"coport: registry::mon: no callback"};
  auto& s = *state_;
  std::uint64_t id;
  {
    std::lock_guard lock{s.mutex};
    id = ++s.next_watcher;
    std::uint64_t since = ++s.serial;
    port_id context = in_port_context() ? self() : port_id{};
    s.watchers.emplace(
        id, state::watcher{
                name, context,
                std::make_shared<std::function<void(const registry_event&)>>(std::move(callback)),
                since});
    registry_event first;
    first.name = name;
    first.ports = s.ports_of(name);
    first.added = first.ports;
    s.owner.peval(s.self_port, [weak = std::weak_ptr<state>(state_), first = std::move(first), id] {
      if (auto self = weak.lock()) self->dispatch(first, 0, id);
    });
  }
  return subscription{[weak = std::weak_ptr<state>(state_), id] {
    if (auto self = weak.lock()) {
      std::lock_guard lock{self->mutex};
      self->watchers.erase(id);
    }
  }};
}

port_id registry::port() const noexcept {
  return state_->self_port;
}

}  // namespace coport
