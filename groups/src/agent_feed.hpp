#pragma once
/// \file
/// detail::agent_feed — what a group's master tells the groups agents of the nodes (agent.hpp
/// takes it): each item as released, to the agents of the nodes it goes to (a join with the
/// members after it); to an agent that says where it is, what it misses up to what was
/// released (lost_msg from where the history no longer reaches); and where the stream is
/// (sync_msg: after a takeover to every agent that may follow the group, and to an agent
/// asked whether it follows a newer epoch). When to send is the master's (release_gate.hpp).
/// Threading: in the master's port. Lifetime: a member of group_master, whose node, state,
/// name, self and log it refers to.
/// May include: group_log, state, protocol, the runtime's public headers.

#include <cstdint>
#include <string>
#include <vector>

#include "group_log.hpp"
#include "protocol.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class agent_feed {
 public:
  agent_feed(node& n, const service::state& st, const std::string& name, const port_id& self,
             ordering order, const group_log& log)
      : n_{n}, st_{st}, name_{name}, self_{self}, order_{order}, log_{log} {}

  /// Sends the released entry `e` to the agents of its nodes; a join with `view`, the
  /// members after it.
  void deliver(const group_log::entry& e, const std::vector<port_id>* view) const;
  /// The agent `agent` is at `last`: sends it what it misses up to what was released.
  void catch_up(const port_id& agent, std::uint64_t last) const;
  /// Tells `agent` where the stream is: at this master's epoch, at `last` (it answers
  /// synced_msg with where it is, or fenced_msg when it follows a newer epoch).
  void sync(const port_id& agent, std::uint64_t last) const;
  /// A master that took over at `last` tells the agents that may follow the group: those of
  /// the nodes with members, and of every node linked now.
  void sync_all(std::uint64_t last) const;

 private:
  void send(const port_id& agent, const item& it) const;

  node& n_;
  const service::state& st_;
  const std::string& name_;
  const port_id& self_;
  const ordering order_;
  const group_log& log_;
};

}  // namespace coport::groups::detail
