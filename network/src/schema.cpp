// coport::network::schema — a build's wire schema as JSON, and the comparison of two
// (schema.hpp).
#include "coport/network/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "coport/detail/type_registry.hpp"
#include "coport/transport/transport.hpp"
#include "coport/wire/reader.hpp"
#include "coport/wire/writer.hpp"

namespace coport::network {

namespace {

using json = nlohmann::ordered_json;
constexpr int schema_format = 1;

/// A structure's leading class version ("v2 i32 string": 2), if it has one, and the rest.
std::pair<std::optional<unsigned long>, std::string_view> split_version(std::string_view s) {
  if (s.size() < 2 || s[0] != 'v' || s[1] < '0' || s[1] > '9') return {std::nullopt, s};
  auto end = s.find(' ');
  std::string digits{s.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1)};
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 10 ||
      std::stoull(digits) > 0xffffffffull) {
    return {std::nullopt, s};
  }
  auto rest = end == std::string_view::npos ? std::string_view{} : s.substr(end + 1);
  return {static_cast<unsigned long>(std::stoull(digits)), rest};
}

/// The top-level fields of a structure ("i64 [(f64 i32)] string": three).
std::vector<std::string_view> fields_of(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    char c = i < s.size() ? s[i] : ' ';
    if (c == '(' || c == '[' || c == '{' || c == '<') ++depth;
    if (c == ')' || c == ']' || c == '}' || c == '>') --depth;
    if (c == ' ' && depth <= 0) {
      if (i > start) out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

/// Why `after` cannot be read by a build that has `before` and the other way round, or
/// empty when it can; `*appended` says whether fields were appended.
std::string structure_change(std::string_view before, std::string_view after, bool* appended) {
  *appended = false;
  if (before == after) return {};
  auto [old_version, old_fields] = split_version(before);
  auto [new_version, new_fields] = split_version(after);
  if (!old_version) {
    return fmt::format(
        "its structure changed ('{}' to '{}'), and a type without a Cereal class "
        "version cannot gain a field: register the new one under a new name",
        before, after);
  }
  if (!new_version) {
    return fmt::format(
        "its structure changed ('{}' to '{}'): the new build dropped its class "
        "version",
        before, after);
  }
  // The old build's fields are the new one's first ones (the rule the handshake checks too).
  const auto old_list = fields_of(old_fields), new_list = fields_of(new_fields);
  bool prefix = new_list.size() > old_list.size() &&
                std::equal(old_list.begin(), old_list.end(), new_list.begin());
  if (prefix && *new_version > *old_version) {
    *appended = true;
    return {};
  }
  if (prefix) {
    return fmt::format(
        "fields were appended ('{}' to '{}') without a higher class version (was "
        "{}, is {})",
        before, after, *old_version, *new_version);
  }
  return fmt::format(
      "its structure changed ('{}' to '{}'): only fields appended at its end, under a higher "
      "class version, keep it readable both ways",
      before, after);
}

/// The parsed parts of a schema text.
struct parsed {
  std::uint64_t oldest = 0, newest = 0;
  std::map<std::string, std::string> types;  // name -> structure
  std::map<std::string, std::string> inits;  // name -> parameters, as text
};

parsed parse(std::string_view text, const char* which) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument{fmt::format("coport: the {} schema: {}", which, why)};
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw fail("not JSON (expected `coport schema dump`'s)");
  if (!j.contains("coport_schema") || j["coport_schema"] != schema_format) {
    throw fail(fmt::format("not a coport schema of format {}", schema_format));
  }
  parsed p;
  try {
    const auto& protocol = j.at("protocol");
    p.oldest = protocol.at("oldest").get<std::uint64_t>();
    p.newest = protocol.at("newest").get<std::uint64_t>();
    for (const auto& t : j.at("types")) {
      p.types[t.at("name").get<std::string>()] = t.at("structure").get<std::string>();
    }
    for (const auto& i : j.at("inits")) {
      std::string parameters =
          i.value("any_message", false)
              ? std::string{"(any message)"}
              : fmt::format("({})",
                            fmt::join(i.at("parameters").get<std::vector<std::string>>(), ", "));
      p.inits[i.at("name").get<std::string>()] = parameters;
    }
  } catch (const json::exception& e) {
    std::string what = e.what();
    auto at = what.find("] ");
    throw fail(at == std::string::npos ? what : what.substr(at + 2));
  }
  return p;
}

/// FNV-1a, 32 bits: a name or some fields in four bytes (a hello has room for about 150).
std::uint32_t fnv(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

/// The hash of the first `n` fields, joined as the structure writes them.
std::uint32_t prefix_hash(const std::vector<std::string_view>& fields, std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n && i < fields.size(); ++i) {
    if (i) text += ' ';
    text += fields[i];
  }
  return fnv(text);
}

/// One registered type of this build, as the check compares a peer's with it.
struct own_type {
  std::string name, structure;  // structure: the fields after the class version
  std::uint64_t version = 0;    // class version + 1; 0: none
};

/// The summary's format (a byte first): a build that meets another format accepts it.
constexpr std::uint8_t summary_format = 1;
/// A hello's application is at most transport::max_application bytes: types past it are
/// not summed up.
constexpr std::size_t summary_budget = transport::max_application;

}  // namespace

