// The wire format's registries: type entries, payload factories, resolved payloads, and the
// bounded interning of names that peers send.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <typeindex>
#include <unordered_map>

#include "coport/detail/interner.hpp"
#include "coport/detail/payload_codec.hpp"
#include "coport/detail/type_registry.hpp"
#include "coport/message.hpp"
#include "coport/wire/codec.hpp"

namespace coport {

namespace detail {

namespace {

struct registry {
  // Recursive: a composite's name is computed under the lock and asks for its parts' names.
  std::recursive_mutex mutex;
  std::unordered_map<std::type_index, std::unique_ptr<type_entry>> by_type;
  std::unordered_map<std::string, const type_entry*> by_name;  // resolved names
  std::vector<const type_entry*> unnamed;                      // computed names not resolved yet
  std::map<std::vector<std::type_index>, const payload_factory*> factories;
  std::unordered_map<const signature*, std::unique_ptr<payload_encoding>> encodings;
  std::vector<std::unique_ptr<payload_encoding>> retired;
  std::map<std::vector<std::string>, std::shared_ptr<const payload_decoding>> decodings;
  std::size_t decoding_bytes = 0;  ///< what `decodings` holds (estimated)
};

registry& the_registry() {
  static registry r;
  return r;
}

std::string name_locked(const type_entry& e) {
  if (!e.name.empty()) return e.name;
  return e.compute_name ? e.compute_name() : std::string{};
}

/// Resolves computed names that could not be computed before (a user type was missing).
void resolve_unnamed_locked(registry& r) {
  for (auto it = r.unnamed.begin(); it != r.unnamed.end();) {
    std::string n = name_locked(**it);
    if (n.empty()) {
      ++it;
      continue;
    }
    r.by_name.emplace(std::move(n), *it);
    it = r.unnamed.erase(it);
  }
}

}  // namespace

namespace {

/// The scalar built-ins are known by name in every program, whether or not it names them.
const bool builtins_registered = [] {
  wire::register_builtin<bool>();
  wire::register_builtin<char>();
  wire::register_builtin<std::int8_t>();
  wire::register_builtin<std::uint8_t>();
  wire::register_builtin<std::int16_t>();
  wire::register_builtin<std::uint16_t>();
  wire::register_builtin<std::int32_t>();
  wire::register_builtin<std::uint32_t>();
  wire::register_builtin<std::int64_t>();
  wire::register_builtin<std::uint64_t>();
  wire::register_builtin<long long>();
  wire::register_builtin<unsigned long long>();
  wire::register_builtin<float>();
  wire::register_builtin<double>();
  wire::register_builtin<std::string>();
  wire::register_builtin<std::vector<std::byte>>();
  wire::register_builtin<port_id>();
  wire::register_builtin<reason>();
  return true;
}();

}  // namespace

void register_type_entry(type_entry entry) {
  registry& r = the_registry();
  std::lock_guard lock{r.mutex};
  auto key = std::type_index{*entry.type};
  if (!entry.name.empty()) {
    if (auto it = r.by_name.find(entry.name);
        it != r.by_name.end() && it->second->type != entry.type) {
      throw std::invalid_argument{
          fmt::format("coport: the wire name '{}' is already registered for {}", entry.name,
                      type_name(*it->second->type))};
    }
  }
  auto it = r.by_type.find(key);
  if (it != r.by_type.end()) {
    if (entry.name.empty() || it->second->name == entry.name) return;
    if (!it->second->name.empty()) {
      throw std::invalid_argument{fmt::format("coport: {} is already registered as '{}'",
                                              type_name(*entry.type), it->second->name)};
    }
    // A user registration for a type that had no name: replace the entry's content.
    *it->second = std::move(entry);
    r.by_name[it->second->name] = it->second.get();
    resolve_unnamed_locked(r);
    return;
  }
  auto owned = std::make_unique<type_entry>(std::move(entry));
  const type_entry* e = owned.get();
  r.by_type.emplace(key, std::move(owned));
  std::string n = name_locked(*e);
  if (n.empty()) {
    r.unnamed.push_back(e);
  } else {
    r.by_name.emplace(std::move(n), e);
  }
  if (!e->name.empty()) resolve_unnamed_locked(r);  // composites of this type get names now
}

const type_entry* find_type(const std::type_info& type) {
  registry& r = the_registry();
  std::lock_guard lock{r.mutex};
  auto it = r.by_type.find(std::type_index{type});
  return it == r.by_type.end() ? nullptr : it->second.get();
}

const type_entry* find_type_named(std::string_view name) {
  registry& r = the_registry();
  std::lock_guard lock{r.mutex};
  std::string key{name};
  auto it = r.by_name.find(key);
  if (it != r.by_name.end()) return it->second;
  resolve_unnamed_locked(r);
  it = r.by_name.find(key);
  return it == r.by_name.end() ? nullptr : it->second;
}

std::vector<registered_type> registered_types() {
  std::vector<std::pair<std::string, std::string (*)()>> named;
  {
    registry& r = the_registry();
    std::lock_guard lock{r.mutex};
    for (const auto& [name, e] : r.by_name) {
      if (e->structure) named.emplace_back(name, e->structure);
    }
  }
  // Described outside the lock: a description may look types up.
  std::vector<registered_type> out;
  for (const auto& [name, structure] : named) {
    try {
      out.push_back({name, structure()});
    } catch (const std::exception& e) {  // a default-made value that throws: said, not fatal
      out.push_back({name, std::string{"? ("} + e.what() + ")"});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const registered_type& a, const registered_type& b) { return a.name < b.name; });
  return out;
}

std::string wire_name_of(const std::type_info& type) {
  const type_entry* e = find_type(type);
  if (!e) return {};
  if (!e->name.empty()) return e->name;
  return e->compute_name ? e->compute_name() : std::string{};
}

std::string unencodable_text(const std::type_info& type) {
  return fmt::format(
      "type {} cannot cross the wire: give it `template <class A> void serialize(A&, {}&)` "
      "and call coport::register_type<{}>(\"a.stable.name\") (coport/serialize.hpp)",
      type_name(type), type_name(type), type_name(type));
}

void register_payload_factory(const payload_factory* f) {
  registry& r = the_registry();
  std::vector<std::type_index> key;
  for (std::size_t i = 0; i < f->size; ++i) key.emplace_back(*f->types[i]);
  std::lock_guard lock{r.mutex};
  r.factories.emplace(std::move(key), f);
}

const payload_factory* find_payload_factory(const std::vector<const std::type_info*>& types) {
  registry& r = the_registry();
  std::vector<std::type_index> key;
  for (auto* t : types) key.emplace_back(*t);
  std::lock_guard lock{r.mutex};
  auto it = r.factories.find(key);
  return it == r.factories.end() ? nullptr : it->second;
}

// -- payloads ------------------------------------------------------------------------------

const payload_encoding& payload_codec_for(const signature& sig) {
  registry& r = the_registry();
  {
    std::lock_guard lock{r.mutex};
    if (auto it = r.encodings.find(&sig); it != r.encodings.end() && it->second->error.empty()) {
      return *it->second;
    }
  }
  auto enc = std::make_unique<payload_encoding>();
  for (std::size_t i = 0; i < sig.size; ++i) {
    const type_entry* e = find_type(*sig.types[i]);
    std::string n = e ? wire_name_of(*sig.types[i]) : std::string{};
    if (!e || n.empty() || !e->encode) {
      enc->error = unencodable_text(*sig.types[i]);
      // Say which part is missing for a composite (vector<point>: point).
      break;
    }
    enc->entries.push_back(e);
    enc->names.push_back(std::move(n));
  }
  std::lock_guard lock{r.mutex};
  // An encoding that failed is replaced on the next call (the type may be registered later);
  // the old one stays alive, since a caller may still hold it.
  auto& slot = r.encodings[&sig];
  if (slot) r.retired.push_back(std::move(slot));
  slot = std::move(enc);
  return *slot;
}

void encode_values(wire::writer& w, const message_block* n, const payload_encoding& enc) {
  auto* node = const_cast<message_block*>(n);
  for (std::size_t i = 0; i < enc.entries.size(); ++i) {
    enc.entries[i]->encode(w, n->ops->element(node, i));
  }
}

namespace {

/// A message whose values are held one by one (no payload_block of its types in this program).
struct loose_block final : message_block {
  message_ops own_ops{};
  std::vector<const std::type_info*> types;
  signature sig{};
  std::vector<void*> values;
  std::vector<const type_entry*> entries;

