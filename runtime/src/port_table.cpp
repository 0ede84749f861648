#include "port_table.hpp"

#include <bit>
#include <new>
#include <random>
#include <stdexcept>

namespace coport::detail {

namespace {

constexpr std::uint64_t first_size = std::uint64_t{1} << port_table::first_segment_bits;

/// Segment k holds slots [first_size * (2^k - 1), first_size * (2^(k+1) - 1)).
unsigned segment_of(std::uint64_t slot) noexcept {
  return static_cast<unsigned>(std::bit_width(slot / first_size + 1) - 1);
}
std::uint64_t segment_start(unsigned k) noexcept {
  return first_size * ((1ull << k) - 1);
}
std::uint64_t segment_size(unsigned k) noexcept {
  return first_size << k;
}

}  // namespace

port_table::~port_table() {
  for (unsigned k = 0; k < segment_count; ++k) {
    port_impl* seg = segments_[k].load(std::memory_order_relaxed);
    if (!seg) continue;
    std::uint64_t n = segment_size(k);
    for (std::uint64_t i = 0; i < n; ++i) seg[i].~port_impl();
    ::operator delete (seg, std::align_val_t{alignof(port_impl)});
  }
}

port_impl* port_table::at(std::uint64_t slot) const noexcept {
  unsigned k = segment_of(slot);
  port_impl* seg = segments_[k].load(std::memory_order_acquire);
  return seg ? seg + (slot - segment_start(k)) : nullptr;
}

port_impl* port_table::acquire(std::uint64_t local, bool accept_killed) noexcept {
  if (local & minted_bit) [[unlikely]]
    return acquire_minted(local, accept_killed);
  std::uint64_t slot = local & slot_mask;
  if (slot >= (std::uint64_t{1} << slot_bits)) return nullptr;
  port_impl* p = at(slot);
  if (!p || !p->try_acquire(local, accept_killed)) return nullptr;
  return p;
}

bool port_table::pop_free(std::uint64_t& slot) noexcept {
  std::uint64_t head = free_head_.load(std::memory_order_acquire);
  for (;;) {
    std::uint64_t top = head & 0xffffffffu;
    if (top == 0) return false;
    // A slot on the stack is below next_slot_, so its segment exists. The link is stale if
    // another thread pops this slot first; the tag then fails our CAS.
    port_impl* p = at(top - 1);
    if (!p) return false;  // not reachable; keeps the compiler's null analysis quiet
    std::uint64_t link = p->id.load(std::memory_order_relaxed) & 0xffffffffu;
    std::uint64_t next = (((head >> 32) + 1) << 32) | link;
    if (free_head_.compare_exchange_weak(head, next, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
      slot = top - 1;
      return true;
    }
  }
}

void port_table::push_free(port_impl* p, std::uint64_t slot) noexcept {
  std::uint64_t head = free_head_.load(std::memory_order_relaxed);
  std::uint64_t next;
  do {
    p->id.store(head & 0xffffffffu, std::memory_order_relaxed);
    next = (((head >> 32) + 1) << 32) | (slot + 1);
  } while (!free_head_.compare_exchange_weak(head, next, std::memory_order_release,
                                             std::memory_order_relaxed));
}

port_impl* port_table::acquire_minted(std::uint64_t local, bool accept_killed) noexcept {
  std::lock_guard lock{mutex_};
  auto it = minted_.find(local);
  if (it == minted_.end() || !it->second.port->try_acquire(local, accept_killed)) return nullptr;
  return it->second.port;
}

port_impl* port_table::create_minted(std::uint64_t local, std::int32_t extra_refs,
                                     message_handler fallback) {
  {
    std::lock_guard lock{mutex_};
    if (minted_.count(local)) return nullptr;
  }
  std::uint64_t slot;
  if (!pop_free(slot)) slot = grow_slot();
  port_impl* p = at(slot);
  p->fallback = std::move(fallback);
  std::lock_guard lock{mutex_};
  if (!minted_.emplace(local, minted_port{p, slot}).second) {
    p->fallback = nullptr;
    push_free(p, slot);
    return nullptr;
  }
  p->id.store(local, std::memory_order_relaxed);
  p->refs.store(1 + extra_refs, std::memory_order_release);
  return p;
}

std::uint64_t port_table::grow_slot() {
  std::lock_guard lock{mutex_};
  if (next_slot_ > slot_mask) throw std::length_error{"coport: port table is full"};
  std::uint64_t slot = next_slot_;
  unsigned k = segment_of(slot);
  if (!segments_[k].load(std::memory_order_relaxed)) {
    std::uint64_t n = segment_size(k);
    auto* seg = static_cast<port_impl*>(
        ::operator new (n * sizeof(port_impl), std::align_val_t{alignof(port_impl)}));
    for (std::uint64_t i = 0; i < n; ++i) new (seg + i) port_impl{};
    segments_[k].store(seg, std::memory_order_release);
  }
  ++next_slot_;
  return slot;
}

port_table::port_table(std::uint64_t seed) {
  if (seed != 0) {
    // SplitMix64 from the node's seed (node_options::seed): the same port IDs each run.
    std::uint64_t x = seed;
    for (auto& k : keys_) {
      std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      k = z ^ (z >> 31);
    }
    return;
  }
  std::random_device random;
  for (auto& k : keys_) k = std::uint64_t{random()} << 32 | random();
}

std::uint64_t port_table::serial_of(std::uint64_t n) const noexcept {
  // A balanced Feistel network on 38 bits (two halves of 19), walked until the result has
  // 37 bits (the minted bit stays clear): a bijection of [0, 2^37), so serials never repeat.
  constexpr unsigned half = 19;
  constexpr std::uint64_t mask = (std::uint64_t{1} << half) - 1;
  std::uint64_t x = n;
  do {
    std::uint64_t l = x >> half, r = x & mask;
    for (std::uint64_t k : keys_) {
      std::uint64_t f = (r ^ k) * 0x9e3779b97f4a7c15ull;
      f ^= f >> 29;
      f *= 0xbf58476d1ce4e5b9ull;
      f ^= f >> 32;
      std::uint64_t next = l ^ (f & mask);
      l = r;
      r = next;
    }
    x = l << half | r;
  } while (x >> 37);
  return x;
}

port_impl* port_table::create(std::int32_t extra_refs, message_handler fallback,
                              std::unique_ptr<actor_state> actor) {
  std::uint64_t slot;
  if (!pop_free(slot)) slot = grow_slot();  // the lock only when the table grows
  port_impl* p = at(slot);
  p->fallback = std::move(fallback);
  p->actor = std::move(actor);
  std::uint64_t n = next_serial_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t serial = n == 0 ? 0 : serial_of(n);  // the node port is number 0
  p->id.store(serial << slot_bits | slot, std::memory_order_relaxed);
  p->refs.store(1 + extra_refs, std::memory_order_release);
  return p;
}

void port_table::recycle(port_impl* p) noexcept {
  std::uint64_t id = p->id.load(std::memory_order_relaxed);
  std::uint64_t slot = id & slot_mask;
  if (id & minted_bit) {
    std::lock_guard lock{mutex_};
    auto it = minted_.find(id);
    slot = it->second.slot;
    minted_.erase(it);
  }
  // Reset while nobody can take a reference (refs == 0); push_free publishes the reset.
  p->inbox.store(port_impl::blocked(), std::memory_order_relaxed);
  p->state.store(0, std::memory_order_relaxed);
  p->monitors_closed = false;
  p->drain_skips = 0;
  p->death = reason{};
  p->cache = nullptr;
  p->next_ready = nullptr;
  push_free(p, slot);
}

}  // namespace coport::detail
