#pragma once
/// \file
/// detail::port_table — where a node's ports live, found by local number without a lock.
///
/// A local number is `serial << slot_bits | slot`: the slot finds the port object in O(1),
/// the serial (never reused) tells a live port from an older one in the same slot. Serials
/// are a counter put through a keyed permutation of 37 bits (a Feistel network, its keys
/// random per table), so they stay unique but a peer cannot guess the numbers of ports it
/// was never told about (a sweep of kills or watches over likely numbers finds nothing). Port
/// objects sit in segments that double in size and never move, so a lookup is two loads and
/// one CAS on the port's reference count. Free slots form a lock-free stack (a tagged head;
/// a free port's `id` holds the link), so creating and recycling take no lock: only growing
/// the table takes the mutex (a spawning thread and the runners ending its ports used to
/// queue on it, and a descheduled holder put them to sleep).
/// Threading: all members are thread-safe.
/// May include: port_impl and the standard library.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "port_impl.hpp"

namespace coport::detail {

/// Storage and lookup of a node's ports.
class port_table {
 public:
  static constexpr unsigned slot_bits = 26;  // up to 64 Mi live ports
  static constexpr std::uint64_t slot_mask = (std::uint64_t{1} << slot_bits) - 1;
  static constexpr unsigned first_segment_bits = 8;
  static constexpr unsigned segment_count = slot_bits - first_segment_bits + 1;
  /// Local numbers with this bit were minted by another node for a port it spawned here
  /// (the table's own numbers never reach it: that would take 2^37 ports).
  static constexpr std::uint64_t minted_bit = std::uint64_t{1} << 63;

  /// `seed` nonzero: the keys of serial_of come from it (node_options::seed), else random.
  explicit port_table(std::uint64_t seed = 0);
  ~port_table();
  port_table(const port_table&) = delete;
  port_table& operator=(const port_table&) = delete;

  /// The live port with local number `local`, with one reference taken; null if none.
  port_impl* acquire(std::uint64_t local, bool accept_killed = false) noexcept;

  /// A fresh port with one reference (the table's) plus `extra_refs`, and its local number,
  /// with `fallback` and `actor` installed before any other thread can see it. The node port
  /// takes slot 0 and number 0 (the first call). Throws std::length_error when full.
  port_impl* create(std::int32_t extra_refs, message_handler fallback,
                    std::unique_ptr<actor_state> actor);

  /// As `create`, with the minted local number `local` (minted_bit set); null when a port
  /// with that number is alive.
  port_impl* create_minted(std::uint64_t local, std::int32_t extra_refs, message_handler fallback);

  /// Returns a port whose last reference went away to the free list.
  void recycle(port_impl* p) noexcept;

  /// Calls `f(port_impl*)` with a reference held, for every live port.
  template <class F>
  void for_each_live(F&& f) {
    std::vector<port_impl*> live;
    {
      std::lock_guard lock{mutex_};
      for (std::uint32_t slot = 0; slot < next_slot_; ++slot) {
        port_impl* p = at(slot);
        if (p->try_acquire(p->id.load(std::memory_order_acquire))) live.push_back(p);
      }
    }
    for (port_impl* p : live) f(p);
  }

 private:
  port_impl* at(std::uint64_t slot) const noexcept;

  bool pop_free(std::uint64_t& slot) noexcept;
  /// A new slot at the end of the table (under the mutex; makes its segment if needed).
  std::uint64_t grow_slot();
  port_impl* acquire_minted(std::uint64_t local, bool accept_killed) noexcept;
  void push_free(port_impl* p, std::uint64_t slot) noexcept;

  mutable std::mutex mutex_;  // guards growth: next_slot_ and new segments
  std::array<std::atomic<port_impl*>, segment_count> segments_{};
  /// The free-slot stack: (ABA tag << 32) | (slot + 1); a low half of 0 means empty.
  std::atomic<std::uint64_t> free_head_{0};
  std::uint32_t next_slot_ = 0;
  std::atomic<std::uint64_t> next_serial_{0};
  /// The serial of the `n`th port (n > 0): a keyed permutation of [0, 2^37).
  std::uint64_t serial_of(std::uint64_t n) const noexcept;
  std::array<std::uint64_t, 4> keys_{};
  struct minted_port {
    port_impl* port;
    std::uint64_t slot;
  };
  std::unordered_map<std::uint64_t, minted_port> minted_;  // guarded by mutex_
};

}  // namespace coport::detail
