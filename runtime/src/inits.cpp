// The node's init functions, spawn places and init failures (see inits.hpp).
#include "inits.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "coport/node.hpp"

namespace coport::detail {

namespace {

/// The key of one node's ports of one limited init.
std::string init_key(std::string_view origin, std::string_view init) {
  std::string key{origin};
  key += '\n';  // never in a node ID: the key splits at its first newline
  key += init;
  return key;
}

void give_back_one(std::map<std::string, std::size_t, std::less<>>& counts,
                   std::string_view key) noexcept {
  auto it = counts.find(key);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

}  // namespace

void inits::add(std::string name, message_handler init, std::size_t max_per_peer,
                const signature* parameters) {
  if (name.empty()) throw std::invalid_argument{"coport: an init function needs a name"};
  if (max_per_peer == 0 || max_per_peer > node::max_spawned_per_peer) {
    throw std::invalid_argument{"coport: register_init: max_per_peer must be 1 to " +
                                std::to_string(node::max_spawned_per_peer)};
  }
  auto handler = std::make_shared<message_handler>(std::move(init));
  std::lock_guard lock{mutex_};
  if (max_per_peer < node::max_spawned_per_peer) {
    limits_[name] = max_per_peer;
  } else if (auto it = limits_.find(name); it != limits_.end()) {
    limits_.erase(it);
  }
  parameters_[name] = parameters;
  inits_[std::move(name)] = std::move(handler);
}

std::vector<std::pair<std::string, const signature*>> inits::signatures() const {
  std::lock_guard lock{mutex_};
  std::vector<std::pair<std::string, const signature*>> out;
  for (const auto& [name, handler] : inits_) {
    auto it = parameters_.find(name);
    out.emplace_back(name, it == parameters_.end() ? nullptr : it->second);
  }
  return out;
}

bool inits::has(std::string_view name) const {
  std::lock_guard lock{mutex_};
  return inits_.find(name) != inits_.end();
}

std::shared_ptr<message_handler> inits::find(std::string_view name) const {
  std::lock_guard lock{mutex_};
  auto it = inits_.find(name);
  return it == inits_.end() ? nullptr : it->second;
}

std::string inits::take_place(std::string_view origin, std::string_view init) {
  std::lock_guard lock{mutex_};
  auto it = spawned_for_.find(origin);
  if (it == spawned_for_.end()) it = spawned_for_.emplace(std::string{origin}, 0).first;
  if (it->second >= node::max_spawned_per_peer) {
    return fmt::format("node {} has {} ports spawned here alive", origin.substr(0, 256),
                       node::max_spawned_per_peer);
  }
  if (auto limit = limits_.find(init); limit != limits_.end()) {
    std::string key = init_key(origin, init);
    auto n = spawned_by_init_.find(key);
    if (n == spawned_by_init_.end()) n = spawned_by_init_.emplace(std::move(key), 0).first;
    if (n->second >= limit->second) {
      if (n->second == 0) spawned_by_init_.erase(n);
      return fmt::format("node {} has {} ports of init '{}' spawned here alive",
                         origin.substr(0, 256), limit->second, init.substr(0, 256));
    }
    ++n->second;
  }
  ++it->second;
  return {};
}

void inits::give_back(std::string_view origin, std::string_view init) noexcept {
  std::lock_guard lock{mutex_};
  give_back_one(spawned_for_, origin);
  if (limits_.count(init)) give_back_one(spawned_by_init_, init_key(origin, init));
}

void inits::record_death(std::uint64_t local, const reason& why) {
  std::vector<std::string> parts;
  for (const auto& part : why.parts()) {
    if (parts.size() == death_parts) break;
    parts.push_back(part.substr(0, death_text));
  }
  std::lock_guard lock{mutex_};
  if (!deaths_.insert_or_assign(local, reason{std::move(parts)}).second) return;
  death_order_.push_back(local);
  if (death_order_.size() > death_limit) {
    deaths_.erase(death_order_.front());
    death_order_.pop_front();
  }
}

std::optional<reason> inits::death(std::uint64_t local) const {
  std::lock_guard lock{mutex_};
  auto it = deaths_.find(local);
  if (it == deaths_.end()) return std::nullopt;
  return it->second;
}

}  // namespace coport::detail
