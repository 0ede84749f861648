// Which accepted connections may start a handshake (see admission.hpp).
#include "admission.hpp"

#include <fmt/format.h>

#include "transport_log.hpp"

namespace coport::transport::detail {

bool admission::admit(const asio::ip::address& from) {
  std::string why;
  {
    std::lock_guard lock{mutex_};
    if (total_ >= max_total) {
      why = fmt::format("{} connections are in their handshake", max_total);
    } else if (auto& n = by_source_[from]; n >= max_per_source) {
      why = fmt::format("{} connections from {} are in their handshake", max_per_source,
                        from.to_string());
    } else {
      ++n;
      ++total_;
      return true;
    }
    if (auto it = by_source_.find(from); it != by_source_.end() && it->second == 0) {
      by_source_.erase(it);  // made by the lookup above
    }
    ++unlogged_;
    auto now = std::chrono::steady_clock::now();
    if (now - last_line_ < std::chrono::seconds{1}) return false;
    last_line_ = now;
    why = fmt::format("refused {} connection{} (the last: {})", unlogged_,
                      unlogged_ == 1 ? "" : "s", why);
    unlogged_ = 0;
  }
  log(log_warn, "node {}: {}", node_id_, why);
  return false;
}

void admission::done(const asio::ip::address& from) {
  std::lock_guard lock{mutex_};
  if (auto it = by_source_.find(from); it != by_source_.end()) {
    --total_;
    if (--it->second == 0) by_source_.erase(it);
  }
}

}  // namespace coport::transport::detail
