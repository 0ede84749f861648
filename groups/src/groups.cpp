// coport::groups — the API: creating groups, joining, leaving, routing sends to a master
// (or, for causal groups, to this node's agent), and the node's agent and inits.
#include "coport/groups/groups.hpp"

#include <algorithm>

#include "agent.hpp"
#include "outbox.hpp"
#include "state.hpp"

namespace coport::groups {

const char* describe(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::no_such_group:
      return "no such group";
    case errc::already_created:
      return "the group exists already";
    case errc::already_member:
      return "the port is a member already";
    case errc::not_a_member:
      return "the port is not a member";
    case errc::not_in_port:
      return "not called inside a port";
    case errc::too_many_unconfirmed:
      return "too many sends of this node wait for their master's confirmation";
    case errc::bad_argument:
      return "bad argument (an empty or too long name, a null port, another node's port, or values "
             "that cannot be copied)";
  }
  return "unknown";
}

namespace {

void join_at(const std::shared_ptr<service::state>& st, const port_id& m, std::string_view name,
             const port_id& member, std::function<void(join_result)> done, join_options options);

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= service::max_name;
}

/// The master under `name` in the local replica (the last in port order when two are
/// registered for a moment: a healed partition, the other is fenced as they meet), else one
/// this node created that has not registered yet.
port_id lookup_master(service::state& st, std::string_view name) {
  auto ports = st.names.get(detail::registry_name(name));
  if (!ports.empty()) return ports.back();
  std::lock_guard lock{st.mutex};
  auto it = st.created.find(name);
  return it == st.created.end() ? port_id{} : it->second;
}

/// lookup_master through the directory: the first lookup of a name starts a registry
/// monitor that keeps its entry current.
port_id find_master(service::state& st, std::string_view name) {
  {
    std::shared_lock lock{st.directory_mutex};
    if (auto it = st.directory.find(name); it != st.directory.end()) {
      if (it->second.master) return it->second.master;
      lock.unlock();
      return lookup_master(st, name);
    }
    if (st.directory.size() >= service::state::directory_limit) {
      lock.unlock();
      return lookup_master(st, name);
    }
  }
  port_id found = lookup_master(st, name);
  std::string key{name};
  std::weak_ptr<service::state> weak = st.shared_from_this();
  auto watch = st.names.mon(detail::registry_name(name), [weak, key](const registry_event& e) {
    auto s = weak.lock();
    if (!s) return;
    std::lock_guard lock{s->directory_mutex};
    if (auto it = s->directory.find(key); it != s->directory.end()) {
      it->second.master = e.ports.empty() ? port_id{} : e.ports.back();
    }
  });
  std::lock_guard lock{st.directory_mutex};
  auto [it, added] = st.directory.try_emplace(std::move(key));
  if (added) {
    it->second.master = found;
    it->second.watch = std::move(watch);
  }
  return found;
}

/// Runs the queue of a waiting group with `master`, in order; what is added meanwhile runs
/// too, before the group stops waiting (so a later send cannot overtake). With the null
/// master (the time is up) the group stops waiting first: what waited fails, and a wait
/// made by a failure callback starts anew. `generation` ties the call to one wait (a timer
/// already posted when its wait ended must not end a newer one).
void run_waiting(const std::shared_ptr<service::state>& st, const std::string& name,
                 std::uint64_t generation, const port_id& master) {
  for (;;) {
    std::deque<std::function<void(const port_id&)>> batch;
    subscription watch;  // ended outside the lock (the registry calls back outside its own)
    {
      std::lock_guard lock{st->mutex};
      auto it = st->waiting.find(name);
      if (it == st->waiting.end() || it->second.generation != generation) return;
      auto& w = it->second;
      if (w.running && w.master != master) return;  // the other trigger runs it
      w.running = true;
      w.master = master;
      batch.swap(w.then);
      st->waiting_count -= batch.size();
      if (batch.empty() || !master) {
        watch = std::move(w.watch);
        w.limit.cancel();
        st->waiting.erase(it);
        st->waiting_groups.store(st->waiting.size(), std::memory_order_release);
      }
    }
    if (!master) st->wait_failed.fetch_add(batch.size(), std::memory_order_relaxed);
    for (auto& f : batch) {
      try {
        f(master);
      } catch (const std::exception& e) {
        detail::warn({"groups", st->own_id}, "a waiting join or send of group {} threw: {}", name,
                     e.what());
      }
    }
    if (batch.empty() || !master) return;
  }
}

