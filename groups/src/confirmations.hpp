#pragma once
/// \file
/// detail::confirmations — when a group's master tells the streams what it released: a
/// confirmation frees the sender's copies and needs no hurry, so one goes per stream for
/// many messages, once confirm_batch wait (confirm_msg to itself at once) or confirm_delay
/// after the first (the timer). Which streams, and whether a confirmation may go yet, is
/// the master's (senders.hpp; after a takeover, every standby must hold what is confirmed).
/// Threading: in the master's port. Lifetime: a member of group_master, whose self it refers
/// to (set when the role starts).
/// May include: state, protocol, the runtime's public headers.

#include <cstddef>
#include <cstdint>

#include "protocol.hpp"
#include "state.hpp"

namespace coport::groups::detail {

class confirmations {
 public:
  confirmations(node& n, const port_id& self) : n_{n}, self_{self} {}

  /// A released message (or one that came again) waits to be confirmed.
  void later();
  /// confirm_msg came (`now`: the one sent at once, else the timer's): what waits is
  /// confirmed now, and the count starts again.
  void due(std::uint64_t now) {
    (now ? sent_ : timed_) = false;
    waiting_ = 0;
  }

 private:
  node& n_;
  const port_id& self_;
  std::size_t waiting_ = 0;  ///< released messages not confirmed yet
  bool sent_ = false;        ///< a confirm_msg to itself is on its way
  bool timed_ = false;       ///< ... or due (the timer)
};

}  // namespace coport::groups::detail
