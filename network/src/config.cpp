// coport::network::config_file — reading, checking, changing and resolving profiles (the
// keys and their values are config_keys.hpp's; the file is written by private_file.hpp).
#include "coport/network/config.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config_keys.hpp"
#include "coport/log.hpp"
#include "coport/port_id.hpp"
#include "environment.hpp"
#include "private_file.hpp"

namespace coport::network {

using json = nlohmann::ordered_json;

using detail::json;

struct config_file::impl {
  std::filesystem::path path;
  std::string text;  // as read (to find lines in)
  json root = json::object();

  /// "file:line: " for `key` of `profile` (searched in the text as read; 0 if not there).
  std::string where(std::string_view profile, std::string_view key = {}) const {
    std::size_t at = 0;
    auto find = [&](std::string_view word) {
      auto quoted = fmt::format("\"{}\"", word);
      auto p = text.find(quoted, at);
      if (p == std::string::npos) return false;
      at = p + quoted.size();
      return true;
    };
    bool found = true;
    if (!profile.empty()) found = find("profiles") && find(profile);
    if (found && !key.empty()) found = find(key);
    if (!found || text.empty()) return fmt::format("{}: ", path.string());
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n');
    return fmt::format("{}:{}: ", path.string(), line);
  }

  static std::string section(std::string_view profile) {
    return profile.empty() ? std::string{"the global section"}
                           : fmt::format("profile \"{}\"", profile);
  }

  /// Checks one value; throws config_error naming where it is (`in_file`: its file and line;
  /// else it came from a command line or code).
  void check_value(std::string_view profile, const std::string& key, const json& v,
                   bool in_file = true) const {
    auto why = key == "parent" && profile.empty() ? std::string{"the global section has no parent"}
                                                  : detail::value_problem(key, v);
    if (why.empty()) return;
    throw config_error{fmt::format("{}{}: key \"{}\": {}", in_file ? where(profile, key) : "",
                                   section(profile), key, why)};
  }

  void check_section(std::string_view profile, const json& object) const {
    if (!object.is_object()) {
      throw config_error{
          fmt::format("{}{}: expected an object of settings", where(profile), section(profile))};
    }
    for (const auto& [key, value] : object.items()) check_value(profile, key, value);
  }

  void check_all() const {
    if (!root.is_object()) {
      throw config_error{fmt::format("{}: the file must hold one JSON object", path.string())};
    }
    for (const auto& [key, value] : root.items()) {
      if (key == "profiles") {
        if (!value.is_object()) {
          throw config_error{
              fmt::format("{}key \"profiles\": expected an object of profiles", where({}, key))};
        }
        for (const auto& [name, profile] : value.items()) check_section(name, profile);
      } else {
        check_value({}, key, value);
      }
    }
    // Every parent exists, and no chain loops.
    for (const auto& name : names()) chain(name);
    check_secrets();
  }

  /// Every section (the global one and each profile, with what it inherits) holds no secret
  /// shorter than min_secret_size unless it is insecure. `in_file`: errors name the line.
  void check_secrets(bool in_file = true) const {
    auto check = [&](std::string_view profile, const json& secret, const json& insecure,
                     bool sets_secret) {
      if (!secret.is_string() || (insecure.is_boolean() && insecure.get<bool>())) return;
      auto size = secret.get_ref<const std::string&>().size();
      if (size == 0 || size >= min_secret_size) return;
      throw config_error{fmt::format("{}{}: key \"secret\": {}",
                                     in_file ? where(profile, sets_secret ? "secret" : "") : "",
                                     section(profile), too_short(size))};
    };
    auto value = [](const json& section, const char* key) {
      auto it = section.find(key);
      return it == section.end() ? json{} : *it;
    };
    json secret = value(root, "secret"), insecure = value(root, "insecure");
    check({}, secret, insecure, true);
    for (const auto& name : names()) {
      json s = secret, i = insecure;
      for (const json* p : chain(name)) {
        if (p->contains("secret")) s = (*p)["secret"];
        if (p->contains("insecure")) i = (*p)["insecure"];
      }
      check(name, s, i, profile(name)->contains("secret"));
    }
  }

  static std::string too_short(std::size_t size) {
    return fmt::format(
        "{} characters, fewer than {} (128 bits): make one with `coport gensecret`, or set "
        "\"insecure\": true to accept a secret that can be guessed",
        size, min_secret_size);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    if (root.contains("profiles")) {
      for (const auto& [name, p] : root["profiles"].items()) out.push_back(name);
    }
    return out;
  }

  const json* profile(std::string_view name) const {
    if (!root.contains("profiles")) return nullptr;
    const auto& ps = root["profiles"];
    auto it = ps.find(std::string{name});
    return it == ps.end() ? nullptr : &*it;
  }

