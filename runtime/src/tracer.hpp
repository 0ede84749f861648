#pragma once
/// \file
/// detail::tracer — one node's tracing (coport/trace.hpp): the filters that start traces, the
/// span a handler run on a traced message makes, what that run's sends carry, and the queue
/// from which the hooks take spans.
///
/// The whole life of a trace on a node:
///   send_path::send_slow / node_link::deliver, a user message, a filter on: `start` (a root:
///     a `send` span, the message marked as its child, within the filter's rate; while a
///     filter is on, the node's sends miss the send cache so that they all pass send_slow);
///   send_path::send inside a traced run or a trace_scope: `mark_sent` (a child of the run);
///   port_impl's dispatch, a block of kind `traced`: `handle` (takes the mark, runs the
///     handler as a span whose ID is the parent of what it sends, records it);
///   `record`: within node_options::trace_rate and max_waiting_spans, into the queue; a job on
///     the node gives the queue to the hooks, one at a time.
/// Threading: every member is thread-safe (one mutex for roots and the queue; the filters are
/// an immutable snapshot; the send path tests the thread's outgoing trace and, on its slow
/// path, the node's filtering flag before coming here). Lifetime: part of node_core.
/// May include: the runtime's public headers, coport/internal/trace_marks.hpp, thread_state.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "coport/internal/trace_marks.hpp"
#include "coport/tag.hpp"
#include "coport/trace.hpp"

namespace coport::detail {

class node_core;
struct port_impl;

/// A filter that is on: what it matches never changes.
struct trace_filter_on {
  std::uint64_t id = 0;
  trace_filter filter;
  bool matches(const port_id& to, tag t) const noexcept;
};

class tracer {
 public:
  tracer(node_core& core, double rate);
  ~tracer();
  tracer(const tracer&) = delete;
  tracer& operator=(const tracer&) = delete;

  /// Turns `f` on (validated by the caller); returns its ID for `remove_filter`.
  std::uint64_t add_filter(const trace_filter& f);
  void remove_filter(std::uint64_t id) noexcept;
  std::uint64_t add_hook(std::function<void(const span&)> hook);
  void remove_hook(std::uint64_t id) noexcept;

  /// True when some filter of this node is on (a relaxed load).
  bool filtering() const noexcept { return filtering_.load(std::memory_order_relaxed); }

  /// Block `n`, untraced, is sent (or arrived) for `to`: when a filter matches it and admits
  /// one more trace, records the root and marks `n`. `from`: the sending port, or null for
  /// the port this thread runs (looked up only when a filter matches). Matching reads an
  /// immutable snapshot of the filters (no lock); admitting a root takes the mutex.
  void start(const port_id& to, message_block* n, const port_id* from) noexcept;
  /// Block `n`, untraced, is sent from this thread while `*outgoing` is its trace: marks it
  /// as that context's child, unless the chain has ended.
  void mark_sent(message_block* n, const trace_context& outgoing) noexcept;
  /// Runs `run` (the dispatch of `n` to port `p`) as a span when `n` carries a mark.
  template <class Run>
  void handle(port_impl* p, message_block* n, Run&& run);

  trace_stats stats() const;

 private:
  struct filter_entry;
  struct running;
  /// Takes `n`'s mark and sets this thread's outgoing trace: the run's context.
  bool begin(port_impl* p, message_block* n, running& r) noexcept;
  void end(running& r) noexcept;
  void record(span s) noexcept;
  void drain();

  node_core& core_;
  const double rate_;
  std::atomic<bool> filtering_{false};

  /// The filters on, replaced whole when one is added or removed (under mutex_).
  std::atomic<std::shared_ptr<const std::vector<trace_filter_on>>> filters_;
  mutable std::mutex mutex_;
  std::vector<filter_entry> buckets_;  ///< each filter's roots bucket, by its ID
  /// A hook, and the lock held while it is called: removing it waits for a call in progress
  /// (unless the hook removes itself), and it is not called after.
  struct hook_entry {
    explicit hook_entry(std::function<void(const span&)> f) : fn{std::move(f)} {}
    std::function<void(const span&)> fn;
    std::mutex calling;
    std::atomic<bool> removed{false};
  };
  std::vector<std::pair<std::uint64_t, std::shared_ptr<hook_entry>>> hooks_;
  std::vector<span> waiting_;
  bool draining_ = false;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::uint64_t next_id_ = 1;
  std::uint64_t unrecorded_ = 0;  ///< since the last span recorded
  std::size_t roots_ = 0, spans_ = 0, suppressed_ = 0;
};

/// The span of one handler run (tracer::handle).
struct tracer::running {
  trace_context outgoing;  ///< what the run's sends carry: parent = this span
  const trace_context* saved = nullptr;
  span s;
  std::chrono::steady_clock::time_point started;
};

template <class Run>
void tracer::handle(port_impl* p, message_block* n, Run&& run) {
  running r;
  if (!begin(p, n, r)) {
    run();
    return;
  }
  try {
    run();
  } catch (...) {
    end(r);
    throw;
  }
  end(r);
}

}  // namespace coport::detail
