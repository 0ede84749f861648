#pragma once
/// \file
/// detail::log — leveled log lines on stderr, filtered by the COPORT_LOG environment variable
/// (`error`, `warn` (default), `info`, `debug`, `trace`, or `off`).
/// Threading: thread-safe; one line is written with one call.

#include <fmt/format.h>

#include <string_view>

#include "coport/detail/log_sink.hpp"

namespace coport::detail {

template <class... Args>
void log(log_level level, fmt::format_string<Args...> format, Args&&... args) {
  if (level > current_log_level()) return;
  write_log(level, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace coport::detail
