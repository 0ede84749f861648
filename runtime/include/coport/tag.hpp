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
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace coport {

namespace detail {

/// One entry of the per-thread literal cache: an array's address, its bytes and its tag.
struct literal_slot {
  const char* address = nullptr;
  std::uint32_t size = 0;  ///< the array's length, 0 = empty slot
  std::uint32_t id = 0;
  char bytes[24] = {};
};
inline constexpr std::size_t literal_slot_count = 64;
/// Constant-initialised, so reading it is a plain thread-local access (no init guard).
inline thread_local literal_slot literal_slots[literal_slot_count];

inline std::size_t literal_slot_of(const char* address) noexcept {
  // Fibonacci hashing of the whole address: literals a few bytes apart must not collide.
  return (reinterpret_cast<std::uintptr_t>(address) * 0x9E3779B97F4A7C15ull) >> 58;
}

}  // namespace detail

/// An interned message tag that compares as one integer.
class tag {
 public:
  /// The empty tag.
  constexpr tag() noexcept = default;

  /// Interns `name`.
  tag(std::string_view name);
  tag(const std::string& name) : tag(std::string_view{name}) {}
  /// Interns a string literal (or any char array) through a small per-thread cache keyed by
  /// the array's address; a hit also compares the array's bytes with the cached copy, so the
  /// cache can only save work, never return a wrong tag. A hit is inline: a few loads and
  /// one fixed-size compare.
  template <std::size_t N>
  tag(const char (&name)[N]) {
    if constexpr (N <= sizeof(detail::literal_slot::bytes)) {
      const detail::literal_slot& s = detail::literal_slots[detail::literal_slot_of(name)];
      if (s.address == name && s.size == N && std::memcmp(s.bytes, name, N) == 0) {
        id_ = s.id;
        return;
      }
    }
    id_ = lookup_literal(name, N);
  }
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
  /// The cache's slow path: interns the array's name and fills its slot when it fits.
  static std::uint32_t lookup_literal(const char* array, std::size_t size);

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
