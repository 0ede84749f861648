// Log lines: the level, the rate limit, the sinks (the process's, each node's, stderr) and
// the one escaped text format (coport/log.hpp).
#include "coport/internal/log.hpp"

#include "thread_state.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace coport {

std::string_view to_string(log_level level) noexcept {
  static constexpr std::string_view names[] = {"off", "error", "warn", "info", "debug", "trace"};
  auto i = static_cast<std::size_t>(level);
  return i < std::size(names) ? names[i] : "?";
}

std::optional<log_level> parse_log_level(std::string_view name) noexcept {
  if (name == "off") return log_level::off;
  if (name == "error") return log_level::error;
  if (name == "warn" || name == "warning") return log_level::warn;
  if (name == "info") return log_level::info;
  if (name == "debug") return log_level::debug;
  if (name == "trace") return log_level::trace;
  return std::nullopt;
}

namespace {

struct environment_level {
  log_level level = log_level::warn;
  bool set = false;
};

environment_level level_from_environment() noexcept {
  const char* env = std::getenv("COPORT_LOG");
  if (!env) return {};
  if (auto parsed = parse_log_level(env)) return {*parsed, true};
  std::fprintf(stderr,
               "coport: COPORT_LOG=%s is not a level (off, error, warn, info, debug, trace); "
               "using warn\n",
               env);
  return {};
}

const environment_level& environment() noexcept {
  static const environment_level e = level_from_environment();
  return e;
}

std::atomic<log_level>& level_in_force() noexcept {
  static std::atomic<log_level> level{environment().level};
  return level;
}

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

namespace {

/// One call site's lines about one node in the current second.
struct rate_slot {
  const void* site = nullptr;
  std::size_t node_hash = 0;
  std::chrono::steady_clock::time_point window{};
  unsigned written = 0;
  std::uint64_t suppressed = 0;
};

/// The sinks and the rate limit, under one mutex: lines are rare, and a sink is never
/// called by two threads at once.
struct log_state {
  std::mutex mutex;
  std::shared_ptr<log_sink> process;
  std::unordered_map<std::string, std::pair<std::uint64_t, std::shared_ptr<log_sink>>> nodes;
  /// Taps by token: the node whose lines they see, and the tap.
  std::unordered_map<std::uint64_t, std::pair<std::string, log_sink>> taps;
  std::uint64_t next_token = 1;
  /// A fixed table: what peers make a node log cannot grow it. A site and node that find
  /// no slot of their own in their probe take the one whose second is oldest.
  std::array<rate_slot, 512> rates{};
};

log_state& state() {
  static log_state s;
  return s;
}

std::atomic<std::chrono::steady_clock::time_point (*)()> clock_override{nullptr};

void write_stderr(const log_record& r) noexcept {
  try {
    std::string line = format_log_line(r);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  } catch (...) {
  }
}

}  // namespace

std::string format_log_line(const log_record& r) {
  std::string out;
  out.reserve(r.text.size() + r.node.size() + 32);
  out += "coport [";
  out += to_string(r.level);
  out += "] ";
  auto escaped = [&](std::string_view s) {
    std::size_t clean = verbatim(s, 0);
    out.append(s.substr(0, clean));
    if (clean != s.size()) append_escaped(out, s, clean);
  };
  if (!r.node.empty()) {
    out += "node ";
    escaped(r.node);
    if (r.port) {
      out += ", port ";
      out += r.port.to_string();
    }
    out += ": ";
  } else if (r.port) {
    out += "port ";
    out += r.port.to_string();
    out += ": ";
  }
  escaped(r.text);
  if (r.suppressed) {
    out += " (";
    out += std::to_string(r.suppressed);
    out += r.suppressed == 1 ? " similar line suppressed)" : " similar lines suppressed)";
  }
  return out;
}

void set_log_sink(log_sink sink) {
  if (detail::per_thread.in_log_sink)
    throw std::logic_error{"coport: set_log_sink called from inside a log sink"};
  auto next = sink ? std::make_shared<log_sink>(std::move(sink)) : nullptr;
  std::shared_ptr<log_sink> old;
  {
    std::lock_guard lock{state().mutex};  // waits for a call of the old sink to return
    old = std::exchange(state().process, std::move(next));
  }
}

bool set_log_level(std::string_view name) noexcept {
  auto level = parse_log_level(name);
  if (!level) return false;
  set_log_level(*level);
  return true;
}

void set_log_level(log_level level) noexcept {
  level_in_force().store(level, std::memory_order_relaxed);
}

log_level current_log_level() noexcept {
  return level_in_force().load(std::memory_order_relaxed);
}

bool log_level_from_environment() noexcept {
  return environment().set;
}

}  // namespace coport

