#pragma once
/// \file
/// Traces collected across nodes: a node serves the spans it records to the nodes that catch
/// them, and turns tracing on for them (coport/trace.hpp).
///
/// `trace_service` makes a node serve (the node-port service `coport.trace`;
/// `network::membership` starts one on every node of a network); `catch_traces` asks a node:
///
/// ```cpp
/// auto caught = catch_traces(n, "shop/1", trace_filter{.tags = {"order"}},
///                            [](const span& s) { std::cout << to_json(s) << '\n'; });
/// ```
/// While a catch lasts, the serving node traces what its filter names (a filter that names
/// nothing starts no trace there: the catcher still gets the spans of traces that pass through,
/// started elsewhere) and sends every span it records to every catcher. Bounds: at most
/// `max_catchers` catchers (`max_catchers_per_node` of one asking node; a dead catcher is
/// forgotten by its monitor; a catcher must be a port of the node that asks, never a node port),
/// filters of at most `max_filter_names` ports and tags (tags of at most `max_tag` bytes),
/// a rate of at most `max_rate`; at most `max_waiting` spans not yet sent (the rest counted in
/// the next span's `suppressed`). A catcher takes spans only from the node it caught, as the
/// link names it, and that name is the span's `node`.
/// Threading: thread-safe; `catch_traces`'s callback runs in a port of its own, one span at a
/// time. Lifetime: a `trace_service` serves until destroyed (its node must outlive it); a
/// catch lasts until its guard ends it or the node ends; end the guard before destroying the
/// node (it kills the catcher's port on that node).

#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "coport/node.hpp"
#include "coport/subscription.hpp"
#include "coport/trace.hpp"

namespace coport {

/// Serves node `n`'s spans to the nodes that catch them.
class trace_service {
 public:
  static constexpr std::size_t max_catchers = 16;
  static constexpr std::size_t max_catchers_per_node = 4;  ///< of one asking node
  static constexpr std::size_t max_filter_names = 64;
  static constexpr std::size_t max_tag = 1024;
  static constexpr double max_rate = 10000;
  static constexpr std::size_t max_waiting = 4096;

  explicit trace_service(node& n);
  ~trace_service();
  trace_service(const trace_service&) = delete;
  trace_service& operator=(const trace_service&) = delete;

  struct state;

 private:
  node& node_;
  std::shared_ptr<state> state_;
};

/// Calls `on_span` with each span node `node_id` records, turning tracing on there as `filter`
/// says (it may name nothing), until the guard ends. Throws std::invalid_argument for a
/// malformed node ID, a missing callback, or a filter beyond trace_service's bounds (or
/// coport::trace's, when it names something).
subscription catch_traces(node& n, std::string_view node_id, const trace_filter& filter,
                          std::function<void(const span&)> on_span);

}  // namespace coport
