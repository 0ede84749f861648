#pragma once
/// \file
/// detail::quorum — a quorum group's majority (group_options::quorum): what a majority of
/// its homes holds, a candidate's votes, and a new standby's round of questions.
///
/// A quorum group has N homes (its master's node and its standby nodes; N >= 3) and a
/// majority of Q = N/2 + 1. Three rules keep one order through partitions:
/// - **release**: the master releases an item once Q homes hold it (itself and Q-1
///   standbys that acknowledged it), so a side with fewer than Q homes releases nothing;
/// - **election**: a standby whose master died becomes master only once Q homes voted for
///   it (itself included). A home votes once per epoch, only for a log no shorter than its
///   own (the epoch of the master that made it a standby, then its last item), and never
///   acknowledges an older epoch after it voted. Any two majorities share a home, so the
///   winner holds every item a master released, and an old master that goes on finds no
///   majority to acknowledge it;
/// - **promises outlive the port, not the process**: a node that restarted forgot what it
///   promised. Before a new standby acknowledges anything it asks the other homes which
///   epoch they follow, and waits for N - Q + 1 answers (with its own forgotten promise
///   that makes a majority): if one follows a newer epoch than its master's, the master is
///   fenced. This holds while fewer than N - Q + 1 homes restart at once.
/// (Raft's and Viewstamped Replication's rules, applied to coport's succession of standbys.)
/// The class counts; group_master (master.hpp) sends and receives.
///
/// Threading: in the owning role's port. Lifetime: a member of group_master.
/// May include: the standard library only.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace coport::groups::detail {

class quorum {
 public:
  /// Off (no quorum group), or a group of `homes` homes.
  explicit quorum(std::size_t homes = 0) : homes_{homes} {}

  bool on() const noexcept { return homes_ != 0; }
  std::size_t majority() const noexcept { return homes_ / 2 + 1; }

  /// The last item a majority holds: the master holds up to `last`, each standby up to
  /// its entry in `acked` (reordered, `last` added: a caller's scratch); 0 when fewer than a
  /// majority hold anything.
  std::uint64_t held_by_majority(std::uint64_t last, std::vector<std::uint64_t>& acked) const;

  // -- a candidate ---------------------------------------------------------------------------
  /// Stands for `epoch` (its own vote counts).
  void stand(std::uint64_t epoch) {
    candidacy_ = epoch;
    voters_.clear();
  }
  /// The epoch it stands for (0: none).
  std::uint64_t candidacy() const noexcept { return candidacy_; }
  void withdraw() {
    candidacy_ = 0;
    voters_.clear();
  }
  /// The home `node` voted for `epoch`: true once a majority did (its own vote included).
  bool vote(std::uint64_t epoch, const std::string& node);

  // -- a new standby's questions -----------------------------------------------------------------
  /// Asks (again): the answers so far are forgotten.
  void ask() {
    told_.clear();
    newest_told_ = 0;
  }
  /// The home `node` (another than this one) follows `epoch`: true once enough homes
  /// answered (N - Q + 1).
  bool told(const std::string& node, std::uint64_t epoch);
  /// The newest epoch an answer named.
  std::uint64_t newest_told() const noexcept { return newest_told_; }

 private:
  std::size_t homes_ = 0;
  std::uint64_t candidacy_ = 0;
  std::set<std::string> voters_;
  std::set<std::string> told_;
  std::uint64_t newest_told_ = 0;
};

}  // namespace coport::groups::detail
