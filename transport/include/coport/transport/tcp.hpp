#pragma once
/// \file
/// coport::transport::tcp — a node's links to nodes in other processes, over TCP.
///
/// It listens on the configured binds and opens a connection to a node when a message,
/// monitor, kill or spawn first targets it (at an address given here, or learned from a
/// handshake), one ordered connection per node pair. Every connection starts with the
/// protocol's handshake (HMAC-SHA256 over both hellos with the shared secret), then carries
/// heartbeats while idle: a peer silent for `node_timeout` is declared down and every
/// monitor on its ports fires. All socket work runs on one I/O thread of its own (or on an
/// `asio::io_context` the user runs), never on the node's workers, so busy handlers cannot
/// starve it. See README "Nodes in several processes".
///
/// Threading: thread-safe. Lifetime: create after the node, destroy before it. Embedded in
/// a user's io_context, destroy it while that context is not running or from its thread.

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "coport/node.hpp"
#include "coport/transport/transport.hpp"

namespace asio {
class io_context;
}

namespace coport::transport {

/// TLS for every link of a node: PEM files of its certificate and key, and of the CA that
/// must have signed every peer's certificate (mutual authentication, TLS 1.3 only).
struct tls_options {
  std::string cert, key, ca;
  bool enabled() const noexcept { return !cert.empty(); }
};

/// How a node's TCP links behave.
struct tcp_options {
  /// Where to listen: "host:port", "[v6]:port"; port 0 = any free port; "*:port" every
  /// address of the host (IPv4 and IPv6), "*" the same on a free port. Empty: only dial out.
  std::vector<std::string> binds;
  /// What other nodes are told to dial, when it is not where this node listens (behind NAT,
  /// in a container, a bind on 0.0.0.0 that only one address of reaches it): "host:port",
  /// "[v6]:port"; port 0 is the port the first bind got. Empty: the addresses it listens on
  /// (a wildcard bind: every address of the host). Needs binds.
  std::vector<std::string> advertise;
  /// Addresses ("host:port") of nodes this node may have to reach, by node ID.
  std::map<std::string, std::vector<std::string>> peers;
  /// The shared secret every node of the network holds. Without one, only loopback binds
  /// are allowed (unless `insecure`).
  std::string secret;
  /// TLS on every link (never a plaintext fallback): a peer without a certificate signed by
  /// `tls.ca` is refused. The secret's handshake still runs inside it when a secret is set.
  tls_options tls;
  /// The TLS files are checked this often and read again when they changed (a renewed
  /// certificate): new handshakes use them, links up keep theirs; files that cannot be used
  /// are logged and the ones read before stay. 0: only tcp::reload_certificates reads them.
  std::chrono::milliseconds tls_check_interval{5000};
  /// Allows listening on a non-loopback address without a secret or TLS (anyone can connect).
  bool insecure = false;
  /// A heartbeat goes out when nothing else did for about this long (a channel looks every
  /// half interval).
  std::chrono::milliseconds heartbeat_interval{1000};
  /// A peer that sent nothing for this long is declared down (at least 2 intervals).
  std::chrono::milliseconds node_timeout{3000};
  /// An unreachable node: after this long its queued messages are dropped and its monitors
  /// fire ("unable to connect"). Also the deadline of every handshake.
  std::chrono::milliseconds connect_timeout{5000};
  /// A connection whose peer has not said hello by then is closed (before its hello the
  /// peer is anyone: its place in the handshake is short-lived). At most connect_timeout.
  std::chrono::milliseconds hello_timeout{1000};
  /// The protocol's options: largest frame, outgoing bound per node (the secret is above).
  transport_options protocol{};
  /// After I/O, the transport's own thread polls for this long before it sleeps, so that a
  /// prompt reply is read without a kernel wake-up (which costs tens of microseconds on a
  /// VM: remote ping-pong measured 105 us without, 26-33 us with 50 us). It costs up to this
  /// much CPU per burst of traffic; 0 turns it off. Not used with `context`.
  std::chrono::microseconds spin{50};
  /// Run on this context (the user runs it) instead of an I/O thread of its own.
  asio::io_context* context = nullptr;
};

/// Counters of the TCP layer (approximate while it runs).
struct tcp_stats {
  std::size_t accepted = 0;     ///< connections accepted
  std::size_t dialed = 0;       ///< connections this node opened
  std::size_t connections = 0;  ///< open now
  std::size_t timeouts = 0;     ///< peers declared down for silence
  std::size_t dial_failures = 0;
  std::size_t bytes_sent = 0, bytes_received = 0;
  /// Times a link stopped being read because what its node sent waited unprocessed beyond
  /// transport_options::max_inbound (reading resumes when it is below).
  std::size_t inbound_pauses = 0;
  /// Times changed TLS files were taken into use (tls_check_interval, reload_certificates).
  std::size_t certificate_reloads = 0;
};

class tcp;

/// What `tcp::connect` reports: the ID of the node that answered (error empty), or why none
/// did (node ID empty).
using connect_callback = std::function<void(const std::string& node_id, const std::string& error)>;

/// What `tcp::room` returns: an awaitable for coroutine actors.
class room_awaiter {
 public:
  room_awaiter(tcp& t, std::string node_id, std::size_t below)
      : tcp_{t}, node_{std::move(node_id)}, below_{below} {}
  bool await_ready() const;
  void await_suspend(std::coroutine_handle<> h);
  void await_resume() const noexcept {}

