#pragma once
/// \file
/// detail::membership — a group's members as a master or standby holds them: the list in
/// join order (what a join's item tells the agents, and what history.hpp undoes and redoes),
/// with a count per node and the nodes with members, which the items go to. The node list
/// is shared with the history entries that name it: each change makes a new one, so an
/// entry keeps the nodes it was sent to.
/// Threading: none (the role's port). Lifetime: a member of group_master.
/// May include: history, protocol and the standard library.

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "history.hpp"
#include "protocol.hpp"

namespace coport::groups::detail {

class membership {
 public:
  using nodes_ptr = std::shared_ptr<const std::vector<std::string>>;

  /// The members, in join order.
  const std::vector<port_id>& list() const noexcept { return members_; }
  std::size_t size() const noexcept { return members_.size(); }
  bool contains(const port_id& p) const {
    return std::find(members_.begin(), members_.end(), p) != members_.end();
  }
  /// The nodes with members now (null until the first change).
  const nodes_ptr& nodes() const noexcept { return nodes_; }
  /// True when a member is on a node other than `own`.
  bool beyond(const std::string& own) const {
    return nodes_ && (nodes_->size() > 1 || (nodes_->size() == 1 && nodes_->front() != own));
  }

  /// Applies a join or leave item; for a leave, returns where the member was in the list
  /// (history::no_position: it was no member; the nodes stay). The item gets no member
  /// list: with one per join, joins waiting for acks (or kept in the history) would hold
  /// members^2/2 port IDs.
  std::size_t apply(item& it);
  /// The members are `members` now (a snapshot, or the list after undoing items).
  void assign(std::vector<port_id> members);

 private:
  void rebuild_nodes();

  std::vector<port_id> members_;  ///< in join order
  std::map<std::string, std::size_t> per_node_;
  nodes_ptr nodes_;  ///< nodes with members now
};

}  // namespace coport::groups::detail
