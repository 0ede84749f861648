// detail::group_master — a group's master and standby roles (master.hpp says how).
#include "master.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

namespace coport::groups::detail {

group_master::group_master(std::shared_ptr<service::state> st, std::string name, ordering order,
                           std::uint64_t kept, std::uint64_t epoch, bool quorum)
    : st_{std::move(st)},
      n_{st_->owner},
      name_{std::move(name)},
      order_{order},
      log_{kept, epoch},
      joins_{n_},
      follower_{n_, self_, log_, election_, role_entry_},
      election_{n_, *st_, name_, self_, homes_},
      quorum_mode_{quorum},
      refused_{"groups", n_.id(), "group " + name_, "the groups protocol"},
      confirms_{n_, self_},
      feed_{n_, *st_, name_, self_, order_, log_},
      role_entry_{*st_, name_, self_} {
  build_table();
}

group_master::~group_master() {
  role_entry_.remove();
}

void group_master::start_master(std::vector<std::string> standby_nodes) {
  self_ = coport::self();
  install();
  become_master();
  homes_.push_back(st_->own_id);
  for (auto& id : standby_nodes) {
    if (id == st_->own_id || std::find(homes_.begin(), homes_.end(), id) != homes_.end()) {
      continue;
    }
    homes_.push_back(id);
  }
  if (quorum_mode_) election_.open(homes_.size());
  watch_homes(true);
}

void group_master::start_standby(port_id master, std::vector<std::string> homes) {
  self_ = coport::self();
  role_ = role::standby;
  homes_ = std::move(homes);
  install();
  if (quorum_mode_) {
    // One role per node and group speaks for the node (votes, candidacies); a new master's
    // standby takes over from an older role here only once it holds what its master had
    // when it made it (take_role): the older role's log may be the only copy of what a
    // majority released, should this master die before.
    election_.open(homes_.size());
  } else {
    set_role_entry();
  }
  // Until the list of standbys comes, watch the master alone.
  follower_.follow(master);
}

bool group_master::on_origin(const message& m, const port_id& p) const {
  const port_id origin = m.origin();
  return origin ? origin.node_number() == p.node_number() : n_.is_local(p);
}

void group_master::build_table() {
  table_.on(send_msg, [this](message& m, port_id& from, bool& except, envelope& e, port_id& stream,
                             std::uint64_t& seq, std::uint64_t& low) {
    // (Not the master: the sender sends it again to the one the registry names.)
    if (role_ != role::master) return;
    if (!from.is_null() && !on_origin(m, from)) return refuse(m, "its sender is elsewhere");
    if (!stream.is_null()) {
      if (!on_origin(m, stream) || seq == 0 || low > seq) {
        return refuse(m, "its stream is elsewhere (or its numbers are wrong)");
      }
      log_.streams().waits_from(stream, low);
      if (!log_.streams().fits(stream, seq)) {
        n_.snd(stream, refused_msg, name_, seq);
        return refuse(m, "its number is past the window");
      }
      if (log_.streams().seen(stream, seq)) {
        log_.streams().again(stream);
        return confirms_.later();
      }
    }
    item it;
    it.kind = item_kind::message;
    it.port = from;
    it.flag = except;
    it.payload = std::move(e);
    it.stream = stream;
    it.stream_seq = seq;
    it.stream_low = low;
    if (!order(std::move(it)) && !stream.is_null()) {
      // Not ordered (nor counted): the sender reports it, and its next send says so.
      n_.snd(stream, refused_msg, name_, seq);
    }
  });
  table_.on(check_ended_msg, [this](message&, std::uint64_t& epoch) {
    if (epoch == log_.epoch() && gate_.give_up_down(n_.up_nodes(), st_->own_id)) go_on();
  });
  table_.on(sync_ended_msg, [this](message&, std::uint64_t& epoch) {
    if (epoch == log_.epoch() && gate_.keeping()) stop_holding();
  });
  table_.on(confirm_msg, [this](message&, std::uint64_t& now) {
    confirms_.due(now);
    if (role_ != role::master || confirms_wait()) return;  // (on_ack confirms later)
    for (const auto& [stream, seq] : log_.streams().take_confirmations()) {
      n_.snd(stream, ordered_msg, name_, seq);
    }
  });
  table_.on(join_msg, [this](message& m, port_id& member, bool& notify, port_id& reply) {
    if (!on_origin(m, member)) {
      if (role_ == role::master) {
        joins_.answer(reply, errc::bad_argument, log_.members().list());
      }
      return refuse(m, "the member is on another node");
    }
    on_join(member, notify, reply);
  });
  table_.on(leave_msg, [this](message& m, port_id& member) {
    if (!on_origin(m, member)) return refuse(m, "the member is on another node");
    on_leave(member, reason{});
  });
  table_.on(member_died_msg, [this](message&, port_id& member, reason& why) {
    member_mons_.erase(member);
    if (why.kind() == "transport_error") gate_.member_lost(std::string{member.node()}, n_.now());
    on_leave(member, why);  // a member that ended normally leaves with "normal"
  });
  table_.on(members_msg, [this](message&, port_id& reply) {
    n_.snd(reply, members_reply, log_.members().list());
  });
  // The agent that asks is the one on the node the link names (the node ID in the message
  // is not used: a peer could name any, and each would be interned).
  auto catch_up_asker = [this](message& m, std::uint64_t& epoch, std::uint64_t& last,
                               std::string&) {
    if (role_ == role::master && epoch == log_.epoch()) {
      feed_.catch_up(m.origin() ? m.origin() : st_->agent_port, last);
      // (An agent behind the takeover asks again as what catch_up sent it arrives.)
      if (gate_.held_back() && gate_.answered(agent_node(m))) go_on();
      if (gate_.caught_up(agent_node(m), last)) stop_holding();
    }
  };
  table_.on(synced_msg, catch_up_asker);
  table_.on(resend_msg, [this, catch_up_asker](message& m, std::uint64_t& epoch,
                                               std::uint64_t& last, std::string& id) {
    if (role_ != role::master) return;
    // What it misses, then where the stream is: the sync is the answer the agent waits for
    // (it answers with synced_msg: nothing more, unless it is still behind). An agent behind
    // this master's epoch (it lost its link while this master was elected again) gets the
    // sync alone, and catches up from its answer.
    if (epoch == log_.epoch()) catch_up_asker(m, epoch, last, id);
    feed_.sync(m.origin() ? st_->agent_of(std::string{m.origin().node()}) : st_->agent_port,
               log_.released());
  });
  table_.on(ack_msg, [this](message& m, std::uint64_t& epoch, std::uint64_t& seq, port_id& from) {
    if (!on_origin(m, from)) return refuse(m, "the standby it names is elsewhere");
    on_ack(epoch, seq, from);
  });
  table_.on(fenced_msg, [this](message& m, std::uint64_t& epoch) {
    // From a standby (on a home node), from another master under the group's name, or
    // from a member node's agent that follows a newer epoch (check_epoch).
    const port_id origin = m.origin();
    const bool asked_agent =
        origin && gate_.asked(std::string{origin.node()}) && epoch <= log_.epoch() + max_epoch_step;
    if (origin && !is_home(origin) && !registered_on(origin) && !asked_agent) {
      return refuse(m, "its node holds no role in the group (or was not asked)");
    }
    if (epoch > log_.epoch()) fence("a standby follows a newer epoch", epoch);
  });
  table_.on(epoch_msg, [this](message& m, std::uint64_t& epoch, port_id& other) {
    if (!on_origin(m, other)) return refuse(m, "the master it names is elsewhere");
    on_other_master(epoch, other);
  });
  table_.on(peer_died_msg, [this](message&, port_id& who, reason& why) { on_peer_died(who, why); });
  // A quorum group's election: between standbys on home nodes, each on its own node.
  // (The agent took it from the candidate's node.)
  table_.on(local_vote_msg, [this](message& m, std::uint64_t& epoch, std::uint64_t& log_epoch,
                                   std::uint64_t& last, port_id& candidate) {
    if (!is_home(candidate) || epoch > log_.epoch() + max_epoch_step) {
      return refuse(m, "it is not from a standby of the group");
    }
    on_vote({epoch, log_epoch, last, candidate});
  });
  table_.on(voted_msg, [this](message& m, std::uint64_t& epoch, bool& granted, port_id& from) {
    if (!on_origin(m, from) || !is_home(from)) return refuse(m, "it is not from a home");
    on_voted(epoch, granted, from);
  });
  table_.on(vote_ended_msg, [this](message&, std::uint64_t& epoch) {
    if (epoch == 0 && role_ == role::standby && election_.candidacy() == 0 &&
        !st_->names.get(registry_name(name_)).empty()) {
      // (A master is named: this stepped-down master waits to be replaced, or asked.)
      return election_.wait_for_master();
    }
    if (role_ == role::standby && epoch == election_.candidacy() && election_.master_gone()) {
      info({"groups", n_.id()}, "group {}: standby {} was not elected at epoch {}; it stands again",
           name_, self_.to_string(), epoch);
      stand_for_election();
    }
  });
  table_.on(stepped_down_msg, [this](message& m, std::uint64_t&) {
    if (role_ != role::standby || !election_.on() || !from_master(m)) return;
    on_master_gone();
  });
  table_.on(respawn_msg, [this](message&, std::uint64_t& epoch, std::string& id) {
    auto up = n_.up_nodes();
    if (epoch == log_.epoch() && std::find(up.begin(), up.end(), id) != up.end()) spawn_standby(id);
  });
  table_.on(ask_again_msg, [this](message&, std::uint64_t& epoch) {
    if (role_ == role::standby && election_.asking() && epoch == log_.epoch())
      election_.ask(log_.epoch());
  });
  table_.on(epoch_told_msg, [this](message& m, std::string& group, std::uint64_t& epoch) {
    if (group != name_) return refuse(m, "it names another group");
    if (role_ == role::standby) follower_.on_epoch_told(agent_node(m), epoch);
  });
  // A standby takes these from the group's master only.
  table_.on(replicate_msg, [this](message& m, std::uint64_t& epoch, item& it) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    // (A master was a standby of that master once, and took over since.)
    if (role_ == role::standby) follower_.on_replicate(epoch, std::move(it));
  });
  table_.on(standbys_msg, [this](message& m, std::uint64_t& epoch, std::vector<port_id>& list) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    if (role_ == role::standby) follower_.on_standbys(epoch, list);
  });
  table_.on(snapshot_msg, [this](message& m, std::uint64_t& epoch, std::uint64_t& last,
                                 std::vector<port_id>& members, std::uint64_t& upto) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    if (role_ == role::standby) follower_.on_snapshot(epoch, last, members, upto);
  });
  table_.on(
      senders_msg, [this](message& m, std::uint64_t& epoch, std::vector<port_id>& streams,
                          std::vector<std::uint64_t>& floors, std::vector<port_id>& above_streams,
                          std::vector<std::uint64_t>& above) {
        if (!from_master(m)) return refuse(m, "it is not from the group's master");
        if (role_ == role::standby && epoch == log_.epoch()) {
          log_.streams().load(
              {std::move(streams), std::move(floors), std::move(above_streams), std::move(above)});
        }
      });
  table_.on(new_master_msg, [this](message& m, std::uint64_t& epoch, port_id& master,
                                   std::uint64_t& last, std::vector<port_id>& list) {
    // A new master is a standby that took over: on its own node, one of the group's homes,
    // a few epochs on at most.
    if (!on_origin(m, master) || !is_home(master) || epoch > log_.epoch() + max_epoch_step) {
      return refuse(m, "it is not from a standby of the group");
    }
    if (role_ == role::standby) follower_.on_new_master(epoch, master, last, list);
  });
}

