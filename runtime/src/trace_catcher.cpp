// Traces collected across nodes (coport/trace_catcher.hpp): a node serves the spans it records
// to the catchers that ask, through the node-port service `coport.trace`, and traces what
// they ask it to.
//
// The protocol, all of it:
//   catcher -> node port (coport.trace):  want_msg  (catcher port, ports, tags, node (0 or 1),
//                                                    rate, max_hops)
//   service -> catcher:                    span_msg  (kind, trace ID, span ID, parent ID (raw
//                                                    bytes), from, to, tag, size, hop, start
//                                                    and duration in ns, suppressed)
//   the service's own monitor (local only): gone_msg (catcher port, reason)
// A catch ends when the catcher's port dies (its guard kills it): the monitor forgets it and
// ends its filter. A catcher is a port of the node that asks (its link says which), never a
// node port; each asking node has at most max_catchers_per_node of the max_catchers places; a
// filter beyond the bounds is refused; a catcher takes spans only from the node it caught,
// named by the link.
//
// How a span gets out: the node's tracer calls the service's hook (on one of the node's
// threads, one span at a time), which copies the span into `waiting` (bounded) and, when it
// was empty, wakes the service's port; the port sends what waits to its catchers.
#include "coport/trace_catcher.hpp"

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "coport/dispatch_table.hpp"
#include "coport/internal/catching.hpp"
#include "coport/internal/refusals.hpp"
#include "coport/internal/service.hpp"
#include "coport/internal/trace_marks.hpp"
#include "coport/message_type.hpp"

namespace coport {

namespace {

const message_type<port_id, std::vector<port_id>, std::vector<std::string>, std::uint8_t, double,
                   std::uint32_t>
    want_msg{"coport.trace"};
const message_type<std::uint8_t, std::string, std::string, std::string, port_id, port_id,
                   std::string, std::uint64_t, std::uint32_t, std::int64_t, std::int64_t,
                   std::uint64_t>
    span_msg{"coport.trace.span"};
const message_type<port_id, reason> gone_msg{"coport.trace.gone", local_only};

/// Why `f` is beyond the service's bounds, or null.
const char* beyond_bounds(const std::vector<port_id>& ports, const std::vector<std::string>& tags,
                          double rate, std::uint32_t max_hops) {
  if (ports.size() > trace_service::max_filter_names ||
      tags.size() > trace_service::max_filter_names) {
    return "its filter names too many ports or tags";
  }
  for (const auto& t : tags) {
    if (t.size() > trace_service::max_tag) return "its filter names a tag too long";
  }
  if (!(rate > 0) || rate > trace_service::max_rate || !std::isfinite(rate)) {
    return "its rate is out of range";
  }
  if (max_hops < 1 || max_hops > detail::max_trace_hops) return "its max_hops is out of range";
  return nullptr;
}

template <std::size_t N>
std::string raw(const std::array<std::uint8_t, N>& id) {
  return std::string{reinterpret_cast<const char*>(id.data()), N};
}

template <std::size_t N>
bool unraw(const std::string& s, std::array<std::uint8_t, N>& id) {
  if (s.size() != N) return false;
  for (std::size_t i = 0; i < N; ++i) id[i] = static_cast<std::uint8_t>(s[i]);
  return true;
}

}  // namespace

struct trace_service::state : std::enable_shared_from_this<state> {
  explicit state(node& n) : owner{n}, own_id{n.id()} {}

  node& owner;
  const std::string own_id;
  port_id self_port;     // set by open_service
  subscription service;  // the node-port tag

  // Shared between the hook and the port.
  detail::waiting_list<span> waiting{max_waiting};

  // The port's context only.
  struct catch_entry {
    monitor watch;
    subscription filter;  // empty when its filter names nothing
  };
  std::map<port_id, catch_entry> catchers;
  detail::catcher_places places{max_catchers, max_catchers_per_node};

  // The hook, while there are catchers: set and ended by the port, ended for good by the
  // service's destructor (which waits for a call in progress).
  std::mutex hook_mutex;
  subscription hook;
  bool closed = false;

  void end_hook(bool for_good) {
    subscription h;
    {
      std::lock_guard lock{hook_mutex};
      h = std::move(hook);
      closed = closed || for_good;
    }
    h.cancel();
  }
  detail::refusals refused{"runtime", own_id, "the trace service", "the trace protocol"};
  dispatch_table table = make_table();

