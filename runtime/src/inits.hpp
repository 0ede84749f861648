#pragma once
/// \file
/// detail::inits — the node's registered init functions (what `spawn` may start here), the
/// places each other node holds among the ports spawned on its behalf, and why recent inits
/// failed.
///
/// Places: a node may have node::max_spawned_per_peer ports spawned here alive at once, and
/// of an init registered with a lower bound, that many; `take_place` gives one or says why
/// not, `give_back` (when the port dies) returns it. Failures: the reasons of the last
/// `death_limit` failed inits are kept, each cut to `death_parts` parts of `death_text`
/// bytes (a reason may hold a peer's text), so that a monitor made after such a port died
/// still learns why.
/// Threading: thread-safe. Lifetime: owned by the node's core.
/// May include: the runtime's public and detail headers only.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coport/detail/handler.hpp"
#include "coport/reason.hpp"

namespace coport::detail {

class inits {
 public:
  static constexpr std::size_t death_limit = 4096;
  static constexpr std::size_t death_parts = 8;
  static constexpr std::size_t death_text = 1024;

  inits() = default;
  inits(const inits&) = delete;
  inits& operator=(const inits&) = delete;

  /// Registers (or replaces) init `name`; throws std::invalid_argument for an empty name or
  /// a bound outside 1 to node::max_spawned_per_peer.
  void add(std::string name, message_handler init, std::size_t max_per_peer,
           const signature* parameters = nullptr);
  bool has(std::string_view name) const;
  /// Every init's name and parameter types (null: it takes the message), sorted by name.
  std::vector<std::pair<std::string, const signature*>> signatures() const;
  /// The init registered under `name`, or null.
  std::shared_ptr<message_handler> find(std::string_view name) const;

  /// Takes one of node `origin`'s places for a port of `init`: empty, or why not.
  std::string take_place(std::string_view origin, std::string_view init);
  /// Gives back a place `take_place` gave.
  void give_back(std::string_view origin, std::string_view init) noexcept;

  /// Remembers why the init of the port with local number `local` failed.
  void record_death(std::uint64_t local, const reason& why);
  /// Why it failed, if remembered.
  std::optional<reason> death(std::uint64_t local) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<message_handler>, std::less<>> inits_;
  std::map<std::string, const signature*, std::less<>> parameters_;
  /// Inits registered with a lower per-peer bound.
  std::map<std::string, std::size_t, std::less<>> limits_;
  /// Ports alive that were spawned here on behalf of each other node, and of each limited
  /// init per node (key: node, newline, init).
  std::map<std::string, std::size_t, std::less<>> spawned_for_;
  std::map<std::string, std::size_t, std::less<>> spawned_by_init_;
  std::unordered_map<std::uint64_t, reason> deaths_;
  std::deque<std::uint64_t> death_order_;
};

}  // namespace coport::detail
