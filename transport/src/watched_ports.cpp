// Our ports a peer watches, and the acknowledgements we owe it (see watched_ports.hpp).
#include "watched_ports.hpp"

#include "endpoint_impl.hpp"
#include "frame.hpp"
#include "peer.hpp"

namespace coport::transport {

using detail::control_frame;
using detail::frame_kind;

watched_ports::watched_ports(std::weak_ptr<endpoint::impl> at, std::weak_ptr<peer> to)
    : at_{std::move(at)}, to_{std::move(to)} {}

bool watched_ports::live() const {
  std::lock_guard lock{mutex_};
  return live_;
}

void watched_ports::send(std::vector<std::byte> frame) const {
  auto a = at_.lock();  // the transport first: the peer refers to it
  auto p = to_.lock();
  if (a && p) p->send_control(std::move(frame));
}

void watched_ports::watch(node& n, const port_id& target, std::uint32_t incarnation) {
  {
    std::lock_guard lock{mutex_};
    if (ports_.count(target.local())) return;
  }
  const std::uint64_t local = target.local();
  monitor m = n.mon(target, [w = weak_from_this(), local, incarnation](const reason& why) {
    auto self = w.lock();
    if (!self) return;
    monitor fired;  // destroyed outside the lock
    {
      std::lock_guard lock{self->mutex_};
      if (!self->live_) return;  // the link was lost: the peer fired its own monitors
      if (auto it = self->ports_.find(local); it != self->ports_.end()) {
        fired = std::move(it->second);
        self->ports_.erase(it);
      }
    }
    self->send(control_frame(frame_kind::died, local, incarnation, &why));
  });
  if (!m) return;  // fired at once (no such port): the died notice is on its way
  std::lock_guard lock{mutex_};
  ports_.emplace(local, std::move(m));
}

void watched_ports::unwatch(std::uint64_t local) {
  monitor gone;  // destroyed outside the lock
  std::lock_guard lock{mutex_};
  if (auto it = ports_.find(local); it != ports_.end()) {
    gone = std::move(it->second);
    ports_.erase(it);
  }
}

coport::detail::unique_function<void(const reason&)> watched_ports::on_death(
    std::uint64_t local, std::uint32_t incarnation) {
  return [w = weak_from_this(), local, incarnation](const reason& why) {
    auto self = w.lock();
    if (self && self->live()) self->send(control_frame(frame_kind::died, local, incarnation, &why));
  };
}

std::optional<coport::detail::unique_function<void()>> watched_ports::owe_ack(
    std::uint64_t local, std::uint32_t incarnation, coport::detail::unique_function<void()> release,
    std::size_t max_holes) {
  if (acks_owed_.fetch_add(1, std::memory_order_relaxed) >= max_holes) {
    acks_owed_.fetch_sub(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return coport::detail::unique_function<void()>{
      [w = weak_from_this(), local, incarnation, release = std::move(release)]() mutable {
        if (auto self = w.lock()) {
          self->acks_owed_.fetch_sub(1, std::memory_order_relaxed);
          if (self->live()) {
            self->send(control_frame(frame_kind::lost_ack, local, incarnation, nullptr));
          }
        }
        release();
      }};
}

void watched_ports::forget() {
  std::unordered_map<std::uint64_t, monitor> gone;  // destroyed outside the lock
  std::lock_guard lock{mutex_};
  live_ = false;
  gone.swap(ports_);
}

}  // namespace coport::transport
