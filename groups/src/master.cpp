// detail::group_master — a group's master and standby roles (master.hpp says how).
#include "master.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>

namespace coport::groups::detail {

group_master::group_master(std::shared_ptr<service::state> st, std::string name, ordering order,
                           std::uint64_t kept, std::uint64_t epoch, bool quorum)
    : st_{std::move(st)},
      n_{st_->owner},
      name_{std::move(name)},
      order_{order},
      epoch_{epoch},
      history_{kept},
      election_{n_, *st_, name_, self_, homes_},
      quorum_mode_{quorum},
      refused_{"groups", n_.id(), "group " + name_, "the groups protocol"} {
  build_table();
}

group_master::~group_master() {
  std::lock_guard lock{st_->mutex};
  st_->role_ports.erase(self_);
  if (auto it = st_->roles.find(name_); it != st_->roles.end() && it->second.port == self_) {
    st_->roles.erase(it);
  }
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
  master_ = master;
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
  watch({master_});
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
      senders_.waits_from(stream, low);
      if (!senders_.fits(stream, seq)) {
        n_.snd(stream, refused_msg, name_, seq);
        return refuse(m, "its number is past the window");
      }
      if (senders_.seen(stream, seq)) {
        senders_.again(stream);
        return confirm_later();
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
    if (epoch == epoch_ && gate_.give_up_down(n_.up_nodes(), st_->own_id)) go_on();
  });
  table_.on(sync_ended_msg, [this](message&, std::uint64_t& epoch) {
    if (epoch == epoch_ && gate_.keeping()) stop_holding();
  });
  table_.on(confirm_msg, [this](message&, std::uint64_t& now) {
    (now ? confirm_sent_ : confirm_timed_) = false;
    to_confirm_ = 0;
    if (role_ != role::master || confirms_wait()) return;  // (on_ack confirms later)
    for (const auto& [stream, seq] : senders_.take_confirmations()) {
      n_.snd(stream, ordered_msg, name_, seq);
    }
  });
  table_.on(join_msg, [this](message& m, port_id& member, bool& notify, port_id& reply) {
    if (!on_origin(m, member)) {
      if (role_ == role::master) {
        n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::bad_argument), members_.list());
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
  table_.on(members_msg,
            [this](message&, port_id& reply) { n_.snd(reply, members_reply, members_.list()); });
  // The agent that asks is the one on the node the link names (the node ID in the message
  // is not used: a peer could name any, and each would be interned).
  auto catch_up_asker = [this](message& m, std::uint64_t& epoch, std::uint64_t& last,
                               std::string&) {
    if (role_ == role::master && epoch == epoch_) {
      catch_up(m.origin() ? m.origin() : st_->agent_port, last);
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
    if (epoch == epoch_) catch_up_asker(m, epoch, last, id);
    n_.snd(m.origin() ? st_->agent_of(std::string{m.origin().node()}) : st_->agent_port, sync_msg,
           name_, epoch_, self_, static_cast<std::uint8_t>(order_), released_);
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
        origin && gate_.asked(std::string{origin.node()}) && epoch <= epoch_ + max_epoch_step;
    if (origin && !is_home(origin) && !registered_on(origin) && !asked_agent) {
      return refuse(m, "its node holds no role in the group (or was not asked)");
    }
    if (epoch > epoch_) fence("a standby follows a newer epoch", epoch);
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
    if (!is_home(candidate) || epoch > epoch_ + max_epoch_step) {
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
    if (epoch == epoch_ && std::find(up.begin(), up.end(), id) != up.end()) spawn_standby(id);
  });
  table_.on(ask_again_msg, [this](message&, std::uint64_t& epoch) {
    if (role_ == role::standby && election_.asking() && epoch == epoch_) election_.ask(epoch_);
  });
  table_.on(epoch_told_msg, [this](message& m, std::string& group, std::uint64_t& epoch) {
    if (group != name_) return refuse(m, "it names another group");
    on_epoch_told(agent_node(m), epoch);
  });
  // A standby takes these from the group's master only.
  table_.on(replicate_msg, [this](message& m, std::uint64_t& epoch, item& it) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    on_replicate(epoch, std::move(it));
  });
  table_.on(standbys_msg, [this](message& m, std::uint64_t& epoch, std::vector<port_id>& list) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    on_standbys(epoch, list);
  });
  table_.on(snapshot_msg, [this](message& m, std::uint64_t& epoch, std::uint64_t& last,
                                 std::vector<port_id>& members, std::uint64_t& upto) {
    if (!from_master(m)) return refuse(m, "it is not from the group's master");
    on_snapshot(epoch, last, members, upto);
  });
  table_.on(
      senders_msg, [this](message& m, std::uint64_t& epoch, std::vector<port_id>& streams,
                          std::vector<std::uint64_t>& floors, std::vector<port_id>& above_streams,
                          std::vector<std::uint64_t>& above) {
        if (!from_master(m)) return refuse(m, "it is not from the group's master");
        if (role_ == role::standby && epoch == epoch_) {
          senders_.load(
              {std::move(streams), std::move(floors), std::move(above_streams), std::move(above)});
        }
      });
  table_.on(new_master_msg, [this](message& m, std::uint64_t& epoch, port_id& master,
                                   std::uint64_t& last, std::vector<port_id>& list) {
    // A new master is a standby that took over: on its own node, one of the group's homes,
    // a few epochs on at most.
    if (!on_origin(m, master) || !is_home(master) || epoch > epoch_ + max_epoch_step) {
      return refuse(m, "it is not from a standby of the group");
    }
    on_new_master(epoch, master, last, list);
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
  std::lock_guard lock{st_->mutex};
  st_->role_ports.insert(self_);
}

void group_master::set_role_entry(bool only_if_mine) {
  std::lock_guard lock{st_->mutex};
  auto& r = st_->roles[name_];
  if (only_if_mine && r.port && r.port != self_) return;
  r.port = self_;
  r.epoch = epoch_;
  r.master = role_ == role::master;
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
      if (p != self->self_) self->n_.snd(p, epoch_msg, self->epoch_, self->self_);
    }
  });
}

