// The process's table of trace marks (coport/internal/trace_marks.hpp): which message blocks
// carry a trace, and with what. Only traced messages come here; the table is bounded.
#include "coport/internal/trace_marks.hpp"

#include <mutex>
#include <random>
#include <unordered_map>

namespace coport::detail {

namespace {

struct mark_table {
  std::mutex mutex;
  std::unordered_map<const message_block*, trace_mark> marks;
  std::unordered_map<std::uint32_t, std::size_t> per_origin;  ///< marks of peers' messages
  std::atomic<std::size_t> unmarked{0};

  /// Takes the entry `it` out (under the mutex).
  trace_mark erase(std::unordered_map<const message_block*, trace_mark>::iterator it) {
    trace_mark m = std::move(it->second);
    marks.erase(it);
    if (m.origin != 0) {
      auto o = per_origin.find(m.origin);
      if (o != per_origin.end() && --o->second == 0) per_origin.erase(o);
    }
    return m;
  }
};

mark_table& table() {
  static mark_table* t = new mark_table;  // never destroyed: blocks die at thread exit too
  return *t;
}

/// Per-thread generator (IDs must be unique, not secret).
std::mt19937_64& generator() {
  thread_local std::mt19937_64 g{[] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }()};
  return g;
}

template <std::size_t N>
std::array<std::uint8_t, N> random_id() noexcept {
  std::array<std::uint8_t, N> id{};
  bool zero = true;
  while (zero) {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = generator()();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j) {
        id[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
        zero = zero && id[i + j] == 0;
      }
    }
  }
  return id;
}

}  // namespace

bool mark_trace(message_block* n, const trace_mark& m) noexcept {
  if (!n || n->kind != message_kind::user) return false;
  mark_table& t = table();
  try {
    std::lock_guard lock{t.mutex};
    if (t.marks.size() >= max_marked || (m.origin != 0 && t.per_origin.count(m.origin) &&
                                         t.per_origin[m.origin] >= max_marks_per_origin)) {
      t.unmarked.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    t.marks.insert_or_assign(n, m);
    if (m.origin != 0) ++t.per_origin[m.origin];
  } catch (...) {  // out of memory: the message goes unmarked
    t.unmarked.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  n->kind = message_kind::traced;
  return true;
}

std::optional<trace_mark> take_trace(message_block* n) noexcept {
  if (!n || n->kind != message_kind::traced) return std::nullopt;
  n->kind = message_kind::user;
  mark_table& t = table();
  std::lock_guard lock{t.mutex};
  auto it = t.marks.find(n);
  if (it == t.marks.end()) return std::nullopt;
  return t.erase(it);
}

void forget_trace(const message_block* n) noexcept {
  mark_table& t = table();
  std::lock_guard lock{t.mutex};
  if (auto it = t.marks.find(n); it != t.marks.end()) t.erase(it);
}

std::size_t unmarked_traces() noexcept {
  return table().unmarked.load(std::memory_order_relaxed);
}

std::array<std::uint8_t, 16> new_trace_id() noexcept {
  return random_id<16>();
}

std::array<std::uint8_t, 8> new_span_id() noexcept {
  return random_id<8>();
}

}  // namespace coport::detail