/// Queues `then` behind what waits for group `name`'s master, starting the wait if none
/// runs; false when too much waits (or waiting is off). The registry watch and the timer
/// are made in the agent's port (it lives as long as the service), not in the caller's.
bool wait_for_master(const std::shared_ptr<service::state>& st, std::string_view name,
                     std::function<void(const port_id&)> then) {
  if (st->wait <= node::duration::zero()) return false;
  std::uint64_t generation;
  {
    std::lock_guard lock{st->mutex};
    if (st->waiting_count >= st->max_waiting) return false;
    auto [it, fresh] = st->waiting.try_emplace(std::string{name});
    it->second.then.push_back(std::move(then));
    ++st->waiting_count;
    st->waited.fetch_add(1, std::memory_order_relaxed);
    if (!fresh) return true;
    it->second.generation = generation = ++st->waiting_generation;
    st->waiting_groups.store(st->waiting.size(), std::memory_order_release);
  }
  std::weak_ptr<service::state> weak = st;
  st->owner.peval(st->agent_port, [weak, key = std::string{name}, generation] {
    auto s = weak.lock();
    if (!s) return;
    timer limit = s->owner.after(s->wait, [weak, key, generation] {
      if (auto s2 = weak.lock()) run_waiting(s2, key, generation, port_id{});
    });
    subscription watch =
        s->names.mon(detail::registry_name(key), [weak, key, generation](const registry_event& e) {
          if (e.ports.empty()) return;
          if (auto s2 = weak.lock()) run_waiting(s2, key, generation, e.ports.back());
        });
    std::lock_guard lock{s->mutex};
    auto it = s->waiting.find(key);
    if (it == s->waiting.end() || it->second.generation != generation) {
      limit.cancel();  // ended already; the watch ends as it leaves this scope
      return;
    }
    it->second.limit = limit;
    it->second.watch = std::move(watch);
  });
  return true;
}

/// True while joins or sends of `name` wait (a later one must wait behind them).
bool waiting_for(service::state& st, std::string_view name) {
  if (st.waiting_groups.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lock{st.mutex};
  return st.waiting.find(name) != st.waiting.end();
}
}  // namespace

