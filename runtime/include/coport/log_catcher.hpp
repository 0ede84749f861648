#pragma once
/// \file
/// AEMP's LogCatcher: a node's log lines, caught on another node as they happen.
///
/// `log_service` makes a node serve its lines (the node-port service `coport.logs`;
/// `network::membership` starts one on every node of a network); `catch_logs` asks a node
/// for them:
///
/// ```cpp
/// auto catching = catch_logs(n, "worker/1", log_level::warn, [](const log_record& r) {
///   std::printf("%s: %s\n", std::string{r.node}.c_str(), format_log_line(r).c_str());
/// });
/// ```
/// What is served is what the node writes: lines at its own level (coport/log.hpp's
/// `current_log_level` of its process) and past its rate limit, filtered again by the level
/// the catcher asked for. A serving node keeps at most `log_service::max_catchers` catchers
/// (`max_catchers_per_node` of one asking node; a dead catcher's port is forgotten by its
/// monitor; a catcher must be a port of the node that asks, never a node port), at most
/// `log_service::max_waiting` lines not yet sent (lines beyond are counted, and the next line
/// sent carries the count in `suppressed`), and sends at most `max_line` bytes of a line's
/// text. A catcher takes lines only from the node it caught, as the link names it.
/// Threading: thread-safe. `catch_logs`'s callback runs in a port of its own, one line at a
/// time. Lifetime: a `log_service` serves until destroyed (its node must outlive it); a
/// catch lasts until its guard ends it or the node ends; end the guard before destroying
/// the node (it kills the catcher's port on that node).

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "coport/log.hpp"
#include "coport/node.hpp"
#include "coport/subscription.hpp"

namespace coport {

/// Serves node `n`'s log lines to the nodes that catch them.
class log_service {
 public:
  static constexpr std::size_t max_catchers = 64;
  static constexpr std::size_t max_catchers_per_node = 16;  ///< of one asking node
  static constexpr std::size_t max_waiting = 1024;
  static constexpr std::size_t max_line = 4096;  ///< bytes of a line's text sent

  explicit log_service(node& n);
  ~log_service();
  log_service(const log_service&) = delete;
  log_service& operator=(const log_service&) = delete;

  struct state;

 private:
  node& node_;
  std::shared_ptr<state> state_;
};

/// Calls `on_line` with each line node `node_id` writes at `level` or more severe, as it
/// happens, until the guard ends (a node without a log_service sends nothing). The
/// record's views are valid during the call. Throws std::invalid_argument for a malformed
/// node ID.
subscription catch_logs(node& n, std::string_view node_id, log_level level,
                        std::function<void(const log_record&)> on_line);

}  // namespace coport
