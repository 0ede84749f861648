#pragma once
/// \file
/// coport::reason — why a port ended: empty for a normal end, else a kind and details.
///
/// The kinds coport itself uses: `die` (an exception escaped; detail: its message),
/// `unhandled_message` (no handler for a tag), `bad_message` (a handler's parameter types did
/// not match the payload), `no_such_port` (monitoring a port that does not exist),
/// `no_such_init` / `init_failed` (spawn), `shutdown` (the node stopped), `mailbox_overflow`,
/// `transport_error` (later: the node was lost). Threading: a value type.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coport {

/// Why a port ended. Empty means a normal end (AEMP's empty reason list).
class reason {
 public:
  /// A normal end.
  reason() = default;

  /// An abnormal end: `kind` followed by any details.
  explicit reason(std::string kind) { parts_.push_back(std::move(kind)); }
  reason(std::initializer_list<std::string> parts) : parts_(parts) {}
  explicit reason(std::vector<std::string> parts) : parts_(std::move(parts)) {}

  /// True for a normal end.
  bool normal() const noexcept { return parts_.empty(); }

  /// The first part (`die`, `shutdown`, …), empty for a normal end.
  std::string_view kind() const noexcept {
    return parts_.empty() ? std::string_view{} : std::string_view{parts_.front()};
  }

  /// The parts after the kind joined with ": " (empty if none).
  std::string detail() const;

  /// All parts, kind first.
  const std::vector<std::string>& parts() const noexcept { return parts_; }

  /// "normal", or the parts joined with ": ".
  std::string to_string() const;

  friend bool operator==(const reason&, const reason&) = default;

 private:
  std::vector<std::string> parts_;
};

}  // namespace coport
