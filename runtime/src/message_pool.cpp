// Message blocks come from per-thread free lists, so a send costs no malloc.
//
// The thread that frees a block keeps it; a consumer that frees more than it allocates
// (a fan-in sink) hands full batches of 256 blocks to a shared pool, from which a producer
// whose list ran dry takes a whole batch: one lock per 256 messages instead of malloc's
// per-message cross-thread traffic. A thread whose list and the shared pool are both empty
// carves a fresh slab of 256 blocks (one malloc, one lock per 256 messages, blocks adjacent in
// memory so that a consumer reading them in order streams through them). Blocks are sized in
// four classes up to 512 bytes; larger messages use operator new. Pooled memory is kept for
// reuse, not returned to the system.
#include <array>
#include <cstddef>
#include <mutex>
#include <new>
#include <vector>

#include "coport/detail/message_block.hpp"

namespace coport::detail {

namespace {

constexpr std::size_t class_sizes[pool_class_count] = {32, 64, 128, 256, 512};
static_assert(pool_class_of(32) == 0 && pool_class_of(512) == 4 && pool_class_of(513) == -1);

/// Full batches handed back by threads that freed more than they allocated.
class shared_pool {
 public:
  void put(int c, block_list batch) {
    std::lock_guard lock{mutex_};
    batches_[static_cast<std::size_t>(c)].push_back(batch);
  }
  bool take(int c, block_list& out) {
    std::lock_guard lock{mutex_};
    auto& v = batches_[static_cast<std::size_t>(c)];
    if (v.empty()) return false;
    out = v.back();
    v.pop_back();
    return true;
  }

 private:
  std::mutex mutex_;
  std::array<std::vector<block_list>, pool_class_count> batches_;
};

shared_pool& pool() {
  static auto* p = new shared_pool;  // never destroyed: threads may free blocks at exit
  return *p;
}

/// Hands this thread's free lists to the shared pool when the thread ends. Touched by every
/// slow path, and a list only fills through one, so it is registered whenever it matters.
struct exit_hook {
  ~exit_hook() {
    for (std::size_t c = 0; c < pool_class_count; ++c) {
      if (pool_lists[c].head) pool().put(static_cast<int>(c), pool_lists[c]);
      pool_lists[c] = block_list{};
    }
  }
};

void register_exit_hook() noexcept {
  thread_local exit_hook hook;
  (void)hook;
}

/// A fresh slab of `pool_batch` blocks of class `c`, linked in address order.
block_list carve_slab(int c) {
  std::size_t size = class_sizes[static_cast<std::size_t>(c)];
  auto* base = static_cast<char*>(::operator new(size* pool_batch));
  for (std::size_t i = 0; i + 1 < pool_batch; ++i) {
    reinterpret_cast<free_block*>(base + i * size)->next =
        reinterpret_cast<free_block*>(base + (i + 1) * size);
  }
  reinterpret_cast<free_block*>(base + (pool_batch - 1) * size)->next = nullptr;
  return block_list{reinterpret_cast<free_block*>(base), pool_batch};
}

}  // namespace

std::atomic<std::uint32_t> inbound_counts[inbound_slots];

void* allocate_message_slow(std::size_t size) {
  int c = pool_class_of(size);
  if (c < 0) return ::operator new(size);
  register_exit_hook();
  block_list& list = pool_lists[c];
  if (!pool().take(c, list)) list = carve_slab(c);
  free_block* b = list.head;
  list.head = b->next;
  --list.count;
  return b;
}

void deallocate_message_slow(void* p, std::size_t size) noexcept {
  int c = pool_class_of(size);
  if (c < 0) {
    ::operator delete(p);
    return;
  }
  register_exit_hook();
  block_list& list = pool_lists[c];
  auto* b = static_cast<free_block*>(p);
  b->next = list.head;
  list.head = b;
  if (++list.count >= 2 * pool_batch) {
    // Hand one batch to the pool; keep the rest for this thread's own sends.
    block_list batch{list.head, 0};
    free_block* last = list.head;
    for (std::size_t i = 1; i < pool_batch; ++i) last = last->next;
    list.head = last->next;
    last->next = nullptr;
    batch.count = pool_batch;
    list.count -= pool_batch;
    try {
      pool().put(c, batch);
    } catch (...) {
      // Out of memory for the pool's vector: keep the blocks here instead.
      last->next = list.head;
      list.head = batch.head;
      list.count += pool_batch;
    }
  }
}

}  // namespace coport::detail
