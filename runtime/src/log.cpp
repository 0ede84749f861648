#include "log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace coport::detail {

log_level parse_log_level(std::string_view name, log_level fallback) noexcept {
  if (name == "off") return log_level::off;
  if (name == "error") return log_level::error;
  if (name == "warn" || name == "warning") return log_level::warn;
  if (name == "info") return log_level::info;
  if (name == "debug") return log_level::debug;
  if (name == "trace") return log_level::trace;
  return fallback;
}

namespace {

log_level level_from_environment() noexcept {
  const char* env = std::getenv("COPORT_LOG");
  if (!env) return log_level::warn;
  log_level parsed = parse_log_level(env, log_level::trace);
  if (parsed == log_level::trace && std::string_view{env} != "trace") {
    std::fprintf(stderr,
                 "coport: COPORT_LOG=%s is not a level (off, error, warn, info, "
                 "debug, trace); using warn\n",
                 env);
    return log_level::warn;
  }
  return parsed;
}

std::atomic<log_level>& level_in_force() noexcept {
  static std::atomic<log_level> level{level_from_environment()};
  return level;
}

}  // namespace

log_level current_log_level() noexcept {
  return level_in_force().load(std::memory_order_relaxed);
}

void write_log(log_level level, std::string_view line) noexcept {
  static constexpr const char* names[] = {"off", "error", "warn", "info", "debug", "trace"};
  try {
    std::string text = fmt::format("coport [{}] {}\n", names[static_cast<int>(level)], line);
    std::fwrite(text.data(), 1, text.size(), stderr);
  } catch (...) {
  }
}

}  // namespace coport::detail

namespace coport {

bool set_log_level(std::string_view name) noexcept {
  auto level = detail::parse_log_level(name, detail::log_level::trace);
  if (level == detail::log_level::trace && name != "trace") return false;
  detail::level_in_force().store(level, std::memory_order_relaxed);
  return true;
}

}  // namespace coport
