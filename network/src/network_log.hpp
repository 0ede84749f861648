#pragma once
/// \file
/// Log lines of coport::network, through the runtime's sink (one format, one COPORT_LOG level).
/// Threading: thread-safe.

#include <fmt/format.h>

#include <utility>

#include "coport/detail/log_sink.hpp"

namespace coport::network::detail {

template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
  if (coport::detail::log_level::warn > coport::detail::current_log_level()) return;
  coport::detail::write_log(coport::detail::log_level::warn,
                            fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace coport::network::detail