bool group_master::registered_on(const port_id& p) const {
  for (const auto& q : st_->names.get(registry_name(name_))) {
    if (q.node_number() == p.node_number()) return true;
  }
  return false;
}

void group_master::install() {
  std::weak_ptr<group_master> weak = shared_from_this();
  n_.rcv_default(self_, [weak](message& m) {
    if (auto self = weak.lock()) self->on_message(m);
  });
  // The port keeps this object alive; the object holds the port only by ID.
  auto keep = n_.mon_guard(self_, shared_from_this());
  keep.release();
  role_entry_.list();
}

void group_master::become_master() {
  role_ = role::master;
  set_role_entry();
  reg_ = st_->names.reg(registry_name(name_), self_);
  // Another master under the name (a concurrent create, or one across a healed
  // partition): the lower epoch is fenced.
  std::weak_ptr<group_master> weak = shared_from_this();
  registry_watch_ = st_->names.mon(registry_name(name_), [weak](const registry_event& e) {
    auto self = weak.lock();
    if (!self || self->role_ != role::master) return;
    for (const auto& p : e.added) {
      if (p != self->self_) self->n_.snd(p, epoch_msg, self->log_.epoch(), self->self_);
    }
  });
}

void group_master::on_other_master(std::uint64_t epoch, const port_id& other) {
  if (role_ != role::master || other == self_) return;
  if (epoch > log_.epoch()) {
    fence("another master has a newer epoch", epoch);
  } else if (epoch < log_.epoch()) {
    n_.snd(other, fenced_msg, log_.epoch());
  } else if (port_order{}(other, self_)) {
    // Two masters of one epoch: two creates raced. The first in port order stays.
    info({"groups", n_.id()}, "group {}: created twice at once; {} stays", name_,
         other.to_string());
    n_.kil(self_, "already_created");
  } else {
    n_.snd(other, epoch_msg, log_.epoch(), self_);
  }
}

