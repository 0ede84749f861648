#pragma once
/// \file
/// coport::node_options — how a node is named and run.

#include <cstddef>
#include <cstdint>
#include <string>

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
  /// Where the log lines about this node go (every library's: runtime, transport, network,
  /// registry, groups); empty: the process's sink (coport/log.hpp). Called as that says
  /// (serialized, from any thread) until the node's destructor returns.
  log_sink log = {};
};

/// Counters of a node (approximate while it runs).
struct node_stats {
  std::size_t ports_created = 0;
  std::size_t ports_alive = 0;
  /// Messages the node's ports have taken from their mailboxes and handled (counted per run
  /// of a thread: behind by up to a millisecond's worth while threads are busy).
  std::uint64_t messages_handled = 0;
  std::size_t messages_dropped = 0;  ///< to dead or unknown ports, or dropped by a full mailbox
};

}  // namespace coport