void group_master::on_other_master(std::uint64_t epoch, const port_id& other) {
  if (role_ != role::master || other == self_) return;
  if (epoch > epoch_) {
    fence("another master has a newer epoch", epoch);
  } else if (epoch < epoch_) {
    n_.snd(other, fenced_msg, epoch_);
  } else if (port_order{}(other, self_)) {
    // Two masters of one epoch: two creates raced. The first in port order stays.
    info({"groups", n_.id()}, "group {}: created twice at once; {} stays", name_,
         other.to_string());
    n_.kil(self_, "already_created");
  } else {
    n_.snd(other, epoch_msg, epoch_, self_);
  }
}

void group_master::fence(const char* why, std::uint64_t newer) {
  if (role_ == role::fenced) return;
  if (election_.on()) {
    // A quorum role never ends from a fence: its log may be what a majority acknowledged.
    // (A peer names the epoch: a few steps on at most.)
    newer = std::min(newer, epoch_ + max_epoch_step);
    if (role_ != role::master) {
      epoch_ = std::max(epoch_, newer);
      set_role_entry(true);
      return;
    }
    info({"groups", n_.id()}, "group {}: the master at epoch {} steps down: {}", name_, epoch_,
         why);
    return demote(newer);
  }
  info({"groups", n_.id()}, "group {}: the master at epoch {} is fenced: {}", name_, epoch_, why);
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
  subscription made;  // (create's registration, when this master was created here)
  {
    std::lock_guard lock{st_->mutex};
    if (auto it = st_->create_regs.find(name_);
        it != st_->create_regs.end() && it->second.first == self_) {
      made = std::move(it->second.second);
      st_->create_regs.erase(it);
    }
  }
  made = {};
  registry_watch_ = {};
  node_events_ = {};
  // (Its standbys are the homes it asks when it stands: they take a vote from it.)
  standby_list_ = standbys_.ports();
  for (const auto& p : standby_list_) n_.snd(p, stepped_down_msg, newer);
  standbys_.clear();
  member_mons_.clear();
  watching_.clear();
  for (auto& [seq, reply] : joins_) {
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::no_such_group), members_.list());
  }
  joins_.clear();
  election_.stepped_down(epoch_);
  epoch_ = std::max(epoch_, newer);
  set_role_entry(true);
  ready_ = true;
  master_ = port_id{};
  starting_ = false;
  // It votes; it stands when a candidate with a shorter log asks it (on_vote), or after
  // vote_time if the registry names no master meanwhile (the candidate that fenced it may
  // not have been elected, and its own standbys may hold the majority).
  election_.wait_for_master();
}

