#pragma once
/// \file
/// Log lines of the transport, through the runtime's sink (one format, one COPORT_LOG level).
/// Threading: thread-safe.

#include <fmt/format.h>

#include <utility>

#include "coport/detail/log_sink.hpp"

namespace coport::transport::detail {

template <class... Args>
void log(coport::detail::log_level level, fmt::format_string<Args...> format, Args&&... args) {
  if (level > coport::detail::current_log_level()) return;
  coport::detail::write_log(level, fmt::format(format, std::forward<Args>(args)...));
}
inline constexpr auto log_warn = coport::detail::log_level::warn;
inline constexpr auto log_error = coport::detail::log_level::error;
inline constexpr auto log_info = coport::detail::log_level::info;

}  // namespace coport::transport::detail
