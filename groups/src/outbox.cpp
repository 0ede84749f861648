// detail::outbox — this node's group sends until a master confirms them (outbox.hpp).
#include "outbox.hpp"

#include <algorithm>
#include <optional>

#include "coport/wire/codec.hpp"

namespace coport::groups::detail {

namespace {
std::atomic<std::uint64_t> outboxes{0};

/// The group a thread sent to last, of which outbox: most sends go where the one before
/// went, and this spares them the table's lock and hash.
struct last_box {
  std::uint64_t owner = 0;
  std::string group;
  std::weak_ptr<void> b;
};
thread_local last_box last;
}  // namespace

outbox::outbox(service::state& st, const service_options& options)
    : st_{st},
      timeout_{std::max(options.send_timeout, node::duration{std::chrono::milliseconds{1}})},
      max_count_{options.max_unconfirmed},
      max_bytes_{options.max_unconfirmed_bytes},
      on_failed_{options.on_send_failed},
      id_{++outboxes} {}

std::shared_ptr<outbox::box> outbox::find(std::string_view group, bool make) {
  if (last.owner == id_ && last.group == group) {
    if (auto b = std::static_pointer_cast<box>(last.b.lock())) return b;
  }
  std::shared_ptr<box> found;
  bool added = false;
  {
    std::shared_lock lock{mutex_};
    if (auto it = boxes_.find(group); it != boxes_.end()) found = it->second;
  }
  if (!found) {
    if (!make) return nullptr;
    std::lock_guard lock{mutex_};
    auto [it, fresh] = boxes_.try_emplace(std::string{group});
    if (fresh) it->second = std::make_shared<box>();
    found = it->second;
    added = fresh;
  }
  if (added) {
    // The registry's entry of the group, watched from the agent's port for as long as the
    // outbox lives: a master that the registry names instead of the one followed gets
    // what waits, and what is sent next.
    std::weak_ptr<service::state> weak = st_.shared_from_this();
    st_.owner.peval(st_.agent_port, [weak, g = std::string{group}] {
      if (auto s = weak.lock(); s && s->outbox) s->outbox->watch(g);
    });
  }
  last.owner = id_;
  last.group.assign(group);
  last.b = found;
  return found;
}

void outbox::watch(const std::string& group) {
  auto b = find(group, false);
  if (!b || closed_.load()) return;
  std::weak_ptr<service::state> weak = st_.shared_from_this();
  subscription named = st_.names.mon(registry_name(group), [weak, group](const registry_event& e) {
    if (auto s = weak.lock(); s && s->outbox) s->outbox->on_named(group, e.ports);
  });
  std::lock_guard lock{b->mutex};
  b->named = std::move(named);
}

errc outbox::admit(envelope& e, bool far, std::size_t& weight) const {
  // Kept and sent as the same bytes when the master is on another node (encoded once).
  if (far) {
    try {
      e.pack();
    } catch (const wire::encode_error&) {
      return errc::bad_argument;
    }
  }
  weight = sizeof(waiting_send) + e.packed_size();
  return full(weight) ? errc::too_many_unconfirmed : errc::ok;
}

void outbox::arm_timer() {
  if (!timing_.load(std::memory_order_relaxed) && !timing_.exchange(true)) start_timer(timeout_);
}

bool outbox::full(std::size_t weight) const {
  return count_.load(std::memory_order_relaxed) >= max_count_ ||
         bytes_.load(std::memory_order_relaxed) + weight > max_bytes_;
}

void outbox::add(box& b, const port_id& from, bool except, envelope e, std::size_t weight) {
  waiting_send w{b.next++, from, except, e, st_.owner.now() + timeout_, false, weight};
  if (b.master) {
    const std::uint64_t low = b.sends.empty() ? w.seq : b.sends.front().seq;
    st_.owner.snd(b.master, send_msg, from, except, std::move(e), st_.agent_port, w.seq, low);
    w.handed = true;
  }
  b.sends.push_back(std::move(w));
  count_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(weight, std::memory_order_relaxed);
}

std::optional<errc> outbox::send_known(std::string_view group, const port_id& from, bool except,
                                       envelope& e) {
  auto b = find(group, false);
  if (!b) return std::nullopt;
  {
    std::lock_guard lock{b->mutex};
    if (b->ended || (!b->master && !b->gone)) return std::nullopt;  // found as at first
    // (No master now: kept, and sent when the registry names the next one.)
    // (No master now: packed, the next may be far.)
    std::size_t weight = 0;
    if (errc r = admit(e, !b->master || !st_.owner.is_local(b->master), weight); r != errc::ok) {
      return r;
    }
    add(*b, from, except, std::move(e), weight);
  }
  arm_timer();
  return errc::ok;
}

errc outbox::send(std::string_view group, const port_id& master, const port_id& from, bool except,
                  envelope e) {
  std::size_t weight = 0;
  if (errc r = admit(e, !st_.owner.is_local(master), weight); r != errc::ok) return r;
  auto b = find(group, true);
  {
    std::lock_guard lock{b->mutex};
    if (master != b->master && master != b->gone) use(*b, std::string{group}, master);
    add(*b, from, except, std::move(e), weight);
  }
  arm_timer();
  return errc::ok;
}

void outbox::use(box& b, const std::string& group, const port_id& master) {
  b.master = master;
  b.watch = st_.owner.mon(master, st_.agent_port, sent_to_died_msg, group, master, ++b.watches);
  const std::uint64_t low = b.sends.empty() ? 0 : b.sends.front().seq;
  for (auto& w : b.sends) {
    if (w.handed) resent_.fetch_add(1, std::memory_order_relaxed);
    st_.owner.snd(master, send_msg, w.from, w.except, envelope{w.payload}, st_.agent_port, w.seq,
                  low);
    w.handed = true;
  }
}

void outbox::nudge(box& b) {
  if (!b.master || b.sends.empty()) return;
  const waiting_send& w = b.sends.front();
  st_.owner.snd(b.master, send_msg, w.from, w.except, envelope{w.payload}, st_.agent_port, w.seq,
                w.seq);
}

void outbox::drop(const waiting_send& s) {
  count_.fetch_sub(1, std::memory_order_relaxed);
  bytes_.fetch_sub(s.weight, std::memory_order_relaxed);
}

void outbox::on_refused(const port_id& origin, const std::string& group, std::uint64_t seq) {
  auto b = find(group, false);
  if (!b) return;
  std::vector<failure> failures;
  {
    std::lock_guard lock{b->mutex};
    const bool from_master = b->master && (origin ? origin.node_number() == b->master.node_number()
                                                  : st_.owner.is_local(b->master));
    if (!from_master) return;
    auto it = std::lower_bound(b->sends.begin(), b->sends.end(), seq,
                               [](const waiting_send& w, std::uint64_t n) { return w.seq < n; });
    if (it != b->sends.end() && it->seq == seq) {
      drop(*it);
      failures.push_back({group, std::move(*it),
                          reason{"pg_send_refused", group,
                                 "the master did not order it (too much waits for its "
                                 "standbys)"}});
      b->sends.erase(it);
      b->gap = true;
      nudge(*b);
    }
  }
  report(failures);
}

void outbox::on_ordered(const port_id& origin, const std::string& group, std::uint64_t seq) {
  auto b = find(group, false);
  if (!b) return;
  std::lock_guard lock{b->mutex};
  // Only the master the sends go to confirms them (a confirmation of the one before a
  // switch is not needed: the next one confirms what it has again).
  const bool from_master = b->master && (origin ? origin.node_number() == b->master.node_number()
                                                : st_.owner.is_local(b->master));
  if (!from_master) return;
  while (!b->sends.empty() && b->sends.front().seq <= seq) {
    drop(b->sends.front());
    b->sends.pop_front();
  }
  if (b->gap) {
    // Past a refused send only once the master knows this node gave it up.
    if (!b->sends.empty() && b->sends.front().seq > seq + 1) {
      nudge(*b);
    } else {
      b->gap = false;
    }
  }
}

port_id outbox::named_master(const std::string& group, const port_id& gone) const {
  auto ports = st_.names.get(registry_name(group));
  for (auto it = ports.rbegin(); it != ports.rend(); ++it) {
    if (*it != gone) return *it;
  }
  return {};
}

void outbox::on_sent_to_died(const std::string& group, const port_id& master, std::uint64_t watch,
                             const reason& why) {
  auto b = find(group, false);
  if (!b) return;
  std::vector<failure> failures;
  {
    std::lock_guard lock{b->mutex};
    // (A watch of a master dropped since, and followed again when the registry named it
    // after its node came back: that port lives on.)
    if (b->master != master || watch != b->watches) return;
    b->master = port_id{};
    b->gone = master;
    b->watch = monitor{};
    if (why.normal()) {
      // The group ended: no master comes next. (What that master had may have been
      // delivered: a confirmation is sent a little after the release.)
      b->ended = true;
      for (auto& w : b->sends) {
        drop(w);
        reason why_failed = w.handed ? reason{"pg_send_unconfirmed", group,
                                              "the group ended; it may have been delivered"}
                                     : reason{"no_such_group", group, "the group ended"};
        failures.push_back({group, std::move(w), std::move(why_failed)});
      }
      b->sends.clear();
    } else if (port_id next = named_master(group, master)) {
      use(*b, group, next);
    } else if (why.kind() == "transport_error") {
      // Its node only lost a link, maybe: back with the port alive, the registry may never
      // have dropped it. Looked at again (below); else sent on when the registry names the
      // next one (a standby that took over).
      st_.owner.after(retry_delay, st_.agent_port, outbox_retry_msg, group, master, b->watches);
    }
  }
  report(failures);
}

void outbox::on_retry(const std::string& group, const port_id& master, std::uint64_t watch) {
  auto b = find(group, false);
  if (!b) return;
  std::lock_guard lock{b->mutex};
  if (b->master || b->gone != master || b->watches != watch || b->ended) return;
  auto ports = st_.names.get(registry_name(group));
  if (std::find(ports.begin(), ports.end(), master) == ports.end()) return;  // (on_named)
  auto up = st_.owner.up_nodes();
  if (std::find(up.begin(), up.end(), master.node()) == up.end()) {
    st_.owner.after(retry_delay, st_.agent_port, outbox_retry_msg, group, master, watch);
    return;
  }
  // Watched anew (a port that died meanwhile is reported at once, and stays gone).
  b->gone = {};
  use(*b, group, master);
}

void outbox::on_named(const std::string& group, const std::vector<port_id>& ports) {
  auto b = find(group, false);
  if (!b) return;
  std::lock_guard lock{b->mutex};
  // A master that died here may come back (its node was only cut off): once the registry
  // dropped it, it may be named again.
  if (b->gone && std::find(ports.begin(), ports.end(), b->gone) == ports.end()) b->gone = {};
  // The master followed stays while the registry names it (after a heal an old master may
  // be named beside it for a moment, and sort last: it is fenced as they meet).
  if (b->master && std::find(ports.begin(), ports.end(), b->master) != ports.end()) return;
  // A master the registry no longer names is not sent to (a quorum group's master that
  // stepped down drops what it is sent); named again, even the same port, it gets again
  // what waits (it orders a (stream, number) once).
  if (b->master) {
    b->master = {};
    b->watch = monitor{};
  }
  for (auto it = ports.rbegin(); it != ports.rend(); ++it) {
    if (*it == b->gone) continue;
    b->ended = false;
    if (*it != b->master) use(*b, group, *it);
    return;
  }
}

void outbox::on_due() {
  timing_.store(false);
  const auto now = st_.owner.now();
  std::optional<std::chrono::steady_clock::time_point> next;
  std::vector<failure> failures;
  std::vector<std::pair<std::string, std::shared_ptr<box>>> all;
  {
    std::shared_lock lock{mutex_};
    all.assign(boxes_.begin(), boxes_.end());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count();
  for (auto& [group, b] : all) {
    std::lock_guard lock{b->mutex};
    while (!b->sends.empty() && b->sends.front().due <= now) {
      auto& w = b->sends.front();
      reason why = w.handed ? reason{"pg_send_unconfirmed", group,
                                     fmt::format("no master confirmed it within {} ms; it may "
                                                 "still be delivered",
                                                 ms)}
                            : reason{"no_such_group", group,
                                     fmt::format("no master took it within {} ms", ms)};
      drop(w);
      failures.push_back({group, std::move(w), std::move(why)});
      b->sends.pop_front();
    }
    if (!b->sends.empty()) {
      const auto due = b->sends.front().due;
      if (!next || due < *next) next = due;
    }
  }
  if (next) {
    timing_.store(true);
    start_timer(std::max(node::duration::zero(), *next - now) + std::chrono::milliseconds{1});
  }
  report(failures);
}

void outbox::start_timer(node::duration delay) {
  st_.owner.after(delay, st_.agent_port, send_due_msg, std::uint64_t{0});
}

void outbox::report(std::vector<failure>& failures) {
  if (closed_.load()) return;  // (the service is going: nobody to tell)
  for (auto& f : failures) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    warn({"groups", st_.own_id}, "a message to group {} from {} failed: {}", f.group,
         f.send.from ? f.send.from.to_string() : std::string{"outside any port"},
         f.why.to_string());
    if (f.send.from) st_.owner.snd(f.send.from, send_failed_tag(), f.group, f.why);
    if (on_failed_) {
      try {
        on_failed_(send_failure{f.group, f.send.from, f.why, f.send.payload.open_copy()});
      } catch (const std::exception& e) {
        warn({"groups", st_.own_id}, "on_send_failed threw: {}", e.what());
      }
    }
  }
}

void outbox::fail_unsent(const std::string& group, const port_id& from, bool except, envelope e,
                         reason why) {
  std::vector<failure> failures;
  waiting_send w;
  w.from = from;
  w.except = except;
  w.payload = std::move(e);
  failures.push_back({group, std::move(w), std::move(why)});
  report(failures);
}

void outbox::close() {
  closed_.store(true);
  std::unordered_map<std::string, std::shared_ptr<box>, service::state::string_hash,
                     std::equal_to<>>
      boxes;
  {
    std::lock_guard lock{mutex_};
    boxes.swap(boxes_);
  }
  for (auto& [group, b] : boxes) {
    std::lock_guard lock{b->mutex};
    for (const auto& w : b->sends) drop(w);
    b->sends.clear();
    b->watch = monitor{};
  }
  // (the registry watches end as the boxes go, outside their locks)
}

}  // namespace coport::groups::detail
