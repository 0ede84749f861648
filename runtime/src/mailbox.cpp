// A coroutine actor's mailbox: arrival order and the index by tag (see mailbox.hpp).
#include "coport/detail/mailbox.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

namespace coport::detail {

namespace {

/// Lends a queued block to a matcher as a `message` without giving up ownership.
struct borrowed {
  message m;
  explicit borrowed(message_block* n) noexcept : m{n} {}
  ~borrowed() { (void)m.release(); }
  borrowed(const borrowed&) = delete;
  borrowed& operator=(const borrowed&) = delete;
};

bool accepts(mailbox::match_fn match, void* matcher, message_block* n) {
  borrowed view{n};
  return match(matcher, view.m);
}

}  // namespace

struct mailbox::store {
  /// The places in `order` of one tag's messages, oldest first, from `head` on.
  struct tag_queue {
    std::vector<std::size_t> at;
    std::size_t head = 0;
  };

  std::vector<message_block*> order;  ///< arrival order; null: a gap left by a taken message
  std::size_t front = 0;              ///< order[0, front) are gaps
  std::unordered_map<std::uint64_t, tag_queue> by_tag;

  /// Takes the message at `order[i]`, the `j`th of its tag's queue `q`.
  message_block* take(std::size_t i, std::unordered_map<std::uint64_t, tag_queue>::iterator q,
                      std::size_t j, std::size_t live) {
    message_block* n = std::exchange(order[i], nullptr);
    auto& at = q->second.at;
    if (j == q->second.head) {
      ++q->second.head;
    } else {
      at.erase(at.begin() + static_cast<std::ptrdiff_t>(j));
    }
    if (q->second.head == at.size()) by_tag.erase(q);
    while (front < order.size() && !order[front]) ++front;
    while (!order.empty() && !order.back()) order.pop_back();
    if (front >= order.size()) {
      // Empty: a burst's room is given back (a small one is kept for the next messages).
      if (order.capacity() > keep_capacity) {
        std::vector<message_block*>{}.swap(order);
      } else {
        order.clear();
      }
      front = 0;
    } else if (order.size() - live > std::max<std::size_t>(32, live)) {
      pack();
    }
    n->next = nullptr;
    return n;
  }

  /// Drops the gaps and makes the index again (its places changed). The new index is made
  /// first: if that fails (memory), nothing changed (packing is only an economy).
  void pack() noexcept {
    std::unordered_map<std::uint64_t, tag_queue> index;
    try {
      std::size_t place = 0;
      for (message_block* n : order) {
        if (n) index[n->tag_.id()].at.push_back(place++);
      }
    } catch (const std::bad_alloc&) {
      return;
    }
    std::erase(order, nullptr);
    front = 0;
    by_tag.swap(index);
    if (order.capacity() > keep_capacity && order.size() < order.capacity() / 4) {
      // A burst's room is given back when few of its messages stay (a receive by tag that
      // leaves a handful of others queued would otherwise hold it for as long as they wait).
      try {
        order.shrink_to_fit();
      } catch (const std::bad_alloc&) {
      }
    }
  }

  /// Room for one more element in `v` (doubling), so that a push_back after it cannot fail.
  template <class T>
  static void room_for_one(std::vector<T>& v) {
    if (v.size() == v.capacity()) v.reserve(std::max<std::size_t>(8, v.capacity() * 2));
  }

  static constexpr std::size_t keep_capacity = 1024;
};

mailbox::mailbox() noexcept = default;

std::size_t mailbox::room() const noexcept {
  return store_ ? store_->order.capacity() : 0;
}

mailbox::~mailbox() {
  if (!store_) return;
  for (message_block* n : store_->order) {
    if (n) destroy_message(n);
  }
}

void mailbox::push(message& m) {
  // Everything that may allocate first: if it fails, `m` is still the caller's and the
  // mailbox as it was (an empty tag queue made here is dropped again).
  if (!store_) store_ = std::make_unique<store>();
  auto& s = *store_;
  store::room_for_one(s.order);
  auto [q, made] = s.by_tag.try_emplace(m.tag().id());
  try {
    store::room_for_one(q->second.at);
  } catch (...) {
    if (made) s.by_tag.erase(q);
    throw;
  }
  message_block* n = m.release();
  n->next = nullptr;
  s.order.push_back(n);
  q->second.at.push_back(s.order.size() - 1);
  ++size_;
}

message mailbox::take_first(match_fn match, void* matcher) {
  if (size_ == 0) return {};
  auto& s = *store_;
  for (std::size_t i = s.front; i < s.order.size(); ++i) {
    message_block* n = s.order[i];
    if (!n || !accepts(match, matcher, n)) continue;
    auto q = s.by_tag.find(n->tag_.id());
    const auto& at = q->second.at;
    auto j = static_cast<std::size_t>(
        std::find(at.begin() + static_cast<std::ptrdiff_t>(q->second.head), at.end(), i) -
        at.begin());
    --size_;
    return message{s.take(i, q, j, size_)};
  }
  return {};
}

message mailbox::take_first(std::span<const tag> tags, match_fn match, void* matcher) {
  if (size_ == 0) return {};
  auto& s = *store_;
  constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  std::size_t best = none, best_j = 0;
  auto best_q = s.by_tag.end();
  bool asked_since = false;  ///< the matcher was asked about another message after the best
  for (tag t : tags) {
    auto q = s.by_tag.find(t.id());
    if (q == s.by_tag.end()) continue;
    const auto& at = q->second.at;
    // The tag's oldest message that matches (a clause may refuse one whose values do not
    // fit), if it came before the best so far.
    for (std::size_t j = q->second.head; j < at.size() && at[j] < best; ++j) {
      const bool yes = accepts(match, matcher, s.order[at[j]]);
      asked_since = best != none;
      if (yes) {
        best = at[j];
        best_j = j;
        best_q = q;
        asked_since = false;
        break;
      }
    }
  }
  if (best == none) return {};
  // A matcher remembers what it chose for the last message it accepted (the clause): it must
  // be asked last about the one taken.
  if (asked_since) accepts(match, matcher, s.order[best]);
  --size_;
  return message{s.take(best, best_q, best_j, size_)};
}

}  // namespace coport::detail
