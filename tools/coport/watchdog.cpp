// The watchdog of `coport run --watchdog`: fork, wait, restart with backoff, forward signals
// (SIGINT and SIGTERM end both; SIGHUP goes to the node; between restarts it is ignored).
#include "watchdog.hpp"

#include "signals.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace coport::cli {

namespace {

void say(const char* format, auto... args) {
  std::printf("watchdog: ");
  std::printf(format, args...);
  std::printf("\n");
  std::fflush(stdout);
}

/// Waits for SIGINT, SIGTERM, SIGHUP or SIGCHLD until `limit` (forever when negative);
/// which.
int wait_signal(std::chrono::milliseconds limit) {
  sigset_t s = stop_signals();
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGHUP);
  int sig = 0;
  if (limit.count() < 0) {
    while (sigwait(&s, &sig) != 0) {
    }
    return sig;
  }
  timespec t{static_cast<time_t>(limit.count() / 1000),
             static_cast<long>(limit.count() % 1000) * 1000000};
  sig = sigtimedwait(&s, nullptr, &t);
  return sig > 0 ? sig : 0;
}

}  // namespace

int watchdog(const std::function<int()>& node) {
  // Blocked before the fork: the child's own handling (block_stop_signals, sigwait) works,
  // and the parent takes them with sigwait.
  sigset_t s = stop_signals();
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGHUP);  // passed on to the node (the TLS files read again)
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  const pid_t parent = ::getpid();
  bool first = true;
  auto backoff = std::chrono::milliseconds{1000};
  constexpr auto backoff_max = std::chrono::milliseconds{30000};
  constexpr auto healthy_after = std::chrono::seconds{60};
  for (;;) {
    std::fflush(stdout);
    const pid_t child = ::fork();
    if (child < 0) {
      say("cannot fork: %s", std::strerror(errno));
      return 1;
    }
    if (child == 0) {
      // The node ends with its watchdog (killed with -9 too): never a node unsupervised, or
      // a second one with its ID when a new watchdog starts.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) std::_Exit(1);
      sigset_t chld;
      sigemptyset(&chld);
      sigaddset(&chld, SIGCHLD);
      pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);
      const int code = node();  // the node has left by then (run_node returns after it)
      std::cout.flush();
      std::fflush(nullptr);
      std::_Exit(code);
    }
    say("node started (pid %d)", static_cast<int>(child));
    const auto started = std::chrono::steady_clock::now();
    int status = 0;
    bool stopping = false;
    for (;;) {
      const int sig = wait_signal(std::chrono::milliseconds{-1});
      if (sig == SIGINT || sig == SIGTERM) {
        stopping = true;
        ::kill(child, sig);  // the node leaves normally
        continue;
      }
      if (sig == SIGHUP) {
        ::kill(child, SIGHUP);  // the node reads its TLS files again
        continue;
      }
      if (sig == SIGCHLD && ::waitpid(child, &status, WNOHANG) == child) break;
    }
    if (stopping) return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;  // it ended normally
    if (first && WIFEXITED(status) && WEXITSTATUS(status) == 1 &&
        std::chrono::steady_clock::now() - started < std::chrono::seconds{5}) {
      // The first start refused its settings at once (a bad profile, a library that will
      // not load): a restart would refuse again. (After a crash, a quick failure may be a
      // passing one, such as a port not yet free: restarted.)
      say("node could not start (exit 1); not restarting");
      return 1;
    }
    first = false;
    if (std::chrono::steady_clock::now() - started >= healthy_after) {
      backoff = std::chrono::milliseconds{1000};
    }
    if (WIFSIGNALED(status)) {
      say("node died of signal %d; restarting in %lld ms", WTERMSIG(status),
          static_cast<long long>(backoff.count()));
    } else {
      say("node exited with %d; restarting in %lld ms", WEXITSTATUS(status),
          static_cast<long long>(backoff.count()));
    }
    // The wait is cut short by SIGINT/SIGTERM: then no restart.
    const auto until = std::chrono::steady_clock::now() + backoff;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const int sig = wait_signal(left);
      if (sig == SIGINT || sig == SIGTERM) return 0;
    }
    backoff = std::min(backoff * 2, backoff_max);
  }
}

}  // namespace coport::cli