  /// `name` and its parents, the farthest ancestor first.
  std::vector<const json*> chain(std::string_view name) const {
    std::vector<const json*> out;
    std::vector<std::string> seen;
    std::string current{name};
    while (true) {
      if (std::find(seen.begin(), seen.end(), current) != seen.end()) {
        throw config_error{fmt::format(
            "{}profile \"{}\": key \"parent\": a cycle of parents: {} -> {}",
            where(seen.back(), "parent"), seen.back(), fmt::join(seen, " -> "), current)};
      }
      const json* p = profile(current);
      if (!p) {
        if (seen.empty()) break;
        throw config_error{fmt::format("{}profile \"{}\": key \"parent\": no profile \"{}\"",
                                       where(seen.back(), "parent"), seen.back(), current)};
      }
      seen.push_back(current);
      out.insert(out.begin(), p);
      if (!p->contains("parent")) break;
      current = (*p)["parent"].get<std::string>();
    }
    return out;
  }

  /// A value from text, as a command line gives it.
  json from_text(std::string_view profile, const std::string& key, std::string_view given) const {
    std::string why;
    json v = detail::value_from_text(key, given, &why);
    if (!why.empty()) {
      throw config_error{fmt::format("{}: key \"{}\": {}", section(profile), key, why)};
    }
    check_value(profile, key, v, /*in_file=*/false);
    return v;
  }
};

std::filesystem::path config_file::default_path() {
  if (const char* env = std::getenv("COPORT_CONFIG"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return std::filesystem::path{xdg} / "coport" / "config.json";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path{home && *home ? home : "."} / ".config" / "coport" / "config.json";
}

config_file::config_file(std::filesystem::path path) : impl_{std::make_unique<impl>()} {
  impl_->path = std::move(path);
}
config_file::config_file(const config_file& other) : impl_{std::make_unique<impl>(*other.impl_)} {}
config_file& config_file::operator=(const config_file& other) {
  if (this != &other) impl_ = std::make_unique<impl>(*other.impl_);
  return *this;
}
config_file::config_file(config_file&&) noexcept = default;
config_file& config_file::operator=(config_file&&) noexcept = default;
config_file::~config_file() = default;

config_file config_file::parse(std::string_view text, const std::filesystem::path& path) {
  config_file out{path};
  out.impl_->text = std::string{text};
  try {
    out.impl_->root = json::parse(text);
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ...", or a number
    // out of range ("[json.exception.out_of_range.406] number overflow parsing '1E400'").
    std::string what = e.what();
    auto at = what.find("] ");
    throw config_error{fmt::format("{}: malformed JSON: {}", path.string(),
                                   at == std::string::npos ? what : what.substr(at + 2))};
  }
  out.impl_->check_all();
  return out;
}

config_file config_file::load(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    if (!std::filesystem::exists(path)) return config_file{path};
    throw config_error{fmt::format("{}: cannot be read: {}", path.string(), std::strerror(errno))};
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find_first_not_of(" \t\r\n") == std::string::npos) return config_file{path};
  return parse(text.str(), path);
}

const std::filesystem::path& config_file::path() const noexcept {
  return impl_->path;
}

std::vector<std::string> config_file::profiles() const {
  return impl_->names();
}

bool config_file::has_profile(std::string_view name) const {
  return impl_->profile(name) != nullptr;
}

bool config_file::has_key(std::string_view profile, std::string_view key) const {
  const json* section = profile.empty() ? &impl_->root : impl_->profile(profile);
  return section && section->contains(std::string{key});
}

void config_file::set(std::string_view profile, std::string_view key, std::string_view value) {
  std::string k{key};
  if (value.empty() && !detail::is_key(k)) impl_->from_text(profile, k, value);  // unknown key
  if (value.empty() && k == "secret") {
    throw config_error{fmt::format(
        "{}: key \"secret\": an empty value does not remove the secret: `coport delsecret{}` "
        "does",
        impl::section(profile), profile.empty() ? "" : " " + std::string{profile})};
  }
  json v = value.empty() ? json{} : impl_->from_text(profile, k, value);
  json saved = impl_->root;  // put back whole when the change is refused
  try {
    json* section = &impl_->root;
    if (!profile.empty()) {
      section = &impl_->root["profiles"][std::string{profile}];
      if (section->is_null()) *section = json::object();
    }
    if (value.empty()) {
      section->erase(k);
    } else {
      (*section)[k] = std::move(v);
    }
    if (k == "parent") impl_->chain(profile);
    impl_->check_secrets(/*in_file=*/false);
  } catch (...) {
    impl_->root = std::move(saved);
    throw;
  }
}

void config_file::remove_key(std::string_view profile, std::string_view key) {
  if (!profile.empty() && !has_profile(profile)) {
    throw config_error{fmt::format("{}: no profile \"{}\"", impl_->path.string(), profile)};
  }
  if (!has_key(profile, key)) {
    throw config_error{
        fmt::format("{}: {} sets no \"{}\"", impl_->path.string(), impl::section(profile), key)};
  }
  json saved = impl_->root;
  try {
    json& section = profile.empty() ? impl_->root : impl_->root["profiles"][std::string{profile}];
    section.erase(std::string{key});
    impl_->check_secrets(/*in_file=*/false);
  } catch (...) {
    impl_->root = std::move(saved);
    throw;
  }
}

void config_file::remove_profile(std::string_view name) {
  if (!has_profile(name)) {
    throw config_error{fmt::format("{}: no profile \"{}\"", impl_->path.string(), name)};
  }
  for (const auto& other : impl_->names()) {
    const json* p = impl_->profile(other);
    if (other != name && p->contains("parent") && (*p)["parent"] == name) {
      throw config_error{
          fmt::format("profile \"{}\" is the parent of \"{}\": change that first", name, other)};
    }
  }
  impl_->root["profiles"].erase(std::string{name});
}

std::string config_file::show(std::string_view profile) const {
  if (profile.empty()) return impl_->root.dump(2);
  const json* p = impl_->profile(profile);
  if (!p) throw config_error{fmt::format("{}: no profile \"{}\"", impl_->path.string(), profile)};
  return p->dump(2);
}

void config_file::save() const {
  std::string text;
  try {
    text = impl_->root.dump(2) + "\n";
  } catch (const json::exception& e) {  // text that is not UTF-8
    std::string what = e.what();
    auto at = what.find("] ");
    throw detail::cannot_write(impl_->path, at == std::string::npos ? what : what.substr(at + 2));
  }
  detail::replace_private_file(impl_->path, text);
}

node_config config_file::resolve(std::string_view profile, const settings& code,
                                 const settings& overrides) const {
  std::string name = profile.empty() ? host_name() : std::string{profile};
  if (!profile.empty() && !has_profile(profile)) {
    throw config_error{fmt::format("{}: no profile \"{}\" (profiles: {})", impl_->path.string(),
                                   profile, fmt::join(impl_->names(), ", "))};
  }
  json merged = json::object();
  for (const auto& [k, v] : code) merged[k] = impl_->from_text({}, k, v);
  for (const auto& [k, v] : impl_->root.items()) {
    if (k != "profiles") merged[k] = v;
  }
  for (const json* p : impl_->chain(name)) {
    for (const auto& [k, v] : p->items()) merged[k] = v;
  }
  for (const auto& e : detail::environment_settings()) {  // COPORT_<KEY>: the file, then these
    try {
      merged[e.key] = impl_->from_text(name, e.key, e.value);
    } catch (const config_error& bad) {
      throw config_error{fmt::format("environment variable {}: {}", e.variable, bad.what())};
    }
  }
  for (const auto& [k, v] : overrides) merged[k] = impl_->from_text(name, k, v);
  node_config c;
  c.profile = name;
  c.nodeid = name;
  for (const auto& [k, v] : merged.items()) detail::apply(c, k, v);
  // A secret kept out of the configuration file (a mounted Kubernetes secret, say).
  if (!c.secret_file.empty()) {
    c.secret = detail::read_private_file(c.secret_file, "key \"secret_file\"", 4096);
  }
  // The pairs that must go together.
  auto fail = [&](const std::string& why) {
    return config_error{fmt::format("{}: profile \"{}\": {}", impl_->path.string(), name, why)};
  };
  if (c.nodeid.find('%') != std::string::npos) {  // a template: %h, %p, %r
    std::string why;
    std::string id = detail::expand_node_id(c.nodeid, &why);
    if (!why.empty()) throw fail(fmt::format("key \"nodeid\": '{}': {}", c.nodeid, why));
    c.nodeid = std::move(id);
  }
  if (!valid_node_id(c.nodeid)) {
    throw fail(fmt::format("key \"nodeid\": '{}' (the profile name) is not a node ID; set nodeid",
                           c.nodeid));
  }
  if (c.tls.enabled() != !c.tls.key.empty() || (c.tls.enabled() && c.tls.ca.empty()) ||
      (!c.tls.enabled() && !c.tls.ca.empty())) {
    throw fail("keys \"cert\", \"key\", \"ca\": TLS needs all three (or none)");
  }
  if (c.node_timeout < 2 * c.heartbeat_interval) {
    throw fail("key \"node_timeout\": must be at least two heartbeat intervals");
  }
  if (!c.secret.empty() && c.secret.size() < min_secret_size && !c.insecure) {
    throw fail("key \"secret\": " + impl::too_short(c.secret.size()));
  }
  return c;
}

std::string config_file::show_resolved(std::string_view profile, const settings& overrides) const {
  return detail::shown(resolve(profile, {}, overrides)).dump(2);
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

std::string generate_secret() {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  unsigned char bytes[43];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error{"coport: RAND_bytes failed"};
  std::string out;
  for (unsigned char b : bytes) out += digits[b % 62];  // 43 × log2(62) ≈ 256 bits
  return out;
}

}  // namespace coport::network
