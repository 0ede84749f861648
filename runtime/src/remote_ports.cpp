// A node's side of ports on other nodes (see remote_ports.hpp).
#include "remote_ports.hpp"

#include <algorithm>

#include "coport/internal/log.hpp"
#include "node_core.hpp"

namespace coport::detail {

void remote_ports::send(const port_id& to, message_block* n) noexcept {
  remote_link* l = link();
  if (l && (n->kind == message_kind::user || n->kind == message_kind::traced)) {
    try {
      l->send(to, message{n});
    } catch (const std::exception& e) {
      log(log_level::error, {"runtime", core_.id()},
          "transport failed to take a message for {}: {}", to.to_string(), e.what());
      core_.sends().count_drop();
    }
    return;
  }
  log(log_level::debug, {"runtime", core_.id()}, "dropped a message to {} (no transport)",
      to.to_string());
  destroy_message(n);
  core_.sends().count_drop();
}

std::uint64_t remote_ports::mint_local() noexcept {
  return port_table::minted_bit |
         (minted_next_.fetch_add(1, std::memory_order_relaxed) & ~port_table::minted_bit);
}

monitor remote_ports::add_monitor(port_id& target, unique_function<void(const reason&)> action,
                                  unique_function<port_id()> before_watch) {
  auto record = std::make_unique<monitor_record>();
  record->action = std::move(action);
  remote_link* l = link();
  if (!l) {
    if (before_watch) target = before_watch();
    auto* r = record.release();
    core_.post_job([this, r, node = std::string{target.node()}] {
      core_.monitors().fire(r, reason{"transport_error", node, "no transport to reach that node"});
    });
    return {};
  }
  std::uint64_t serial;
  {
    // The link is called under the lock, so that watch and unwatch of one target reach it
    // in the order they were made here.
    std::lock_guard lock{mutex_};
    if (before_watch) target = before_watch();
    record->serial = serial = ++serial_;
    auto& list = monitors_[target];
    bool first = list.head == nullptr;
    list.push(record.get());
    if (first && !before_watch) l->watch(target);
  }
  return monitor{core_.shared_from_this(), nullptr, record.release(), serial, target};
}

void remote_ports::cancel_monitor(monitor_record* record, std::uint64_t serial,
                                  const port_id& remote_target) noexcept {
  // A remote port: the record is in the target's list unless it has fired already (the
  // serial tells it from a newer record at the same address).
  bool owned = false;
  {
    std::lock_guard lock{mutex_};
    if (auto it = monitors_.find(remote_target); it != monitors_.end()) {
      for (auto* r = it->second.head; r; r = r->next) {
        if (r != record || r->serial != serial) continue;
        it->second.erase(r);
        owned = true;
        if (!it->second.head) {
          monitors_.erase(it);
          if (remote_link* l = link()) {
            try {
              l->unwatch(remote_target);
            } catch (const std::exception& e) {
              core_.log_error("a link's unwatch", e.what());
            }
          }
        }
        break;
      }
    }
  }
  if (owned) delete record;
}

std::shared_ptr<fire_hold> remote_ports::hold_for(unique_function<void()> after) {
  if (!after) return {};
  return std::make_shared<fire_hold>(core_.weak_from_this(), std::move(after));
}

bool remote_ports::port_died(const port_id& port, const reason& why,
                             unique_function<void()> after) {
  auto hold = hold_for(std::move(after));
  monitor_record* list = nullptr;
  {
    std::lock_guard lock{mutex_};
    if (auto it = monitors_.find(port); it != monitors_.end()) {
      list = it->second.take();
      monitors_.erase(it);
    }
  }
  const bool any = list != nullptr;
  core_.monitors().fire(list, why, hold);
  return any;
}

void remote_ports::node_lost(std::uint32_t node_number, const reason& why,
                             unique_function<void()> after) {
  auto hold = hold_for(std::move(after));
  std::vector<std::pair<port_id, monitor_record*>> lists;
  {
    std::lock_guard lock{mutex_};
    for (auto it = monitors_.begin(); it != monitors_.end();) {
      if (it->first.node_number() == node_number) {
        lists.emplace_back(it->first, it->second.take());
        it = monitors_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // In port order, not the table's: a deterministic node fires them the same way each run.
  std::sort(lists.begin(), lists.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& entry : lists) core_.monitors().fire(entry.second, why, hold);
}

void remote_ports::kill(const port_id& port, const reason& why) {
  if (remote_link* l = link()) {
    l->kill(port, why);
  } else {
    log(log_level::debug, {"runtime", core_.id()}, "no transport to kill {}", port.to_string());
  }
}

void remote_ports::set_link(std::shared_ptr<remote_link> link) {
  std::lock_guard lock{mutex_};
  link_.store(link.get(), std::memory_order_release);
  if (link) links_.push_back(std::move(link));
}

}  // namespace coport::detail
