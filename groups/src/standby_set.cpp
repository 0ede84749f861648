// coport::groups::detail::standby_set — see standby_set.hpp.
#include "standby_set.hpp"

#include <algorithm>

namespace coport::groups::detail {

std::vector<port_id> standby_set::ports() const {
  std::vector<port_id> list;
  for (const auto& s : list_) list.push_back(s.port);
  return list;
}

bool standby_set::on_node(std::string_view id) const {
  for (const auto& s : list_) {
    if (s.port.node() == id) return true;
  }
  return false;
}

void standby_set::add(const port_id& p, monitor mon, std::uint64_t acked, bool fresh) {
  standby s;
  s.port = p;
  s.acked = acked;
  s.fresh = fresh;
  s.mon = std::move(mon);
  list_.push_back(std::move(s));
}

bool standby_set::remove(const port_id& p) {
  auto pos =
      std::find_if(list_.begin(), list_.end(), [&](const standby& s) { return s.port == p; });
  if (pos == list_.end()) return false;
  list_.erase(pos);
  return true;
}

std::uint64_t standby_set::held_by_all(std::uint64_t last) const {
  for (const auto& s : list_) last = std::min(last, s.acked);
  return last;
}

std::uint64_t standby_set::held_by_majority(const quorum& q, std::uint64_t last) {
  acked_.clear();  // (kept between calls: no allocation per release)
  for (const auto& s : list_) acked_.push_back(s.fresh ? 0 : s.acked);
  return q.held_by_majority(last, acked_);
}

bool standby_set::behind(std::uint64_t last) const {
  for (const auto& s : list_) {
    if (s.fresh || s.acked < last) return true;
  }
  return false;
}

}  // namespace coport::groups::detail
