// A node's tracing (tracer.hpp), and the public functions of coport/trace.hpp that switch it
// on and take its spans.
#include "tracer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "coport/internal/log.hpp"
#include "coport/node.hpp"
#include "node_core.hpp"
#include "thread_state.hpp"

namespace coport::detail {

using context_t = context;  // thread_state's, beside the local `context`s below

bool trace_filter_on::matches(const port_id& to, tag t) const noexcept {
  if (filter.node) return true;
  for (const port_id& p : filter.ports) {
    if (p.node_number() == to.node_number() && p.local() == to.local() &&
        (p.incarnation() == 0 || to.incarnation() == 0 || p.incarnation() == to.incarnation())) {
      return true;
    }
  }
  if (!filter.tags.empty()) {
    const std::string_view name = t.name();
    for (const std::string& x : filter.tags) {
      if (x == name) return true;
    }
  }
  return false;
}

/// A filter's bucket of roots.
struct tracer::filter_entry {
  std::uint64_t id = 0;
  double rate = 0;
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled;

  /// One more root within the rate (a bucket of one second's worth).
  bool admit(std::chrono::steady_clock::time_point now) noexcept {
    const double seconds = std::chrono::duration<double>(now - refilled).count();
    refilled = now;
    tokens = std::min(rate, tokens + seconds * rate);
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  }
};

namespace {

/// The hook this thread is calling (a hook that removes itself does not wait for itself).
thread_local const void* calling_hook = nullptr;

/// Tags of the services that carry tracing and logs themselves: sending them never starts a
/// trace (a catcher of a node traced whole would otherwise trace the spans sent to it, and
/// each of those spans would make another).
bool carries_observations(tag t) noexcept {
  const std::string_view name = t.name();
  return name.starts_with("coport.trace") || name.starts_with("coport.logs");
}

}  // namespace

tracer::tracer(node_core& core, double rate)
    : core_{core}, rate_{rate}, tokens_{rate}, refilled_{std::chrono::steady_clock::now()} {}

tracer::~tracer() = default;

std::uint64_t tracer::add_filter(const trace_filter& f) {
  std::lock_guard lock{mutex_};
  const std::uint64_t id = next_id_++;
  auto now = filters_.load();
  auto next =
      std::make_shared<std::vector<trace_filter_on>>(now ? *now : std::vector<trace_filter_on>{});
  next->push_back(trace_filter_on{id, f});
  buckets_.push_back(filter_entry{id, f.rate, f.rate, std::chrono::steady_clock::now()});
  filters_.store(std::move(next));
  filtering_.store(true, std::memory_order_relaxed);
  core_.sends().filters_changed(true);  // cached lookups miss from now on: sends see it
  return id;
}

void tracer::remove_filter(std::uint64_t id) noexcept {
  std::lock_guard lock{mutex_};
  auto it = std::find_if(buckets_.begin(), buckets_.end(),
                         [id](const filter_entry& b) { return b.id == id; });
  if (it == buckets_.end()) return;
  buckets_.erase(it);
  try {
    auto next = std::make_shared<std::vector<trace_filter_on>>();
    for (const auto& f : *filters_.load()) {
      if (f.id != id) next->push_back(f);
    }
    filtering_.store(!next->empty(), std::memory_order_relaxed);
    core_.sends().filters_changed(!next->empty());
    filters_.store(std::move(next));
  } catch (...) {  // out of memory: the filter matches on, but starts no trace (no bucket)
  }
}

std::uint64_t tracer::add_hook(std::function<void(const span&)> hook) {
  std::lock_guard lock{mutex_};
  const std::uint64_t id = next_id_++;
  hooks_.emplace_back(id, std::make_shared<hook_entry>(std::move(hook)));
  return id;
}

void tracer::remove_hook(std::uint64_t id) noexcept {
  std::shared_ptr<hook_entry> removed;
  {
    std::lock_guard lock{mutex_};
    for (auto it = hooks_.begin(); it != hooks_.end(); ++it) {
      if (it->first == id) {
        removed = std::move(it->second);
        hooks_.erase(it);
        break;
      }
    }
  }
  if (!removed) return;
  removed->removed.store(true);
  // A drain calling it on another thread ends that call first; not from inside a hook (its
  // own call holds the lock, and two hooks ending each other's guards would wait forever).
  if (calling_hook == nullptr) std::lock_guard wait{removed->calling};
}

void tracer::start(const port_id& to, message_block* n, const port_id* from) noexcept {
  if (carries_observations(n->tag_)) return;
  const auto filters = filters_.load();
  if (!filters) return;
  const trace_filter_on* match = nullptr;
  for (const auto& f : *filters) {
    if (f.matches(to, n->tag_)) {
      match = &f;
      break;
    }
  }
  if (!match) return;
  trace_context context;
  {
    std::lock_guard lock{mutex_};
    auto b = std::find_if(buckets_.begin(), buckets_.end(),
                          [id = match->id](const filter_entry& e) { return e.id == id; });
    if (b == buckets_.end() || !b->admit(std::chrono::steady_clock::now())) return;
    ++roots_;
  }
  context.max_hops = match->filter.max_hops;
  context.trace_id = new_trace_id();
  context.parent_id = new_span_id();  // the root's own span
  port_id sender;
  if (from) {
    sender = *from;
  } else if (const context_t& here = per_thread.current; here.core && here.port) {
    sender = here.core->id_of(here.port);
  }
  if (!mark_trace(n, trace_mark{context, sender, 0})) return;
  span s;
  s.kind = span_kind::send;
  s.trace_id = context.trace_id;
  s.span_id = context.parent_id;
  try {
    s.node = core_.id();
    s.tag = std::string{n->tag_.name()};
  } catch (...) {
    return;
  }
  s.from = sender;
  s.to = to;
  s.start = std::chrono::system_clock::now();
  record(std::move(s));
}

void tracer::mark_sent(message_block* n, const trace_context& outgoing) noexcept {
  if (outgoing.hop >= outgoing.max_hops) return;  // the chain ends here
  port_id from;
  const context_t& here = per_thread.current;
  if (here.core && here.port) from = here.core->id_of(here.port);
  mark_trace(n, trace_mark{outgoing, from, 0});
}

bool tracer::begin(port_impl* p, message_block* n, running& r) noexcept {
  std::optional<trace_mark> m = take_trace(n);
  if (!m) return false;
  try {
    r.s.node = core_.id();
    r.s.tag = std::string{n->tag_.name()};
  } catch (...) {
    return false;
  }
  r.s.kind = span_kind::handle;
  r.s.trace_id = m->context.trace_id;
  r.s.span_id = new_span_id();
  r.s.parent_id = m->context.parent_id;
  r.s.from = m->from;
  r.s.to = core_.id_of(p);
  r.s.size = m->size;
  r.s.hop = m->context.hop;
  r.s.start = std::chrono::system_clock::now();
  r.started = std::chrono::steady_clock::now();
  r.outgoing = m->context;
  r.outgoing.parent_id = r.s.span_id;
  r.outgoing.hop = m->context.hop + 1;
  r.saved = std::exchange(per_thread.outgoing_trace, &r.outgoing);
  return true;
}

void tracer::end(running& r) noexcept {
  per_thread.outgoing_trace = r.saved;
  r.s.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - r.started);
  record(std::move(r.s));
}

