#pragma once
/// \file
/// detail::send_path — how a message block reaches a port: `send` to a port ID (this thread's
/// send cache finds a local port without touching the table; another node's port goes to
/// remote_ports), `push` into a port already held, a busy handler's batches (one CAS per
/// chain), and the count of messages dropped because their port was dead or unknown.
///
/// The hot path is `send` → (no traced run here) → `lookup_hit` (one thread-local load and
/// compare) →
/// `push_sent` → port_impl::push (and, when that woke the port, scheduler::schedule); it is
/// inline here. What a miss, a remote port or a dead one needs is in send_path.cpp, with the
/// batching (see there).
/// Threading: every member is thread-safe; the send cache and the pending batch are this
/// thread's (thread_state.hpp). Lifetime: part of node_core; a send-cache entry pins its port
/// (one reference) until evicted or until the thread exits.
/// May include: the runtime's detail headers, port_impl, scheduler, thread_state; the core,
/// port_table and remote_ports by declaration only (their uses are in send_path.cpp).

#include <atomic>
#include <cstdint>

#include "coport/detail/message_block.hpp"
#include "coport/internal/trace_marks.hpp"
#include "coport/port_id.hpp"
#include "port_impl.hpp"
#include "scheduler.hpp"
#include "thread_state.hpp"

namespace coport::detail {

class node_core;
class port_table;
class remote_ports;

/// A new key for send-cache entries: unique in the process, never reused (node_core.cpp; node
/// cores take theirs from the same count).
std::uint64_t next_send_cache_key() noexcept;

inline constexpr std::uint32_t batch_limit = 32;  ///< messages pushed with one CAS at most

inline std::size_t send_cache_slot(std::uint64_t local) noexcept {
  // Fibonacci hashing: serials and slots grow together, so the low bits alone collide.
  return (local * 0x9E3779B97F4A7C15ull) >> (64 - send_cache_bits);
}

/// The sending side of one node.
class send_path {
 public:
  /// The send path of `core` (node number `node_number`, incarnation `incarnation`; `uid`
  /// unique in the process and never reused: send caches key on it).
  send_path(node_core& core, std::uint64_t uid, std::uint32_t node_number,
            std::uint32_t incarnation, port_table& ports, scheduler& runs,
            remote_ports& remote) noexcept
      : core_{core},
        ports_{ports},
        scheduler_{runs},
        remote_{remote},
        uid_{uid},
        filtered_key_{next_send_cache_key()},
        node_number_{node_number},
        incarnation_{incarnation} {}
  send_path(const send_path&) = delete;
  send_path& operator=(const send_path&) = delete;

  /// True for a port of this node and this incarnation (or of no stated incarnation).
  bool is_local(const port_id& p) const noexcept {
    return p.node_number() == node_number_ &&
           (p.incarnation() == incarnation_ || p.incarnation() == 0);
  }

  /// Sends a block to any port (local, or through the remote link); takes ownership. A block
  /// for a dead or unknown port is destroyed and counted as dropped.
  void send(const port_id& to, message_block* n) noexcept {
    // Inside a traced run (tracer.hpp), what is sent is its child: a thread-local test. A
    // filter of this node is looked at in send_slow: while one is on, no send hits the cache.
    if (per_thread.outgoing_trace != nullptr) [[unlikely]]
      mark_child(n);
    if (is_local(to)) [[likely]] {
      if (port_impl* p = lookup_hit(to.local())) [[likely]] {
        push_sent(p, n);
        return;
      }
      if (!filtering_.load(std::memory_order_relaxed)) [[likely]] {
        if (port_impl* p = lookup_slow(to.local())) {
          push_sent(p, n);
          return;
        }
      }
    }
    send_slow(to, n);
  }
  /// This node's filters changed (`on`: some filter is on). Turned on, every thread's cached
  /// lookups of this node miss from now on, and new entries are made so that they miss while
  /// a filter is on: every send passes send_slow, which looks at the filters.
  void filters_changed(bool on) noexcept;
  /// Pushes a block into a port the caller holds a reference to, keeping the reference
  /// (after this thread's pending batch, so that order from this thread holds).
  void push(port_impl* p, message_block* n) noexcept {
    if (per_thread.pending_sends.count) [[unlikely]]
      flush_pending();
    if (p->state.load(std::memory_order_acquire) & port_impl::measured_bit) [[unlikely]] {
      count_pushed(p, 1);
    }
    push_plain(p, n);
  }
  /// `push`, then drops the caller's reference.
  void push_then_release(port_impl* p, message_block* n) noexcept;
  /// Pushes this thread's pending batch, if any (any node's): a dispatch's end, and every
  /// push from this thread that must come after the batch.
  static void flush_pending() noexcept;

