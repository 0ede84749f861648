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

#include "coport/detail/message_node.hpp"

namespace coport::detail {

namespace {

constexpr std::size_t class_count = 4;
constexpr std::size_t class_sizes[class_count] = {64, 128, 256, 512};
constexpr std::size_t batch_size = 256;

/// A free block, linked through its first word.
struct free_block {
  free_block* next;
};

/// A list of free blocks with its length.
struct block_list {
  free_block* head = nullptr;
  std::size_t count = 0;
};

int class_of(std::size_t size) noexcept {
  for (std::size_t c = 0; c < class_count; ++c) {
    if (size <= class_sizes[c]) return static_cast<int>(c);
  }
  return -1;
}

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
  std::array<std::vector<block_list>, class_count> batches_;
};

shared_pool& pool() {
  static auto* p = new shared_pool;  // never destroyed: threads may free blocks at exit
  return *p;
}

/// This thread's free lists; returns what it holds to the shared pool when the thread ends.
struct thread_cache {
  std::array<block_list, class_count> lists;

  ~thread_cache() {
    for (std::size_t c = 0; c < class_count; ++c) {
      if (lists[c].head) pool().put(static_cast<int>(c), lists[c]);
    }
  }
};

thread_cache& cache() {
  thread_local thread_cache tc;
  return tc;
}

/// A fresh slab of `batch_size` blocks of class `c`, linked in address order.
block_list carve_slab(int c) {
  std::size_t size = class_sizes[static_cast<std::size_t>(c)];
  auto* base = static_cast<char*>(::operator new(size* batch_size));
  for (std::size_t i = 0; i + 1 < batch_size; ++i) {
    reinterpret_cast<free_block*>(base + i * size)->next =
        reinterpret_cast<free_block*>(base + (i + 1) * size);
  }
  reinterpret_cast<free_block*>(base + (batch_size - 1) * size)->next = nullptr;
  return block_list{reinterpret_cast<free_block*>(base), batch_size};
}

}  // namespace

void* allocate_message(std::size_t size) {
  int c = class_of(size);
  if (c < 0) return ::operator new(size);
  block_list& list = cache().lists[static_cast<std::size_t>(c)];
  if (!list.head && !pool().take(c, list)) list = carve_slab(c);
  free_block* b = list.head;
  list.head = b->next;
  --list.count;
  return b;
}

void deallocate_message(void* p, std::size_t size) noexcept {
  int c = class_of(size);
  if (c < 0) {
    ::operator delete(p);
    return;
  }
  block_list& list = cache().lists[static_cast<std::size_t>(c)];
  auto* b = static_cast<free_block*>(p);
  b->next = list.head;
  list.head = b;
  if (++list.count >= 2 * batch_size) {
    // Hand one batch to the pool; keep the rest for this thread's own sends.
    block_list batch{list.head, 0};
    free_block* last = list.head;
    for (std::size_t i = 1; i < batch_size; ++i) last = last->next;
    list.head = last->next;
    last->next = nullptr;
    batch.count = batch_size;
    list.count -= batch_size;
    try {
      pool().put(c, batch);
    } catch (...) {
      // Out of memory for the pool's vector: keep the blocks here instead.
      last->next = list.head;
      list.head = batch.head;
      list.count += batch_size;
    }
  }
}

}  // namespace coport::detail
