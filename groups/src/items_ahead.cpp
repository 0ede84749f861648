// coport::groups::detail::items_ahead — see items_ahead.hpp.
#include "items_ahead.hpp"

#include <algorithm>

namespace coport::groups::detail {

void items_ahead::keep(item it) {
  const std::size_t weight = item_weight(it);
  if (items_.size() < max_pending && bytes_ + weight <= max_pending_bytes &&
      items_.emplace(it.seq, std::move(it)).second) {
    bytes_ += weight;
  }
}

std::optional<item> items_ahead::take(std::uint64_t next) {
  for (auto pos = items_.begin(); pos != items_.end() && pos->first <= next;) {
    bytes_ -= std::min(bytes_, item_weight(pos->second));
    if (pos->first == next) {
      std::optional<item> it{std::move(pos->second)};
      items_.erase(pos);
      return it;
    }
    pos = items_.erase(pos);
  }
  return std::nullopt;
}

}  // namespace coport::groups::detail
