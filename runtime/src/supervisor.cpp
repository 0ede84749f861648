// Supervisors (see coport/supervisor.hpp): one port's state, its children, and what it does
// when one of them ends.
//
// Everything below runs in the supervisor port's context: the children's monitors and the
// restart timers are made inside it, so their callbacks run there too (and not at all once
// the supervisor is gone). The state is held by the port's handlers; callbacks hold it weakly.
#include "coport/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "monitors.hpp"
#include "node_core.hpp"

namespace coport {

namespace {

using clock_point = std::chrono::steady_clock::time_point;

struct start_request {
  child_spec spec;
  std::function<void(const port_id&, const std::string&)> done;
};

bool ends_normally(const reason& why) {
  return why.normal() || why.kind() == "shutdown";
}

class supervisor_state : public std::enable_shared_from_this<supervisor_state> {
 public:
  supervisor_state(node& n, supervisor_spec spec) : n_{n}, spec_{std::move(spec)} {
    for (auto& c : spec_.children) children_.emplace_back(std::move(c));
    spec_.children.clear();
  }

  /// In the new supervisor port: handlers, then the children in order. Requests are taken
  /// as whole messages: one of the wrong shape (from any node) is ignored, never fatal.
  void begin() {
    self_ = self();
    auto me = shared_from_this();
    n_.rcv_default(self_, [](message&) {});
    n_.rcv(self_, "which_children", [me](message& m) {
      if (m.is<port_id>()) me->which_children(m.get<port_id>(0));
    });
    n_.rcv(self_, "count_children", [me](message& m) {
      if (!m.is<port_id>()) return;
      std::int64_t running = 0;
      for (auto& c : me->children_) running += c.port ? 1 : 0;
      me->n_.snd(m.get<port_id>(0), "count", static_cast<std::int64_t>(me->children_.size()),
                 running);
    });
    auto by_id = [me](void (supervisor_state::*f)(const std::string&, const port_id&)) {
      return [me, f](message& m) {
        if (m.is<std::string, port_id>()) (*me.*f)(m.get<std::string>(0), m.get<port_id>(1));
      };
    };
    n_.rcv(self_, "terminate_child", by_id(&supervisor_state::terminate_child));
    n_.rcv(self_, "restart_child", by_id(&supervisor_state::restart_child));
    n_.rcv(self_, "delete_child", by_id(&supervisor_state::delete_child));
    n_.rcv(self_, "stop", [me](message&) { me->shut_down(reason{}); });
    n_.rcv(self_, "start_child", [me](message& m) {
      if (!m.is<std::shared_ptr<start_request>>()) return;
      auto& request = *m.get<std::shared_ptr<start_request>>(0);
      me->add(std::move(request.spec), request.done);
    });
    // An abnormal end takes the children with it (a normal one has stopped them first).
    // Not bound to this port's context (gone by then); holds the state until it runs.
    detail::node_access::core(n_)
        ->monitors()
        .add(self_, [me](const reason& why) {
          if (why.normal()) return;
          for (auto& c : me->children_) {
            if (c.port) me->n_.kil(c.port, why);
          }
        })
        .release();
    for (std::size_t i = 0; i < children_.size(); ++i) start(i);
  }

