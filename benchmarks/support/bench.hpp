#pragma once
/// \file
/// Benchmark support shared by coport's and CAF's workload programs: `key=value` parameters
/// with printed defaults, one machine-readable line per result
/// (`runtime=... bench=... value=... unit=... params=...`), optional JSON lines, timing, RSS.
/// Threading: used from the benchmark's main thread.

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

/// The parameters of one run.
class args {
 public:
  /// Parses `key=value` words (values are integers) and `--json FILE`; unknown keys are errors.
  args(std::string workload, std::vector<std::pair<std::string, long>> defaults, int argc,
       char** argv, int first)
      : workload_{std::move(workload)}, values_{defaults.begin(), defaults.end()} {
    for (int i = first; i < argc; ++i) {
      std::string word = argv[i];
      if (word == "--json" && i + 1 < argc) {
        json_ = argv[++i];
        continue;
      }
      auto eq = word.find('=');
      if (eq == std::string::npos)
        throw std::invalid_argument{"expected key=value, got '" + word + "'"};
      std::string key = word.substr(0, eq);
      if (!values_.count(key)) throw std::invalid_argument{"unknown parameter '" + key + "'"};
      char* end = nullptr;
      long v = std::strtol(word.c_str() + eq + 1, &end, 10);
      if (*end != '\0' || v < 0) throw std::invalid_argument{"bad value in '" + word + "'"};
      values_[key] = v;
    }
    std::string shown;
    for (auto& [k, v] : values_) shown += " " + k + "=" + std::to_string(v);
    std::fprintf(stderr, "# %s:%s\n", workload_.c_str(), shown.c_str());
  }

  long operator[](const std::string& key) const { return values_.at(key); }

  /// Prints one result line (and a JSON line if asked).
  void report(const std::string& runtime, const std::string& bench, double value,
              const std::string& unit, const std::string& params) const {
    std::printf("runtime=%s bench=%s value=%.6g unit=%s params=%s\n", runtime.c_str(),
                bench.c_str(), value, unit.c_str(), params.c_str());
    std::fflush(stdout);
    if (!json_.empty()) {
      std::ofstream out{json_, std::ios::app};
      out << "{\"runtime\":\"" << runtime << "\",\"bench\":\"" << bench << "\",\"value\":" << value
          << ",\"unit\":\"" << unit << "\",\"params\":\"" << params << "\"}\n";
    }
  }

 private:
  std::string workload_;
  std::map<std::string, long> values_;
  std::string json_;
};

/// Seconds since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Resident memory now, in bytes (from /proc/self/statm).
inline long resident_bytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

/// A field of /proc/self/status given in kB (`key` with its colon, e.g. "VmHWM:"), in bytes.
inline long status_bytes(const char* key) {
  long kb = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    const std::size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f)) {
      if (std::strncmp(line, key, n) == 0 && std::sscanf(line + n, "%ld", &kb) == 1) break;
    }
    std::fclose(f);
  }
  return kb * 1024;
}

/// Resident memory of this program that is its own (RssAnon: heap, stacks, anonymous maps),
/// in bytes; the rest of resident_bytes(), code and read-only data of the program and its
/// libraries, is shared with every process that maps them.
inline long anonymous_resident_bytes() {
  return status_bytes("RssAnon:");
}

/// Peak resident memory of this program so far, in bytes: VmHWM. (Not getrusage's
/// ru_maxrss, which Linux carries across execve, so a run started by a large parent would
/// report the parent's peak.)
inline long peak_resident_bytes() {
  return status_bytes("VmHWM:");
}

/// Waits (bounded) until `done()`; throws if `limit` passes.
template <class Pred>
void wait_until(Pred done, std::chrono::seconds limit = std::chrono::seconds{120}) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error{"benchmark timed out"};
    std::this_thread::yield();
  }
}

/// A workload: its name and its entry point.
using workload = std::pair<const char*, std::function<void(int, char**)>>;

/// Runs the workload named by argv[1] from `all`.
inline int dispatch(int argc, char** argv, const std::vector<workload>& all) {
  std::string names;
  for (auto& w : all) names += std::string{" "} + w.first;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s WORKLOAD [key=value ...] [--json FILE]\nworkloads:%s\n",
                 argv[0], names.c_str());
    return 2;
  }
  for (auto& w : all) {
    if (argv[1] == std::string{w.first}) {
      try {
        w.second(argc, argv);
        return 0;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s %s: %s\n", argv[0], argv[1], e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "%s: unknown workload '%s' (workloads:%s)\n", argv[0], argv[1],
               names.c_str());
  return 2;
}

}  // namespace bench
