// The send path's slow half: send-cache misses, messages for other nodes and for dead ports,
// woken ports, and sender-side batching.
//
// Batching: a handler that keeps sending pushes its messages to one port in chains, one CAS
// per chain instead of one per message. A handler that has pushed `busy_sends` messages in
// one dispatch is a producer (count's loop, a broadcast). From then on, until its dispatch
// ends, consecutive messages from it to the same port are linked into a thread-local chain
// and pushed together: when the chain holds `batch_limit`, when the handler sends to another
// port, before a send-cache miss (which may unpin the chain's port), and when the dispatch
// ends (port_impl.cpp). Order per sender and receiver is kept (the chain is one push, in
// order, and every other push from this thread flushes it first); what changes is only that
// up to `batch_limit - 1` messages become visible when the handler moves on rather than at
// once. Only a running port's handler batches; other threads, and handlers sending to
// another node, push plainly.
#include "send_path.hpp"

#include <array>
#include <memory>

#include "coport/internal/log.hpp"
#include "node_core.hpp"
#include "port_table.hpp"
#include "remote_ports.hpp"

namespace coport::detail {

namespace {

/// The owners of this thread's send-cache entries. An entry holds one reference (so the
/// port's slot is not recycled and its number stays put) and is valid only for the core
/// with `core_uid`, which is unique in the process, so an entry of a node that is gone
/// never matches; the weak_ptr tells eviction whether the memory still exists. Touched on
/// every miss, so it is registered (and releases the references at thread exit) whenever
/// an entry is filled.
struct send_cache_owners {
  std::array<std::weak_ptr<node_core>, send_cache_size> cores;

  void evict(std::size_t i) noexcept {
    send_cache_entry& e = per_thread.send_cache[i];
    if (e.port) {
      if (auto core = cores[i].lock()) core->release(e.port);
    }
    e = send_cache_entry{};
    cores[i].reset();
  }
  ~send_cache_owners() {
    for (std::size_t i = 0; i < send_cache_size; ++i) evict(i);
  }
};

send_cache_owners& this_thread_owners() {
  thread_local send_cache_owners owners;
  return owners;
}

}  // namespace

port_impl* send_path::lookup_slow(std::uint64_t local) noexcept {
  // An eviction below may drop the pin that keeps a pending batch's port: push it first.
  if (per_thread.pending_sends.count) flush_pending();
  std::size_t i = send_cache_slot(local);
  send_cache_owners& owners = this_thread_owners();
  send_cache_entry& e = per_thread.send_cache[i];
  // This node's entries have one of two keys: `uid_`, which the hit path matches, and
  // `filtered_key_`, which it never does: while a filter is on, entries are made with it so
  // that every send comes here and to send_slow (uid_ acquired: a thread that sees a key
  // made by filters_changed sees that a filter is on).
  const std::uint64_t uid = uid_.load(std::memory_order_acquire);
  const std::uint64_t key = filtering_.load(std::memory_order_relaxed) ? filtered_key_ : uid;
  const bool ours = e.core_uid == uid || e.core_uid == filtered_key_;
  if (ours && e.local == local) {
    const std::uint8_t state = e.port->state.load(std::memory_order_acquire);
    if (!(state & port_impl::killed_bit)) {
      // A measured port: counted here (every message sent to it through the cache passes
      // here once, batched or not). An entry kept while a filter was on hits again after.
      count_pushed(e.port, 1);
      e.core_uid = key;
      return e.port;
    }
    // A killed port: drop the entry (and its pin) so that its slot can be recycled.
    owners.evict(i);
    return nullptr;
  }
  port_impl* p = ports_.acquire(local);
  if (!p) return nullptr;
  if (ours) {
    // Replacing an entry of this node, which is alive: no weak_ptr traffic.
    core_.release(e.port);
  } else {
    owners.evict(i);
    owners.cores[i] = core_.weak_from_this();
  }
  e.core_uid = key;
  e.local = local;
  e.port = p;  // the cache keeps the reference that acquire took
  if (p->state.load(std::memory_order_acquire) & port_impl::measured_bit) [[unlikely]] {
    count_pushed(p, 1);
  }
  return p;
}

void send_path::send_slow(const port_id& to, message_block* n) noexcept {
  if (per_thread.pending_sends.count)
    flush_pending();  // order from this thread, and the batch's pin
  // A filter of this node may start a trace (send never hits the cache while one is on).
  if (filtering_.load(std::memory_order_relaxed) && n->kind == message_kind::user) [[unlikely]] {
    core_.tracer().start(to, n, nullptr);
  }
  if (is_local(to)) {
    if (port_impl* p = lookup_cached(to.local())) {
      push_sent(p, n);
      return;
    }
  } else if (!to.is_null() && to.node_number() != node_number_) {
    remote_.send(to, n);
    return;
  }
  log(log_level::debug, {"runtime", core_.id()}, "dropped a message to {}", to.to_string());
  destroy_message(n);
  count_drop();
}

void send_path::mark_child(message_block* n) noexcept {
  if (n->kind != message_kind::user) return;
  core_.tracer().mark_sent(n, *per_thread.outgoing_trace);
}

void send_path::filters_changed(bool on) noexcept {
  filtering_.store(on, std::memory_order_relaxed);
  if (on) uid_.store(next_send_cache_key(), std::memory_order_release);  // after filtering_
}

void send_path::push_then_release(port_impl* p, message_block* n) noexcept {
  push(p, n);
  core_.release(p);
}

void send_path::drop(message_block* n) noexcept {
  destroy_message(n);
  count_drop();
}

bool send_path::push_busy(port_impl* p, message_block* n) noexcept {
  if (per_thread.sends_this_dispatch == busy_sends) scheduler_.offer_local();
  const context& ctx = per_thread.current;
  if (ctx.core != &core_ || ctx.port == nullptr) {
    // Not a handler of this node: count again from zero (one call per busy_sends pushes).
    per_thread.sends_this_dispatch = 0;
    if (per_thread.pending_sends.count) flush_pending();
    return false;
  }
  pending_batch& b = per_thread.pending_sends;
  if (b.count && b.port != p) flush_pending();
  if (b.count == 0) {
    b.path = this;
    b.port = p;
    b.oldest = n;
    n->next = nullptr;
  } else {
    n->next = b.newest;
  }
  b.newest = n;
  if (++b.count == batch_limit) flush_pending();
  return true;
}

void send_path::count_pushed(port_impl* p, std::uint32_t n) noexcept {
  if (std::uint32_t m = p->meter.load(std::memory_order_relaxed)) {
    core_.meters().at(m).pushed.fetch_add(n, std::memory_order_relaxed);
  }
}

void send_path::flush_pending() noexcept {
  pending_batch b = std::exchange(per_thread.pending_sends, pending_batch{});
  if (b.count == 0) return;
  switch (b.port->push_chain(b.newest, b.oldest)) {
    case push_result::queued:
      return;
    case push_result::woke:
      b.path->scheduler_.schedule(b.port);
      return;
    case push_result::dead:
      for (message_block* m = b.newest; m;) {
        message_block* next = m->next;
        destroy_message(m);
        m = next;
      }
      b.path->dropped_.fetch_add(b.count, std::memory_order_relaxed);
      return;
  }
}

}  // namespace coport::detail
