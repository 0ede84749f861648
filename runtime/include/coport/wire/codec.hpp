#pragma once
/// \file
/// coport::wire::codec<T> — how a value of type T is written and read, and its wire name.
///
/// Built in: bool, char, the fixed-width integers, float, double, std::string,
/// `std::vector<std::byte>` ("bytes"), and std::vector, std::map, std::optional, std::pair
/// and std::tuple of encodable types, `port_id` and `reason`. Any other type is looked up at
/// run time in the type registry, where `register_type<T>("name")` (coport/serialize.hpp)
/// puts user types; a type found nowhere throws `encode_error` / `decode_error` naming it.
/// Threading: stateless. Names: "i32", "string", "vector<port>", "map<string,f64>", ...

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "coport/detail/type_registry.hpp"
#include "coport/port_id.hpp"
#include "coport/reason.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"

namespace coport::detail {
port_id make_port_id(std::uint32_t node, std::uint64_t local, std::uint32_t incarnation);
/// Interns a node ID that came from a peer (bounded: see intern_remote_node in wire.cpp);
/// throws wire::decode_error for a malformed ID or when the bound is reached.
std::uint32_t intern_remote_node(std::string_view node_id);
}  // namespace coport::detail

namespace coport::wire {

/// The codec of a type not built in: the type registry's entry, found at run time.
template <class T, class = void>
struct codec {
  static constexpr bool builtin = false;
  static void encode(writer& w, const T& v) {
    const auto* e = detail::find_type(typeid(T));
    if (!e || !e->encode) throw encode_error{detail::unencodable_text(typeid(T))};
    e->encode(w, &v);
  }
  static void decode(reader& r, T& v) {
    const auto* e = detail::find_type(typeid(T));
    if (!e || !e->decode) throw decode_error{detail::unencodable_text(typeid(T))};
    e->decode(r, &v);
  }
  static std::string name() { return detail::wire_name_of(typeid(T)); }
};

namespace impl {

template <class T>
constexpr const char* integer_name() {
  if constexpr (std::is_same_v<T, char>)
    return "char";
  else if constexpr (std::is_same_v<T, std::int8_t>)
    return "i8";
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return "u8";
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return "i16";
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return "u16";
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return "i32";
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return "u32";
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return "i64";
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return "u64";
  else if constexpr (std::is_same_v<T, long long>)
    return "llong";
  else if constexpr (std::is_same_v<T, unsigned long long>)
    return "ullong";
  else if constexpr (std::is_same_v<T, wchar_t>)
    return "wchar";
  else if constexpr (std::is_same_v<T, char8_t>)
    return "c8";
  else if constexpr (std::is_same_v<T, char16_t>)
    return "c16";
  else if constexpr (std::is_same_v<T, char32_t>)
    return "c32";
  else
    return nullptr;
}

/// The fewest bytes a T takes on the wire: a codec's `min_size`, else 1 (every encoding
/// takes at least a byte). A count of Ts is checked against the bytes left with it.
template <class T, class = void>
struct min_size_of {
  static constexpr std::size_t value = 1;
};
template <class T>
struct min_size_of<T, std::void_t<decltype(codec<T>::min_size)>> {
  static constexpr std::size_t value = codec<T>::min_size;
};
template <class T>
constexpr std::size_t min_size() {
  return min_size_of<std::remove_cv_t<T>>::value;
}

/// "a,b,c" from the names of Ts (empty when any is unknown).
template <class... Ts>
std::string join_names() {
  std::string out;
  bool ok = true;
  std::size_t i = 0;
  (
      [&] {
        std::string n = codec<Ts>::name();
        if (n.empty()) ok = false;
        if (i++) out += ',';
        out += n;
      }(),
      ...);
  return ok ? out : std::string{};
}

template <class... Ts>
std::string composite_name(const char* head) {
  std::string inner = join_names<Ts...>();
  return inner.empty() && sizeof...(Ts) ? std::string{} : std::string{head} + "<" + inner + ">";
}

}  // namespace impl

template <>
struct codec<bool> {
  static constexpr bool builtin = true;
  static void encode(writer& w, bool v) { w.byte(v ? 1 : 0); }
  static void decode(reader& r, bool& v) {
    std::uint8_t b = r.byte();
    if (b > 1) reader::fail("a bool is neither 0 nor 1");
    v = b == 1;
  }
  static std::string name() { return "bool"; }
};

template <class T>
struct codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                 impl::integer_name<T>() != nullptr>> {
  static constexpr bool builtin = true;
  static void encode(writer& w, T v) {
    if constexpr (sizeof(T) == 1) {
      w.byte(static_cast<std::uint8_t>(v));
    } else if constexpr (std::is_signed_v<T>) {
      w.svarint(static_cast<std::int64_t>(v));
    } else {
      w.varint(static_cast<std::uint64_t>(v));
    }
  }
  static void decode(reader& r, T& v) {
    if constexpr (sizeof(T) == 1) {
      v = static_cast<T>(r.byte());
    } else if constexpr (std::is_signed_v<T>) {
      std::int64_t x = r.svarint();
      if (x < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          x > static_cast<std::int64_t>(std::numeric_limits<T>::max())) {
        reader::fail("an integer is out of its type's range");
      }
      v = static_cast<T>(x);
    } else {
      std::uint64_t x = r.varint();
      if (x > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        reader::fail("an integer is out of its type's range");
      }
      v = static_cast<T>(x);
    }
  }
  static std::string name() { return impl::integer_name<T>(); }
};

template <class T>
struct codec<T, std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
  static constexpr bool builtin = true;
  static constexpr std::size_t min_size = sizeof(T) == 4 ? 4 : 8;
  using bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  static void encode(writer& w, T v) {
    bits b;
    std::memcpy(&b, &v, sizeof b);
    if constexpr (sizeof(T) == 4)
      w.fixed32(b);
    else
      w.fixed64(b);
  }
  static void decode(reader& r, T& v) {
    bits b;
    if constexpr (sizeof(T) == 4)
      b = r.fixed32();
    else
      b = r.fixed64();
    std::memcpy(&v, &b, sizeof b);
  }
  static std::string name() { return sizeof(T) == 4 ? "f32" : "f64"; }
};

