#pragma once
/// \file
/// Test support: the `coport` command run as a user would, against a configuration file of
/// the test's own (removed at the end). COPORT_CLI names the command.
/// Threading: one thread. Lifetime: the test's.

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace coport::test {

/// True when `text` holds `part` (what a command printed).
inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

struct scratch {
  std::filesystem::path dir;
  std::string config;
  scratch() {
    char name[] = "/tmp/coport-cli-XXXXXX";
    dir = mkdtemp(name);
    config = (dir / "config.json").string();
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;

  /// Runs `coport --config FILE args`; its exit code and what it printed (both streams).
  std::pair<int, std::string> run(const std::string& args) const {
    auto out = (dir / "out.txt").string();
    std::string cmd{COPORT_CLI};  // appended piece by piece (GCC 12 warns of a false overflow)
    for (const std::string& part : {std::string{" --config "}, config, std::string{" "}, args,
                                    std::string{" >"}, out, std::string{" 2>&1"}}) {
      cmd += part;
    }
    int status = std::system(cmd.c_str());
    std::ifstream in{out};
    std::stringstream text;
    text << in.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
  }
};

}  // namespace coport::test
