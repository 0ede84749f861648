#pragma once
/// \file
/// detail::log — leveled log lines on stderr, filtered by the COPORT_LOG environment variable
/// (`error`, `warn` (default), `info`, `debug`, `trace`, or `off`).
/// Threading: thread-safe; one line is written with one call.

#include <fmt/format.h>

#include <string_view>

namespace coport::detail {

enum class log_level { off = 0, error, warn, info, debug, trace };

/// The level in force (read once from COPORT_LOG).
log_level current_log_level() noexcept;

/// Parses a level name; `fallback` for an unknown name.
log_level parse_log_level(std::string_view name, log_level fallback) noexcept;

void write_log(log_level level, std::string_view line) noexcept;

template <class... Args>
void log(log_level level, fmt::format_string<Args...> format, Args&&... args) {
  if (level > current_log_level()) return;
  write_log(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace coport::detail
