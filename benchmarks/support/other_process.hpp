#pragma once
/// \file
/// Benchmark support: this program started again as the other process of a two-process
/// workload (`PROGRAM ROLE`), its stdin and stdout on pipes. The other process prints what
/// the first needs on stdout and exits when its stdin closes (`wait_stdin`).
/// Threading: used from the benchmark's main thread.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

extern char** environ;

namespace bench {

/// This program again, as the other process; stdout and stdin on pipes.
struct other_process {
  pid_t pid = -1;
  FILE* out = nullptr;
  int in = -1;

  explicit other_process(const char* role, std::string arg = {}) {
    int to[2], from[2];
    // Close-on-exec: a second child must not inherit the first one's pipes (it would keep
    // that one's stdin open).
    if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) std::abort();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    // The file itself, not the /proc link: under valgrind the link names valgrind's loader.
    char path[4096];
    ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
    if (len <= 0) std::abort();
    std::string self(path, static_cast<std::size_t>(len)), r = role;
    char* argv[] = {self.data(), r.data(), arg.empty() ? nullptr : arg.data(), nullptr};
    if (posix_spawn(&pid, self.c_str(), &fa, nullptr, argv, environ) != 0) std::abort();
    posix_spawn_file_actions_destroy(&fa);
    close(to[0]);
    close(from[1]);
    in = to[1];
    out = fdopen(from[0], "r");
  }
  ~other_process() {
    close(in);
    fclose(out);
    waitpid(pid, nullptr, 0);
  }
  std::string word() {
    char buf[512];
    if (std::fscanf(out, "%511s", buf) != 1) std::abort();
    return buf;
  }
};

/// Blocks until stdin closes (the first process ended or died).
inline void wait_stdin() {
  std::string line;
  while (std::getline(std::cin, line)) {
  }
}

}  // namespace bench
