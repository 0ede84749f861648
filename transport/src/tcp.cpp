// coport::transport::tcp — listening, dialing on demand, and the I/O thread (see tcp.hpp).
#include "coport/transport/tcp.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <asio/bind_executor.hpp>
#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "address.hpp"
#include "admission.hpp"
#include "certificate_files.hpp"
#include "coport/internal/link_seam.hpp"
#include "endpoint_impl.hpp"
#include "listen_addresses.hpp"
#include "peer.hpp"
#include "tcp_channel.hpp"
#include "tls.hpp"
#include "transport_log.hpp"

namespace coport::transport {

using detail::log;
using detail::log_error;
using detail::log_info;
using detail::log_warn;

namespace {

/// Why an attempt to reach `address` failed (a cancel is the attempt's deadline).
std::string dial_error(const std::string& address, const asio::error_code& ec) {
  return fmt::format("{}: {}", address,
                     ec == asio::error::operation_aborted ? "no answer before the connect deadline"
                                                          : ec.message());
}

}  // namespace

/// One node's TCP layer: the I/O context, listeners, address book and dials in progress.
struct tcp::state : std::enable_shared_from_this<tcp::state> {
  state(node& n, tcp_options o) : owner{n}, options{std::move(o)} {}

  /// A dial in progress to one node (I/O thread only).
  struct dial {
    std::string node_id;
    std::chrono::steady_clock::time_point deadline;
    unsigned attempt = 0;
    std::string last_error;
    std::optional<asio::ip::tcp::resolver> resolver;
    std::optional<asio::ip::tcp::socket> socket;
    std::optional<asio::steady_timer> timer;
  };

  node& owner;
  const tcp_options options;
  std::shared_ptr<detail::certificate_files> certificates;  // null: no TLS
  std::optional<asio::steady_timer> certificate_check;      // I/O thread
  std::shared_ptr<endpoint::impl> protocol;
  std::shared_ptr<asio::io_context> own_io;  // shared with the channels (they may outlive us)
  asio::io_context* io = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::shared_ptr<tcp_counters> counters = std::make_shared<tcp_counters>();
  detail::admission admission{owner.id()};

  // I/O thread only.
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors;
  std::map<std::string, std::shared_ptr<dial>> dials;
  bool stopping = false;

  /// Coroutines waiting for room on a link (tcp::room).
  struct room_waiter {
    std::string node_id;
    std::size_t below;
    std::function<void()> wake;
  };
  std::mutex room_mutex;
  std::vector<room_waiter> room_waiters;
  std::atomic<std::size_t> room_waiting{0};

  std::size_t queued_for(std::string_view id) const {
    if (!valid_node_id(id)) return 0;
    std::uint32_t number = coport::detail::node_names().find(id);
    if (number == 0) return 0;
    peer* p = protocol->find(number, false);
    return p ? p->queued() : 0;
  }

  /// Wakes the waiters whose link has room now (called without any channel's lock).
  void check_room() {
    if (room_waiting.load(std::memory_order_acquire) == 0) return;
    std::vector<std::function<void()>> due;
    {
      std::lock_guard lock{room_mutex};
      std::erase_if(room_waiters, [&](room_waiter& w) {
        if (queued_for(w.node_id) >= w.below) return false;
        due.push_back(std::move(w.wake));
        return true;
      });
      room_waiting.store(room_waiters.size(), std::memory_order_release);
    }
    for (auto& f : due) f();
  }

  mutable std::mutex mutex;  // the address book and the list of channels
  std::map<std::string, std::vector<std::string>, std::less<>> configured, learned;
  std::vector<std::weak_ptr<tcp_channel>> channels;
  std::vector<std::string> listening;
  std::vector<std::string> advertised;  // what peers are told (the hello)

  tcp_timing timing() const {
    return {options.heartbeat_interval, options.node_timeout, options.connect_timeout,
            std::min(options.connect_timeout, options.hello_timeout)};
  }

  std::vector<std::string> addresses_of(const std::string& id) const {
    std::lock_guard lock{mutex};
    std::vector<std::string> out;
    if (auto it = configured.find(id); it != configured.end()) out = it->second;
    if (auto it = learned.find(id); it != learned.end()) {
      for (const auto& a : it->second) {
        if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
      }
    }
    return out;
  }

