#pragma once
/// \file
/// The messages of the groups protocol, between a group's master, its standbys and the
/// groups agent of every node with members: the declarations below are the protocol (each
/// says who sends it to whom and what it holds; the code sends and dispatches through
/// them). An ordered item has a codec of its own. Messages declared `local_only` are made by
/// this node (its monitors, its timers, its API): a dispatch table refuses them from a link.
///
/// Threading: values. Lifetime: none.
/// May include: the runtime's public headers (values and message declarations) only.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coport/envelope.hpp"
#include "coport/message_type.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"
#include "coport/tag.hpp"
#include "coport/wire/codec.hpp"

namespace coport::groups::detail {

using namespace coport::literals;

/// The tag of the node-port service every node's groups agent answers.
inline constexpr const char* agent_service = "coport.groups";
/// The inits a node registers for `create` and for standbys.
inline constexpr const char* master_init = "coport.groups.master";
inline constexpr const char* standby_init = "coport.groups.standby";
/// The registry name of a group's master.
inline std::string registry_name(std::string_view group) {
  return "pg:" + std::string{group};
}

/// What an ordered item is.
enum class item_kind : std::uint8_t { message = 0, join = 1, leave = 2 };

/// One entry of a group's ordered stream.
struct item {
  std::uint64_t seq = 0;
  item_kind kind = item_kind::message;
  port_id port;       ///< message: the sender; join/leave: the member
  bool flag = false;  ///< message: not to the sender (esend); join: notify
  reason why;         ///< leave: why
  /// join: every member after it (a new node's view). Filled only in what goes to agents:
  /// a master or standby holds no member list per item (it computes them from its own).
  std::vector<port_id> members;
  envelope payload;  ///< message: `pg_message, from, name, values...`
  /// message: the sending node's stream (its groups agent) and the message's number in it
  /// (null, 0: a message no sender waits to see confirmed). See outbox.hpp, senders.hpp.
  port_id stream;
  std::uint64_t stream_seq = 0;
  std::uint64_t stream_low = 0;  ///< the lowest number the stream still waited for
};

/// What an item weighs in memory, roughly: its packed payload and member list (a live
/// payload, from this node, counts as nothing).
inline std::size_t item_weight(const item& i) {
  std::size_t w = sizeof(item) + i.payload.packed_size() + i.members.size() * sizeof(port_id);
  for (const auto& part : i.why.parts()) w += sizeof(part) + part.size();
  return w;
}

/// A causal stamp: per sender port, how many of its messages precede (and include) this one.
using stamp = std::map<port_id, std::uint64_t>;

// -- client -> master ------------------------------------------------------------------------
/// A message to order: its sender (null: none), whether it skips the sender,
/// `pg_message, from, name, values...`, the sending node's stream (its groups agent), the
/// message's number in it, and the lowest number the stream still waits for (null, 0, 0:
/// none). A master orders one (stream, number) once (senders.hpp).
inline const message_type<port_id, bool, envelope, port_id, std::uint64_t, std::uint64_t> send_msg{
    "pg.send"};
/// master -> a stream (a node's groups agent): the group, and the stream's last message
/// released (every one up to it is ordered and kept by the master and its standbys).
inline const message_type<std::string, std::uint64_t> ordered_msg{"pg.ordered"};
/// master -> a stream: the group, and a message of the stream it did not order (its queue
/// for the standbys was full, or the number was past the window): the sender reports it.
inline const message_type<std::string, std::uint64_t> refused_msg{"pg.refused"};
/// A join (a `cal`): the member, whether it asks for notices, the reply port.
inline const message_type<port_id, bool, port_id> join_msg{"pg.join"};
/// master -> the join's reply port: the outcome (errc), the members before it.
inline const message_type<std::uint8_t, std::vector<port_id>> joined_msg{"pg.joined"};
/// A leave: the member.
inline const message_type<port_id> leave_msg{"pg.leave"};
/// The member list (a `cal`): the reply port; answered with members_reply.
inline const message_type<port_id> members_msg{"pg.members"};
inline const message_type<std::vector<port_id>> members_reply{"pg.members"};

// -- a master's or standby's own monitors (local only) ------------------------------------
/// A member died: the member, why.
inline const message_type<port_id, reason> member_died_msg{"pg.member_died", local_only};
/// A master or standby it watches died: the port, why.
inline const message_type<port_id, reason> peer_died_msg{"pg.peer_died", local_only};
/// A master that took over, to itself after hold_time: stop keeping the history for agents
/// that did not say where they are (its epoch then).
inline const message_type<std::uint64_t> sync_ended_msg{"pg.sync_ended", local_only};
/// A master that asks the agents whether they follow a newer epoch (release_gate.hpp), to
/// itself after check_limit: its epoch then.
inline const message_type<std::uint64_t> check_ended_msg{"pg.check_ended", local_only};
/// A master to itself, after it released messages of streams: tell those streams (once for
/// all it released meanwhile); 1: sent at once (confirm_batch), 0: the timer (confirm_delay).
inline const message_type<std::uint64_t> confirm_msg{"pg.confirm", local_only};
/// A master confirms released messages to their streams once this many wait, or this long
/// after the first one (a confirmation frees the sender's copies: it needs no hurry).
inline constexpr std::size_t confirm_batch = 64;
inline constexpr std::chrono::milliseconds confirm_delay{1};

// -- master -> standby ----------------------------------------------------------------------
/// An ordered item to keep: epoch, item.
inline const message_type<std::uint64_t, item> replicate_msg{"pg.replicate"};
/// The standbys in succession order: epoch, ports.
inline const message_type<std::uint64_t, std::vector<port_id>> standbys_msg{"pg.standbys"};
/// A new standby's start: epoch, the last released item, the members at it, and the
/// master's last item then (the items between follow as replicate_msg: a quorum group's
/// standby speaks for its node once it holds them).
inline const message_type<std::uint64_t, std::uint64_t, std::vector<port_id>, std::uint64_t>
    snapshot_msg{"pg.snapshot"};
/// After a snapshot: epoch, the streams whose messages were released with the floor of each,
/// and the numbers above the floors as (stream, number) pairs (senders.hpp; the items after
/// the snapshot come as replicate_msg).
inline const message_type<std::uint64_t, std::vector<port_id>, std::vector<std::uint64_t>,
                          std::vector<port_id>, std::vector<std::uint64_t>>
    senders_msg{"pg.senders"};
/// standby that took over -> the other standbys: epoch, the new master, its last item, the
/// standbys left.
inline const message_type<std::uint64_t, port_id, std::uint64_t, std::vector<port_id>>
    new_master_msg{"pg.new_master"};

// -- quorum groups (group_options::quorum) ---------------------------------------------------
/// A standby whose master (and the standbys before it) died -> the agent of every other home
/// node (node-port service), which hands it to its node's role of the group as
/// local_vote_msg: follow me at this epoch. The group, the epoch, the candidate's log (the
/// epoch of the master that made it a standby, its last item), the candidate. A standby
/// grants it once its own master died, when it promised no newer epoch and its log is no
/// longer than the candidate's.
inline const message_type<std::string, std::uint64_t, std::uint64_t, std::uint64_t, port_id>
    vote_msg{"pg.vote"};
inline const message_type<std::uint64_t, std::uint64_t, std::uint64_t, port_id> local_vote_msg{
    "pg.local_vote", local_only};
/// A quorum master that stepped down -> its standbys: it is no master any more (they may
/// vote for another): the epoch it met.
inline const message_type<std::uint64_t> stepped_down_msg{"pg.stepped_down"};
/// standby -> candidate: the epoch, whether it follows it, the standby.
inline const message_type<std::uint64_t, bool, port_id> voted_msg{"pg.voted"};
/// A candidate to itself, vote_time after it asked: its epoch then.
inline const message_type<std::uint64_t> vote_ended_msg{"pg.vote_ended", local_only};
inline constexpr std::chrono::seconds vote_time{5};
/// A quorum group's new standby -> the agent of each other home node (node-port service):
/// the group, the standby. Answered with epoch_told_msg.
inline const message_type<std::string, port_id> epoch_ask_msg{"pg.epoch_ask"};
/// agent -> that standby: the group, the newest epoch its node holds a role of or promised.
inline const message_type<std::string, std::uint64_t> epoch_told_msg{"pg.epoch_told"};
/// A new standby to itself, ask_again after it asked: it asks again if too few answered
/// (questions and answers are lost with a link).
inline const message_type<std::uint64_t> ask_again_msg{"pg.ask_again", local_only};
inline constexpr std::chrono::seconds ask_again{1};
/// A quorum master to itself, respawn_delay after a standby on a node that is up ended
/// (not ready when it lost its master for a moment, or refused): its epoch then, the node.
/// It makes a standby there again if none is.
inline const message_type<std::uint64_t, std::string> respawn_msg{"pg.respawn", local_only};
inline constexpr std::chrono::seconds respawn_delay{1};

// -- standby -> master, master -> master ------------------------------------------------------
/// An item kept: epoch, its sequence number, the standby.
inline const message_type<std::uint64_t, std::uint64_t, port_id> ack_msg{"pg.ack"};
/// "I follow a newer epoch": that epoch (to a master that is behind).
inline const message_type<std::uint64_t> fenced_msg{"pg.fenced"};
/// master -> another master registered under the group's name: its epoch, itself.
inline const message_type<std::uint64_t, port_id> epoch_msg{"pg.epoch"};

// -- master -> agent (through the node port's service coport.groups) ------------------------
/// An ordered item: group, epoch, master, ordering, item.
inline const message_type<std::string, std::uint64_t, port_id, std::uint8_t, item> deliver_msg{
    "pg.deliver"};
/// After a takeover or a resend: group, epoch, master, ordering, the master's last item.
inline const message_type<std::string, std::uint64_t, port_id, std::uint8_t, std::uint64_t>
    sync_msg{"pg.sync"};
/// An item no longer in the master's history: group, epoch, its sequence number.
inline const message_type<std::string, std::uint64_t, std::uint64_t> lost_msg{"pg.lost"};

// -- agent -> master -------------------------------------------------------------------------
/// What the agent has (the master answers the node the link names, not the ID in it):
/// epoch, the agent's last item, the agent's node ID.
inline const message_type<std::uint64_t, std::uint64_t, std::string> resend_msg{"pg.resend"};
inline const message_type<std::uint64_t, std::uint64_t, std::string> synced_msg{"pg.synced"};

// -- causal groups --------------------------------------------------------------------------
/// API -> this node's agent (local only): group, sender, except sender, payload.
inline const message_type<std::string, port_id, bool, envelope> csend_msg{"pg.csend", local_only};
/// agent -> agent: group, view, stamp, sender, except sender, payload.
inline const message_type<std::string, std::uint64_t, stamp, port_id, bool, envelope> cdeliver_msg{
    "pg.cdeliver"};

// -- an agent's own monitors and timers (local only) ---------------------------------------
/// The master it follows died: group, master, why.
inline const message_type<std::string, port_id, reason> master_died_msg{"pg.master_died",
                                                                        local_only};
/// A master this node created on another node died: group, master, why.
inline const message_type<std::string, port_id, reason> created_died_msg{"pg.created_died",
                                                                         local_only};
/// Ten seconds after a master died abnormally: group, master, which loss of it, why.
inline const message_type<std::string, port_id, std::uint64_t, reason> recheck_msg{"pg.recheck",
                                                                                   local_only};
/// A resend the agent asked for may be due: group, which ask (agent.cpp).
inline const message_type<std::string, std::uint64_t> resend_due_msg{"pg.resend_due", local_only};
/// The hold time of items whose master the registry did not name ended: group.
inline const message_type<std::string> unconfirmed_msg{"pg.unconfirmed", local_only};
/// The master this node's sends of a group went to died: group, master, which watch of it
/// (a port followed again after its node came back is watched anew), why (outbox.hpp).
inline const message_type<std::string, port_id, std::uint64_t, reason> sent_to_died_msg{
    "pg.sent_to_died", local_only};
/// retry_delay after the master this node's sends of a group went to was lost with its
/// link: group, master, which watch of it (outbox.hpp).
inline const message_type<std::string, port_id, std::uint64_t> outbox_retry_msg{"pg.outbox_retry",
                                                                                local_only};
inline constexpr std::chrono::seconds retry_delay{1};
/// The earliest send waiting for its confirmation may be due: which timer (outbox.hpp).
inline const message_type<std::uint64_t> send_due_msg{"pg.send_due", local_only};

/// Bounds on what a peer can make a master or an agent hold.
inline constexpr std::size_t max_members = 1 << 16;
inline constexpr std::size_t max_pending = 1 << 16;  ///< items waiting for acks or a gap
/// ... and the most their messages weigh (item_weight): a peer's messages are up to a frame
/// each; one item is taken when none waits, whatever it weighs.
inline constexpr std::size_t max_pending_bytes = 16 << 20;
/// Released items a master or standby keeps for agents that catch up: at most this many
/// (whatever `history` its creator asked for) and this weight.
inline constexpr std::uint64_t max_history = 1 << 16;
inline constexpr std::size_t max_history_bytes = 64 << 20;
inline constexpr std::size_t max_stamp = 1 << 12;  ///< senders in one causal stamp
/// The most epochs a group's stream may move forward at once (a failover is one; a few in
/// a row while an agent heard nothing are possible; 2^40 from a peer is not).
inline constexpr std::uint64_t max_epoch_step = 1 << 10;
/// Items an agent holds until the registry names their master: groups, items per group,
/// and how long.
inline constexpr std::size_t max_unconfirmed_groups = 16, max_unconfirmed_items = 256;
/// ... and the most those items weigh, all groups together (item_weight).
inline constexpr std::size_t max_unconfirmed_bytes = 16 << 20;
/// The most an agent holds for one group past a gap, and in causal messages that wait
/// (item_weight; beyond it, as beyond max_pending items, the members here leave).
inline constexpr std::size_t max_held_bytes = 64 << 20;
inline constexpr std::chrono::seconds hold_time{10};
/// An agent that asked its master for what it misses asks again after resend_retry; after
/// resend_attempts asks without progress the members there leave (lost_messages).
inline constexpr std::chrono::seconds resend_retry{1};
inline constexpr unsigned resend_attempts = 10;

}  // namespace coport::groups::detail

