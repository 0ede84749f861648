#pragma once
/// \file
/// transport::peer — everything this node knows about one other node: the sending side of
/// the current channel to it (the caches of names the peer has learned, the frame being
/// built) and the ports of it that this node watches. One per node ID ever seen.
///
/// Threading: every member is thread-safe (one mutex per peer; none shared by all peers).
/// Lock order: the node's monitor table, then a peer's mutex; nothing calls into the node's
/// monitor functions while holding a peer's mutex. Lifetime: as long as the transport; the
/// send caches (slot_table.hpp: ~3 KiB and the pages in use) only while a channel is open.
/// May include: the transport's public headers, frame, coport/wire, and the runtime through its
/// public headers and coport/internal/link_seam.hpp only.

#include <array>
#include <atomic>
#include <chrono>
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
#include "message_encoder.hpp"
#include "sent_stream.hpp"
#include "transport_log.hpp"

namespace coport::transport {

class receiver;

/// What a node answers to a hello on a channel it did not open.
enum class verdict {
  accept,       ///< go on with the handshake
  duplicate,    ///< the node is connected (or connecting in) already: a second process?
  simultaneous  ///< both nodes connected at once, and this node's own connection wins
};

/// One other node, across all the channels it ever had with us.
class peer final : public std::enable_shared_from_this<peer> {
 public:
  peer(endpoint::impl& at, std::string id, std::uint32_t node_number);

  const std::string& id() const noexcept { return id_; }
  /// The node's interned ID.
  std::uint32_t node_number() const noexcept { return node_number_; }

  // -- sending (any thread) -------------------------------------------------------------------
  void send_message(const port_id& to, message msg);
  void send_kill(const port_id& target, const reason& why);
  void watch(const port_id& target);
  void unwatch(const port_id& target);
  port_id spawn(const port_id& port, std::string_view init, message args, bool watched);

