#pragma once
/// \file
/// detail::interner — maps strings to small stable numbers and back.
///
/// Threading: every member is thread-safe. Lifetime: names are never freed; the views that
/// `name` returns stay valid for the interner's lifetime.

#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace coport::detail {

/// A process-wide table of interned strings.
class interner {
 public:
  /// Number 0 is the empty string.
  interner();

  /// The number of `s`, interning it on first sight.
  std::uint32_t intern(std::string_view s);

  /// The string with number `id` (empty for an unknown number).
  std::string_view name(std::uint32_t id) const;

 private:
  mutable std::shared_mutex mutex_;
  std::deque<std::string> names_;  // deque: stable addresses
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

/// The interner of tags.
interner& tag_names();
/// The interner of node IDs.
interner& node_names();

}  // namespace coport::detail