void group_master::on_join(const port_id& member, bool notify, const port_id& reply) {
  if (role_ != role::master) {
    // (A quorum master that stepped down: the joiner's node asks the next one.)
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::no_such_group), members_.list());
    return;
  }
  if (member.is_null()) return;
  if (members_.contains(member)) {
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::already_member), members_.list());
    return;
  }
  if (members_.size() >= max_members) {
    warn({"groups", n_.id()}, "group {}: a join of {} refused: {} members already", name_,
         member.to_string(), members_.size());
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::bad_argument), members_.list());
    return;
  }
  // Answered once released (release()): a join the master ordered and then lost with its
  // node is one the next master may not have.
  const std::uint64_t seq = next_seq_;
  joins_.emplace(seq, reply);
  item it;
  it.kind = item_kind::join;
  it.port = member;
  it.flag = notify;
  member_mons_.emplace(member, n_.mon(member, self_, member_died_msg, member));
  if (!order(std::move(it))) {
    member_mons_.erase(member);
    joins_.erase(seq);  // (dropped before numbering: the members are as they were)
    n_.snd(reply, joined_msg, static_cast<std::uint8_t>(errc::bad_argument), members_.list());
  }
}

void group_master::on_leave(const port_id& member, const reason& why) {
  if (role_ != role::master) return;
  if (!members_.contains(member)) return;
  member_mons_.erase(member);
  item it;
  it.kind = item_kind::leave;
  it.port = member;
  it.why = why;
  order(std::move(it));
}

bool group_master::order(item it) {
  if (it.kind == item_kind::message && !it.payload.packed() &&
      (!standbys_.empty() || members_.beyond(st_->own_id))) {
    it.payload.pack();  // encoded once, whatever the number of nodes it goes to
  }
  const std::uint64_t waiting = next_seq_ - 1 - released_;
  const std::size_t weight = item_weight(it);
  if (waiting >= max_pending || (it.kind == item_kind::message && waiting > 0 &&
                                 pending_bytes_ + weight > max_pending_bytes)) {
    warn({"groups", n_.id()}, "group {}: {} items ({} bytes) wait for standbys; a {} is dropped",
         name_, waiting, pending_bytes_,
         it.kind == item_kind::message ? "message" : "membership change");
    return false;
  }
  it.seq = next_seq_++;
  if (!it.stream.is_null()) senders_.numbered(it.stream, it.stream_seq);
  auto before = members_.nodes();
  const std::size_t at = members_.apply(it);
  // A leave goes to the nodes that had members (the leaving member's too).
  auto targets = it.kind == item_kind::leave ? before : members_.nodes();
  const entry& e = history_.push(entry{std::move(it), std::move(targets), weight, at});
  pending_bytes_ += weight;
  for (const auto& s : standbys_) n_.snd(s.port, replicate_msg, epoch_, e.it);
  release();
  history_.trim(released_);
  return true;
}

