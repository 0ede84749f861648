// coport::groups::detail::role_entry — see role_entry.hpp.
#include "role_entry.hpp"

#include <mutex>

namespace coport::groups::detail {

void role_entry::list() {
  std::lock_guard lock{st_.mutex};
  st_.role_ports.insert(self_);
}

void role_entry::set(std::uint64_t epoch, bool master, bool only_if_mine) {
  std::lock_guard lock{st_.mutex};
  auto& r = st_.roles[name_];
  if (only_if_mine && r.port && r.port != self_) return;
  r.port = self_;
  r.epoch = epoch;
  r.master = master;
}

bool role_entry::replaced() const {
  std::lock_guard lock{st_.mutex};
  auto it = st_.roles.find(name_);
  return it != st_.roles.end() && it->second.port && it->second.port != self_;
}

role_entry::claim role_entry::take(std::uint64_t epoch) {
  claim c;
  std::lock_guard lock{st_.mutex};
  auto& r = st_.roles[name_];
  if (r.port && r.port != self_) {
    // (A master here steps down when it meets the newer epoch, and keeps its log.)
    if (r.epoch > epoch) {
      c.newer = r.epoch;
    } else if (!r.master) {
      c.old = r.port;
    }
  }
  if (!c.newer) {
    r.port = self_;
    r.epoch = epoch;
    r.master = false;
  }
  return c;
}

void role_entry::drop_created() {
  subscription made;
  {
    std::lock_guard lock{st_.mutex};
    if (auto it = st_.create_regs.find(name_);
        it != st_.create_regs.end() && it->second.first == self_) {
      made = std::move(it->second.second);
      st_.create_regs.erase(it);
    }
  }
  // (It ends here, out of the lock.)
}

void role_entry::remove() {
  std::lock_guard lock{st_.mutex};
  st_.role_ports.erase(self_);
  if (auto it = st_.roles.find(name_); it != st_.roles.end() && it->second.port == self_) {
    st_.roles.erase(it);
  }
}

}  // namespace coport::groups::detail
