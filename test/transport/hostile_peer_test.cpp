// A peer that did the handshake (protocol version 5) and then misbehaves: it never reads,
// sweeps port numbers with kill frames, spawns what is not registered or more than its
// bound. Without a secret there are no proofs and no records, so a raw socket plays that
// peer with plain frames (frame.hpp, handshake.hpp): what it may do here, a peer that holds
// the secret may do through its records.
// Every socket dials 127.0.0.1; every wait is bounded; nothing sleeps to order.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <coport/coport.hpp>
#include <coport/detail/interner.hpp>
#include <coport/transport/tcp.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "frame.hpp"
#include "handshake.hpp"
#include "support/handshake_fixtures.hpp"
#include "support/log_capture.hpp"
#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using tp::detail::frame_kind;

namespace {

using bytes = std::vector<std::byte>;
using clock_type = std::chrono::steady_clock;

/// TCP options without a secret (loopback only): frames after the handshake are plain.
tp::tcp_options plain(std::chrono::milliseconds node_timeout = 2000ms) {
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  o.heartbeat_interval = 100ms;
  o.node_timeout = node_timeout;
  o.connect_timeout = 2000ms;
  return o;
}

/// A node with TCP links.
struct tcp_node {
  node n;
  tp::tcp t;
  tcp_node(const char* id, tp::tcp_options o) : n{threaded(id)}, t{n, std::move(o)} {}
  std::uint16_t port() const {
    auto a = t.addresses().at(0);
    return static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
};

/// Frames as a peer writes them (the handshake tests' builder; spawns here are watched).
using frames = coport::test::hs::frames;

using coport::test::hs::write_all;

/// Takes the first whole frame out of `pending` (frames of any size up to `max`).
std::optional<std::pair<frame_kind, bytes>> take_frame(bytes& pending, std::size_t max) {
  if (pending.size() < tp::detail::frame_header) return std::nullopt;
  std::uint32_t length = tp::detail::frame_length(pending.data());
  REQUIRE(length >= 1);
  REQUIRE(length <= max);
  if (pending.size() - 4 < length) return std::nullopt;
  auto kind = static_cast<frame_kind>(std::to_integer<std::uint8_t>(pending[4]));
  bytes body(pending.begin() + 5, pending.begin() + 4 + length);
  pending.erase(pending.begin(), pending.begin() + 4 + length);
  return std::pair{kind, std::move(body)};
}

/// What a `died` frame said.
struct died_notice {
  std::uint64_t local = 0;
  std::uint32_t incarnation = 0;
  reason why;
};

/// An authenticated peer on a raw socket: it dials a node, says hello as node `id` with
/// `incarnation`, and then does what the test says. Its thread writes a heartbeat every
/// 100 ms (the node hears it) and, if asked, reads and keeps the `died` frames.
class raw_peer {
 public:
  /// `rcvbuf` (if not 0) is set before connecting, so the window the node sees is small.
  raw_peer(std::uint16_t port, std::string id, std::uint32_t incarnation, int rcvbuf = 0)
      : id_{std::move(id)}, incarnation_{incarnation} {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    if (rcvbuf) REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) == 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_peer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  /// The handshake as the dialer, with no secret: hello and an auth without a proof, then
  /// the node's hello and verdict. True when the node accepted.
  bool handshake() {
    frames f;
    f.hello(id_, incarnation_).no_proof();
    if (!send(f.bytes_)) return false;
    auto theirs = read_frame();
    if (!theirs || theirs->first != frame_kind::hello) return false;
    {
      wire::reader r{std::span<const std::byte>{theirs->second}};
      r.varint();  // version
      r.string_view();
      node_incarnation = static_cast<std::uint32_t>(r.varint());
    }
    auto verdict = read_frame();
    if (!verdict || verdict->first != frame_kind::auth) return false;
    wire::reader r{std::span<const std::byte>{verdict->second}};
    return r.byte() == static_cast<std::uint8_t>(tp::detail::verdict::accept);
  }

  /// Starts the thread: heartbeats, and reading the node's frames if `reads`.
  void run(bool reads) {
    thread_ = std::thread{[this, reads] { loop(reads); }};
  }

  bool send(std::span<const std::byte> b) {
    std::lock_guard lock{write_mutex_};
    return write_all(fd_, b);
  }
  int fd() const { return fd_; }

  std::vector<died_notice> died() const {
    std::lock_guard lock{died_mutex_};
    return died_;
  }
  std::size_t died_count() const {
    std::lock_guard lock{died_mutex_};
    return died_.size();
  }