void group_master::release() {
  if (gate_.held_back() || starting_) return;
  std::uint64_t upto = next_seq_ - 1;
  if (election_.on()) {
    // What a majority of the homes holds (quorum.hpp; a slow or silent standby does not hold
    // the others back: the election finds the longest log).
    upto = held_by_majority();
  } else {
    // What every living standby holds (the first of them takes over).
    upto = standbys_.held_by_all(upto);
  }
  std::optional<std::vector<port_id>> view;
  while (released_ < upto) {
    ++released_;
    const entry* e = history_.find(released_);
    if (!e) continue;
    pending_bytes_ -= std::min(pending_bytes_, e->weight);
    const std::vector<port_id>* after = history_.step_view(view, *e, members_.list());
    send_to_agents(*e, after);
    if (auto j = joins_.find(released_); j != joins_.end()) {
      // The members before it: those after it, but the last (a join appends its member).
      std::vector<port_id> old;
      if (after && !after->empty()) old.assign(after->begin(), after->end() - 1);
      n_.snd(j->second, joined_msg, static_cast<std::uint8_t>(errc::ok), std::move(old));
      joins_.erase(j);
    }
    if (!e->it.stream.is_null()) {
      senders_.released(e->it.stream, e->it.stream_seq, true);
      confirm_later();
    }
  }
}

void group_master::confirm_later() {
  if (++to_confirm_ >= confirm_batch) {
    if (!confirm_sent_) n_.snd(self_, confirm_msg, std::uint64_t{1});
    confirm_sent_ = true;
  } else if (!confirm_timed_) {
    n_.after(confirm_delay, self_, confirm_msg, std::uint64_t{0});
    confirm_timed_ = true;
  }
}

void group_master::send_to_agents(const entry& e, const std::vector<port_id>* view) {
  if (!e.nodes) return;
  if (view) {
    item it = e.it;
    it.members = *view;
    for (const auto& id : *e.nodes) send_item(st_->agent_of(id), it);
    return;
  }
  for (const auto& id : *e.nodes) send_item(st_->agent_of(id), e.it);
}

void group_master::send_item(const port_id& agent, const item& it) {
  n_.snd(agent, deliver_msg, name_, epoch_, self_, static_cast<std::uint8_t>(order_), it);
}

void group_master::catch_up(const port_id& agent, std::uint64_t last) {
  if (last == std::numeric_limits<std::uint64_t>::max()) return;
  std::optional<std::vector<port_id>> view;
  for (std::uint64_t s = last + 1; s <= released_; ++s) {
    const entry* e = history_.find(s);
    if (!e) {
      n_.snd(agent, lost_msg, name_, epoch_, s);
      return;
    }
    if (const auto* members = history_.step_view(view, *e, members_.list())) {
      item it = e->it;
      it.members = *members;
      send_item(agent, it);
    } else {
      send_item(agent, e->it);
    }
  }
}

void group_master::on_ack(std::uint64_t epoch, std::uint64_t seq, const port_id& from) {
  if (role_ != role::master) return;
  if (epoch > epoch_) return fence("a standby acknowledged a newer epoch", epoch);
  if (epoch < epoch_) return;
  standbys_.ack(from, seq, [&](bool first) {
    if (first) {
      // The first word of a standby that followed this master after a takeover: it gets
      // what it misses (what it has twice it ignores).
      for (std::uint64_t q = seq + 1; q < next_seq_; ++q) {
        if (const entry* e = history_.find(q)) n_.snd(from, replicate_msg, epoch_, e->it);
      }
    }
    if (gate_.held_back()) check_epoch();  // a standby again
  });
  if (starting_) {
    if (held_by_majority() >= takeover_last_) started();
  }
  if (senders_.has_confirmations() && !confirms_wait()) confirm_later();
  release();
  history_.trim(released_);
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
                       history_.limit(), epoch_, homes_, quorum_mode_);
  // It starts from the state as released (the members then), then gets every item not
  // released yet, and what is ordered later, as any standby does. A quorum group's gets the
  // released items this master still keeps too: after an election every standby is new,
  // and the next master must be able to give agents what they miss.
  std::uint64_t from = released_;
  if (election_.on() && history_.first() != 0) from = std::min(from, history_.first() - 1);
  n_.snd(p, snapshot_msg, epoch_, from, history_.members_at(members_.list(), from), next_seq_ - 1);
  auto s = senders_.snapshot();
  n_.snd(p, senders_msg, epoch_, std::move(s.streams), std::move(s.floors),
         std::move(s.above_streams), std::move(s.above));
  for (std::uint64_t q = from + 1; q < next_seq_; ++q) {
    if (const entry* e = history_.find(q)) n_.snd(p, replicate_msg, epoch_, e->it);
  }
  add_standby(p, 0);
  announce_standbys();
}

