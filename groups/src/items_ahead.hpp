#pragma once
/// \file
/// detail::items_ahead — the items a standby holds past a gap in its master's stream: after
/// a takeover, the new master's items may pass what it sends again, and they wait here for
/// the gap to fill. Bounded by a count (max_pending) and a weight (max_pending_bytes, of
/// item_weight): the master may be a peer's, sending items of a frame each. An item beyond
/// the bounds, or one held already, is dropped (the master sends it again after the gap).
/// Threading: none (the role's port). Lifetime: a member of group_master.
/// May include: protocol and the standard library.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

#include "protocol.hpp"

namespace coport::groups::detail {

class items_ahead {
 public:
  /// Holds `it` (its seq past the next one expected), within the bounds.
  void keep(item it);
  /// Drops what is held before `next`, and returns item `next` when it is held (taken out).
  std::optional<item> take(std::uint64_t next);

  std::size_t size() const noexcept { return items_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::map<std::uint64_t, item> items_;  ///< by seq
  std::size_t bytes_ = 0;                ///< their item_weight
};

}  // namespace coport::groups::detail
