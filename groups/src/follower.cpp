// coport::groups::detail::follower — see follower.hpp.
#include "follower.hpp"

namespace coport::groups::detail {

void follower::watch(const std::vector<port_id>& ports) {
  watching_.clear();
  for (const auto& p : ports) watching_.emplace(p, n_.mon(p, self_, peer_died_msg, p));
}

void follower::on_standbys(std::uint64_t epoch, const std::vector<port_id>& list) {
  if (epoch < log_.epoch()) return;
  log_.set_epoch(epoch);
  std::vector<port_id> ahead{master_};
  for (const auto& p : list) {
    if (p == self_) break;
    ahead.push_back(p);
  }
  standby_list_ = list;
  watch(ahead);
}

void follower::on_replicate(std::uint64_t epoch, item it) {
  if (epoch < log_.epoch()) {
    n_.snd(master_, fenced_msg, log_.epoch());
    return;
  }
  log_.set_epoch(epoch);
  if (it.seq < log_.next()) return;  // had it
  if (it.seq > log_.next()) {
    // After a takeover the new master's items may pass what it resends: keep them.
    // (A count and a weight: the master may be a peer's, sending items of a frame each.)
    ahead_.keep(std::move(it));
    return;
  }
  accept(std::move(it));
  while (auto next = ahead_.take(log_.next())) accept(std::move(*next));
}

void follower::accept(item it) {
  const std::uint64_t seq = log_.accept(std::move(it));
  if (!election_.asking()) ack(seq);
  if (election_.answered() && !ready_) take_role();
}

void follower::take_role() {
  if (log_.last() < election_.complete_at()) return;
  const role_entry::claim c = entry_.take(log_.epoch());
  if (c.newer) {
    // A newer epoch's role speaks for this node: this standby's master is behind.
    n_.snd(master_, fenced_msg, c.newer);
    n_.kil(self_, "replaced");
    return;
  }
  if (c.old) n_.kil(c.old, "replaced");
  ready_ = true;
}

void follower::on_snapshot(std::uint64_t epoch, std::uint64_t last,
                           const std::vector<port_id>& members, std::uint64_t upto) {
  if (epoch < log_.epoch()) return;
  ready_ = !election_.on();  // (quorum: once the other homes answered and it holds `upto`)
  election_.made(epoch, upto);
  log_.reset(epoch, last, members);  // (senders_msg follows)
  if (election_.on()) {
    // A node that promised an epoch of the group before, in this process, remembers every
    // promise it made since it asked the other homes once (quorum.hpp): it answers at once.
    if (!election_.promised_here()) return election_.ask(log_.epoch());
    if (!election_.promise(log_.epoch(), master_)) return;
    election_.answer();
    take_role();
  }
  ack(last);
}

void follower::on_new_master(std::uint64_t epoch, const port_id& master, std::uint64_t last,
                             const std::vector<port_id>& list) {
  if (epoch <= log_.epoch()) return;
  log_.set_epoch(epoch);
  master_ = master;
  // Items past the new master's last were never released: undo them.
  log_.roll_back(last);
  on_standbys(epoch, list);
  ack(log_.last());
}

void follower::on_epoch_told(const std::string& node, std::uint64_t epoch) {
  if (!election_.told(node, epoch, log_.epoch(), master_)) return;
  ack(log_.last());
  take_role();
}

}  // namespace coport::groups::detail