  void add(child_spec spec, const std::function<void(const port_id&, const std::string&)>& done) {
    if (find(spec.id) != npos) {
      if (done) done({}, "a child with ID '" + spec.id + "' exists");
      return;
    }
    if (stopping_) {
      if (done) done({}, "the supervisor is stopping");
      return;
    }
    children_.emplace_back(std::move(spec));
    start(children_.size() - 1);
    if (done) done(children_.back().port, {});
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct child {
    explicit child(child_spec s) : spec{std::move(s)} {}
    child_spec spec;
    port_id port;                  // null while not running
    monitor watch;                 // its death, in this port's context
    timer pending;                 // a restart that waits for its backoff
    std::uint64_t generation = 0;  // which start `watch` belongs to
    unsigned quick_deaths = 0;     // deaths within `period` of their start, in a row
    clock_point started{};
  };

  /// Children being killed last first, each waited for (its death, or its shutdown time),
  /// before `then` runs: a restart of several, or the supervisor's end.
  struct termination {
    std::vector<std::string> ids;  // in the order they are killed
    std::size_t next = 0;
    std::string waiting;  // the child whose end is awaited
    timer limit;
    std::function<void()> then;
  };

  struct death {
    std::string id;
    reason why;
  };

  std::size_t find(const std::string& id) const {
    for (std::size_t i = 0; i < children_.size(); ++i) {
      if (children_[i].spec.id == id) return i;
    }
    return npos;
  }

  /// The first of the child's nodes that is this one or up; the first one when none is.
  std::string where(const child& c) const {
    if (c.spec.nodes.empty()) return n_.id();
    const auto up = n_.up_nodes();
    for (const auto& id : c.spec.nodes) {
      if (id == n_.id() || std::find(up.begin(), up.end(), id) != up.end()) return id;
    }
    return c.spec.nodes.front();
  }

  void start(std::size_t i) {
    child& c = children_[i];
    c.pending.cancel();
    const std::uint64_t generation = ++c.generation;
    auto weak = weak_from_this();
    auto [port, watch] =
        c.spec.start(n_, where(c), [weak, id = c.spec.id, generation](const reason& why) {
          if (auto me = weak.lock()) me->ended(id, generation, why);
        });
    c.port = port;
    c.watch = std::move(watch);
    c.started = n_.now();
  }

  /// Kills a running child on purpose, not waiting: its end is not acted on.
  void kill(child& c, const reason& why) {
    c.pending.cancel();
    if (!c.port) return;
    c.watch.cancel();
    ++c.generation;
    n_.kil(c.port, why);
    c.port = {};
  }

  void ended(const std::string& id, std::uint64_t generation, const reason& why) {
    const std::size_t i = find(id);
    if (i == npos || children_[i].generation != generation) return;  // killed on purpose
    child& c = children_[i];
    c.port = {};
    c.watch.release();
    if (terminating_) {
      auto& t = *terminating_;
      if (id == t.waiting) {
        terminate_next();
      } else if (std::find(t.ids.begin() + static_cast<std::ptrdiff_t>(t.next), t.ids.end(), id) ==
                 t.ids.end()) {
        later_.push_back(death{id, why});  // not one being ended: acted on afterwards
      }
      return;
    }
    if (!stopping_) act_on(i, why);
  }

  /// A child ended by itself: restart it (and others, by the strategy), forget it, or give up.
  void act_on(std::size_t i, const reason& why) {
    child& c = children_[i];
    const restart_type type = c.spec.restart;
    if (type == restart_type::temporary) {
      children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
    if (type == restart_type::transient && ends_normally(why)) return;
    const auto now = n_.now();
    restarts_.push_back(now);
    while (!restarts_.empty() && restarts_.front() + spec_.period <= now) restarts_.pop_front();
    if (restarts_.size() > spec_.max_restarts) {
      shut_down(reason{"reached_max_restart_intensity", c.spec.id, why.to_string()});
      return;
    }
    c.quick_deaths = now - c.started < spec_.period ? c.quick_deaths + 1 : 0;
    // Which children go with it: those are ended last first, then all start in order.
    std::size_t first = i, last = i;
    if (spec_.strategy == restart_strategy::one_for_all) {
      first = 0;
      last = children_.size() - 1;
    } else if (spec_.strategy == restart_strategy::rest_for_one) {
      last = children_.size() - 1;
    }
    std::vector<std::string> ids, others;
    for (std::size_t k = first; k <= last; ++k) ids.push_back(children_[k].spec.id);
    for (std::size_t k = last + 1; k-- > first;) {
      if (k != i) others.push_back(children_[k].spec.id);
    }
    const node::duration delay = backoff(c.quick_deaths);
    const std::string failed = c.spec.id;
    terminate(std::move(others), [this, ids = std::move(ids), delay, failed] {
      if (delay <= node::duration::zero()) {
        start_ids(ids);
        return;
      }
      std::size_t k = find(failed);
      if (k == npos) return;
      children_[k].pending = n_.after(delay, [weak = weak_from_this(), ids] {
        if (auto me = weak.lock()) me->start_ids(ids);
      });
    });
  }

  node::duration backoff(unsigned quick_deaths) const {
    if (quick_deaths == 0 || spec_.backoff_initial <= node::duration::zero()) return {};
    node::duration d = spec_.backoff_initial;
    for (unsigned k = 1; k < quick_deaths && d < spec_.backoff_max; ++k) d *= 2;
    return std::min(d, spec_.backoff_max);
  }

  void start_ids(const std::vector<std::string>& ids) {
    if (stopping_) return;
    for (const auto& id : ids) {
      if (std::size_t k = find(id); k != npos && !children_[k].port) start(k);
    }
  }

  // -- ending children in order ---------------------------------------------------------------

  void terminate(std::vector<std::string> ids, std::function<void()> then) {
    terminating_.emplace();
    terminating_->ids = std::move(ids);
    terminating_->then = std::move(then);
    terminate_next();
  }

  void terminate_next() {
    auto& t = *terminating_;
    t.limit.cancel();
    t.waiting.clear();
    while (t.next < t.ids.size()) {
      const std::size_t i = find(t.ids[t.next++]);
      if (i == npos) continue;
      child& c = children_[i];
      c.pending.cancel();
      if (!c.port) continue;
      t.waiting = c.spec.id;
      n_.kil(c.port, reason{"shutdown"});
      t.limit = n_.after(c.spec.shutdown, [weak = weak_from_this(), id = c.spec.id] {
        auto me = weak.lock();
        if (!me || !me->terminating_ || me->terminating_->waiting != id) return;
        if (std::size_t k = me->find(id); k != npos) {
          auto& late = me->children_[k];
          late.watch.cancel();
          ++late.generation;  // its end, if it comes later, is not waited for
          late.port = {};
        }
        me->terminate_next();
      });
      return;
    }
    auto then = std::move(t.then);
    terminating_.reset();
    then();
    // Ends that came meanwhile, of children that were not being ended.
    while (!terminating_ && !later_.empty() && !stopping_) {
      death d = std::move(later_.front());
      later_.pop_front();
      if (std::size_t i = find(d.id); i != npos && !children_[i].port) act_on(i, d.why);
    }
  }

  /// The ordered stop: every child, last first, then the supervisor ends with `why`.
  void shut_down(reason why) {
    if (stopping_) return;
    stopping_ = true;
    end_reason_ = std::move(why);
    for (auto& c : children_) c.pending.cancel();
    auto all = [this] {
      std::vector<std::string> ids;
      for (std::size_t k = children_.size(); k-- > 0;) ids.push_back(children_[k].spec.id);
      terminate(std::move(ids), [this] { n_.kil(self_, end_reason_); });
    };
    if (terminating_) {
      terminating_->then = all;  // after the one under way
    } else {
      all();
    }
  }

  // -- what the supervisor answers -----------------------------------------------------------

  void which_children(const port_id& reply) {
    std::vector<std::string> ids;
    std::vector<port_id> ports;
    for (const auto& c : children_) {
      ids.push_back(c.spec.id);
      ports.push_back(c.port);
    }
    n_.snd(reply, "children", std::move(ids), std::move(ports));
  }

  void terminate_child(const std::string& id, const port_id& reply) {
    const std::size_t i = find(id);
    if (i == npos) {
      n_.snd(reply, "error", "no child '" + id + "'");
      return;
    }
    kill(children_[i], reason{"shutdown"});
    n_.snd(reply, "ok");
  }

  void restart_child(const std::string& id, const port_id& reply) {
    const std::size_t i = find(id);
    if (i == npos || children_[i].port || stopping_) {
      n_.snd(reply, "error",
             i == npos ? "no child '" + id + "'"
                       : (stopping_ ? "the supervisor is stopping" : "'" + id + "' is running"));
      return;
    }
    start(i);
    n_.snd(reply, "ok", children_[i].port);
  }

  void delete_child(const std::string& id, const port_id& reply) {
    const std::size_t i = find(id);
    if (i == npos || children_[i].port) {
      n_.snd(reply, "error", i == npos ? "no child '" + id + "'" : "'" + id + "' is running");
      return;
    }
    children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(i));
    n_.snd(reply, "ok");
  }

  node& n_;
  supervisor_spec spec_;
  std::vector<child> children_;
  port_id self_;
  std::deque<clock_point> restarts_;  // within the last `period`
  std::optional<termination> terminating_;
  std::deque<death> later_;
  bool stopping_ = false;
  reason end_reason_;
};

void check(const supervisor_spec& spec) {
  std::unordered_set<std::string> ids;
  for (const auto& c : spec.children) {
    if (c.init.empty()) throw std::invalid_argument{"coport: child '" + c.id + "' has no init"};
    if (!ids.insert(c.id).second) {
      throw std::invalid_argument{"coport: two children of a supervisor are called '" + c.id +
                                  "'"};
    }
  }
}

}  // namespace

void supervise(node& n, supervisor_spec spec) {
  if (!self()) throw std::logic_error{"coport: supervise needs a current port"};
  check(spec);
  std::make_shared<supervisor_state>(n, std::move(spec))->begin();
}

port_id start_supervisor(node& n, supervisor_spec spec) {
  check(spec);
  port_id sup = n.port();
  n.peval(sup, [&n, spec = std::make_shared<supervisor_spec>(std::move(spec))]() mutable {
    std::make_shared<supervisor_state>(n, std::move(*spec))->begin();
  });
  return sup;
}

void register_supervisor(node& n, std::string name, std::function<supervisor_spec()> make) {
  n.register_init(std::move(name), [&n, make = std::move(make)] { supervise(n, make()); });
}

void start_child(node& n, const port_id& sup, child_spec child,
                 std::function<void(const port_id&, const std::string&)> done) {
  if (!n.is_local(sup)) throw std::invalid_argument{"coport: start_child needs a local supervisor"};
  // A local message: the supervisor's state is reached only in its port's context.
  n.snd(sup, "start_child",
        std::make_shared<start_request>(start_request{std::move(child), std::move(done)}));
}

}  // namespace coport