  // -- from receivers ----------------------------------------------------------------------------
  /// Makes `c`, a channel this node opened, the current one; false if there is one already.
  bool adopt(const std::shared_ptr<receiver>& c);
  /// The peer's hello arrived on `c`, a channel the peer opened: keep it (it becomes
  /// current) or refuse it. Two channels opened at once: the one opened by the node with the
  /// smaller ID wins; while a channel lives, another claiming the same node is refused.
  verdict offer(const std::shared_ptr<receiver>& c, std::uint32_t incarnation);
  /// How a channel that finished its handshake starts.
  enum class start_as {
    fresh,    ///< a new link: the node is up
    resumed,  ///< the link that broke carries on (nothing else happens)
    refused,  ///< the peer asked to resume from bytes that were not kept: the channel fails
    closed,   ///< the channel was given up or closed meanwhile: nothing to do
  };
  /// `c` finished its handshake (and, when both resume links, the resume frames crossed:
  /// `resume_from` is what the peer took of ours if both kept the other's stream). The link
  /// resumes (`old`: the receiver whose state `c` carries on), or the node is up; what
  /// waited goes out.
  start_as established(const std::shared_ptr<receiver>& c, std::uint32_t incarnation,
                       std::uint64_t version, std::uint64_t capabilities, std::uint64_t session,
                       std::uint64_t resumed_session, std::optional<std::uint64_t> resume_from,
                       std::shared_ptr<receiver>& old);
  /// After a fresh start (once its channel has told the TCP layer, which learns the peer's
  /// addresses then): the node is up.
  void announce_up();
  /// What the peer's resume frame is told: the bytes of its stream taken on the channel
  /// that broke, if the link waits to resume with that incarnation.
  struct kept {
    std::uint64_t session = 0;  ///< the streams' name (frame.hpp, resume)
    std::uint64_t taken = 0;
  };
  std::optional<kept> kept_for(std::uint32_t incarnation) const;
  /// `c`, a channel this node opened, lost a simultaneous connect: it stops being current
  /// and what waits stays for the peer's channel.
  void yield(const receiver* c);
  /// `c` ended. If its channel can resume (it broke, and both nodes resume links), the link
  /// waits for the same incarnation to connect again (transport_options::resume_window):
  /// true, and `c`'s state is kept for the next channel. Else fires everything that depended
  /// on it (unless the node said bye on it): false.
  bool lost(const receiver* c, const std::string& why);
  /// A control frame of the receiving side (died, lost, lost_ack): on the current channel,
  /// or after the replay when the link resumes; dropped when it is down.
  void send_control(std::vector<std::byte> frame);
  /// The node said bye on `c` (it is leaving; the receiver closes `c` next): when `c` ends,
  /// every monitor on its ports fires and node-down says `shutdown`, not a failure, and
  /// this incarnation's ports are gone for good (messages to them are dropped quietly,
  /// monitors on them fire at once; no dial) unless it comes back with the same incarnation.
  void leaving(const receiver* c);
  /// This node is leaving: says bye (`why`) on the current channel, if the node is up.
  void say_bye(const reason& why);
  /// No channel to the node could be opened: what waited is dropped and monitors fire.
  void unreachable(const std::string& why);
  /// Things wait for a channel and none is open or opening (a dial should go on).
  bool wants_channel() const;
  /// Bytes waiting for this node (for tests and the outgoing bound).
  std::size_t queued() const;
  /// The peer says port `local` of its node died (`died`) or lost messages (`lost`):
  /// forget the watch and fire the monitors here. True if any monitor fired. `after` is
  /// posted once they have run (node_link::remote_port_died).
  bool port_down(std::uint64_t local, std::uint32_t incarnation, const reason& why,
                 coport::detail::unique_function<void()> after = {});
  /// At most this many messages wait for monitors to run (no holes); more are refused.
  static constexpr std::size_t max_held_messages = 65536;
  /// Messages to our port `local` of the peer wait from now until the returned function is
  /// called (or destroyed uncalled: then they are dropped, the transport ending).
  coport::detail::unique_function<void()> hold(std::uint64_t local);
  /// The monitors of `ports` have run: what waited for them goes, in order (or, without
  /// `send`, is dropped and counted).
  void release(const std::vector<std::uint64_t>& ports, bool send);
  std::uint32_t incarnation() const;
  /// The resume window of suspension `n` has passed (a timer): the link is lost, unless a
  /// channel is being set up (then looked at again shortly).
  void give_up(std::uint64_t n);
  /// Suspension `n` goes on and no channel is open or opening: dial again (a timer).
  void redial(std::uint64_t n);
  /// The transport ends: a link waiting to resume is let go (nothing fires).
  void abandon();
  /// The receiving side counts what came from the node (any I/O thread).
  void count_received_bytes(std::size_t n) noexcept {
    bytes_received_.fetch_add(n, std::memory_order_relaxed);
  }
  void count_received_message() noexcept {
    messages_received_.fetch_add(1, std::memory_order_relaxed);
  }
  /// A heartbeat probe's answer came back after `rtt` (link_stats::round_trip).
  void note_round_trip(std::chrono::microseconds rtt) noexcept {
    round_trip_us_.store(rtt.count(), std::memory_order_relaxed);
  }
  /// The link's figures (endpoint::links).
  link_stats stats() const;

