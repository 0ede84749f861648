#pragma once
/// \file
/// detail::join_replies — a group master's answers to joins (joined_msg): a refused join is
/// answered at once; an ordered one once released, with the members before it (a join the
/// master ordered and then lost with its node is one the next master may not have). Those
/// waiting are kept by the join's number: at most max_pending (items not released). A
/// master that steps down refuses them (no_such_group: the joiner's node asks the next one).
/// Threading: in the master's port. Lifetime: a member of group_master, whose node it refers
/// to.
/// May include: protocol, state, the runtime's public headers.

#include <cstdint>
#include <map>
#include <vector>

#include "protocol.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class join_replies {
 public:
  explicit join_replies(node& n) : n_{n} {}

  /// Answers `reply` now: `code`, and the members `members`.
  void answer(const port_id& reply, errc code, const std::vector<port_id>& members) const {
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(code), members);
  }
  /// The join numbered `seq` is answered to `reply` once released.
  void wait(std::uint64_t seq, const port_id& reply) { waiting_.emplace(seq, reply); }
  /// ... or not (it was dropped before numbering).
  void forget(std::uint64_t seq) { waiting_.erase(seq); }
  /// Item `seq` was released, with `after` the members after it when it is a join: a join
  /// waiting for it is answered (ok, the members before it).
  void released(std::uint64_t seq, const std::vector<port_id>* after);
  /// Refuses every join waiting (no_such_group, with `members`).
  void refuse_all(const std::vector<port_id>& members);

 private:
  node& n_;
  std::map<std::uint64_t, port_id> waiting_;  ///< reply ports, by the join's number
};

}  // namespace coport::groups::detail