  void learn(const std::string& id, const std::vector<std::string>& addresses) {
    if (addresses.empty()) return;
    std::lock_guard lock{mutex};
    learned[id] = addresses;
  }

  /// Makes the channel for a connected socket and starts the protocol on it.
  /// `client`: this node opened the connection (it starts the TLS handshake).
  std::shared_ptr<tcp_channel> make_channel(asio::ip::tcp::socket socket,
                                            tcp_channel::strand strand, bool client,
                                            std::shared_ptr<dial> dialing,
                                            connect_callback probe = {},
                                            detail::admission::ticket admitted = 0) {
    auto handshake_over = std::make_shared<std::atomic<bool>>(false);
    tcp_channel_events events;
    std::weak_ptr<state> weak = weak_from_this();
    events.established = [weak, handshake_over, probe, admitted](
                             const std::string& peer, const std::vector<std::string>& addresses) {
      auto self = weak.lock();
      if (!self) return;
      if (!handshake_over->exchange(true)) {
        if (admitted) self->admission.done(admitted);
        if (probe) probe(peer, {});
      }
      self->learn(peer, addresses);
      asio::post(*self->io, [self, peer] {
        if (auto it = self->dials.find(peer); it != self->dials.end()) self->dials.erase(it);
      });
    };
    events.closed = [weak, handshake_over, dialing, probe, admitted](bool was_established,
                                                                     const std::string& why) {
      auto self = weak.lock();
      if (!self) return;
      if (!handshake_over->exchange(true)) {
        if (admitted) self->admission.done(admitted);
        if (probe) probe({}, why);
      }
      if (dialing && !was_established) {
        asio::post(*self->io, [self, dialing, why] { self->dial_failed(dialing, why); });
      }
    };
    events.drained = [weak] {
      if (auto self = weak.lock()) self->check_room();
    };
    std::unique_ptr<tls_session> session;
    if (certificates) session = std::make_unique<tls_session>(certificates->current(), client);
    auto ch =
        std::make_shared<tcp_channel>(own_io, std::move(socket), std::move(strand), timing(),
                                      counters, std::move(events), std::move(session), owner.id());
    std::lock_guard lock{mutex};
    std::erase_if(channels, [](const auto& w) { return w.expired(); });
    channels.push_back(ch);
    return ch;
  }

  // -- listening ---------------------------------------------------------------------------

  void accept(asio::ip::tcp::acceptor& acceptor) {
    auto strand = asio::make_strand(*io);
    acceptor.async_accept(strand, [self = shared_from_this(), &acceptor, strand](
                                      const asio::error_code& ec, asio::ip::tcp::socket socket) {
      if (self->stopping) return;
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
        log(log_error, {"transport", self->owner.id()}, "accepting a connection failed: {}",
            ec.message());
        // Out of descriptors, say: try again a little later rather than spin.
        auto timer =
            std::make_shared<asio::steady_timer>(*self->io, std::chrono::milliseconds{100});
        timer->async_wait([self, timer, &acceptor](const asio::error_code& e) {
          if (!e && !self->stopping) self->accept(acceptor);
        });
        return;
      }
      self->counters->accepted.fetch_add(1, std::memory_order_relaxed);
      asio::error_code peer_ec;
      auto from = socket.remote_endpoint(peer_ec).address();
      detail::admission::ticket admitted = peer_ec ? 0 : self->admission.admit(from);
      if (!admitted) {
        asio::error_code ignored;
        socket.close(ignored);
      } else {
        auto ch = self->make_channel(std::move(socket), strand, false, nullptr, {}, admitted);
        ch->start(self->protocol->attach(ch, nullptr, false));
        const std::string why =
            "its handshake place was given to a connection from another address";
        if (!self->admission.bind(admitted, [weak = std::weak_ptr<tcp_channel>{ch}, why] {
              if (auto c = weak.lock()) c->close(why);
            })) {
          ch->close(why);
        }
      }
      self->accept(acceptor);
    });
  }

  // -- dialing -----------------------------------------------------------------------------

  peer* peer_of(const std::string& id) const {
    std::uint32_t number = coport::detail::node_names().find(id);
    return number ? protocol->find(number, false) : nullptr;
  }

