// detail: the configuration keys — the table, checks, text, node_config (config_keys.hpp).
#include "config_keys.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>
#include <stdexcept>

#include "coport/internal/address.hpp"
#include "coport/metrics/exporter.hpp"
#include "coport/port_id.hpp"
#include "environment.hpp"
#include "seed_resolver.hpp"

namespace coport::network {

namespace detail {
namespace {

enum class kind { text, list, seconds, bytes, boolean };

struct key_spec {
  config_key info;
  kind k;
};

const std::vector<key_spec>& specs() {
  static const std::vector<key_spec> all = {
      {{"nodeid", "text",
        "the node ID; 'anon/' (or any ending in '/') gets a random suffix; %h host name, %p "
        "process ID, %r random"},
       kind::text},
      {{"binds", "list", "where to listen: host:port, [v6]:port, *:port, *"}, kind::list},
      {{"advertise", "list",
        "what other nodes are told to dial (behind NAT, in a container): host:port, "
        "[v6]:port; port 0: the port bound; empty: the binds"},
       kind::list},
      {{"seeds", "list",
        "nodes to join the network through: host:port (every address of a name is a seed), "
        "srv:_service._tcp.name (DNS SRV)"},
       kind::list},
      {{"secret", "text",
        "the shared secret of the network, at least 22 characters (coport gensecret)"},
       kind::text},
      {{"secret_file", "text",
        "a file holding the secret (one line; only its owner may read it); wins over secret"},
       kind::text},
      {{"insecure", "bool", "true: accept a secret shorter than 22 characters (guessable)"},
       kind::boolean},
      {{"encrypt", "bool", "true: links with the secret encrypt their records (AES-256-GCM)"},
       kind::boolean},
      {{"cert", "text", "TLS: this node's certificate (PEM file)"}, kind::text},
      {{"key", "text", "TLS: this node's private key (PEM file)"}, kind::text},
      {{"ca", "text", "TLS: the CA certificate that signs every node's (PEM file)"}, kind::text},
      {{"heartbeat_interval", "seconds", "a heartbeat when nothing else went for this long"},
       kind::seconds},
      {{"node_timeout", "seconds", "a node silent this long is declared down"}, kind::seconds},
      {{"connect_timeout", "seconds", "give up connecting to a node after this long"},
       kind::seconds},
      {{"max_frame", "bytes", "the largest frame sent or accepted"}, kind::bytes},
      {{"max_queue", "bytes", "bytes that may wait for one node"}, kind::bytes},
      {{"services", "list", "init functions spawned on the node at start"}, kind::list},
      {{"libraries", "list",
        "coport run: shared libraries to load first; each registers its inits in "
        "coport_register(coport::node&)"},
       kind::list},
      {{"client", "bool",
        "true: a client node: listens nowhere, links only to its seeds and where it sends"},
       kind::boolean},
      {{"measure", "list",
        "init names (* matches any run) whose spawned ports are measured: mailbox, handler "
        "times"},
       kind::list},
      {{"log_level", "text", "off, error, warn, info, debug, trace"}, kind::text},
      {{"metrics", "text",
        "serve /metrics, /healthz, /readyz over HTTP here: ip:port, [v6]:port, *:port (off "
        "when empty)"},
       kind::text},
      {{"parent", "text", "the profile this one inherits from"}, kind::text},
  };
  return all;
}

const key_spec* find_spec(std::string_view key) {
  for (const auto& s : specs()) {
    if (key == s.info.name) return &s;
  }
  return nullptr;
}

/// Why `a` is not an address of `key` (binds, advertise, seeds), or empty.
std::string address_problem(std::string_view key, const std::string& a) {
  if (key == "binds" && a == "*") return {};
  if (key == "seeds" && a.starts_with("srv:")) {
    if (valid_srv_seed(a)) return {};
    return fmt::format("'{}' is not srv: and a DNS name (_service._tcp.example.org)", a);
  }
  bool ok = true;
  try {
    const auto hp = coport::detail::parse_address(a);
    ok = hp.host != "*" || key == "binds";
    // What peers are told must be an address they can dial, not "every address".
    if (key == "advertise") ok = ok && hp.host != "0.0.0.0" && hp.host != "::";
  } catch (const std::invalid_argument&) {
    ok = false;
  }
  if (ok) return {};
  return fmt::format("'{}' is not {}", a,
                     key == "binds"   ? "host:port, [v6]:port, *:port or *"
                     : key == "seeds" ? "host:port, [v6]:port or srv:_service._tcp.name"
                                      : "host:port or [v6]:port that other nodes can dial");
}

}  // namespace

bool is_key(std::string_view key) {
  return find_spec(key) != nullptr;
}

std::string known_keys() {
  std::string out;
  for (const auto& s : specs()) out += (out.empty() ? "" : ", ") + std::string{s.info.name};
  return out;
}

std::string value_problem(std::string_view key, const json& v) {
  const key_spec* spec = find_spec(key);
  if (!spec) return "unknown key (known: " + known_keys() + ")";
  switch (spec->k) {
    case kind::text:
      if (!v.is_string()) return "expected a string";
      break;
    case kind::list:
      if (!v.is_array()) return "expected a list of strings";
      for (const auto& e : v) {
        if (!e.is_string() || e.get<std::string>().empty()) {
          return "expected a list of non-empty strings";
        }
      }
      break;
    case kind::seconds:
      if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 86400) {
        return "expected a number of seconds, more than 0 and at most 86400";
      }
      break;
    case kind::bytes:
      if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1024 ||
          v.get<std::uint64_t>() > (std::uint64_t{1} << 40)) {
        return "expected a whole number of bytes, from 1024 to 2^40";
      }
      break;
    case kind::boolean:
      if (!v.is_boolean()) return "expected true or false";
      break;
  }
  if (key == "nodeid") {
    // A template is checked with its parts filled in (%h, %p, %r).
    auto id = v.get<std::string>();
    std::string why, filled = expand_node_id(id, &why);
    if (!why.empty()) return fmt::format("'{}': {}", id, why);
    if (!valid_node_id(filled)) {
      return fmt::format("'{}' is not a node ID (letters, digits, _-.:/ only)", id);
    }
  } else if (key == "log_level") {
    static const std::set<std::string, std::less<>> levels = {"off",  "error", "warn",
                                                              "info", "debug", "trace"};
    if (!levels.count(v.get<std::string>())) {
      return "expected off, error, warn, info, debug or trace";
    }
  } else if (key == "binds" || key == "seeds" || key == "advertise") {
    for (const auto& e : v) {
      if (auto why = address_problem(key, e.get<std::string>()); !why.empty()) return why;
    }
  } else if (key == "metrics" && !v.get<std::string>().empty()) {
    try {
      coport::metrics::check_address(v.get<std::string>());
    } catch (const std::invalid_argument& e) {
      std::string_view why = e.what();
      if (why.starts_with("coport: ")) why.remove_prefix(8);
      return std::string{why};
    }
  }
  return {};
}

