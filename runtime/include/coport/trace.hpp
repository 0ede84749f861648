#pragma once
/// \file
/// Tracing: follow messages through ports and across nodes, switched on at run time.
///
/// ```cpp
/// auto spans = coport::on_span(n, coport::json_lines(std::cout));   // where spans go
/// auto tracing = coport::trace(n, coport::trace_filter{.tags = {"order"}});  // what starts one
/// n.snd(shop, "order", 42);     // traced: a `send` span, then a `handle` span per handler run
/// ```
/// A **trace** starts where a message matches a filter that is on (`trace`): sent on that node
/// to one of the filter's ports, with one of its tags, or any message when the filter names the
/// whole node (`node`); a message arriving from another node untraced is matched the same way.
/// It records a `send` span (the trace's root) and marks the message. The handler run that
/// takes a marked message is a `handle` span; what that handler sends is marked in turn (its
/// child), so one request is followed through every port it reaches, on every node: a marked
/// message that crosses a link carries its context in W3C `traceparent` form (protocol
/// version 4's `trace` frame). A chain ends after `max_hops` messages.
///
/// Off by default, and off costs a flag test per send and per handler run. While on, roots
/// are bounded by each filter's `rate`, and the spans a node records by
/// `node_options::trace_rate` a second (the rest are counted: the next span says how many
/// in `suppressed`); spans reach the hooks (`on_span`) from a queue of at most
/// `max_waiting_spans`, on one of the node's threads, one at a time. A message's mark lives
/// in a process-wide table of at most `max_marked` messages (beyond, messages go unmarked).
///
/// A handler's own context (`current_trace`) can be handed to other systems (an HTTP
/// client's `traceparent` header); `trace_scope` continues a trace that came from elsewhere.
/// The callback of a traced `cal` (and a coroutine its reply resumes) runs in the reply's
/// trace. A coroutine actor's span is the run that queued the message into its mailbox, and
/// what it sends is the child of the run that resumed it. Messages with the tags of the trace
/// and log services never start a trace.
/// Collected across a network by `catch_traces` (coport/trace_catcher.hpp) and `coport trace`.
/// Threading: every function is thread-safe; hooks run on the node's threads, serialised per
/// node. Lifetime: a filter or a hook lasts until its guard ends it or the node ends.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coport/port_id.hpp"
#include "coport/subscription.hpp"

namespace coport {

class node;

/// A W3C trace context: the trace, the span that caused what carries it, its flags
/// (bit 0: sampled); and coport's own two: the message's hop (messages since the trace's root)
/// and the hop after which the chain ends (`traceparent` carries neither).
struct trace_context {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> parent_id{};
  std::uint8_t flags = 1;
  std::uint32_t hop = 0;
  std::uint32_t max_hops = 100;

  /// Both IDs are not all zeros (what W3C requires).
  bool valid() const noexcept;
  /// "00-<32 hex trace ID>-<16 hex parent ID>-<2 hex flags>" (55 characters).
  std::string traceparent() const;
  /// A `traceparent` value (version 00, lowercase hex, IDs not all zeros), or nothing.
  static std::optional<trace_context> from_traceparent(std::string_view text) noexcept;

  friend bool operator==(const trace_context&, const trace_context&) = default;
};

/// What a span is.
enum class span_kind : std::uint8_t {
  send,    ///< a trace's root: the first traced message, where it was sent (or arrived)
  handle,  ///< a handler run on a traced message
};

/// One record of a trace.
struct span {
  span_kind kind = span_kind::handle;
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  std::array<std::uint8_t, 8> parent_id{};  ///< all zeros for a root
  std::string node;                         ///< the node that recorded it
  port_id from;  ///< the port whose handler sent the message (null: outside any port)
  port_id to;    ///< the port the message went to (the handler's port)
  std::string tag;
  /// Bytes on the wire, for a message that crossed a link with its trace; else 0 (made on
  /// this node, or a root started where it arrived).
  std::size_t size = 0;
  std::uint32_t hop = 0;
  std::chrono::system_clock::time_point start;
  std::chrono::nanoseconds duration{0};  ///< 0 for a `send`
  /// Spans this node did not record since its previous one (over its rate, or its queue full).
  std::uint64_t suppressed = 0;
};

/// Lowercase hex of an ID.
std::string to_hex(const std::uint8_t* bytes, std::size_t size);
/// `s` as one line of JSON (no newline): kind, trace_id, span_id, parent_id (hex), node, from,
/// to, tag, size, hop, start (ns since the epoch), duration_ns, suppressed.
std::string to_json(const span& s);
/// A hook that writes each span to `out` as one JSON line (`out` must outlive the hook).
std::function<void(const span&)> json_lines(std::ostream& out);

/// What starts traces on a node.
struct trace_filter {
  std::vector<port_id> ports = {};     ///< messages sent to these ports
  std::vector<std::string> tags = {};  ///< messages with these tags
  bool node = false;                   ///< every message
  double rate = 100;                   ///< new traces a second at most (> 0)
  std::uint32_t max_hops = 100;        ///< a chain ends after this many messages (1 to 10000)
};

/// Starts traces on `n` as `filter` says until the guard ends. Throws std::invalid_argument
/// for a filter that names nothing, a rate that is not positive, or `max_hops` out of range.
subscription trace(node& n, trace_filter filter);
/// Calls `hook` with every span node `n` records, until the guard ends: ending it waits for a
/// call in progress on another thread, unless it is ended from inside a hook (then a call
/// already begun may still finish). Throws std::invalid_argument for an empty hook.
subscription on_span(node& n, std::function<void(const span&)> hook);

/// The context a message sent now from this thread would carry (inside a traced handler run or
/// a trace_scope): its parent is the running span. Nothing otherwise.
std::optional<trace_context> current_trace() noexcept;

/// Continues a trace from elsewhere: what this thread sends while the scope lives is traced as
/// a child of `context` (recorded by the node it is sent on); its max_hops is clamped to
/// 10 000. Scopes nest; a scope must end on the thread and in the run where it began (never
/// across a coroutine's co_await).
class trace_scope {
 public:
  explicit trace_scope(const trace_context& context) noexcept;
  ~trace_scope();
  trace_scope(const trace_scope&) = delete;
  trace_scope& operator=(const trace_scope&) = delete;

 private:
  struct state {
    trace_context context;
    const void* saved;
  } state_;
};

/// Figures of a node's tracing (node::stats has none of them: they are about the operator's
/// switches, not the node's work).
struct trace_stats {
  std::size_t filters = 0;     ///< on now
  std::size_t roots = 0;       ///< traces started here
  std::size_t spans = 0;       ///< recorded
  std::size_t suppressed = 0;  ///< not recorded (rate, queue)
  std::size_t unmarked = 0;    ///< messages left untraced: the process's table was full
};
trace_stats tracing_stats(node& n);

/// Bounds (see the file's comment).
inline constexpr std::size_t max_waiting_spans = 4096;
inline constexpr std::size_t max_marked = 65536;

}  // namespace coport
