#pragma once
/// \file
/// Log lines of the transport: the shared template (coport/internal/log.hpp) and short names
/// for the levels it uses.
/// Threading: thread-safe.
/// May include: coport/internal/log.hpp and the standard library.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "coport/internal/log.hpp"

namespace coport::transport::detail {

/// Lets one line a second through and counts the rest (a producer far ahead of its link
/// refuses many messages). Thread-safe.
class log_throttle {
 public:
  /// True when a line may go now; `more` then says how many were held back since the last.
  bool allow(std::size_t& more) noexcept {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    if (now - last >= std::chrono::steady_clock::duration{std::chrono::seconds{1}}.count() &&
        last_.compare_exchange_strong(last, now, std::memory_order_relaxed)) {
      more = held_.exchange(0, std::memory_order_relaxed);
      return true;
    }
    held_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

 private:
  std::atomic<std::int64_t> last_{0};  ///< steady_clock ticks of the last line
  std::atomic<std::size_t> held_{0};
};

using coport::detail::log;
inline constexpr auto log_warn = coport::detail::log_level::warn;
inline constexpr auto log_error = coport::detail::log_level::error;
inline constexpr auto log_info = coport::detail::log_level::info;

}  // namespace coport::transport::detail
