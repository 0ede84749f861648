#pragma once
/// \file
/// coport::transport::memory_link — two transports joined in one process by in-memory
/// channels (tests, benchmarks, and nodes embedded side by side).
///
/// Bytes written on one side reach the other side's protocol as a job posted to that
/// node's executor, so a deterministic node handles them in its `step()`s like any other
/// job; with `manual` delivery they wait until the test calls `hand_over` (to step frame by
/// frame). Breaking the link drops what is still in flight and ends both ends (a prefix of
/// the stream arrived, nothing after); a channel closed by its protocol ends after what it
/// wrote before (TCP's close: a bye or a refusal still arrives).
/// Threading: thread-safe. Lifetime: shared by both channels; keep the handle to break it.

#include <cstddef>
#include <memory>
#include <string>

#include "coport/transport/transport.hpp"

namespace coport::transport {

/// An in-memory connection between two transports.
class memory_link {
 public:
  /// Which way bytes flow.
  enum class direction { a_to_b, b_to_a };

  /// Connects `a` and `b`; with `manual`, bytes wait for `hand_over`.
  static std::shared_ptr<memory_link> connect(endpoint& a, endpoint& b, bool manual = false);

  /// Ends the link now: both sides see it break with `why`; bytes in flight are lost.
  void break_link(const std::string& why);
  /// The same, as a reset (TCP's RST): the two nodes' link waits to resume on a new
  /// connection (transport_options::resume_window).
  void reset_link(const std::string& why);
  /// Both ends have been told the link ended (a break, a reset or a close, both ways).
  bool ended() const;
  /// Manual mode: hands up to `frames` whole frames waiting in direction `d` to the
  /// receiving protocol; returns how many were handed over.
  std::size_t hand_over(direction d, std::size_t frames = 1);
  /// Whole frames waiting in direction `d`.
  std::size_t waiting(direction d) const;
  /// Manual mode: hands over everything waiting, both ways; returns the frames handed over.
  std::size_t hand_over_all();

  struct pipe;
  memory_link() = default;  ///< use connect
  ~memory_link();

 private:
  std::shared_ptr<pipe> ab_, ba_;
};

}  // namespace coport::transport
