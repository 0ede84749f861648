#pragma once
/// \file
/// detail::message_block — one heap block per message: queue link, tag and payload together.
///
/// A local send allocates exactly one block, moves the values into it, and links that same
/// block into the receiver's inbox, so no copy and no second allocation happen on the way.
/// Threading: a node is owned by exactly one party at a time (sender, inbox, handler).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <tuple>
#include <utility>

#include "coport/detail/signature.hpp"
#include "coport/tag.hpp"
#include "coport/wire/codec.hpp"

namespace coport::detail {

struct message_block;

/// Per-type operations of a message block.
struct message_ops {
  const signature* sig;
  void (*destroy)(message_block*) noexcept;
  void* (*element)(message_block*, std::size_t index) noexcept;
  void (*run)(message_block*);  // closures only
  /// A copy of the block, or null when a value cannot be copied (or for closures).
  message_block* (*copy)(const message_block*) = nullptr;
};

/// What a block carries.
enum class message_kind : std::uint8_t {
  user,     ///< a tag and a payload
  closure,  ///< code to run in the port's context (psub/peval/rcv from outside)
  kill,     ///< wakes a port that was killed so that it tears down
  /// a user message that carries a trace (coport/trace.hpp): its context is in the process's
  /// table of marks (trace_marks.cpp) until a handler takes it (it is `user` again) or the
  /// block is destroyed
  traced,
};

/// The largest node number a message block can name as its origin (24 bits, so that the
/// field fits in the head's padding; the transport's peers have numbers below 2^18).
inline constexpr std::uint32_t max_origin = (1u << 24) - 1;

/// The common head of every message block.
struct message_block {
  message_block* next = nullptr;
  const message_ops* ops = nullptr;
  tag tag_;
  message_kind kind = message_kind::user;
  /// The interned ID of the node whose link delivered the block, as the transport
  /// established it (node::deliver sets it); 0 for a block made on this node.
  std::uint32_t origin : 24 = 0;
};
static_assert(sizeof(void*) != 8 || sizeof(message_block) == 24,
              "the origin field must fit in the message head's padding");

// -- allocation of message blocks: per-thread free lists (message_pool.cpp) ----------------------

/// A free block, linked through its first word.
struct free_block {
  free_block* next;
};
/// A thread's free blocks of one size class.
struct block_list {
  free_block* head = nullptr;
  std::size_t count = 0;
};
inline constexpr std::size_t pool_class_count = 5;  ///< 32, 64, 128, 256 and 512 bytes
inline constexpr std::size_t pool_batch = 256;      ///< blocks moved between threads at once

constexpr int pool_class_of(std::size_t size) noexcept {
  return size <= 32 ? 0 : size <= 64 ? 1 : size <= 128 ? 2 : size <= 256 ? 3 : size <= 512 ? 4 : -1;
}

/// This thread's free lists. Constant-initialised, so the inline paths below are plain
/// thread-local accesses; a list only becomes non-empty through the slow paths, which also
/// register the thread-exit hook that hands the blocks back.
inline thread_local block_list pool_lists[pool_class_count];

void* allocate_message_slow(std::size_t size);
void deallocate_message_slow(void* p, std::size_t size) noexcept;

/// A block of at least `size` bytes: pops this thread's list (inline), else refills it.
inline void* allocate_message(std::size_t size) {
  if (int c = pool_class_of(size); c >= 0) {
    block_list& list = pool_lists[c];
    if (free_block* b = list.head) {
      list.head = b->next;
      --list.count;
      return b;
    }
  }
  return allocate_message_slow(size);
}

/// Returns a block: pushes onto this thread's list (inline) until it holds two batches.
inline void deallocate_message(void* p, std::size_t size) noexcept {
  if (int c = pool_class_of(size); c >= 0) {
    block_list& list = pool_lists[c];
    if (list.head && list.count + 1 < 2 * pool_batch) {
      auto* b = static_cast<free_block*>(p);
      b->next = list.head;
      list.head = b;
      ++list.count;
      return;
    }
  }
  deallocate_message_slow(p, size);
}

/// A block with the stored values `Ts...`.
template <class... Ts>
struct payload_block final : message_block {
  std::tuple<Ts...> values;

  template <class... Args>
  explicit payload_block(tag t, Args&&... args) : values(std::forward<Args>(args)...) {
    tag_ = t;
    ops = &ops_instance;
  }

  static void destroy(message_block* n) noexcept {
    auto* self = static_cast<payload_block*>(n);
    self->~payload_block();
    deallocate_message(self, sizeof(payload_block));
  }

  template <std::size_t... I>
  static void* element_at(payload_block* self, std::size_t i, std::index_sequence<I...>) noexcept {
    void* result = nullptr;
    ((i == I ? (result = static_cast<void*>(&std::get<I>(self->values)), 0) : 0), ...);
    return result;
  }

  static void* element(message_block* n, std::size_t i) noexcept {
    return element_at(static_cast<payload_block*>(n), i, std::index_sequence_for<Ts...>{});
  }