void check_schemas_in_handshake(transport::transport_options& options) {
  // What this build registered, by the hash of the name (a hello has room for so many).
  auto own = std::make_shared<std::map<std::uint32_t, own_type>>();
  std::vector<std::byte> out;
  wire::writer w{out};
  w.byte(summary_format);
  for (const auto& t : detail::registered_types()) {
    auto [version, rest] = split_version(t.structure);
    own_type mine{t.name, std::string{rest}, version ? *version + 1 : 0};
    auto fields = fields_of(mine.structure);
    // Each: the name's hash, the class version + 1, how many fields, their hash.
    std::vector<std::byte> entry;
    wire::writer e{entry};
    e.fixed32(fnv(mine.name));
    e.varint(mine.version);
    e.varint(fields.size());
    e.fixed32(prefix_hash(fields, fields.size()));
    if (out.size() + entry.size() > summary_budget) break;
    out.insert(out.end(), entry.begin(), entry.end());
    (*own)[fnv(mine.name)] = std::move(mine);
  }
  options.application = std::move(out);
  options.check_application = [own = std::shared_ptr<const std::map<std::uint32_t, own_type>>{own}](
                                  std::span<const std::byte> peer) -> std::string {
    // A peer that says nothing of its types (not a membership), or in a format this build
    // does not know (a later one): nothing to compare.
    if (peer.empty() || std::to_integer<std::uint8_t>(peer[0]) != summary_format) return {};
    std::vector<std::string> conflicts;
    try {
      wire::reader r{peer.subspan(1)};
      while (r.remaining() >= 10) {  // what follows the entries (a later format's) is skipped
        std::uint32_t name = r.fixed32();
        std::uint64_t version = r.varint();
        std::uint64_t count = r.varint();
        std::uint32_t shape = r.fixed32();
        auto it = own->find(name);
        if (it == own->end()) continue;
        const own_type& mine = it->second;
        auto fields = fields_of(mine.structure);
        std::string why;
        if ((mine.version == 0) != (version == 0)) {
          why = "one build gives it a Cereal class version and the other none";
        } else if (mine.version == version) {
          if (count != fields.size() || shape != prefix_hash(fields, fields.size())) {
            why = "the builds give it different structures under the same class version";
          }
        } else if (mine.version > version) {
          // This build is the newer: the peer's fields must be this one's first ones.
          if (count > fields.size() || shape != prefix_hash(fields, count)) {
            why = "the newer build did not only append fields to it";
          }
        }
        // (The peer is the newer: it checks the same when it compares, on its side.)
        if (!why.empty()) conflicts.push_back(fmt::format("type {}: {}", mine.name, why));
      }
    } catch (const wire::decode_error&) {
      return "its hello's summary of its types is malformed";
    }
    if (conflicts.empty()) return {};
    return fmt::format(
        "its build cannot share a network with this one ({}; coport schema diff "
        "says more)",
        fmt::join(conflicts, "; "));
  };
}

std::string schema_json(const node& n) {
  auto protocol = transport::supported_protocol();
  json out = json::object();
  out["coport_schema"] = schema_format;
  out["protocol"] = {{"oldest", protocol.oldest},
                     {"newest", protocol.newest},
                     {"capabilities", transport::capability_names(protocol.capabilities)}};
  json types = json::array();
  for (const auto& t : detail::registered_types()) {
    types.push_back({{"name", t.name}, {"structure", t.structure}});
  }
  out["types"] = std::move(types);
  json inits = json::array();
  for (const auto& f : n.init_functions()) {
    json i = {{"name", f.name}};
    if (f.any_message) {
      i["any_message"] = true;
    } else {
      i["parameters"] = f.parameters;
    }
    inits.push_back(std::move(i));
  }
  out["inits"] = std::move(inits);
  return out.dump(2);
}

schema_comparison compare_schemas(std::string_view old_schema, std::string_view new_schema) {
  parsed before = parse(old_schema, "old"), after = parse(new_schema, "new");
  schema_comparison out;
  if (std::max(before.oldest, after.oldest) > std::min(before.newest, after.newest)) {
    out.breaking.push_back(fmt::format(
        "protocol: the old build speaks versions {}..{}, the new one {}..{}: none in common",
        before.oldest, before.newest, after.oldest, after.newest));
  } else if (before.newest != after.newest || before.oldest != after.oldest) {
    out.changes.push_back(fmt::format("protocol: versions {}..{} become {}..{}", before.oldest,
                                      before.newest, after.oldest, after.newest));
  }
  for (const auto& [name, structure] : before.types) {
    auto it = after.types.find(name);
    if (it == after.types.end()) {
      out.breaking.push_back(fmt::format(
          "type {}: gone from the new build (old nodes send it: keep it registered while they "
          "run)",
          name));
      continue;
    }
    bool appended = false;
    if (auto why = structure_change(structure, it->second, &appended); !why.empty()) {
      out.breaking.push_back(fmt::format("type {}: {}", name, why));
    } else if (appended) {
      out.changes.push_back(
          fmt::format("type {}: fields appended ('{}' to '{}')", name, structure, it->second));
    }
  }
  for (const auto& [name, structure] : after.types) {
    if (!before.types.count(name)) out.changes.push_back(fmt::format("type {}: new", name));
  }
  for (const auto& [name, parameters] : before.inits) {
    auto it = after.inits.find(name);
    if (it == after.inits.end()) {
      out.breaking.push_back(
          fmt::format("init {}: gone from the new build (old nodes may spawn it there)", name));
    } else if (it->second != parameters) {
      out.breaking.push_back(fmt::format("init {}: its parameters changed from {} to {}", name,
                                         parameters, it->second));
    }
  }
  for (const auto& [name, parameters] : after.inits) {
    if (!before.inits.count(name)) {
      out.changes.push_back(fmt::format("init {}{}: new", name, parameters));
    }
  }
  return out;
}

}  // namespace coport::network
