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

std::string check_child(const child_spec& c);

/// A supervisor's children being ended last first, each waited for (its death, or its
/// shutdown time), before `then` runs: a restart of several, a terminate_child, or the
/// supervisor's end. (At namespace scope: clang cannot default-construct a nested class
/// with member initializers inside its enclosing class, as std::optional::emplace needs.)
struct termination {
  std::uint64_t serial = 0;
  std::vector<std::string> ids;  // in the order they are ended
  std::size_t next = 0;
  std::string waiting;  // the child whose end is awaited
  timer limit;
  std::function<void()> then;
};

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
    // Any end but a finished stop takes the children with it (with the supervisor's reason,
    // `shutdown` for a normal kil); also those that outlived their shutdown time. Not bound
    // to this port's context (gone by then); holds the state until it runs.
    detail::node_access::core(n_)
        ->monitors()
        .add(self_, [me](const reason& why) {
          if (me->stopped_) return;
          const reason with = why.normal() ? reason{"shutdown"} : why;
          for (auto& c : me->children_) {
            if (c.port) me->n_.kil(c.port, with);
          }
          for (auto& late : me->late_) me->n_.kil(late, with);
        })
        .release();
    for (std::size_t i = 0; i < children_.size(); ++i) start(i);
  }

  void add(child_spec spec, const std::function<void(const port_id&, const std::string&)>& done) {
    std::string problem = check_child(spec);
    if (problem.empty() && find(spec.id) != npos) {
      problem = "a child with ID '" + spec.id + "' exists";
    }
    if (problem.empty() && stopping_) problem = "the supervisor is stopping";
    if (!problem.empty()) {
      if (done) done({}, problem);
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
    std::uint64_t generation = 0;  // which start `watch` belongs to
    unsigned quick_deaths = 0;     // deaths within `period` of their start, in a row
    bool terminated = false;       // ended by terminate_child: not restarted until asked
    clock_point started{};
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

  /// The first of the child's nodes that is this one or up; the first one when none is
  /// (spawn dials it; if it cannot be reached, that is a death like any other).
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
    c.terminated = false;
    const std::uint64_t generation = ++c.generation;
    auto weak = weak_from_this();
    auto on_death = [weak, id = c.spec.id, generation](const reason& why) {
      if (auto me = weak.lock()) me->ended(id, generation, why);
    };
    c.started = n_.now();
    try {
      auto [port, watch] = c.spec.start(n_, where(c), on_death);
      c.port = port;
      c.watch = std::move(watch);
    } catch (const std::exception& e) {
      // A start that throws (no memory, a node ID that became invalid): a death, acted on
      // as the next job, so that a restart loop still meets the intensity.
      c.port = {};
      n_.peval(self_, [on_death, why = reason{"spawn_failed", c.spec.id, e.what()}]() mutable {
        on_death(why);
      });
    }
  }

  void ended(const std::string& id, std::uint64_t generation, const reason& why) {
    const std::size_t i = find(id);
    if (i == npos || children_[i].generation != generation) return;  // not this start
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
    terminate(std::move(others), [this, ids = std::move(ids), delay] {
      if (delay <= node::duration::zero()) {
        start_ids(ids);
        return;
      }
      // The supervisor's, not the child's: a request about one child cannot lose the others.
      restart_timers_.push_back(n_.after(delay, [weak = weak_from_this(), ids] {
        if (auto me = weak.lock()) me->start_ids(ids);
      }));
      if (restart_timers_.size() > 64) restart_timers_.erase(restart_timers_.begin());
    });
  }

  node::duration backoff(unsigned quick_deaths) const {
    if (quick_deaths == 0 || spec_.backoff_initial <= node::duration::zero()) return {};
    node::duration d = spec_.backoff_initial;
    for (unsigned k = 1; k < quick_deaths && d < spec_.backoff_max; ++k) d *= 2;
    return std::min(d, spec_.backoff_max);
  }

  /// Starts those of `ids` that are not running, in order: temporary ones (ended with a
  /// sibling) are forgotten instead, terminated ones stay down.
  void start_ids(const std::vector<std::string>& ids) {
    if (stopping_ || terminating_) {
      if (!stopping_) later_starts_.insert(later_starts_.end(), ids.begin(), ids.end());
      return;
    }
    for (const auto& id : ids) {
      const std::size_t k = find(id);
      if (k == npos || children_[k].port || children_[k].terminated) continue;
      if (children_[k].spec.restart == restart_type::temporary) {
        children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(k));
        continue;
      }
      start(k);
    }
  }

  // -- ending children in order ---------------------------------------------------------------

  void terminate(std::vector<std::string> ids, std::function<void()> then) {
    terminating_.emplace();
    terminating_->serial = ++terminations_;
    terminating_->ids = std::move(ids);
    terminating_->then = std::move(then);
    terminate_next();
  }

  /// Ends the next child of the termination: a supervisor child is asked to `stop` (its own
  /// children end in order), any other is killed with `shutdown`; after its shutdown time it
  /// is killed and no longer waited for.
  void terminate_next() {
    auto& t = *terminating_;
    t.limit.cancel();
    t.waiting.clear();
    while (t.next < t.ids.size()) {
      const std::size_t i = find(t.ids[t.next++]);
      if (i == npos) continue;
      child& c = children_[i];
      if (!c.port) continue;
      t.waiting = c.spec.id;
      if (c.spec.stop_tag.empty()) {
        n_.kil(c.port, reason{"shutdown"});
      } else {
        n_.snd(c.port, tag{c.spec.stop_tag});
      }
      t.limit = n_.after(c.spec.shutdown, [weak = weak_from_this(), serial = t.serial,
                                           id = c.spec.id] {
        auto me = weak.lock();
        if (!me || !me->terminating_ || me->terminating_->serial != serial ||
            me->terminating_->waiting != id) {
          return;
        }
        if (std::size_t k = me->find(id); k != npos && me->children_[k].port) {
          auto& late = me->children_[k];
          late.watch.cancel();
          ++late.generation;  // its end, if it comes later, is not waited for
          me->n_.kil(late.port, reason{"killed", "no end within its shutdown time"});
          me->late_.push_back(late.port);
          if (me->late_.size() > 64) me->late_.erase(me->late_.begin());
          late.port = {};
        }
        me->terminate_next();
      });
      return;
    }
    auto then = std::move(t.then);
    terminating_.reset();
    then();
    // What came meanwhile: ends of children that were not being ended, and restarts.
    while (!terminating_ && !stopping_ && (!later_.empty() || !later_starts_.empty())) {
      if (!later_.empty()) {
        death d = std::move(later_.front());
        later_.pop_front();
        if (std::size_t i = find(d.id); i != npos && !children_[i].port) act_on(i, d.why);
      } else {
        start_ids(std::exchange(later_starts_, {}));
      }
    }
  }

  /// The ordered stop: every child, last first, then the supervisor ends with `why`.
  void shut_down(reason why) {
    if (stopping_) return;
    stopping_ = true;
    end_reason_ = std::move(why);
    restart_timers_.clear();  // dropping a handle does not cancel: start_ids checks stopping_
    auto all = [this] {
      std::vector<std::string> ids;
      for (std::size_t k = children_.size(); k-- > 0;) ids.push_back(children_[k].spec.id);
      terminate(std::move(ids), [this] {
        stopped_ = end_reason_.normal();  // the children ended in order: nothing left to kill
        n_.kil(self_, end_reason_);
      });
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

  /// Ends the child as a stop would (waited for), then answers; it stays down until
  /// restart_child (a temporary one is forgotten).
  void terminate_child(const std::string& id, const port_id& reply) {
    const std::size_t i = find(id);
    if (i == npos || terminating_ || stopping_) {
      n_.snd(reply, "error",
             i == npos ? "no child '" + id + "'" : std::string{"the supervisor is busy ending children"});
      return;
    }
    children_[i].terminated = true;
    terminate({id}, [this, id, reply] {
      if (std::size_t k = find(id);
          k != npos && children_[k].spec.restart == restart_type::temporary) {
        children_.erase(children_.begin() + static_cast<std::ptrdiff_t>(k));
      }
      n_.snd(reply, "ok");
    });
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
  std::vector<timer> restart_timers_;  // restarts waiting for their backoff (the last 64)
  std::optional<termination> terminating_;
  std::uint64_t terminations_ = 0;
  std::deque<death> later_;               // ends that came during a termination
  std::vector<std::string> later_starts_;  // restarts that came due during one
  std::vector<port_id> late_;  // children that outlived their shutdown time (the last 64)
  bool stopping_ = false;
  bool stopped_ = false;  // a stop finished: the children ended in order
  reason end_reason_;
};

/// "" or what is wrong with a child's spec.
std::string check_child(const child_spec& c) {
  if (c.id.empty()) return "a child has an empty ID";
  if (c.init.empty()) return "child '" + c.id + "' has no init";
  if (!c.startable()) return "child '" + c.id + "' was not made by child_spec::of";
  for (const auto& id : c.nodes) {
    if (!valid_node_id(id)) return "child '" + c.id + "' names an invalid node ID '" + id + "'";
  }
  if (c.shutdown < node::duration::zero()) return "child '" + c.id + "' has a negative shutdown";
  return {};
}

void check(const supervisor_spec& spec) {
  if (spec.period <= node::duration::zero()) {
    throw std::invalid_argument{"coport: a supervisor's period must be positive"};
  }
  std::unordered_set<std::string> ids;
  for (const auto& c : spec.children) {
    if (std::string problem = check_child(c); !problem.empty()) {
      throw std::invalid_argument{"coport: " + problem};
    }
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
