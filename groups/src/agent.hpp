#pragma once
/// \file
/// detail::agent — a node's delivery point for groups: it takes the numbered items a master
/// sends to this node, puts them in sequence order (holding items past a gap and asking for
/// what is missing), and hands each one to the node's members of the group; for causal
/// groups it stamps the local members' messages and holds arriving ones until their causal
/// past was delivered here.
/// Trust: an item is taken only from the link of the node that hosts the master it names
/// (`message::origin`; the sending port itself is not known), and a master other than the
/// one followed, or a newer epoch, only once the registry names that master (or this node
/// created it), by at most `max_epoch_step` epochs at once; items that wait for the registry
/// are held (bounded) until it does. Causal messages are taken only from the node of their
/// sender; the local-only kinds (monitor notices, causal sends) only from this node.
/// Threading: runs in its own port (the node-port service `coport.groups`). Lifetime: owned
/// by service::state and its port.
/// May include: state, coport/dispatch_table.hpp, the runtime's public headers.

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "coport/dispatch_table.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class agent {
 public:
  explicit agent(std::shared_ptr<service::state> st);
  /// In the agent's port: watches the nodes (their events then run in that port).
  void start();
  void on_message(message& m);

 private:
  struct local {
    port_id port;
    bool notify = false;
  };
  struct causal_message {
    std::uint64_t view = 0;  ///< the membership item it was stamped after
    stamp vt;
    port_id from;
    bool except = false;
    envelope payload;
  };
  struct group {
    std::uint64_t epoch = 0;
    std::uint64_t last = 0;  ///< the last item delivered here
    port_id master;
    ordering order = ordering::total;
    std::vector<port_id> view;           ///< every member, in join order
    std::vector<local> locals;           ///< this node's members, in join order
    std::map<std::uint64_t, item> held;  ///< items past a gap
    std::size_t held_bytes = 0;          ///< their item_weight
    bool asked = false;                  ///< a resend is on its way
    bool unanswered = false;             ///< ... and its answer (a sync) did not come yet
    std::uint64_t ask_token = 0;         ///< the latest ask (its resend_due_msg)
    std::uint64_t asked_at = 0;          ///< `last` when the asks began
    unsigned asks = 0;                   ///< asks since `last` moved
    monitor master_watch;
    std::uint64_t losses = 0;  ///< times the master was lost (its recheck_msg)
    bool link_lost = false;    ///< the latest loss was of the link: looked at when its node is up
    bool came_up = false;      ///< ... which it did since (then the registry is waited for)
    subscription renamed;      ///< ... and when the registry names it again
    // causal groups
    std::uint64_t view_id = 0;              ///< the last membership item applied here (the view)
    stamp delivered;                        ///< per sender: messages delivered here
    std::map<port_id, std::uint64_t> sent;  ///< per local sender: messages stamped here
    std::deque<causal_message> waiting;     ///< not deliverable yet
    std::size_t waiting_bytes = 0;          ///< their weight (causal_message_weight)
  };

  /// What to do with an item of `name` from `master` at `epoch` (its origin checked).
  enum class trust { take, drop, wait };
  trust check_master(const std::string& name, std::uint64_t epoch, const port_id& master);
  bool named(const std::string& name, const port_id& master) const;
  /// Keeps `m` until the registry names its master (or for `hold_time`).
  void hold(const std::string& name, message& m);
  void on_named(const std::string& name, const std::vector<port_id>& ports);
  /// Logs a refused message, at most once a second with a count.
  void refuse(const message& m, const char* why);

  void on_deliver(const std::string& name, std::uint64_t epoch, const port_id& master,
                  ordering order, item it);
  void on_sync(const std::string& name, std::uint64_t epoch, const port_id& master, ordering order,
               std::uint64_t last);
  void on_lost(const std::string& name, std::uint64_t seq);
  /// Asks the master for what follows `last` (again after resend_retry while items wait
  /// past a gap; the members leave after resend_attempts asks without progress).
  void ask(const std::string& name, group& g);
  void on_resend_due(const std::string& name, std::uint64_t token);
  void on_master_died(const std::string& name, const port_id& master, const reason& why);
  void on_recheck(const std::string& name, const port_id& master, std::uint64_t loss,
                  const reason& why);
  void on_node_up(const std::string& id);
  bool watch_again(const std::string& name, group& g);
  void on_csend(const std::string& name, const port_id& from, bool except, envelope e);
  void on_cdeliver(const std::string& name, causal_message cm);
  void apply(const std::string& name, group& g, item& it);
  void hand_out(const std::string& name, group& g, const port_id& from, bool except, envelope& e);
  bool deliverable(const group& g, const causal_message& cm) const;
  void drain_causal(const std::string& name, group& g);
  void follow(const std::string& name, group& g, const port_id& master);
  void forget(const std::string& name, const reason& why);

  /// Items whose master the registry does not name yet.
  struct unconfirmed {
    std::deque<message> held;
    std::size_t bytes = 0;  ///< what `held` weighs (the items' item_weight)
    subscription watch;
  };

  std::shared_ptr<service::state> st_;
  node& n_;
  dispatch_table table_;  ///< the protocol's messages the agent takes (the constructor)
  std::unordered_map<std::string, group> groups_;
  std::unordered_map<std::string, unconfirmed> unconfirmed_;
  std::size_t unconfirmed_bytes_ = 0;  ///< what every `unconfirmed::held` weighs
  refusals refused_;
  subscription node_events_;  ///< node ups: a master lost with its link may be back
};

}  // namespace coport::groups::detail
