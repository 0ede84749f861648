#pragma once
/// \file
/// detail::port_meters — the measured ports of a node (node::measure): for each, messages
/// pushed and handled (their difference is the mailbox) and a histogram of its handler runs;
/// and `timings`, the atomic histogram the node's sampled handler times go into.
///
/// A measured port holds its meter's index (port_impl::meter, 0: none). Senders add to
/// `pushed` after a push (send_path), the runner to `handled` and the histogram. A meter is
/// listed (`figures`) from `attach` until the port's teardown, and its slot is reused only
/// after the port is recycled (no sender holds the port then, so none is still adding).
/// Slots live in chunks that are never moved or freed while the node lives.
/// Threading: thread-safe. Lifetime: part of node_core.
/// May include: the runtime's public headers, port_impl.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coport/options.hpp"
#include "coport/port_id.hpp"

namespace coport::detail {

/// A time_histogram that threads add to.
class timings {
 public:
  void record(std::chrono::steady_clock::duration d) noexcept {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    std::size_t b = 0;
    while (b < bounds_ns.size() && ns > bounds_ns[b]) ++b;
    counts_[b].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(ns < 0 ? 0 : ns), std::memory_order_relaxed);
  }
  time_histogram read() const noexcept;
  void reset() noexcept {
    for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
    sum_ns_.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::array<std::int64_t, time_histogram::buckets - 1> bounds_ns = {
      1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000, 1'000'000'000, 10'000'000'000};
  std::array<std::atomic<std::uint64_t>, time_histogram::buckets> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

struct port_meter {
  std::atomic<std::uint64_t> pushed{0}, handled{0};
  timings times;
  // Under port_meters' mutex:
  std::string port, name;
  bool listed = false, in_use = false;
};

class port_meters {
 public:
  /// Ports measured at once, at most.
  static constexpr std::uint32_t capacity = 4096;

  port_meters() = default;
  port_meters(const port_meters&) = delete;
  port_meters& operator=(const port_meters&) = delete;

  /// A meter for a port (its ID as text, and a name); its index, or 0 when `capacity` ports
  /// are measured already.
  std::uint32_t attach(std::string port, std::string name);
  /// The port was torn down: its meter is no longer listed.
  void unlist(std::uint32_t index) noexcept;
  /// The port was recycled: its slot may be reused.
  void release(std::uint32_t index) noexcept;
  /// The meter at `index` (valid from attach until release).
  port_meter& at(std::uint32_t index) noexcept {
    return (*chunks_[(index - 1) / chunk_size].load(
        std::memory_order_acquire))[(index - 1) % chunk_size];
  }
  /// The listed meters' figures.
  std::vector<port_figures> figures() const;

 private:
  static constexpr std::uint32_t chunk_size = 64;
  using chunk = std::array<port_meter, chunk_size>;
  std::array<std::atomic<chunk*>, capacity / chunk_size> chunks_{};
  std::vector<std::unique_ptr<chunk>> owned_;  // under mutex_
  std::vector<std::uint32_t> free_;            // under mutex_
  std::uint32_t made_ = 0;                     // slots ever made (under mutex_)
  mutable std::mutex mutex_;
};

}  // namespace coport::detail