void group_master::announce_standbys() {
  const std::vector<port_id> list = standbys_.ports();
  for (const auto& p : list) n_.snd(p, standbys_msg, epoch_, list);
}

void group_master::watch(const std::vector<port_id>& ports) {
  watching_.clear();
  for (const auto& p : ports) watching_.emplace(p, n_.mon(p, self_, peer_died_msg, p));
}

void group_master::on_standbys(std::uint64_t epoch, const std::vector<port_id>& list) {
  if (role_ != role::standby || epoch < epoch_) return;
  epoch_ = epoch;
  std::vector<port_id> ahead{master_};
  for (const auto& p : list) {
    if (p == self_) break;
    ahead.push_back(p);
  }
  standby_list_ = list;
  watch(ahead);
}

void group_master::on_replicate(std::uint64_t epoch, item it) {
  if (role_ == role::fenced) return;
  if (role_ == role::master) {
    // This port was a standby of that master once and took over since.
    return;
  }
  if (epoch < epoch_) {
    n_.snd(master_, fenced_msg, epoch_);
    return;
  }
  epoch_ = epoch;
  if (it.seq < next_seq_) return;  // had it
  if (it.seq > next_seq_) {
    // After a takeover the new master's items may pass what it resends: keep them.
    // (A count and a weight: the master may be a peer's, sending items of a frame each.)
    ahead_.keep(std::move(it));
    return;
  }
  accept(std::move(it));
  while (auto next = ahead_.take(next_seq_)) accept(std::move(*next));
}

void group_master::accept(item it) {
  ++next_seq_;
  auto before = members_.nodes();
  const std::size_t at = members_.apply(it);
  std::uint64_t seq = it.seq;
  const std::size_t weight = item_weight(it);
  // A leave goes to the nodes that had members, as the master sends it.
  auto targets = it.kind == item_kind::leave ? std::move(before) : members_.nodes();
  if (!it.stream.is_null()) {
    senders_.waits_from(it.stream, it.stream_low);  // (what the sender gave up leaves no gap)
    senders_.numbered(it.stream, it.stream_seq);
    senders_.released(it.stream, it.stream_seq, false);
  }
  history_.push(entry{std::move(it), std::move(targets), weight, at});
  released_ = seq;  // (a standby's trim bound)
  history_.trim(released_);
  if (!election_.asking()) n_.snd(master_, ack_msg, epoch_, seq, self_);
  if (election_.answered() && !ready_) take_role();
}

