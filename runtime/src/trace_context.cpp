// W3C trace contexts as text, and spans as JSON lines (coport/trace.hpp).
#include <mutex>
#include <ostream>

#include <nlohmann/json.hpp>

#include "coport/trace.hpp"

namespace coport {

namespace {

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& id) noexcept {
  for (std::uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // W3C: lowercase only
}

/// Reads `2 * N` lowercase hex digits at `text[at]`.
template <std::size_t N>
bool read_hex(std::string_view text, std::size_t at, std::array<std::uint8_t, N>& out) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    int hi = hex_value(text[at + 2 * i]), lo = hex_value(text[at + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace

bool trace_context::valid() const noexcept {
  return !all_zero(trace_id) && !all_zero(parent_id);
}

std::string trace_context::traceparent() const {
  std::uint8_t f = flags;
  return "00-" + to_hex(trace_id.data(), trace_id.size()) + "-" +
         to_hex(parent_id.data(), parent_id.size()) + "-" + to_hex(&f, 1);
}

std::optional<trace_context> trace_context::from_traceparent(std::string_view text) noexcept {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  if (text.size() != 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return {};
  if (text[0] != '0' || text[1] != '0') return {};  // version 00 is the one this reads
  trace_context c;
  std::array<std::uint8_t, 1> f{};
  if (!read_hex(text, 3, c.trace_id) || !read_hex(text, 36, c.parent_id) ||
      !read_hex(text, 53, f)) {
    return {};
  }
  c.flags = f[0];
  if (!c.valid()) return {};
  return c;
}

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * size, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

std::string to_json(const span& s) {
  nlohmann::json j;
  j["kind"] = s.kind == span_kind::send ? "send" : "handle";
  j["trace_id"] = to_hex(s.trace_id.data(), s.trace_id.size());
  j["span_id"] = to_hex(s.span_id.data(), s.span_id.size());
  j["parent_id"] = all_zero(s.parent_id) ? nlohmann::json(nullptr)
                                         : nlohmann::json(to_hex(s.parent_id.data(), 8));
  j["node"] = s.node;
  j["from"] = s.from ? nlohmann::json(s.from.to_string()) : nlohmann::json(nullptr);
  j["to"] = s.to.to_string();
  j["tag"] = s.tag;
  j["size"] = s.size;
  j["hop"] = s.hop;
  j["start"] =
      std::chrono::duration_cast<std::chrono::nanoseconds>(s.start.time_since_epoch()).count();
  j["duration_ns"] = s.duration.count();
  j["suppressed"] = s.suppressed;
  // Tags and node IDs are any bytes: what is not UTF-8 is replaced, never thrown on.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::function<void(const span&)> json_lines(std::ostream& out) {
  auto guard = std::make_shared<std::mutex>();
  return [&out, guard](const span& s) {
    std::string line = to_json(s);
    std::lock_guard lock{*guard};
    out << line << '\n';
    out.flush();
  };
}

}  // namespace coport