  /// Counts messages dropped elsewhere (no handler, no link, a port torn down).
  void count_drop(std::size_t n = 1) noexcept { dropped_.fetch_add(n, std::memory_order_relaxed); }
  std::size_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  /// The live local port `local` through this thread's send cache (a pinned reference that
  /// the cache owns; the caller takes none), or null. The hit path is inline: a killed or a
  /// measured port misses it (a measured one is counted in lookup_slow).
  port_impl* lookup_cached(std::uint64_t local) noexcept {
    if (port_impl* p = lookup_hit(local)) [[likely]]
      return p;
    return lookup_slow(local);
  }
  /// `lookup_cached`'s hit, or null.
  port_impl* lookup_hit(std::uint64_t local) noexcept {
    const send_cache_entry& e = per_thread.send_cache[send_cache_slot(local)];
    if (e.core_uid == uid_.load(std::memory_order_relaxed) && e.local == local &&
        e.port->state.load(std::memory_order_acquire) == 0) [[likely]] {
      return e.port;
    }
    return nullptr;
  }
  /// `send`'s push into a port pinned by this thread's send cache: the one push that may be
  /// batched (the pin keeps the port's slot until the batch is pushed).
  void push_sent(port_impl* p, message_block* n) noexcept {
    if (++per_thread.sends_this_dispatch >= busy_sends) [[unlikely]] {
      pending_batch& b = per_thread.pending_sends;
      if (b.port == p && b.count != 0 && b.count + 1 < batch_limit) {
        // Another message for the open batch (a port address is unique to its node).
        n->next = b.newest;
        b.newest = n;
        ++b.count;
        return;
      }
      if (push_busy(p, n)) return;
    }
    push_plain(p, n);
  }
  void push_plain(port_impl* p, message_block* n) noexcept {
    push_result r = p->push(n);
    if (r == push_result::queued) return;  // one compare on a busy port's path
    if (r == push_result::woke) [[likely]] {
      // A scheduled port cannot be torn down but by its own run: the run queue needs no
      // reference of its own.
      scheduler_.schedule(p);
    } else {
      drop(n);
    }
  }
  /// A send by a handler that has sent `busy_sends` messages in this dispatch: offers this
  /// thread's woken ports to idle threads and batches sends to one port. False if the
  /// caller is to push plainly.
  bool push_busy(port_impl* p, message_block* n) noexcept;
  /// The rest of `send`: cache misses, remote ports, drops.
  void send_slow(const port_id& to, message_block* n) noexcept;
  /// Marks `n` as a child of this thread's trace (tracer.hpp).
  void mark_child(message_block* n) noexcept;
  /// Destroys a block whose port is dead, counting it.
  void drop(message_block* n) noexcept;
  /// Adds `n` to the pushed count of measured port `p` (send_path.cpp): before the push, so
  /// that its runner never handles more than was counted.
  void count_pushed(port_impl* p, std::uint32_t n) noexcept;
  /// The rest of `lookup_cached`: fills or evicts the entry.
  port_impl* lookup_slow(std::uint64_t local) noexcept;

  node_core& core_;
  port_table& ports_;
  scheduler& scheduler_;
  remote_ports& remote_;
  /// The key of this node's send-cache entries: unique in the process, never reused, and
  /// replaced by filters_changed.
  std::atomic<std::uint64_t> uid_;
  /// The key of entries made while a filter is on: this node's, and never matched by the
  /// hit path (lookup_slow).
  const std::uint64_t filtered_key_;
  std::atomic<bool> filtering_{false};  ///< some filter of this node is on
  const std::uint32_t node_number_;
  const std::uint32_t incarnation_;
  std::atomic<std::size_t> dropped_{0};
};

}  // namespace coport::detail
