#pragma once
/// \file
/// detail::group_log — what a group's master and its standbys hold of the group's stream:
/// the epoch they follow, the next item's number, what was released, the items kept
/// (history.hpp), the streams' numbers (senders.hpp) and the members (membership.hpp).
/// A standby that takes over keeps its log and becomes the master with it: the log is the
/// one state both roles share, and it changes only by numbering (a master), by accepting
/// its master's items (a standby), by a snapshot (a new standby) and by undoing what a new
/// master never had. It sends nothing: the walks over what it holds (what to release, what
/// an agent misses, what a standby misses) hand each item to the caller, in order.
/// Threading: none (the role's port). Lifetime: a member of group_master.
/// May include: history, membership, senders, protocol and the standard library.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "history.hpp"
#include "membership.hpp"
#include "protocol.hpp"
#include "senders.hpp"

namespace coport::groups::detail {

class group_log {
 public:
  using entry = history::entry;

  /// Keeps `kept` released items (history.hpp), at `epoch`.
  group_log(std::uint64_t kept, std::uint64_t epoch) : history_{kept}, epoch_{epoch} {}

  std::uint64_t epoch() const noexcept { return epoch_; }
  void set_epoch(std::uint64_t epoch) noexcept { epoch_ = epoch; }
  /// The next item's number.
  std::uint64_t next() const noexcept { return next_seq_; }
  /// The last item it holds (0: none).
  std::uint64_t last() const noexcept { return next_seq_ - 1; }
  /// Items up to this one went to the agents (a standby: what it accepted last).
  std::uint64_t released() const noexcept { return released_; }
  const membership& members() const noexcept { return members_; }
  /// The items kept (for holding them after a takeover, and their bound).
  history& kept() noexcept { return history_; }
  /// The streams it numbered messages of.
  senders& streams() noexcept { return senders_; }

  /// Drops the released items beyond history's bounds.
  void trim() { history_.trim(released_); }

  // -- a master ----------------------------------------------------------------------------
  /// Numbers `it` (of item_weight `weight`) as the next item and keeps it, not released
  /// yet; returns it as kept.
  const entry& number(item it, std::size_t weight);
  /// Releases the items up to `upto`: `each(e, view)` for each one kept, in order, `view`
  /// the members after it when it is a join (what its item tells the agents), else null.
  template <typename F>
  void release_to(std::uint64_t upto, F&& each) {
    std::optional<std::vector<port_id>> view;
    while (released_ < upto) {
      ++released_;
      const entry* e = history_.find(released_);
      if (!e) continue;
      each(*e, history_.step_view(view, *e, members_.list()));
    }
  }
  /// A standby that takes over: everything it holds counts as released (the streams too).
  void release_all() {
    released_ = next_seq_ - 1;
    senders_.release_all();
  }
  /// What an agent at `last` misses, up to what was released: `each(item)` in order (a
  /// join with the members after it); `lost(seq)` for the first one not kept, and no more.
  template <typename F, typename L>
  void missed_by(std::uint64_t last, F&& each, L&& lost) const {
    std::optional<std::vector<port_id>> view;
    for (std::uint64_t s = last + 1; s <= released_; ++s) {
      const entry* e = history_.find(s);
      if (!e) return lost(s);
      if (const auto* members = history_.step_view(view, *e, members_.list())) {
        item it = e->it;
        it.members = *members;
        each(it);
      } else {
        each(e->it);
      }
    }
  }
  /// The items kept after `seq` up to the last, in order (what a standby misses):
  /// `each(item)`.
  template <typename F>
  void each_after(std::uint64_t seq, F&& each) const {
    for (std::uint64_t q = seq + 1; q < next_seq_; ++q) {
      if (const entry* e = history_.find(q)) each(e->it);
    }
  }
  /// Where a new standby's snapshot starts: at what was released, or (`with_kept`: a quorum
  /// group's) before the released items still kept.
  std::uint64_t snapshot_from(bool with_kept) const;
  /// The members as they were after item `seq`.
  std::vector<port_id> members_at(std::uint64_t seq) const {
    return history_.members_at(members_.list(), seq);
  }

  // -- a standby ---------------------------------------------------------------------------
  /// Takes its master's item `it` (the next one): numbered, released here (a standby's trim
  /// bound) and kept. Returns its number.
  std::uint64_t accept(item it);
  /// A snapshot: the stream at `epoch` is at `last`, released, with `members`; nothing kept,
  /// no stream known (the senders' table follows).
  void reset(std::uint64_t epoch, std::uint64_t last, std::vector<port_id> members);
  /// A new master had items up to `last`: those past it were never released, and are undone
  /// (their numbers, their membership changes).
  void roll_back(std::uint64_t last);

 private:
  history history_;
  senders senders_;
  membership members_;
  std::uint64_t epoch_;
  std::uint64_t next_seq_ = 1;  ///< the next item's number
  std::uint64_t released_ = 0;  ///< items up to this one went to the agents
};

}  // namespace coport::groups::detail
