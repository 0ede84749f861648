#pragma once
/// \file
/// detail::trace_mark — what a traced message carries beside its block (coport/trace.hpp),
/// and the process's table of them.
///
/// A block of kind `traced` has one entry here, keyed by its address: the trace context it
/// carries (its parent is the span that sent it), the port that sent it and, for a message
/// that came over a link, its size on the wire. The handler run that takes the block takes
/// the mark (`take_trace`), and so does a transport that writes the block to another node;
/// a block destroyed with its mark (dropped) forgets it (destroy_message). The table holds
/// at most coport::max_marked entries, of which at most max_marks_per_origin came with one
/// peer's messages: beyond, a message goes unmarked (counted).
/// Part of the runtime's seam for a transport (link_seam.hpp).
/// Threading: thread-safe (one mutex, taken only for traced messages). Lifetime: the process.
/// May include: the runtime's public headers and coport/detail/message_block.hpp.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "coport/detail/message_block.hpp"
#include "coport/message.hpp"
#include "coport/port_id.hpp"
#include "coport/trace.hpp"

namespace coport::detail {

/// The mark of a traced message.
struct trace_mark {
  /// Its trace, its parent span, its hop (messages since the root) and where the chain ends.
  trace_context context;
  /// The port whose handler sent it (null: none, or a port of another node unnamed).
  port_id from;
  /// Its size on the wire when it came over a link (0: made on this node).
  std::size_t size = 0;
  /// The node whose link marked it (its interned number; 0: marked on this node): at most
  /// max_marks_per_origin marks of one such node are in the table at once.
  std::uint32_t origin = 0;
};

/// Marks one peer's messages may hold in the process's table at once (of coport::max_marked).
inline constexpr std::size_t max_marks_per_origin = 4096;

/// Marks block `n`, a user message, with `m` (its kind becomes `traced`); false, and `n` stays
/// as it was, when the table is full or `n` is no unmarked user message.
bool mark_trace(message_block* n, const trace_mark& m) noexcept;
/// The mark of block `n` (its kind is `user` again), or nothing when it has none.
std::optional<trace_mark> take_trace(message_block* n) noexcept;
/// The same for a message.
inline std::optional<trace_mark> take_trace(message& m) noexcept {
  message_block* n = m.get_block();
  if (!n || n->kind != message_kind::traced) [[likely]]
    return std::nullopt;
  return take_trace(n);
}
/// Messages left unmarked because the table was full (or their peer's share of it), since
/// the process started.
std::size_t unmarked_traces() noexcept;

/// Random IDs for traces and spans (never all zeros). Not secrets: only unique.
std::array<std::uint8_t, 16> new_trace_id() noexcept;
std::array<std::uint8_t, 8> new_span_id() noexcept;

/// The most hops a trace may last (a peer's word is clamped to it).
inline constexpr std::uint32_t max_trace_hops = 10000;

}  // namespace coport::detail
