#pragma once
/// \file
/// coport::node_options — how a node is named and run.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "coport/log.hpp"

namespace coport {

/// How a node runs its ports.
enum class run_mode {
  threads,        ///< its own pool of threads (or the embedding io_context's threads)
  deterministic,  ///< nothing runs until the caller calls `step` / `run_until_idle` (tests)
};

/// Construction options of a node.
struct node_options {
  /// The node ID; `anon/` (or any ID ending in `/`) gets a random suffix.
  std::string id = "anon/";
  /// Worker threads of a self-run node; 0 = the machine's hardware concurrency.
  unsigned threads = 0;
  /// Threads or deterministic stepping.
  run_mode mode = run_mode::threads;
  /// Messages one port handles before it yields its thread to other ports.
  std::size_t port_budget = 64;
  /// Ports spawned here from an init whose name matches one of these patterns (`*` matches
  /// any run of characters: "worker*") are measured (node::measure, under the init's name).
  std::vector<std::string> measure = {};
  /// Spans a second this node records at most while tracing is on (coport/trace.hpp); the
  /// rest are counted. At least 1.
  double trace_rate = 1000;
  /// Nonzero: the node's incarnation, the keys that make its port numbers and the start of
  /// the numbers it mints are drawn from this seed instead of the system's randomness, so
  /// that a deterministic node run twice makes the same IDs (coport::testing::simulation).
  /// Never in production: two nodes with one seed make the same port IDs.
  std::uint64_t seed = 0;
  /// Where the log lines about this node go (every library's: runtime, transport, network,
  /// registry, groups); empty: the process's sink (coport/log.hpp). Called as that says
  /// (serialized, from any thread) until the node's destructor returns.
  log_sink log = {};
};

/// Durations in buckets, as a Prometheus histogram holds them.
struct time_histogram {
  static constexpr std::size_t buckets = 9;
  /// Each bucket's upper bound in seconds; the last bucket holds the longer ones.
  static constexpr std::array<double, buckets - 1> bounds = {1e-6, 1e-5, 1e-4, 1e-3,
                                                             1e-2, 1e-1, 1,    10};
  std::array<std::uint64_t, buckets> counts{};  ///< per bucket (not cumulative)
  std::uint64_t count = 0;
  double sum = 0;  ///< seconds
};

/// The figures of a measured port (node::measure), approximate while it runs.
struct port_figures {
  std::string port;             ///< its ID as text
  std::string name;             ///< the name it was measured under
  std::size_t mailbox = 0;      ///< messages pushed and not yet handled
  std::uint64_t handled = 0;    ///< messages handled
  time_histogram handler_time;  ///< every handler run
};

/// Counters of a node (approximate while it runs).
struct node_stats {
  std::size_t ports_created = 0;
  std::size_t ports_alive = 0;
  /// Messages the node's ports have taken from their mailboxes and handled, the runtime's own
  /// (handler installs, closures, probes) included; a thread adds its count when its job
  /// ends or yields (every millisecond between handlers while it is busy).
  std::uint64_t messages_handled = 0;
  std::size_t messages_dropped = 0;  ///< to dead or unknown ports, or dropped by a full mailbox
  /// How long handlers ran, sampled: one port run in 64 (each thread's, and each step) is
  /// timed and adds one sample, its handler runs' mean time (two clock reads per sample,
  /// nothing for the other runs).
  time_histogram handler_time;
  /// The deepest mailbox seen in the last 10 s, sampled: the runs that time their handlers
  /// count the messages their port has queued as they start, up to 1 000 (1 000: at least
  /// that many; a count walks the queue, so it stops there); 0 when none was sampled lately.
  /// Measured ports (node::measure) have their mailboxes exactly.
  std::size_t deepest_mailbox = 0;
  std::string deepest_port;  ///< whose (its ID as text)
};

}  // namespace coport