  dispatch_table make_table() {
    dispatch_table t;
    t.on(want_msg, [this](message& m, port_id& catcher, std::vector<port_id>& ports,
                          std::vector<std::string>& tags, std::uint8_t& whole_node, double& rate,
                          std::uint32_t& max_hops) {
      if (whole_node > 1) return refused.note(m, "its node flag is neither 0 nor 1");
      if (const char* why = beyond_bounds(ports, tags, rate, max_hops)) {
        return refused.note(m, why);
      }
      if (catchers.count(catcher)) return refused.note(m, "its catcher catches already");
      if (const char* why = places.admit(m, catcher, self_port, owner, false)) {
        return refused.note(m, why);
      }
      trace_filter f{std::move(ports), std::move(tags), whole_node == 1, rate, max_hops};
      catch_entry c{owner.mon(catcher, self_port, gone_msg, catcher), {}};
      if (!f.ports.empty() || !f.tags.empty() || f.node) c.filter = trace(owner, f);
      catchers.emplace(catcher, std::move(c));
      std::lock_guard lock{hook_mutex};
      if (!hook && !closed) {
        hook = on_span(owner, [weak = weak_from_this()](const span& s) {
          if (auto self = weak.lock()) self->take(s);
        });
      }
    });
    t.on(gone_msg, [this](message&, port_id& catcher, reason&) {
      if (catchers.erase(catcher)) places.release(catcher);
      if (catchers.empty()) end_hook(false);
    });
    return t;
  }
  void start() {}
  void on_message(message& m) { refused.take(table, m); }

  /// The hook: copies, and wakes the port when it was idle.
  void take(const span& s) {
    if (waiting.add([&] { return s; })) {
      owner.peval(self_port, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->send_waiting();
      });
    }
  }

  /// In the port's context: what waits goes to every catcher.
  void send_waiting() {
    auto [spans, dropped] = waiting.take();
    for (auto& s : spans) {
      s.suppressed += std::exchange(dropped, 0);
      for (const auto& entry : catchers) {
        owner.snd(entry.first, span_msg, static_cast<std::uint8_t>(s.kind), raw(s.trace_id),
                  raw(s.span_id), raw(s.parent_id), s.from, s.to, s.tag,
                  static_cast<std::uint64_t>(s.size), s.hop,
                  static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                s.start.time_since_epoch())
                                                .count()),
                  static_cast<std::int64_t>(s.duration.count()), s.suppressed);
      }
    }
  }
};

trace_service::trace_service(node& n) : node_{n}, state_{std::make_shared<state>(n)} {
  detail::open_service(n, want_msg.tag(), state_);
}

trace_service::~trace_service() {
  state_->end_hook(true);  // no span is taken after this
  detail::close_service(node_, state_);
}

subscription catch_traces(node& n, std::string_view node_id, const trace_filter& filter,
                          std::function<void(const span&)> on_span) {
  if (!valid_node_id(node_id)) {
    throw std::invalid_argument{"coport: catch_traces: '" + std::string{node_id} +
                                "' is not a node ID"};
  }
  if (!on_span) throw std::invalid_argument{"coport: catch_traces: no callback"};
  if (const char* why = beyond_bounds(filter.ports, filter.tags, filter.rate, filter.max_hops)) {
    throw std::invalid_argument{std::string{"coport: catch_traces: "} + why};
  }
  port_id catcher = detail::catcher_port(
      n, node_id, [fn = std::move(on_span), caught = std::string{node_id}](message& m) {
        if (!span_msg.matches(m)) return;  // nothing else is sent here
        auto& [kind, trace_id, span_id, parent_id, from, to, tag, size, hop, start_ns, duration_ns,
               suppressed] = span_msg.values(m);
        span s;
        if (kind > static_cast<std::uint8_t>(span_kind::handle)) return;
        s.kind = static_cast<span_kind>(kind);
        if (!unraw(trace_id, s.trace_id) || !unraw(span_id, s.span_id) ||
            !unraw(parent_id, s.parent_id)) {
          return;
        }
        s.node = caught;  // the link's word, not the span's
        s.from = from;
        s.to = to;
        s.tag = tag;
        s.size = static_cast<std::size_t>(size);
        s.hop = hop;
        s.start = std::chrono::system_clock::time_point{
            std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::nanoseconds{start_ns})};
        s.duration = std::chrono::nanoseconds{duration_ns};
        s.suppressed = suppressed;
        fn(s);
      });
  n.snd(port_id{node_id, 0}, want_msg, catcher, filter.ports, filter.tags,
        static_cast<std::uint8_t>(filter.node ? 1 : 0), filter.rate, filter.max_hops);
  return subscription{[&n, catcher] { n.kil(catcher); }};
}

}  // namespace coport
