#pragma once
/// \file
/// coport::monitor — the guard `node::mon` returns: destroying it cancels the monitor.
///
/// Threading: a guard may be cancelled from any thread; cancelling races benignly with the
/// monitor firing (the action runs at most once). Lifetime: a guard may outlive its node.

#include <cstdint>
#include <memory>

#include "coport/port_id.hpp"

namespace coport {

namespace detail {
class node_core;
struct port_impl;
struct monitor_record;
}  // namespace detail

/// Cancels a monitor when destroyed, unless released.
class [[nodiscard("destroying the guard cancels the monitor; call release() to keep it")]] monitor {
 public:
  monitor() noexcept = default;
  monitor(monitor && other) noexcept;
  monitor& operator=(monitor&& other) noexcept;
  monitor(const monitor&) = delete;
  monitor& operator=(const monitor&) = delete;
  ~monitor();

  /// Cancels the monitor now (no effect once it fired).
  void cancel() noexcept;

  /// Keeps the monitor for the port's whole life and empties this guard.
  void release() noexcept;

  /// True while this guard holds a monitor.
  explicit operator bool() const noexcept {
    return record_ != nullptr;
  }

  /// Low-level: made by the node.
  monitor(std::shared_ptr<detail::node_core> core, detail::port_impl * port,
          detail::monitor_record * record, std::uint64_t serial = 0,
          port_id remote_target = {}) noexcept;

 private:
  std::shared_ptr<detail::node_core> core_;
  detail::port_impl* port_ = nullptr;  // holds a reference; null for a remote port
  detail::monitor_record* record_ = nullptr;
  std::uint64_t serial_ = 0;
  port_id remote_target_;  // for a monitor on a remote port: the list that holds the record
};

}  // namespace coport
