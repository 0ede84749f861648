#pragma once
/// \file
/// detail::history — the items a group's master or standby keeps, in sequence order: those
/// not released yet (a master's wait for its standbys' acks) and released ones for agents
/// that catch up, these bounded by a count and by weight (item_weight). Items hold no member
/// list (one per join would make joins cost members^2/2 port IDs): from the current members
/// and what it holds, it tells the members as they were after any item it holds.
/// Threading: none of its own; used only in the port of the role that owns it. Lifetime: a
/// member of that role's object.
/// May include: protocol and the standard library.

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol.hpp"

namespace coport::groups::detail {

class history {
 public:
  /// A leave of a port that was no member: nothing to undo.
  static constexpr std::size_t no_position = std::numeric_limits<std::size_t>::max();

  struct entry {
    item it;  ///< a join holds no member list (see members_at)
    std::shared_ptr<const std::vector<std::string>> nodes;  ///< the agents it goes to
    std::size_t weight = 0;                                 ///< item_weight(it)
    std::size_t at = 0;  ///< a leave: where the member was in the list (to undo it)
  };

  /// Keeps at most `limit` released items (clamped to 16..max_history).
  explicit history(std::uint64_t limit);

  std::uint64_t limit() const { return limit_; }
  /// The oldest item kept (0: none).
  std::uint64_t first() const { return entries_.empty() ? 0 : entries_.front().it.seq; }

  /// Appends `e` (its seq follows the last one's); returns it as kept.
  const entry& push(entry e);
  /// The entry of item `seq`, or null when it is not kept (trimmed, or not numbered yet).
  const entry* find(std::uint64_t seq) const;
  /// Drops the oldest released items (up to `released`) beyond the count and weight bounds
  /// (while held: beyond max_history and max_history_bytes only).
  void trim(std::uint64_t released);
  /// Keeps what it has until `unhold` (within max_history and max_history_bytes): a master
  /// that took over, until every member node's agent said where it is (it may miss items
  /// from before the takeover while the new master releases many at once).
  void hold() { held_ = true; }
  void unhold() { held_ = false; }
  /// Drops the items past `last`, newest first, undoing each in `members` (the current ones).
  void drop_after(std::uint64_t last, std::vector<port_id>& members);
  void clear();

  /// The members as they were after item `seq`, from `members`, the current ones (the items
  /// after it undone, newest first).
  std::vector<port_id> members_at(const std::vector<port_id>& members, std::uint64_t seq) const;
  /// Walks the members along a run of entries, in order: `view` is the members after the
  /// previous entry (none until the run's first join); returns them after `e` when `e` is a
  /// join (what its item tells the agents), else null. `members`: the current ones.
  const std::vector<port_id>* step_view(std::optional<std::vector<port_id>>& view, const entry& e,
                                        const std::vector<port_id>& members) const;

 private:
  static void redo(std::vector<port_id>& m, const entry& e);
  static void undo(std::vector<port_id>& m, const entry& e);

  std::deque<entry> entries_;
  std::size_t bytes_ = 0;  ///< the item_weight of what entries_ holds
  std::uint64_t limit_;
  bool held_ = false;
};

}  // namespace coport::groups::detail
