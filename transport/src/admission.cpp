// Which accepted connections may start a handshake (see admission.hpp).
#include "admission.hpp"

#include <fmt/format.h>

#include "transport_log.hpp"

namespace coport::transport::detail {

namespace {

/// Where a connection comes from, as the places are counted: its address; for IPv6 its /64
/// (one host usually holds a whole /64, and would otherwise have 2^64 sources).
asio::ip::address source_of(const asio::ip::address& a) {
  if (!a.is_v6() || a.to_v6().is_v4_mapped()) return a;
  auto bytes = a.to_v6().to_bytes();
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return asio::ip::address_v6{bytes};
}

std::string shown(const asio::ip::address& source) {
  return source.is_v6() ? source.to_string() + "/64" : source.to_string();
}

}  // namespace

admission::ticket admission::admit(const asio::ip::address& address) {
  const asio::ip::address from = source_of(address);
  std::string line;
  std::function<void()> evicted;
  ticket admitted = 0;
  {
    std::lock_guard lock{mutex_};
    auto it = by_source_.find(from);
    std::size_t mine = it == by_source_.end() ? 0 : it->second;
    bool room = false;
    if (mine >= max_per_source) {
      line = note_locked(fmt::format("{} connections from {} are in their handshake",
                                     max_per_source, shown(from)));
    } else if (entries_.size() < max_total) {
      room = true;
    } else {
      // The address holding the most places gives up its oldest, if it holds more than
      // this address would.
      auto heaviest = by_source_.begin();
      for (auto s = by_source_.begin(); s != by_source_.end(); ++s) {
        if (s->second > heaviest->second) heaviest = s;
      }
      if (mine + 1 >= heaviest->second) {
        line = note_locked(fmt::format("{} connections are in their handshake", max_total));
      } else {
        const asio::ip::address victim = heaviest->first;
        line = note_locked(
            fmt::format("the oldest handshake from {} (of {}) made room for one from {}",
                        shown(victim), heaviest->second, shown(from)));
        auto oldest = entries_.begin();
        while (oldest->second.from != victim) ++oldest;
        evicted = std::move(oldest->second.end);
        erase_locked(oldest);
        room = true;
      }
    }
    if (room) {
      admitted = ++next_;
      entries_.emplace(admitted, entry{from, {}});
      ++by_source_[from];
    }
  }
  if (evicted) evicted();
  if (!line.empty()) log(log_warn, {"transport", node_id_}, "{}", line);
  return admitted;
}

bool admission::bind(ticket t, std::function<void()> end) {
  std::lock_guard lock{mutex_};
  auto it = entries_.find(t);
  if (it == entries_.end()) return false;
  it->second.end = std::move(end);
  return true;
}

void admission::done(ticket t) {
  std::lock_guard lock{mutex_};
  if (auto it = entries_.find(t); it != entries_.end()) erase_locked(it);
}

void admission::erase_locked(std::map<ticket, entry>::iterator it) {
  if (auto s = by_source_.find(it->second.from); s != by_source_.end() && --s->second == 0) {
    by_source_.erase(s);
  }
  entries_.erase(it);
}

std::string admission::note_locked(std::string why) {
  ++unlogged_;
  auto now = std::chrono::steady_clock::now();
  if (now - last_line_ < std::chrono::seconds{1}) return {};
  last_line_ = now;
  std::string line = fmt::format("refused {} connection{} (the last: {})", unlogged_,
                                 unlogged_ == 1 ? "" : "s", why);
  unlogged_ = 0;
  return line;
}

}  // namespace coport::transport::detail
