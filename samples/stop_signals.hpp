#pragma once
/// \file
/// For the samples that run as daemons (the chat server and client): SIGINT and SIGTERM end
/// them after they leave the network normally (their peers hear `shutdown`, not a failure);
/// the end of stdin ends them only when asked (`--quit-on-eof`), so that one started in the
/// background, with no terminal, keeps running.
/// Threading: `block_stop_signals` first in main, before any thread starts.

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace sample {

inline sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

/// Blocks SIGINT and SIGTERM in this thread and in every thread started after: they wait
/// for `wait_for_stop` instead of killing the process on the spot.
inline void block_stop_signals() {
  sigset_t s = stop_signals();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

/// Waits for SIGINT or SIGTERM; returns which.
inline const char* wait_for_stop() {
  sigset_t s = stop_signals();
  int sig = 0;
  while (sigwait(&s, &sig) != 0) {
  }
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

/// Stops the process as SIGTERM would (stdin ended, and --quit-on-eof asked for that).
inline void request_stop() {
  ::kill(::getpid(), SIGTERM);
}

}  // namespace sample
