#pragma once
/// \file
/// transport::watched_ports — this node's ports that one peer watches (its `watch` frames
/// and watched spawns), and its lost notices whose acknowledgement waits for our monitors:
/// what this node owes that peer when one of those ports dies or once the monitors ran.
/// Notices go through the peer (peer::send_control), so that they wait while the link waits
/// to resume and go on whichever channel carries it on; the table itself passes from a
/// broken channel's receiver to the one that resumes it, and is forgotten with the link.
///
/// Threading: thread-safe (monitor callbacks run on any thread; one mutex, never held while
/// calling out). Lifetime: shared by the receivers that carry the link; the monitors'
/// callbacks hold it weakly. A monitor is destroyed outside the mutex (the node's monitor
/// table comes first in the lock order).
/// May include: the transport's public headers, the runtime's public headers.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "coport/detail/unique_function.hpp"
#include "coport/monitor.hpp"
#include "coport/node.hpp"
#include "coport/transport/transport.hpp"

namespace coport::transport {

class peer;

class watched_ports final : public std::enable_shared_from_this<watched_ports> {
 public:
  /// Notices go to `to` while the transport `at` lives.
  watched_ports(std::weak_ptr<endpoint::impl> at, std::weak_ptr<peer> to);

  /// The peer watches our port `target` of incarnation `incarnation` (once per port): when
  /// it dies, a died notice goes.
  void watch(node& n, const port_id& target, std::uint32_t incarnation);
  /// The peer no longer watches our port `local`.
  void unwatch(std::uint64_t local);
  /// For a port spawned for the peer with a watch: what sends its died notice.
  coport::detail::unique_function<void(const reason&)> on_death(std::uint64_t local,
                                                                std::uint32_t incarnation);
  /// The peer says port `local` of its own lost messages from us: the callback to run once
  /// our monitors on it ran (it sends the acknowledgement, then `release`s what waited), or
  /// none when more than max_holes such notices wait already.
  std::optional<coport::detail::unique_function<void()>> owe_ack(
      std::uint64_t local, std::uint32_t incarnation,
      coport::detail::unique_function<void()> release, std::size_t max_holes);
  /// The link is lost: the watches end and nothing more is sent.
  void forget();

 private:
  bool live() const;
  void send(std::vector<std::byte> frame) const;

  const std::weak_ptr<endpoint::impl> at_;
  const std::weak_ptr<peer> to_;
  mutable std::mutex mutex_;
  std::unordered_map<std::uint64_t, monitor> ports_;
  bool live_ = true;
  std::atomic<std::size_t> acks_owed_{0};
};

}  // namespace coport::transport