void group_master::take_role() {
  if (next_seq_ - 1 < election_.complete_at()) return;
  port_id old;
  std::uint64_t newer = 0;
  {
    std::lock_guard lock{st_->mutex};
    auto& r = st_->roles[name_];
    if (r.port && r.port != self_) {
      // (A master here steps down when it meets the newer epoch, and keeps its log.)
      if (r.epoch > epoch_) {
        newer = r.epoch;
      } else if (!r.master) {
        old = r.port;
      }
    }
    if (!newer) {
      r.port = self_;
      r.epoch = epoch_;
      r.master = false;
    }
  }
  if (newer) {
    // A newer epoch's role speaks for this node: this standby's master is behind.
    n_.snd(master_, fenced_msg, newer);
    n_.kil(self_, "replaced");
    return;
  }
  if (old) n_.kil(old, "replaced");
  ready_ = true;
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
        n_.after(respawn_delay, self_, respawn_msg, epoch_, id);
      }
      if (senders_.has_confirmations() && !confirms_wait()) confirm_later();
      // The last standby's node went down: it may only be cut off, and take over on its
      // side. Releasing alone now could give members here what the group's next master
      // never has: hold back until a standby is back (or this master is fenced).
      // (A quorum group needs no such hold: it releases nothing without a majority.)
      if (standbys_.empty() && why.kind() == "transport_error" && !election_.on()) {
        info({"groups", n_.id()}, "group {}: no standby left; releases wait for one", name_);
        gate_.hold_back(members_.nodes().get(), n_.now());
      }
      release();
      history_.trim(released_);
    }
    return;
  }
  if (role_ != role::standby) return;
  if (watching_.erase(who) == 0) return;
  if (who == master_ && (why.normal() || why.kind() == "already_created" ||
                         (why.kind() == "fenced" && !election_.on()))) {
    n_.kil(self_);  // the group ended
    return;
  }
  if (who == master_) on_master_gone();
  if (!watching_.empty()) return;
  if (!ready_) {
    // It never had the group's state: nothing to take over with.
    n_.kil(self_, "standby_not_ready");
    return;
  }
  take_over(why);
}

void group_master::assume(std::uint64_t epoch, const reason& why) {
  epoch_ = epoch;
  st_->takeovers.fetch_add(1, std::memory_order_relaxed);
  info({"groups", n_.id()},
       "group {}: standby {} takes over as master at epoch {} (the master: {})", name_,
       self_.to_string(), epoch_, why.to_string());
  become_master();
  released_ = next_seq_ - 1;
  senders_.release_all();
  takeover_last_ = next_seq_ - 1;  // confirmed once every standby has it (confirms_wait)
  pending_bytes_ = 0;
  // Members on dead nodes leave (their monitors fire at once).
  for (const auto& m : members_.list())
    member_mons_.emplace(m, n_.mon(m, self_, member_died_msg, m));
}

void group_master::take_over(const reason& why) {
  if (election_.on()) return stand_for_election();
  assume(epoch_ + 1, why);
  // The standbys after this one follow the new master.
  std::vector<port_id> rest;
  bool after = false;
  for (const auto& p : standby_list_) {
    if (after) rest.push_back(p);
    if (p == self_) after = true;
  }
  standbys_.clear();
  for (const auto& p : rest) add_standby(p, 0, true);
  for (const auto& p : rest) n_.snd(p, new_master_msg, epoch_, self_, next_seq_ - 1, rest);
  // New standbys only on home nodes that come up from now on: the node list may still
  // name the old master's node for a moment.
  watch_homes(false);
  sync_agents();
}

void group_master::sync_agents() {
  // The agents catch up from what they say they have: those of the nodes with members, and
  // those of every other node linked now. A node whose members left in items the last
  // master ordered and did not release has none in this log's view, and learns that they
  // left only from the catch-up (if this port was that master too, no death tells its
  // agent to ask). An agent that follows no such group just answers.
  std::vector<std::string> ids;
  if (members_.nodes()) ids = *members_.nodes();
  for (auto& id : n_.up_nodes()) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  for (const auto& id : ids) {
    n_.snd(st_->agent_of(id), sync_msg, name_, epoch_, self_, static_cast<std::uint8_t>(order_),
           takeover_last_);
  }
  // Until each agent of a node with members said it has every item from before the
  // takeover, those items stay, whatever is released meanwhile (messages sent again to this
  // master come in a burst). (The other nodes' agents are not waited for: a node without
  // the groups service never answers.)
  if (members_.nodes() && gate_.keep_history(takeover_last_, *members_.nodes())) {
    history_.hold();
    n_.after(hold_time, self_, sync_ended_msg, epoch_);
  }
}

// -- quorum groups (quorum.hpp) -----------------------------------------------------------------

