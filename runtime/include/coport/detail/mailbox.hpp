#pragma once
/// \file
/// detail::mailbox — the messages a coroutine actor's receives have not taken yet, in arrival
/// order, with an index by tag.
///
/// A receive takes the first queued message it matches (Erlang's selective receive). One
/// that can only match certain tags (`receive("t")`, clauses `on("t", ...)`) looks at those
/// tags' messages alone, in the index: its cost does not grow with the messages of other tags
/// that wait (Erlang scans them all). Any other receive scans in arrival order. Taken
/// messages leave a gap that is dropped when it reaches an end, or when gaps outnumber the
/// messages (then the arrival order is packed and the index made again: amortised O(1)).
/// Nothing is allocated until the first message is queued.
///
/// Threading: none of its own (the owning port's context). Lifetime: owned by the actor's
/// state; destroys the messages it still holds.

#include <cstddef>
#include <memory>
#include <span>

#include "coport/detail/message_block.hpp"
#include "coport/message.hpp"
#include "coport/tag.hpp"

namespace coport::detail {

class mailbox {
 public:
  using match_fn = bool (*)(void* matcher, const message& m);

  mailbox() noexcept;
  ~mailbox();
  mailbox(const mailbox&) = delete;
  mailbox& operator=(const mailbox&) = delete;

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  /// The places the arrival order holds room for (what it costs beside the messages).
  std::size_t room() const noexcept;

  /// Queues `m` after everything queued (taking it). If that fails (memory), `m` is left as
  /// it was and the exception goes on.
  void push(message& m);
  /// Removes and returns the first queued message that `match` accepts (empty if none),
  /// scanning in arrival order.
  message take_first(match_fn match, void* matcher);
  /// The same for a matcher that accepts only messages tagged one of `tags`: only their
  /// messages are looked at.
  message take_first(std::span<const tag> tags, match_fn match, void* matcher);

 private:
  struct store;
  std::unique_ptr<store> store_;
  std::size_t size_ = 0;
};

}  // namespace coport::detail
