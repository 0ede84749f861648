#pragma once
/// \file
/// detail::log, warn, info — how every coport library writes a line (coport/log.hpp): the
/// level checked first, then the call site's rate (a flood costs a lock and a count, no
/// formatting), then one fmt line with where it comes from (`log_from`: the component, the
/// node, the port) to the node's sink, the process's, or stderr.
/// Part of coport_internal, the uninstalled target for what the libraries share (never in a
/// public header). Threading: thread-safe. Lifetime: none.
/// May include: coport/log.hpp and fmt.

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <string_view>
#include <utility>

#include "coport/log.hpp"
#include "coport/port_id.hpp"

namespace coport::detail {

using coport::log_level;

/// Where a line comes from.
struct log_from {
  std::string_view component;  ///< "runtime", "transport", "network", "registry", "groups"
  std::string_view node = {};  ///< the node it is about
  port_id port = {};           ///< the port it is about
};

/// Counts a line from call site `site` (its format string; with `level`, as one literal may
/// serve two sites) about `node` against the rate limit: false when it is to be dropped;
/// otherwise `suppressed` is how many were dropped since the last one.
bool log_admit(const void* site, log_level level, std::string_view node,
               std::uint64_t& suppressed) noexcept;
/// Hands the line to its sink (the node's, the process's, stderr).
void log_write(log_level level, const log_from& from, std::string_view text,
               std::uint64_t suppressed) noexcept;
/// For tests: the clock the rate limit reads (null: std::chrono::steady_clock).
void set_log_clock(std::chrono::steady_clock::time_point (*now)()) noexcept;
/// Calls `tap` with every line about node `node` that is written (after the level and the
/// rate limit), besides its sink, until `remove_log_tap` with the token returned. Called as
/// sinks are (one at a time, from any thread); a line it logs goes to stderr. It must not
/// block (it queues; log_catcher.cpp).
std::uint64_t add_log_tap(std::string_view node, log_sink tap);
void remove_log_tap(std::uint64_t token) noexcept;
/// The sink of node `node`'s lines until `clear_node_log_sink` with the token returned.
std::uint64_t set_node_log_sink(std::string_view node, log_sink sink);
void clear_node_log_sink(std::string_view node, std::uint64_t token) noexcept;

template <class... Args>
void log(log_level level, const log_from& from, fmt::format_string<Args...> format,
         Args&&... args) {
  if (level > current_log_level()) return;
  std::uint64_t suppressed = 0;
  if (!log_admit(fmt::string_view(format).data(), level, from.node, suppressed)) return;
  try {
    log_write(level, from, fmt::format(format, std::forward<Args>(args)...), suppressed);
  } catch (...) {
  }
}

template <class... Args>
void warn(const log_from& from, fmt::format_string<Args...> format, Args&&... args) {
  log(log_level::warn, from, format, std::forward<Args>(args)...);
}

template <class... Args>
void info(const log_from& from, fmt::format_string<Args...> format, Args&&... args) {
  log(log_level::info, from, format, std::forward<Args>(args)...);
}

}  // namespace coport::detail
