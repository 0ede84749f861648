// The handshake of protocol version 3 (handshake.hpp) against an attacker on the network:
// a relay between two nodes that share the secret, a squatter on a node's ID, junk hellos,
// oversized frames before the proof, and the keys both ends derive.
// Every socket binds or dials 127.0.0.1; every wait is bounded; nothing sleeps to order.
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
#include <coport/transport/memory_link.hpp>
#include <coport/transport/tcp.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "frame.hpp"
#include "handshake.hpp"
#include "record.hpp"
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

const std::string secret = "Hs7kQ2vX9mLp4RtW8zNc3BdF6gJy1eUa";  // 32 characters, like gensecret's

tp::tcp_options fast(std::string with_secret = secret) {
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  o.heartbeat_interval = 100ms;
  o.node_timeout = 2000ms;
  o.connect_timeout = 2000ms;
  o.secret = std::move(with_secret);
  return o;
}

/// A node with TCP links.
struct tcp_node {
  node n;
  tp::tcp t;
  explicit tcp_node(const char* id, tp::tcp_options o = fast())
      : n{threaded(id)}, t{n, std::move(o)} {}
  void knows(tcp_node& other) { t.add_peer(other.n.id(), other.t.addresses()); }
  std::uint16_t port() const {
    auto a = t.addresses().at(0);
    return static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
  }
};

// -- plain POSIX sockets on 127.0.0.1 (the attacker's) -----------------------------------------