void group_master::fence(const char* why, std::uint64_t newer) {
  if (role_ == role::fenced) return;
  if (election_.on()) {
    // A quorum role never ends from a fence: its log may be what a majority acknowledged.
    // (A peer names the epoch: a few steps on at most.)
    newer = std::min(newer, log_.epoch() + max_epoch_step);
    if (role_ != role::master) {
      log_.set_epoch(std::max(log_.epoch(), newer));
      set_role_entry(true);
      return;
    }
    info({"groups", n_.id()}, "group {}: the master at epoch {} steps down: {}", name_,
         log_.epoch(), why);
    return demote(newer);
  }
  info({"groups", n_.id()}, "group {}: the master at epoch {} is fenced: {}", name_, log_.epoch(),
       why);
  role_ = role::fenced;
  reg_.cancel();
  n_.kil(self_, "fenced");
}

void group_master::demote(std::uint64_t newer) {
  // A quorum master that meets a newer epoch keeps its log as a standby: it may hold items
  // a majority acknowledged and the next master needs (its vote, or its candidacy, carries
  // them; quorum.hpp). A master of the newer epoch replaces it with a standby of its own.
  role_ = role::standby;
  reg_.cancel();
  role_entry_.drop_created();
  registry_watch_ = {};
  node_events_ = {};
  // (Its standbys are the homes it asks when it stands: they take a vote from it.)
  follower_.set_standby_list(standbys_.ports());
  for (const auto& p : follower_.standby_list()) n_.snd(p, stepped_down_msg, newer);
  standbys_.clear();
  member_mons_.clear();
  follower_.stop_watching();
  joins_.refuse_all(log_.members().list());
  election_.stepped_down(log_.epoch());
  log_.set_epoch(std::max(log_.epoch(), newer));
  set_role_entry(true);
  follower_.stepped_down();
  starting_ = false;
  // It votes; it stands when a candidate with a shorter log asks it (on_vote), or after
  // vote_time if the registry names no master meanwhile (the candidate that fenced it may
  // not have been elected, and its own standbys may hold the majority).
  election_.wait_for_master();
}

