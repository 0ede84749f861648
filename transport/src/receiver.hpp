#pragma once
/// \file
/// transport::receiver — the receiving side of one channel to a peer (the sending side is
/// its peer): framing, the caches of names the peer defined, and everything received on it
/// (deliveries, kills, watches, spawns, the receiver's side of "no holes"); its handshake
/// frames go to its link_handshake, large messages through its reassembly.
///
/// Threading: the receive side is touched only by the channel's callbacks, which come one at
/// a time (a recursive mutex also lets the transport close it from another thread); monitor
/// callbacks write died notices from other threads. Lifetime: owned by the transport's list
/// of open channels and by its peer while current; a closed receiver lets go of both.
/// May include: the transport's public headers, frame, link_handshake, coport/wire, and the runtime
/// through its public headers and coport/internal/link_seam.hpp only.

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "coport/internal/link_seam.hpp"
#include "coport/transport/transport.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"
#include "frame.hpp"
#include "link_handshake.hpp"
#include "reassembly.hpp"
#include "slot_table.hpp"
#include "watched_ports.hpp"

namespace coport::transport {

class peer;

/// One channel to a peer: framing and everything received on it.
class receiver final : public channel_handler,
                       public wire::node_names_in,
                       public std::enable_shared_from_this<receiver> {
 public:
  /// A channel to `expected` (this node opened it), or from a node yet unknown (null).
  /// `opened`: this node opened the channel (always so with `expected`).
  receiver(std::shared_ptr<endpoint::impl> at, std::shared_ptr<channel> ch, peer* expected,
           bool opened);
  ~receiver() override;

  /// Sends our hello (first on the channel).
  void start();
  /// This node opened the channel.
  bool outgoing() const noexcept { return outgoing_; }
  /// The channel (the peer's sending side writes to it once the handshake has ended).
  const std::shared_ptr<channel>& channel_handle() const noexcept { return channel_; }
  /// Writes a frame of the receiving side's own (died, lost, lost_ack); false if closed.
  bool write(const std::vector<std::byte>& frame) { return channel_->write(frame); }
  /// Ends the channel for a protocol error `why` (a log line says why); idempotent.
  void fail(const std::string& why);
  /// Ends the channel now without blaming the peer (the transport is going away).
  void close_now(const std::string& why);
  /// The link this receiver's state was kept for did not resume: the peer's watches of our
  /// ports end, and their callbacks send nothing more.
  void forget_watches();
  /// Bytes of the peer's stream taken (whole frames since its resume frame).
  std::uint64_t taken() const noexcept { return taken_; }
  /// This channel carries on `old`'s stream (a resumed link): the names the peer defined,
  /// the large records it was sending, the lost notices and watches, the count of bytes
  /// taken. `old` has ended; only the peer held it.
  void carry_on(receiver& old);
  /// It has closed (its lost() has run or will run with nothing to do).
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  // channel_handler
  std::size_t on_bytes(std::span<const std::byte> bytes) override;
  /// What the peer sent waits unprocessed beyond max_inbound, or what we owe it waits
  /// unsent beyond max_queue + max_frame (channel's receive side).
  bool backlogged() const override;
  void on_closed(const std::string& why) override;

  // node_names_in
  std::uint32_t lookup(std::uint32_t slot) override;

 private:
  /// Appends to partial_ what its frame lacks from `bytes` and handles that frame once it is
  /// whole (partial_ then empty); returns the bytes taken.
  std::size_t complete_partial(std::span<const std::byte> bytes);
  /// Handles the whole frames at the front of `in`; returns the bytes they took.
  std::size_t parse(std::span<const std::byte> in);
  void handle(detail::frame_kind kind, wire::reader& r);
  /// Does what the handshake says after one of its frames (link_handshake.hpp).
  void act(const link_handshake::step& s);
  /// The handshake succeeded: records from here (when the channel has them); the resume
  /// frame goes (both nodes resume links), or the node is up.
  void established();
  /// The peer's resume frame arrived: the link resumes, or starts fresh (frame.hpp).
  void on_resume(wire::reader& r);
  /// Both ends told each other what they kept: the node is up (again).
  void up(std::optional<std::uint64_t> resume_from);
  /// Counts a taken frame of the peer's stream (acknowledged at once if a heartbeat).
  void took(std::size_t bytes, bool heartbeat);
  /// Tells the peer what was taken of its stream (it forgets that much).
  void acknowledge();
  /// Ends a channel the handshake refused (a log line, no blame on the peer's frames).
  void refuse(refusal kind, const std::string& why, bool quiet);
  void on_message(wire::reader& r);
  void on_trace(wire::reader& r);
  /// Marks `m` with the trace frame that came before it, if any (`size`: its bytes).
  void attach_trace(message& m, std::optional<coport::detail::trace_mark> mark, std::size_t size);
  void on_fragment(wire::reader& r);
  /// Hands a decoded message to its port (or drops it: stale, a hole, refused).
  void deliver(const port_id& to, bool current, message m, const std::string& refused);
  void on_spawn(wire::reader& r);
  void on_watch(const port_id& target);
  /// The port of this node a frame names; `current`: of this incarnation (or any).
  port_id local_port(detail::port_ref p, bool& current) const;
  message read_payload(wire::reader& r, tag t, std::string& refused, std::uint64_t& slot);
  /// Sends a died notice for our port `local` (through the peer: it waits while the link
  /// resumes, and goes on the channel the link has then).
  void send_died(std::uint64_t local, std::uint32_t incarnation, const reason& why);
  void hole(const port_id& to, const reason& why);
  /// Reports a received frame to the observer; `make` builds the event only if one is set.
  template <class Make>
  void notify(Make&& make);

  void closed_locked(const std::string& why);

  std::shared_ptr<endpoint::impl> endpoint_;
  std::shared_ptr<channel> channel_;
  const std::uint32_t own_node_;  ///< this node's interned ID (ports named in frames)
  // The receive side: the channel's callbacks come one at a time, but the transport's
  // destructor may close from another thread; recursive because a bad frame closes from
  // inside on_bytes.
  std::recursive_mutex rx_;
  peer* peer_ = nullptr;
  const bool outgoing_;
  link_handshake link_;              ///< the hello and auth frames
  bool authed_ = false;              ///< the handshake ended: the node is up on this channel
  bool handed_over_ = false;         ///< the channel opens records after this frame (stop parsing)
  std::atomic<bool> closed_{false};  // read by monitor callbacks on other threads
  std::vector<std::byte> partial_;   ///< an incomplete frame carried to the next on_bytes

  /// The names the peer defined, by slot (frame.hpp), made as it defines them.
  struct tag_entry {
    tag t;
    bool refused = false;  ///< a name the process could not intern (too many tags)
  };
  struct sig_entry {
    std::shared_ptr<const coport::detail::payload_decoding> decoding;
    std::vector<std::string> names;  // for frame events
  };
  struct peer_names {
    detail::slot_table<tag_entry, detail::tag_slots> tags;
    detail::slot_table<sig_entry, detail::sig_slots> sigs;
    detail::slot_table<std::uint32_t, detail::node_slots> nodes;  ///< 0: never defined
  };
  /// Made once the peer has proved the secret (up): before it, a connection costs nothing here.
  std::unique_ptr<peer_names> defined_;
  /// The peer's names, to define one; a wire error if the link is not up.
  peer_names& names();
  std::size_t new_tags_ = 0;                 ///< names this channel had interned
  std::unordered_set<std::uint64_t> holes_;  ///< our ports whose messages from the peer we drop
  /// Resuming (frame.hpp, resume): our resume frame went and the peer's has not come; what
  /// ours said we kept (0: nothing). Then counting: the bytes of the peer's stream taken,
  /// and acknowledged.
  bool resuming_ = false;
  std::uint64_t kept_session_ = 0;
  bool counting_ = false;
  std::uint64_t taken_ = 0, acked_ = 0;
  /// Large messages arriving in fragments, and what waits behind them (reassembly.hpp).
  reassembly large_;
  /// The trace frame that came last, for the next message or first fragment (frame.hpp).
  std::optional<coport::detail::trace_mark> next_trace_;
  /// Large records in flight that a trace frame came before (at most max_open_records).
  std::unordered_map<std::uint64_t, coport::detail::trace_mark> record_traces_;

  /// Our ports the peer watches and the acks we owe it (made when the link starts fresh,
  /// carried on when it resumes).
  std::shared_ptr<watched_ports> watches_;
};

}  // namespace coport::transport