  void start_dial(const std::string& id) {
    if (stopping || dials.count(id)) return;
    auto d = std::make_shared<dial>();
    d->node_id = id;
    d->deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    dials.emplace(id, d);
    attempt(d);
  }

  void attempt(const std::shared_ptr<dial>& d) {
    if (stopping) return;
    auto addresses = addresses_of(d->node_id);
    if (addresses.empty()) {
      give_up(d, "no address is known for it");
      return;
    }
    std::string address = addresses[d->attempt % addresses.size()];
    ++d->attempt;
    detail::host_port hp;
    try {
      hp = detail::parse_address(address);
    } catch (const std::exception& e) {
      dial_failed(d, e.what());
      return;
    }
    auto remaining = d->deadline - std::chrono::steady_clock::now();
    if (remaining <= std::chrono::steady_clock::duration::zero()) {
      give_up(d, d->last_error.empty() ? "no answer before the connect deadline" : d->last_error);
      return;
    }
    d->timer.emplace(*io, remaining);
    d->timer->async_wait([self = shared_from_this(), d](const asio::error_code& ec) {
      if (ec) return;  // the attempt ended first
      if (d->resolver) d->resolver->cancel();
      if (d->socket) {
        asio::error_code ignored;
        d->socket->close(ignored);
      }
    });
    d->resolver.emplace(*io);
    d->resolver->async_resolve(
        hp.host, std::to_string(hp.port),
        [self = shared_from_this(), d, address](const asio::error_code& ec,
                                                asio::ip::tcp::resolver::results_type results) {
          if (self->stopping) return;
          if (ec) {
            self->dial_failed(d, dial_error(address, ec));
            return;
          }
          auto strand = asio::make_strand(*self->io);
          d->socket.emplace(strand);
          asio::async_connect(
              *d->socket, results,
              [self, d, address, strand](const asio::error_code& e,
                                         const asio::ip::tcp::endpoint&) {
                if (self->stopping) return;
                if (e) {
                  self->dial_failed(d, dial_error(address, e));
                  return;
                }
                if (d->timer) d->timer->cancel();
                self->counters->dialed.fetch_add(1, std::memory_order_relaxed);
                peer* p =
                    self->protocol->find(coport::detail::node_names().intern(d->node_id), true);
                if (!p) {  // beyond the peer table (too many node IDs in this process)
                  asio::error_code ignored;
                  d->socket->close(ignored);
                  d->socket.reset();
                  self->give_up(d, "this process knows too many node IDs");
                  return;
                }
                auto ch = self->make_channel(std::move(*d->socket), strand, true, d);
                d->socket.reset();
                if (auto c = self->protocol->attach(ch, p, true)) {
                  ch->start(c);
                } else {
                  self->dials.erase(d->node_id);  // a channel from the peer came first
                }
              });
        });
  }

  /// tcp::connect: one attempt at `address`, whoever answers there (I/O thread).
  void probe(const std::string& address, const connect_callback& done) {
    if (stopping) return done({}, "the node's TCP transport stopped");
    detail::host_port hp;
    try {
      hp = detail::parse_address(address);
    } catch (const std::exception& e) {
      return done({}, e.what());
    }
    struct attempt_state {
      std::optional<asio::ip::tcp::resolver> resolver;
      std::optional<asio::ip::tcp::socket> socket;
      std::optional<asio::steady_timer> timer;
    };
    auto a = std::make_shared<attempt_state>();
    a->timer.emplace(*io, options.connect_timeout);
    a->timer->async_wait([a](const asio::error_code& ec) {
      if (ec) return;
      if (a->resolver) a->resolver->cancel();
      asio::error_code ignored;
      if (a->socket) a->socket->close(ignored);
    });
    a->resolver.emplace(*io);
    a->resolver->async_resolve(
        hp.host, std::to_string(hp.port),
        [self = shared_from_this(), a, address, done](
            const asio::error_code& ec, asio::ip::tcp::resolver::results_type results) {
          if (self->stopping) return done({}, "the node's TCP transport stopped");
          if (ec) {
            a->timer->cancel();
            return done({}, dial_error(address, ec));
          }
          auto strand = asio::make_strand(*self->io);
          a->socket.emplace(strand);
          asio::async_connect(*a->socket, results,
                              [self, a, address, done, strand](const asio::error_code& e,
                                                               const asio::ip::tcp::endpoint&) {
                                a->timer->cancel();
                                if (self->stopping)
                                  return done({}, "the node's TCP transport stopped");
                                if (e) return done({}, dial_error(address, e));
                                self->counters->dialed.fetch_add(1, std::memory_order_relaxed);
                                auto ch = self->make_channel(std::move(*a->socket), strand, true,
                                                             nullptr, done);
                                a->socket.reset();
                                ch->start(self->protocol->attach(ch, nullptr, false, true));
                              });
        });
  }