void group_master::on_join(const port_id& member, bool notify, const port_id& reply) {
  if (role_ != role::master) {
    // (A quorum master that stepped down: the joiner's node asks the next one.)
    return joins_.answer(reply, errc::no_such_group, log_.members().list());
  }
  if (member.is_null()) return;
  if (log_.members().contains(member)) {
    return joins_.answer(reply, errc::already_member, log_.members().list());
  }
  if (log_.members().size() >= max_members) {
    warn({"groups", n_.id()}, "group {}: a join of {} refused: {} members already", name_,
         member.to_string(), log_.members().size());
    return joins_.answer(reply, errc::bad_argument, log_.members().list());
  }
  // Answered once released (release()): a join the master ordered and then lost with its
  // node is one the next master may not have.
  const std::uint64_t seq = log_.next();
  joins_.wait(seq, reply);
  item it;
  it.kind = item_kind::join;
  it.port = member;
  it.flag = notify;
  member_mons_.emplace(member, n_.mon(member, self_, member_died_msg, member));
  if (!order(std::move(it))) {
    member_mons_.erase(member);
    joins_.forget(seq);  // (dropped before numbering: the members are as they were)
    joins_.answer(reply, errc::bad_argument, log_.members().list());
  }
}

void group_master::on_leave(const port_id& member, const reason& why) {
  if (role_ != role::master) return;
  if (!log_.members().contains(member)) return;
  member_mons_.erase(member);
  item it;
  it.kind = item_kind::leave;
  it.port = member;
  it.why = why;
  order(std::move(it));
}