  static message_block* copy(const message_block* n) {
    if constexpr ((std::is_copy_constructible_v<Ts> && ...)) {
      auto* self = static_cast<const payload_block*>(n);
      void* mem = allocate_message(sizeof(payload_block));
      try {
        return std::apply(
            [&](const auto&... v) { return new (mem) payload_block(self->tag_, v...); },
            self->values);
      } catch (...) {
        deallocate_message(mem, sizeof(payload_block));
        throw;
      }
    } else {
      (void)n;
      return nullptr;
    }
  }

  static constexpr message_ops ops_instance{
      &signature_of<Ts...>(), &destroy, &element, nullptr,
      (std::is_copy_constructible_v<Ts> && ...) ? &copy : nullptr};
};

/// Registers, at start-up, how a payload of `Ts...` comes off the wire: the built-in codecs
/// of its types and a factory that builds exactly `payload_block<Ts...>`, so that a typed
/// handler takes a message from another node. Every payload type that is sent, handled or
/// tested with `message::is`/`as` names `registered` (which costs nothing per message).
template <class... Ts>
struct payload_wire {
  static message_block* decode(tag t, wire::reader& r) {
    if constexpr ((std::is_default_constructible_v<Ts> && ...)) {
      void* mem = allocate_message(sizeof(payload_block<Ts...>));
      payload_block<Ts...>* n;
      try {
        n = new (mem) payload_block<Ts...>(t);
      } catch (...) {
        deallocate_message(mem, sizeof(payload_block<Ts...>));
        throw;
      }
      try {
        std::apply([&](auto&... v) { (wire::codec<Ts>::decode(r, v), ...); }, n->values);
      } catch (...) {
        destroy_message(n);
        throw;
      }
      return n;
    } else {
      (void)t;
      (void)r;
      return nullptr;
    }
  }
  static bool register_once() {
    (wire::register_builtin<Ts>(), ...);
    if constexpr ((std::is_default_constructible_v<Ts> && ...)) {
      static constexpr payload_factory factory{sizeof...(Ts), signature_holder<Ts...>::types,
                                               &decode};
      register_payload_factory(&factory);
    }
    return true;
  }
  static inline const bool registered = register_once();
};

/// Names the registration of `payload_wire<Ts...>` (see there).
template <class... Ts>
inline void use_payload_wire() noexcept {
  static_cast<void>(&payload_wire<Ts...>::registered);
}

/// Builds a payload block for `snd(t, args...)`.
template <class... Args>
message_block* make_payload(tag t, Args&&... args) {
  using node_t = payload_block<stored_t<Args>...>;
  use_payload_wire<stored_t<Args>...>();
  void* mem = allocate_message(sizeof(node_t));
  try {
    return new (mem) node_t(t, std::forward<Args>(args)...);
  } catch (...) {
    deallocate_message(mem, sizeof(node_t));
    throw;
  }
}

/// A block that runs `F` in a port's context.
template <class F>
struct closure_block final : message_block {
  F fn;

  explicit closure_block(F f) : fn(std::move(f)) {
    kind = message_kind::closure;
    ops = &ops_instance;
  }

  static void destroy(message_block* n) noexcept {
    auto* self = static_cast<closure_block*>(n);
    self->~closure_block();
    deallocate_message(self, sizeof(closure_block));
  }
  static void* element(message_block*, std::size_t) noexcept { return nullptr; }
  static void run(message_block* n) { static_cast<closure_block*>(n)->fn(); }

  static constexpr message_ops ops_instance{&signature_of<>(), &destroy, &element, &run, nullptr};
};

template <class F>
message_block* make_closure(F&& f) {
  using node_t = closure_block<std::decay_t<F>>;
  void* mem = allocate_message(sizeof(node_t));
  try {
    return new (mem) node_t(std::forward<F>(f));
  } catch (...) {
    deallocate_message(mem, sizeof(node_t));
    throw;
  }
}

/// Messages each other node (by number, below `inbound_slots`) delivered to this process
/// that are not destroyed yet (waiting in mailboxes, or being handled): what a peer has
/// made this process hold. The transport stops reading a link whose count is over its bound
/// (transport_options::max_inbound). Process-wide (1 MiB, touched where used).
inline constexpr std::size_t inbound_slots = std::size_t{1} << 18;
extern std::atomic<std::uint32_t> inbound_counts[inbound_slots];

/// Forgets the trace mark of a block destroyed before a handler took it (trace_marks.cpp).
void forget_trace(const message_block* n) noexcept;

/// Destroys any block.
inline void destroy_message(message_block* n) noexcept {
  if (!n) return;
  if (n->kind == message_kind::traced) [[unlikely]]
    forget_trace(n);
  if (n->origin != 0 && n->origin < inbound_slots) {
    inbound_counts[n->origin].fetch_sub(1, std::memory_order_relaxed);
  }
  n->ops->destroy(n);
}

}  // namespace coport::detail
