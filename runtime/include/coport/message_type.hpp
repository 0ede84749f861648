#pragma once
/// \file
/// coport::message_type — a message declared once: its tag and the types of its values.
///
/// ```cpp
/// const message_type<std::uint64_t, port_id> ack{"pg.ack"};
/// n.snd(master, ack, seq, self());      // each value converted to its declared type
/// if (ack.matches(m)) { auto& [seq, from] = ack.values(m); ... }
///
/// const message_type<port_id, reason> member_died{"pg.member_died", local_only};
/// n.mon(member, self(), member_died, member);  // the reason is the last declared value
/// n.after(10s, self(), recheck, name);          // each value converted, as snd does
/// ```
/// Sending through a declaration converts each value to the declared type at compile time
/// (one that does not convert, or a wrong count, does not compile), so what is sent is
/// exactly what the receiver's check of the same declaration expects: an `int` passed for
/// a `std::uint64_t` can no longer go out as an `int` and be refused on arrival. A
/// dispatch_table (coport/dispatch_table.hpp) runs a port's handlers by declaration.
/// A declaration made `local_only` is a message only this node makes (its monitors, timers
/// and API): a dispatch table refuses one that came over a link (`message::origin()` set),
/// so a peer cannot forge a "your member died" to a service.
/// Threading: a value; const use from any thread. Lifetime: none.

#include <concepts>
#include <string_view>
#include <tuple>
#include <utility>

#include "coport/message.hpp"
#include "coport/tag.hpp"

namespace coport {

/// Marks a declaration whose messages only this node sends (see message_type).
struct local_only_t {
  explicit local_only_t() = default;
};
inline constexpr local_only_t local_only{};

template <class... Ts>
class message_type {
  static_assert((std::same_as<Ts, detail::stored_t<Ts>> && ...),
                "declare the types a message stores (std::string, not const char* or "
                "std::string_view; no const or references)");

 public:
  /// Messages `name, Ts...` that any node may send.
  explicit message_type(std::string_view name) : tag_{name} {}
  /// Messages `name, Ts...` that only this node sends (a copy that came over a link is
  /// refused by a dispatch table).
  message_type(std::string_view name, local_only_t) : tag_{name}, local_only_{true} {}

  coport::tag tag() const noexcept { return tag_; }
  bool is_local_only() const noexcept { return local_only_; }
  /// True when `m` has this tag and exactly these value types (wherever it came from).
  bool matches(const message& m) const noexcept { return m.tag() == tag_ && m.is<Ts...>(); }
  /// True when `m` may have come from where it did: anywhere, or this node for a local-only
  /// declaration.
  bool allows_origin(const message& m) const noexcept { return !local_only_ || !m.origin(); }
  /// The values of a message that matches (throws bad_message_access for one that does not).
  std::tuple<Ts...>& values(message& m) const { return m.as<Ts...>(); }
  /// The message `tag, values...`, each value converted to its declared type.
  template <class... Us>
  message make(Us&&... values) const {
    return message::make(tag_, declared<Ts>(std::forward<Us>(values))...);
  }

  /// `value` as the declared type `T` (moved through when it is one already).
  template <class T, class U>
  requires std::convertible_to<U&&, T>
  static decltype(auto) declared(U&& value) {
    if constexpr (std::same_as<std::remove_cvref_t<U>, T>) {
      return std::forward<U>(value);
    } else {
      return T(std::forward<U>(value));
    }
  }

 private:
  coport::tag tag_;
  bool local_only_ = false;
};

}  // namespace coport
