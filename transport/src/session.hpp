#pragma once
/// \file
/// The protocol's state: `transport::impl` (one node's endpoint and its peer table),
/// `peer` (everything about one other node: the send side of its current channel, the
/// ports of it we watch) and `connection` (one channel: framing and the receive side).
///
/// Threading: a peer's send side is guarded by its mutex (one lock per peer, none shared
/// by all); a connection's receive side is touched only by its channel's callbacks, which
/// come one at a time. The peer table is read without a lock. Lock order: the node's
/// monitor table, then a peer's mutex; nothing calls into the node's monitor functions
/// while holding a peer's mutex. Lifetime: peers live as long as the transport (one per
/// node ID ever seen, bounded by the node-ID interning bound); connections as long as
/// their channel.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coport/detail/payload_codec.hpp"
#include "coport/transport/transport.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"
#include "frame.hpp"

namespace coport::transport {

/// One other node, across all the channels it ever had with us.
class peer final : public wire::node_names_out {
 public:
  peer(transport::impl& owner, std::string id, std::uint32_t node_number);

  const std::string& id() const noexcept { return id_; }

  // -- sending (any thread) -------------------------------------------------------------------
  void send_message(const port_id& to, message msg);
  void send_kill(const port_id& target, const reason& why);
  void watch(const port_id& target);
  void unwatch(const port_id& target);
  port_id spawn(const port_id& port, std::string_view init, message args, bool watched);

  // -- from connections --------------------------------------------------------------------------
  /// Makes `c` the current channel (resetting the send caches); false if another is.
  bool adopt(const std::shared_ptr<connection>& c);
  /// The peer's hello arrived on the current channel.
  void established(std::uint32_t incarnation);
  /// `c` ended: fires everything that depended on it.
  void lost(const connection* c, const std::string& why);
  /// The peer says port `local` of its node died (`died`) or lost messages (`lost`):
  /// forget the watch and fire the monitors here. True if any monitor fired.
  bool port_down(std::uint64_t local, std::uint32_t incarnation, const reason& why);
  std::uint32_t incarnation() const;

  // node_names_out
  bool slot_of(std::uint32_t node_number, std::uint32_t& slot) override;

 private:
  /// Encodes a message (defs, then the frame) into out_; "" or why it cannot go.
  std::string encode_locked(detail::frame_kind kind, const port_id& to, message& msg,
                            std::string_view init, bool watched);
  /// Writes out_ to the current channel.
  bool flush_locked();
  /// A message to `to` could not go: counts it and fires the monitors of `to` (no holes).
  void refuse(const port_id& to, const std::string& text);

  transport::impl& owner_;
  const std::string id_;
  const std::uint32_t node_number_;

