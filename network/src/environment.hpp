#pragma once
/// \file
/// detail::environment_settings — what the process's environment says of a node's settings
/// (twelve-factor): `COPORT_<KEY>` for every configuration key, the key in upper case
/// (`COPORT_NODEID`, `COPORT_SEEDS`, `COPORT_SECRET_FILE`, `COPORT_HEARTBEAT_INTERVAL`, ...),
/// each value written as on the command line (lists comma-separated). In a profile's
/// resolution they come after the file (the profile and its parents) and before the
/// overrides of `coport run ... KEY VALUE` (config_file::resolve).
/// Threading: reads the environment (getenv) at each call; none shared. Lifetime: none kept.
/// May include: coport/network/config.hpp and the standard library.

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

}  // namespace coport::network::detail
