#pragma once
/// \file
/// coport::testing::cluster — deterministic nodes joined by in-memory links, stepped together
/// on one virtual clock, with expectations on the messages that cross (CAF's deterministic
/// fixture, for coport): what a test of distributed actors needs to assert order and time
/// without threads, sockets or sleeps.
///
/// ```cpp
/// #include <coport/testing/cluster.hpp>
/// coport::testing::cluster c{{"a", "b"}};     // two nodes, linked, handshakes done
/// auto p = c[1].port([](coport::message&) {});
/// c[0].snd(p, "add", 1, std::string{"x"});
/// c.expect<int, std::string>("add").from(0).to(p);  // the next message a -> b is that one
/// c.advance(std::chrono::seconds{5});           // every node's clock moves; timers fire
/// ```
/// Bytes wait on the links until the cluster hands them over: `run` hands over everything
/// until nothing moves; `expect(...).to(...)` hands over one frame at a time up to the next
/// message; `link(i, j)` gives a link's own controls (hand over some bytes, break it).
/// A failed expectation, or a cluster that does not settle, throws `testing::failure` with
/// what happened (every test framework reports an exception escaping a test).
/// Threading: one thread (the test's); the nodes are deterministic. Lifetime: nodes and
/// transports live as long as the cluster; `restart` replaces one node (same ID, new
/// incarnation).
/// May include: the runtime's and the transport's public headers (link coport::testing).

#include <chrono>
#include <coport/coport.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coport::testing {

/// What a failed expectation throws.
class failure : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// The options of a deterministic node named `id`: it runs nothing until stepped.
inline node_options stepped(const char* id) {
  node_options o;
  o.id = id;
  o.mode = run_mode::deterministic;
  return o;
}

class cluster {
 public:
  /// Nodes with these IDs, every pair linked (unless `linked` is false), handshakes done.
  /// With a nonzero `seed`, each node's IDs are drawn from it (node_options::seed; a
  /// restarted node's from the seed and its restart count): the same run makes the same IDs.
  explicit cluster(std::vector<std::string> ids, bool linked = true, std::uint64_t seed = 0)
      : ids_{std::move(ids)}, seed_{seed} {
    for (std::size_t i = 0; i < ids_.size(); ++i) make(i);
    if (linked) {
      for (std::size_t i = 0; i < ids_.size(); ++i) {
        for (std::size_t j = i + 1; j < ids_.size(); ++j) connect(i, j);
      }
      run();
    }
  }
  ~cluster() {
    for (auto& e : entries_) e.transport.reset();
    for (auto& e : entries_) e.n.reset();
  }
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  node& operator[](std::size_t i) { return *entries_.at(i).n; }
  coport::transport::endpoint& transport(std::size_t i) { return *entries_.at(i).transport; }
  std::size_t size() const { return entries_.size(); }

  /// Links nodes i and j (i dials j); the handshake runs at the next `run`.
  coport::transport::memory_link& connect(std::size_t i, std::size_t j) {
    auto l = coport::transport::memory_link::connect(transport(i), transport(j), /*manual=*/true);
    links_[{i, j}] = l;
    return *l;
  }
  /// Links i and j anew (after their link broke): the old link is forgotten.
  coport::transport::memory_link& reconnect(std::size_t i, std::size_t j) {
    links_.erase({i, j});
    links_.erase({j, i});
    return connect(i, j);
  }
  /// True while i and j have a link that has not been broken here (cut), nor reset with
  /// both ends having seen it end.
  bool linked(std::size_t i, std::size_t j) const {
    auto it = links_.find({i, j});
    if (it == links_.end()) it = links_.find({j, i});
    return it != links_.end() && !it->second->ended();
  }
  /// Breaks the link between i and j (what is in flight is lost) and forgets it.
  void cut(std::size_t i, std::size_t j, const std::string& why) {
    link(i, j).break_link(why);
    links_.erase({i, j});
    links_.erase({j, i});
  }

  /// Resets the link between i and j (TCP's RST: what is in flight is lost) and forgets it:
  /// both nodes wait for a new one to resume on (transport_options::resume_window).
  /// The link stays linked() until both nodes have seen it end (a new one made before
  /// would meet the old one still current, and be refused as a second connection).
  void reset(std::size_t i, std::size_t j, const std::string& why) { link(i, j).reset_link(why); }

  /// The link between i and j (made by connect(i, j) or connect(j, i)).
  coport::transport::memory_link& link(std::size_t i, std::size_t j) {
    if (auto it = links_.find({i, j}); it != links_.end()) return *it->second;
    if (auto it = links_.find({j, i}); it != links_.end()) return *it->second;
    throw failure{"no link between nodes " + std::to_string(i) + " and " + std::to_string(j)};
  }
  /// Direction of bytes from i to j on their link.
  coport::transport::memory_link::direction way(std::size_t i, std::size_t j) const {
    return links_.count({i, j}) ? coport::transport::memory_link::direction::a_to_b
                                : coport::transport::memory_link::direction::b_to_a;
  }

  /// Steps every node until idle (bytes on links stay there); returns the steps taken.
  std::size_t settle(std::size_t limit = 10'000'000) {
    std::size_t steps = 0;
    bool any = true;
    while (any && steps < limit) {
      any = false;
      for (auto& e : entries_) {
        while (e.n && e.n->step()) {
          any = true;
          if (++steps >= limit) break;
        }
      }
    }
    if (steps >= limit) throw failure{"the cluster did not settle"};
    return steps;
  }