void tracer::record(span s) noexcept {
  std::lock_guard lock{mutex_};
  if (hooks_.empty()) return;  // nobody takes spans: none is kept
  const auto now = std::chrono::steady_clock::now();
  tokens_ =
      std::min(rate_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate_);
  refilled_ = now;
  if (tokens_ < 1 || waiting_.size() >= max_waiting_spans) {
    ++suppressed_;
    ++unrecorded_;
    return;
  }
  try {
    s.suppressed = unrecorded_;
    waiting_.push_back(std::move(s));
  } catch (...) {
    ++suppressed_;
    ++unrecorded_;
    return;
  }
  tokens_ -= 1;
  unrecorded_ = 0;
  ++spans_;
  if (!draining_) {
    draining_ = true;
    try {
      core_.post_job([this] { drain(); });
    } catch (...) {
      draining_ = false;
    }
  }
}

void tracer::drain() {
  for (;;) {
    std::vector<span> batch;
    std::vector<std::shared_ptr<hook_entry>> hooks;
    {
      std::lock_guard lock{mutex_};
      if (waiting_.empty()) {
        draining_ = false;
        return;
      }
      batch.swap(waiting_);
      for (auto& h : hooks_) hooks.push_back(h.second);
    }
    for (const span& s : batch) {
      for (auto& h : hooks) {
        std::lock_guard calling{h->calling};
        if (h->removed.load()) continue;
        const void* outer = std::exchange(calling_hook, h.get());  // drains may nest
        try {
          h->fn(s);
        } catch (const std::exception& e) {
          core_.log_error("a span hook", e.what());
        } catch (...) {
          core_.log_error("a span hook", "unknown exception");
        }
        calling_hook = outer;
      }
    }
  }
}

trace_stats tracer::stats() const {
  std::lock_guard lock{mutex_};
  return trace_stats{buckets_.size(), roots_, spans_, suppressed_, unmarked_traces()};
}

}  // namespace coport::detail

namespace coport {

subscription trace(node& n, trace_filter filter) {
  if (filter.ports.empty() && filter.tags.empty() && !filter.node) {
    throw std::invalid_argument{"coport: trace: the filter names no port, no tag and not the node"};
  }
  if (!(filter.rate > 0) || !std::isfinite(filter.rate)) {
    throw std::invalid_argument{
        fmt::format("coport: trace: the rate is {}; it must be positive", filter.rate)};
  }
  if (filter.max_hops < 1 || filter.max_hops > detail::max_trace_hops) {
    throw std::invalid_argument{fmt::format("coport: trace: max_hops is {}; 1 to {}",
                                            filter.max_hops, detail::max_trace_hops)};
  }
  const auto& core = detail::node_access::core(n);
  const std::uint64_t id = core->tracer().add_filter(filter);
  return subscription{[weak = std::weak_ptr<detail::node_core>{core}, id] {
    if (auto c = weak.lock()) c->tracer().remove_filter(id);
  }};
}

subscription on_span(node& n, std::function<void(const span&)> hook) {
  if (!hook) throw std::invalid_argument{"coport: on_span: no hook"};
  const auto& core = detail::node_access::core(n);
  const std::uint64_t id = core->tracer().add_hook(std::move(hook));
  return subscription{[weak = std::weak_ptr<detail::node_core>{core}, id] {
    if (auto c = weak.lock()) c->tracer().remove_hook(id);
  }};
}

trace_stats tracing_stats(node& n) {
  return detail::node_access::core(n)->tracer().stats();
}

std::optional<trace_context> current_trace() noexcept {
  if (const trace_context* t = detail::per_thread.outgoing_trace) return *t;
  return std::nullopt;
}

trace_scope::trace_scope(const trace_context& context) noexcept
    : state_{context, detail::per_thread.outgoing_trace} {
  // What a peer would refuse is not sent: the chain's limit is clamped to coport's.
  state_.context.max_hops = std::min(state_.context.max_hops, detail::max_trace_hops);
  detail::per_thread.outgoing_trace = &state_.context;
}

trace_scope::~trace_scope() {
  detail::per_thread.outgoing_trace = static_cast<const trace_context*>(state_.saved);
}

}  // namespace coport
