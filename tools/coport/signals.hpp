#pragma once
/// \file
/// The verbs that run until stopped (`run`, `logs`, `mon`): SIGINT and SIGTERM are waited for
/// by the main thread alone, so the node leaves normally instead of the process dying on the
/// spot; `run` takes SIGHUP too (the TLS files read again).
/// Threading: `block_stop_signals` first, before any thread starts.

#include <pthread.h>
#include <signal.h>

namespace coport::cli {

inline sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

/// Blocks SIGINT and SIGTERM in this thread and every thread started after it.
inline void block_stop_signals() {
  sigset_t s = stop_signals();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

/// Waits for SIGINT or SIGTERM; returns which.
inline int wait_for_stop() {
  sigset_t s = stop_signals();
  int sig = 0;
  while (sigwait(&s, &sig) != 0) {
  }
  return sig;
}

/// `coport run`: SIGHUP blocked too (before any thread starts), so that `wait_for_stop_or_hup`
/// takes it.
inline void block_hangup() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
}

/// Waits for SIGINT, SIGTERM or SIGHUP; returns which.
inline int wait_for_stop_or_hup() {
  sigset_t s = stop_signals();
  sigaddset(&s, SIGHUP);
  int sig = 0;
  while (sigwait(&s, &sig) != 0) {
  }
  return sig;
}

/// True when SIGINT or SIGTERM is pending (blocked, not yet taken); takes it.
inline bool stop_requested() {
  sigset_t s = stop_signals();
  timespec none{0, 0};
  return sigtimedwait(&s, nullptr, &none) > 0;
}

}  // namespace coport::cli
