#pragma once
/// \file
/// detail::thread_state — everything the runtime keeps per thread, in one place: the port
/// this thread runs, what the running handler has sent, its pending batch, its send cache,
/// the scheduler's runner, the flushes transports asked for at the run's end, the count of
/// messages it handled, whether it is inside a log sink (log.cpp), and the trace what it
/// sends carries (tracer.cpp).
///
/// One constant-initialised, trivially destructible thread-local (`per_thread`), so each
/// access is a plain TLS offset (no guard, no wrapper call) on the hot paths. Per-thread
/// state kept elsewhere on purpose: the message pool's free lists and the tag literal cache
/// (in public headers: templates in user code reach them inline), and the two thread-exit
/// hooks that return pooled blocks and send-cache pins (they need destructors).
/// Threading: each thread sees its own. Lifetime: the thread's.
/// May include: nothing of the runtime but forward declarations.

#include <cstddef>
#include <cstdint>

namespace coport {
struct trace_context;
}

namespace coport::detail {

class node_core;
class send_path;
struct port_impl;
struct message_block;
struct local_runner;

/// The port a thread is running, if any (AEMP's $SELF).
struct context {
  node_core* core = nullptr;
  port_impl* port = nullptr;
  /// The origin of the message being dispatched (message_block::origin; 0: made here).
  std::uint32_t origin = 0;
};

/// One entry of a thread's send cache: a pinned lookup (see `send_path::lookup_cached`).
/// Plain data, so the hit path is a plain thread-local access; the entries' owners (weak
/// pointers, for eviction at thread exit) live beside them in send_path.cpp.
struct send_cache_entry {
  std::uint64_t core_uid = 0;
  std::uint64_t local = 0;
  port_impl* port = nullptr;
};

/// Messages a busy handler sent to one port and has not pushed yet (send_path.cpp).
struct pending_batch {
  send_path* path = nullptr;
  port_impl* port = nullptr;
  message_block* newest = nullptr;  ///< linked newest -> ... -> oldest, as in an inbox
  message_block* oldest = nullptr;
  std::uint32_t count = 0;
};

/// What transports asked to flush when this thread's current run ends (flush_at_run_end).
struct run_end_flushes {
  void (*fns[8])() = {};
  unsigned count = 0;
};

/// 1024 entries (24 KiB a thread, plus 16 KiB of owners once it misses): a handler that
/// cycles through a few hundred ports (a 503-port thread ring) still hits.
inline constexpr unsigned send_cache_bits = 10;

inline constexpr std::size_t send_cache_size = std::size_t{1} << send_cache_bits;

struct thread_state {
  context current;
  /// Messages pushed by the handler running here since its dispatch began (reset per
  /// dispatch): one that has pushed `busy_sends` is a producer (see scheduler.hpp).
  std::uint32_t sends_this_dispatch = 0;
  /// Messages this thread has taken from mailboxes in the current job: a scheduler adds the
  /// difference over its job (or step) to its node's count, then puts it back, so that a job
  /// around it (a handler of another node that steps this one) does not count them again.
  std::uint64_t handled = 0;

  /// Set when a handler of the port running here was replaced (see port_impl::graveyard).
  bool buried_this_dispatch = false;
  /// This thread is calling a log sink or tap (it holds the log lock): its own lines go to
  /// stderr (log.cpp).
  bool in_log_sink = false;
  /// The context of what this thread sends now: set while a handler runs on a traced message
  /// (its parent is that run's span) and inside a coport::trace_scope (tracer.cpp).
  const trace_context* outgoing_trace = nullptr;
  pending_batch pending_sends;
  run_end_flushes run_end;
  /// The scheduler's runner active on this thread, if any (scheduler.cpp).
  local_runner* runner = nullptr;
  send_cache_entry send_cache[send_cache_size];
};

inline thread_local thread_state per_thread;

}  // namespace coport::detail