  mutable std::mutex mutex_;
  std::shared_ptr<connection> conn_;
  bool up_ = false;
  std::uint32_t incarnation_ = 0;
  std::unordered_map<std::uint64_t, port_id> watching_;  ///< local number -> the ID we watch
  /// What the peer's side of the current channel knows (made with the channel, dropped with
  /// it: a node ID seen once costs a peer object, not these ~48 KiB).
  struct send_caches {
    std::array<std::uint32_t, detail::tag_slots> tags{};
    std::array<const coport::detail::signature*, detail::sig_slots> sigs{};
    std::array<const coport::detail::payload_encoding*, detail::sig_slots> encodings{};
    std::array<std::uint32_t, detail::node_slots> nodes{};
  };
  std::unique_ptr<send_caches> caches_;
  struct pending_node {
    std::uint32_t slot, previous;
  };
  std::vector<pending_node> pending_nodes_;
  std::vector<std::byte> out_, scratch_;
};

/// One channel to a peer: framing and everything received on it.
class connection final : public channel_handler,
                         public wire::node_names_in,
                         public std::enable_shared_from_this<connection> {
 public:
  connection(std::shared_ptr<transport::impl> owner, std::shared_ptr<channel> ch, peer* expected);
  ~connection() override;

  /// Sends our hello (first on the channel).
  void start();
  /// Writes a control frame that needs no caches (died, lost, lost_ack); false if closed.
  bool write(const std::vector<std::byte>& frame) { return channel_->write(frame); }
  /// Ends the channel for a protocol error `why` (a log line says why); idempotent.
  void fail(const std::string& why);
  /// Ends the channel now without blaming the peer (the transport is going away).
  void close_now(const std::string& why);

  // channel_handler
  void on_bytes(std::span<const std::byte> bytes) override;
  void on_closed(const std::string& why) override;

  // node_names_in
  std::uint32_t lookup(std::uint32_t slot) override;

 private:
  /// Handles the whole frames at the front of `in`; returns the bytes they took.
  std::size_t parse(std::span<const std::byte> in);
  void handle(detail::frame_kind kind, wire::reader& r);
  void on_hello(wire::reader& r);
  void on_message(wire::reader& r);
  void on_spawn(wire::reader& r);
  void on_watch(const port_id& target);
  port_id read_local(wire::reader& r, bool& current);
  message read_payload(wire::reader& r, tag t, std::string& refused, std::uint64_t& slot);
  void send_died(std::uint64_t local, std::uint32_t incarnation, const reason& why);
  void hole(const port_id& to, const reason& why);
  /// Reports a received frame to the observer; `make` builds the event only if one is set.
  template <class Make>
  void notify(Make&& make);

  void closed_locked(const std::string& why);

  std::shared_ptr<transport::impl> owner_;
  std::shared_ptr<channel> channel_;
  const std::uint32_t own_node_;  ///< this node's interned ID (ports named in frames)
  // The receive side: the channel's callbacks come one at a time, but the transport's
  // destructor may close from another thread; recursive because a bad frame closes from
  // inside on_bytes.
  std::recursive_mutex rx_;
  peer* peer_ = nullptr;
  bool hello_ = false;
  std::atomic<bool> closed_{false};  // read by monitor callbacks on other threads
  std::vector<std::byte> partial_;   ///< an incomplete frame carried to the next on_bytes

  std::vector<tag> in_tags_;
  std::size_t new_tags_ = 0;  ///< names this channel had interned
  std::vector<bool> in_tag_refused_;
  std::vector<std::shared_ptr<const coport::detail::payload_decoding>> in_sigs_;
  std::vector<std::vector<std::string>> in_sig_names_;  // for frame events
  std::vector<std::uint32_t> in_nodes_;
  std::unordered_set<std::uint64_t> holes_;  ///< our ports whose messages from the peer we drop

  std::mutex watched_mutex_;  // monitor callbacks erase entries from other threads
  std::unordered_map<std::uint64_t, monitor> watched_;  ///< our ports the peer watches
};

/// The endpoint of one node.
struct transport::impl final : remote_link, std::enable_shared_from_this<transport::impl> {
  impl(node& n, transport_options o) : owner{n}, options{o} {}

  // remote_link
  void send(const port_id& to, message msg) override;
  void kill(const port_id& target, const reason& why) override;
  void watch(const port_id& target) override;
  void unwatch(const port_id& target) override;
  port_id spawn(const port_id& port, std::string_view init, message args, bool watched) override;

  /// The peer of `node_number` (made when `create`), or null. Lock-free when it exists.
  peer* find(std::uint32_t node_number, bool create);
  /// Fires the monitors of `target` with `why` later (not from inside a link call).
  void fire_later(const port_id& target, reason why);
  void count_drop() noexcept { dropped.fetch_add(1, std::memory_order_relaxed); }
  bool stopped() const noexcept { return stopping.load(std::memory_order_acquire); }

  node& owner;
  const transport_options options;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> sent{0}, received{0}, dropped{0}, bad_frames{0};

  std::mutex observer_mutex;
  std::function<void(const frame_event&)> observer;
  std::atomic<bool> observed{false};  ///< an observer is set (checked per frame without the lock)

  // The peer table: two levels of atomic pointers indexed by node number.
  static constexpr std::size_t chunk_bits = 8;
  static constexpr std::size_t chunk_count = 1024;  // node numbers below 2^18
  struct chunk {
    std::array<std::atomic<peer*>, std::size_t{1} << chunk_bits> peers{};
  };
  std::array<std::atomic<chunk*>, chunk_count> chunks{};
  std::mutex peers_mutex;  // creation only
  std::vector<std::unique_ptr<chunk>> chunk_storage;
  std::vector<std::shared_ptr<peer>> peer_storage;
  std::mutex connections_mutex;
  /// Open connections (owned here until they close, so that one whose peer is not yet
  /// known lives; a closed one removes itself, which breaks the connection -> impl cycle).
  std::vector<std::shared_ptr<connection>> connections;
};

}  // namespace coport::transport
