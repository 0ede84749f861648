#pragma once
/// \file
/// coport::message_type — a message declared once: its tag and the types of its values.
///
/// ```cpp
/// const message_type<std::uint64_t, port_id> ack{"pg.ack"};
/// n.snd(master, ack, seq, self());      // each value converted to its declared type
/// if (ack.matches(m)) { auto& [seq, from] = ack.values(m); ... }
/// ```
/// Sending through a declaration converts each value to the declared type at compile time
/// (one that does not convert, or a wrong count, does not compile), so what is sent is
/// exactly what the receiver's check of the same declaration expects: an `int` passed for
/// a `std::uint64_t` can no longer go out as an `int` and be refused on arrival. A
/// dispatch_table (coport/dispatch_table.hpp) runs a port's handlers by declaration.
/// Threading: a value; const use from any thread. Lifetime: none.

#include <concepts>
#include <string_view>
#include <tuple>
#include <utility>

#include "coport/message.hpp"
#include "coport/tag.hpp"

namespace coport {

template <class... Ts>
class message_type {
  static_assert((std::same_as<Ts, detail::stored_t<Ts>> && ...),
                "declare the types a message stores (std::string, not const char* or "
                "std::string_view; no const or references)");

 public:
  explicit message_type(std::string_view name) : tag_{name} {}

  coport::tag tag() const noexcept { return tag_; }
  /// True when `m` has this tag and exactly these value types.
  bool matches(const message& m) const noexcept { return m.tag() == tag_ && m.is<Ts...>(); }
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
};

}  // namespace coport