bool group_master::order(item it) {
  if (it.kind == item_kind::message && !it.payload.packed() &&
      (!standbys_.empty() || log_.members().beyond(st_->own_id))) {
    it.payload.pack();  // encoded once, whatever the number of nodes it goes to
  }
  const std::uint64_t waiting = log_.last() - log_.released();
  const std::size_t weight = item_weight(it);
  if (waiting >= max_pending || (it.kind == item_kind::message && waiting > 0 &&
                                 pending_bytes_ + weight > max_pending_bytes)) {
    warn({"groups", n_.id()}, "group {}: {} items ({} bytes) wait for standbys; a {} is dropped",
         name_, waiting, pending_bytes_,
         it.kind == item_kind::message ? "message" : "membership change");
    return false;
  }
  const entry& e = log_.number(std::move(it), weight);
  pending_bytes_ += weight;
  for (const auto& s : standbys_) n_.snd(s.port, replicate_msg, log_.epoch(), e.it);
  release();
  log_.trim();
  return true;
}

void group_master::release() {
  if (gate_.held_back() || starting_) return;
  std::uint64_t upto = log_.last();
  if (election_.on()) {
    // What a majority of the homes holds (quorum.hpp; a slow or silent standby does not hold
    // the others back: the election finds the longest log).
    upto = held_by_majority();
  } else {
    // What every living standby holds (the first of them takes over).
    upto = standbys_.held_by_all(upto);
  }
  log_.release_to(upto, [this](const entry& e, const std::vector<port_id>* after) {
    pending_bytes_ -= std::min(pending_bytes_, e.weight);
    feed_.deliver(e, after);
    joins_.released(log_.released(), after);
    if (!e.it.stream.is_null()) {
      log_.streams().released(e.it.stream, e.it.stream_seq, true);
      confirms_.later();
    }
  });
}

void group_master::on_ack(std::uint64_t epoch, std::uint64_t seq, const port_id& from) {
  if (role_ != role::master) return;
  if (epoch > log_.epoch()) return fence("a standby acknowledged a newer epoch", epoch);
  if (epoch < log_.epoch()) return;
  standbys_.ack(from, seq, [&](bool first) {
    if (first) {
      // The first word of a standby that followed this master after a takeover: it gets
      // what it misses (what it has twice it ignores).
      log_.each_after(seq, [&](const item& it) { n_.snd(from, replicate_msg, log_.epoch(), it); });
    }
    if (gate_.held_back()) check_epoch();  // a standby again
  });
  if (starting_) {
    if (held_by_majority() >= takeover_last_) started();
  }
  if (log_.streams().has_confirmations() && !confirms_wait()) confirms_.later();
  release();
  log_.trim();
}

void group_master::watch_homes(bool now) {
  std::weak_ptr<group_master> weak = shared_from_this();
  node_events_ = n_.mon_nodes([weak](const std::string& id, bool up, const reason&) {
    auto self = weak.lock();
    if (self && up) self->spawn_standby(id);
    if (self && up && self->gate_.unanswered(id)) self->ask_epoch(id);
  });
  if (!now) return;
  auto up = n_.up_nodes();
  for (const auto& id : homes_) {
    if (std::find(up.begin(), up.end(), id) != up.end()) spawn_standby(id);
  }
}