namespace coport::detail {

bool log_admit(const void* site, log_level level, std::string_view node,
               std::uint64_t& suppressed) noexcept {
  if (detail::per_thread.in_log_sink)
    return true;  // this thread holds the lock in a sink: the line goes to stderr
  // The level is part of the key: identical literals are merged, one "{}" may be two sites.
  const std::size_t node_hash =
      std::hash<std::string_view>{}(node) ^ (static_cast<std::size_t>(level) << 56);
  const std::size_t h = std::hash<const void*>{}(site) ^ (node_hash * 0x9E3779B97F4A7C15ull);
  auto* read_clock = clock_override.load(std::memory_order_relaxed);
  const auto now = read_clock ? read_clock() : std::chrono::steady_clock::now();
  log_state& s = state();
  std::lock_guard lock{s.mutex};
  constexpr std::size_t probe = 8;
  rate_slot* slot = nullptr;
  rate_slot* oldest = nullptr;
  for (std::size_t i = 0; i < probe; ++i) {
    rate_slot& r = s.rates[(h + i) % s.rates.size()];
    if (r.site == site && r.node_hash == node_hash) {
      slot = &r;
      break;
    }
    // The slot to take: the oldest of those counting nothing suppressed, else the oldest
    // (whose count is then lost: more than `probe` busy sites on one line of the table).
    if (!oldest || (r.suppressed == 0 && oldest->suppressed != 0) ||
        ((r.suppressed == 0) == (oldest->suppressed == 0) && r.window < oldest->window)) {
      oldest = &r;
    }
  }
  if (!slot) {
    slot = oldest;
    *slot = rate_slot{site, node_hash, now, 0, 0};
  }
  if (now - slot->window >= std::chrono::seconds{1}) {
    slot->window = now;
    slot->written = 0;
  }
  if (slot->written >= log_burst) {
    ++slot->suppressed;
    return false;
  }
  ++slot->written;
  suppressed = std::exchange(slot->suppressed, 0);
  return true;
}

void set_log_clock(std::chrono::steady_clock::time_point (*now)()) noexcept {
  clock_override.store(now, std::memory_order_relaxed);
}

void log_write(log_level level, const log_from& from, std::string_view text,
               std::uint64_t suppressed) noexcept {
  log_record r;
  r.level = level;
  r.component = from.component;
  r.node = from.node;
  r.port = from.port;
  r.text = text;
  r.time = std::chrono::system_clock::now();
  r.suppressed = suppressed;
  if (detail::per_thread.in_log_sink)
    return write_stderr(r);  // a line made by a sink: not back into a sink
  try {
    log_state& s = state();
    std::lock_guard lock{s.mutex};
    const log_sink* sink = s.process.get();
    if (!s.nodes.empty() && !from.node.empty()) {
      if (auto it = s.nodes.find(std::string{from.node}); it != s.nodes.end()) {
        sink = it->second.second.get();
      }
    }
    detail::per_thread.in_log_sink = true;
    if (!s.taps.empty() && !from.node.empty()) {
      for (auto& [token, tap] : s.taps) {
        if (tap.first != from.node) continue;
        try {
          tap.second(r);
        } catch (...) {
        }
      }
    }
    if (!sink) {
      detail::per_thread.in_log_sink = false;
      return write_stderr(r);
    }
    try {
      (*sink)(r);
    } catch (...) {
    }
    detail::per_thread.in_log_sink = false;
  } catch (...) {
    detail::per_thread.in_log_sink = false;
  }
}

// What these replace or remove is destroyed after the lock is let go: a user's function
// whose destructor logs must not find the lock taken by its own thread.

std::uint64_t add_log_tap(std::string_view node, log_sink tap) {
  log_state& s = state();
  std::lock_guard lock{s.mutex};
  std::uint64_t token = s.next_token++;
  s.taps.emplace(token, std::make_pair(std::string{node}, std::move(tap)));
  return token;
}

void remove_log_tap(std::uint64_t token) noexcept {
  log_sink old;
  log_state& s = state();
  std::lock_guard lock{s.mutex};
  if (auto it = s.taps.find(token); it != s.taps.end()) {
    old = std::move(it->second.second);
    s.taps.erase(it);
  }
}

std::uint64_t set_node_log_sink(std::string_view node, log_sink sink) {
  auto next = std::make_shared<log_sink>(std::move(sink));
  std::shared_ptr<log_sink> old;
  log_state& s = state();
  std::lock_guard lock{s.mutex};
  std::uint64_t token = s.next_token++;
  auto& entry = s.nodes[std::string{node}];
  old = std::move(entry.second);
  entry = {token, std::move(next)};
  return token;
}

void clear_node_log_sink(std::string_view node, std::uint64_t token) noexcept {
  std::shared_ptr<log_sink> old;
  try {
    log_state& s = state();
    std::lock_guard lock{s.mutex};
    auto it = s.nodes.find(std::string{node});
    if (it != s.nodes.end() && it->second.first == token) {
      old = std::move(it->second.second);
      s.nodes.erase(it);
    }
  } catch (...) {
  }
}

}  // namespace coport::detail
