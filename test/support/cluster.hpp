#pragma once
/// \file
/// Test support: deterministic nodes joined by in-memory links, stepped together on one
/// virtual clock, with CAF-style expectations on the messages that cross.
///
/// ```cpp
/// cluster c{{"a", "b"}};                 // connected, hellos exchanged
/// c[0].snd(port_on_b, "add", 1, "x"s);
/// c.expect<int, std::string>("add").from(0).to(port_on_b);  // the next message a -> b
/// c.run();                                // steps nodes and links until nothing moves
/// ```
/// Bytes wait on the links until the cluster hands them over (frame by frame in `expect`).
/// Threading: one test thread. Lifetime: nodes and transports live as long as the cluster;
/// `restart` replaces one node (same ID, new incarnation).

#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "support/deaths.hpp"
#include "support/nodes.hpp"

namespace coport::test {

namespace tp = coport::transport;

class cluster {
 public:
  /// Nodes with these IDs, every pair linked (unless `linked` is false), hellos exchanged.
  explicit cluster(std::vector<std::string> ids, bool linked = true) : ids_{std::move(ids)} {
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

  node& operator[](std::size_t i) { return *entries_.at(i).n; }
  tp::transport& transport(std::size_t i) { return *entries_.at(i).transport; }
  std::size_t size() const { return entries_.size(); }

  /// Links nodes i and j (i dials j).
  tp::memory_link& connect(std::size_t i, std::size_t j) {
    auto l = tp::memory_link::connect(transport(i), transport(j), /*manual=*/true);
    links_[{i, j}] = l;
    return *l;
  }
  /// The link between i and j (made by connect(i, j) or connect(j, i)).
  tp::memory_link& link(std::size_t i, std::size_t j) {
    if (auto it = links_.find({i, j}); it != links_.end()) return *it->second;
    return *links_.at({j, i});
  }
  /// Direction of bytes from i to j on their link.
  tp::memory_link::direction way(std::size_t i, std::size_t j) {
    return links_.count({i, j}) ? tp::memory_link::direction::a_to_b
                                : tp::memory_link::direction::b_to_a;
  }

  /// Steps every node until idle (no link traffic).
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
    REQUIRE_MESSAGE(steps < limit, "the cluster did not settle");
    return steps;
  }

  /// Steps nodes and hands over every frame until nothing moves; returns the steps taken.
  std::size_t run(std::size_t limit = 10'000'000) {
    std::size_t steps = 0;
    for (;;) {
      steps += settle(limit);
      std::size_t moved = 0;
      for (auto& [key, l] : links_) moved += l->deliver_all();
      if (moved == 0 && settle(limit) == 0) return steps;
      REQUIRE_MESSAGE(steps < limit, "the cluster did not settle");
    }
  }

  /// Moves every node's virtual clock forward by `d`, then runs.
  std::size_t advance(node::duration d) {
    std::size_t fired = 0;
    for (auto& e : entries_) fired += e.n->advance(d);
    run();
    return fired;
  }

  /// Destroys node i and starts a new one with the same ID (a new incarnation), linked to
  /// every other node again.
  void restart(std::size_t i) {
    for (auto it = links_.begin(); it != links_.end();) {
      if (it->first.first == i || it->first.second == i) {
        it->second->break_link("node restarted");
        it = links_.erase(it);
      } else {
        ++it;
      }
    }
    run();
    entries_[i].transport.reset();
    entries_[i].n.reset();
    make(i);
    for (std::size_t j = 0; j < entries_.size(); ++j) {
      if (j != i) connect(j, i);
    }
    run();
  }

  /// Frames received so far by node i, oldest first (kind, from, to, tag, types).
  std::deque<tp::frame_event>& received(std::size_t i) { return *entries_.at(i).events; }

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
    /// `target` one at a time until a message arrives; checks its tag, types and target.
    void to(const port_id& target) {
      std::size_t j = c_.index_of(target.node());
      c_.settle();
      auto& events = c_.received(j);
      events.clear();
      auto& l = c_.link(from_, j);
      for (;;) {
        REQUIRE_MESSAGE(l.deliver(c_.way(from_, j), 1) == 1,
                        "no message from node " << from_ << " to " << target.to_string());
        if (!events.empty() && events.back().kind == "message") break;
      }
      const auto& e = events.back();
      CHECK(e.tag == tag_);
      CHECK(e.to == target);
      CHECK(e.types == std::vector<std::string>{wire::codec<Ts>::name()...});
      c_.settle();
    }

   private:
    cluster& c_;
    std::string tag_;
    std::size_t from_ = 0;
  };

  template <class... Ts>
  expectation<Ts...> expect(std::string tag) {
    return expectation<Ts...>{*this, std::move(tag)};
  }

  std::size_t index_of(std::string_view id) {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].n->id() == id) return i;
    }
    FAIL("no node " << id);
    return 0;
  }

 private:
  struct entry {
    std::unique_ptr<node> n;
    std::unique_ptr<tp::transport> transport;
    std::shared_ptr<std::deque<tp::frame_event>> events;
  };

  void make(std::size_t i) {
    if (entries_.size() <= i) entries_.resize(i + 1);
    entry& e = entries_[i];
    e.n = std::make_unique<node>(stepped(ids_[i].c_str()));
    e.transport = std::make_unique<tp::transport>(*e.n);
    e.events = std::make_shared<std::deque<tp::frame_event>>();
    e.transport->observe([events = e.events](const tp::frame_event& ev) {
      events->push_back(ev);
      if (events->size() > 10'000) events->pop_front();
    });
  }

  std::vector<std::string> ids_;
  std::vector<entry> entries_;
  std::map<std::pair<std::size_t, std::size_t>, std::shared_ptr<tp::memory_link>> links_;
};

}  // namespace coport::test
