#pragma once
/// \file
/// detail::release_gate — when a group's master may release, and when it may trim its
/// history, after a failure:
/// - **Held back.** A master whose last standby's node went down may only be cut off, with
///   the standby taking over on its side: it releases nothing until a standby is back, and
///   then not before every node that had members since says it follows no newer epoch (a
///   standby that took over meanwhile may have released to them and died since; an agent
///   that follows a newer epoch fences the master instead). A node that is down is asked
///   when it comes up.
/// - **History kept after a takeover.** Until each member node's agent has every item up to
///   the takeover, the new master keeps those items, whatever it releases meanwhile (the
///   messages sent again to it come in a burst).
/// The master sends the questions; the gate says whom to ask and when to go on.
/// Threading: none (the role's port). Lifetime: a member of the role.
/// May include: the standard library only.

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace coport::groups::detail {

class release_gate {
 public:
  // -- held back
  /// The last standby's node went down at `now`; `nodes` (null: none) have members now.
  void hold_back(const std::vector<std::string>* nodes, std::chrono::steady_clock::time_point now);
  /// How long a member's node lost counts for a hold, and how long a check waits for nodes
  /// that are down.
  static constexpr std::chrono::seconds recent{30}, check_limit{60};
  /// A member on `node` left at `now` because its node went down (from here): should the
  /// releases be held back within `recent` of it, that node is asked too (its members may
  /// have followed a standby that took over there).
  void member_lost(const std::string& node, std::chrono::steady_clock::time_point now);
  /// The check runs past its limit: the nodes still down are given up (an agent there that
  /// follows a newer epoch drops what this master sends); true when releases go on now.
  bool give_up_down(const std::vector<std::string>& up, const std::string& own);
  bool held_back() const noexcept { return held_back_; }
  /// A standby is back: the agents to ask (`ask`; nothing while a check runs); true when
  /// releases may go on at once (no node to ask).
  bool check(const std::vector<std::string>* nodes, std::vector<std::string>& ask);
  /// `node`'s agent answered at this master's epoch: true when releases go on now.
  bool answered(const std::string& node);
  /// True when `node` (that came up) has not answered the check that runs.
  bool unanswered(const std::string& node) const;
  /// True when `node`'s agent was asked a question it has not answered (a check, or the
  /// sync after a takeover): only such an agent may answer fenced.
  bool asked(const std::string& node) const {
    return unanswered(node) || unsynced_.count(node) > 0;
  }

  // -- after a takeover
  /// Keeps the history until each of `nodes` has item `floor`; false when there is none.
  bool keep_history(std::uint64_t floor, const std::vector<std::string>& nodes);
  bool keeping() const noexcept { return !unsynced_.empty(); }
  /// `node`'s agent is at item `last`: true when the history may be trimmed again now.
  bool caught_up(const std::string& node, std::uint64_t last);
  void stop_keeping() { unsynced_.clear(); }

 private:
  bool held_back_ = false;
  bool checking_ = false;             ///< held back: asking the agents for newer epochs
  std::set<std::string> unchecked_;   ///< ... the nodes that did not answer yet
  std::set<std::string> held_nodes_;  ///< the member nodes since the releases were held back
  /// Nodes whose members left as their node went down, and when (the last `recent` only).
  std::map<std::string, std::chrono::steady_clock::time_point> lost_nodes_;
  std::set<std::string> unsynced_;  ///< after a takeover: member nodes not caught up yet
  std::uint64_t floor_ = 0;         ///< ... to this item, the last before the takeover
};

}  // namespace coport::groups::detail
