#pragma once
/// \file
/// The messages of the groups protocol, between a group's master, its standbys and the
/// groups agent of every node with members. Every one of them is a plain coport message;
/// an ordered item has a codec of its own.
///
///   client  -> master   pg.send (from, except, envelope) · pg.join (member, notify, reply)
///                       pg.leave (member) · pg.members (reply)
///   master  -> standby  pg.replicate (epoch, item) · pg.standbys (epoch, ports)
///                       pg.snapshot (epoch, last, members) · pg.new_master (...)
///   standby -> master   pg.ack (epoch, seq) · pg.fenced (epoch)
///   master  -> agent    pg.deliver (name, epoch, master, order, item) · pg.sync (name,
///                       epoch, master, order, last) · pg.lost (name, epoch, seq)
///   agent   -> master   pg.resend (epoch, last, agent) · pg.synced (epoch, last, agent)
///                       (the master answers the node the link names, not `agent`)
///   client  -> agent    pg.csend (name, from, except, envelope)     (causal groups)
///   agent   -> agent    pg.cdeliver (name, stamp, from, except, envelope)
///
/// Threading: values. Lifetime: none.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "coport/envelope.hpp"
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

/// The tags of the protocol (see the table above).
inline const tag send_tag{"pg.send"};
inline const tag join_tag{"pg.join"};
inline const tag joined_tag{"pg.joined"};
inline const tag leave_tag{"pg.leave"};
inline const tag members_tag{"pg.members"};
inline const tag member_died_tag{"pg.member_died"};
inline const tag peer_died_tag{"pg.peer_died"};
inline const tag replicate_tag{"pg.replicate"};
inline const tag standbys_tag{"pg.standbys"};
inline const tag snapshot_tag{"pg.snapshot"};
inline const tag new_master_tag{"pg.new_master"};
inline const tag ack_tag{"pg.ack"};
inline const tag fenced_tag{"pg.fenced"};
inline const tag epoch_tag{"pg.epoch"};
inline const tag deliver_tag{"pg.deliver"};
inline const tag sync_tag{"pg.sync"};
inline const tag synced_tag{"pg.synced"};
inline const tag resend_tag{"pg.resend"};
inline const tag lost_tag{"pg.lost"};
inline const tag csend_tag{"pg.csend"};
inline const tag cdeliver_tag{"pg.cdeliver"};
inline const tag master_died_tag{"pg.master_died"};
inline const tag created_died_tag{"pg.created_died"};

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
  }
  static std::string name() { return "coport.pg.item"; }
};

}  // namespace coport::wire
