#pragma once
/// \file
/// Test support: a child process with pipes on stdin and stdout, for multi-process tests.
/// Every read has a deadline; the destructor kills (SIGKILL) and reaps the child.
/// Threading: one thread uses a child.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace coport::test {

class child {
 public:
  explicit child(std::vector<std::string> argv) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error{"pipe"};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) throw std::runtime_error{"posix_spawn " + argv[0]};
  }
  ~child() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGCONT);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// The next line of its stdout, or nothing after `limit`.
  std::optional<std::string> line(std::chrono::milliseconds limit = std::chrono::seconds{10}) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  /// Reads lines until one starts with `prefix`; returns the rest of it (throws on timeout).
  std::string expect(const std::string& prefix,
                     std::chrono::milliseconds limit = std::chrono::seconds{10}) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (auto l = line(std::chrono::duration_cast<std::chrono::milliseconds>(
               deadline - std::chrono::steady_clock::now()))) {
      if (l->rfind(prefix, 0) == 0) return l->substr(prefix.size());
    }
    throw std::runtime_error{"the child did not print '" + prefix + "' in time"};
  }

  /// Writes `text` and a newline to its stdin.
  void say(const std::string& text) {
    std::string l = text + "\n";
    [[maybe_unused]] auto n = write(stdin_, l.data(), l.size());
  }
  /// say(`command`), then expect(`prefix`).
  std::string ask(const std::string& command, const std::string& prefix) {
    say(command);
    return expect(prefix);
  }

  void signal(int sig) { kill(pid_, sig); }

  /// Closes its stdin (it reads the end of the stream).
  void close_stdin() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
  }

  /// Waits (at most `limit`) for it to exit; its exit code, or nothing (still running,
  /// or killed by a signal).
  std::optional<int> wait_exit(std::chrono::milliseconds limit = std::chrono::seconds{10}) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return std::nullopt;
      }
      usleep(10000);
    }
    return std::nullopt;
  }

  /// Kills it with SIGKILL and reaps it.
  void kill9() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  std::string buffer_;
};

}  // namespace coport::test
