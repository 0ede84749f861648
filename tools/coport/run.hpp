#pragma once
/// \file
/// `coport run`: a node from a profile, with its services, until SIGINT or SIGTERM.

#include <coport/network/config.hpp>

namespace coport::cli {

/// Runs the node `config` describes; returns the process's exit code.
int run_node(const network::node_config& config);

}  // namespace coport::cli
