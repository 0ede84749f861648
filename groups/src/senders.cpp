// detail::senders — the streams a group's master has numbered messages of (senders.hpp).
#include "senders.hpp"

#include <algorithm>
#include <limits>

namespace coport::groups::detail {

bool senders::seen(const port_id& stream, std::uint64_t seq) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && seq <= it->second.numbered;
}

senders::entry& senders::find_or_make(const port_id& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    evict(stream.node_number());
    it = streams_.emplace(stream, entry{}).first;
  }
  it->second.used = ++clock_;
  return it->second;
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
  streams_.erase(victim);
}

void senders::numbered(const port_id& stream, std::uint64_t seq) {
  entry& e = find_or_make(stream);
  e.numbered = std::max(e.numbered, seq);
}

void senders::released(const port_id& stream, std::uint64_t seq, bool tell) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;  // forgotten since (evicted)
  it->second.released = std::max(it->second.released, seq);
  if (tell && !it->second.tell) {
    it->second.tell = true;
    to_tell_.push_back(stream);
  }
}

void senders::again(const port_id& stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return;
  it->second.used = ++clock_;
  // Told only what was released: a message numbered and not released yet is confirmed
  // when it is.
  if (it->second.released > 0 && !it->second.tell) {
    it->second.tell = true;
    to_tell_.push_back(stream);
  }
}

void senders::unnumber(const port_id& stream, std::uint64_t seq) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || seq == 0) return;
  it->second.numbered = std::min(it->second.numbered, seq - 1);
  it->second.released = std::min(it->second.released, it->second.numbered);
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
    out.emplace_back(s, it->second.released);
  }
  to_tell_.clear();
  return out;
}

void senders::snapshot(std::vector<port_id>& streams, std::vector<std::uint64_t>& released) const {
  streams.clear();
  released.clear();
  for (const auto& [stream, e] : streams_) {
    if (e.released == 0) continue;
    streams.push_back(stream);
    released.push_back(e.released);
  }
}

void senders::load(const std::vector<port_id>& streams,
                   const std::vector<std::uint64_t>& released) {
  clear();
  const std::size_t n = std::min({streams.size(), released.size(), limit});
  for (std::size_t i = 0; i < n; ++i) {
    if (streams[i].is_null()) continue;
    entry& e = find_or_make(streams[i]);
    e.numbered = std::max(e.numbered, released[i]);
    e.released = e.numbered;
  }
}

void senders::clear() {
  streams_.clear();
  to_tell_.clear();
}

}  // namespace coport::groups::detail