  /// Steps nodes and hands over every frame until nothing moves; returns the steps taken.
  std::size_t run(std::size_t limit = 10'000'000) {
    std::size_t steps = 0;
    for (;;) {
      steps += settle(limit);
      std::size_t moved = 0;
      for (auto& [key, l] : links_) moved += l->hand_over_all();
      if (moved == 0 && settle(limit) == 0) return steps;
      if (steps >= limit) throw failure{"the cluster did not settle"};
    }
  }

  /// Moves every node's virtual clock forward by `d`, then runs; returns the timers fired.
  std::size_t advance(node::duration d) {
    std::size_t fired = 0;
    for (auto& e : entries_) fired += e.n->advance(d);
    run();
    return fired;
  }

  /// Destroys node i and starts a new one with the same ID (a new incarnation), linked to
  /// every other node again.
  void restart(std::size_t i) {
    restart(
        i, [](std::size_t) { return true; }, true);
  }
  /// The same, linked again only to the nodes `link_to(j)` accepts; without `run`, nothing
  /// is stepped or handed over here (the breaks and handshakes wait for the caller).
  template <class Pred>
  void restart(std::size_t i, Pred link_to, bool run_now) {
    for (auto it = links_.begin(); it != links_.end();) {
      if (it->first.first == i || it->first.second == i) {
        it->second->break_link("node restarted");
        it = links_.erase(it);
      } else {
        ++it;
      }
    }
    if (run_now) run();
    entries_.at(i).transport.reset();
    entries_[i].n.reset();
    make(i);
    for (std::size_t j = 0; j < entries_.size(); ++j) {
      if (j != i && link_to(j)) connect(j, i);
    }
    if (run_now) run();
  }

  /// Node i leaves the network normally: its transport ends, saying bye on every link (its
  /// peers see `shutdown`, not a failure). The node lives on without links (`transport(i)`
  /// must not be used) until the cluster ends or `restart(i)` starts a new incarnation.
  void leave(std::size_t i) {
    entries_.at(i).transport.reset();
    run();
    for (auto it = links_.begin(); it != links_.end();) {
      it = it->first.first == i || it->first.second == i ? links_.erase(it) : std::next(it);
    }
  }

  /// Frames received so far by node i, oldest first (kind, from, to, tag, types); the newest
  /// 10 000.
  std::deque<coport::transport::frame_event>& received(std::size_t i) {
    return *entries_.at(i).events;
  }

  /// An expectation on the next message that crosses from one node to a port.
  template <class... Ts>
  class expectation {
   public:
    expectation(cluster& c, std::string tag) : c_{c}, tag_{std::move(tag)} {}
    expectation& from(std::size_t i) {
      from_ = i;
      return *this;
    }
    /// Steps until node `from` has sent, then hands over frames from it to the node of
    /// `target` one at a time until a message arrives; throws `failure` unless it has the
    /// expected tag, value types and target.
    void to(const port_id& target) {
      std::size_t j = c_.index_of(target.node());
      c_.settle();
      auto& events = c_.received(j);
      events.clear();
      auto& l = c_.link(from_, j);
      for (;;) {
        if (l.hand_over(c_.way(from_, j), 1) != 1) {
          throw failure{"no message from node " + std::to_string(from_) + " to " +
                        target.to_string()};
        }
        if (!events.empty() && events.back().kind == "message") break;
      }
      const auto& e = events.back();
      const std::vector<std::string> types{wire::codec<Ts>::name()...};
      if (e.tag != tag_ || e.to != target || e.types != types) {
        throw failure{"expected '" + tag_ + "' (" + join(types) + ") to " + target.to_string() +
                      ", got '" + e.tag + "' (" + join(e.types) + ") to " + e.to.to_string()};
      }
      c_.settle();
    }

   private:
    static std::string join(const std::vector<std::string>& v) {
      std::string out;
      for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
      return out;
    }
    cluster& c_;
    std::string tag_;
    std::size_t from_ = 0;
  };

  template <class... Ts>
  expectation<Ts...> expect(std::string tag) {
    return expectation<Ts...>{*this, std::move(tag)};
  }

  /// The index of the node with ID `id`.
  std::size_t index_of(std::string_view id) const {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].n && entries_[i].n->id() == id) return i;
    }
    throw failure{"no node " + std::string{id} + " in the cluster"};
  }

 private:
  struct entry {
    std::unique_ptr<node> n;
    std::unique_ptr<coport::transport::endpoint> transport;
    std::shared_ptr<std::deque<coport::transport::frame_event>> events;
    std::uint64_t starts = 0;
  };

  void make(std::size_t i) {
    if (entries_.size() <= i) entries_.resize(i + 1);
    entry& e = entries_[i];
    node_options o = stepped(ids_[i].c_str());
    if (seed_ != 0) o.seed = seed_ ^ ((i + 1) * 0x9e3779b97f4a7c15ull) ^ (++e.starts << 40);
    e.n = std::make_unique<node>(std::move(o));
    e.transport = std::make_unique<coport::transport::endpoint>(*e.n);
    e.events = std::make_shared<std::deque<coport::transport::frame_event>>();
    e.transport->observe([events = e.events](const coport::transport::frame_event& ev) {
      events->push_back(ev);
      if (events->size() > 10'000) events->pop_front();
    });
  }

  std::vector<std::string> ids_;
  std::uint64_t seed_ = 0;
  std::vector<entry> entries_;
  std::map<std::pair<std::size_t, std::size_t>, std::shared_ptr<coport::transport::memory_link>>
      links_;
};

}  // namespace coport::testing