void group_master::spawn_standby(const std::string& id) {
  if (role_ != role::master || id == st_->own_id ||
      std::find(homes_.begin(), homes_.end(), id) == homes_.end()) {
    return;
  }
  if (standbys_.on_node(id)) return;
  port_id p = n_.spawn(id, standby_init, name_, self_, static_cast<std::uint8_t>(order_),
                       log_.kept().limit(), log_.epoch(), homes_, quorum_mode_);
  // It starts from the state as released (the members then), then gets every item not
  // released yet, and what is ordered later, as any standby does. A quorum group's gets the
  // released items this master still keeps too: after an election every standby is new,
  // and the next master must be able to give agents what they miss.
  const std::uint64_t from = log_.snapshot_from(election_.on());
  n_.snd(p, snapshot_msg, log_.epoch(), from, log_.members_at(from), log_.last());
  auto s = log_.streams().snapshot();
  n_.snd(p, senders_msg, log_.epoch(), std::move(s.streams), std::move(s.floors),
         std::move(s.above_streams), std::move(s.above));
  log_.each_after(from, [&](const item& it) { n_.snd(p, replicate_msg, log_.epoch(), it); });
  add_standby(p, 0);
  announce_standbys();
}

void group_master::announce_standbys() {
  const std::vector<port_id> list = standbys_.ports();
  for (const auto& p : list) n_.snd(p, standbys_msg, log_.epoch(), list);
}

void group_master::on_peer_died(const port_id& who, const reason& why) {
  if (role_ == role::master) {
    // A standby died: it no longer holds releases back.
    if (standbys_.remove(who)) {
      info({"groups", n_.id()}, "group {}: standby {} is gone ({})", name_, who.to_string(),
           why.to_string());
      const std::string id{who.node()};
      // A quorum group needs its homes: one whose standby ended because it lost this
      // master for a moment (its node stays up) gets another; one that went down gets one
      // when it comes back (watch_homes). (Not after a refused spawn: no loop.)
      if (election_.on() && why.kind() == "standby_not_ready") {
        n_.after(respawn_delay, self_, respawn_msg, log_.epoch(), id);
      }
      if (log_.streams().has_confirmations() && !confirms_wait()) confirms_.later();
      // The last standby's node went down: it may only be cut off, and take over on its
      // side. Releasing alone now could give members here what the group's next master
      // never has: hold back until a standby is back (or this master is fenced).
      // (A quorum group needs no such hold: it releases nothing without a majority.)
      if (standbys_.empty() && why.kind() == "transport_error" && !election_.on()) {
        info({"groups", n_.id()}, "group {}: no standby left; releases wait for one", name_);
        gate_.hold_back(log_.members().nodes().get(), n_.now());
      }
      release();
      log_.trim();
    }
    return;
  }
  if (role_ != role::standby) return;
  if (!follower_.unwatch(who)) return;
  if (who == follower_.master() && (why.normal() || why.kind() == "already_created" ||
                                    (why.kind() == "fenced" && !election_.on()))) {
    n_.kil(self_);  // the group ended
    return;
  }
  if (who == follower_.master()) on_master_gone();
  if (follower_.watching()) return;
  if (!follower_.ready()) {
    // It never had the group's state: nothing to take over with.
    n_.kil(self_, "standby_not_ready");
    return;
  }
  take_over(why);
}

void group_master::assume(std::uint64_t epoch, const reason& why) {
  log_.set_epoch(epoch);
  st_->takeovers.fetch_add(1, std::memory_order_relaxed);
  info({"groups", n_.id()},
       "group {}: standby {} takes over as master at epoch {} (the master: {})", name_,
       self_.to_string(), log_.epoch(), why.to_string());
  become_master();
  log_.release_all();
  takeover_last_ = log_.last();  // confirmed once every standby has it (confirms_wait)
  pending_bytes_ = 0;
  // Members on dead nodes leave (their monitors fire at once).
  for (const auto& m : log_.members().list())
    member_mons_.emplace(m, n_.mon(m, self_, member_died_msg, m));
}