json value_from_text(std::string_view key, std::string_view given, std::string* why) {
  const key_spec* spec = find_spec(key);
  if (!spec) {
    *why = "unknown key (known: " + known_keys() + ")";
    return {};
  }
  auto bad = [&](const char* what) {
    *why = fmt::format("'{}' is not {}", given, what);
    return json{};
  };
  std::string t{given};
  switch (spec->k) {
    case kind::text:
      return t;
    case kind::list: {
      if (!given.empty() && given.front() == '[') {
        json v = json::parse(given, nullptr, false);
        if (v.is_discarded()) return bad("a JSON array");
        return v;
      }
      json v = json::array();
      std::string item;
      std::istringstream in{t};
      while (std::getline(in, item, ',')) {
        if (!item.empty()) v.push_back(item);
      }
      return v;
    }
    case kind::seconds: {
      char* end = nullptr;
      errno = 0;
      double d = std::strtod(t.c_str(), &end);
      if (t.empty() || *end || errno || !std::isfinite(d)) return bad("a number of seconds");
      return d;
    }
    case kind::bytes: {
      char* end = nullptr;
      errno = 0;
      unsigned long long b = std::strtoull(t.c_str(), &end, 10);
      if (t.empty() || t.front() == '-' || *end || errno) return bad("a whole number of bytes");
      return static_cast<std::uint64_t>(b);
    }
    case kind::boolean:
      if (given == "true") return true;
      if (given == "false") return false;
      return bad("true or false");
  }
  return {};
}

