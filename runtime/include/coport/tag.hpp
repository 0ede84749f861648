#pragma once
/// \file
/// coport::tag — the interned first element of every message.
///
/// Threading: making a tag from a string interns it (thread-safe, takes a lock once per new
/// name and a shared lock otherwise); copying and comparing tags are plain integer operations.
/// `"ping"_tag` interns once per call site, so it is the cheap way to name a tag on a hot path.
/// Lifetime: interned names live until the process ends.

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace coport {

/// An interned message tag that compares as one integer.
class tag {
 public:
  /// The empty tag.
  constexpr tag() noexcept = default;

  /// Interns `name`.
  tag(std::string_view name);
  tag(const std::string& name) : tag(std::string_view{name}) {}
  /// Interns a string literal (or any char array) through a small per-thread cache keyed by
  /// the array's address; the cached name is compared with the array, so the cache can only
  /// save work, never return a wrong tag.
  template <std::size_t N>
  tag(const char (&name)[N]) : id_{lookup_literal(name, N - 1)} {}
  /// Interns a C string. (A template, so that a string literal, which fits both this and the
  /// array form equally well, resolves to the more specialised array form and its cache.)
  template <class P>
  requires std::same_as<P, const char*> || std::same_as<P, char*> tag(P name)
      : tag(std::string_view{name}) {}

  /// The interned name.
  std::string_view name() const noexcept;

  /// The interning number: equal tags have equal numbers within one process.
  constexpr std::uint32_t id() const noexcept { return id_; }

  constexpr bool empty() const noexcept { return id_ == 0; }

  friend constexpr bool operator==(tag, tag) noexcept = default;
  friend constexpr auto operator<=>(tag, tag) noexcept = default;

 private:
  static std::uint32_t lookup_literal(const char* text, std::size_t size);

  std::uint32_t id_ = 0;
};

namespace detail {

/// A string literal usable as a template argument (for `_tag`).
template <std::size_t N>
struct fixed_string {
  char data[N]{};
  constexpr fixed_string(const char (&s)[N]) {
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  constexpr std::string_view view() const { return {data, N - 1}; }
};

}  // namespace detail

inline namespace literals {

/// `"ping"_tag`: the tag named "ping", interned once per distinct literal.
template <detail::fixed_string S>
const tag& operator""_tag() {
  static const tag interned{S.view()};
  return interned;
}

}  // namespace literals
}  // namespace coport

template <>
struct std::hash<coport::tag> {
  std::size_t operator()(coport::tag t) const noexcept { return t.id(); }
};