namespace coport::wire {

template <>
struct codec<groups::detail::item> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const groups::detail::item& i) {
    w.varint(i.seq);
    w.byte(static_cast<std::uint8_t>(i.kind));
    codec<port_id>::encode(w, i.port);
    w.byte(i.flag ? 1 : 0);
    codec<reason>::encode(w, i.why);
    codec<std::vector<port_id>>::encode(w, i.members);
    codec<envelope>::encode(w, i.payload);
    codec<port_id>::encode(w, i.stream);
    w.varint(i.stream_seq);
    w.varint(i.stream_low);
  }
  static void decode(reader& r, groups::detail::item& i) {
    i.seq = r.varint();
    std::uint8_t k = r.byte();
    if (k > 2) reader::fail("a group item's kind is unknown");
    i.kind = static_cast<groups::detail::item_kind>(k);
    codec<port_id>::decode(r, i.port);
    std::uint8_t f = r.byte();
    if (f > 1) reader::fail("a group item's flag is neither 0 nor 1");
    i.flag = f == 1;
    codec<reason>::decode(r, i.why);
    codec<std::vector<port_id>>::decode(r, i.members);
    codec<envelope>::decode(r, i.payload);
    codec<port_id>::decode(r, i.stream);
    i.stream_seq = r.varint();
    i.stream_low = r.varint();
  }
  static std::string name() { return "coport.pg.item"; }
};

}  // namespace coport::wire