void apply(node_config& c, std::string_view key, const json& v) {
  auto list = [&] { return v.get<std::vector<std::string>>(); };
  auto ms = [&] {
    return std::chrono::milliseconds{
        static_cast<std::int64_t>(std::llround(v.get<double>() * 1000))};
  };
  if (key == "nodeid")
    c.nodeid = v.get<std::string>();
  else if (key == "binds")
    c.binds = list();
  else if (key == "advertise")
    c.advertise = list();
  else if (key == "seeds")
    c.seeds = list();
  else if (key == "secret")
    c.secret = v.get<std::string>();
  else if (key == "secret_file")
    c.secret_file = v.get<std::string>();
  else if (key == "insecure")
    c.insecure = v.get<bool>();
  else if (key == "encrypt")
    c.encrypt = v.get<bool>();
  else if (key == "cert")
    c.tls.cert = v.get<std::string>();
  else if (key == "key")
    c.tls.key = v.get<std::string>();
  else if (key == "ca")
    c.tls.ca = v.get<std::string>();
  else if (key == "heartbeat_interval")
    c.heartbeat_interval = ms();
  else if (key == "node_timeout")
    c.node_timeout = ms();
  else if (key == "connect_timeout")
    c.connect_timeout = ms();
  else if (key == "max_frame")
    c.max_frame = v.get<std::uint64_t>();
  else if (key == "max_queue")
    c.max_queue = v.get<std::uint64_t>();
  else if (key == "services")
    c.services = list();
  else if (key == "measure")
    c.measure = list();
  else if (key == "client")
    c.client = v.get<bool>();
  else if (key == "libraries")
    c.libraries = list();
  else if (key == "log_level")
    c.log_level = v.get<std::string>();
  else if (key == "metrics")
    c.metrics = v.get<std::string>();
}

json shown(const node_config& c) {
  auto seconds = [](std::chrono::milliseconds d) { return static_cast<double>(d.count()) / 1000; };
  json out = json::object();
  out["profile"] = c.profile;
  out["nodeid"] = c.nodeid;
  out["binds"] = c.binds;
  out["advertise"] = c.advertise;
  out["seeds"] = c.seeds;
  out["secret"] = c.secret.empty() ? "" : "(set)";
  out["secret_file"] = c.secret_file;
  out["insecure"] = c.insecure;
  out["encrypt"] = c.encrypt;
  out["cert"] = c.tls.cert;
  out["key"] = c.tls.key;
  out["ca"] = c.tls.ca;
  out["heartbeat_interval"] = seconds(c.heartbeat_interval);
  out["node_timeout"] = seconds(c.node_timeout);
  out["connect_timeout"] = seconds(c.connect_timeout);
  out["max_frame"] = c.max_frame;
  out["max_queue"] = c.max_queue;
  out["services"] = c.services;
  out["measure"] = c.measure;
  out["client"] = c.client;
  out["libraries"] = c.libraries;
  out["log_level"] = c.log_level;
  out["metrics"] = c.metrics;
  return out;
}

}  // namespace detail

const std::vector<config_key>& config_keys() {
  static const std::vector<config_key> keys = [] {
    std::vector<config_key> out;
    for (const auto& s : detail::specs()) out.push_back(s.info);
    return out;
  }();
  return keys;
}

}  // namespace coport::network
