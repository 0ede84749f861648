#pragma once
/// \file
/// transport::reassembly — large messages arriving in fragments on one channel, and the
/// messages for the same port that wait behind them (so that a port still receives in the
/// order its peer sent: a large message's first fragment holds its place in the stream).
///
/// Bounds (a peer's fragments are its own to send, not to make this node hold without end):
/// at most max_open_records records open at once, each at most the maximum frame and all of
/// them at most twice it; at most max_held messages waiting behind them. A fragment that
/// breaks a rule throws wire::decode_error (the receiver ends the link).
/// Threading: none (its receiver's). Lifetime: its receiver's.
/// May include: frame, the runtime's public headers (message, port_id), the standard library.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "frame.hpp"

namespace coport::transport {

class reassembly {
 public:
  /// A message in its port's line: decoded (or refused, saying why), ready to go.
  struct entry {
    port_id to;
    bool current = false;  ///< for this incarnation of the node (else dropped on delivery)
    message msg;
    std::string refused;
  };
  /// A record whose last fragment arrived: its bytes (a large_record_head, then values).
  struct whole {
    std::uint64_t id = 0;
    std::uint64_t target = 0;  ///< the local port number its first fragment named
    std::vector<std::byte> bytes;
  };
  /// What `hold` did with a message that arrived whole.
  enum class held { no, yes, full };

  explicit reassembly(std::size_t max_frame) noexcept : max_frame_{max_frame} {}

  /// Takes one fragment; returns the record once its last fragment is in.
  std::optional<whole> add(const detail::fragment_frame& f);
  /// A message for port `local` that arrived whole: `no` (no record is open for that port:
  /// it goes now), `yes` (it waits in the line, taken from `e`), or `full` (max_held wait).
  held hold(std::uint64_t local, entry& e);
  /// Record `id` for port `target` decoded into `e`: its place in the line is filled, and what
  /// is ready at the front of the line is moved to `ready`, in order.
  void fill(std::uint64_t target, std::uint64_t id, entry e, std::deque<entry>& ready);

 private:
  struct open_record {
    std::uint64_t target;
    std::size_t total;
    std::vector<std::byte> bytes;
  };
  struct waiting {
    std::uint64_t record;  ///< the record it is, or 0 for a message that arrived whole
    bool ready;
    entry e;
  };

  std::size_t max_frame_;  // not const: a resumed link moves its reassembly
  std::unordered_map<std::uint64_t, open_record> records_;        ///< by record ID
  std::size_t record_bytes_ = 0;                                  ///< announced by open records
  std::unordered_map<std::uint64_t, std::deque<waiting>> lines_;  ///< by local port
  std::size_t waiting_count_ = 0;
};

}  // namespace coport::transport
