#pragma once
/// \file
/// detail::log_sink — where every coport library writes its log lines (stderr), and the
/// level in force (the COPORT_LOG environment variable: off, error, warn (default), info,
/// debug, trace), so that the runtime and the transport log in one format, with the
/// control characters of any text escaped.
/// Threading: thread-safe; one line is written with one call.

#include <string_view>

namespace coport::detail {

enum class log_level { off = 0, error, warn, info, debug, trace };

/// The level in force (read once from COPORT_LOG).
log_level current_log_level() noexcept;

/// Parses a level name; `fallback` for an unknown name.
log_level parse_log_level(std::string_view name, log_level fallback) noexcept;

/// Writes `coport [level] line` and a newline. Every control character in `line` (C0
/// controls such as a newline or ESC, DEL, UTF-8-encoded C1 controls) and every byte that is
/// not well-formed UTF-8 is written as a visible escape (`\n`, `\r`, `\t`, else `\xNN`), so
/// a line never holds a raw control character, whatever its text came from (a reason or
/// a name a peer sent cannot forge a line or send a terminal escape sequence). Backslashes
/// pass as they are. One scan; a line with nothing to escape is copied once.
void write_log(log_level level, std::string_view line) noexcept;

}  // namespace coport::detail