service::service(node& n, registry& names, service_options options)
    : state_{std::make_shared<state>(n, names)} {
  state_->wait = options.wait;
  state_->max_waiting = options.max_waiting;
  state_->outbox = std::make_shared<detail::outbox>(*state_, options);
  // The agent's port owns the agent (which holds the state): it goes when the port does.
  auto a = std::make_shared<detail::agent>(state_);
  state_->agent_port = n.port([a](message& m) { a->on_message(m); });
  for (const tag& t :
       {detail::deliver_msg.tag(), detail::sync_msg.tag(), detail::lost_msg.tag(),
        detail::cdeliver_msg.tag(), detail::epoch_ask_msg.tag(), detail::vote_msg.tag()}) {
    state_->services.push_back(n.serve(t, state_->agent_port));
  }
  n.peval(state_->agent_port, [a] { a->start(); });
  std::weak_ptr<state> st = state_;
  n.register_init(
      detail::master_init,
      [st](std::string name, std::uint8_t order, std::vector<std::string> standbys,
           std::uint64_t history, bool quorum) {
        auto s = st.lock();
        if (!s) throw std::runtime_error{"the node's groups are gone"};
        if (!valid_name(name) || order > 1) throw std::invalid_argument{"bad group arguments"};
        detail::start_master(s, std::move(name), static_cast<ordering>(order), std::move(standbys),
                             history, quorum);
      },
      max_roles_per_peer);
  n.register_init(
      detail::standby_init,
      [st](std::string name, port_id master, std::uint8_t order, std::uint64_t history,
           std::uint64_t epoch, std::vector<std::string> homes, bool quorum) {
        auto s = st.lock();
        if (!s) throw std::runtime_error{"the node's groups are gone"};
        if (!valid_name(name) || order > 1) throw std::invalid_argument{"bad group arguments"};
        if (quorum) {
          // A quorum group's homes are distinct nodes, this one among them, and its epochs
          // move a few steps at a time (a peer may claim any: it could replace roles here).
          std::sort(homes.begin(), homes.end());
          homes.erase(std::unique(homes.begin(), homes.end()), homes.end());
          const auto known = s->local_epoch(name);
          if (homes.size() < 3 || !std::binary_search(homes.begin(), homes.end(), s->own_id) ||
              (known != 0 && epoch > known + detail::max_epoch_step)) {
            throw std::invalid_argument{"bad quorum group arguments"};
          }
        }
        if (quorum) {
          // Beside a live master here of that epoch (two creates raced): refused.
          std::lock_guard lock{s->mutex};
          auto r = s->roles.find(name);
          if (r != s->roles.end() && r->second.master && r->second.epoch >= epoch) {
            throw std::runtime_error{"this node holds a master of the group at that epoch"};
          }
        }
        // A node that holds a newer role for the group fences the master that asks.
        if (s->local_epoch(name) > epoch) {
          s->owner.snd(master, detail::fenced_msg, s->local_epoch(name));
          throw std::runtime_error{"this node follows a newer epoch of the group"};
        }
        detail::start_standby(s, std::move(name), master, static_cast<ordering>(order), history,
                              epoch, std::move(homes), quorum);
      },
      max_roles_per_peer);
}

service::~service() {
  {
    std::lock_guard lock{state_->directory_mutex};
    state_->directory.clear();
  }
  {
    // (Before the registry goes: create's registrations end with their masters anyway.)
    std::map<std::string, std::pair<port_id, subscription>, std::less<>> made;
    {
      std::lock_guard lock{state_->mutex};
      made.swap(state_->create_regs);
    }
    for (auto& [name, r] : made) r.second.release();
  }
  // Joins and sends still waiting for their group are dropped (their callbacks not called:
  // the service that would answer is going); the watches and timers end outside the lock.
  std::map<std::string, state::waiting_group, std::less<>> waiting;
  {
    std::lock_guard lock{state_->mutex};
    waiting.swap(state_->waiting);
    state_->waiting_count = 0;
    state_->waiting_groups.store(0, std::memory_order_release);
  }
  for (auto& [name, w] : waiting) w.limit.cancel();
  waiting.clear();
  state_->outbox->close();
  // This node's masters and standbys end with it (they use the registry, which may go next):
  // a standby elsewhere takes over from a master ended this way.
  std::vector<port_id> roles;
  {
    std::lock_guard lock{state_->mutex};
    roles.assign(state_->role_ports.begin(), state_->role_ports.end());
  }
  for (const auto& p : roles) state_->owner.kil(p, "shutdown");
  state_->services.clear();
  state_->owner.kil(state_->agent_port);
}

create_result service::create(std::string name, group_options options) {
  return create(std::move(name), state_->own_id, std::move(options));
}

create_result service::create(std::string name, std::string_view node_id, group_options options) {
  if (!valid_name(name) || node_id.empty() || !valid_node_id(node_id)) {
    return {errc::bad_argument, {}};
  }
  if (options.quorum) {
    // A majority of homes needs at least three of them, and one order (no causal groups).
    std::set<std::string_view> homes{node_id};
    for (const auto& id : options.standbys) homes.insert(id);
    if (homes.size() < 3 || options.order != ordering::total) return {errc::bad_argument, {}};
  }
  if (port_id m = find_master(*state_, name)) return {errc::already_created, m};
  port_id p = state_->owner.spawn(
      node_id, detail::master_init, name, static_cast<std::uint8_t>(options.order),
      std::move(options.standbys), std::uint64_t{options.history}, options.quorum);
  if (node_id == state_->own_id) {
    // Registered at once (the registry drops the entry when the port dies), so that a join
    // or send right after create finds it, here and soon on every node.
    std::pair<port_id, subscription> made{p, state_->names.reg(detail::registry_name(name), p)};
    {
      std::lock_guard lock{state_->mutex};
      std::swap(state_->create_regs[name], made);
    }
  } else {
    // The master registers itself on its node; until that reaches this replica, this node
    // remembers it. The agent forgets it when it dies (a monitor message, whatever the
    // context create was called in).
    {
      std::lock_guard lock{state_->mutex};
      state_->created[name] = p;
    }
    state_->owner.mon(p, state_->agent_port, detail::created_died_msg, name, p).release();
  }
  return {errc::ok, p};
}

