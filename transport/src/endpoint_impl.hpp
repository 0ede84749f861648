#pragma once
/// \file
/// endpoint::impl — one node's protocol endpoint: the remote-link seam the node calls, and
/// the table of peers by node number (read without a lock).
///
/// Threading: thread-safe. Lifetime: shared by the transport handle, the node (its link) and
/// every open channel's receiver.
/// May include: receiver, peer, frame, the transport's public headers, and the runtime through
/// its public headers and coport/internal/link_seam.hpp only.

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

#include "coport/internal/link_seam.hpp"
#include "coport/transport/transport.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"
#include "frame.hpp"

#include "peer.hpp"
#include "receiver.hpp"

namespace coport::transport {

/// Opens channels to nodes on demand (the TCP layer). `dial` returns at once without calling
/// back into the transport; the outcome is an `attach` of the new channel, or `unreachable`.
class dialer {
 public:
  virtual ~dialer() = default;
  virtual void dial(const std::string& node_id) = 0;
};

/// The endpoint of one node.
struct endpoint::impl final : remote_link, std::enable_shared_from_this<endpoint::impl> {
  impl(node& n, transport_options o) : owner{n}, options{o} {}

  // remote_link
  void send(const port_id& to, message msg) override;
  void kill(const port_id& target, const reason& why) override;
  void watch(const port_id& target) override;
  void unwatch(const port_id& target) override;
  port_id spawn(const port_id& port, std::string_view init, message args, bool watched) override;

  /// Starts the protocol on `ch`, to `expected` (this node opened it) or from a node yet
  /// unknown. A `dialed` channel to a node that has one already closes quietly (null).
  /// `opened`: this node opened the channel (it dials in the handshake), also when it does
  /// not know whom it reaches (tcp::connect).
  std::shared_ptr<receiver> attach(std::shared_ptr<channel> ch, peer* expected, bool dialed,
                                   bool opened = false);
  /// The peer of `node_number` (made when `create`), or null. Lock-free when it exists.
  peer* find(std::uint32_t node_number, bool create);
  /// Fires the monitors of `target` with `why` later (not from inside a link call).
  void fire_later(const port_id& target, reason why,
                  coport::detail::unique_function<void()> after = {});
  void count_drop(std::size_t n = 1) noexcept { dropped.fetch_add(n, std::memory_order_relaxed); }
  /// Reports a frame received from `from` (null: a node not yet known) to the observer;
  /// `make` builds the event only if one is set.
  template <class Make>
  void notify(const peer* from, Make&& make) {
    if (!observed.load(std::memory_order_acquire)) return;
    frame_event e = make();
    std::function<void(const frame_event&)> f;
    {
      std::lock_guard lock{observer_mutex};
      f = observer;
    }
    if (f) {
      e.from = from ? from->id() : std::string{};
      f(e);
    }
  }
  /// The addresses our hello names (where this node listens).
  std::vector<std::string> own_addresses() const {
    std::lock_guard lock{addresses_mutex};
    return addresses;
  }

  node& owner;
  /// The node's end of this link (node::plug): what arrived goes to the node through it.
  node_link node_end;
  const transport_options options;
  std::atomic<std::size_t> sent{0}, received{0}, dropped{0}, bad_frames{0}, refused{0};
  std::array<std::atomic<std::size_t>, refusal_kinds> refused_by{};
  /// Set once, before any traffic, by the layer that can open channels (null: none).
  std::shared_ptr<class dialer> dialer;
  mutable std::mutex addresses_mutex;
  std::vector<std::string> addresses;

  std::mutex observer_mutex;
  std::function<void(const frame_event&)> observer;
  std::atomic<bool> observed{false};  ///< an observer is set (checked per frame without the lock)
  /// The endpoint is being destroyed: what waits for monitors to run is dropped, not sent.
  std::atomic<bool> closing{false};

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
  std::mutex receivers_mutex;
  /// The receivers of open channels (owned here until they close, so that one whose peer is
  /// not yet known lives; a closed one removes itself, which breaks the receiver -> impl
  /// cycle).
  std::vector<std::shared_ptr<receiver>> receivers;
};

}  // namespace coport::transport