  /// An attempt failed: try again with backoff before the deadline, else give up.
  void dial_failed(const std::shared_ptr<dial>& d, const std::string& why) {
    if (stopping) return;
    if (d->timer) d->timer->cancel();
    auto it = dials.find(d->node_id);
    if (it == dials.end() || it->second != d) return;
    peer* p = peer_of(d->node_id);
    if (!p || !p->wants_channel()) {
      dials.erase(it);  // connected another way, or nothing waits any more
      return;
    }
    d->last_error = why;
    auto now = std::chrono::steady_clock::now();
    if (now >= d->deadline) {
      give_up(d, why);
      return;
    }
    auto backoff = std::chrono::milliseconds{50 << std::min(d->attempt, 5u)};
    backoff = std::min<std::chrono::milliseconds>(backoff, std::chrono::milliseconds{1000});
    auto wait = std::min<std::chrono::steady_clock::duration>(backoff, d->deadline - now);
    d->timer.emplace(*io, wait);
    d->timer->async_wait([self = shared_from_this(), d](const asio::error_code& ec) {
      if (!ec) self->attempt(d);
    });
  }

  void give_up(const std::shared_ptr<dial>& d, const std::string& why) {
    if (auto it = dials.find(d->node_id); it != dials.end() && it->second == d) dials.erase(it);
    counters->dial_failures.fetch_add(1, std::memory_order_relaxed);
    if (peer* p = peer_of(d->node_id)) p->unreachable(why);
  }

  /// Checks the TLS files every tls_check_interval and takes them into use when they change.
  void watch_certificates() {
    if (!certificates || options.tls_check_interval.count() == 0 || stopping) return;
    certificate_check.emplace(*io, options.tls_check_interval);
    certificate_check->async_wait([weak = weak_from_this()](const asio::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopping) return;
      auto before = self->certificates->reloads();
      if (auto why = self->certificates->reload_if_changed(); !why.empty()) {
        log(log_error, {"transport", self->owner.id()},
            "the TLS files changed but cannot be used (new connections keep the ones read "
            "before): {}",
            why);
      } else if (self->certificates->reloads() != before) {
        log(log_info, {"transport", self->owner.id()},
            "the TLS files changed: new connections use them (links up keep theirs)");
      }
      self->watch_certificates();
    });
  }

  /// Closes everything (on the I/O thread, or with the embedding context not running).
  void stop() {
    stopping = true;
    if (certificate_check) certificate_check->cancel();
    asio::error_code ignored;
    for (auto& a : acceptors) a->close(ignored);
    for (auto& [id, d] : dials) {
      if (d->timer) d->timer->cancel();
      if (d->resolver) d->resolver->cancel();
      if (d->socket) d->socket->close(ignored);
    }
    dials.clear();
    std::vector<std::shared_ptr<tcp_channel>> open;
    {
      std::lock_guard lock{mutex};
      for (auto& w : channels) {
        if (auto ch = w.lock()) open.push_back(std::move(ch));
      }
      channels.clear();
    }
    // Here nothing else runs on the channels' context: close them now, so that none waits
    // for a handler that would never run (an embedding context may not run again).
    for (auto& ch : open) ch->close_here("the node's TCP transport stopped");
  }
};

namespace {

/// The protocol's way to ask for a channel: a dial on the I/O thread.
class tcp_dialer final : public dialer {
 public:
  explicit tcp_dialer(std::weak_ptr<tcp::state> s) : state_{std::move(s)} {}
  void dial(const std::string& node_id) override {
    if (auto s = state_.lock()) {
      asio::post(*s->io, [s, node_id] { s->start_dial(node_id); });
    }
  }

