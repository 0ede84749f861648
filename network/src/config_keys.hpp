#pragma once
/// \file
/// detail: the keys a profile may set — each key's kind, how its value is checked, read from
/// text (a command line, an environment variable), put into a node_config and shown back
/// (`showconfig`). One table, so that a new key is added in one place (config_keys.cpp).
/// config_file (config.cpp) handles the file: sections, parents, secrets, resolution.
/// Threading: pure functions over the constant table. Lifetime: none kept.
/// May include: coport/network/config.hpp, nlohmann-json, the standard library.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "coport/network/config.hpp"

namespace coport::network::detail {

using json = nlohmann::ordered_json;

/// True when `key` is a configuration key.
bool is_key(std::string_view key);
/// "nodeid, binds, ..." for error messages.
std::string known_keys();

/// Why `v` is not a valid value of `key` ("expected a string", "unknown key (known: ...)"),
/// or empty when it is one.
std::string value_problem(std::string_view key, const json& v);

/// The value of `key` that `given` writes as a command line does (lists comma-separated or
/// a JSON array, seconds and bytes as numbers, bools as true/false), not yet checked by
/// value_problem. On failure, *why says so ("'x' is not a number of seconds", "unknown key
/// (known: ...)") and the result is null.
json value_from_text(std::string_view key, std::string_view given, std::string* why);

/// Sets `key` of `c` from a checked value.
void apply(node_config& c, std::string_view key, const json& v);

/// Every key of `c` (the secret as "(set)"), for `showconfig`.
json shown(const node_config& c);

}  // namespace coport::network::detail
