// coport::groups::detail::membership — see membership.hpp.
#include "membership.hpp"

#include <algorithm>

namespace coport::groups::detail {

std::size_t membership::apply(item& it) {
  std::size_t at = 0;
  it.members = {};
  if (it.kind == item_kind::join) {
    members_.push_back(it.port);
    ++per_node_[std::string{it.port.node()}];
  } else if (it.kind == item_kind::leave) {
    auto pos = std::find(members_.begin(), members_.end(), it.port);
    if (pos == members_.end()) return history::no_position;
    at = static_cast<std::size_t>(pos - members_.begin());
    members_.erase(pos);
    auto c = per_node_.find(std::string{it.port.node()});
    if (c != per_node_.end() && --c->second == 0) per_node_.erase(c);
  } else {
    return 0;
  }
  rebuild_nodes();
  return at;
}

void membership::assign(std::vector<port_id> members) {
  members_ = std::move(members);
  per_node_.clear();
  for (const auto& m : members_) ++per_node_[std::string{m.node()}];
  rebuild_nodes();
}

void membership::rebuild_nodes() {
  auto nodes = std::make_shared<std::vector<std::string>>();
  for (const auto& [id, count] : per_node_) nodes->push_back(id);
  nodes_ = std::move(nodes);
}

}  // namespace coport::groups::detail
