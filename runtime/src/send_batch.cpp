// Sender-side batching: a handler that keeps sending pushes its messages to one port in
// chains, one CAS per chain instead of one per message.
//
// A handler that has pushed `busy_sends` messages in one dispatch is a producer (count's
// loop, a broadcast). From then on, until its dispatch ends, consecutive messages from it to
// the same port are linked into a thread-local chain and pushed together: when the chain
// holds `batch_limit`, when the handler sends to another port, before a send-cache miss
// (which may unpin the chain's port), and when the dispatch ends (run_port). Order per
// sender and receiver is kept (the chain is one push, in order, and every other push from
// this thread flushes it first); what changes is only that up to `batch_limit - 1` messages
// become visible when the handler moves on rather than at once. Only a running port's
// handler batches; other threads, and handlers sending to another node, push plainly.
#include "node_core.hpp"

namespace coport::detail {

bool node_core::push_busy(port_impl* p, message_node* n) noexcept {
  if (per_thread.sends_this_dispatch == busy_sends) scheduler_.offer_local();
  const context& ctx = current();
  if (ctx.core != this || ctx.port == nullptr) {
    // Not a handler of this node: count again from zero (one call per busy_sends pushes).
    per_thread.sends_this_dispatch = 0;
    if (per_thread.pending_sends.count) flush_pending();
    return false;
  }
  pending_batch& b = per_thread.pending_sends;
  if (b.count && b.port != p) flush_pending();
  if (b.count == 0) {
    b.core = this;
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

void node_core::flush_pending() noexcept {
  pending_batch b = std::exchange(per_thread.pending_sends, pending_batch{});
  if (b.count == 0) return;
  switch (b.port->push_chain(b.newest, b.oldest)) {
    case push_result::queued:
      return;
    case push_result::woke:
      b.core->scheduler_.schedule(b.port);
      return;
    case push_result::dead:
      for (message_node* m = b.newest; m;) {
        message_node* next = m->next;
        destroy_message(m);
        m = next;
      }
      b.core->dropped_.fetch_add(b.count, std::memory_order_relaxed);
      return;
  }
}

}  // namespace coport::detail