 private:
  tcp& tcp_;
  std::string node_;
  std::size_t below_;
};

/// A node's TCP links.
class tcp {
 public:
  /// Starts listening on `options.binds`. Throws std::invalid_argument for bad options (a
  /// malformed address, a non-loopback bind without a secret, timeouts out of range) and
  /// std::system_error when a bind fails.
  explicit tcp(node& n, tcp_options options = {});
  ~tcp();
  tcp(const tcp&) = delete;
  tcp& operator=(const tcp&) = delete;

  /// Where it listens, with the ports actually bound ("127.0.0.1:41234", "[::1]:41235").
  std::vector<std::string> addresses() const;
  /// What other nodes are told to dial: `advertise` (its port 0 filled in), else
  /// addresses().
  std::vector<std::string> advertised() const;
  /// Where node `node_id` listens, as far as this node knows (given, or learned from its
  /// handshake).
  std::vector<std::string> addresses_of(std::string_view node_id) const;
  /// Tells where node `node_id` listens (replacing what was known).
  void add_peer(std::string_view node_id, std::vector<std::string> addresses);
  /// Opens a connection to `address` ("host:port") without knowing which node listens there
  /// (a seed): `done` is called once, on the transport's thread (do not block in it), with
  /// that node's ID when the handshake succeeded, or with why not (unreachable before the
  /// connect timeout, refused, the node itself, connected already). The connection is then
  /// the node's link like any other; its node-up event follows the callback.
  void connect(std::string address, connect_callback done);
  /// Reads the TLS files again (a certificate renewed before the old one expires; `coport
  /// run` does it on SIGHUP): new handshakes use them, links up keep theirs. Throws
  /// std::invalid_argument naming the file when they cannot be used (the ones in use stay),
  /// std::logic_error when the node uses no TLS.
  void reload_certificates();
  /// Bytes waiting to go to `node_id` (queued while connecting or behind a slow link).
  std::size_t queued(std::string_view node_id) const;
  /// `co_await room(node_id)` in a coroutine actor continues once fewer than `below` bytes
  /// wait for that node (default: half the outgoing bound), at once if that is so already.
  /// A producer that awaits room between batches runs at its consumer's pace, and none of
  /// its messages is refused for a full queue. Its port keeps receiving meanwhile.
  room_awaiter room(std::string_view node_id, std::size_t below = 0);
  /// The protocol endpoint (counters, frame observer).
  endpoint& protocol() noexcept;
  /// Counters of the TCP layer.
  tcp_stats stats() const noexcept;

  struct state;

 private:
  friend class room_awaiter;
  std::unique_ptr<endpoint> protocol_;
  std::shared_ptr<state> state_;
};

}  // namespace coport::transport
