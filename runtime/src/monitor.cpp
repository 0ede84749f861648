// Monitors: adding, cancelling and firing them, for local and remote ports.
#include <fmt/format.h>

#include "log.hpp"
#include "node_core.hpp"

namespace coport {

namespace detail {

monitor node_core::add_monitor(const port_id& target, unique_function<void(const reason&)> action) {
  if (!is_own_node(target) && !target.is_null()) {
    port_id id = target;
    return add_remote_monitor(id, std::move(action), {});
  }
  auto record = std::make_unique<monitor_record>();
  record->action = std::move(action);
  if (port_impl* p = acquire(target, /*accept_killed=*/true)) {
    std::unique_lock lock{p->mon_lock};
    if (!p->monitors_closed) {
      p->monitors.push(record.get());
      lock.unlock();
      return monitor{shared_from_this(), p, record.release()};  // keeps our reference
    }
    lock.unlock();
    release(p);
  }
  // Gone: a spawned port whose init failed left its reason behind.
  reason why;
  if (auto died = is_local(target) ? init_death(target.local()) : std::nullopt) {
    why = std::move(*died);
  } else if (is_local(target) || target.is_null()) {
    why = reason{"no_such_port", "cannot monitor nonexistent port", target.to_string()};
  } else {
    why = reason{"no_such_port", "port of an earlier incarnation of this node",
                 target.to_string()};
  }
  auto* r = record.release();
  post_job([this, r, why = std::move(why)] { fire(r, why); });
  return {};
}

monitor node_core::add_remote_monitor(port_id& target, unique_function<void(const reason&)> action,
                                      unique_function<port_id()> before_watch) {
  auto record = std::make_unique<monitor_record>();
  record->action = std::move(action);
  remote_link* l = link();
  if (!l) {
    if (before_watch) target = before_watch();
    auto* r = record.release();
    post_job([this, r, node = std::string{target.node()}] {
      fire(r, reason{"transport_error", node, "no transport to reach that node"});
    });
    return {};
  }
  std::uint64_t serial;
  {
    // The link is called under the lock, so that watch and unwatch of one target reach it
    // in the order they were made here.
    std::lock_guard lock{remote_mutex_};
    if (before_watch) target = before_watch();
    record->serial = serial = ++remote_serial_;
    auto& list = remote_monitors_[target];
    bool first = list.head == nullptr;
    list.push(record.get());
    if (first && !before_watch) l->watch(target);
  }
  return monitor{shared_from_this(), nullptr, record.release(), serial, target};
}

void node_core::cancel_monitor(port_impl* p, monitor_record* record, std::uint64_t serial,
                               const port_id& remote_target) noexcept {
  if (p) {
    bool owned = false;
    {
      std::lock_guard lock{p->mon_lock};
      if (!p->monitors_closed) {
        p->monitors.erase(record);
        owned = true;
      }
    }
    if (owned) delete record;  // else the teardown fires and deletes it
    release(p);
    return;
  }
  // A remote port: the record is in the target's list unless it has fired already (the
  // serial tells it from a newer record at the same address).
  bool owned = false;
  {
    std::lock_guard lock{remote_mutex_};
    if (auto it = remote_monitors_.find(remote_target); it != remote_monitors_.end()) {
      for (auto* r = it->second.head; r; r = r->next) {
        if (r != record || r->serial != serial) continue;
        it->second.erase(r);
        owned = true;
        if (!it->second.head) {
          remote_monitors_.erase(it);
          if (remote_link* l = link()) {
            try {
              l->unwatch(remote_target);
            } catch (const std::exception& e) {
              log_error("a link's unwatch", e.what());
            }
          }
        }
        break;
      }
    }
  }
  if (owned) delete record;
}

bool node_core::remote_port_died(const port_id& port, const reason& why) {
  monitor_record* list = nullptr;
  {
    std::lock_guard lock{remote_mutex_};
    if (auto it = remote_monitors_.find(port); it != remote_monitors_.end()) {
      list = it->second.take();
      remote_monitors_.erase(it);
    }
  }
  fire(list, why);
  return list != nullptr;
}

void node_core::remote_node_lost(std::uint32_t node_number, const reason& why) {
  std::vector<monitor_record*> lists;
  {
    std::lock_guard lock{remote_mutex_};
    for (auto it = remote_monitors_.begin(); it != remote_monitors_.end();) {
      if (it->first.node_number() == node_number) {
        lists.push_back(it->second.take());
        it = remote_monitors_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto* list : lists) fire(list, why);
}

void node_core::kill_remote(const port_id& port, const reason& why) {
  if (remote_link* l = link()) {
    l->kill(port, why);
  } else {
    log(log_level::debug, "node {}: no transport to kill {}", id_, port.to_string());
  }
}

void node_core::set_remote_link(std::shared_ptr<remote_link> link) {
  std::lock_guard lock{remote_mutex_};
  remote_.store(link.get(), std::memory_order_release);
  if (link) links_.push_back(std::move(link));
}

}  // namespace detail

// -- the guard ----------------------------------------------------------------------------------

monitor::monitor(std::shared_ptr<detail::node_core> core, detail::port_impl* port,
                 detail::monitor_record* record, std::uint64_t serial,
                 port_id remote_target) noexcept
    : core_{std::move(core)},
      port_{port},
      record_{record},
      serial_{serial},
      remote_target_{remote_target} {}

monitor::monitor(monitor&& other) noexcept
    : core_{std::move(other.core_)},
      port_{std::exchange(other.port_, nullptr)},
      record_{std::exchange(other.record_, nullptr)},
      serial_{other.serial_},
      remote_target_{other.remote_target_} {}

monitor& monitor::operator=(monitor&& other) noexcept {
  if (this != &other) {
    cancel();
    core_ = std::move(other.core_);
    port_ = std::exchange(other.port_, nullptr);
    record_ = std::exchange(other.record_, nullptr);
    serial_ = other.serial_;
    remote_target_ = other.remote_target_;
  }
  return *this;
}

monitor::~monitor() {
  cancel();
}

void monitor::cancel() noexcept {
  if (!record_) return;
  core_->cancel_monitor(port_, record_, serial_, remote_target_);
  record_ = nullptr;
  port_ = nullptr;
  core_.reset();
}

void monitor::release() noexcept {
  if (!record_) return;
  if (port_) core_->release(port_);
  record_ = nullptr;
  port_ = nullptr;
  core_.reset();
}

}  // namespace coport