errc service::join(std::string_view name, const port_id& member,
                   std::function<void(join_result)> done, join_options options) {
  if (!valid_name(name) || !state_->owner.is_local(member)) return errc::bad_argument;
  port_id m = waiting_for(*state_, name) ? port_id{} : find_master(*state_, name);
  if (!m) {
    // Not known here yet: the join waits for the registry to name a master (in order with
    // the other joins and sends that wait); `done` still runs in the caller's context.
    if (done) {
      if (port_id caller = current()) {
        done = [n = &state_->owner, caller, f = std::move(done)](join_result r) {
          n->peval(caller, [f, r = std::move(r)]() mutable { f(std::move(r)); });
        };
      }
    }
    {
      std::lock_guard lock{state_->mutex};
      state_->note_joined(name, member);  // a leave meanwhile waits behind it
    }
    std::weak_ptr<state> weak = state_;
    const bool queued = wait_for_master(
        state_, name,
        [weak, group = std::string{name}, member, done, options](const port_id& master) mutable {
          auto s = weak.lock();
          if (!s) return;
          if (!master) {
            {
              std::lock_guard lock{s->mutex};
              s->forget_joined(group, member);
            }
            detail::warn({"groups", s->own_id},
                         "a join of {} to group {} failed: no master "
                         "came within the wait",
                         member.to_string(), group);
            if (done) done(join_result{errc::no_such_group, {}});
            return;
          }
          join_at(s, master, group, member, std::move(done), options);
        });
    if (!queued) {
      std::lock_guard lock{state_->mutex};
      state_->forget_joined(name, member);
    }
    return queued ? errc::ok : errc::no_such_group;
  }
  join_at(state_, m, name, member, std::move(done), options);
  return errc::ok;
}

namespace {
void join_at(const std::shared_ptr<service::state>& st, const port_id& m, std::string_view name,
             const port_id& member, std::function<void(join_result)> done, join_options options) {
  using state = service::state;
  {
    std::lock_guard lock{st->mutex};
    st->note_joined(name, member);
  }
  std::weak_ptr<state> weak = st;
  st->owner.cal(m, detail::join_msg.tag(), member, options.notify,
                [weak, group = std::string{name}, member, done = std::move(done)](reply r) {
                  join_result result;
                  if (!r || !r->is<std::uint8_t, std::vector<port_id>>()) {
                    result.error = errc::no_such_group;  // the master died first
                  } else {
                    auto& [e, old] = r->as<std::uint8_t, std::vector<port_id>>();
                    result.error = static_cast<errc>(e);
                    result.old_members = std::move(old);
                  }
                  if (result.error != errc::ok && result.error != errc::already_member) {
                    if (auto s = weak.lock()) {
                      std::lock_guard lock{s->mutex};
                      s->forget_joined(group, member);
                    }
                  }
                  if (done) done(std::move(result));
                });
}
}  // namespace

