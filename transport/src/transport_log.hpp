#pragma once
/// \file
/// Log lines of the transport: the shared template (coport/internal/log.hpp) and short names
/// for the levels it uses.
/// Threading: thread-safe.
/// May include: coport/internal/log.hpp only.

#include "coport/internal/log.hpp"

namespace coport::transport::detail {

using coport::detail::log;
inline constexpr auto log_warn = coport::detail::log_level::warn;
inline constexpr auto log_error = coport::detail::log_level::error;
inline constexpr auto log_info = coport::detail::log_level::info;

}  // namespace coport::transport::detail
