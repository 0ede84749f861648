#pragma once
/// \file
/// detail::group_master — a group's master and standby roles (one object whose role changes
/// in place: a standby is a master in waiting, and takes over with the log it holds).
///
/// The master numbers every request (a message, a join, a leave) as the next item of the
/// group's stream, keeps it in its history (history.hpp), copies it to every living standby,
/// and releases it to the groups agents of the nodes with members once every living standby
/// acknowledged it. So a standby holds every item any member may have received: when the
/// master's node dies, the first living standby (each watches the master and the standbys
/// before it) takes over with the next epoch, brings every member node's agent up to its last
/// item (the agents say where they are), and goes on numbering. Agents drop items of older
/// epochs: the old master is fenced there, and dies when it meets the new one in the registry.
///
/// Each message a node sends carries its stream and number (outbox.hpp): the master numbers a
/// (stream, number) once, and tells the stream what it released (senders.hpp); its standbys
/// keep the same table, so that a message sent again to the next master is not ordered twice.
///
/// What both roles hold of the stream is the log (group_log.hpp); what only a standby has,
/// its following of the master, is the follower (follower.hpp). This class holds both, the
/// protocol table, and the master's side: numbering, releasing, catching agents up, its
/// standbys, fencing and stepping down, and the takeover that turns its standby into the
/// master.
///
/// Threading: runs in its own port (the role's), which owns it. Lifetime: from the init of
/// master_init or standby_init until its port dies.
/// May include: agent_feed, confirmations, election, follower, group_log, history,
/// join_replies, quorum, release_gate, role_entry, senders, standby_set, state,
/// coport/dispatch_table.hpp, the runtime's public headers.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent_feed.hpp"
#include "confirmations.hpp"
#include "coport/dispatch_table.hpp"
#include "election.hpp"
#include "follower.hpp"
#include "group_log.hpp"
#include "join_replies.hpp"
#include "release_gate.hpp"
#include "role_entry.hpp"
#include "standby_set.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class group_master : public std::enable_shared_from_this<group_master> {
 public:
  enum class role { standby, master, fenced };

  group_master(std::shared_ptr<service::state> st, std::string name, ordering order,
               std::uint64_t kept, std::uint64_t epoch, bool quorum);

  /// Runs when the port dies (the port holds the object): the node's role entry goes too.
  ~group_master();
  group_master(const group_master&) = delete;
  group_master& operator=(const group_master&) = delete;

  // -- starting ---------------------------------------------------------------------------

  void start_master(std::vector<std::string> standby_nodes);

  void start_standby(port_id master, std::vector<std::string> homes);

  // -- messages (protocol.hpp declares each one) -------------------------------------------

  void on_message(message& m) { refused_.take(table_, m); }

 private:
  /// True when `p` is on the node whose link brought `m` (this node, for a local message):
  /// a port named in a message as its sender, a member that joins or leaves, a master or a
  /// standby, must be; a node speaks for its own ports only.
  bool on_origin(const message& m, const port_id& p) const;

  /// The protocol's messages a master or standby takes, and from whom.
  void build_table();

  /// For a standby: true when `m` came from the node of the master it follows.
  bool from_master(const message& m) const {
    return role_ != role::standby || on_origin(m, follower_.master());
  }

  /// True when `p`'s node is one of the group's homes (the master's and the standbys').
  bool is_home(const port_id& p) const {
    return std::find(homes_.begin(), homes_.end(), p.node()) != homes_.end();
  }
  /// The node of the agent that sent `m`.
  std::string agent_node(const message& m) const {
    return m.origin() ? std::string{m.origin().node()} : st_->own_id;
  }
  /// True when the registry names a port of `p`'s node under the group's name.
  bool registered_on(const port_id& p) const;
  /// Logs a refused message, at most once a second with a count.
  void refuse(const message& m, const char* why) { refused_.note(m, why); }

  using entry = group_log::entry;

  void install();

  /// Records this role in the node's table (`only_if_mine`: unless another port holds it).
  void set_role_entry(bool only_if_mine = false) {
    role_entry_.set(log_.epoch(), role_ == role::master, only_if_mine);
  }

  void become_master();

  void on_other_master(std::uint64_t epoch, const port_id& other);

  /// A newer epoch (`newer`) exists: a master ends, a quorum group's master steps down.
  void fence(const char* why, std::uint64_t newer = 0);
  void demote(std::uint64_t newer);

  // -- the master: numbering and releasing ------------------------------------------------

  void on_join(const port_id& member, bool notify, const port_id& reply);

  void on_leave(const port_id& member, const reason& why);

  /// Numbers `it` and sends it on; false when too much waits for the standbys already (it
  /// is dropped: a count of items, and for messages their weight).
  bool order(item it);

  void release();

  void on_ack(std::uint64_t epoch, std::uint64_t seq, const port_id& from);

  /// Standbys on the group's other home nodes: now on those that are up, later on each one
  /// that comes up without one (after its node restarted, or joined late).
  void watch_homes(bool now);

  void spawn_standby(const std::string& id);

  void add_standby(const port_id& p, std::uint64_t acked, bool fresh = false) {
    standbys_.add(p, n_.mon(p, self_, peer_died_msg, p), acked, fresh);
  }

  void announce_standbys();

  // -- the standby (follower.hpp follows the master) --------------------------------------

  void on_peer_died(const port_id& who, const reason& why);

  void take_over(const reason& why);
  /// Becomes the master at `epoch` (both modes): registered, what it holds released.
  void assume(std::uint64_t epoch, const reason& why);
  /// Tells the agents of the nodes with members that it took over (they say where they
  /// are, and catch up).
  void sync_agents();

  // -- quorum groups (quorum.hpp, election.hpp) ----------------------------------------------
  /// A standby whose master died asks the other standbys to vote for it, at an epoch past
  /// every one it knows (and `above`); again after vote_time until elected.
  void stand_for_election(std::uint64_t above = 0);
  void on_vote(const election::vote_request& v);
  /// Its master died or stepped down: a vote held back is answered.
  void on_master_gone();
  void on_voted(std::uint64_t epoch, bool granted, const port_id& from);
  /// A majority holds what the new master had when it was elected: the agents may follow.
  void started();
  /// The last item a majority of the homes holds (this master and its standbys' acks).
  std::uint64_t held_by_majority() {
    return standbys_.held_by_majority(election_.majority(), log_.last());
  }

  /// A master that held its releases back has a standby again: the agents are asked
  /// whether they follow a newer epoch (release_gate.hpp; one that does answers fenced_msg).
  void check_epoch();
  /// Asks node `id`'s agent (a sync at this epoch: it answers synced, or fenced).
  void ask_epoch(const std::string& id);
  /// Every agent answered: releases go on.
  void go_on();
  /// The history kept since a takeover may be trimmed again.
  void stop_holding() {
    gate_.stop_keeping();
    log_.kept().unhold();
    log_.trim();
  }
  /// After a takeover, confirmations wait until every standby has the items up to it (a
  /// message confirmed is one every next master has).
  bool confirms_wait() const {
    if (election_.on()) return starting_;  // (released: a majority holds it)
    return standbys_.behind(takeover_last_);
  }

  // (In the order they go when the port dies, last first: its registration and watches
  // first, the monitors on its standbys and members last, as before the split.)
  std::shared_ptr<service::state> st_;
  node& n_;
  std::string name_;
  ordering order_;
  role role_ = role::master;
  port_id self_;
  group_log log_;                    ///< what both roles hold of the stream (group_log.hpp)
  std::uint64_t takeover_last_ = 0;  ///< the last item when this master took over
  release_gate gate_;                ///< releases held back, history kept (release_gate.hpp)
  join_replies joins_;               ///< joins answered once released (join_replies.hpp)
  std::map<port_id, monitor> member_mons_;
  std::vector<std::string> homes_;  ///< master's node, standbys' nodes
  standby_set standbys_;            ///< the master's living standbys
  follower follower_;               ///< a standby's following of its master (follower.hpp)
  std::size_t pending_bytes_ = 0;   ///< a master: of the items not released (after released)
  election election_;               ///< a quorum group's election (off: not one)
  const bool quorum_mode_;
  bool starting_ = false;  ///< a quorum master elected: no release until a majority holds its log
  dispatch_table table_;   ///< the protocol's messages this role takes (build_table)
  refusals refused_;
  confirmations confirms_;  ///< when the streams are told what was released
  agent_feed feed_;         ///< what the agents are told (agent_feed.hpp)
  role_entry role_entry_;   ///< this role in the node's tables
  subscription reg_, registry_watch_, node_events_;
};

}  // namespace coport::groups::detail
