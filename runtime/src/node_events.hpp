#pragma once
/// \file
/// detail::node_events — which nodes this node has links to, and the `mon_nodes`
/// subscribers told when one comes up or goes down.
///
/// A transport reports each link's end as `up` and `down` (counted: two links to one node
/// make one event each way). Each event runs every subscriber's callback through the
/// subscriber's own `poster` (its port, or a plain job), one call at a time and in the order
/// the events came, and only while its subscription is alive: once the guard's `cancel()`
/// returns, the callback is not running and never runs again (it waits for a call running
/// on another thread; a callback may end its own guard).
/// Threading: thread-safe. Lifetime: guards may outlive it (cancelling then does nothing).
/// May include: the runtime's public and detail headers only.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "coport/detail/unique_function.hpp"
#include "coport/reason.hpp"
#include "coport/subscription.hpp"

namespace coport::detail {

class node_events {
 public:
  using callback = unique_function<void(const std::string&, bool, const reason&)>;
  /// Runs a job where the subscriber wants its callback to run.
  using poster = unique_function<void(unique_function<void()>)>;

  node_events();
  node_events(const node_events&) = delete;
  node_events& operator=(const node_events&) = delete;

  /// Calls `f(node_id, up, reason)` for each later event, through `post`.
  subscription subscribe(callback f, poster post);
  /// A link to `node_id` came up; the first one tells the subscribers.
  void up(std::string_view node_id);
  /// A link to `node_id` ended; the last one tells the subscribers, with `why`.
  void down(std::string_view node_id, const reason& why);
  /// The nodes with at least one link up.
  std::vector<std::string> up_nodes() const;

 private:
  struct watch;
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace coport::detail
