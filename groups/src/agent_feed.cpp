// coport::groups::detail::agent_feed — see agent_feed.hpp.
#include "agent_feed.hpp"

#include <algorithm>
#include <limits>

namespace coport::groups::detail {

void agent_feed::deliver(const group_log::entry& e, const std::vector<port_id>* view) const {
  if (!e.nodes) return;
  if (view) {
    item it = e.it;
    it.members = *view;
    for (const auto& id : *e.nodes) send(st_.agent_of(id), it);
    return;
  }
  for (const auto& id : *e.nodes) send(st_.agent_of(id), e.it);
}

void agent_feed::catch_up(const port_id& agent, std::uint64_t last) const {
  if (last == std::numeric_limits<std::uint64_t>::max()) return;
  log_.missed_by(
      last, [&](const item& it) { send(agent, it); },
      [&](std::uint64_t s) { n_.snd(agent, lost_msg, name_, log_.epoch(), s); });
}

void agent_feed::sync(const port_id& agent, std::uint64_t last) const {
  n_.snd(agent, sync_msg, name_, log_.epoch(), self_, static_cast<std::uint8_t>(order_), last);
}

void agent_feed::sync_all(std::uint64_t last) const {
  // The agents catch up from what they say they have: those of the nodes with members, and
  // those of every other node linked now. A node whose members left in items the last
  // master ordered and did not release has none in this log's view, and learns that they
  // left only from the catch-up (if this port was that master too, no death tells its
  // agent to ask). An agent that follows no such group just answers.
  std::vector<std::string> ids;
  if (log_.members().nodes()) ids = *log_.members().nodes();
  for (auto& id : n_.up_nodes()) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  for (const auto& id : ids) sync(st_.agent_of(id), last);
}

void agent_feed::send(const port_id& agent, const item& it) const {
  n_.snd(agent, deliver_msg, name_, log_.epoch(), self_, static_cast<std::uint8_t>(order_), it);
}

}  // namespace coport::groups::detail
