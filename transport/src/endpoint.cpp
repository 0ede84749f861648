// coport::transport::endpoint — one node's protocol endpoint: its peers and the link seam.
#include "coport/transport/transport.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <fmt/format.h>

#include "coport/internal/link_seam.hpp"
#include "endpoint_impl.hpp"
#include "handshake.hpp"

namespace coport::transport {

peer* endpoint::impl::find(std::uint32_t node_number, bool create) {
  std::size_t c = node_number >> chunk_bits;
  if (c >= chunk_count) return nullptr;  // beyond the node-ID interning bound
  std::size_t i = node_number & ((std::size_t{1} << chunk_bits) - 1);
  if (chunk* ch = chunks[c].load(std::memory_order_acquire)) {
    if (peer* p = ch->peers[i].load(std::memory_order_acquire)) return p;
  }
  if (!create) return nullptr;
  std::lock_guard lock{peers_mutex};
  chunk* ch = chunks[c].load(std::memory_order_relaxed);
  if (!ch) {
    chunk_storage.push_back(std::make_unique<chunk>());
    ch = chunk_storage.back().get();
    chunks[c].store(ch, std::memory_order_release);
  }
  if (peer* p = ch->peers[i].load(std::memory_order_relaxed)) return p;
  peer_storage.push_back(std::make_shared<peer>(
      *this, std::string{coport::detail::node_names().name(node_number)}, node_number));
  peer* p = peer_storage.back().get();
  ch->peers[i].store(p, std::memory_order_release);
  return p;
}

void endpoint::impl::fire_later(const port_id& target, reason why,
                                coport::detail::unique_function<void()> after) {
  asio::post(owner.context(), [self = shared_from_this(), target, why = std::move(why),
                               after = std::move(after)]() mutable {
    self->node_end.remote_port_died(target, why, std::move(after));
  });
}

void endpoint::impl::send(const port_id& to, message msg) {
  // A peer even without a dialer: its refusal holds what follows to that port until the
  // monitors ran (no holes), also once a link to that node comes later.
  if (peer* p = find(to.node_number(), true)) {
    p->send_message(to, std::move(msg));
    return;
  }
  count_drop();
  node_end.remote_port_died(
      to, reason{"transport_error", std::string{to.node()}, "no connection to that node"});
}

void endpoint::impl::kill(const port_id& target, const reason& why) {
  if (peer* p = find(target.node_number(), dialer != nullptr)) p->send_kill(target, why);
}

void endpoint::impl::watch(const port_id& target) {
  if (peer* p = find(target.node_number(), true)) {
    p->watch(target);
    return;
  }
  fire_later(target,
             reason{"transport_error", std::string{target.node()}, "no connection to that node"});
}

void endpoint::impl::unwatch(const port_id& target) {
  if (peer* p = find(target.node_number(), dialer != nullptr)) p->unwatch(target);
}

port_id endpoint::impl::spawn(const port_id& port, std::string_view init, message args,
                              bool watched) {
  if (peer* p = find(port.node_number(), true))
    return p->spawn(port, init, std::move(args), watched);
  count_drop();
  fire_later(port, reason{"transport_error", std::string{port.node()},
                          "spawn failed: no connection to that node"});
  return port;
}

// -- transport -------------------------------------------------------------------------------

namespace {
/// The options with what was left unset filled in.
transport_options completed(transport_options o) {
  if (!o.resume_window) o.resume_window = std::chrono::milliseconds{3000};
  if (o.resume_window->count() < 0) {
    throw std::invalid_argument{"coport: transport_options.resume_window must not be negative"};
  }
  return o;
}
}  // namespace

endpoint::endpoint(node& n, transport_options options)
    : impl_{std::make_shared<impl>(n, completed(options))} {
  if (options.max_frame < 64 || options.max_frame > (std::size_t{1} << 31)) {
    throw std::invalid_argument{"coport: transport_options.max_frame must be 64 B .. 2 GiB"};
  }
  if (!options.secret.empty() && options.secret.size() < detail::min_secret && !options.insecure) {
    throw std::invalid_argument{fmt::format(
        "coport: the secret is {} characters long; at least {} are needed (128 bits: use "
        "`coport gensecret`), or set insecure to accept a guessable one",
        options.secret.size(), detail::min_secret)};
  }
  if (options.application.size() > max_application) {
    throw std::invalid_argument{"coport: transport_options.application: at most 2048 bytes"};
  }
  impl_->node_end = n.plug(impl_);
}

endpoint::~endpoint() {
  impl_->closing.store(true, std::memory_order_release);
  // The node stops routing to us: later remote sends are dropped and counted there, and
  // monitors on remote ports fire with transport_error.
  impl_->owner.plug(nullptr);
  // A node that ends normally says so first: its peers fire their monitors on its ports with
  // `shutdown` and take it as gone, not failed (the bye goes if the kernel takes it now).
  const reason leaving{"shutdown"};
  std::vector<std::shared_ptr<peer>> peers;
  {
    std::lock_guard lock{impl_->peers_mutex};
    peers = impl_->peer_storage;
  }
  for (auto& p : peers) p->say_bye(leaving);
  std::vector<std::shared_ptr<receiver>> open;
  {
    std::lock_guard lock{impl_->receivers_mutex};
    open = impl_->receivers;
  }
  for (auto& c : open) c->close_now("the transport was destroyed");
  // Links waiting to resume hold receivers (and they the transport): let go.
  for (auto& p : peers) p->abandon();
}

std::shared_ptr<channel_handler> endpoint::attach(std::shared_ptr<channel> ch,
                                                  std::string_view expected_peer) {
  peer* expected = nullptr;
  if (!expected_peer.empty()) {
    if (!valid_node_id(expected_peer) || expected_peer == impl_->owner.id()) {
      throw std::invalid_argument{"coport: attach: not the ID of another node"};
    }
    expected = impl_->find(coport::detail::node_names().intern(expected_peer), true);
    if (!expected) throw std::length_error{"coport: attach: this process knows too many node IDs"};
  }
  return impl_->attach(std::move(ch), expected, false);
}

std::shared_ptr<receiver> endpoint::impl::attach(std::shared_ptr<channel> ch, peer* expected,
                                                 bool dialed, bool opened) {
  auto c =
      std::make_shared<receiver>(shared_from_this(), std::move(ch), expected, opened || expected);
  {
    std::lock_guard lock{receivers_mutex};
    receivers.push_back(c);
  }
  if (expected && !expected->adopt(c)) {
    if (dialed) {
      // A channel the peer opened came first: this one is not needed.
      c->close_now(fmt::format("node {} is connected already", expected->id()));
      return nullptr;
    }
    c->start();
    c->fail(fmt::format("node {} is already connected", expected->id()));
    return c;
  }
  c->start();
  return c;
}

node& endpoint::owner() noexcept {
  return impl_->owner;
}

transport_stats endpoint::stats() const noexcept {
  transport_stats s;
  s.messages_sent = impl_->sent.load(std::memory_order_relaxed);
  s.messages_received = impl_->received.load(std::memory_order_relaxed);
  s.messages_dropped = impl_->dropped.load(std::memory_order_relaxed);
  s.bad_frames = impl_->bad_frames.load(std::memory_order_relaxed);
  s.refused = impl_->refused.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < refusal_kinds; ++i) {
    s.refused_by[i] = impl_->refused_by[i].load(std::memory_order_relaxed);
  }
  return s;
}

