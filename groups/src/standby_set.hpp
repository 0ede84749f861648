#pragma once
/// \file
/// detail::standby_set — a group master's living standbys, in the order the master made
/// them (or took them over): the first of them takes over when the master dies. Each one's
/// last acknowledged item tells what the master may release: every standby holds it (a
/// group without quorum), or a majority of the homes does (quorum.hpp). A standby taken
/// over from another master is fresh until its first acknowledgement: it holds nothing
/// certain before it, and it counts for nothing in a majority.
/// The set counts; group_master (master.hpp) spawns the standbys, watches them, and sends.
/// Threading: none (the role's port). Lifetime: a member of group_master; each entry holds
/// the monitor on its standby.
/// May include: quorum, the runtime's public headers and the standard library.

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "coport/monitor.hpp"
#include "coport/port_id.hpp"
#include "quorum.hpp"

namespace coport::groups::detail {

class standby_set {
 public:
  struct standby {
    port_id port;
    std::uint64_t acked = 0;
    bool fresh = false;  ///< taken over from another master: not caught up yet
    monitor mon;
  };

  bool empty() const noexcept { return list_.empty(); }
  auto begin() const noexcept { return list_.begin(); }
  auto end() const noexcept { return list_.end(); }
  /// Their ports, in order (the list the master announces).
  std::vector<port_id> ports() const;
  /// True when one of them is on node `id`.
  bool on_node(std::string_view id) const;

  /// Adds `p` (watched by `mon`), which holds items up to `acked`.
  void add(const port_id& p, monitor mon, std::uint64_t acked, bool fresh = false);
  /// Removes `p`: false when it is none of them.
  bool remove(const port_id& p);
  void clear() { list_.clear(); }

  /// `from` acknowledged item `seq`: `then(first)` runs for its entry once that entry holds
  /// it, `first` when it was that standby's first word after a takeover (it gets what it
  /// misses). Nothing runs when `from` is none of them.
  template <typename F>
  void ack(const port_id& from, std::uint64_t seq, F&& then) {
    for (auto& s : list_) {
      if (s.port != from) continue;
      const bool first = std::exchange(s.fresh, false);
      s.acked = std::max(s.acked, seq);
      then(first);
    }
  }

  /// The last item every one of them holds, `last` at most.
  std::uint64_t held_by_all(std::uint64_t last) const;
  /// The last item a majority of the homes holds, the master holding up to `last` (a fresh
  /// standby holds nothing yet).
  std::uint64_t held_by_majority(const quorum& q, std::uint64_t last);
  /// True when one of them may not hold item `last` yet (fresh, or acknowledged less).
  bool behind(std::uint64_t last) const;

 private:
  std::vector<standby> list_;
  std::vector<std::uint64_t> acked_;  ///< held_by_majority's scratch
};

}  // namespace coport::groups::detail
