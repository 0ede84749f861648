// The items a group's master or standby keeps, and the members after any of them.
#include "history.hpp"

#include <algorithm>

namespace coport::groups::detail {

history::history(std::uint64_t limit) : limit_{std::clamp<std::uint64_t>(limit, 16, max_history)} {}

const history::entry& history::push(entry e) {
  bytes_ += e.weight;
  entries_.push_back(std::move(e));
  return entries_.back();
}

const history::entry* history::find(std::uint64_t seq) const {
  if (entries_.empty() || seq < entries_.front().it.seq) return nullptr;
  std::uint64_t i = seq - entries_.front().it.seq;
  return i < entries_.size() ? &entries_[i] : nullptr;
}

void history::trim(std::uint64_t released) {
  const std::size_t count = held_ ? max_history : limit_;
  while (!entries_.empty() && entries_.front().it.seq <= released &&
         (entries_.size() > count || bytes_ > max_history_bytes)) {
    bytes_ -= std::min(bytes_, entries_.front().weight);
    entries_.pop_front();
  }
}

void history::drop_after(std::uint64_t last, std::vector<port_id>& members) {
  while (!entries_.empty() && entries_.back().it.seq > last) {
    undo(members, entries_.back());
    bytes_ -= std::min(bytes_, entries_.back().weight);
    entries_.pop_back();
  }
}

void history::clear() {
  entries_.clear();
  bytes_ = 0;
}

std::vector<port_id> history::members_at(const std::vector<port_id>& members,
                                         std::uint64_t seq) const {
  std::vector<port_id> m = members;
  for (auto it = entries_.rbegin(); it != entries_.rend() && it->it.seq > seq; ++it) {
    undo(m, *it);
  }
  return m;
}

const std::vector<port_id>* history::step_view(std::optional<std::vector<port_id>>& view,
                                               const entry& e,
                                               const std::vector<port_id>& members) const {
  if (view) {
    redo(*view, e);
  } else if (e.it.kind == item_kind::join) {
    view = members_at(members, e.it.seq);
  }
  return view && e.it.kind == item_kind::join ? &*view : nullptr;
}

void history::redo(std::vector<port_id>& m, const entry& e) {
  if (e.it.kind == item_kind::join) {
    m.push_back(e.it.port);
  } else if (e.it.kind == item_kind::leave) {
    if (auto pos = std::find(m.begin(), m.end(), e.it.port); pos != m.end()) m.erase(pos);
  }
}

void history::undo(std::vector<port_id>& m, const entry& e) {
  if (e.it.kind == item_kind::join) {
    // Every later change is undone already: the member is the last one.
    if (!m.empty() && m.back() == e.it.port) {
      m.pop_back();
    } else if (auto pos = std::find(m.begin(), m.end(), e.it.port); pos != m.end()) {
      m.erase(pos);
    }
  } else if (e.it.kind == item_kind::leave && e.at != no_position) {
    m.insert(m.begin() + static_cast<std::ptrdiff_t>(std::min(e.at, m.size())), e.it.port);
  }
}

}  // namespace coport::groups::detail
