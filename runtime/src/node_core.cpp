// The node's lifecycle: identity, threads, ports made and killed, shutdown.
#include "node_core.hpp"

#include <cmath>

#include <fmt/format.h>
#include <array>
#include <asio/post.hpp>
#include <chrono>
#include <random>

#include "coport/internal/log.hpp"

namespace coport::detail {

namespace {

std::string resolve_node_id(const std::string& requested) {
  if (requested.empty() || requested.back() != '/') {
    if (!valid_node_id(requested)) {
      throw std::invalid_argument{fmt::format(
          "coport: node ID '{}' is malformed: use letters, digits and _-.:/ only", requested)};
    }
    return requested;
  }
  static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device device;
  std::mt19937_64 gen{
      (std::uint64_t{device()} << 32) ^ device() ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  std::string id = requested;
  for (int i = 0; i < 10; ++i) id += alphabet[gen() % (sizeof alphabet - 1)];
  if (!valid_node_id(id)) {
    throw std::invalid_argument{fmt::format("coport: node ID prefix '{}' is malformed", requested)};
  }
  return id;
}

constexpr unsigned max_threads = 1024;

std::uint64_t draw_random() {
  std::random_device device;
  std::mt19937_64 gen{
      (std::uint64_t{device()} << 32) ^ device() ^
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())};
  return gen();
}

/// SplitMix64: the seeded draws (node_options::seed).
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t draw(std::uint64_t seed, std::uint64_t what) {
  return seed != 0 ? mix(seed ^ mix(what)) : draw_random();
}

std::uint32_t draw_incarnation(std::uint64_t seed) {
  for (std::uint64_t k = 1;; ++k) {
    auto v = static_cast<std::uint32_t>(draw(seed, k));
    if (v != 0) return v;
  }
}

/// Minted numbers start at a random point of a 63-bit space and count up: two spawning
/// nodes' ranges would have to overlap to collide (the receiver refuses a number in use).
std::uint64_t draw_mint_start(std::uint64_t seed) {
  return draw(seed, 1000) & ~port_table::minted_bit;
}

unsigned worker_count(const node_options& o) {
  if (o.threads != 0) return o.threads;
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

}  // namespace

namespace {

std::atomic<std::uint64_t> next_core_uid{1};

}  // namespace

std::uint64_t next_send_cache_key() noexcept {
  return next_core_uid.fetch_add(1, std::memory_order_relaxed);
}

node_core::node_core(node& owner, node_options options, asio::io_context* external)
    : owner_{owner},
      options_{std::move(options)},
      id_{resolve_node_id(options_.id)},
      uid_{next_core_uid.fetch_add(1, std::memory_order_relaxed)},
      node_number_{node_names().intern(id_)},
      incarnation_{draw_incarnation(options_.seed)},
      started_{std::chrono::steady_clock::now()},
      ports_{options_.seed},
      scheduler_{*this, options_.mode == run_mode::deterministic, worker_count(options_),
                 options_.port_budget},
      timers_{*this, options_.mode == run_mode::deterministic, started_},
      monitors_{*this},
      own_port_{*this},
      remote_{*this, draw_mint_start(options_.seed)},
      sends_{*this, uid_, node_number_, incarnation_, ports_, scheduler_, remote_},
      tracer_{*this, options_.trace_rate} {
  if (!(options_.trace_rate >= 1) || !std::isfinite(options_.trace_rate)) {
    throw std::invalid_argument{fmt::format(
        "coport: node_options.trace_rate is {}; at least 1 span a second", options_.trace_rate)};
  }
  if (external && options_.mode == run_mode::deterministic) {
    throw std::invalid_argument{"coport: an embedded node cannot be deterministic"};
  }
  if (options_.threads > max_threads) {
    throw std::invalid_argument{fmt::format("coport: node_options.threads is {}; at most {}",
                                            options_.threads, max_threads)};
  }
  if (external) {
    io_ = external;
  } else {
    own_io_ = std::make_unique<asio::io_context>(
        options_.mode == run_mode::deterministic ? 1 : static_cast<int>(worker_count(options_)));
    io_ = own_io_.get();
    work_.emplace(io_->get_executor());
  }
  // The node port: slot 0, local number 0. It answers `ping` and `info` (as `cal` requests:
  // the reply port comes last) and logs anything else; it never dies of a bad request.
  ports_.create(
      0, [this](message& m) { own_port_.on_message(m); }, nullptr);
  created_.fetch_add(1, std::memory_order_relaxed);
  live_.fetch_add(1, std::memory_order_relaxed);
  if (options_.log) log_sink_token_ = set_node_log_sink(id_, std::move(options_.log));
}

node_core::~node_core() {
  close_log_sink();
}

void node_core::close_log_sink() noexcept {
  if (log_sink_token_) clear_node_log_sink(id_, std::exchange(log_sink_token_, 0));
}

void node_core::start() {
  if (!own_io_ || deterministic()) return;
  unsigned n = worker_count(options_);
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([io = io_] { io->run(); });
  }
}

port_id node_core::id_of(const port_impl* p) const noexcept {
  return make_port_id(node_number_, p->id.load(std::memory_order_relaxed), incarnation_);
}

port_impl* node_core::create_port(message_handler fallback, std::int32_t extra_refs,
                                  std::unique_ptr<actor_state> actor) {
  return born(ports_.create(extra_refs, std::move(fallback), std::move(actor)));
}

port_impl* node_core::create_minted_port(std::uint64_t local) {
  port_impl* p = ports_.create_minted(local, 1, {});
  return p ? born(p) : nullptr;
}

port_impl* node_core::born(port_impl* p) {
  created_.fetch_add(1, std::memory_order_relaxed);
  live_.fetch_add(1, std::memory_order_relaxed);
  if (shutting_down()) {
    p->add_ref();
    kill(p, reason{"shutdown"});
  }
  return p;
}

port_impl* node_core::acquire(const port_id& p, bool accept_killed) noexcept {
  if (!is_local(p)) return nullptr;
  return ports_.acquire(p.local(), accept_killed);
}

void node_core::release(port_impl* p) noexcept {
  if (p->release_ref_only()) {
    // No sender holds the port now: none is adding to its meter.
    if (std::uint32_t m = p->meter.exchange(0, std::memory_order_relaxed)) meters_.release(m);
    ports_.recycle(p);
  }
}

bool node_core::measure(port_impl* p, std::string name) {
  if (p->meter.load(std::memory_order_relaxed) != 0) return false;
  std::uint32_t m = meters_.attach(id_of(p).to_string(), std::move(name));
  if (m == 0) {
    log(log_level::warn, {"runtime", id_},
        "{} ports are measured already: port {} is not (node::measure)", port_meters::capacity,
        id_of(p).to_string());
    return false;
  }
  std::uint32_t none = 0;
  if (!p->meter.compare_exchange_strong(none, m, std::memory_order_relaxed)) {
    meters_.release(m);  // measured by another thread meanwhile
    return false;
  }
  // From now on senders take the slow path, which counts (release: the meter is set).
  const std::uint8_t was = p->state.fetch_or(port_impl::measured_bit, std::memory_order_acq_rel);
  // Killed meanwhile: its teardown may have looked before the meter was there.
  if (was & port_impl::killed_bit) meters_.unlist(m);
  return true;
}

void node_core::ended(port_impl* p) noexcept {
  // Only shutdown waits, and only for the last port: no lock or wake-up per port death.
  if (live_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    { std::lock_guard lock{ended_mutex_}; }
    ended_cv_.notify_all();
  }
  release(p);  // the table's reference
}

void node_core::kill(port_impl* p, reason why) {
  bool first = false;
  {
    std::lock_guard lock{p->mon_lock};
    if (!(p->state.load(std::memory_order_relaxed) & port_impl::killed_bit)) {
      p->death = std::move(why);
      p->state.fetch_or(port_impl::killed_bit, std::memory_order_release);
      first = true;
    }
  }
  if (!first) {
    release(p);
    return;
  }
  // Wake the port so that it tears down in its own context, after any running handler.
  message_block* wake = make_payload(tag{});
  wake->kind = message_kind::kill;
  sends_.push_then_release(p, wake);
}

void node_core::log_error(const char* what, const char* error) noexcept {
  try {
    log(log_level::error, {"runtime", id_}, "{} threw: {}", what, error);
  } catch (...) {
  }
}

namespace {
constexpr auto deepest_window = std::chrono::seconds{10};
}

void node_core::note_mailbox(port_impl* p, std::size_t depth,
                             std::chrono::steady_clock::time_point now) noexcept {
  std::lock_guard lock{deepest_lock_};
  // Deeper, or the record is old: one sample in 64 runs, and no text made here.
  if (depth <= deepest_.depth && now - deepest_.at < deepest_window) return;
  deepest_ = deepest_mailbox{depth, id_of(p), now};
}

node_stats node_core::stats() const noexcept {
  node_stats s;
  port_id deepest;
  {
    std::lock_guard lock{deepest_lock_};
    if (std::chrono::steady_clock::now() - deepest_.at < deepest_window) {
      s.deepest_mailbox = deepest_.depth;
      deepest = deepest_.port;
    }
  }
  if (deepest) {
    try {
      s.deepest_port = deepest.to_string();
    } catch (...) {
    }
  }
  s.ports_created = created_.load(std::memory_order_relaxed);
  s.ports_alive = live_.load(std::memory_order_relaxed);
  s.messages_dropped = sends_.dropped();
  s.messages_handled = scheduler_.handled();
  s.handler_time = handler_times_.read();
  return s;
}

bool node_core::step() {
  if (scheduler_.step()) return true;
  return io_->poll_one() > 0;
}

void node_core::shutdown() {
  // Refuse before changing anything, so that a refused call leaves the destructor's job intact.
  if (current().core == this) {
    throw std::logic_error{"coport: a node cannot be shut down from one of its own ports"};
  }
  if (own_io_ && !deterministic() && io_->get_executor().running_in_this_thread()) {
    throw std::logic_error{"coport: a node cannot be shut down from one of its own threads"};
  }
  if (shutting_down_.exchange(true, std::memory_order_acq_rel)) return;
  // Timers first, so that a pending `after` cannot hold the node up.
  timers_.cancel_all();

  // Every port but the node port, then the node port.
  ports_.for_each_live([this](port_impl* p) {
    if (p->id.load(std::memory_order_relaxed) == 0) {
      release(p);
    } else {
      kill(p, reason{"shutdown"});
    }
  });
  if (port_impl* np = ports_.acquire(0)) kill(np, reason{"shutdown"});

  // Wait for every port to end; help where no thread of ours runs them.
  auto all_ended = [this] { return live_.load(std::memory_order_acquire) == 0; };
  while (!all_ended()) {
    if (deterministic()) {
      if (!step()) break;
    } else if (!own_io_) {
      if (scheduler_.help() == 0) {
        std::unique_lock lock{ended_mutex_};
        ended_cv_.wait_for(lock, std::chrono::milliseconds{1}, all_ended);
      }
    } else {
      std::unique_lock lock{ended_mutex_};
      ended_cv_.wait_for(lock, std::chrono::milliseconds{5}, all_ended);
    }
  }
  if (!all_ended()) {
    log(log_level::error, {"runtime", id_}, "{} ports did not end at shutdown", live_.load());
  }
  // Later sends to other nodes are dropped; the links themselves live as long as the core.
  remote_.set_link(nullptr);
  if (own_io_) {
    work_.reset();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Run what the last handlers posted (monitor callbacks, cancelled timers).
    io_->restart();
    while (io_->poll() > 0) io_->restart();
  }
}

namespace {

/// `pattern` matches all of `text`; `*` matches any run of characters.
bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

void node_core::start_init(port_impl* p, std::string_view name, message args) {
  for (const auto& pattern : options_.measure) {
    if (glob_match(pattern, name)) {
      measure(p, std::string{name});
      break;
    }
  }
  sends_.push_then_release(p, make_closure([this, init = std::string{name},
                                            a = std::move(args)]() mutable { run_init(init, a); }));
}

void node_core::run_init(const std::string& name, message& args) {
  std::shared_ptr<message_handler> init = inits_.find(name);
  port_impl* p = current().port;
  // The reason is remembered before the port is marked dead, so that a monitor that finds
  // the port gone finds its reason.
  auto fail = [&](reason why) {
    inits_.record_death(p->id.load(std::memory_order_relaxed), why);
    kill_running(p, std::move(why));
  };
  if (!init) {
    fail(reason{"no_such_init", fmt::format("no init function named '{}'", name)});
    return;
  }
  try {
    (*init)(args);
  } catch (const bad_message_error& e) {
    fail(reason{"bad_message", fmt::format("init '{}': {}", name, e.what())});
  } catch (const std::exception& e) {
    fail(reason{"die", fmt::format("init '{}' threw: {}", name, e.what())});
  } catch (...) {
    fail(reason{"die", fmt::format("init '{}' threw an unknown exception", name)});
  }
}

}  // namespace coport::detail
