// detail::release_gate — when a master may release and trim after a failure (release_gate.hpp).
#include "release_gate.hpp"

#include <algorithm>

namespace coport::groups::detail {

void release_gate::hold_back(const std::vector<std::string>* nodes,
                             std::chrono::steady_clock::time_point now) {
  held_back_ = true;
  checking_ = false;  // a check that ran is void: the standby it waited for is gone again
  if (nodes) held_nodes_.insert(nodes->begin(), nodes->end());
  for (auto it = lost_nodes_.begin(); it != lost_nodes_.end();) {
    if (now - it->second > recent) {
      it = lost_nodes_.erase(it);
    } else {
      held_nodes_.insert((it++)->first);
    }
  }
}

void release_gate::member_lost(const std::string& node, std::chrono::steady_clock::time_point now) {
  lost_nodes_[node] = now;
  // (Bounded by the nodes linked within `recent`: older entries go.)
  std::erase_if(lost_nodes_, [&](const auto& e) { return now - e.second > recent; });
}

bool release_gate::give_up_down(const std::vector<std::string>& up, const std::string& own) {
  if (!checking_) return false;
  std::erase_if(unchecked_, [&](const std::string& id) {
    return id != own && std::find(up.begin(), up.end(), id) == up.end();
  });
  return answered({});
}

bool release_gate::check(const std::vector<std::string>* nodes, std::vector<std::string>& ask) {
  if (!held_back_ || checking_) return false;
  checking_ = true;
  // The nodes with members since the hold too: their members may have left here (cut off)
  // and followed the other master there.
  unchecked_ = held_nodes_;
  if (nodes) unchecked_.insert(nodes->begin(), nodes->end());
  ask.assign(unchecked_.begin(), unchecked_.end());
  return answered({});
}

bool release_gate::answered(const std::string& node) {
  if (!checking_) return false;
  unchecked_.erase(node);
  if (!unchecked_.empty()) return false;
  checking_ = false;
  held_back_ = false;
  held_nodes_.clear();
  return true;
}

bool release_gate::unanswered(const std::string& node) const {
  return checking_ && unchecked_.count(node) > 0;
}

bool release_gate::keep_history(std::uint64_t floor, const std::vector<std::string>& nodes) {
  floor_ = floor;
  unsynced_.insert(nodes.begin(), nodes.end());
  return !unsynced_.empty();
}

bool release_gate::caught_up(const std::string& node, std::uint64_t last) {
  if (unsynced_.empty() || last < floor_) return false;
  unsynced_.erase(node);
  return unsynced_.empty();
}

}  // namespace coport::groups::detail
