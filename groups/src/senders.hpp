#pragma once
/// \file
/// detail::senders — what a group's master (and each standby, so that it can take over)
/// knows of the streams that send to the group: per stream (a node's groups agent, one per
/// incarnation of the node; outbox.hpp), the last of its messages numbered and the last
/// released. A sender sends a message again after a failover, or when the registry names
/// another master, until a master confirms it: a (stream, number) at or below the last
/// numbered is one this group ordered already, and is confirmed again, not ordered again.
///
/// A stream numbers its messages 1, 2, 3... and sends them in order; a number past the last
/// numbered plus one is taken (the sender gave up on the ones between: they were reported
/// to it as failed, and never reached this master's line of succession).
///
/// Bounds: a peer names streams of its own node only (the master checks), but may name many:
/// at most `per_node` streams of one node and `limit` in all are kept, the least recently
/// used going first (an honest node has one stream per incarnation, so only the streams of
/// incarnations long gone are forgotten).
/// Threading: none (the role's port). Lifetime: a member of the role.
/// May include: the runtime's public headers.

#include <cstdint>
#include <map>
#include <vector>

#include "coport/port_id.hpp"

namespace coport::groups::detail {

class senders {
 public:
  static constexpr std::size_t limit = 4096;
  static constexpr std::size_t per_node = 4;

  /// True when message `seq` of `stream` was numbered already.
  bool seen(const port_id& stream, std::uint64_t seq) const;
  /// Message `seq` of `stream` got the group's next number.
  void numbered(const port_id& stream, std::uint64_t seq);
  /// The item holding message `seq` of `stream` was released (by a master: it tells the
  /// stream at the next `take_confirmations`; `tell` false on a standby).
  void released(const port_id& stream, std::uint64_t seq, bool tell);
  /// A message of `stream` seen already came again: tell the stream again what was released.
  void again(const port_id& stream);
  /// Items after the last one a new master had were dropped: message `seq` of `stream`, in
  /// one of them, was never ordered (so neither was any later one of the stream).
  void unnumber(const port_id& stream, std::uint64_t seq);
  /// Every message numbered counts as released (a standby that takes over releases all).
  void release_all();

  /// The streams to tell, with their last released message (and forgets whom to tell).
  std::vector<std::pair<port_id, std::uint64_t>> take_confirmations();
  /// What a new standby starts from: the streams and their last released message.
  void snapshot(std::vector<port_id>& streams, std::vector<std::uint64_t>& released) const;
  /// A new standby's start (replaces what it had): at most `limit` entries are taken.
  void load(const std::vector<port_id>& streams, const std::vector<std::uint64_t>& released);
  void clear();

  std::size_t size() const noexcept { return streams_.size(); }

 private:
  struct entry {
    std::uint64_t numbered = 0;
    std::uint64_t released = 0;
    std::uint64_t used = 0;  ///< when it was last numbered or seen (a counter)
    bool tell = false;       ///< to be told at the next take_confirmations
  };
  entry& find_or_make(const port_id& stream);
  void evict(std::uint32_t node_number);

  std::map<port_id, entry> streams_;
  std::vector<port_id> to_tell_;
  std::uint64_t clock_ = 0;
};

}  // namespace coport::groups::detail