template <>
struct codec<std::string> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const std::string& v) { w.string(v); }
  static void decode(reader& r, std::string& v) { v.assign(r.string_view()); }
  static std::string name() { return "string"; }
};

template <>
struct codec<std::vector<std::byte>> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const std::vector<std::byte>& v) {
    w.varint(v.size());
    w.raw(v.data(), v.size());
  }
  static void decode(reader& r, std::vector<std::byte>& v) {
    auto s = r.raw(r.count(1));
    v.assign(s.begin(), s.end());
  }
  static std::string name() { return "bytes"; }
};

template <class T, class A>
struct codec<std::vector<T, A>, std::enable_if_t<!std::is_same_v<T, std::byte>>> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const std::vector<T, A>& v) {
    w.varint(v.size());
    if constexpr (sizeof(T) == 1 && std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      w.raw(v.data(), v.size());
    } else {
      for (const auto& x : v) codec<T>::encode(w, x);
    }
  }
  /// A count the bytes left cannot hold fails first; memory is reserved only for what those
  /// bytes could hold (an element is often larger in memory than on the wire).
  static void decode(reader& r, std::vector<T, A>& v) {
    std::size_t n = r.count(impl::min_size<T>());
    v.clear();
    if constexpr (sizeof(T) == 1 && std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      auto s = r.raw(n);
      v.resize(n);
      std::memcpy(v.data(), s.data(), n);
    } else {
      v.reserve(r.reservable(n, sizeof(T)));
      for (std::size_t i = 0; i < n; ++i) {
        T x{};
        codec<T>::decode(r, x);
        v.push_back(std::move(x));
      }
    }
  }
  static std::string name() { return impl::composite_name<T>("vector"); }
};

template <class K, class V, class C, class A>
struct codec<std::map<K, V, C, A>> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const std::map<K, V, C, A>& m) {
    w.varint(m.size());
    for (const auto& [k, v] : m) {
      codec<K>::encode(w, k);
      codec<V>::encode(w, v);
    }
  }
  static void decode(reader& r, std::map<K, V, C, A>& m) {
    std::size_t n = r.count(impl::min_size<K>() + impl::min_size<V>());
    m.clear();
    for (std::size_t i = 0; i < n; ++i) {
      K k{};
      V v{};
      codec<K>::decode(r, k);
      codec<V>::decode(r, v);
      if (!m.emplace(std::move(k), std::move(v)).second) reader::fail("a map repeats a key");
    }
  }
  static std::string name() { return impl::composite_name<K, V>("map"); }
};

