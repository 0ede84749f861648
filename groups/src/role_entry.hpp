#pragma once
/// \file
/// detail::role_entry — a group role's entry in the node's tables (service::state): the
/// role ports the service ends when it stops, and the one role per group that speaks for
/// the node (its epoch, master or not: the agent sends it the group's votes and questions,
/// and a node promises no epoch older than its role's), and a master's registration by
/// `create`. A master and a standby of another
/// epoch may both live on a node for a moment: the newer one takes the entry over, and the
/// older one is replaced.
/// Threading: the tables under the state's mutex; called from the role's port. Lifetime: a
/// member of group_master, whose self it refers to (set when the role starts).
/// May include: state, the runtime's public headers.

#include <cstdint>
#include <string>

#include "state.hpp"

namespace coport::groups::detail {

class role_entry {
 public:
  /// What a standby that claims the entry finds there (take).
  struct claim {
    std::uint64_t newer = 0;  ///< a newer epoch's role holds it (not taken)
    port_id old;              ///< an older standby held it: it is replaced
  };

  role_entry(service::state& st, const std::string& name, const port_id& self)
      : st_{st}, name_{name}, self_{self} {}
  role_entry(const role_entry&) = delete;
  role_entry& operator=(const role_entry&) = delete;

  /// Lists the role's port among the node's (the service ends each one when it stops).
  void list();
  /// Records this role at `epoch` (`only_if_mine`: unless another port holds the entry).
  void set(std::uint64_t epoch, bool master, bool only_if_mine = false);
  /// True when another port holds the entry (a newer master's standby).
  bool replaced() const;
  /// A standby at `epoch` takes the entry, unless a role of a newer epoch holds it (an
  /// older master here keeps it: it steps down when it meets the newer epoch).
  claim take(std::uint64_t epoch);
  /// A master that steps down: the registration `create` made for it, if it was created
  /// here, ends (the registry must stop naming it).
  void drop_created();
  /// The port dies: off the list, and the entry goes when it is this role's.
  void remove();

 private:
  service::state& st_;
  const std::string& name_;
  const port_id& self_;
};

}  // namespace coport::groups::detail
