#pragma once
/// \file
/// `coport run --watchdog` (AEMP runs under AnyEvent::Watchdog): the node runs in a child
/// process; when the child dies of a signal or exits with a failure, it is started again
/// after 1 s, doubling to 30 s (back to 1 s once a child has run for a minute). SIGINT and
/// SIGTERM go to the child, which leaves normally; then the watchdog exits with its status.
/// A first start that fails at once (exit 1 within 5 s: its settings) is not retried;
/// the child ends when the watchdog dies, however it dies.
/// Threading: call from a process that has started no thread yet (it forks).

#include <functional>

namespace coport::cli {

/// Runs `node` (which returns an exit code) in a child process, again and again as above.
int watchdog(const std::function<int()>& node);

}  // namespace coport::cli
