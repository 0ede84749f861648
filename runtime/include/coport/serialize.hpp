#pragma once
/// \file
/// coport::register_type — lets a user type cross the wire, serialized with Cereal.
///
/// ```cpp
/// struct point { int x = 0, y = 0; template <class A> void serialize(A& a) { a(x, y); } };
/// coport::register_type<point>("geo.point");   // once, before the first send or receive
/// n.snd(remote_port, "moved", point{1, 2});   // a handler `[](point p)` on the other node
/// ```
/// The name is what the other node looks the type up by: it must be the same on both sides
/// and never change. A type needs a default constructor and Cereal's `serialize` (or
/// `save`/`load`); Cereal's support for the standard containers, optional, variant, pair,
/// tuple and chrono durations is included, and `port_id` and `reason` members work too. Sizes read
/// from a peer are checked against the bytes that are left before anything is allocated, and
/// a vector reserves no more memory than those bytes hold. Threading:
/// `register_type` is thread-safe. Include this header only where types are registered or
/// serialized: it brings in Cereal.

#include <cereal/cereal.hpp>
// Cereal's support for the standard types that members commonly have.
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "coport/detail/message_block.hpp"
#include "coport/detail/type_registry.hpp"
#include "coport/wire/codec.hpp"

namespace coport::wire {

/// Cereal's view of a wire::writer.
class cereal_output : public cereal::OutputArchive<cereal_output, cereal::AllowEmptyClassElision> {
 public:
  explicit cereal_output(writer& w) : OutputArchive(this), out{w} {}
  writer& out;
};

/// Cereal's view of a wire::reader.
class cereal_input : public cereal::InputArchive<cereal_input, cereal::AllowEmptyClassElision> {
 public:
  explicit cereal_input(reader& r) : InputArchive(this), in{r} {}
  reader& in;
};

template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
void CEREAL_SAVE_FUNCTION_NAME(cereal_output& ar, const T& v) {
  codec<T>::encode(ar.out, v);
}
template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
void CEREAL_LOAD_FUNCTION_NAME(cereal_input& ar, T& v) {
  codec<T>::decode(ar.in, v);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_output& ar, cereal::NameValuePair<T>& nvp) {
  ar(nvp.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_input& ar, cereal::NameValuePair<T>& nvp) {
  ar(nvp.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_output& ar, cereal::SizeTag<T>& t) {
  ar.out.varint(static_cast<std::uint64_t>(t.size));
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_input& ar, cereal::SizeTag<T>& t) {
  // Every element of a container takes at least one byte on the wire: a count larger than
  // the bytes left is an error before Cereal resizes anything.
  t.size = static_cast<std::remove_reference_t<T>>(ar.in.count(1));
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(cereal_output& ar, const cereal::BinaryData<T>& b) {
  ar.out.raw(b.data, static_cast<std::size_t>(b.size));
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(cereal_input& ar, cereal::BinaryData<T>& b) {
  auto s = ar.in.raw(static_cast<std::size_t>(b.size));
  std::memcpy(b.data, s.data(), s.size());
}
/// Cereal reads a vector by resizing it to the count read first, which builds that many
/// elements before the first of them fails to decode (a count of 1 Mi strings, each of which
/// could be a byte, made 32 MiB from 1 MiB). This reads them as they come instead, reserving
/// no more than the bytes left hold; values copied as they are (arithmetic) must all be there
/// before anything is allocated. The bytes are Cereal's own: a count, then the elements.
template <class T, class A, std::enable_if_t<!std::is_same_v<T, bool>, int> = 0>
void CEREAL_LOAD_FUNCTION_NAME(cereal_input& ar, std::vector<T, A>& v) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  auto n = static_cast<std::size_t>(size);
  v.clear();
  if constexpr (std::is_arithmetic_v<T>) {
    if (n > ar.in.remaining() / sizeof(T)) reader::fail("a count exceeds the bytes left");
    auto bytes = ar.in.raw(n * sizeof(T));
    v.resize(n);
    if (n) std::memcpy(v.data(), bytes.data(), bytes.size());
  } else {
    v.reserve(ar.in.reservable(n, sizeof(T)));
    for (std::size_t i = 0; i < n; ++i) {
      v.emplace_back();
      ar(v.back());
    }
  }
}
inline void CEREAL_SAVE_FUNCTION_NAME(cereal_output& ar, const port_id& p) {
  codec<port_id>::encode(ar.out, p);
}
inline void CEREAL_LOAD_FUNCTION_NAME(cereal_input& ar, port_id& p) {
  codec<port_id>::decode(ar.in, p);
}
inline void CEREAL_SAVE_FUNCTION_NAME(cereal_output& ar, const reason& r) {
  codec<reason>::encode(ar.out, r);
}
inline void CEREAL_LOAD_FUNCTION_NAME(cereal_input& ar, reason& r) {
  codec<reason>::decode(ar.in, r);
}

/// Cereal's view of a type's structure, for schemas (coport/network/schema.hpp): a value is
/// "saved" as the names of what it holds, in order ("v2 i32 string [f64] {string:i64}");
/// containers, optionals and variants name their element types (a default-made element is
/// described), a class inside another one is in parentheses, `v` + a number is a Cereal
/// class version, and a type met again inside itself (a tree of itself) is `rec`.
class cereal_schema : public cereal::OutputArchive<cereal_schema, cereal::AllowEmptyClassElision> {
 public:
  cereal_schema() : OutputArchive(this) {}
  void token(std::string_view t) {
    static constexpr std::string_view opens = "[{<:|(";
    if (!text.empty() && opens.find(text.back()) == std::string_view::npos) text += ' ';
    text += t;
  }
  void close(char c) { text += c; }
  /// The description of a default-made `T` ("?" when it has none).
  template <class T>
  void element() {
    if constexpr (std::is_default_constructible_v<T>) {
      const std::type_info* id = &typeid(T);
      for (const auto* d : describing) {
        if (*d == *id) return token("rec");
      }
      describing.push_back(id);
      T value{};
      (*this)(value);
      describing.pop_back();
    } else {
      token("?");
    }
  }
  std::string text;
  int depth = 0;  ///< classes open (the outermost's fields go without parentheses)
  std::vector<const std::type_info*> describing;
};

/// A class with a serialize or save of its own (a user's type, not a container).
template <class T>
inline constexpr bool schema_class =
    std::is_class_v<T> &&
    (cereal::traits::has_member_serialize<T, cereal_schema>::value ||
     cereal::traits::has_member_versioned_serialize<T, cereal_schema>::value ||
     cereal::traits::has_member_save<T, cereal_schema>::value ||
     cereal::traits::has_member_versioned_save<T, cereal_schema>::value);
template <class T, std::enable_if_t<schema_class<T>, int> = 0>
void prologue(cereal_schema& ar, const T&) {
  if (ar.depth++ > 0) ar.token("(");
}
template <class T, std::enable_if_t<schema_class<T>, int> = 0>
void epilogue(cereal_schema& ar, const T&) {
  if (--ar.depth > 0) ar.close(')');
}

template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const T&) {
  ar.token(codec<T>::name());
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_schema& ar, cereal::NameValuePair<T>& nvp) {
  if constexpr (std::is_arithmetic_v<std::remove_cv_t<std::remove_reference_t<T>>>) {
    if (std::string_view{nvp.name ? nvp.name : ""} == "cereal_class_version") {
      ar.token("v" + std::to_string(nvp.value));
      return;
    }
  }
  ar(nvp.value);
}
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(cereal_schema& ar, cereal::SizeTag<T>&) {
  ar.token("n");
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const cereal::BinaryData<T>&) {
  ar.token("bytes");
}
template <class C, class Tr, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::basic_string<C, Tr, A>&) {
  ar.token("string");
}
template <class T, class A, std::enable_if_t<!std::is_same_v<T, bool>, int> = 0>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::vector<T, A>&) {
  ar.token("[");
  ar.template element<T>();
  ar.close(']');
}
template <class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::vector<bool, A>&) {
  ar.token("[bool]");
}
template <class T, std::size_t N>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::array<T, N>&) {
  ar.token("array<" + std::to_string(N) + ",");
  ar.template element<T>();
  ar.close('>');
}
template <class T, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::deque<T, A>&) {
  ar.token("deque<");
  ar.template element<T>();
  ar.close('>');
}
template <class T, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::list<T, A>&) {
  ar.token("list<");
  ar.template element<T>();
  ar.close('>');
}
template <class T, class C, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::set<T, C, A>&) {
  ar.token("set<");
  ar.template element<T>();
  ar.close('>');
}
template <class T, class H, class E, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::unordered_set<T, H, E, A>&) {
  ar.token("set<");
  ar.template element<T>();
  ar.close('>');
}
template <class K, class V, class C, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::map<K, V, C, A>&) {
  ar.token("{");
  ar.template element<K>();
  ar.close(':');
  ar.template element<V>();
  ar.close('}');
}
template <class K, class V, class H, class E, class A>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::unordered_map<K, V, H, E, A>&) {
  ar.token("{");
  ar.template element<K>();
  ar.close(':');
  ar.template element<V>();
  ar.close('}');
}
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::optional<T>&) {
  ar.token("opt<");
  ar.template element<T>();
  ar.close('>');
}
// (The shape of Cereal's own, so that this one is the more specialized.)
template <class T1, class... Ts>
void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const std::variant<T1, Ts...>&) {
  ar.token("var<");
  ar.template element<T1>();
  ((ar.close('|'), ar.template element<Ts>()), ...);
  ar.close('>');
}
inline void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const port_id&) {
  ar.token("port");
}
inline void CEREAL_SAVE_FUNCTION_NAME(cereal_schema& ar, const reason&) {
  ar.token("reason");
}