 private:
  /// Where encoded frames go: "" (out_ is written or kept for later) or why they cannot go.
  std::string route_locked();
  /// What waited for a channel: written to the current one (`write`) or dropped; returns
  /// how many messages it held.
  std::size_t take_pending_locked(bool write);
  /// Writes out_ to the current channel, or keeps it while the handshake runs.
  bool flush_locked();
  /// Encodes and writes (or keeps) a message; false, with why in `error`, when it cannot go.
  bool send_locked(const port_id& to, message& msg, std::string& error);
  /// No holes (README): messages to `ports`, whose monitors are about to fire, wait until
  /// those have run; returns what releases them (for remote_port_died/remote_node_lost).
  coport::detail::unique_function<void()> hold_locked(std::vector<std::uint64_t> ports);
  /// The same for every port watched now (a lost link); empty when none is.
  coport::detail::unique_function<void()> hold_watched_locked();
  /// The link waited to resume and will not: what waited is dropped, the watched ports'
  /// messages held; returns the release, and the receiver to let go of (outside the lock).
  coport::detail::unique_function<void()> end_suspension_locked(std::shared_ptr<receiver>& old,
                                                                std::size_t& dropped);
  /// After `delay`, give_up(n) or (with `redial`) redial(n), if the transport still lives.
  void after_suspension(std::uint64_t n, std::chrono::milliseconds delay, bool redial);
  /// A message to a port of an incarnation that is gone: counted, true.
  bool gone_locked(const port_id& to);
  /// A message to `to` could not go: counts it and fires the monitors of `to` (no holes);
  /// `after` (a hold's release) once they ran.
  void refuse(const port_id& to, const std::string& text,
              coport::detail::unique_function<void()> after = {});

  endpoint::impl& endpoint_;
  const std::string id_;
  const std::uint32_t node_number_;

  mutable std::mutex mutex_;
  std::shared_ptr<receiver> receiver_;  ///< the current channel's receiving side (which one it is)
  bool up_ = false;
  /// The current channel once its handshake ended (up_): the sending side writes to it.
  std::shared_ptr<channel> out_channel_;
  bool dialing_ = false;            ///< a channel is being opened for what waits
  std::vector<std::byte> pending_;  ///< frames for the handshake's end (fresh caches)
  std::size_t pending_messages_ = 0;
  std::uint32_t incarnation_ = 0;
  /// The node said bye on the current channel (its end is no failure).
  bool left_ = false;
  /// The incarnation that said bye (0: none): its ports are gone for good.
  std::uint32_t left_incarnation_ = 0;
  /// Why a node that said bye is gone. The bye's own reason is not kept: a peer's words
  /// (of any size, even "normal", which groups read as "the group ended") are not believed.
  static reason left_reason() { return reason{"shutdown"}; }
  std::unordered_map<std::uint64_t, port_id> watching_;  ///< local number -> the ID we watch
  /// Ports whose fired monitors have not all run yet (local number -> holds on it), and the
  /// messages to them that wait, oldest first.
  std::unordered_map<std::uint64_t, unsigned> held_;
  std::deque<std::pair<port_id, message>> waiting_;
  /// What the peer's side of the current streams knows, and how messages become frames
  /// (made with the streams, dropped with them: a node ID seen once costs a peer object,
  /// not these).
  std::unique_ptr<message_encoder> encoder_;
  std::vector<std::byte> out_;  ///< the frames being written
  // The link's figures (stats()): what is sent is counted under mutex_, what arrives by the
  // receivers (there can be two channels at once while a simultaneous connect settles).
  std::size_t messages_sent_ = 0, bytes_sent_ = 0, connections_ = 0;
  std::atomic<std::size_t> messages_received_{0}, bytes_received_{0};
  std::atomic<std::int64_t> round_trip_us_{-1};  ///< the last probe's (-1: none yet)
  /// What the node's last hello declared (before one: what this build declares).
  std::atomic<std::uint64_t> capabilities_{detail::own_capabilities};
  std::uint32_t version_ = 0;  ///< the protocol version of the last connection (mutex_)
  // A broken link waiting to resume (README "Links that survive a short reset"): the
  // receiver whose state the next channel carries on, the stream it replays, why it broke,
  // and the number of this wait (its timer's), with whether the window passed meanwhile.
  std::shared_ptr<receiver> suspended_;
  std::unique_ptr<detail::sent_stream> kept_stream_;
  std::uint64_t kept_taken_ = 0;  ///< what the broken channel took of the peer's stream
  /// The name of the current streams (the channel they began fresh on; 0: none).
  std::uint64_t session_ = 0;
  std::string suspended_why_;
  std::uint64_t suspension_ = 0;
  std::size_t resumes_ = 0;
  detail::log_throttle refusals_logged_;  ///< one refusal line a second
};

}  // namespace coport::transport