  ~loose_block() {
    for (std::size_t i = 0; i < values.size(); ++i) entries[i]->destroy(values[i]);
  }
  static void destroy(message_block* n) noexcept { delete static_cast<loose_block*>(n); }
  static void* element(message_block* n, std::size_t i) noexcept {
    auto* self = static_cast<loose_block*>(n);
    return i < self->values.size() ? self->values[i] : nullptr;
  }
};

/// The signature of loose messages of one type list.
struct loose_list {
  std::unique_ptr<const std::type_info*[]> types;  ///< null-terminated
  signature sig{};
};

/// What a loose list holds in memory (its key, its types, its signature, the map's node).
std::size_t loose_bytes(std::size_t types) {
  return 2 * (types + 1) * sizeof(void*) + sizeof(loose_list) + 64;
}

/// Interned signatures of loose messages, one per distinct type list. They are never freed
/// (messages and the sending side's caches point at them), so at most max_loose_lists of at
/// most max_loose_bytes are made; null beyond.
const signature* loose_signature(const std::vector<const std::type_info*>& types) {
  static std::mutex mutex;
  static std::map<std::vector<const std::type_info*>, loose_list> table;
  static std::size_t bytes = 0;
  std::lock_guard lock{mutex};
  if (auto it = table.find(types); it != table.end()) return &it->second.sig;
  std::size_t more = loose_bytes(types.size());
  if (table.size() >= max_loose_lists || bytes + more > max_loose_bytes) return nullptr;
  loose_list& l = table[types];
  bytes += more;
  l.types = std::make_unique<const std::type_info*[]>(types.size() + 1);
  for (std::size_t i = 0; i < types.size(); ++i) l.types[i] = types[i];
  l.types[types.size()] = nullptr;
  l.sig = signature{types.size(), l.types.get()};
  return &l.sig;
}

/// What a cached decoding of `names` holds in memory (its key and its entries).
std::size_t decoding_bytes(const std::vector<std::string>& names) {
  std::size_t b = sizeof(payload_decoding) + 128;
  for (const auto& n : names) b += sizeof(std::string) + n.capacity() + sizeof(void*);
  return b;
}

std::shared_ptr<payload_decoding> resolve_uncached(const std::vector<std::string>& names) {
  auto dec = std::make_shared<payload_decoding>();
  std::vector<const std::type_info*> types;
  for (const auto& n : names) {
    const type_entry* e = find_type_named(n);
    if (!e || !e->decode) {
      dec->error = fmt::format("no type is registered under the wire name '{}'", n.substr(0, 80));
      return dec;
    }
    dec->entries.push_back(e);
    types.push_back(e->type);
  }
  dec->factory = find_payload_factory(types);
  if (!dec->factory) {
    for (const auto* e : dec->entries) {
      if (!e->create) {
        dec->error =
            fmt::format("{} cannot be default-constructed for decoding", type_name(*e->type));
        return dec;
      }
    }
    dec->sig = loose_signature(types);
    if (!dec->sig) {
      dec->error = fmt::format(
          "too many distinct type lists of values held one by one (at most {} lists, {} KiB "
          "for the process): a list this program never sends is refused",
          max_loose_lists, max_loose_bytes >> 10);
    }
  }
  return dec;
}

}  // namespace

std::shared_ptr<const payload_decoding> resolve_payload(const std::vector<std::string>& names) {
  registry& r = the_registry();
  {
    std::lock_guard lock{r.mutex};
    if (auto it = r.decodings.find(names); it != r.decodings.end()) return it->second;
  }
  auto dec = resolve_uncached(names);
  if (!dec->error.empty()) return dec;  // a type may be registered later: not cached
  std::size_t more = decoding_bytes(names);
  std::lock_guard lock{r.mutex};
  if (r.decodings.size() < max_cached_lists && r.decoding_bytes + more <= max_cached_bytes &&
      r.decodings.emplace(names, dec).second) {
    r.decoding_bytes += more;
  }
  return dec;
}

message_block* decode_values(tag t, wire::reader& r, const payload_decoding& dec) {
  if (!dec.error.empty()) throw wire::decode_error{dec.error};
  if (dec.factory) return dec.factory->decode(t, r);
  auto n = std::make_unique<loose_block>();
  n->tag_ = t;
  n->own_ops.sig = dec.sig;
  n->own_ops.destroy = &loose_block::destroy;
  n->own_ops.element = &loose_block::element;
  n->ops = &n->own_ops;
  n->values.reserve(dec.entries.size());
  for (const type_entry* e : dec.entries) {
    void* v = e->create();
    n->values.push_back(v);
    n->entries.push_back(e);
    e->decode(r, v);
  }
  return n.release();
}

// -- names from peers ------------------------------------------------------------------------

namespace {
std::atomic<std::size_t> remote_tags{0};
std::atomic<std::size_t> remote_nodes{0};
constexpr std::size_t remote_node_limit = 1 << 14;
}  // namespace

tag intern_remote_tag(std::string_view name, bool allow_new, bool* added) {
  if (added) *added = false;
  if (std::uint32_t id = tag_names().find(name); id != 0 || name.empty()) {
    return id ? tag{name} : tag{};
  }
  if (!allow_new) return tag{};
  if (remote_tags.fetch_add(1, std::memory_order_relaxed) >= remote_tag_limit) {
    remote_tags.fetch_sub(1, std::memory_order_relaxed);
    return tag{};
  }
  if (added) *added = true;
  return tag{name};
}

std::uint32_t intern_remote_node(std::string_view node_id) {
  if (!valid_node_id(node_id)) throw wire::decode_error{"a node ID is malformed"};
  if (std::uint32_t id = node_names().find(node_id)) return id;
  if (remote_nodes.fetch_add(1, std::memory_order_relaxed) >= remote_node_limit) {
    remote_nodes.fetch_sub(1, std::memory_order_relaxed);
    throw wire::decode_error{"too many distinct node IDs came from peers"};
  }
  return node_names().intern(node_id);
}

}  // namespace detail

message message::copy() const {
  if (!block_) return {};
  if (!block_->ops->copy) {
    throw std::logic_error{fmt::format("coport: message {} cannot be copied", describe())};
  }
  return message{block_->ops->copy(block_.get())};
}

}  // namespace coport
