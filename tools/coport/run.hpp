#pragma once
/// \file
/// `coport run`: a node from a profile, with its services, until SIGINT or SIGTERM.

#include <coport/network/config.hpp>
#include <coport/node.hpp>

namespace coport::cli {

/// Registers the built-in services (`echo`) and loads the profile's `libraries` into `n`
/// (each registers its inits); false, said on stderr, when one fails.
bool register_services(node& n, const network::node_config& config);

/// Runs the node `config` describes; returns the process's exit code.
int run_node(const network::node_config& config);

}  // namespace coport::cli
