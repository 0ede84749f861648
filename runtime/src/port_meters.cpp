// detail::port_meters — measured ports' meters, and the histogram threads add handler times to.
#include "port_meters.hpp"

namespace coport::detail {

time_histogram timings::read() const noexcept {
  time_histogram h;
  for (std::size_t b = 0; b < h.counts.size(); ++b) {
    h.counts[b] = counts_[b].load(std::memory_order_relaxed);
  }
  // The count is the buckets' sum, so that _count and the +Inf bucket agree in a scrape.
  h.count = 0;
  for (auto c : h.counts) h.count += c;
  h.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return h;
}

std::uint32_t port_meters::attach(std::string port, std::string name) {
  std::lock_guard lock{mutex_};
  std::uint32_t index = 0;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    if (made_ == capacity) return 0;
    const std::uint32_t c = made_ / chunk_size;
    if (!chunks_[c].load(std::memory_order_relaxed)) {
      owned_.push_back(std::make_unique<chunk>());  // may throw: nothing changed yet
      chunks_[c].store(owned_.back().get(), std::memory_order_release);
    }
    index = ++made_;
  }
  port_meter& m = at(index);
  m.pushed.store(0, std::memory_order_relaxed);
  m.handled.store(0, std::memory_order_relaxed);
  m.times.reset();
  m.port = std::move(port);
  m.name = std::move(name);
  m.listed = true;
  m.in_use = true;
  return index;
}

void port_meters::unlist(std::uint32_t index) noexcept {
  std::lock_guard lock{mutex_};
  at(index).listed = false;
}

void port_meters::release(std::uint32_t index) noexcept {
  std::lock_guard lock{mutex_};
  port_meter& m = at(index);
  m.listed = false;
  m.in_use = false;
  try {
    free_.push_back(index);
  } catch (...) {
    // Out of memory for the free list: the slot stays taken.
  }
}

std::vector<port_figures> port_meters::figures() const {
  std::vector<port_figures> out;
  std::lock_guard lock{mutex_};
  for (std::uint32_t i = 1; i <= made_; ++i) {
    const port_meter& m = const_cast<port_meters*>(this)->at(i);
    if (!m.listed) continue;
    port_figures f;
    f.port = m.port;
    f.name = m.name;
    f.handled = m.handled.load(std::memory_order_relaxed);
    const std::uint64_t pushed = m.pushed.load(std::memory_order_relaxed);
    f.mailbox = pushed > f.handled ? static_cast<std::size_t>(pushed - f.handled) : 0;
    f.handler_time = m.times.read();
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace coport::detail
