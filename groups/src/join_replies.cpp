// coport::groups::detail::join_replies — see join_replies.hpp.
#include "join_replies.hpp"

namespace coport::groups::detail {

void join_replies::released(std::uint64_t seq, const std::vector<port_id>* after) {
  if (auto j = waiting_.find(seq); j != waiting_.end()) {
    // The members before it: those after it, but the last (a join appends its member).
    std::vector<port_id> old;
    if (after && !after->empty()) old.assign(after->begin(), after->end() - 1);
    n_.snd(j->second, joined_msg, static_cast<std::uint8_t>(errc::ok), std::move(old));
    waiting_.erase(j);
  }
}

void join_replies::refuse_all(const std::vector<port_id>& members) {
  for (auto& [seq, reply] : waiting_) answer(reply, errc::no_such_group, members);
  waiting_.clear();
}

}  // namespace coport::groups::detail
