#pragma once
/// \file
/// detail::follower — a standby following its group's master: it takes the master's items
/// in sequence (those past a gap wait, items_ahead.hpp) into the group's log and
/// acknowledges each one, starts from the master's snapshot, undoes what a new master never
/// had, and watches the master and the standbys before it in the master's list (the first
/// living standby takes over when they all died: group_master decides, from peer_died_msg).
/// A quorum standby acknowledges nothing before the other homes answered, and speaks for its
/// node once it holds what its master had when it made it (role_entry.hpp).
/// The follower holds what only a standby has; the log is group_master's, which keeps it
/// when the standby takes over, and which passes a message on only while its role is a
/// standby (a master was a standby once: its old master's items are ignored).
/// Threading: in the role's port. Lifetime: a member of group_master, whose node, self, log,
/// election and role entry it refers to.
/// May include: election, group_log, items_ahead, role_entry, protocol, the runtime's public
/// headers.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "election.hpp"
#include "group_log.hpp"
#include "items_ahead.hpp"
#include "protocol.hpp"
#include "role_entry.hpp"

namespace coport::groups::detail {

class follower {
 public:
  follower(node& n, const port_id& self, group_log& log, election& el, role_entry& entry)
      : n_{n}, self_{self}, log_{log}, election_{el}, entry_{entry} {}

  /// The master it follows (null: none; a master that stepped down).
  const port_id& master() const noexcept { return master_; }
  /// It has the group's state (it may take over, and vote).
  bool ready() const noexcept { return ready_; }
  /// The master's list of standbys as it last heard it (a master that stepped down: its own).
  const std::vector<port_id>& standby_list() const noexcept { return standby_list_; }

  /// Follows `master` (a candidate it voted for too), watching it alone until the list of
  /// standbys comes.
  void follow(const port_id& master) {
    master_ = master;
    watch({master});
  }
  /// Watches `ports` (peer_died_msg), and nothing else.
  void watch(const std::vector<port_id>& ports);
  /// `who` died: false when it was not watched.
  bool unwatch(const port_id& who) { return watching_.erase(who) != 0; }
  bool watching() const noexcept { return !watching_.empty(); }
  void stop_watching() { watching_.clear(); }
  /// A master steps down to a standby with its standbys `list` (the homes it asks when it
  /// stands; the list first, as they are told).
  void set_standby_list(std::vector<port_id> list) { standby_list_ = std::move(list); }
  /// ... and follows no master, with its log as the group's state.
  void stepped_down() {
    ready_ = true;
    master_ = port_id{};
  }

  // -- from the master (group_master checks the sender and the role) ------------------------
  void on_standbys(std::uint64_t epoch, const std::vector<port_id>& list);
  void on_replicate(std::uint64_t epoch, item it);
  void on_snapshot(std::uint64_t epoch, std::uint64_t last, const std::vector<port_id>& members,
                   std::uint64_t upto);
  void on_new_master(std::uint64_t epoch, const port_id& master, std::uint64_t last,
                     const std::vector<port_id>& list);
  /// A new quorum standby heard which epoch `node` follows (it asked the other homes before
  /// it acknowledges).
  void on_epoch_told(const std::string& node, std::uint64_t epoch);

 private:
  void accept(item it);
  void ack(std::uint64_t seq) { n_.snd(master_, ack_msg, log_.epoch(), seq, self_); }
  /// A quorum standby that the other homes answered and that holds what its master had
  /// when it made it speaks for its node from now on (an older role here is replaced).
  void take_role();

  node& n_;
  const port_id& self_;
  group_log& log_;
  election& election_;
  role_entry& entry_;
  port_id master_;
  std::vector<port_id> standby_list_;    ///< its view of the master's list
  std::map<port_id, monitor> watching_;  ///< the master and the standbys before it
  items_ahead ahead_;                    ///< items past a gap
  bool ready_ = false;                   ///< it has the group's state
};

}  // namespace coport::groups::detail
