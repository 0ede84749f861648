// Monitors: adding, cancelling and firing them (see monitors.hpp), and the guard.
#include <fmt/format.h>

#include "monitors.hpp"

#include "coport/internal/log.hpp"
#include "node_core.hpp"

namespace coport {

namespace detail {

monitor monitors::add(const port_id& target, unique_function<void(const reason&)> action) {
  if (!core_.is_own_node(target) && !target.is_null()) {
    port_id id = target;
    return core_.remote().add_monitor(id, std::move(action), {});
  }
  auto record = std::make_unique<monitor_record>();
  record->action = std::move(action);
  if (port_impl* p = core_.acquire(target, /*accept_killed=*/true)) {
    std::unique_lock lock{p->mon_lock};
    if (!p->monitors_closed) {
      p->monitors.push(record.get());
      lock.unlock();
      return monitor{core_.shared_from_this(), p, record.release()};  // keeps our reference
    }
    lock.unlock();
    core_.release(p);
  }
  // Gone: a spawned port whose init failed left its reason behind.
  reason why;
  if (auto died = core_.is_local(target) ? core_.inits().death(target.local()) : std::nullopt) {
    why = std::move(*died);
  } else if (core_.is_local(target) || target.is_null()) {
    why = reason{"no_such_port", "cannot monitor nonexistent port", target.to_string()};
  } else {
    why = reason{"no_such_port", "port of an earlier incarnation of this node", target.to_string()};
  }
  auto* r = record.release();
  core_.post_job([this, r, why = std::move(why)] { fire(r, why); });
  return {};
}

void monitors::cancel(port_impl* p, monitor_record* record, std::uint64_t serial,
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
    core_.release(p);
    return;
  }
  core_.remote().cancel_monitor(record, serial, remote_target);
}

namespace {
// The hold of the action `fire` is running on this thread (monitors::deferred_hold).
thread_local const std::shared_ptr<fire_hold>* running_hold = nullptr;
}  // namespace

fire_hold::~fire_hold() {
  if (!after_) return;
  if (auto core = core_.lock()) {
    try {
      core->post_job(std::move(after_));
    } catch (...) {
      // bad_alloc: what waits for it stays held, within the link's own bounds.
    }
  }
}

std::shared_ptr<fire_hold> monitors::deferred_hold() noexcept {
  return running_hold ? *running_hold : std::shared_ptr<fire_hold>{};
}

void monitors::fire(monitor_record* list, const reason& why,
                    const std::shared_ptr<fire_hold>& hold) noexcept {
  const auto* outer = std::exchange(running_hold, hold ? &hold : nullptr);
  while (list) {
    monitor_record* next = list->next;
    try {
      list->action(why);
    } catch (const std::exception& e) {
      log(log_level::error, {"runtime", core_.id()}, "a monitor action threw: {}", e.what());
    } catch (...) {
      log(log_level::error, {"runtime", core_.id()}, "a monitor action threw");
    }
    delete list;
    list = next;
  }
  running_hold = outer;
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
  core_->monitors().cancel(port_, record_, serial_, remote_target_);
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
