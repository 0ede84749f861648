#pragma once
/// \file
/// detail::election — a quorum group's standby between masters (quorum.hpp has the rules):
/// the log it stands on (the epoch of the master that made it, then its last item), its
/// candidacy, the vote it holds back while its own master may still live, and a new
/// standby's questions to the other homes before it acknowledges anything.
/// The election sends its own questions and votes (vote_msg, voted_msg, epoch_ask_msg, and
/// the timers that end them) and keeps the node's promises (service::state); group_master
/// (master.hpp) receives, holds the role's epoch and master, and does what a verdict says
/// (follows a candidate, takes over once elected). quorum counts.
/// Threading: in the owning role's port. Lifetime: a member of group_master, whose self and
/// homes it refers to (set when the role starts).
/// May include: quorum, state, protocol, the runtime's public headers.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol.hpp"
#include "quorum.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class election {
 public:
  /// A candidate's request for a vote.
  struct vote_request {
    std::uint64_t epoch = 0, log_epoch = 0, last = 0;
    port_id candidate;
  };
  /// What a standby does with a vote request (judge).
  enum class verdict {
    refused,  ///< refused (or held until its master dies): nothing more
    stand,    ///< refused: the candidate's log is shorter; it stands itself
    follow,   ///< granted (promised): it follows the candidate, then sends the vote (grant)
  };

  election(node& n, service::state& st, const std::string& name, const port_id& self,
           const std::vector<std::string>& homes)
      : n_{n}, st_{st}, name_{name}, self_{self}, homes_{homes} {}

  /// A quorum group of `homes` homes (else the election stays off).
  void open(std::size_t homes) { q_ = quorum{homes}; }
  bool on() const noexcept { return q_.on(); }
  const quorum& majority() const noexcept { return q_; }
  std::uint64_t candidacy() const noexcept { return q_.candidacy(); }

  /// A new standby: made at `epoch` by a master that had item `complete_at`.
  void made(std::uint64_t epoch, std::uint64_t complete_at) {
    log_epoch_ = epoch;
    complete_at_ = complete_at;
  }
  /// The master's last item when it made this standby.
  std::uint64_t complete_at() const noexcept { return complete_at_; }
  /// A master at `epoch` stepped down to a standby: its master is gone (itself).
  void stepped_down(std::uint64_t epoch) {
    log_epoch_ = epoch;
    master_gone_ = true;
  }
  /// Its master died (or stepped down): the vote it held back, if any, is answered now.
  std::optional<vote_request> master_died();
  bool master_gone() const noexcept { return master_gone_; }

  // -- a new standby's questions ---------------------------------------------------------------
  /// Asks the other homes which epoch they follow (again after ask_again, at `epoch`).
  void ask(std::uint64_t epoch);
  bool asking() const noexcept { return asking_; }
  /// True when this node promised an epoch of the group before, in this process (it
  /// remembers every promise since: a new standby needs not ask).
  bool promised_here() const { return st_.promised_here(name_); }
  /// They answered, or needed not (this node promised before, in this process).
  bool answered() const noexcept { return answered_; }
  void answer() { answered_ = true; }
  /// The home `node` follows `epoch`: true once enough homes answered and this node
  /// promised `mine`; when one follows a newer epoch (or the node promised one), tells
  /// `master` it is behind and ends this role.
  bool told(const std::string& node, std::uint64_t epoch, std::uint64_t mine,
            const port_id& master);
  /// Promises `epoch` for this node: false when it promised a newer one (`master` is told
  /// it is behind, and this role ends).
  bool promise(std::uint64_t epoch, const port_id& master);

  // -- a candidate
  // ---------------------------------------------------------------------------------
  /// Stands at an epoch past `epoch` (the role's), `above` and every one this node knows,
  /// with the log up to `last`; again after vote_time until elected. False when this node
  /// promised a newer epoch meanwhile.
  bool stand(std::uint64_t epoch, std::uint64_t last, std::uint64_t above);
  /// Once its master is gone and no master is named, a standby stands after vote_time
  /// (each node a little later than the others: two that split the votes do not meet
  /// again): vote_ended_msg at epoch 0.
  void wait_for_master();
  /// `from` voted (`granted`) at `epoch`: true once a majority elected this candidate.
  bool won(std::uint64_t epoch, bool granted, const port_id& from);

  // -- a voter -------------------------------------------------------------------------------
  /// Judges `v` for a standby at `epoch` holding items up to `mine` (`ready`: it has the
  /// group's state) and following `master`: refuses it (sent), holds it back until its
  /// master dies, or promises it (follow: the caller follows, then calls grant).
  verdict judge(const vote_request& v, std::uint64_t epoch, std::uint64_t mine, bool ready,
                const port_id& master);
  /// Sends the vote promised to `v`'s candidate.
  void grant(const vote_request& v);

 private:
  verdict refuse(const vote_request& v, std::uint64_t epoch, std::uint64_t mine, bool ready);
  std::chrono::milliseconds spread() const;

  node& n_;
  service::state& st_;
  const std::string& name_;
  const port_id& self_;
  const std::vector<std::string>& homes_;
  quorum q_;                       ///< a quorum group's majority (off: not one)
  std::uint64_t log_epoch_ = 0;    ///< the epoch of the master that made it
  bool asking_ = false;            ///< waits for the other homes' answers
  bool answered_ = false;          ///< they answered (or needed not)
  std::uint64_t complete_at_ = 0;  ///< a new standby: its master's last item when made
  bool master_gone_ = false;       ///< its master died (it may vote)
  /// A vote asked while its master still lived: answered when it dies.
  vote_request pending_vote_;
};

}  // namespace coport::groups::detail
