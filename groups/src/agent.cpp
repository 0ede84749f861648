// The groups agent of a node: sequence order, gaps, local delivery, causal stamps.
#include "agent.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "outbox.hpp"

namespace coport::groups::detail {

namespace {
constexpr std::uint64_t nothing_needed = std::numeric_limits<std::uint64_t>::max();
}  // namespace

namespace {
/// True when a message with origin `origin` (null: this node) came from the node of `p`.
bool from_node_of(const port_id& origin, const port_id& p, const node& n) {
  return origin ? origin.node_number() == p.node_number() : n.is_local(p);
}
/// What a causal message weighs, roughly (as item_weight for an item).
template <class Causal>
std::size_t causal_weight(const Causal& cm) {
  return sizeof(Causal) + cm.payload.packed_size() + cm.vt.size() * 64;
}
}  // namespace

// -- the protocol: what the agent takes, from whom (protocol.hpp declares each message) ----

agent::agent(std::shared_ptr<service::state> st)
    : st_{std::move(st)},
      n_{st_->owner},
      refused_{"groups", n_.id(), "groups agent", "the groups protocol"} {
  // From the node of the master each item names, at an epoch check_master trusts.
  table_.on(deliver_msg, [this](message& m, std::string& name, std::uint64_t& epoch,
                                port_id& master, std::uint8_t& order, item& it) {
    if (order > 1) return;
    if (!from_node_of(m.origin(), master, n_)) return refuse(m, "it names a master elsewhere");
    switch (check_master(name, epoch, master)) {
      case trust::take:
        return on_deliver(name, epoch, master, static_cast<ordering>(order), std::move(it));
      case trust::wait:
        return hold(name, m);
      case trust::drop:
        return refuse(m, "its master is not the group's (or its epoch jumps)");
    }
  });
  table_.on(sync_msg, [this](message& m, std::string& name, std::uint64_t& epoch, port_id& master,
                             std::uint8_t& order, std::uint64_t& last) {
    if (order > 1) return;
    if (!from_node_of(m.origin(), master, n_)) return refuse(m, "it names a master elsewhere");
    // (A sync of a group not followed here is only answered: to that master.)
    switch (groups_.count(name) ? check_master(name, epoch, master) : trust::take) {
      case trust::take:
        return on_sync(name, epoch, master, static_cast<ordering>(order), last);
      case trust::wait:
        return hold(name, m);
      case trust::drop:
        return refuse(m, "its master is not the group's (or its epoch jumps)");
    }
  });
  // A quorum group's new standby asks what this node promised (it may have restarted and
  // forgotten its own promise): answered to that standby, on the node that asks.
  table_.on(epoch_ask_msg, [this](message& m, std::string& name, port_id& standby) {
    if (!from_node_of(m.origin(), standby, n_)) return refuse(m, "it names a standby elsewhere");
    n_.snd(standby, epoch_told_msg, name, st_->local_epoch(name));
  });
  // A quorum group's candidate asks this node's role of the group for its vote.
  table_.on(vote_msg, [this](message& m, std::string& name, std::uint64_t& epoch,
                             std::uint64_t& log_epoch, std::uint64_t& last, port_id& candidate) {
    if (!from_node_of(m.origin(), candidate, n_))
      return refuse(m, "it names a candidate elsewhere");
    port_id role;
    {
      std::lock_guard lock{st_->mutex};
      if (auto it = st_->roles.find(name); it != st_->roles.end()) role = it->second.port;
    }
    if (role) n_.snd(role, local_vote_msg, epoch, log_epoch, last, candidate);
  });
  table_.on(lost_msg,
            [this](message& m, std::string& name, std::uint64_t& epoch, std::uint64_t& seq) {
              auto g = groups_.find(name);
              if (g == groups_.end()) return;
              // Only the followed master, at its epoch, says what it no longer has.
              if (epoch != g->second.epoch || !from_node_of(m.origin(), g->second.master, n_)) {
                return refuse(m, "it is not from the group's master");
              }
              on_lost(name, seq);
            });
  // A node stamps and sends only its own members' messages.
  table_.on(cdeliver_msg, [this](message& m, std::string& name, std::uint64_t& view, stamp& vt,
                                 port_id& from, bool& except, envelope& e) {
    if (!from_node_of(m.origin(), from, n_)) return refuse(m, "its sender is on another node");
    on_cdeliver(name, causal_message{view, std::move(vt), from, except, std::move(e)});
  });
  // Local only: this node's API, monitors and timers.
  table_.on(csend_msg, [this](message&, std::string& name, port_id& from, bool& except,
                              envelope& e) { on_csend(name, from, except, std::move(e)); });
  // This node's sends (outbox.hpp): confirmations from the master they went to (checked
  // there), and its monitors and timers.
  table_.on(ordered_msg, [this](message& m, std::string& name, std::uint64_t& seq) {
    st_->outbox->on_ordered(m.origin(), name, seq);
  });
  table_.on(refused_msg, [this](message& m, std::string& name, std::uint64_t& seq) {
    st_->outbox->on_refused(m.origin(), name, seq);
  });
  table_.on(sent_to_died_msg,
            [this](message&, std::string& name, port_id& master, std::uint64_t& watch,
                   reason& why) { st_->outbox->on_sent_to_died(name, master, watch, why); });
  table_.on(outbox_retry_msg,
            [this](message&, std::string& name, port_id& master, std::uint64_t& watch) {
              st_->outbox->on_retry(name, master, watch);
            });
  table_.on(send_due_msg, [this](message&, std::uint64_t&) { st_->outbox->on_due(); });
  table_.on(resend_due_msg, [this](message&, std::string& name, std::uint64_t& token) {
    on_resend_due(name, token);
  });
  table_.on(master_died_msg, [this](message&, std::string& name, port_id& master, reason& why) {
    on_master_died(name, master, why);
  });
  table_.on(recheck_msg, [this](message&, std::string& name, port_id& master, std::uint64_t& loss,
                                reason& why) { on_recheck(name, master, loss, why); });
  table_.on(created_died_msg, [this](message&, std::string& name, port_id& master, reason&) {
    // A master this node created on another node died: forget it.
    std::lock_guard lock{st_->mutex};
    if (auto c = st_->created.find(name); c != st_->created.end() && c->second == master) {
      st_->created.erase(c);
    }
  });
  table_.on(unconfirmed_msg, [this](message&, std::string& name) {
    // Held items whose master the registry did not name in time: dropped.
    if (auto u = unconfirmed_.find(name); u != unconfirmed_.end()) {
      if (!u->second.held.empty()) {
        warn({"groups", n_.id()},
             "group {}: {} items from a master the registry does not name are dropped", u->first,
             u->second.held.size());
      }
      unconfirmed_bytes_ -= std::min(unconfirmed_bytes_, u->second.bytes);
      unconfirmed_.erase(u);
    }
  });
}

void agent::start() {
  node_events_ = n_.mon_nodes([this](const std::string& id, bool up, const reason&) {
    if (up) on_node_up(id);
  });
}

void agent::on_message(message& m) {
  refused_.take(table_, m);
}
// -- whose order is taken ---------------------------------------------------------------------

agent::trust agent::check_master(const std::string& name, std::uint64_t epoch,
                                 const port_id& master) {
  auto pos = groups_.find(name);
  if (pos != groups_.end()) {
    const group& g = pos->second;
    if (epoch < g.epoch) return trust::take;  // an old master's: fenced in on_deliver/on_sync
    if (master == g.master && epoch == g.epoch) return trust::take;
    // Another master, or the one followed at a newer epoch (a quorum group's master that
    // stepped down and was elected again): only of a newer epoch, one step or a few, that
    // the registry names.
    if (epoch == g.epoch || epoch - g.epoch > max_epoch_step) return trust::drop;
  } else if (master.is_null()) {
    return trust::drop;
  }
  return named(name, master) ? trust::take : trust::wait;
}

bool agent::named(const std::string& name, const port_id& master) const {
  auto ports = st_->names.get(registry_name(name));
  if (std::find(ports.begin(), ports.end(), master) != ports.end()) return true;
  std::lock_guard lock{st_->mutex};
  auto c = st_->created.find(name);
  return c != st_->created.end() && c->second == master;
}

void agent::hold(const std::string& name, message& m) {
  // (A peer may name masters of its own for any group: what waits is bounded by weight too.)
  std::size_t weight = sizeof(message) + name.size();
  if (m.is<std::string, std::uint64_t, port_id, std::uint8_t, item>()) {
    weight += item_weight(m.get<item>(4));
  }
  if (unconfirmed_bytes_ + weight > max_unconfirmed_bytes) {
    return refuse(m, "too much waits for the registry to name its master");
  }
  auto u = unconfirmed_.find(name);
  if (u == unconfirmed_.end()) {
    if (unconfirmed_.size() >= max_unconfirmed_groups) {
      return refuse(m, "too many groups wait for the registry to name their master");
    }
    u = unconfirmed_.emplace(name, unconfirmed{}).first;
    // Made in the agent's port: the callback runs here (and ends with `watch`).
    u->second.watch = st_->names.mon(registry_name(name),
                                     [this, name](const auto& e) { on_named(name, e.ports); });
    n_.after(hold_time, st_->agent_port, unconfirmed_msg, name);
  }
  if (u->second.held.size() >= max_unconfirmed_items) {
    return refuse(m, "too many items wait for the registry to name their master");
  }
  u->second.held.push_back(std::move(m));
  u->second.bytes += weight;
  unconfirmed_bytes_ += weight;
}

void agent::on_named(const std::string& name, const std::vector<port_id>& ports) {
  auto u = unconfirmed_.find(name);
  if (u == unconfirmed_.end() || ports.empty()) return;
  // Every held item is looked at again, in arrival order (those whose master is still not
  // named are held again).
  std::deque<message> held = std::move(u->second.held);
  u->second.held.clear();
  unconfirmed_bytes_ -= std::min(unconfirmed_bytes_, u->second.bytes);
  u->second.bytes = 0;
  for (auto& m : held) on_message(m);
  u = unconfirmed_.find(name);
  if (u != unconfirmed_.end() && u->second.held.empty()) unconfirmed_.erase(u);
}

void agent::refuse(const message& m, const char* why) {
  refused_.note(m, why);
}

// -- the ordered stream -----------------------------------------------------------------------

void agent::on_deliver(const std::string& name, std::uint64_t epoch, const port_id& master,
                       ordering order, item it) {
  auto pos = groups_.find(name);
  if (pos == groups_.end()) {
    // A node starts following a group with the join of its first local member.
    if (it.kind != item_kind::join || !n_.is_local(it.port) || it.seq == 0) return;
    group g;
    g.epoch = epoch;
    g.last = it.seq - 1;
    g.order = order;
    pos = groups_.emplace(name, std::move(g)).first;
    follow(name, pos->second, master);
    if (order == ordering::causal) {
      std::lock_guard lock{st_->mutex};
      st_->causal.insert(name);
      st_->causal_count = st_->causal.size();
    }
  }
  group& g = pos->second;
  if (epoch < g.epoch) return;  // an old master's: fenced here
  if (epoch > g.epoch) {
    g.epoch = epoch;
    g.held.clear();
    g.held_bytes = 0;
    follow(name, g, master);
    // A newer master followed from one of its items, not a sync: what it released before
    // may have been refused here (while the registry did not name it), and with nothing
    // after it no gap would show it. Asked for once (duplicates are dropped below).
    ask(name, g);
  }
  if (it.seq <= g.last) return;  // had it (a resend)
  if (it.seq > g.last + 1) {
    const std::size_t weight = item_weight(it);
    if (g.held.size() >= max_pending || g.held_bytes + weight > max_held_bytes) {
      warn({"groups", n_.id()},
           "group {}: {} items ({} bytes) held past a gap at {}; the members here leave", name,
           g.held.size(), g.held_bytes, g.last + 1);
      forget(name, reason{"lost_messages"});
      return;
    }
    if (g.held.emplace(it.seq, std::move(it)).second) {
      g.held_bytes += weight;
      st_->held_back.fetch_add(1, std::memory_order_relaxed);
    }
    if (!g.asked) ask(name, g);
    return;
  }
  apply(name, g, it);
  for (;;) {
    pos = groups_.find(name);
    if (pos == groups_.end()) return;  // the last local member left
    group& h = pos->second;
    auto next = h.held.begin();
    if (next == h.held.end()) {
      if (!h.unanswered) h.asked = false;  // (an ask not answered yet is made again)
      return;
    }
    if (next->first > h.last + 1) return;
    h.held_bytes -= std::min(h.held_bytes, item_weight(next->second));
    item held = std::move(next->second);
    h.held.erase(next);
    if (held.seq == h.last + 1) apply(name, h, held);
  }
}

void agent::apply(const std::string& name, group& g, item& it) {
  g.last = it.seq;
  switch (it.kind) {
    case item_kind::message:
      // (In a causal group, what the master orders is a send from a node without members.)
      hand_out(name, g, it.port, it.flag, it.payload);
      return;
    case item_kind::join: {
      g.view = std::move(it.members);
      g.view_id = it.seq;
      for (const auto& l : g.locals) {
        if (l.notify && l.port != it.port) n_.snd(l.port, new_member_tag(), name, it.port);
      }
      if (n_.is_local(it.port) && std::none_of(g.locals.begin(), g.locals.end(),
                                               [&](const local& l) { return l.port == it.port; })) {
        g.locals.push_back(local{it.port, it.flag});
        // What the master ordered is what counts (a join whose reply was lost, or a join
        // asked again after a leave that was applied only now).
        std::lock_guard lock{st_->mutex};
        st_->note_joined(name, it.port);
      }
      break;
    }
    case item_kind::leave: {
      auto v = std::find(g.view.begin(), g.view.end(), it.port);
      if (v != g.view.end()) g.view.erase(v);
      // Told: the members that asked, and the one that leaves unless it left by itself.
      for (const auto& l : g.locals) {
        if (l.notify || (l.port == it.port && !it.why.normal())) {
          n_.snd(l.port, member_left_tag(), name, it.port, it.why);
        }
      }
      auto l = std::find_if(g.locals.begin(), g.locals.end(),
                            [&](const local& x) { return x.port == it.port; });
      if (l != g.locals.end()) {
        g.locals.erase(l);
        std::lock_guard lock{st_->mutex};
        st_->forget_joined(name, it.port);
      }
      g.view_id = it.seq;
      if (g.locals.empty()) {
        groups_.erase(name);
        std::lock_guard lock{st_->mutex};
        st_->causal.erase(name);
        st_->causal_count = st_->causal.size();
        return;
      }
      break;
    }
  }
  if (g.order == ordering::causal) {
    // A new view: messages stamped in the old one are delivered now, in arrival order (ISIS
    // would flush them first), and stamps start again.
    std::deque<causal_message> keep;
    g.waiting_bytes = 0;
    for (auto& cm : g.waiting) {
      if (cm.view < g.view_id) {
        hand_out(name, g, cm.from, cm.except, cm.payload);
      } else {
        g.waiting_bytes += causal_weight(cm);
        keep.push_back(std::move(cm));
      }
    }
    g.waiting = std::move(keep);
    g.delivered.clear();
    g.sent.clear();
    drain_causal(name, g);
  }
}

void agent::hand_out(const std::string& name, group& g, const port_id& from, bool except,
                     envelope& e) {
  // No list is built: the members are counted, then sent to (this runs per message).
  auto wanted = [&](const local& l) { return !(except && l.port == from); };
  const local* last = nullptr;
  std::size_t count = 0;
  for (const auto& l : g.locals) {
    if (wanted(l)) last = &l, ++count;
  }
  if (count == 0) return;
  st_->delivered.fetch_add(count, std::memory_order_relaxed);
  try {
    // Live (from this node): moved out, copied for the others. Packed: decoded once, and
    // again per member only when the decoded values cannot be copied.
    message m = count > 1 && e.packed() ? e.open_copy() : std::move(e).open();
    for (const auto& l : g.locals) {
      if (&l == last) break;
      if (wanted(l)) n_.snd(l.port, m.copyable() ? m.copy() : e.open_copy());
    }
    n_.snd(last->port, std::move(m));
  } catch (const std::exception& ex) {
    warn({"groups", n_.id()}, "group {}: a message from {} cannot be delivered here: {}", name,
         from.to_string(), ex.what());
  }
}

void agent::on_sync(const std::string& name, std::uint64_t epoch, const port_id& master, ordering,
                    std::uint64_t) {
  auto pos = groups_.find(name);
  if (pos == groups_.end()) {
    n_.snd(master, synced_msg, epoch, nothing_needed, st_->own_id);
    return;
  }
  group& g = pos->second;
  if (epoch < g.epoch) {
    // A master that was cut off asks before it releases again: it is fenced.
    n_.snd(master, fenced_msg, g.epoch);
    return;
  }
  if (epoch > g.epoch) {
    g.epoch = epoch;
    g.held.clear();
    g.held_bytes = 0;
  }
  g.asked = false;
  g.unanswered = false;
  follow(name, g, master);
  n_.snd(master, synced_msg, epoch, g.last, st_->own_id);
}

void agent::on_lost(const std::string& name, std::uint64_t seq) {
  warn({"groups", n_.id()},
       "group {}: item {} is lost (no longer in the master's history); the members here "
       "leave",
       name, seq);
  forget(name, reason{"lost_messages"});
}

void agent::ask(const std::string& name, group& g) {
  g.asked = true;
  g.unanswered = true;
  if (g.last != g.asked_at) g.asks = 0, g.asked_at = g.last;
  ++g.asks;
  n_.snd(g.master, resend_msg, g.epoch, g.last, st_->own_id);
  n_.after(resend_retry, st_->agent_port, resend_due_msg, name, ++g.ask_token);
}

void agent::on_resend_due(const std::string& name, std::uint64_t token) {
  auto pos = groups_.find(name);
  if (pos == groups_.end()) return;
  group& g = pos->second;
  if (!g.asked || token != g.ask_token) return;  // asked again since
  if (g.held.empty() && !g.unanswered) {
    g.asked = false;  // answered, and nothing waits past a gap
    return;
  }
  if (g.last == g.asked_at && g.asks >= resend_attempts) {
    warn({"groups", n_.id()},
         "group {}: the master did not send item {} in {} asks; the members here leave", name,
         g.last + 1, g.asks);
    forget(name, reason{"lost_messages"});
    return;
  }
  ask(name, g);
}

void agent::follow(const std::string& name, group& g, const port_id& master) {
  if (g.master == master) return;
  g.master = master;
  g.link_lost = false;
  g.renamed.cancel();
  g.asks = 0;  // (a new master gets its own ten asks)
  g.master_watch = n_.mon(master, st_->agent_port, master_died_msg, name, master);
}

void agent::on_master_died(const std::string& name, const port_id& master, const reason& why) {
  auto pos = groups_.find(name);
  if (pos == groups_.end() || pos->second.master != master) return;
  if (why.normal() || why.kind() == "fenced" || why.kind() == "already_created") {
    forget(name, why.normal() ? reason{"group_ended"} : why);
    return;
  }
  // Its node may be gone: a standby takes over and syncs this agent within a node timeout;
  // if none does, the group is gone. Asks wait meanwhile (the recheck asks again).
  group& g = pos->second;
  g.asked = g.unanswered = false;
  ++g.ask_token;
  // Looked at again early only once the master's node went down and came up again: a
  // send refused while the link lives (a full queue) also fires the watch, and watching
  // again at once would go round as fast as messages move.
  g.link_lost = why.kind() == "transport_error";
  g.came_up = false;
  if (g.link_lost) {
    // (Made in the agent's port: the callback runs here, first with what is named now.)
    g.renamed = st_->names.mon(registry_name(name), [this, name](const registry_event&) {
      auto it = groups_.find(name);
      if (it != groups_.end() && it->second.link_lost && it->second.came_up) {
        watch_again(name, it->second);
      }
    });
  }
  n_.after(std::chrono::seconds{10}, st_->agent_port, recheck_msg, name, master, ++g.losses, why);
}

void agent::on_recheck(const std::string& name, const port_id& master, std::uint64_t loss,
                       const reason& why) {
  // A master died abnormally a while ago: if no successor came, the group is gone, unless
  // only a link to it was lost: a master the registry names, on a node that is up again,
  // is watched anew and asked for what this node missed (a member it removed meanwhile
  // learns it from the leave).
  auto pos = groups_.find(name);
  if (pos == groups_.end() || pos->second.master != master || pos->second.losses != loss) return;
  group& g = pos->second;
  if (why.kind() == "transport_error" && !g.link_lost) return;  // watched again since
  if (why.kind() == "transport_error" && watch_again(name, g)) return;
  forget(name, why);
}

void agent::on_node_up(const std::string& id) {
  // The node of a master lost with its link is back: what was released meanwhile (or a
  // leave of a member here) may have been lost with the link, and nothing after it would
  // show a gap. Watched anew and asked now, not at the recheck.
  std::vector<std::string> names;
  for (auto& [name, g] : groups_) {
    if (g.link_lost && g.master.node() == id) {
      g.came_up = true;
      names.push_back(name);
    }
  }
  for (const auto& name : names) {
    if (auto pos = groups_.find(name); pos != groups_.end()) watch_again(name, pos->second);
  }
}

bool agent::watch_again(const std::string& name, group& g) {
  auto up = n_.up_nodes();
  if (!named(name, g.master) || std::find(up.begin(), up.end(), g.master.node()) == up.end()) {
    return false;
  }
  g.link_lost = false;
  g.renamed.cancel();
  g.master_watch = n_.mon(g.master, st_->agent_port, master_died_msg, name, g.master);
  ask(name, g);
  return true;
}

void agent::forget(const std::string& name, const reason& why) {
  auto pos = groups_.find(name);
  if (pos == groups_.end()) return;
  group gone = std::move(pos->second);  // destroyed (with what it holds) outside the lock
  groups_.erase(pos);
  for (const auto& l : gone.locals) {
    n_.snd(l.port, member_left_tag(), name, l.port, why);
    n_.snd(gone.master, leave_msg, l.port);
  }
  std::lock_guard lock{st_->mutex};
  for (const auto& l : gone.locals) st_->forget_joined(name, l.port);
  st_->causal.erase(name);
  st_->causal_count = st_->causal.size();
}

// -- causal groups ----------------------------------------------------------------------------

void agent::on_csend(const std::string& name, const port_id& from, bool except, envelope e) {
  auto pos = groups_.find(name);
  if (pos == groups_.end() || pos->second.order != ordering::causal) {
    warn({"groups", n_.id()}, "group {}: a causal send from {} that is no member here is dropped",
         name, from.to_string());
    return;
  }
  group& g = pos->second;
  stamp vt = g.delivered;
  auto d = g.delivered.find(from);
  std::uint64_t& sent = g.sent[from];
  sent = std::max(sent, d == g.delivered.end() ? 0 : d->second) + 1;
  vt[from] = sent;
  std::set<std::string> nodes;
  for (const auto& p : g.view) nodes.emplace(p.node());
  if (nodes.size() > 1 || (nodes.size() == 1 && *nodes.begin() != st_->own_id)) e.pack();
  for (const auto& id : nodes) {
    port_id to = id == st_->own_id ? st_->agent_port : port_id{id, 0};
    n_.snd(to, cdeliver_msg, name, g.view_id, vt, from, except, e);
  }
}

void agent::on_cdeliver(const std::string& name, causal_message cm) {
  auto pos = groups_.find(name);
  if (pos == groups_.end() || pos->second.order != ordering::causal) return;
  group& g = pos->second;
  if (cm.vt.size() > max_stamp || !cm.vt.count(cm.from)) {
    warn({"groups", n_.id()}, "group {}: a causal message with a malformed stamp is dropped", name);
    return;
  }
  if (cm.view < g.view_id) {
    hand_out(name, g, cm.from, cm.except, cm.payload);  // stamped in an older view
    return;
  }
  const std::size_t weight = causal_weight(cm);
  if (g.waiting.size() >= max_pending || g.waiting_bytes + weight > max_held_bytes) {
    warn({"groups", n_.id()},
         "group {}: {} causal messages ({} bytes) wait; the members here leave", name,
         g.waiting.size(), g.waiting_bytes);
    forget(name, reason{"lost_messages"});
    return;
  }
  g.waiting.push_back(std::move(cm));
  g.waiting_bytes += weight;
  drain_causal(name, g);
}

bool agent::deliverable(const group& g, const causal_message& cm) const {
  if (cm.view != g.view_id) return false;
  for (const auto& [sender, count] : cm.vt) {
    auto d = g.delivered.find(sender);
    std::uint64_t have = d == g.delivered.end() ? 0 : d->second;
    if (sender == cm.from ? count != have + 1 : count > have) return false;
  }
  return true;
}

void agent::drain_causal(const std::string& name, group& g) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto it = g.waiting.begin(); it != g.waiting.end(); ++it) {
      if (!deliverable(g, *it)) continue;
      g.waiting_bytes -= std::min(g.waiting_bytes, causal_weight(*it));
      causal_message cm = std::move(*it);
      g.waiting.erase(it);
      g.delivered[cm.from] = cm.vt[cm.from];
      hand_out(name, g, cm.from, cm.except, cm.payload);
      progress = true;
      break;
    }
  }
}

}  // namespace coport::groups::detail