  std::uint32_t node_incarnation = 0;      ///< what the node's hello said
  std::atomic<std::size_t> heartbeats{0};  ///< written
  std::atomic<bool> closed{false};         ///< the node ended the connection

 private:
  /// One handshake frame from the node (the handshake fixtures' reader, 5 s at most).
  std::optional<std::pair<frame_kind, bytes>> read_frame() {
    return coport::test::hs::read_frame(fd_, pending_);
  }

  void loop(bool reads) {
    static constexpr std::byte heartbeat[tp::detail::frame_header] = {
        std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0},
        static_cast<std::byte>(frame_kind::heartbeat)};
    auto next = clock_type::now();
    std::byte buf[64 << 10];
    while (!stop_ && !closed) {
      if (clock_type::now() >= next) {
        if (send(heartbeat)) {
          ++heartbeats;
        } else {
          closed = true;
        }
        next += 100ms;
      }
      if (!reads) {
        // Pacing of the heartbeats only: this peer takes nothing the node writes.
        std::this_thread::sleep_for(10ms);
        continue;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 10) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {
        closed = true;
        break;
      }
      pending_.insert(pending_.end(), buf, buf + n);
      while (auto f = take_frame(pending_, tp::detail::fragment_size + 64)) {
        if (f->first != frame_kind::died) continue;
        wire::reader r{std::span<const std::byte>{f->second}};
        died_notice d;
        d.local = r.varint();
        d.incarnation = static_cast<std::uint32_t>(r.varint());
        wire::codec<reason>::decode(r, d.why);
        std::lock_guard lock{died_mutex_};
        died_.push_back(std::move(d));
      }
    }
  }

