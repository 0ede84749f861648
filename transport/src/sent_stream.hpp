#pragma once
/// \file
/// transport::detail::sent_stream — what one node has put on its stream to another since
/// the channel's resume frame and the other has not acknowledged yet, kept so that a new
/// channel between the same two incarnations carries on where the broken one stopped
/// (README "Links that survive a short reset").
///
/// The stream is every frame a channel writes after the resume frames (messages, control
/// frames, fragments, heartbeats, acks), counted in bytes from 0. The receiver counts the
/// whole frames it has taken and acknowledges them (frame.hpp, ack); on a new channel each
/// side tells the other what it took (frame.hpp, resume) and the other replays the rest,
/// then the large records it had not finished. A channel writes into its stream under its
/// write lock, in the order the bytes go on the wire; once the channel has ended, its peer
/// takes the stream and hands it to the next channel.
///
/// Threading: none of its own (the owning channel's lock, or the peer's once taken).
/// Lifetime: a channel's, then its peer's while the link waits, then the next channel's.
/// May include: the standard library only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace coport::transport::detail {

/// A large message record going out in fragments (frame.hpp): its bytes, its number on the
/// stream, and how many of them have gone.
struct pending_record {
  std::vector<std::byte> bytes;
  std::uint64_t id = 0;
  std::size_t sent = 0;
};

class sent_stream {
 public:
  /// Keeps at most `limit` unacknowledged bytes; past it the stream can no longer be
  /// resumed (it keeps nothing more, and says so by `whole()`).
  explicit sent_stream(std::size_t limit) : limit_{limit} {}

  /// Appends bytes that went on the stream (in its order).
  void append(std::span<const std::byte> bytes);
  /// The peer has taken the first `n` bytes: they are forgotten. False if it says more than
  /// was sent (a lie); an older acknowledgement than the last is ignored.
  bool acknowledge(std::uint64_t n);
  /// Bytes acknowledged, and bytes sent, since the stream began.
  std::uint64_t acknowledged() const noexcept { return base_; }
  std::uint64_t end() const noexcept { return end_; }
  /// Nothing unacknowledged was dropped: the stream can be resumed.
  bool whole() const noexcept { return whole_; }
  /// Appends to `out` the bytes from `from` (acknowledged() <= from <= end()) to the end.
  void copy_from(std::uint64_t from, std::vector<std::byte>& out) const;

  /// The large records whose fragments had not all gone when the channel ended, and the
  /// number of the next one (record numbers go on across channels).
  std::deque<pending_record> unfinished;
  std::uint64_t next_record = 1;

 private:
  static constexpr std::size_t block = 64 << 10;
  static constexpr std::size_t first_block = 4 << 10;  ///< a new link's first block's room
  std::size_t limit_;
  std::deque<std::vector<std::byte>> blocks_;   ///< each up to `block` bytes
  std::vector<std::vector<std::byte>> spare_;   ///< freed blocks, kept for the next ones
                                                ///< (as many as unacknowledged bytes fill, +1)
  static constexpr std::size_t max_spare = 32;  ///< 2 MiB: a fast stream's acks apart
  std::size_t skip_ = 0;                        ///< acknowledged bytes at the front block's start
  std::uint64_t base_ = 0, end_ = 0;
  bool whole_ = true;
};

}  // namespace coport::transport::detail
