#pragma once
/// \file
/// coport::transport::endpoint — the node-to-node protocol of one node, over channels.
///
/// Made for a node, it plugs itself in as the node's remote link: messages, kills, monitors
/// and spawns for ports on other nodes become frames on the channel to that node (one
/// ordered channel per node pair), and frames from peers become deliveries, deaths and
/// spawns here. What crosses a link, how names are cached, and what happens when a
/// channel breaks or a frame is bad: see README "Nodes that talk", src/peer.cpp (sending)
/// and src/receiver.cpp (receiving).
/// Threading: thread-safe. Lifetime: create after the node, destroy before it (the
/// destructor closes every channel; the node keeps a link that then drops).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "coport/node.hpp"
#include "coport/transport/channel.hpp"

namespace coport::transport {

/// Protocol options.
struct transport_options {
  /// Largest frame accepted or sent (bytes; checked before anything is allocated).
  std::size_t max_frame = 64 << 20;
  /// The shared secret: both ends of a channel prove they hold it (HMAC-SHA256 under keys
  /// derived from it and both hellos, fresh nonces) before anything but the handshake
  /// crosses, and every byte after the handshake travels in records authenticated with keys
  /// only the two ends can derive (AES-256-GCM). Empty: no proof asked or given, no records
  /// (a peer with a secret refuses such a node, and the reverse). At least 22 characters
  /// (128 bits of a generated base62 secret) unless `insecure`.
  std::string secret;
  /// Records are encrypted, not only authenticated (either end asking is enough).
  bool encrypt = false;
  /// Accepts a secret shorter than 22 characters (guessable: tests, demos).
  bool insecure = false;
  /// Messages from one node that this process may hold unprocessed (in mailboxes, or being
  /// handled) before it stops reading that node's link until they are fewer (TCP then pushes
  /// back on the sender): a peer cannot grow mailboxes without end.
  std::size_t max_inbound = std::size_t{1} << 18;
  /// Bytes that may wait for one node (while connecting, or behind a slow link). A message
  /// beyond it is not sent: counted, logged, and the monitors of its target fire.
  std::size_t max_queue = 64 << 20;
  /// A link whose connection breaks (a reset, not a silence past the node timeout, not a
  /// close by its peer) waits this long (unset: the TCP transport's `node_timeout`, else
  /// 3 s) for the same two incarnations to connect again; then
  /// each side replays what the other had not taken, and nothing else happens: no node-down,
  /// no monitor, no loss, no duplicate, order kept. Past it, the link is lost as before
  /// (monitors fire, node-down). What is sent meanwhile waits (max_queue). Zero: a broken
  /// connection is a lost link at once. Each channel keeps what it sent until the peer
  /// acknowledges it (every 32 KiB taken, and with each heartbeat), at most max_queue bytes
  /// (beyond that, that channel cannot resume).
  std::optional<std::chrono::milliseconds> resume_window;
  /// What this node's hello says of its application (at most max_application bytes), for
  /// the peer's `check_application`; coport::network fills it with a summary of the build's
  /// wire schema (coport/network/schema.hpp).
  std::vector<std::byte> application;
  /// Run with what the peer's hello said of its application once the peer proved the secret
  /// (the acceptor before its verdict, the dialer after an accepting one): "" accepts,
  /// anything else refuses the connection for good (refusal::application; the acceptor
  /// tells the dialer why). Null: any peer's application is fine.
  std::function<std::string(std::span<const std::byte> peer_application)> check_application;
};
/// The most a hello may say of its application (a hello must fit the handshake's 8 KiB).
inline constexpr std::size_t max_application = 2048;

/// The protocol versions this build speaks, and the capabilities its hello declares (bits;
/// README "Rolling upgrades").
struct protocol_support {
  std::uint32_t oldest = 0, newest = 0;
  std::uint64_t capabilities = 0;
};
protocol_support supported_protocol() noexcept;
/// The names of the capability bits: "tracing" (1, reads trace frames), "resume" (2, resumes
/// links); others "bit N".
std::vector<std::string> capability_names(std::uint64_t capabilities);

/// Why a handshake was refused (transport_stats::refused_by).
enum class refusal : std::uint8_t {
  version,         ///< the peer speaks no protocol version this node speaks
  self,            ///< the connection reached this node itself
  wrong_node,      ///< another node answered than the one dialled
  certificate,     ///< TLS: the peer's certificate does not name the node it says it is
  secret,          ///< the proof of the secret failed (either way)
  too_many_nodes,  ///< this process knows too many node IDs to take another
  duplicate,       ///< another process claims a node that is connected
  by_peer,         ///< the peer refused this node (busy, or for good)
  application,     ///< check_application refused the peer's build
};
inline constexpr std::size_t refusal_kinds = 9;
/// "version", "self", "wrong_node", "certificate", "secret", "too_many_nodes", "duplicate",
/// "by_peer", "application".
const char* to_string(refusal r) noexcept;

/// Counters (approximate while it runs).
struct transport_stats {
  std::size_t messages_sent = 0;      ///< messages encoded onto a channel
  std::size_t messages_received = 0;  ///< messages delivered to local ports
  std::size_t messages_dropped = 0;   ///< not sent or not delivered (each also logged/counted)
  std::size_t bad_frames = 0;         ///< channels ended for a bad frame
  std::size_t refused = 0;            ///< handshakes refused (secret, version, duplicate)
  std::array<std::size_t, refusal_kinds> refused_by{};  ///< `refused`, by refusal
};

/// One other node as this node's transport sees it (approximate while it runs).
struct link_stats {
  std::string node;                   ///< its node ID
  std::uint32_t incarnation = 0;      ///< of its current (or last) connection
  bool up = false;                    ///< a connection to it has finished its handshake
  std::size_t connections = 0;        ///< connections to it that came up (reconnects: one fewer)
  std::size_t resumes = 0;            ///< broken connections it resumed on a new one
  std::size_t messages_sent = 0;      ///< messages encoded for it (or waiting for its handshake)
  std::size_t messages_received = 0;  ///< messages from it delivered to local ports
  /// Protocol bytes (before TLS or authenticated records): sent, the frames of messages and
  /// of what they need (definitions, kills, watches, spawns); received, everything read from
  /// the node's connections (its hellos and heartbeats too).
  std::size_t bytes_sent = 0, bytes_received = 0;
  std::size_t queued_bytes = 0;  ///< waiting to go to it now (connecting, or a slow link)
  /// The round trip of the last heartbeat probe answered on the link's current connection (a
  /// TCP channel probes every ten heartbeat ticks: 5 s by default), if it is up and one was.
  std::optional<std::chrono::microseconds> round_trip;
  /// The protocol version of its current (or last) connection: the highest both speak (0:
  /// none yet).
  std::uint32_t protocol_version = 0;
  /// What its hello declared it understands (bits; 1: trace frames).
  std::uint64_t capabilities = 0;
};

/// What one received frame was (for test fixtures and tracing).
struct frame_event {
  std::string kind;  ///< "hello", "def_tag", "def_sig", "def_node", "message", "kill", "watch",
                     ///< "unwatch", "died", "lost", "lost_ack", "spawn", "auth", "bye"
  std::string from;  ///< the peer's node ID
  port_id to;        ///< the local port it concerns (if any)
  std::string tag;   ///< a message's tag, or the name a def_tag / def_node defines
  std::vector<std::string> types;  ///< a message's wire type names
};

class receiver;
class peer;
class tcp;

/// The protocol endpoint of one node.
class endpoint {
 public:
  explicit endpoint(node& n, transport_options options = {});
  ~endpoint();
  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;

  /// Starts the protocol on `ch`, a fresh channel to a peer; `expected_peer` (if not empty)
  /// is the node ID we meant to reach: messages for it may be sent at once, and a hello
  /// from another node ends the channel. Returns what the channel must report to.
  std::shared_ptr<channel_handler> attach(std::shared_ptr<channel> ch,
                                          std::string_view expected_peer = {});

  /// The node it serves.
  node& owner() noexcept;
  /// Counters.
  transport_stats stats() const noexcept;
  /// Every node this node has had a connection to, or has messages waiting for.
  std::vector<link_stats> links() const;
  /// Calls `observer` for every frame received (before it takes effect); for tests.
  void observe(std::function<void(const frame_event&)> observer);
  /// The incarnation of the connected node `node_id`, or 0.
  std::uint32_t incarnation_of(std::string_view node_id) const;

  struct impl;

 private:
  friend class tcp;
  std::shared_ptr<impl> impl_;
};

}  // namespace coport::transport