  const std::string id_;
  const std::uint32_t incarnation_;
  int fd_ = -1;
  bytes pending_;  // the handshake's, then the thread's
  std::mutex write_mutex_;
  mutable std::mutex died_mutex_;
  std::vector<died_notice> died_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool contains(const std::vector<std::string>& all, const std::string& what) {
  return std::find(all.begin(), all.end(), what) != all.end();
}

/// Local numbers another node mints for the ports it spawns here have the top bit.
constexpr std::uint64_t minted = std::uint64_t{1} << 63;

}  // namespace

TEST_SUITE("transport.hostile_peer") {
  TEST_CASE(
      "a peer that never reads is dropped after the node timeout although it keeps writing "
      "heartbeats, the monitors on its ports fire, and what waited for it is freed") {
    log_capture log;  // the link's end is logged
    tcp_node b{"nr-b", plain(1000ms)};
    constexpr std::uint32_t inc = 0x5eed;
    raw_peer p{b.port(), "never-reads", inc, /*rcvbuf=*/4096};
    REQUIRE(p.handshake());
    REQUIRE(eventually([&] { return contains(b.n.up_nodes(), "never-reads"); }, 5s));
    // From here the peer reads nothing, but it is not silent: a heartbeat every 100 ms, so
    // the node's timeout for silence does not apply.
    p.run(/*reads=*/false);
    probe died, downs;
    auto nodes = b.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      if (!up) downs.add(id + " down: " + why.to_string());
    });
    const port_id target{"never-reads", 1, inc};
    auto guard = b.n.mon(target, [&](const reason& why) { died.add(why.to_string()); });
    // Fill the link: the peer's window and both kernels' buffers, then the node's queue.
    const std::string blob(4096, 'x');
    std::size_t sent = 0;
    while (b.t.queued("never-reads") < (std::size_t{1} << 20) && sent < 8192) {
      b.n.snd(target, "hp.blob", blob);
      ++sent;
    }
    MESSAGE(sent << " messages of 4 KiB sent, " << b.t.queued("never-reads")
                 << " bytes wait in the node");
    REQUIRE(b.t.queued("never-reads") >= std::size_t{1} << 20);
    auto filled = clock_type::now();
    std::size_t heartbeats_then = p.heartbeats;
    // The node gives up on it after its node timeout without progress, for that reason.
    REQUIRE(died.wait_for(1, 6s));
    auto took = clock_type::now() - filled;
    MESSAGE("the link ended " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                              << " ms after it filled");
    CHECK(took < 4s);
    INFO(died.events()[0]);
    CHECK(died.events()[0].find("transport_error") != std::string::npos);
    CHECK(died.events()[0].find("the peer took nothing written to it for 1000 ms") !=
          std::string::npos);
    CHECK(died.events()[0].find("nothing was heard") == std::string::npos);
    REQUIRE(downs.wait_for(1, 5s));
    CHECK(downs.events()[0].find("never-reads down") == 0);
    CHECK(downs.events()[0].find("took nothing written") != std::string::npos);
    // It was not silent meanwhile (at least 5 heartbeats in the node timeout).
    CHECK(p.heartbeats >= heartbeats_then + 5);
    // What waited for it is gone: no bytes wait for that node, the channel is destroyed
    // (its buffers with it), and the node counts one timeout.
    CHECK(eventually([&] { return b.t.queued("never-reads") == 0; }, 5s));
    CHECK(eventually([&] { return b.t.stats().connections == 0; }, 5s));
    CHECK(b.t.stats().timeouts == 1);
    CHECK(!contains(b.n.up_nodes(), "never-reads"));
  }

  TEST_CASE(
      "a peer that never reads cannot make the node queue answers without bound: past "
      "max_queue + max_frame waiting for it, the node stops reading it, and drops it after the "
      "node timeout") {
    // (Before: the node read and answered 35 MB of watches; 259 MB of answers waited.)
    log_capture log;
    auto o = plain(3000ms);
    o.protocol.max_queue = 256 << 10;
    o.protocol.max_frame = 256 << 10;
    const std::size_t bound = o.protocol.max_queue + o.protocol.max_frame;
    tcp_node b{"na-b", o};
    raw_peer p{b.port(), "never-reads-asks", 0x5eed, /*rcvbuf=*/4096};
    REQUIRE(p.handshake());
    REQUIRE(eventually([&] { return contains(b.n.up_nodes(), "never-reads-asks"); }, 5s));
    p.run(/*reads=*/false);
    probe downs;
    auto nodes = b.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      if (!up && id == "never-reads-asks") downs.add(why.to_string());
    });
    // Watches of ports that do not exist: each one costs the peer 5 bytes and makes the node
    // queue a died notice of ~90. Written until the node takes no more (or 40 MB).
    frames f;
    for (int i = 0; i < 4096; ++i) {
      f.control(frame_kind::watch, port_id{"na-b", static_cast<std::uint64_t>(i + 1), 1});
    }
    std::size_t written = 0, most = 0, at = 0;
    auto stalled_since = clock_type::now();
    while (written < (40u << 20) && clock_type::now() - stalled_since < 1000ms && !p.closed) {
      auto rest = std::span<const std::byte>{f.bytes_}.subspan(at);
      ssize_t n = ::send(p.fd(), rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        written += static_cast<std::size_t>(n);
        at = (at + static_cast<std::size_t>(n)) % f.bytes_.size();
        stalled_since = clock_type::now();
      } else {
        std::this_thread::sleep_for(1ms);  // the node's buffer is full: polling, not ordering
      }
      most = std::max(most, b.t.queued("never-reads-asks"));
    }
    MESSAGE(written << " bytes of watches written; at most " << most
                    << " bytes waited in the node (bound " << bound << ")");
    // The bound is checked before each read: the answers to one read (at most 256 KiB of
    // watches, ~11 bytes out for each byte in) may come on top of it.
    CHECK(most <= bound + (3 << 20));
    CHECK(b.t.stats().inbound_pauses > 0);
    // The node still drops it, for not reading.
    REQUIRE(downs.wait_for(1, 6s));
    CHECK(downs.events()[0].find("took nothing written") != std::string::npos);
    CHECK(eventually([&] { return b.t.queued("never-reads-asks") == 0; }, 5s));
  }

  TEST_CASE(
      "a peer cannot kill ports by sweeping numbers: a kill from a peer must name a port's "
      "exact incarnation, and the node port is never killed") {
    tcp_node b{"sw-b", plain()};
    constexpr int count = 20;
    probe pinged, died;
    std::vector<port_id> ports;
    std::vector<monitor> guards;
    for (int i = 0; i < count; ++i) {
      auto p = b.n.port();
      b.n.rcv(p, "hp.ping", [&pinged, i](int round) {
        pinged.add(std::to_string(round) + ":" + std::to_string(i));
      });
      guards.push_back(b.n.mon(p, [&died, i](const reason& why) {
        died.add(std::to_string(i) + " " + why.to_string());
      }));
      ports.push_back(p);
    }
    const std::uint32_t inc = b.n.incarnation();
    for (const auto& p : ports) REQUIRE(p.incarnation() == inc);
    raw_peer peer{b.port(), "sweeper", 77};
    REQUIRE(peer.handshake());
    peer.run(/*reads=*/true);
    // Every port's own number with incarnation 0 (which meant "whatever is current") and
    // with the incarnations beside its own, the node port with the right one; then a ping
    // to each port behind them on the same link.
    frames sweep;
    for (const auto& p : ports) {
      sweep.kill(p.local(), 0, "sweep")
          .kill(p.local(), inc + 1, "sweep")
          .kill(p.local(), inc - 1, "sweep");
    }
    sweep.kill(0, inc, "sweep");
    sweep.def_tag(0, "hp.ping").def_sig(0, {"i32"});
    for (const auto& p : ports) sweep.msg(p, 0, 0, 1);
    REQUIRE(peer.send(sweep.bytes_));
    // A port killed by the sweep would have been marked dead before its ping arrived (the
    // frames are taken in order): every ping handled means none was.
    REQUIRE(pinged.wait_for(count));
    CHECK(died.events().empty());
    // One kill with a port's exact incarnation kills that port, and only it.
    frames exact;
    exact.kill(ports[7].local(), inc, "sweep");
    for (const auto& p : ports) exact.msg(p, 0, 0, 2);
    REQUIRE(peer.send(exact.bytes_));
    REQUIRE(died.wait_for(1));
    REQUIRE(pinged.wait_for(2 * count - 1));
    auto events = died.events();
    REQUIRE(events.size() == 1);
    CHECK(events[0].find("7 sweep") == 0);
    auto all = pinged.events();
    CHECK(!contains(all, "2:7"));
    for (int i = 0; i < count; ++i) {
      if (i != 7) CHECK(contains(all, "2:" + std::to_string(i)));
    }
    // The link is up: the sweep was refused quietly, not treated as an error.
    CHECK(!peer.closed);
    CHECK(contains(b.n.up_nodes(), "sweeper"));
  }

  TEST_CASE(
      "a sweep of the likely port numbers with the incarnation from the node's own hello "
      "kills none of the ports the peer was never told about") {
    tcp_node b{"swh-b", plain()};
    constexpr int count = 20;
    probe pinged, died;
    std::vector<port_id> ports;
    std::vector<monitor> guards;
    for (int i = 0; i < count; ++i) {
      auto p = b.n.port();
      b.n.rcv(p, "hp.ping", [&pinged, i](int) { pinged.add(std::to_string(i)); });
      guards.push_back(b.n.mon(p, [&died, i](const reason&) { died.add(std::to_string(i)); }));
      ports.push_back(p);
    }
    raw_peer peer{b.port(), "sweeper-hello", 78};
    REQUIRE(peer.handshake());
    REQUIRE(peer.node_incarnation == b.n.incarnation());  // public: it is in the hello
    peer.run(/*reads=*/true);
    frames sweep;
    for (std::uint64_t serial = 1; serial <= 32; ++serial) {
      for (std::uint64_t slot = 1; slot < 64; ++slot) {
        sweep.kill(serial << 26 | slot, peer.node_incarnation, "sweep");
      }
    }
    sweep.def_tag(0, "hp.ping").def_sig(0, {"i32"});
    for (const auto& p : ports) sweep.msg(p, 0, 0, 1);
    REQUIRE(peer.send(sweep.bytes_));
    // Every ping handled or every port dead: the sweep has been taken either way.
    CHECK(eventually([&] { return pinged.size() + died.size() >= count; }, 10s));
    MESSAGE(died.size() << " of " << count << " ports killed by the sweep");
    CHECK(died.size() == 0);
    CHECK(pinged.size() == count);
  }

  TEST_CASE(
      "over TCP, a peer's spawn of an init not registered here makes no port, and the ports "
      "spawned for one peer are bounded while they live") {
    tcp_node b{"sp-b", plain()};
    probe started;
    b.n.register_init("hp.hold", [&started](int) { started.add("started"); });
    raw_peer peer{b.port(), "spawner", 91};
    REQUIRE(peer.handshake());
    peer.run(/*reads=*/true);
    const std::uint32_t inc = b.n.incarnation();
    // An init nobody registered: refused (watched: the node says why), no port made.
    auto created = b.n.stats().ports_created;
    frames unknown;
    unknown.def_sig(0, {"i32"}).spawn(minted | 1, "hp.nobody", 0, 5, true);
    REQUIRE(peer.send(unknown.bytes_));
    REQUIRE(eventually([&] { return peer.died_count() >= 1; }, 5s));
    {
      auto d = peer.died()[0];
      CHECK(d.local == (minted | 1));
      CHECK(d.incarnation == inc);
      CHECK(d.why.kind() == "no_such_init");
      CHECK(d.why.detail().find("hp.nobody") != std::string::npos);
    }
    CHECK(b.n.stats().ports_created == created);
    // The bound: node::max_spawned_per_peer ports alive for this peer are made, the next
    // spawn is refused without a port, and a place comes back when one of them dies.
    constexpr std::size_t bound = node::max_spawned_per_peer;
    frames many;
    for (std::size_t i = 0; i < bound + 1; ++i)
      many.spawn(minted | (100 + i), "hp.hold", 0, 1, true);
    REQUIRE(peer.send(many.bytes_));
    REQUIRE(eventually([&] { return peer.died_count() >= 2; }, 10s));
    REQUIRE(started.wait_for(bound, 20s));
    {
      auto d = peer.died()[1];
      CHECK(d.local == (minted | (100 + bound)));
      CHECK(d.why.kind() == "spawn_failed");
      CHECK(d.why.detail().find(std::to_string(bound)) != std::string::npos);
    }
    CHECK(b.n.stats().ports_created == created + bound);
    // The peer kills one of its ports (its exact ID): one more spawn is taken, the next not.
    frames again;
    again.kill(minted | 100, inc, "sweep");
    REQUIRE(peer.send(again.bytes_));
    REQUIRE(eventually([&] { return peer.died_count() >= 3; }, 5s));
    CHECK(peer.died()[2].local == (minted | 100));
    frames more;
    more.spawn(minted | 9000, "hp.hold", 0, 1, true).spawn(minted | 9001, "hp.hold", 0, 1, true);
    REQUIRE(peer.send(more.bytes_));
    REQUIRE(started.wait_for(bound + 1, 5s));
    REQUIRE(eventually([&] { return peer.died_count() >= 4; }, 5s));
    CHECK(peer.died()[3].local == (minted | 9001));
    CHECK(peer.died()[3].why.kind() == "spawn_failed");
    CHECK(b.n.stats().ports_created == created + bound + 1);
    CHECK(!peer.closed);
  }

  TEST_CASE(
      "a peer's spawn of an init not registered here interns nothing and makes no port: "
      "neither its name becomes a tag, nor do arguments that do not decode make a port, and a "
      "name over 1 KiB ends the link") {
    tcp_node b{"spn-b", plain()};
    raw_peer peer{b.port(), "spawner-names", 92};
    REQUIRE(peer.handshake());
    peer.run(/*reads=*/true);
    auto created = b.n.stats().ports_created;
    constexpr int count = 100;
    auto name_of = [](int i) { return "hp.unregistered.init." + std::to_string(i); };
    frames f;
    f.def_sig(0, {"i32"});
    for (int i = 0; i < count; ++i) f.spawn(minted | (10 + i), name_of(i), 0, i, true);
    REQUIRE(peer.send(f.bytes_));
    REQUIRE(eventually([&] { return peer.died_count() >= count; }, 10s));
    for (const auto& d : peer.died()) CHECK(d.why.kind() == "no_such_init");
    int interned = 0;
    for (int i = 0; i < count; ++i) interned += detail::tag_names().find(name_of(i)) != 0;
    CHECK(interned == 0);
    CHECK(b.n.stats().ports_created == created);
    // Arguments of a type this program does not know, for an init nobody registered.
    frames bad;
    bad.def_sig(1, {"hp.no.such.type"}).spawn(minted | 6, "hp.unregistered.bad.args", 1, 0, true);
    REQUIRE(peer.send(bad.bytes_));
    REQUIRE(eventually([&] { return peer.died_count() >= count + 1; }, 5s));
    CHECK(b.n.stats().ports_created == created);
    CHECK(!peer.closed);
    // A name longer than any init's (1 KiB): a bad frame, and nothing of it kept.
    const std::string huge = "hp.huge." + std::string(1 << 20, 'n');
    frames big;
    big.spawn(minted | 5, huge, 0, 1, true);
    REQUIRE(peer.send(big.bytes_));
    CHECK(eventually([&] { return peer.closed.load(); }, 5s));
    CHECK(detail::tag_names().find(huge) == 0);
    CHECK(b.n.stats().ports_created == created);
  }
}