/// True when `name` may be a registered wire name: 1 to 128 printable characters, none of
/// `<>,` (they build the names of compositions) and no space.
inline bool valid_type_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '<' || c == '>' || c == ',') return false;
  }
  return true;
}

}  // namespace coport::wire

CEREAL_REGISTER_ARCHIVE(coport::wire::cereal_output)
CEREAL_REGISTER_ARCHIVE(coport::wire::cereal_input)
CEREAL_REGISTER_ARCHIVE(coport::wire::cereal_schema)
CEREAL_SETUP_ARCHIVE_TRAITS(coport::wire::cereal_input, coport::wire::cereal_output)

namespace coport {

/// Registers `T` under the stable wire name `name`, serialized with Cereal. Throws
/// std::invalid_argument for a malformed name or one that another type holds.
template <class T>
void register_type(std::string name) {
  static_assert(std::is_default_constructible_v<T>,
                "coport::register_type: the type needs a default constructor (decoding "
                "builds a value, then reads into it)");
  if (!wire::valid_type_name(name)) {
    throw std::invalid_argument{"coport: '" + name.substr(0, 200) +
                                "' is not a valid wire type name (1-128 printable "
                                "characters, no spaces and none of <>,)"};
  }
  detail::type_entry e;
  e.type = &typeid(T);
  e.name = std::move(name);
  // On the wire: the value's length (4 bytes), then Cereal's bytes. A reader skips what it
  // does not read of them: the fields a newer build appended (README "Rolling upgrades").
  e.encode = [](wire::writer& w, const void* v) {
    const std::size_t at = w.buffer().size();
    w.fixed32(0);
    {
      wire::cereal_output ar{w};
      ar(*static_cast<const T*>(v));
    }
    const std::size_t size = w.buffer().size() - at - 4;
    if (size > 0xffffffffu) throw wire::encode_error{"a registered value of 4 GiB or more"};
    w.fixed32_at(at, static_cast<std::uint32_t>(size));
  };
  e.decode = [](wire::reader& r, void* v) {
    const std::uint32_t size = r.fixed32();
    wire::reader value{r.raw(size), r.names()};
    wire::cereal_input ar{value};
    try {
      ar(*static_cast<T*>(v));
    } catch (const wire::decode_error&) {
      throw;
    } catch (const std::exception& ex) {
      throw wire::decode_error{std::string{"a registered type did not decode: "} + ex.what()};
    }
  };
  e.structure = []() -> std::string {
    wire::cereal_schema ar;
    ar.template element<T>();
    return std::move(ar.text);
  };
  e.create = []() -> void* { return new T{}; };
  e.destroy = [](void* v) noexcept { delete static_cast<T*>(v); };
  detail::register_type_entry(std::move(e));
  detail::use_payload_wire<T>();
}

}  // namespace coport
