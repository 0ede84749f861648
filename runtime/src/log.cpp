#include "coport/internal/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace coport::detail {

log_level parse_log_level(std::string_view name, log_level fallback) noexcept {
  if (name == "off") return log_level::off;
  if (name == "error") return log_level::error;
  if (name == "warn" || name == "warning") return log_level::warn;
  if (name == "info") return log_level::info;
  if (name == "debug") return log_level::debug;
  if (name == "trace") return log_level::trace;
  return fallback;
}

namespace {

log_level level_from_environment() noexcept {
  const char* env = std::getenv("COPORT_LOG");
  if (!env) return log_level::warn;
  log_level parsed = parse_log_level(env, log_level::trace);
  if (parsed == log_level::trace && std::string_view{env} != "trace") {
    std::fprintf(stderr,
                 "coport: COPORT_LOG=%s is not a level (off, error, warn, info, "
                 "debug, trace); using warn\n",
                 env);
    return log_level::warn;
  }
  return parsed;
}

std::atomic<log_level>& level_in_force() noexcept {
  static std::atomic<log_level> level{level_from_environment()};
  return level;
}

}  // namespace

log_level current_log_level() noexcept {
  return level_in_force().load(std::memory_order_relaxed);
}

namespace {

/// The length of the UTF-8 sequence at the start of `s` when it is one well-formed
/// character that is not a C1 control (U+0080..U+009F: U+009B is a terminal's CSI), else 0.
/// `s` starts with a byte >= 0x80.
std::size_t printable_utf8(std::string_view s) noexcept {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto tail = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xc2 && c <= 0xdf) {
    if (!tail(1)) return 0;
    return c == 0xc2 && b(1) < 0xa0 ? 0 : 2;  // U+0080..U+009F: C1 controls
  }
  if (c >= 0xe0 && c <= 0xef) {
    if (!tail(1) || !tail(2)) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;   // overlong
    if (c == 0xed && b(1) >= 0xa0) return 0;  // a UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!tail(1) || !tail(2) || !tail(3)) return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xf4 && b(1) >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;  // a continuation byte alone, 0xc0, 0xc1, 0xf5..0xff
}

/// Where the run of bytes from `from` that go into a log line as they are ends: printable
/// ASCII and printable UTF-8 characters. Control characters (C0, DEL, C1) and bytes that
/// are not UTF-8 must be escaped.
std::size_t verbatim(std::string_view s, std::size_t from) noexcept {
  std::size_t i = from;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      ++i;
    } else if (c >= 0x80) {
      std::size_t n = printable_utf8(s.substr(i));
      if (n == 0) break;
      i += n;
    } else {
      break;
    }
  }
  return i;
}

/// Appends `s` with every byte that `verbatim` stops at written as a visible escape (\n,
/// \r, \t, else \xNN), so that a line holds no control character whatever its text came
/// from (a kill reason or a name a peer sent): it cannot forge a line or drive a terminal.
void append_escaped(std::string& out, std::string_view s, std::size_t from) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t i = from;
  while (i < s.size()) {
    std::size_t end = verbatim(s, i);
    out.append(s.substr(i, end - i));
    if (end == s.size()) break;
    auto c = static_cast<unsigned char>(s[end]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
      out.append(e, 4);
    }
    i = end + 1;
  }
}

}  // namespace

void write_log(log_level level, std::string_view line) noexcept {
  static constexpr std::string_view names[] = {"off", "error", "warn", "info", "debug", "trace"};
  try {
    std::string_view name = names[static_cast<int>(level)];
    // One scan; the common line (nothing to escape) is copied once, into the line written.
    std::size_t clean = verbatim(line, 0);
    std::string text;
    text.reserve(name.size() + line.size() + 11 + (clean == line.size() ? 0 : 16));
    text += "coport [";
    text += name;
    text += "] ";
    text.append(line.substr(0, clean));
    if (clean != line.size()) append_escaped(text, line, clean);
    text += '\n';
    std::fwrite(text.data(), 1, text.size(), stderr);
  } catch (...) {
  }
}

}  // namespace coport::detail

namespace coport {

bool set_log_level(std::string_view name) noexcept {
  auto level = detail::parse_log_level(name, detail::log_level::trace);
  if (level == detail::log_level::trace && name != "trace") return false;
  detail::level_in_force().store(level, std::memory_order_relaxed);
  return true;
}

}  // namespace coport
