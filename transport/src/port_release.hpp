#pragma once
/// \file
/// transport::detail::port_release — the token that frees ports held for "no holes" (their
/// monitors fired; what is sent to them waits in their peer): called once the monitors ran,
/// or destroyed uncalled (the node could not run them: it is ending), which drops what
/// waited. It refers to its transport and peer weakly, and does nothing once they are gone.
///
/// Threading: any thread, once. Lifetime: the node's (a monitor callback's `after`).
/// May include: peer, endpoint_impl.

#include <memory>
#include <utility>
#include <vector>

#include "endpoint_impl.hpp"
#include "peer.hpp"

namespace coport::transport::detail {

// Releases held ports once: when called (the monitors ran), or when destroyed uncalled (the
// node could not run it: it is ending), then dropping what waited.
class port_release {
 public:
  port_release(std::weak_ptr<endpoint::impl> at, std::weak_ptr<peer> p,
               std::vector<std::uint64_t> ports)
      : at_{std::move(at)}, peer_{std::move(p)}, ports_{std::move(ports)} {}
  port_release(port_release&& o) noexcept
      : at_{std::move(o.at_)},
        peer_{std::move(o.peer_)},
        ports_{std::move(o.ports_)},
        done_{std::exchange(o.done_, true)} {}
  port_release& operator=(port_release&&) = delete;
  ~port_release() { finish(false); }
  void operator()() { finish(true); }

 private:
  void finish(bool send) {
    if (std::exchange(done_, true)) return;
    auto at = at_.lock();  // the transport first: the peer refers to it
    auto p = peer_.lock();
    if (at && p) p->release(ports_, send && !at->closing.load(std::memory_order_acquire));
  }
  std::weak_ptr<endpoint::impl> at_;
  std::weak_ptr<peer> peer_;
  std::vector<std::uint64_t> ports_;
  bool done_ = false;
};

}  // namespace coport::transport::detail