 private:
  std::weak_ptr<tcp::state> state_;
};

void check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument{std::string{"coport: tcp_options: "} + what};
}

}  // namespace

tcp::tcp(node& n, tcp_options options) {
  using std::chrono::milliseconds;
  check(options.heartbeat_interval >= milliseconds{10}, "heartbeat_interval must be >= 10 ms");
  check(options.node_timeout >= 2 * options.heartbeat_interval,
        "node_timeout must be at least two heartbeat intervals");
  check(options.connect_timeout >= milliseconds{10}, "connect_timeout must be >= 10 ms");
  check(options.spin <= std::chrono::microseconds{10'000}, "spin must be <= 10 ms");
  for (const auto& [id, addresses] : options.peers) {
    check(valid_node_id(id) && id != n.id(), "peers: a key is not the ID of another node");
    for (const auto& a : addresses) detail::parse_address(a);
  }
  // Where to listen, checked before anything starts.
  auto plan = detail::plan_listening(options);
  check(options.tls_check_interval.count() == 0 || options.tls_check_interval >= milliseconds{10},
        "tls_check_interval must be 0 (never) or >= 10 ms");
  std::shared_ptr<detail::certificate_files> certificates;
  if (options.tls.enabled() || !options.tls.key.empty() || !options.tls.ca.empty()) {
    certificates = std::make_shared<detail::certificate_files>(options.tls);  // throws
  }
  transport_options protocol = options.protocol;
  protocol.secret = options.secret;
  // A link waits to resume about as long as a silent peer is waited for.
  if (!protocol.resume_window) protocol.resume_window = options.node_timeout;
  protocol_ = std::make_unique<endpoint>(n, protocol);

  state_ = std::make_shared<state>(n, std::move(options));
  state& s = *state_;
  s.certificates = std::move(certificates);
  s.protocol = protocol_->impl_;
  for (const auto& [id, addresses] : s.options.peers) s.configured[id] = addresses;
  if (s.options.context) {
    s.io = s.options.context;
  } else {
    s.own_io = std::make_shared<asio::io_context>();
    s.io = s.own_io.get();
  }
  for (std::size_t i = 0; i < plan.endpoints.size(); ++i) {
    auto ep = plan.endpoints[i];
    if (plan.same_port.count(i)) ep.port(s.acceptors.back()->local_endpoint().port());
    auto a = std::make_unique<asio::ip::tcp::acceptor>(*s.io);
    a->open(ep.protocol());
    a->set_option(asio::ip::tcp::acceptor::reuse_address{true});
    if (ep.address().is_v6()) a->set_option(asio::ip::v6_only{true});
    a->bind(ep);  // throws std::system_error (in use, not an address of this host)
    a->listen();
    for (auto& text : detail::bound_addresses(a->local_endpoint())) {
      s.listening.push_back(std::move(text));
    }
    s.acceptors.push_back(std::move(a));
  }
  s.advertised = detail::advertised_addresses(
      s.options, s.listening,
      s.acceptors.empty() ? 0 : s.acceptors.front()->local_endpoint().port());
  {
    std::lock_guard lock{s.protocol->addresses_mutex};
    s.protocol->addresses = s.advertised;
  }
  s.protocol->dialer = std::make_shared<tcp_dialer>(state_);
  for (auto& a : s.acceptors) s.accept(*a);
  asio::post(*s.io, [st = state_] { st->watch_certificates(); });
  if (s.own_io) {
    s.work.emplace(s.own_io->get_executor());
    s.thread = std::thread{[io = s.own_io.get(), id = n.id(), spin = s.options.spin] {
      try {
        // After activity, poll without sleeping for a moment: a reply that comes within it
        // is read without a wake-up (the kernel's epoll wake-up costs tens of microseconds
        // on a VM). Idle, it sleeps in epoll as usual.
        auto last = std::chrono::steady_clock::now();
        while (!io->stopped()) {
          if (io->poll() > 0) {
            last = std::chrono::steady_clock::now();
            continue;
          }
          if (std::chrono::steady_clock::now() - last < spin) {
            std::this_thread::yield();  // a worker woken on this core runs first
            continue;
          }
          if (io->run_one() == 0) break;
          last = std::chrono::steady_clock::now();
        }
      } catch (const std::exception& e) {
        log(log_error, {"transport", id}, "the TCP I/O thread stopped: {}", e.what());
      }
    }};
  }
}

tcp::~tcp() {
  // The node stops routing to the protocol; every connection closes (monitors fire).
  protocol_.reset();
  state& s = *state_;
  if (s.own_io) {
    asio::post(*s.io, [st = state_] { st->stop(); });
    s.work.reset();
    s.thread.join();
    s.acceptors.clear();
    s.certificate_check.reset();  // before its context goes
    s.own_io.reset();             // handlers still queued let go of what they hold
  } else {
    s.stop();
  }
}

std::vector<std::string> tcp::addresses() const {
  std::lock_guard lock{state_->mutex};
  return state_->listening;
}

std::vector<std::string> tcp::advertised() const {
  std::lock_guard lock{state_->mutex};
  return state_->advertised;
}

std::vector<std::string> tcp::addresses_of(std::string_view node_id) const {
  return state_->addresses_of(std::string{node_id});
}

void tcp::add_peer(std::string_view node_id, std::vector<std::string> addresses) {
  if (!valid_node_id(node_id)) throw std::invalid_argument{"coport: add_peer: not a node ID"};
  for (const auto& a : addresses) detail::parse_address(a);
  std::lock_guard lock{state_->mutex};
  state_->configured[std::string{node_id}] = std::move(addresses);
}

void tcp::connect(std::string address, connect_callback done) {
  if (!done) throw std::invalid_argument{"coport: connect: no callback"};
  asio::post(*state_->io, [s = state_, address = std::move(address), done = std::move(done)] {
    s->probe(address, done);
  });
}

std::size_t tcp::queued(std::string_view node_id) const {
  return state_->queued_for(node_id);
}

room_awaiter tcp::room(std::string_view node_id, std::size_t below) {
  if (!valid_node_id(node_id)) throw std::invalid_argument{"coport: room: not a node ID"};
  if (below == 0) below = std::max<std::size_t>(state_->options.protocol.max_queue / 2, 1);
  return room_awaiter{*this, std::string{node_id}, below};
}

bool room_awaiter::await_ready() const {
  return tcp_.queued(node_) < below_;
}

void room_awaiter::await_suspend(std::coroutine_handle<> h) {
  auto& actor = coport::detail::current_actor();
  std::uint64_t serial = actor.park(h);
  node& n = actor.owner();
  port_id here = coport::self();
  auto& s = *tcp_.state_;
  {
    std::lock_guard lock{s.room_mutex};
    s.room_waiters.push_back({node_, below_, [&n, here, &actor, serial] {
                                n.peval(here, [&actor, serial] { actor.resume_if(serial); });
                              }});
    s.room_waiting.store(s.room_waiters.size(), std::memory_order_release);
  }
  s.check_room();  // it may have drained since await_ready looked
}

endpoint& tcp::protocol() noexcept {
  return *protocol_;
}

void tcp::reload_certificates() {
  if (!state_->certificates) {
    throw std::logic_error{"coport: reload_certificates: this node's links use no TLS"};
  }
  state_->certificates->reload();  // throws std::invalid_argument; the files in use stay
  log(log_info, {"transport", state_->owner.id()},
      "the TLS files were read again: new connections use them (links up keep theirs)");
}

tcp_stats tcp::stats() const noexcept {
  const auto& c = *state_->counters;
  tcp_stats out;
  out.certificate_reloads = state_->certificates ? state_->certificates->reloads() : 0;
  out.accepted = c.accepted.load(std::memory_order_relaxed);
  out.dialed = c.dialed.load(std::memory_order_relaxed);
  out.connections = c.open.load(std::memory_order_relaxed);
  out.timeouts = c.timeouts.load(std::memory_order_relaxed);
  out.dial_failures = c.dial_failures.load(std::memory_order_relaxed);
  out.bytes_sent = c.bytes_sent.load(std::memory_order_relaxed);
  out.bytes_received = c.bytes_received.load(std::memory_order_relaxed);
  out.inbound_pauses = c.inbound_pauses.load(std::memory_order_relaxed);
  return out;
}

}  // namespace coport::transport