errc service::leave(std::string_view name, const port_id& member) {
  if (!valid_name(name) || !state_->owner.is_local(member)) return errc::bad_argument;
  if (waiting_for(*state_, name)) {
    // Behind the joins and sends that wait (a join asked for counts at once).
    {
      std::lock_guard lock{state_->mutex};
      if (!state_->is_joined(name, member)) return errc::not_a_member;
      state_->forget_joined(name, member);
    }
    std::weak_ptr<state> weak = state_;
    const bool queued = wait_for_master(state_, name, [weak, member](const port_id& master) {
      if (auto s = weak.lock(); s && master) s->owner.snd(master, detail::leave_msg, member);
    });
    return queued ? errc::ok : errc::no_such_group;
  }
  port_id m = find_master(*state_, name);
  if (!m) return errc::no_such_group;
  {
    std::lock_guard lock{state_->mutex};
    if (!state_->is_joined(name, member)) return errc::not_a_member;
    state_->forget_joined(name, member);
  }
  state_->owner.snd(m, detail::leave_msg, member);
  return errc::ok;
}

service_stats service::stats() const {
  service_stats s;
  s.delivered = state_->delivered.load(std::memory_order_relaxed);
  s.held_back = state_->held_back.load(std::memory_order_relaxed);
  s.takeovers = state_->takeovers.load(std::memory_order_relaxed);
  s.waited = state_->waited.load(std::memory_order_relaxed);
  s.wait_failed = state_->wait_failed.load(std::memory_order_relaxed);
  s.unconfirmed = state_->outbox->unconfirmed();
  s.resent = state_->outbox->resent();
  s.send_failed = state_->outbox->failed();
  std::lock_guard lock{state_->mutex};
  for (const auto& [name, r] : state_->roles) s.epochs.emplace_back(name, r.epoch);
  return s;
}

errc service::members(std::string_view name, std::function<void(std::vector<port_id>)> done) {
  if (!valid_name(name)) return errc::bad_argument;
  port_id m = find_master(*state_, name);
  if (!m) return errc::no_such_group;
  state_->owner.cal(m, detail::members_msg.tag(), [done = std::move(done)](reply r) {
    if (!done) return;
    if (r && r->is<std::vector<port_id>>()) {
      done(std::move(r->get<std::vector<port_id>>(0)));
    } else {
      done({});
    }
  });
  return errc::ok;
}

port_id service::master(std::string_view name) const {
  return valid_name(name) ? find_master(*state_, name) : port_id{};
}

port_id service::agent() const noexcept {
  return state_->agent_port;
}

port_id service::current() const noexcept {
  return in_port_context() ? coport::self() : port_id{};
}

errc service::route(const port_id& from, std::string_view name, bool except_sender, envelope e) {
  if (except_sender && from.is_null()) return errc::not_in_port;
  bool causal = false;
  if (state_->causal_count.load(std::memory_order_acquire) > 0) {
    std::lock_guard lock{state_->mutex};
    causal = state_->causal.count(name) > 0;
  }
  if (causal) {
    if (from.is_null()) return errc::not_in_port;
    state_->owner.snd(state_->agent_port, detail::csend_msg, std::string{name}, from, except_sender,
                      std::move(e));
    return errc::ok;
  }
  const bool waiting = waiting_for(*state_, name);
  if (!waiting) {
    // A group this node sent to: the outbox follows its master.
    if (auto sent = state_->outbox->send_known(name, from, except_sender, e)) return *sent;
  }
  port_id m = waiting ? port_id{} : find_master(*state_, name);
  if (!m) {
    // Not known here yet: the message waits (behind earlier joins and sends that wait);
    // if no master comes in time, the sending port is told.
    std::weak_ptr<state> weak = state_;
    auto held = std::make_shared<envelope>(std::move(e));
    const bool queued = wait_for_master(
        state_, name,
        [weak, group = std::string{name}, from, except_sender, held](const port_id& master) {
          auto s = weak.lock();
          if (!s) return;
          reason why{"no_such_group", group, "no master came within the wait"};
          if (master) {
            envelope copy = *held;  // (kept for the report when the outbox refuses it)
            const errc r = s->outbox->send(group, master, from, except_sender, std::move(copy));
            if (r == errc::ok) return;
            why = reason{"no_such_group", group, describe(r)};
          }
          s->outbox->fail_unsent(group, from, except_sender, std::move(*held), std::move(why));
        });
    return queued ? errc::ok : errc::no_such_group;
  }
  return state_->outbox->send(name, m, from, except_sender, std::move(e));
}

}  // namespace coport::groups