int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, std::span<const std::byte> b) {
  while (!b.empty()) {
    ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    b = b.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads until the peer closes `fd` (true) or `limit` passes (false); what arrives goes to
/// `got` if given.
bool closed_by_peer(int fd, std::chrono::milliseconds limit, bytes* got = nullptr) {
  auto deadline = clock_type::now() + limit;
  std::byte buf[4096];
  while (clock_type::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return true;  // end of stream or reset
    if (got) got->insert(got->end(), buf, buf + n);
  }
  return false;
}

/// Reads one whole frame (kind, body) from `fd` within `limit`; `pending` keeps what follows.
std::optional<std::pair<frame_kind, bytes>> read_frame(int fd, bytes& pending,
                                                       std::chrono::milliseconds limit = 5s) {
  auto deadline = clock_type::now() + limit;
  std::byte buf[4096];
  for (;;) {
    if (pending.size() >= tp::detail::frame_header) {
      std::uint32_t length = tp::detail::frame_length(pending.data());
      if (length == 0 || length > tp::detail::max_handshake_frame) return std::nullopt;
      if (pending.size() - 4 >= length) {
        auto kind = static_cast<frame_kind>(std::to_integer<std::uint8_t>(pending[4]));
        bytes body(pending.begin() + 5, pending.begin() + 4 + length);
        pending.erase(pending.begin(), pending.begin() + 4 + length);
        return std::pair{kind, std::move(body)};
      }
    }
    if (clock_type::now() > deadline) return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    pending.insert(pending.end(), buf, buf + n);
  }
}

// -- frames as a peer (or an attacker) writes them -----------------------------------------------

struct frames {
  bytes bytes_;
  template <class F>
  frames& add(frame_kind k, F&& body) {
    std::size_t start = tp::detail::begin_frame(bytes_, k);
    wire::writer w{bytes_};
    body(w);
    tp::detail::end_frame(bytes_, start);
    return *this;
  }
  /// A well-formed v3 hello (flags 1: "I opened the channel").
  frames& hello(const std::string& id, std::uint32_t inc = 7, std::uint8_t flags = 1) {
    return add(frame_kind::hello, [&](wire::writer& w) {
      w.varint(tp::detail::protocol_version);
      w.string(id);
      w.varint(inc);
      w.varint(tp::detail::nonce_size);
      for (std::size_t i = 0; i < tp::detail::nonce_size; ++i)
        w.byte(static_cast<std::uint8_t>(i * 7));
      w.varint(0);  // no addresses
      w.byte(flags);
    });
  }
  /// A dialer's auth frame with `proof` (any bytes: junk, or none).
  frames& proof(const bytes& proof) {
    return add(frame_kind::auth, [&](wire::writer& w) {
      w.byte(0);
      w.string("");
      w.varint(proof.size());
      w.raw(proof.data(), proof.size());
    });
  }
  frames& def_tag(std::uint64_t slot, const std::string& name) {
    return add(frame_kind::def_tag, [&](wire::writer& w) {
      w.varint(slot);
      w.string(name);
    });
  }
  frames& def_sig(std::uint64_t slot, const std::vector<std::string>& names) {
    return add(frame_kind::def_sig, [&](wire::writer& w) {
      w.varint(slot);
      w.varint(names.size());
      for (const auto& n : names) w.string(n);
    });
  }
  frames& msg(const port_id& to, std::uint64_t tag_slot, std::uint64_t sig_slot, int value) {
    return add(frame_kind::message, [&](wire::writer& w) {
      w.varint(to.local());
      w.varint(to.incarnation());
      w.varint(tag_slot);
      w.varint(sig_slot);
      wire::codec<int>::encode(w, value);
    });
  }
  frames& kill(const port_id& target, std::uint32_t incarnation) {
    reason why{"relay", "forged kill"};
    auto f = tp::detail::control_frame(frame_kind::kill, target.local(), incarnation, &why);
    bytes_.insert(bytes_.end(), f.begin(), f.end());
    return *this;
  }
  frames& spawn(std::uint64_t minted, const std::string& init, std::uint64_t sig_slot, int value) {
    return add(frame_kind::spawn, [&](wire::writer& w) {
      w.varint(minted);
      w.string(init);
      w.byte(0);
      w.varint(sig_slot);
      wire::codec<int>::encode(w, value);
    });
  }
  /// Only a frame header: `length` announced, `kind`, no body.
  frames& header(std::uint32_t length, std::uint8_t kind) {
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::byte>(length >> (8 * i)));
    bytes_.push_back(static_cast<std::byte>(kind));
    return *this;
  }
};

/// A channel that keeps what the node writes.
struct capture_channel : tp::channel {
  bytes written;
  bool closed = false;
  std::string why;
  bool write(std::span<const std::byte> b) override {
    if (closed) return false;
    written.insert(written.end(), b.begin(), b.end());
    return true;
  }
  void close(const std::string& w) override {
    closed = true;
    why = w;
  }
};

// -- the relay: an attacker between two nodes ------------------------------------------------

/// Follows one direction of a channel frame by frame until its sender's auth frame; what
/// follows is that sender's records.
struct stream_scan {
  bytes seen;              ///< the stream up to the auth frame (small: hellos and proofs)
  std::size_t parsed = 0;  ///< where the next frame starts in `seen`
  std::size_t total = 0;   ///< bytes of the stream so far
  std::optional<std::size_t> auth_end;  ///< where the auth frame ends in the stream
  /// Takes the next chunk; returns how many of its bytes are frames (the rest: records).
  std::size_t take(std::span<const std::byte> chunk) {
    std::size_t start = total;
    total += chunk.size();
    if (auth_end) return 0;
    seen.insert(seen.end(), chunk.begin(), chunk.end());
    while (seen.size() - parsed >= tp::detail::frame_header) {
      std::uint32_t length = tp::detail::frame_length(seen.data() + parsed);
      if (seen.size() - parsed - 4 < length) break;
      auto kind = static_cast<frame_kind>(std::to_integer<std::uint8_t>(seen[parsed + 4]));
      parsed += 4 + length;
      if (kind == frame_kind::auth) {
        auth_end = parsed;
        break;
      }
    }
    return auth_end ? *auth_end - start : chunk.size();
  }
};

/// Listens on 127.0.0.1 for one connection (from B, who was told A is here), dials A, and
/// forwards both ways, frame-aware until each side's auth frame. Then, by mode:
///   forward: goes on forwarding (a transparent wire: the control);
///   inject:  drops B's records and writes `injection` (plain frames) to A itself;
///   inject_to_dialer: drops A's records and writes `injection` to B, in the same send as
///            A's verdict (B reads the end of the handshake and the forgery together);
///   flip:    flips one bit in the body of B's first record.
/// When either side closes, it closes the other.
class relay {
 public:
  enum class mode { forward, inject, inject_to_dialer, flip };

  relay(std::uint16_t a_port, mode m, bytes injection = {})
      : a_port_{a_port}, mode_{m}, injection_{std::move(injection)} {
    listener_ = listen_loopback(port_);
    thread_ = std::thread{[this] { run(); }};
  }
  ~relay() {
    stop_ = true;
    thread_.join();
  }
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::atomic<bool> b_authed{false}, a_authed{false}, injected{false}, flipped{false},
      a_closed{false}, b_closed{false}, done{false};
  std::atomic<std::size_t> b_records_dropped{0}, b_records_forwarded{0};

 private:
  void run() {
    auto deadline = clock_type::now() + 20s;
    int b = -1;
    while (!stop_ && clock_type::now() < deadline) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 10) > 0) {
        b = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        break;
      }
    }
    ::close(listener_);  // one connection: B's later dials find nobody here
    if (b < 0) {
      done = true;
      return;
    }
    int one = 1;
    ::setsockopt(b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int a = connect_loopback(a_port_);
    if (a < 0) {
      ::close(b);
      done = true;
      return;
    }
    stream_scan from_b, from_a;
    std::size_t b_record_bytes = 0;  // of B's records so far
    std::byte buf[64 << 10];
    while (!stop_ && clock_type::now() < deadline) {
      pollfd p[2] = {{b, POLLIN, 0}, {a, POLLIN, 0}};
      if (::poll(p, 2, 10) <= 0) continue;
      if (p[0].revents) {
        ssize_t n = ::recv(b, buf, sizeof buf, 0);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
          b_closed = true;
          break;
        }
        if (n > 0) {
          std::span<std::byte> chunk{buf, static_cast<std::size_t>(n)};
          std::size_t frames_part = from_b.take(chunk);
          if (from_b.auth_end) b_authed = true;
          write_all(a, chunk.first(frames_part));
          auto records = chunk.subspan(frames_part);
          std::size_t record_start = b_record_bytes;  // where `records` starts in B's records
          b_record_bytes += records.size();
          if (!records.empty()) {
            if (mode_ == mode::inject) {
              b_records_dropped += records.size();
            } else {
              // The first record's body starts at record offset 4: flip a bit of its 2nd byte.
              std::size_t at = tp::detail::record_header + 1;
              if (mode_ == mode::flip && !flipped && record_start <= at &&
                  at < record_start + records.size()) {
                records[at - record_start] ^= std::byte{0x04};
                flipped = true;
              }
              b_records_forwarded += records.size();
              write_all(a, records);
            }
          }
        }
      }
      if (p[1].revents) {
        ssize_t n = ::recv(a, buf, sizeof buf, 0);
        if (n <= 0 && !(n < 0 && errno == EINTR)) {
          a_closed = true;
          break;
        }
        if (n > 0) {
          std::span<std::byte> chunk{buf, static_cast<std::size_t>(n)};
          std::size_t frames_part = from_a.take(chunk);
          if (from_a.auth_end) a_authed = true;
          if (mode_ == mode::inject && from_a.auth_end && !injected) {
            // A has sent its verdict: the handshake is over. From here A reads records from
            // B; the attacker writes its own frames instead.
            write_all(a, injection_);
            injected = true;
          }
          if (mode_ == mode::inject_to_dialer && from_a.auth_end) {
            if (!injected) {
              // A's verdict, and right behind it the attacker's frames instead of A's records.
              bytes out(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(frames_part));
              out.insert(out.end(), injection_.begin(), injection_.end());
              write_all(b, out);
              injected = true;
            }
            continue;  // A's records: dropped
          }
          write_all(b, chunk);
        }
      }
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
    ::close(a);
    ::close(b);
    done = true;
  }

  const std::uint16_t a_port_;
  const mode mode_;
  const bytes injection_;
  std::uint16_t port_ = 0;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// Node events arrive as jobs on a node's workers: in any order (outside a port).