protocol_support supported_protocol() noexcept {
  return {detail::oldest_protocol_version, detail::protocol_version, detail::own_capabilities};
}

std::vector<std::string> capability_names(std::uint64_t capabilities) {
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (!(capabilities & (std::uint64_t{1} << bit))) continue;
    out.push_back(bit == 0   ? std::string{"tracing"}
                  : bit == 1 ? std::string{"resume"}
                             : fmt::format("bit {}", bit));
  }
  return out;
}

const char* to_string(refusal r) noexcept {
  static constexpr const char* names[refusal_kinds] = {"version",     "self",    "wrong_node",
                                                       "certificate", "secret",  "too_many_nodes",
                                                       "duplicate",   "by_peer", "application"};
  const auto i = static_cast<std::size_t>(r);
  return i < refusal_kinds ? names[i] : "unknown";
}

std::vector<link_stats> endpoint::links() const {
  std::vector<std::shared_ptr<peer>> peers;
  {
    std::lock_guard lock{impl_->peers_mutex};
    peers = impl_->peer_storage;
  }
  std::vector<link_stats> out;
  for (const auto& p : peers) {
    link_stats s = p->stats();
    if (s.connections != 0 || s.queued_bytes != 0) out.push_back(std::move(s));
  }
  return out;
}

void endpoint::observe(std::function<void(const frame_event&)> observer) {
  std::lock_guard lock{impl_->observer_mutex};
  impl_->observed.store(static_cast<bool>(observer), std::memory_order_release);
  impl_->observer = std::move(observer);
}

std::uint32_t endpoint::incarnation_of(std::string_view node_id) const {
  if (!valid_node_id(node_id)) return 0;
  std::uint32_t n = coport::detail::node_names().find(node_id);
  if (n == 0) return 0;
  peer* p = impl_->find(n, false);
  return p ? p->incarnation() : 0;
}

}  // namespace coport::transport
