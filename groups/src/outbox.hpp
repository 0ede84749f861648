#pragma once
/// \file
/// detail::outbox — this node's group sends that no master has confirmed yet. Each send gets
/// the next number of this node's stream for its group (the stream: this node's groups
/// agent, a port of one incarnation), goes to the master the registry names, and is kept
/// until that master says it released it (`ordered_msg`: ordered, and held by its standbys,
/// so by whichever master comes next). When the master dies, or the registry names another,
/// every kept send goes again, in order, to the next master, which orders a (stream, number)
/// once (senders.hpp). A send no master confirmed within service_options::send_timeout is
/// reported: `pg_send_failed, group, reason` to its port and service_options::on_send_failed.
///
/// A message sent again is ordered once, and lost only when reported: a master that orders
/// it releases it after every living standby has it, and a standby that takes over has every
/// message released and the numbers of the streams in them.
///
/// Bounds: at most service_options::max_unconfirmed sends (and max_unconfirmed_bytes of
/// their packed values) wait on the whole node; a send beyond is refused at once
/// (errc::too_many_unconfirmed). A group's numbering is kept for the life of the node (a
/// stream's numbers must not start again), so one small entry per group this node sent to.
/// Threading: `send` from any thread; the rest in the agent's port; a group's entry under its
/// own mutex. Lifetime: owned by service::state; `close` drops what waits.
/// May include: state, the runtime's public headers.

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "state.hpp"

namespace coport::groups::detail {

class outbox {
 public:
  outbox(service::state& st, const service_options& options);

  /// Sends `pg_message` `e` of `from` (null: none) to `group`, whose master the registry
  /// names `master` now.
  errc send(std::string_view group, const port_id& master, const port_id& from, bool except,
            envelope e);
  /// The same to a group this node sent to before, to the master the outbox follows (a
  /// registry watch and a monitor keep it current), or kept for the next master while none
  /// is known (after a master died); nullopt (and `e` untouched) for a group it has not
  /// sent to, or that ended.
  std::optional<errc> send_known(std::string_view group, const port_id& from, bool except,
                                 envelope& e);

  // In the agent's port (agent.cpp dispatches these):
  /// A master (on the node of `origin`, null: this node) released this node's messages of
  /// `group` up to `seq`.
  void on_ordered(const port_id& origin, const std::string& group, std::uint64_t seq);
  /// That master did not order message `seq` of this node's stream: it is reported.
  void on_refused(const port_id& origin, const std::string& group, std::uint64_t seq);
  /// The master `group`'s sends went to died.
  void on_sent_to_died(const std::string& group, const port_id& master, std::uint64_t watch,
                       const reason& why);
  /// retry_delay after `master` was lost with its link (watch `watch`): followed again if
  /// the registry still names it and its node is up.
  void on_retry(const std::string& group, const port_id& master, std::uint64_t watch);
  /// The earliest waiting send may be due.
  void on_due();

  /// A send that never reached the outbox (it waited for the group's first master, which
  /// did not come, or refused it) is reported as any other: `why`, its port, on_send_failed.
  void fail_unsent(const std::string& group, const port_id& from, bool except, envelope e,
                   reason why);

  std::size_t unconfirmed() const noexcept { return count_.load(std::memory_order_relaxed); }
  std::uint64_t resent() const noexcept { return resent_.load(std::memory_order_relaxed); }
  std::uint64_t failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// Drops what waits, unreported (the service is going).
  void close();

 private:
  struct waiting_send {
    std::uint64_t seq = 0;
    port_id from;
    bool except = false;
    envelope payload;
    std::chrono::steady_clock::time_point due;
    bool handed = false;  ///< it went to a master (which may have ordered it)
    std::size_t weight = 0;
  };
  struct box {
    std::mutex mutex;
    std::uint64_t next = 1;
    std::deque<waiting_send> sends;
    port_id master;      ///< where they went (null: no master now)
    port_id gone;        ///< the last master that died: not sent to while the registry names it
    bool ended = false;  ///< it ended normally: the group is gone (sends wait for a new one)
    bool gap = false;    ///< a send was refused: the master learns from the next send's low
    monitor watch;       ///< on `master`: sent_to_died_msg to the agent
    std::uint64_t watches = 0;  ///< the watches made (the latest is `watch`)
    subscription named;         ///< the registry's entry of the group (after a master died)
  };
  struct failure {
    std::string group;
    waiting_send send;
    reason why;
  };

  std::shared_ptr<box> find(std::string_view group, bool make);
  /// Adds a send to `b` and sends it to its master if it has one (under b.mutex).
  void add(box& b, const port_id& from, bool except, envelope e, std::size_t weight);
  /// After a refusal: sends the oldest kept send again, so that the master learns the
  /// lowest number this node waits for and confirms past the refused one (under b.mutex).
  void nudge(box& b);
  bool full(std::size_t weight) const;
  /// Packs `e` for a master on another node (`far`) and weighs it; ok when it fits.
  errc admit(envelope& e, bool far, std::size_t& weight) const;
  /// Starts the send_due_msg timer unless one runs.
  void arm_timer();
  /// Watches the registry's entry of `group` for `b` (in the agent's port).
  void watch(const std::string& group);
  /// Sends what waits in `b` to `master` and sends there from now on (under b.mutex).
  void use(box& b, const std::string& group, const port_id& master);
  /// A master the registry names for `group` now (not `gone`), or null.
  port_id named_master(const std::string& group, const port_id& gone) const;
  void on_named(const std::string& group, const std::vector<port_id>& ports);
  void drop(const waiting_send& s);
  void report(std::vector<failure>& failures);
  void start_timer(node::duration delay);

  service::state& st_;
  const node::duration timeout_;
  const std::size_t max_count_, max_bytes_;
  const std::function<void(const send_failure&)> on_failed_;
  mutable std::shared_mutex mutex_;  ///< boxes_
  std::unordered_map<std::string, std::shared_ptr<box>, service::state::string_hash,
                     std::equal_to<>>
      boxes_;
  std::atomic<std::size_t> count_{0}, bytes_{0};
  std::atomic<std::uint64_t> resent_{0}, failed_{0};
  std::atomic<bool> timing_{false};  ///< a send_due_msg timer runs
  std::atomic<bool> closed_{false};  ///< close() ran: nothing more is reported or watched
  const std::uint64_t id_;           ///< this outbox among all (a thread's cache key)
};

}  // namespace coport::groups::detail
