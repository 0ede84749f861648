#pragma once
/// \file
/// coport::set_log_level — how much every coport library writes to stderr.
///
/// The level starts from the COPORT_LOG environment variable (`warn` when unset).
/// Threading: thread-safe; lines already being written are not affected.

#include <string_view>

namespace coport {

/// Sets the level: "off", "error", "warn", "info", "debug" or "trace". Returns false (and
/// changes nothing) for another name.
bool set_log_level(std::string_view name) noexcept;

}  // namespace coport