void group_master::stand_for_election(std::uint64_t above) {
  bool replaced = false;  // a newer master's standby holds this node's role now
  {
    std::lock_guard lock{st_->mutex};
    auto it = st_->roles.find(name_);
    replaced = it != st_->roles.end() && it->second.port && it->second.port != self_;
  }
  if (replaced) {
    n_.kil(self_, "replaced");
    return;
  }
  set_role_entry(true);  // (votes for this node come to its role)
  if (!election_.stand(epoch_, next_seq_ - 1, above)) n_.kil(self_, "fenced");
}

void group_master::on_vote(const election::vote_request& v) {
  if (role_ != role::standby || !election_.on()) return;
  switch (election_.judge(v, epoch_, next_seq_ - 1, ready_, master_)) {
    case election::verdict::refused:
      return;
    case election::verdict::stand:
      return stand_for_election(v.epoch);
    case election::verdict::follow:
      break;
  }
  epoch_ = v.epoch;
  set_role_entry(true);  // (unless a newer role replaced this one: it is being killed)
  master_ = v.candidate;
  // (Still free to vote for a later candidate at a newer epoch, if this one is not elected.)
  watch({v.candidate});
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
  watching_.clear();
  starting_ = true;
  watch_homes(true);
}

void group_master::started() {
  starting_ = false;
  info({"groups", n_.id()}, "group {}: a majority holds epoch {}'s start; releases go on", name_,
       epoch_);
  sync_agents();
  release();
  history_.trim(released_);
}

void group_master::on_epoch_told(const std::string& node, std::uint64_t epoch) {
  if (role_ != role::standby || !election_.told(node, epoch, epoch_, master_)) return;
  n_.snd(master_, ack_msg, epoch_, next_seq_ - 1, self_);
  take_role();
}

void group_master::check_epoch() {
  std::vector<std::string> ask;
  const bool go = gate_.check(members_.nodes().get(), ask);
  for (const auto& id : ask) ask_epoch(id);
  if (go) return go_on();
  if (!ask.empty()) n_.after(release_gate::check_limit, self_, check_ended_msg, epoch_);
}

void group_master::ask_epoch(const std::string& id) {
  n_.snd(st_->agent_of(id), sync_msg, name_, epoch_, self_, static_cast<std::uint8_t>(order_),
         released_);
}

void group_master::go_on() {
  info({"groups", n_.id()}, "group {}: releases go on at epoch {}", name_, epoch_);
  release();
  history_.trim(released_);
}

void group_master::on_snapshot(std::uint64_t epoch, std::uint64_t last,
                               const std::vector<port_id>& members, std::uint64_t upto) {
  if (role_ != role::standby || epoch < epoch_) return;
  ready_ = !election_.on();  // (quorum: once the other homes answered and it holds `upto`)
  election_.made(epoch, upto);
  epoch_ = epoch;
  next_seq_ = last + 1;
  released_ = last;
  history_.clear();
  senders_.clear();  // (senders_msg follows)
  members_.assign(members);
  if (election_.on()) {
    // A node that promised an epoch of the group before, in this process, remembers every
    // promise it made since it asked the other homes once (quorum.hpp): it answers at once.
    if (!st_->promised_here(name_)) return election_.ask(epoch_);
    if (!election_.promise(epoch_, master_)) return;
    election_.answer();
    take_role();
  }
  n_.snd(master_, ack_msg, epoch_, last, self_);
}

void group_master::on_new_master(std::uint64_t epoch, const port_id& master, std::uint64_t last,
                                 const std::vector<port_id>& list) {
  if (role_ != role::standby || epoch <= epoch_) return;
  epoch_ = epoch;
  master_ = master;
  // Items past the new master's last were never released: undo them.
  for (std::uint64_t q = last + 1; q < next_seq_; ++q) {
    const entry* e = history_.find(q);
    if (e && !e->it.stream.is_null()) senders_.unnumber(e->it.stream, e->it.stream_seq);
  }
  std::vector<port_id> members = members_.list();
  history_.drop_after(last, members);
  next_seq_ = std::min(next_seq_, last + 1);
  members_.assign(std::move(members));
  on_standbys(epoch, list);
  n_.snd(master_, ack_msg, epoch_, next_seq_ - 1, self_);
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
