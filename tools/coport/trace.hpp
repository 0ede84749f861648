#pragma once
/// \file
/// `coport trace`: tracing switched on across a running network, its spans printed as JSON
/// lines (coport/trace.hpp, coport/trace_catcher.hpp) until SIGINT or SIGTERM.

#include <chrono>
#include <coport/network/config.hpp>
#include <coport/trace.hpp>
#include <string>
#include <vector>

namespace coport::cli {

/// What `coport trace` was asked to trace.
struct trace_request {
  std::vector<std::string> ports;  ///< "node#N" (what parses as a port ID)
  std::vector<std::string> tags;
  std::vector<std::string> nodes;  ///< traced whole
  double rate = 100;
  std::uint32_t max_hops = 100;
};

/// Reaches the network `config` describes as a client node of its own (within `timeout`),
/// turns tracing on as `request` says on every node (a node named in `nodes` traces every
/// message), and prints every span of every node as a JSON line on stdout ("catching ID" on
/// stderr); returns the exit code (1: no seed reached; 2: a port that does not parse).
int trace_network(const network::node_config& config, const trace_request& request,
                  std::chrono::milliseconds timeout);

}  // namespace coport::cli
