#pragma once
/// \file
/// detail::type_registry — the process-wide table of wire-encodable types and payload factories.
///
/// A type entry says how one C++ type crosses the wire: its stable name and how to encode,
/// decode, create and destroy a value. Built-in types and compositions of them register
/// themselves (coport/wire/codec.hpp); user types through `register_type` (serialize.hpp).
/// A payload factory builds exactly `payload_block<Ts...>` for a list of types, so that a
/// typed handler accepts a message that came from another node; every payload type a
/// program sends or handles registers its factory at start-up.
/// Threading: every function is thread-safe. Lifetime: entries live until the process ends.

#include <cstddef>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "coport/tag.hpp"

namespace coport::wire {
class writer;
class reader;
}  // namespace coport::wire

namespace coport::detail {

struct message_block;

/// How one type crosses the wire.
struct type_entry {
  const std::type_info* type = nullptr;
  std::string name;                         ///< a user type's registered name (else computed)
  std::string (*compute_name)() = nullptr;  ///< a built-in's name; "" while a part is unknown
  void (*encode)(wire::writer&, const void*) = nullptr;
  void (*decode)(wire::reader&, void*) = nullptr;
  /// A registered type's structure ("v2 i32 string [f64]": wire::cereal_schema), for schemas.
  std::string (*structure)() = nullptr;
  void* (*create)() = nullptr;  ///< a default-constructed value on the heap
  void (*destroy)(void*) noexcept = nullptr;
};

/// Adds `entry` (the first registration of a type wins, except that a registered name
/// replaces a computed one); throws std::invalid_argument when the name is taken by
/// another type.
void register_type_entry(type_entry entry);
/// The entry of `type`, or null.
const type_entry* find_type(const std::type_info& type);
/// The entry named `name`, or null.
const type_entry* find_type_named(std::string_view name);
/// The wire name of `type`, or "" when it has none (yet).
std::string wire_name_of(const std::type_info& type);
/// "type T cannot cross the wire: ..." with how to register it.
std::string unencodable_text(const std::type_info& type);

/// A type `register_type` named, with its structure.
struct registered_type {
  std::string name, structure;
};
/// Every type registered by name (register_type), sorted by name.
std::vector<registered_type> registered_types();

/// Builds a payload block of exactly the types `types[0..size)`.
struct payload_factory {
  std::size_t size;
  const std::type_info* const* types;
  message_block* (*decode)(tag t, wire::reader& r);
};
void register_payload_factory(const payload_factory* f);
/// The factory for exactly these types, or null.
const payload_factory* find_payload_factory(const std::vector<const std::type_info*>& types);

}  // namespace coport::detail