template <class T>
struct codec<std::optional<T>> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const std::optional<T>& v) {
    w.byte(v ? 1 : 0);
    if (v) codec<T>::encode(w, *v);
  }
  static void decode(reader& r, std::optional<T>& v) {
    std::uint8_t flag = r.byte();
    if (flag > 1) reader::fail("an optional's flag is neither 0 nor 1");
    if (flag == 0) {
      v.reset();
      return;
    }
    v.emplace();
    codec<T>::decode(r, *v);
  }
  static std::string name() { return impl::composite_name<T>("optional"); }
};

template <class A, class B>
struct codec<std::pair<A, B>> {
  static constexpr bool builtin = true;
  static constexpr std::size_t min_size = impl::min_size<A>() + impl::min_size<B>();
  static void encode(writer& w, const std::pair<A, B>& v) {
    codec<A>::encode(w, v.first);
    codec<B>::encode(w, v.second);
  }
  static void decode(reader& r, std::pair<A, B>& v) {
    codec<std::remove_const_t<A>>::decode(r, const_cast<std::remove_const_t<A>&>(v.first));
    codec<B>::decode(r, v.second);
  }
  static std::string name() { return impl::composite_name<A, B>("pair"); }
};

template <class... Ts>
struct codec<std::tuple<Ts...>> {
  static constexpr bool builtin = true;
  static constexpr std::size_t min_size = (std::size_t{0} + ... + impl::min_size<Ts>());
  static void encode(writer& w, const std::tuple<Ts...>& v) {
    std::apply([&](const auto&... x) { (codec<Ts>::encode(w, x), ...); }, v);
  }
  static void decode(reader& r, std::tuple<Ts...>& v) {
    std::apply([&](auto&... x) { (codec<Ts>::decode(r, x), ...); }, v);
  }
  static std::string name() { return impl::composite_name<Ts...>("tuple"); }
};

/// A port ID: its node through the link's node cache (or inline), local number, incarnation.
/// Node reference: 0 null port; 1 the node ID follows inline; 2+s the link's cache slot s.
template <>
struct codec<port_id> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const port_id& p) {
    if (p.is_null()) {
      w.varint(0);
      return;
    }
    std::uint32_t slot = 0;
    if (node_names_out* names = w.names(); names && names->slot_of(p.node_number(), slot)) {
      w.varint(2 + std::uint64_t{slot});
    } else {
      w.varint(1);
      w.string(p.node());
    }
    w.varint(p.local());
    w.varint(p.incarnation());
  }
  static void decode(reader& r, port_id& p) {
    std::uint64_t ref = r.varint();
    if (ref == 0) {
      p = port_id{};
      return;
    }
    std::uint32_t node;
    if (ref == 1) {
      node = coport::detail::intern_remote_node(r.string_view());
    } else {
      node_names_in* names = r.names();
      if (!names) reader::fail("a port ID refers to a node cache outside a link");
      std::uint64_t slot = ref - 2;
      if (slot > 0xffffffffu) reader::fail("a node cache slot is out of range");
      node = names->lookup(static_cast<std::uint32_t>(slot));
    }
    std::uint64_t local = r.varint();
    std::uint64_t inc = r.varint();
    if (inc > 0xffffffffu) reader::fail("an incarnation is out of range");
    p = coport::detail::make_port_id(node, local, static_cast<std::uint32_t>(inc));
  }
  static std::string name() { return "port"; }
};

template <>
struct codec<reason> {
  static constexpr bool builtin = true;
  static void encode(writer& w, const reason& v) {
    w.varint(v.parts().size());
    for (const auto& part : v.parts()) w.string(part);
  }
  static void decode(reader& r, reason& v) {
    std::vector<std::string> parts;  // the same bytes as a vector of strings, read as bounded
    codec<std::vector<std::string>>::decode(r, parts);
    v = reason{std::move(parts)};
  }
  static std::string name() { return "reason"; }
};

/// Registers the built-in codec of T in the type registry (no-op for other types).
template <class T>
void register_builtin() {
  if constexpr (codec<T>::builtin) {
    coport::detail::type_entry e;
    e.type = &typeid(T);
    e.compute_name = &codec<T>::name;
    e.encode = [](writer& w, const void* v) { codec<T>::encode(w, *static_cast<const T*>(v)); };
    e.decode = [](reader& r, void* v) { codec<T>::decode(r, *static_cast<T*>(v)); };
    if constexpr (std::is_default_constructible_v<T>) {
      e.create = []() -> void* { return new T{}; };
    }
    e.destroy = [](void* v) noexcept { delete static_cast<T*>(v); };
    coport::detail::register_type_entry(std::move(e));
  }
}

}  // namespace coport::wire
