#pragma once
/// \file
/// detail::senders — what a group's master (and each standby, so that it can take over)
/// knows of the streams that send to the group: per stream (a node's groups agent, one per
/// incarnation of the node; outbox.hpp), which of its message numbers were numbered in the
/// group's order and which released. A sender sends a message again after a failover, or
/// when the registry names another master, until a master confirms it: a (stream, number)
/// numbered already is confirmed again, not ordered again.
///
/// A stream's messages may arrive out of their order (a node's ports send from several
/// threads, each batching its sends), so each set is a floor (every number at or below it)
/// and the numbers above it. Each send also says the lowest number its sender still waits
/// for: below it the sender wants nothing (confirmed, or given up and reported), so the
/// floors move up to it and a number given up leaves no gap. A master confirms the released
/// floor, so a confirmation never covers a number not released.
///
/// Bounds: a peer names streams of its own node only (the master checks), but may name many:
/// at most `per_node` streams of one node and `limit` in all are kept, the least recently
/// used going first (an honest node has one stream per incarnation, so only the streams of
/// incarnations long gone are forgotten); numbers more than `window` above a floor are
/// refused (not numbered: `numbered` says so, and the master drops the message; its sender
/// sends it again to the next master or reports it). A window is a bitmap: 32 KiB at most.
/// Threading: none (the role's port). Lifetime: a member of the role.
/// May include: the runtime's public headers.

#include <cstdint>
#include <deque>
#include <map>
#include <utility>
#include <vector>

#include "coport/port_id.hpp"

namespace coport::groups::detail {

class senders {
 public:
  static constexpr std::size_t limit = 4096;
  static constexpr std::size_t per_node = 4;
  /// As many as a sender keeps unconfirmed by default (service_options::max_unconfirmed).
  static constexpr std::uint64_t window = std::uint64_t{1} << 18;
  /// Numbers above floors a snapshot carries (a frame's worth: 16 bytes each at most).
  static constexpr std::size_t max_snapshot_above = std::size_t{1} << 16;

  /// True when message `seq` of `stream` was numbered already (or its sender gave it up).
  bool seen(const port_id& stream, std::uint64_t seq) const;
  /// The sender of `stream` waits for no number below `low` (a send says so).
  void waits_from(const port_id& stream, std::uint64_t low);
  /// True when message `seq` of `stream` may be numbered (it is within the window).
  bool fits(const port_id& stream, std::uint64_t seq) const;
  /// Message `seq` of `stream` got the group's next number (it fits).
  void numbered(const port_id& stream, std::uint64_t seq);
  /// The item holding message `seq` of `stream` was released (by a master: it tells the
  /// stream at the next `take_confirmations` when its released floor moved; `tell` false on
  /// a standby).
  void released(const port_id& stream, std::uint64_t seq, bool tell);
  /// True when some stream is to be told what was released.
  bool has_confirmations() const noexcept { return !to_tell_.empty(); }
  /// A message of `stream` seen already came again: tell the stream again what was released.
  void again(const port_id& stream);
  /// Items after the last one a new master had were dropped: message `seq` of `stream`, in
  /// one of them, was never ordered.
  void unnumber(const port_id& stream, std::uint64_t seq);
  /// Every message numbered counts as released (a standby that takes over releases all).
  void release_all();

  /// The streams to tell, with their released floor (and forgets whom to tell).
  std::vector<std::pair<port_id, std::uint64_t>> take_confirmations();
  /// What a new standby starts from: what was released, per stream (floors, and the numbers
  /// above them as (stream, number) pairs).
  struct released_state {
    std::vector<port_id> streams;
    std::vector<std::uint64_t> floors;
    std::vector<port_id> above_streams;
    std::vector<std::uint64_t> above;
  };
  released_state snapshot() const;
  /// A new standby's start (replaces what it had), within the bounds.
  void load(const released_state& s);
  void clear();

  std::size_t size() const noexcept { return streams_.size(); }

 private:
  /// Numbers: every one up to `floor`, and those set in the bitmap above it (bit i of
  /// `words` is number base + i; base - 1 is a multiple of 64, at most floor).
  struct numbers {
    std::uint64_t floor = 0;
    std::uint64_t base = 1;
    std::deque<std::uint64_t> words;
    bool has(std::uint64_t n) const;
    /// false (nothing done) when `n` is past the window.
    bool add(std::uint64_t n);
    void raise(std::uint64_t new_floor);
    /// Every number above the floor.
    std::vector<std::uint64_t> above() const;
    /// Number `n` (above the floor) is not there after all.
    void remove(std::uint64_t n);
  };
  struct entry {
    numbers numbered, released;
    std::uint64_t used = 0;  ///< when it was last numbered or seen (a counter)
    bool tell = false;       ///< to be told at the next take_confirmations
  };
  entry& find_or_make(const port_id& stream);
  /// The entry of `stream` or null (the last one found is cached: a burst is one stream's).
  entry* lookup(const port_id& stream) const;
  void evict(std::uint32_t node_number);
  void mark(const port_id& stream, entry& e);

  std::map<port_id, entry> streams_;
  mutable port_id cached_stream_;
  mutable entry* cached_ = nullptr;  ///< streams_'s entry of cached_stream_ (null: none)
  std::vector<port_id> to_tell_;
  std::uint64_t clock_ = 0;
};

}  // namespace coport::groups::detail
