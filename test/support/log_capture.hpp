#pragma once
/// \file
/// Test support: what the process writes to stderr (where coport logs) while a capture
/// lives, read back with `text()`; and a quiet log (lines dropped) for a test.
/// Threading: one capture at a time; log lines from any thread are caught.

#include <fcntl.h>
#include <unistd.h>

#include <coport/log.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace coport::test {

class log_capture {
 public:
  log_capture() {
    char name[] = "/tmp/coport-log-XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    std::fflush(stderr);
    saved_ = dup(2);
    dup2(fd, 2);
    close(fd);
  }
  ~log_capture() {
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    std::remove(path_.c_str());
  }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// Everything written so far.
  std::string text() const {
    std::fflush(stderr);
    std::ifstream in{path_};
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
  int saved_ = -1;
};

/// Keeps the process's log lines off stderr while it lives (a sink that drops them).
class quiet_log {
 public:
  quiet_log() {
    coport::set_log_sink([](const coport::log_record&) {});
  }
  ~quiet_log() { coport::set_log_sink({}); }
  quiet_log(const quiet_log&) = delete;
  quiet_log& operator=(const quiet_log&) = delete;
};

}  // namespace coport::test
