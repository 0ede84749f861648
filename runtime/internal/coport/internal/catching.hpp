#pragma once
/// \file
/// What the services that serve another node's catchers share (the log catcher's
/// `coport.logs`, the trace catcher's `coport.trace`), on both sides of the link:
///
/// - `catcher_places`: which catchers a serving node keeps. A catcher is a port of the node
///   that asks (its link says which), never a node port nor the service itself; each asking
///   node has at most `per_node` of the `total` places.
/// - `waiting_list<T>`: what a producer on any thread (a log tap, a span hook) hands to the
///   service's port: bounded, the overflow counted, the port woken when it was empty.
/// - `catcher_port`: the catching side's port, which takes messages only from the node it
///   caught, as the link names it (this node's own when it caught itself).
/// Threading: catcher_places is the service port's (one thread at a time); waiting_list is
/// thread-safe; catcher_port's callback runs in its port. Lifetime: the service's.
/// May include: the runtime's public headers only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coport/message.hpp"
#include "coport/node.hpp"

namespace coport::detail {

/// The places for catchers on a serving node.
class catcher_places {
 public:
  catcher_places(std::size_t total, std::size_t per_node) : total_{total}, per_node_{per_node} {}

  /// Why `catcher`, named by `m` to the service at `self` of `owner`, is refused, or null
  /// (then it holds a place until `release`). `known`: it holds one already.
  const char* admit(const message& m, const port_id& catcher, const port_id& self,
                    const node& owner, bool known) {
    const port_id origin = m.origin();
    if (!catcher || catcher.is_node_port() || catcher == self ||
        (origin ? catcher.node_number() != origin.node_number() : !owner.is_local(catcher))) {
      return "its catcher is no port of the node that asks";
    }
    if (known) return nullptr;
    std::size_t& mine = by_node_[catcher.node_number()];
    if (held_ >= total_ || mine >= per_node_) {
      if (mine == 0) by_node_.erase(catcher.node_number());
      return "there are catchers enough";
    }
    ++mine;
    ++held_;
    return nullptr;
  }
  /// `catcher` gives its place back (its port died).
  void release(const port_id& catcher) {
    auto it = by_node_.find(catcher.node_number());
    if (it == by_node_.end()) return;
    --held_;
    if (--it->second == 0) by_node_.erase(it);
  }

 private:
  const std::size_t total_, per_node_;
  std::size_t held_ = 0;
  std::map<std::uint32_t, std::size_t> by_node_;  ///< places by the node number that asked
};

/// A bounded list from producers on any thread to a service's port.
template <class T>
class waiting_list {
 public:
  explicit waiting_list(std::size_t capacity) : capacity_{capacity} {}

  /// Adds `make()` (called only when there is room, under the list's lock); true when the
  /// list was empty (the caller wakes the port). When full, counts one lost.
  template <class Make>
  bool add(Make&& make) {
    std::lock_guard lock{mutex_};
    if (items_.size() >= capacity_) {
      ++lost_;
      return false;
    }
    const bool was_empty = items_.empty();
    items_.push_back(make());
    return was_empty;
  }
  /// Everything waiting, and how many were lost since the last take.
  std::pair<std::vector<T>, std::uint64_t> take() {
    std::lock_guard lock{mutex_};
    return {std::exchange(items_, {}), std::exchange(lost_, 0)};
  }

 private:
  const std::size_t capacity_;
  std::mutex mutex_;
  std::vector<T> items_;
  std::uint64_t lost_ = 0;
};

/// A port of `n` whose `on_message` gets only what node `caught` sends it (as its link names
/// it; a message made on `n` itself when `caught` is `n`'s ID).
inline port_id catcher_port(node& n, std::string_view caught,
                            std::function<void(message&)> on_message) {
  return n.port(
      [fn = std::move(on_message), id = std::string{caught}, here = caught == n.id()](message& m) {
        const port_id origin = m.origin();
        if (here ? static_cast<bool>(origin) : (!origin || origin.node() != id)) return;
        fn(m);
      });
}

}  // namespace coport::detail
