#pragma once
/// \file
/// coport's log lines, owned by the application: each line is a `log_record` (level, the
/// part of coport that wrote it, the node and the port it is about, its text), handed to a
/// sink the application installs for the whole process (`set_log_sink`) or for one node
/// (`node_options::log_sink`); without one, lines go to stderr as
/// `coport [warn] node a: text`. The level in force filters lines before they are made.
///
/// ```cpp
/// coport::set_log_sink([](const coport::log_record& r) {
///   my_logger.write(r.level, r.component, r.node, r.text);   // structured, not parsed
/// });
/// ```
///
/// Rate limit: a call site of coport writes at most `log_burst` lines a second about one
/// node; the lines past that are counted, not made, and the next line written from that
/// site about that node says how many were suppressed (`log_record::suppressed`). A peer
/// that makes a node log on every frame costs a few lines a second, not a flood.
///
/// Level: from the COPORT_LOG environment variable when it is set (off, error, warn, info,
/// debug, trace), else `warn`; `set_log_level` changes it. A network profile's `log_level`
/// applies only when COPORT_LOG is not set: the environment beats the file.
///
/// Threading: everything here is thread-safe. A sink is called from any thread, but never
/// by two threads at once (calls are serialized); a line logged from inside a sink goes to
/// stderr. A sink that throws loses that line only. A sink must not call a node (snd, mon,
/// ...): coport logs while holding its own locks, so a sink that waits on them can deadlock;
/// hand lines to your own queue (coport/log_catcher.hpp moves lines between nodes).
/// Lifetime: a sink is kept until it is replaced; `set_log_sink` returns after any call of
/// the sink it replaced has returned.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "coport/port_id.hpp"

namespace coport {

enum class log_level : std::uint8_t { off = 0, error, warn, info, debug, trace };

/// "off", "error", "warn", "info", "debug", "trace".
std::string_view to_string(log_level level) noexcept;
/// The level of that name ("warning" is accepted for warn); nothing for another name.
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// One log line.
struct log_record {
  log_level level = log_level::info;
  /// The part of coport that wrote it: "runtime", "transport", "network", "registry",
  /// "groups".
  std::string_view component;
  std::string_view node;  ///< the ID of the node it is about; empty for none
  port_id port;           ///< the port it is about; null for none
  /// What happened, as made: it may hold any character (a reason or a name a peer sent).
  /// A sink that writes text for a terminal or a line-based file escapes it
  /// (`format_log_line` does).
  std::string_view text;
  std::chrono::system_clock::time_point time;
  /// Lines from the same call site about the same node that the rate limit dropped since
  /// the last one written.
  std::uint64_t suppressed = 0;
};

/// Receives every line of the process, or of one node (see node_options::log_sink).
using log_sink = std::function<void(const log_record&)>;

/// Lines a call site writes about one node in a second before the rest are counted only.
inline constexpr unsigned log_burst = 10;

/// Installs the process's sink: every line that no node's own sink takes. An empty sink
/// restores stderr.
void set_log_sink(log_sink sink);

/// The line stderr gets for `r`, without the newline: `coport [warn] node a: text`, the
/// port after the node where there is one, `(N similar lines suppressed)` when some were.
/// Every control character (C0, DEL, UTF-8-encoded C1) and every byte that is not
/// well-formed UTF-8 is written as a visible escape (`\n`, `\r`, `\t`, else `\xNN`), so a
/// line holds no raw control character whatever its text came from. Backslashes pass.
std::string format_log_line(const log_record& r);

/// Sets the level: "off", "error", "warn", "info", "debug" or "trace". Returns false (and
/// changes nothing) for another name.
bool set_log_level(std::string_view name) noexcept;
void set_log_level(log_level level) noexcept;
/// The level in force.
log_level current_log_level() noexcept;
/// True when COPORT_LOG named the level at start (a profile's level then does not apply).
bool log_level_from_environment() noexcept;

}  // namespace coport
