// coport::groups::detail::election — see election.hpp.
#include "election.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace coport::groups::detail {

std::optional<election::vote_request> election::master_died() {
  master_gone_ = true;
  if (!pending_vote_.candidate) return std::nullopt;
  return std::exchange(pending_vote_, {});
}

void election::ask(std::uint64_t epoch) {
  if (!asking_) q_.ask();
  asking_ = true;
  for (const auto& id : homes_) {
    if (id != st_.own_id) n_.snd(st_.agent_of(id), epoch_ask_msg, name_, self_);
  }
  n_.after(ask_again, self_, ask_again_msg, epoch);
}

bool election::told(const std::string& node, std::uint64_t epoch, std::uint64_t mine,
                    const port_id& master) {
  if (!asking_ || node == st_.own_id ||
      std::find(homes_.begin(), homes_.end(), node) == homes_.end()) {
    return false;
  }
  const bool enough = q_.told(node, epoch);
  if (q_.newest_told() > mine) {
    // A majority may follow a newer master: this one is behind.
    n_.snd(master, fenced_msg, q_.newest_told());
    n_.kil(self_, "fenced");
    return false;
  }
  if (!enough || !promise(mine, master)) return false;
  asking_ = false;
  answered_ = true;
  return true;
}

bool election::promise(std::uint64_t epoch, const port_id& master) {
  if (st_.promise(name_, epoch)) return true;
  n_.snd(master, fenced_msg, st_.local_epoch(name_));
  n_.kil(self_, "fenced");
  return false;
}

bool election::stand(std::uint64_t epoch, std::uint64_t last, std::uint64_t above) {
  const std::uint64_t at = std::max({epoch, st_.local_epoch(name_), above}) + 1;
  if (!st_.promise(name_, at)) return false;
  info({"groups", n_.id()}, "group {}: standby {} stands for master at epoch {}", name_,
       self_.to_string(), at);
  q_.stand(at);
  pending_vote_ = {};
  for (const auto& id : homes_) {
    if (id != st_.own_id) n_.snd(st_.agent_of(id), vote_msg, name_, at, log_epoch_, last, self_);
  }
  // (Each node waits a little longer than the others before it stands again: two that
  // split the votes do not meet again.)
  n_.after(vote_time + spread(), self_, vote_ended_msg, at);
  return true;
}

void election::wait_for_master() {
  n_.after(vote_time + spread(), self_, vote_ended_msg, std::uint64_t{0});
}

std::chrono::milliseconds election::spread() const {
  return std::chrono::milliseconds{std::hash<std::string>{}(st_.own_id) % 1000};
}

bool election::won(std::uint64_t epoch, bool granted, const port_id& from) {
  if (!granted || epoch != q_.candidacy()) return false;
  if (!q_.vote(epoch, std::string{from.node()})) return false;
  q_.withdraw();
  return true;
}

election::verdict election::judge(const vote_request& v, std::uint64_t epoch, std::uint64_t mine,
                                  bool ready, const port_id& master) {
  const bool longer = v.log_epoch > log_epoch_ || (v.log_epoch == log_epoch_ && v.last > mine);
  const bool equal = v.log_epoch == log_epoch_ && v.last == mine;
  if (!ready || v.epoch <= epoch || v.epoch < q_.candidacy()) return refuse(v, epoch, mine, ready);
  if (v.epoch == q_.candidacy()) {
    // Two stand at one epoch: the one with the shorter log (or, alike, the later port)
    // gives its own vote to the other (it never counts it again: one master per epoch).
    if (!longer && !(equal && port_order{}(v.candidate, self_))) {
      return refuse(v, epoch, mine, ready);
    }
  } else if (!longer && !equal) {
    refuse(v, epoch, mine, ready);
    // A standby with a longer log than the candidate's, whose master died too, stands
    // itself (the candidate would never be elected without it).
    return master_gone_ ? verdict::stand : verdict::refused;
  }
  if (!master_gone_ && v.candidate != master) {
    // Its master may still be alive (this link to it is fine): answered once it dies (a
    // master that stepped down asks itself).
    coport::detail::log(log_level::debug, {"groups", n_.id()},
                        "group {}: {} holds its vote to {} at epoch {} until its master dies",
                        name_, self_.to_string(), v.candidate.to_string(), v.epoch);
    pending_vote_ = v;
    return verdict::refused;
  }
  if (!st_.promise(name_, v.epoch)) return refuse(v, epoch, mine, ready);
  // It follows the candidate now: an older master's items are refused (fenced_msg).
  q_.withdraw();
  return verdict::follow;
}

void election::grant(const vote_request& v) {
  coport::detail::log(log_level::debug, {"groups", n_.id()},
                      "group {}: {} votes for {} at epoch {}", name_, self_.to_string(),
                      v.candidate.to_string(), v.epoch);
  n_.snd(v.candidate, voted_msg, v.epoch, true, self_);
}

election::verdict election::refuse(const vote_request& v, std::uint64_t epoch, std::uint64_t mine,
                                   bool ready) {
  coport::detail::log(log_level::debug, {"groups", n_.id()},
                      "group {}: {} refuses its vote to {} at epoch {} (its epoch {}, standing "
                      "{}, log {}/{} against {}/{}, ready {})",
                      name_, self_.to_string(), v.candidate.to_string(), v.epoch, epoch,
                      q_.candidacy(), log_epoch_, mine, v.log_epoch, v.last, ready);
  n_.snd(v.candidate, voted_msg, v.epoch, false, self_);
  return verdict::refused;
}

}  // namespace coport::groups::detail
