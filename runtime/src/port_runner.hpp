#pragma once
/// \file
/// detail::port_runner — running one port: taking messages from its inbox, dispatching each
/// to its handler (by tag, then the actor's selective receive, then the fallback), killing
/// the port when a handler throws or nothing handles a message, and tearing a killed port
/// down in its own context (queued messages dropped and counted, handlers destroyed,
/// monitors fired).
///
/// The scheduler decides which thread runs a port; this part is what that thread does.
/// Threading: `run` is called by one thread at a time per port (the scheduler's exclusive
/// slot). Lifetime: no state of its own.
/// May include: the runtime's detail headers, port_impl, thread_state; the core by
/// declaration only.

#include <cstddef>

#include "coport/detail/message_block.hpp"
#include "coport/reason.hpp"
#include "port_impl.hpp"

namespace coport::detail {

class node_core;

/// What running a port did.
enum class run_result {
  idle,   ///< nothing left: the port is parked until the next message
  more,   ///< the budget ran out with messages left: run it again
  ended,  ///< the port was killed and torn down
};

/// Stateless: every function takes the core it runs for, so that the run loop reaches the
/// core without a load through a part object (measured: ~4 instructions a run).
class port_runner {
 public:
  port_runner() = delete;

  /// Runs up to `budget` messages of `p`, a port of `core`, on this thread.
  static run_result run(node_core& core, port_impl* p, std::size_t budget);

 private:
  static void dispatch(node_core& core, port_impl* p, message_block* n);
  static void teardown(node_core& core, port_impl* p);
  static void log_death(node_core& core, port_impl* p, const reason& why);
};

}  // namespace coport::detail