void group_master::take_over(const reason& why) {
  if (election_.on()) return stand_for_election();
  assume(log_.epoch() + 1, why);
  // The standbys after this one follow the new master.
  std::vector<port_id> rest;
  bool after = false;
  for (const auto& p : follower_.standby_list()) {
    if (after) rest.push_back(p);
    if (p == self_) after = true;
  }
  standbys_.clear();
  for (const auto& p : rest) add_standby(p, 0, true);
  for (const auto& p : rest) n_.snd(p, new_master_msg, log_.epoch(), self_, log_.last(), rest);
  // New standbys only on home nodes that come up from now on: the node list may still
  // name the old master's node for a moment.
  watch_homes(false);
  sync_agents();
}

void group_master::sync_agents() {
  feed_.sync_all(takeover_last_);
  // Until each agent of a node with members said it has every item from before the
  // takeover, those items stay, whatever is released meanwhile (messages sent again to this
  // master come in a burst). (The other nodes' agents are not waited for: a node without
  // the groups service never answers.)
  if (log_.members().nodes() && gate_.keep_history(takeover_last_, *log_.members().nodes())) {
    log_.kept().hold();
    n_.after(hold_time, self_, sync_ended_msg, log_.epoch());
  }
}

// -- quorum groups (quorum.hpp) -----------------------------------------------------------------

void group_master::stand_for_election(std::uint64_t above) {
  if (role_entry_.replaced()) {  // (a newer master's standby holds this node's role now)
    n_.kil(self_, "replaced");
    return;
  }
  set_role_entry(true);  // (votes for this node come to its role)
  if (!election_.stand(log_.epoch(), log_.last(), above)) n_.kil(self_, "fenced");
}

void group_master::on_vote(const election::vote_request& v) {
  if (role_ != role::standby || !election_.on()) return;
  switch (election_.judge(v, log_.epoch(), log_.last(), follower_.ready(), follower_.master())) {
    case election::verdict::refused:
      return;
    case election::verdict::stand:
      return stand_for_election(v.epoch);
    case election::verdict::follow:
      break;
  }
  log_.set_epoch(v.epoch);
  set_role_entry(true);  // (unless a newer role replaced this one: it is being killed)
  // (Still free to vote for a later candidate at a newer epoch, if this one is not elected.)
  follower_.follow(v.candidate);
  election_.grant(v);
}

void group_master::on_master_gone() {
  if (auto v = election_.master_died()) on_vote(*v);
}

void group_master::on_voted(std::uint64_t epoch, bool granted, const port_id& from) {
  if (role_ != role::standby || !election_.won(epoch, granted, from)) return;
  assume(epoch, reason{"elected"});
  // Every other home gets a standby made from this master's state (it replaces the role
  // there); nothing is released until a majority holds that state.
  standbys_.clear();
  follower_.stop_watching();
  starting_ = true;
  watch_homes(true);
}

void group_master::started() {
  starting_ = false;
  info({"groups", n_.id()}, "group {}: a majority holds epoch {}'s start; releases go on", name_,
       log_.epoch());
  sync_agents();
  release();
  log_.trim();
}

void group_master::check_epoch() {
  std::vector<std::string> ask;
  const bool go = gate_.check(log_.members().nodes().get(), ask);
  for (const auto& id : ask) ask_epoch(id);
  if (go) return go_on();
  if (!ask.empty()) n_.after(release_gate::check_limit, self_, check_ended_msg, log_.epoch());
}

void group_master::ask_epoch(const std::string& id) {
  feed_.sync(st_->agent_of(id), log_.released());
}

void group_master::go_on() {
  info({"groups", n_.id()}, "group {}: releases go on at epoch {}", name_, log_.epoch());
  release();
  log_.trim();
}

void start_master(const std::shared_ptr<service::state>& st, std::string group, ordering order,
                  std::vector<std::string> standbys, std::uint64_t history, bool quorum) {
  auto m = std::make_shared<group_master>(st, std::move(group), order, history, 1, quorum);
  m->start_master(std::move(standbys));
}

void start_standby(const std::shared_ptr<service::state>& st, std::string group, port_id master,
                   ordering order, std::uint64_t history, std::uint64_t epoch,
                   std::vector<std::string> homes, bool quorum) {
  auto m = std::make_shared<group_master>(st, std::move(group), order, history, epoch, quorum);
  m->start_standby(master, std::move(homes));
}

}  // namespace coport::groups::detail
