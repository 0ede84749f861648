#pragma once
/// \file
/// detail::log, warn, info — the log-line template every coport library uses: a level check,
/// then one fmt line through the runtime's sink (coport/detail/log_sink.hpp: one format, one
/// COPORT_LOG level, control characters escaped).
/// Part of coport_internal, the uninstalled target for what the libraries share (never in a
/// public header). Threading: thread-safe; one line is written with one call.
/// May include: coport/detail/log_sink.hpp and fmt.

#include <fmt/format.h>

#include <utility>

#include "coport/detail/log_sink.hpp"

namespace coport::detail {

template <class... Args>
void log(log_level level, fmt::format_string<Args...> format, Args&&... args) {
  if (level > current_log_level()) return;
  write_log(level, fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (log_level::warn > current_log_level()) return;
  write_log(log_level::warn, fmt::format(format, std::forward<Args>(args)...));
}

template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
  if (log_level::info > current_log_level()) return;
  write_log(log_level::info, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace coport::detail