bool seen(const probe& p, const std::string& event) {
  auto all = p.events();
  return std::find(all.begin(), all.end(), event) != all.end();
}
std::vector<std::string> sorted(const probe& p) {
  auto all = p.events();
  std::sort(all.begin(), all.end());
  return all;
}

/// Waits until a line of the log contains `what` (and `also`, if given).
bool logged(const log_capture& log, const std::string& what, const std::string& also = {},
            std::chrono::milliseconds limit = 5s) {
  return eventually(
      [&] {
        std::string text = log.text();
        for (std::size_t at = 0; at < text.size();) {
          std::size_t end = text.find('\n', at);
          if (end == std::string::npos) end = text.size();
          std::string_view line{text.data() + at, end - at};
          if (line.find(what) != line.npos && line.find(also) != line.npos) return true;
          at = end + 1;
        }
        return false;
      },
      limit);
}

}  // namespace

TEST_SUITE("transport.handshake") {
  TEST_CASE(
      "a relay that forwards two nodes' real handshake and then writes its own frames to "
      "one: the handshake succeeds, the injected message, kill and spawn are refused, the "
      "refusal is logged and both ends see the link end") {
    log_capture log;
    tcp_node a{"relay-a"}, b{"relay-b"};
    probe a_nodes, b_nodes;
    auto sa = a.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      a_nodes.add(id + (up ? " up" : " down"));
    });
    auto sb = b.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      b_nodes.add(id + (up ? " up" : " down"));
    });
    probe delivered, alive, spawned, died_at_a, died_at_b;
    auto p = a.n.port();
    a.n.rcv(p, "relay.x", [&](int v) { delivered.add("relay.x " + std::to_string(v)); });
    a.n.rcv(p, "n", [&](int v) { delivered.add("n " + std::to_string(v)); });
    a.n.rcv(p, "alive", [&] { alive.add("alive"); });
    a.n.register_init("relay.init", [&](int) { spawned.add("spawned"); });
    auto a_guard = a.n.mon(p, [&](const reason& why) { died_at_a.add(why.to_string()); });
    // What the attacker writes to A once the handshake is over: plain frames, as B would
    // have sent them before protocol version 3.
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 4242;
    frames injection;
    injection.def_tag(0, "relay.x")
        .def_sig(0, {"i32"})
        .msg(p, 0, 0, 666)
        .kill(p, a.n.incarnation())
        .spawn(minted, "relay.init", 0, 1);
    relay r{a.port(), relay::mode::inject, injection.bytes_};
    b.t.add_peer("relay-a", {r.address()});  // B believes A is where the attacker listens
    auto b_guard = b.n.mon(p, [&](const reason& why) { died_at_b.add(why.to_string()); });
    b.n.snd(p, "n", 1);  // B dials "A": the attacker
    // Both proofs checked out through the relay: both nodes took the link as up.
    CHECK(eventually([&] { return seen(a_nodes, "relay-b up"); }));
    CHECK(eventually([&] { return seen(b_nodes, "relay-a up"); }));
    CHECK(eventually([&] { return r.injected.load(); }, 5s));
    CHECK(r.b_authed);
    CHECK(r.a_authed);
    // A refused the first forged record, said so, and ended the link.
    CHECK(logged(log, "node relay-a: ending the channel", "failed authentication"));
    CHECK(eventually([&] { return seen(a_nodes, "relay-b down"); }));
    CHECK(eventually([&] { return r.done.load(); }, 5s));
    CHECK(r.a_closed);
    // B sees it too: its monitor of A's port fires and A is down.
    REQUIRE(died_at_b.wait_for(1));
    CHECK(died_at_b.events()[0].find("transport_error") != std::string::npos);
    CHECK(eventually([&] { return seen(b_nodes, "relay-a down"); }));
    CHECK(sorted(a_nodes) == std::vector<std::string>{"relay-b down", "relay-b up"});
    CHECK(sorted(b_nodes) == std::vector<std::string>{"relay-a down", "relay-a up"});
    // Nothing of it took effect at A: the port is alive and got nothing (a local message
    // sent now comes after anything the link had delivered), no monitor fired, nothing was
    // spawned.
    a.n.snd(p, "alive");
    REQUIRE(alive.wait_for(1));
    CHECK(delivered.events().empty());
    CHECK(died_at_a.events().empty());
    probe spawned_port;
    auto s_guard = a.n.mon(detail::make_port_id(p.node_number(), minted, a.n.incarnation()),
                           [&](const reason& why) { spawned_port.add(why.to_string()); });
    REQUIRE(spawned_port.wait_for(1));
    CHECK(spawned_port.events()[0].find("no_such_port") != std::string::npos);
    CHECK(spawned.events().empty());
  }

  TEST_CASE(
      "a relay that writes its own frames to the dialer right behind the acceptor's verdict: "
      "the dialer refuses them, logs it and ends the link") {
    log_capture log;
    tcp_node a{"relay2-a"}, b{"relay2-b"};
    probe b_nodes, delivered, alive, spawned, died_at_b;
    auto sb = b.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      b_nodes.add(id + (up ? " up" : " down"));
    });
    auto pb = b.n.port();
    b.n.rcv(pb, "relay.x", [&](int v) { delivered.add("relay.x " + std::to_string(v)); });
    b.n.rcv(pb, "alive", [&] { alive.add("alive"); });
    b.n.register_init("relay.init", [&](int) { spawned.add("spawned"); });
    auto local_guard = b.n.mon(pb, [&](const reason& why) { died_at_b.add(why.to_string()); });
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 4343;
    frames injection;
    injection.def_tag(0, "relay.x")
        .def_sig(0, {"i32"})
        .msg(pb, 0, 0, 666)
        .kill(pb, b.n.incarnation())
        .spawn(minted, "relay.init", 0, 1);
    relay r{a.port(), relay::mode::inject_to_dialer, injection.bytes_};
    b.t.add_peer("relay2-a", {r.address()});
    auto pa = a.n.port();
    probe died_remote;
    auto remote_guard = b.n.mon(pa, [&](const reason& why) { died_remote.add(why.to_string()); });
    CHECK(eventually([&] { return r.injected.load(); }, 5s));
    CHECK(logged(log, "node relay2-b: ending the channel", "failed authentication"));
    REQUIRE(died_remote.wait_for(1));
    CHECK(died_remote.events()[0].find("transport_error") != std::string::npos);
    REQUIRE(b_nodes.wait_for(2));
    CHECK(sorted(b_nodes) == std::vector<std::string>{"relay2-a down", "relay2-a up"});
    b.n.snd(pb, "alive");
    REQUIRE(alive.wait_for(1));
    CHECK(delivered.events().empty());
    CHECK(died_at_b.events().empty());
    probe spawned_port;
    auto s_guard = b.n.mon(detail::make_port_id(pb.node_number(), minted, b.n.incarnation()),
                           [&](const reason& why) { spawned_port.add(why.to_string()); });
    REQUIRE(spawned_port.wait_for(1));
    CHECK(spawned_port.events()[0].find("no_such_port") != std::string::npos);
    CHECK(spawned.events().empty());
  }

  TEST_CASE("a relay that only forwards is a transparent wire: messages cross both ways") {
    // The control of the relay tests: the attacker's relay works, so what fails above fails
    // because of the records, not the relay.
    tcp_node a{"fwd-a"}, b{"fwd-b"};
    relay r{a.port(), relay::mode::forward};
    b.t.add_peer("fwd-a", {r.address()});
    probe at_a, at_b;
    auto pa = a.n.port();
    auto pb = b.n.port();
    a.n.rcv(pa, "n", [&](int v) {
      at_a.add(std::to_string(v));
      a.n.snd(pb, "back", v);
    });
    b.n.rcv(pb, "back", [&](int v) { at_b.add(std::to_string(v)); });
    for (int i = 0; i < 20; ++i) b.n.snd(pa, "n", i);
    REQUIRE(at_a.wait_for(20));
    REQUIRE(at_b.wait_for(20));
    CHECK(r.b_authed);
    CHECK(r.a_authed);
    CHECK(r.b_records_forwarded > 0);
    CHECK(a.t.stats().accepted == 1);  // the relay's connection: the only one
    CHECK(a.t.stats().dialed == 0);
  }

  TEST_CASE(
      "a relay that flips one bit of a record after the handshake ends the link, and the "
      "message in that record is never delivered") {
    log_capture log;
    tcp_node a{"flip-a"}, b{"flip-b"};
    relay r{a.port(), relay::mode::flip};
    b.t.add_peer("flip-a", {r.address()});
    probe at_a, died_at_b;
    auto pa = a.n.port();
    a.n.rcv(pa, "n", [&](int v) { at_a.add(std::to_string(v)); });
    a.n.rcv(pa, "alive", [&] { at_a.add("alive"); });
    auto guard = b.n.mon(pa, [&](const reason& why) { died_at_b.add(why.to_string()); });
    b.n.snd(pa, "n", 1);
    CHECK(eventually([&] { return r.flipped.load(); }, 5s));
    CHECK(logged(log, "node flip-a: ending the channel", "failed authentication"));
    REQUIRE(died_at_b.wait_for(1));
    CHECK(eventually([&] { return r.done.load(); }, 5s));
    a.n.snd(pa, "alive");
    REQUIRE(at_a.wait_for(1));
    CHECK(at_a.events() == std::vector<std::string>{"alive"});
  }

  TEST_CASE(
      "a squatter that says hello with a node's ID and proves nothing holds no slot: the real "
      "node connects meanwhile, and the squatter's junk proof later disturbs nothing") {
    log_capture log;
    auto patient = fast();
    patient.connect_timeout = 10s;  // A's handshake deadline: the squatter outlives the test
    tcp_node a{"sq-a", patient}, c{"sq-c"};
    c.knows(a);
    probe hellos;
    a.t.protocol().observe([&](const tp::frame_event& e) {
      if (e.kind == "hello") hellos.add(e.kind);
    });
    // The squatter: a valid v3 hello in C's name (C's own incarnation even), then nothing.
    int squatter = connect_loopback(a.port());
    REQUIRE(squatter >= 0);
    tp::detail::handshake fake{"not the secret, but 22+ characters long", true, false};
    REQUIRE(write_all(squatter, fake.hello_frame("sq-c", c.n.incarnation(), {})));
    REQUIRE(hellos.wait_for(1));  // A has read it: the squatter's channel is pending on "sq-c"
    // The real C connects while it is pending, and is taken.
    probe at_a, at_c, a_nodes, c_nodes, died_at_a, died_at_c;
    auto pa = a.n.port();
    a.n.rcv(pa, "n", [&](int v) { at_a.add(std::to_string(v)); });
    auto pc = c.n.port();
    c.n.rcv(pc, "m", [&](int v) { at_c.add(std::to_string(v)); });
    c.n.snd(pa, "n", 1);
    REQUIRE(at_a.wait_for(1));
    CHECK(a.n.up_nodes() == std::vector<std::string>{"sq-c"});
    // Now C is connected: watches both ways, node-down events (an up event of this link
    // may still come: the node reports it after it sent what waited).
    auto sa = a.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      if (!up) a_nodes.add(id + " down");
    });
    auto sc = c.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      if (!up) c_nodes.add(id + " down");
    });
    auto ga = a.n.mon(pc, [&](const reason& why) { died_at_a.add(why.to_string()); });
    auto gc = c.n.mon(pa, [&](const reason& why) { died_at_c.add(why.to_string()); });
    c.n.snd(pa, "n", 2);
    a.n.snd(pc, "m", 1);
    REQUIRE(at_a.wait_for(2));
    REQUIRE(at_c.wait_for(1));
    // The squatter goes on: a proof under a wrong secret, over A's real hello.
    bytes pending;
    auto a_hello = read_frame(squatter, pending);
    REQUIRE(a_hello.has_value());
    REQUIRE(a_hello->first == frame_kind::hello);
    fake.take_hello(a_hello->second, "sq-c");
    REQUIRE(write_all(squatter, fake.proof_frame()));
    // A answers "bad proof" and proves nothing (no oracle for guessing the secret offline),
    // then closes.
    auto verdict = read_frame(squatter, pending);
    REQUIRE(verdict.has_value());
    CHECK(verdict->first == frame_kind::auth);
    {
      wire::reader rd{std::span<const std::byte>{verdict->second}};
      CHECK(rd.byte() == static_cast<std::uint8_t>(tp::detail::verdict::bad_proof));
      rd.string_view();
      CHECK(rd.varint() == 0);  // no proof
    }
    CHECK(closed_by_peer(squatter, 5s));
    ::close(squatter);
    // A second squatter, after C is connected: hello and a junk proof at once.
    int second = connect_loopback(a.port());
    REQUIRE(second >= 0);
    frames junk;
    junk.hello("sq-c", c.n.incarnation()).proof(bytes(32, std::byte{0x5a}));
    REQUIRE(write_all(second, junk.bytes_));
    CHECK(closed_by_peer(second, 5s));
    ::close(second);
    CHECK(logged(log, "authentication of a node calling itself sq-c failed"));
    // The link is undisturbed: messages flow both ways, no monitor fired, no node went down,
    // C did not have to connect again.
    c.n.snd(pa, "n", 3);
    a.n.snd(pc, "m", 2);
    REQUIRE(at_a.wait_for(3));
    REQUIRE(at_c.wait_for(2));
    CHECK(at_a.events() == std::vector<std::string>{"1", "2", "3"});
    CHECK(died_at_a.events().empty());
    CHECK(died_at_c.events().empty());
    CHECK(a_nodes.events().empty());
    CHECK(c_nodes.events().empty());
    CHECK(c.t.stats().dialed == 1);
    CHECK(a.t.protocol().stats().refused >= 2);
    CHECK(a.n.up_nodes() == std::vector<std::string>{"sq-c"});
    a.t.protocol().observe(nullptr);
  }

  TEST_CASE(
      "20 000 hellos with distinct node IDs and no valid proof intern none of the IDs, and a "
      "real node still connects") {
    log_capture log;  // the refusals are logged
    tp::transport_options o;
    o.secret = secret;
    node b{stepped("junk-b")};
    tp::transport tb{b, o};
    constexpr int count = 20'000;
    auto id_of = [](int i) { return "junk-hello-" + std::to_string(i); };
    auto start = clock_type::now();
    int refused_here = 0;
    for (int i = 0; i < count; ++i) {
      auto ch = std::make_shared<capture_channel>();
      auto h = tb.attach(ch);
      frames f;
      f.hello(id_of(i), static_cast<std::uint32_t>(i + 1));
      if (i % 3 == 1) f.proof(bytes(32, std::byte{static_cast<unsigned char>(i)}));  // junk
      if (i % 3 == 2) f.proof({});  // "I have no secret"
      h->on_bytes(f.bytes_);
      if (ch->closed) {
        ++refused_here;
      } else {
        h->on_closed("the attacker went away");  // the hello alone: pending until closed
      }
    }
    b.run_until_idle();
    auto took = clock_type::now() - start;
    MESSAGE("20 000 junk hellos took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    int interned = 0;
    for (int i = 0; i < count; ++i) interned += detail::node_names().find(id_of(i)) != 0;
    CHECK(interned == 0);
    CHECK(refused_here == count * 2 / 3);
    CHECK(tb.stats().refused == static_cast<std::size_t>(refused_here));
    CHECK(b.up_nodes().empty());
    // A real node with the secret connects and is heard.
    node a{stepped("junk-a")};
    tp::transport ta{a, o};
    std::vector<int> got;
    auto pb = b.port();
    b.rcv(pb, "n", [&](int v) { got.push_back(v); });
    auto link = tp::memory_link::connect(ta, tb, /*manual=*/true);
    a.snd(pb, "n", 5);
    for (int round = 0; round < 100 && got.empty(); ++round) {
      a.run_until_idle();
      b.run_until_idle();
      link->deliver_all();
    }
    CHECK(got == std::vector<int>{5});
    CHECK(b.up_nodes() == std::vector<std::string>{"junk-a"});
  }

  TEST_CASE(
      "a frame over 8 KiB before the handshake ends closes the channel after its 5 header "
      "bytes, with or without a secret, whole or split") {
    log_capture log;  // each is logged
    struct big_case {
      const char* what;
      frames before;
      std::uint32_t length;
      std::uint8_t kind;
    };
    std::vector<big_case> cases;
    cases.push_back({"a 64 MiB hello first", {}, 64u << 20, 1});
    cases.push_back({"a hello of 8 KiB + 2", {}, tp::detail::max_handshake_frame + 2, 1});
    cases.push_back({"a 2 GiB frame of unknown kind first", {}, 0x80000000u, 99});
    {
      frames f;
      f.hello("big-a");
      cases.push_back({"a 64 MiB auth after a valid hello", f, 64u << 20, 13});
      cases.push_back({"a 1 MiB message after a valid hello", f, 1u << 20, 5});
      cases.push_back({"a 4 GiB auth after a valid hello", f, 0xffffffffu, 13});
    }
    for (const std::string& with : {std::string{}, secret}) {
      tp::transport_options o;
      o.secret = with;
      node b{stepped("big-b")};
      tp::transport tb{b, o};
      for (const auto& c : cases) {
        for (bool split : {false, true}) {
          INFO(c.what << (with.empty() ? ", no secret" : ", with a secret")
                      << (split ? ", the header in two reads" : ""));
          auto ch = std::make_shared<capture_channel>();
          auto h = tb.attach(ch);
          if (!c.before.bytes_.empty()) h->on_bytes(c.before.bytes_);
          REQUIRE(!ch->closed);
          frames head;
          head.header(c.length, c.kind);
          std::span<const std::byte> hb{head.bytes_};
          if (split) {
            h->on_bytes(hb.first(3));
            CHECK(!ch->closed);
            h->on_bytes(hb.subspan(3));
          } else {
            h->on_bytes(hb);
          }
          // Closed with only the header read: nothing of the announced size was awaited.
          CHECK(ch->closed);
          CHECK(ch->why.find("before the handshake ends") != std::string::npos);
          CHECK(ch->why.find(std::to_string(c.length)) != std::string::npos);
          h->on_closed("gone");
        }
      }
      b.run_until_idle();
      CHECK(tb.stats().bad_frames == cases.size() * 2);
    }
  }

  TEST_CASE(
      "before the proof only hello and auth frames are read: a message, kill, spawn or watch "
      "there ends the channel on either side and takes no effect") {
    log_capture log;
    tp::transport_options o;
    o.secret = secret;
    node b{stepped("pre-b")};
    tp::transport tb{b, o};
    probe delivered, died, spawned;
    auto p = b.port();
    b.rcv(p, "x", [&](int v) { delivered.add(std::to_string(v)); });
    b.register_init("pre.init", [&](int) { spawned.add("spawned"); });
    auto guard = b.mon(p, [&](const reason& why) { died.add(why.to_string()); });
    b.run_until_idle();
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 99;
    std::vector<std::pair<const char*, frames>> after_hello;
    after_hello.push_back({"def_tag", frames{}.def_tag(0, "x")});
    after_hello.push_back(
        {"message", frames{}.def_tag(0, "x").def_sig(0, {"i32"}).msg(p, 0, 0, 1)});
    after_hello.push_back({"kill", frames{}.kill(p, b.incarnation())});
    after_hello.push_back({"spawn", frames{}.def_sig(0, {"i32"}).spawn(minted, "pre.init", 0, 1)});
    after_hello.push_back({"watch", frames{}.add(frame_kind::watch, [&](wire::writer& w) {
                             w.varint(p.local());
                             w.varint(p.incarnation());
                           })});
    std::size_t ended = 0;
    for (bool dialer_side : {false, true}) {
      for (auto& [what, f] : after_hello) {
        INFO(what << (dialer_side ? " to the dialer, before the verdict"
                                  : " to the acceptor, before the proof"));
        auto ch = std::make_shared<capture_channel>();
        // The dialer side: b opened the channel to "pre-a" and waits for its verdict.
        auto h = dialer_side ? tb.attach(ch, "pre-a") : tb.attach(ch);
        frames all;
        all.hello("pre-a", 7, dialer_side ? 0 : 1);
        all.bytes_.insert(all.bytes_.end(), f.bytes_.begin(), f.bytes_.end());
        h->on_bytes(all.bytes_);
        b.run_until_idle();
        CHECK(ch->closed);
        ended += ch->closed;
        h->on_closed("gone");
        b.run_until_idle();
      }
    }
    CHECK(tb.stats().bad_frames == ended);
    CHECK(delivered.events().empty());
    CHECK(died.events().empty());
    CHECK(spawned.events().empty());
  }

  TEST_CASE(
      "over TCP, an oversized frame after a hello is cut at once, long before the handshake "
      "deadline, and the node serves others") {
    log_capture log;
    auto o = fast();
    o.connect_timeout = 10s;  // the handshake deadline: the cut must come from the size
    tcp_node b{"bigtcp-b", o};
    int s = connect_loopback(b.port());
    REQUIRE(s >= 0);
    frames f;
    f.hello("bigtcp-a").header(64u << 20, 13);
    REQUIRE(write_all(s, f.bytes_));
    auto start = clock_type::now();
    CHECK(closed_by_peer(s, 5s));
    CHECK(clock_type::now() - start < 5s);
    ::close(s);
    CHECK(logged(log, "before the handshake ends"));
    tcp_node a{"bigtcp-a", o};
    a.knows(b);
    probe got;
    auto pb = b.n.port();
    b.n.rcv(pb, "n", [&](int v) { got.add(std::to_string(v)); });
    a.n.snd(pb, "n", 1);
    REQUIRE(got.wait_for(1));
  }

  TEST_CASE(
      "the two ends derive the same keys crosswise, one per direction, new ones each channel, "
      "a wrong secret's proof and a forged verdict fail, a reflected record fails") {
    struct pair_of {
      tp::detail::handshake d, a;
      bytes d_hello, a_hello;
      pair_of(const std::string& ds, const std::string& as)
          : d{ds, true, false}, a{as, false, false} {
        auto hd = d.hello_frame("hk-d", 1, {});
        auto ha = a.hello_frame("hk-a", 2, {});
        d_hello.assign(hd.begin() + tp::detail::frame_header, hd.end());
        a_hello.assign(ha.begin() + tp::detail::frame_header, ha.end());
        d.take_hello(a_hello, "hk-d");
        a.take_hello(d_hello, "hk-a");
      }
    };
    auto body = [](const bytes& frame) {
      return bytes(frame.begin() + tp::detail::frame_header, frame.end());
    };
    pair_of one{secret, secret};
    CHECK(one.d.dialer());
    CHECK(!one.a.dialer());
    {
      bytes proof = body(one.d.proof_frame());
      wire::reader r{std::span<const std::byte>{proof}};
      CHECK(one.a.check_proof(r) == "");
    }
    bytes verdict = body(one.a.verdict_frame(tp::detail::verdict::accept, ""));
    {
      wire::reader r{std::span<const std::byte>{verdict}};
      std::string error;
      auto v = one.d.check_verdict(r, error);
      CHECK(error == "");
      CHECK(v.what == tp::detail::verdict::accept);
    }
    {
      // The verdict changed on the way ("busy" instead of "accept"): its proof fails.
      bytes forged = verdict;
      forged[0] = static_cast<std::byte>(tp::detail::verdict::busy);
      wire::reader r{std::span<const std::byte>{forged}};
      std::string error;
      one.d.check_verdict(r, error);
      CHECK(error != "");
    }
    auto kd = one.d.keys(), ka = one.a.keys();
    REQUIRE(kd.has_value());
    REQUIRE(ka.has_value());
    CHECK(kd->send.key == ka->receive.key);
    CHECK(kd->send.iv == ka->receive.iv);
    CHECK(kd->receive.key == ka->send.key);
    CHECK(kd->send.key != kd->receive.key);
    CHECK(!kd->encrypt);
    // Another channel between the same nodes: new nonces, new keys.
    pair_of two{secret, secret};
    auto kd2 = two.d.keys();
    REQUIRE(kd2.has_value());
    CHECK(kd2->send.key != kd->send.key);
    CHECK(kd2->receive.key != kd->receive.key);
    // A record reflected to its sender fails; sent on, it opens.
    struct sink : tp::detail::record_opener::sink {
      int n = 0;
      void on_plain(std::span<const std::byte>) override { ++n; }
    } to;
    tp::detail::record_sealer seal{kd->send, false};
    bytes rec;
    seal.seal(bytes(10, std::byte{1}), rec);
    bytes copy = rec;
    tp::detail::record_opener own{kd->receive, false}, peer{ka->receive, false};
    CHECK(own.open(copy, to) != "");
    CHECK(to.n == 0);
    CHECK(peer.open(rec, to) == "");
    CHECK(to.n == 1);
    // A wrong secret: the acceptor refuses the proof.
    pair_of wrong{"another secret, also 22+ characters", secret};
    bytes proof = body(wrong.d.proof_frame());
    wire::reader r{std::span<const std::byte>{proof}};
    CHECK(wrong.a.check_proof(r) != "");
  }
}
