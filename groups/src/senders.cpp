// detail::senders — the streams a group's master has numbered messages of (senders.hpp).
#include "senders.hpp"

#include <algorithm>

namespace coport::groups::detail {

bool senders::numbers::has(std::uint64_t n) const {
  if (n <= floor) return true;
  const std::uint64_t i = n - base;
  return i / 64 < words.size() && (words[i / 64] >> (i % 64) & 1) != 0;
}

bool senders::numbers::add(std::uint64_t n) {
  if (n <= floor) return true;
  if (n == floor + 1 && words.empty()) {  // in order: the common case
    floor = n;
    return true;
  }
  if (words.empty()) base = floor + 1 - (floor % 64);
  if (n - floor > window) return false;
  const std::uint64_t i = n - base;
  if (i / 64 >= words.size()) words.resize(i / 64 + 1, 0);
  words[i / 64] |= std::uint64_t{1} << (i % 64);
  raise(floor);
  return true;
}

void senders::numbers::raise(std::uint64_t new_floor) {
  floor = std::max(floor, new_floor);
  while (has(floor + 1)) ++floor;  // (each number is passed once: amortised O(1))
  // Words wholly at or below the floor go.
  while (!words.empty() && base + 64 <= floor + 1) {
    words.pop_front();
    base += 64;
  }
  if (words.empty()) base = floor + 1 - (floor % 64);
}

std::vector<std::uint64_t> senders::numbers::above() const {
  std::vector<std::uint64_t> out;
  for (std::size_t w = 0; w < words.size(); ++w) {
    for (unsigned b = 0; b < 64; ++b) {
      const std::uint64_t n = base + w * 64 + b;
      if (n > floor && (words[w] >> b & 1) != 0) out.push_back(n);
    }
  }
  return out;
}

void senders::numbers::remove(std::uint64_t n) {
  if (n <= floor) return;
  const std::uint64_t i = n - base;
  if (i / 64 < words.size()) words[i / 64] &= ~(std::uint64_t{1} << (i % 64));
}

senders::entry* senders::lookup(const port_id& stream) const {
  if (cached_ && cached_stream_ == stream) return cached_;
  auto it = streams_.find(stream);
  if (it == streams_.end()) return nullptr;
  cached_stream_ = stream;
  cached_ = const_cast<entry*>(&it->second);
  return cached_;
}

bool senders::seen(const port_id& stream, std::uint64_t seq) const {
  const entry* e = lookup(stream);
  return e && e->numbered.has(seq);
}

senders::entry& senders::find_or_make(const port_id& stream) {
  entry* e = lookup(stream);
  if (!e) {
    evict(stream.node_number());
    e = &streams_.emplace(stream, entry{}).first->second;
    cached_stream_ = stream;
    cached_ = e;
  }
  e->used = ++clock_;
  return *e;
}

void senders::evict(std::uint32_t node_number) {
  // Room for one more stream of `node_number`: its least recently used one goes when it has
  // `per_node`, the least recently used of all when there are `limit`.
  std::size_t of_node = 0;
  auto oldest_of_node = streams_.end(), oldest = streams_.end();
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->first.node_number() == node_number) {
      ++of_node;
      if (oldest_of_node == streams_.end() || it->second.used < oldest_of_node->second.used) {
        oldest_of_node = it;
      }
    }
    if (oldest == streams_.end() || it->second.used < oldest->second.used) oldest = it;
  }
  auto victim = of_node >= per_node        ? oldest_of_node
                : streams_.size() >= limit ? oldest
                                           : streams_.end();
  if (victim == streams_.end()) return;
  std::erase(to_tell_, victim->first);
  if (cached_ == &victim->second) cached_ = nullptr;
  streams_.erase(victim);
}

void senders::mark(const port_id& stream, entry& e) {
  if (e.tell || e.released.floor == 0) return;
  e.tell = true;
  to_tell_.push_back(stream);
}

void senders::waits_from(const port_id& stream, std::uint64_t low) {
  if (low <= 1) return;
  if (const entry* known = lookup(stream); known && low - 1 <= known->released.floor) {
    return;  // (released ≤ numbered: nothing to move)
  }
  entry& e = find_or_make(stream);
  const std::uint64_t before = e.released.floor;
  e.numbered.raise(low - 1);
  e.released.raise(low - 1);
  if (e.released.floor != before) mark(stream, e);
}

bool senders::fits(const port_id& stream, std::uint64_t seq) const {
  const entry* e = lookup(stream);
  const std::uint64_t floor = e ? e->numbered.floor : 0;
  return seq <= floor || seq - floor <= window;
}

void senders::numbered(const port_id& stream, std::uint64_t seq) {
  find_or_make(stream).numbered.add(seq);
}

void senders::released(const port_id& stream, std::uint64_t seq, bool tell) {
  entry* e = lookup(stream);
  if (!e) return;  // forgotten since (evicted)
  const std::uint64_t before = e->released.floor;
  e->released.add(seq);
  if (tell && e->released.floor != before) mark(stream, *e);
}

void senders::again(const port_id& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  it->second.used = ++clock_;
  mark(stream, it->second);
}

void senders::unnumber(const port_id& stream, std::uint64_t seq) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || seq == 0) return;
  numbers& n = it->second.numbered;
  if (seq > n.floor) {
    n.remove(seq);
  } else if (n.floor - seq < window) {
    // The numbers between stay numbered (they are in items kept, or unnumbered in turn).
    numbers again;
    again.floor = seq - 1;
    again.base = again.floor + 1 - (again.floor % 64);
    for (std::uint64_t k = seq + 1; k <= n.floor; ++k) again.add(k);
    for (auto k : n.above()) again.add(k);
    n = std::move(again);
  }                         // (a floor a sender moved far past it: what it gave up stays given up)
  it->second.released = n;  // a standby: what it numbered it counts as released
}

void senders::release_all() {
  for (auto& [stream, e] : streams_) e.released = e.numbered;
}

std::vector<std::pair<port_id, std::uint64_t>> senders::take_confirmations() {
  std::vector<std::pair<port_id, std::uint64_t>> out;
  out.reserve(to_tell_.size());
  for (const auto& s : to_tell_) {
    auto it = streams_.find(s);
    if (it == streams_.end()) continue;
    it->second.tell = false;
    out.emplace_back(s, it->second.released.floor);
  }
  to_tell_.clear();
  return out;
}

senders::released_state senders::snapshot() const {
  released_state s;
  for (const auto& [stream, e] : streams_) {
    s.streams.push_back(stream);
    s.floors.push_back(e.released.floor);
    // (Numbers above the floors, at most max_snapshot_above in all: beyond, a new standby
    // may order again a message it lacks the number of, should it take over.)
    if (s.above.size() >= max_snapshot_above) continue;
    for (auto n : e.released.above()) {
      s.above_streams.push_back(stream);
      s.above.push_back(n);
    }
  }
  return s;
}

void senders::load(const released_state& s) {
  clear();
  for (std::size_t i = 0; i < std::min(s.streams.size(), s.floors.size()); ++i) {
    if (s.streams[i].is_null()) continue;
    entry& e = find_or_make(s.streams[i]);
    e.numbered.raise(s.floors[i]);
  }
  for (std::size_t i = 0; i < std::min(s.above_streams.size(), s.above.size()); ++i) {
    auto it = streams_.find(s.above_streams[i]);
    if (it != streams_.end()) it->second.numbered.add(s.above[i]);
  }
  for (auto& [stream, e] : streams_) e.released = e.numbered;
}

void senders::clear() {
  cached_ = nullptr;
  streams_.clear();
  to_tell_.clear();
}

}  // namespace coport::groups::detail
