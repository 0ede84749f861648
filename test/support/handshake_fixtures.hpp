#pragma once
/// \file
/// Fixtures of the tests that speak raw frames (test/transport/handshake_test.cpp,
/// relay_test.cpp, hostile_peer_test.cpp, frames_test.cpp): TCP nodes with a secret, raw
/// loopback sockets, a builder of frames as a peer writes them, a channel that keeps what a
/// node writes, a scanner of a byte stream's frames, and a relay that sits between two nodes
/// and can forward, drop or inject.
/// Threading: as each fixture says. Lifetime: a test's.
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
#include <concepts>
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

namespace coport::test::hs {

namespace tp = coport::transport;
using tp::detail::frame_kind;

using bytes = std::vector<std::byte>;
using clock_type = std::chrono::steady_clock;

const std::string secret = "Hs7kQ2vX9mLp4RtW8zNc3BdF6gJy1eUa";  // 32 characters, like gensecret's

inline tp::tcp_options fast(std::string with_secret = secret) {
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

inline int listen_loopback(std::uint16_t& port) {
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

inline int connect_loopback(std::uint16_t port) {
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

inline bool write_all(int fd, std::span<const std::byte> b) {
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
inline bool closed_by_peer(int fd, std::chrono::milliseconds limit, bytes* got = nullptr) {
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
inline std::optional<std::pair<frame_kind, bytes>> read_frame(
    int fd, bytes& pending, std::chrono::milliseconds limit = 5s) {
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
  /// A well-formed hello (flags 1: "I opened the channel"), of a peer that speaks versions
  /// `min_version`..`version` (0: just `version`) with `capabilities` (by default all but
  /// resume: a raw peer sends no resume frame unless it says so); `more`: bytes after
  /// them (a newer peer's). A `version` below 5 writes the hello as far as its version (a
  /// peer of an older protocol: what follows is not read).
  frames& hello(const std::string& id, std::uint32_t inc = 7, std::uint8_t flags = 1,
                std::uint64_t version = tp::detail::protocol_version, std::uint64_t min_version = 0,
                std::uint64_t capabilities = tp::detail::own_capabilities &
                                             ~tp::detail::capability_resume,
                const bytes& more = {}) {
    return add(frame_kind::hello, [&](wire::writer& w) {
      w.varint(version);
      w.string(id);
      w.varint(inc);
      w.varint(tp::detail::nonce_size);
      for (std::size_t i = 0; i < tp::detail::nonce_size; ++i)
        w.byte(static_cast<std::uint8_t>(i * 7));
      w.varint(0);  // no addresses
      w.byte(flags);
      if (version < 5) return;
      w.varint(min_version ? min_version : version);
      w.varint(capabilities);
      w.varint(0);  // nothing of its application
      w.raw(more.data(), more.size());
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
  /// A message whose values `values` writes (any bytes).
  template <std::invocable<wire::writer&> F>
  frames& msg(const port_id& to, std::uint64_t tag_slot, std::uint64_t sig_slot, F&& values) {
    return add(frame_kind::message, [&](wire::writer& w) {
      w.varint(to.local());
      w.varint(to.incarnation());
      w.varint(tag_slot);
      w.varint(sig_slot);
      values(w);
    });
  }
  frames& msg(const port_id& to, std::uint64_t tag_slot, std::uint64_t sig_slot, int value) {
    return msg(to, tag_slot, sig_slot,
               [&](wire::writer& w) { wire::codec<int>::encode(w, value); });
  }
  /// A fragment of large record `id` (`total` given on the first).
  frames& fragment(std::uint8_t flags, std::uint64_t id, std::uint64_t total,
                   std::span<const std::byte> piece) {
    return add(frame_kind::fragment, [&](wire::writer& w) {
      w.byte(flags);
      w.varint(id);
      if (flags & 1) w.varint(total);
      w.raw(piece.data(), piece.size());
    });
  }
  /// A frame of kind `k` that names only port `p` (watch, unwatch, lost_ack).
  frames& control(frame_kind k, const port_id& p) {
    return add(k, [&](wire::writer& w) {
      w.varint(p.local());
      w.varint(p.incarnation());
    });
  }
  /// The dialer's auth frame without a proof (no secret).
  frames& no_proof() { return proof({}); }
  /// A kill of local port `local`, with a reason of kind `kind`.
  frames& kill(std::uint64_t local, std::uint32_t incarnation, const std::string& kind = "forged") {
    reason why{kind, "a kill from a hostile peer"};
    auto f = tp::detail::control_frame(frame_kind::kill, local, incarnation, &why);
    bytes_.insert(bytes_.end(), f.begin(), f.end());
    return *this;
  }
  frames& kill(const port_id& target, std::uint32_t incarnation) {
    return kill(target.local(), incarnation);
  }
  /// A spawn; `watched`: the node answers `died` when the port dies or is refused.
  frames& spawn(std::uint64_t minted, const std::string& init, std::uint64_t sig_slot, int value,
                bool watched = false) {
    return add(frame_kind::spawn, [&](wire::writer& w) {
      w.varint(minted);
      w.string(init);
      w.byte(watched ? 1 : 0);
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
  /// The reason in the last `died` frame written (or a normal reason if there is none).
  reason last_died() const {
    reason found;
    std::size_t pos = 0;
    while (written.size() - pos >= 5) {
      std::uint32_t len = tp::detail::frame_length(written.data() + pos);
      if (static_cast<frame_kind>(std::to_integer<int>(written[pos + 4])) == frame_kind::died) {
        wire::reader r{std::span<const std::byte>{written}.subspan(pos + 5, len - 1)};
        r.varint();
        r.varint();
        wire::codec<reason>::decode(r, found);
      }
      pos += 4 + len;
    }
    return found;
  }
  /// The kinds of the frames written so far (and forgets them).
  std::vector<frame_kind> take_kinds() {
    std::vector<frame_kind> kinds;
    std::size_t pos = 0;
    while (written.size() - pos >= 5) {
      std::uint32_t len = tp::detail::frame_length(written.data() + pos);
      kinds.push_back(static_cast<frame_kind>(std::to_integer<int>(written[pos + 4])));
      pos += 4 + len;
    }
    written.clear();
    return kinds;
  }
};

/// A real node (stepped) behind a channel the test plays byte by byte, as a peer would.
struct raw_peer {
  node n;
  tp::endpoint t;
  std::shared_ptr<capture_channel> ch = std::make_shared<capture_channel>();
  std::shared_ptr<tp::channel_handler> h;
  explicit raw_peer(const char* id) : n{coport::test::stepped(id)}, t{n} { h = t.attach(ch); }
  /// Hands `f` to the node, then runs it until idle.
  void feed(const frames& f) {
    h->on_bytes(f.bytes_);
    n.run_until_idle();
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
/// The bytes of a stream's first record after the handshake (the sender's resume frame):
/// `take` says how many of the next bytes still belong to it.
struct first_record {
  bytes head;
  std::size_t total = 0, seen = 0;  ///< total: 0 until its header is known
  std::size_t take(std::span<const std::byte> more) {
    std::size_t n = 0;
    while (n < more.size() && (total == 0 || seen < total)) {
      if (total == 0) {
        head.push_back(more[n]);
        if (head.size() == tp::detail::record_header) {
          std::size_t body = std::to_integer<std::size_t>(head[0]) |
                             std::to_integer<std::size_t>(head[1]) << 8 |
                             std::to_integer<std::size_t>(head[2]) << 16 |
                             std::to_integer<std::size_t>(head[3]) << 24;
          total = tp::detail::record_header + body + tp::detail::record_tag;
        }
      }
      ++seen;
      ++n;
    }
    return n;
  }
  bool whole() const { return total != 0 && seen == total; }
};

/// A man in the middle on 127.0.0.1 between B and node A (at `a_port`): it forwards the
/// handshake, and each side's first record (its resume frame, so that both take the link as
/// up); then, by mode, writes its own frames, flips a bit, or only forwards.
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
    first_record b_first, a_first;
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
              // B's resume frame goes; then the attacker's frames instead of B's records.
              std::size_t first = b_first.take(records);
              write_all(a, records.first(first));
              if (b_first.whole() && !injected) {
                write_all(a, injection_);
                injected = true;
              }
              b_records_dropped += records.size() - first;
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
          if (mode_ == mode::inject_to_dialer && from_a.auth_end) {
            if (!injected) {
              // A's verdict and its resume frame, and right behind them the attacker's frames
              // instead of A's records.
              auto records = chunk.subspan(frames_part);
              std::size_t first = a_first.take(records);
              bytes out(chunk.begin(),
                        chunk.begin() + static_cast<std::ptrdiff_t>(frames_part + first));
              if (a_first.whole()) {
                out.insert(out.end(), injection_.begin(), injection_.end());
                injected = true;
              }
              write_all(b, out);
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
inline bool seen(const probe& p, const std::string& event) {
  auto all = p.events();
  return std::find(all.begin(), all.end(), event) != all.end();
}
inline std::vector<std::string> sorted(const probe& p) {
  auto all = p.events();
  std::sort(all.begin(), all.end());
  return all;
}

/// Waits until a line of the log contains `what` (and `also`, if given).
inline bool logged(const log_capture& log, const std::string& what, const std::string& also = {},
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

}  // namespace coport::test::hs
