#pragma once
/// \file
/// detail::environment_settings — what the process's environment says of a node's settings
/// (twelve-factor): `COPORT_<KEY>` for every configuration key, the key in upper case
/// (`COPORT_NODEID`, `COPORT_SEEDS`, `COPORT_SECRET_FILE`, `COPORT_HEARTBEAT_INTERVAL`, ...),
/// each value written as on the command line (lists comma-separated). In a profile's
/// resolution they come after the file (the profile and its parents) and before the
/// overrides of `coport run ... KEY VALUE` (config_file::resolve).
/// detail::expand_node_id — a node ID template's `%h` (the host name), `%p` (the process ID)
/// and `%r` (8 random base62 characters), AEMP 2's `%n`/`%u` in spirit: one profile for many hosts
/// or processes (`web-%h`, `worker-%h-%p`). Threading: reads the environment (getenv) at each call;
/// none shared. Lifetime: none kept. May include: coport/network/config.hpp and the standard
/// library.

#include <string>
#include <vector>

#include "coport/network/config.hpp"

namespace coport::network::detail {

/// One setting from the environment.
struct environment_setting {
  std::string key;       ///< "seeds"
  std::string variable;  ///< "COPORT_SEEDS"
  std::string value;
};

/// The configuration keys the environment sets now, in config_keys() order.
std::vector<environment_setting> environment_settings();

/// `id` with its `%` sequences replaced; an empty string with `*why` set when it holds `%`
/// followed by anything else (or by nothing).
std::string expand_node_id(const std::string& id, std::string* why);

}  // namespace coport::network::detail
