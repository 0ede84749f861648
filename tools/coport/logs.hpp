#pragma once
/// \file
/// `coport logs`: AEMP's LogCatcher as a command: the log lines of every node of the network
/// (or of the nodes named), each line led by its node's ID, as they happen, until SIGINT or
/// SIGTERM.

#include <chrono>
#include <coport/log.hpp>
#include <coport/network/config.hpp>
#include <string>
#include <vector>

namespace coport::cli {

/// Reaches the network `config` describes as a client node of its own (within `timeout`)
/// and prints the lines of `nodes` (empty: every node, found each second) at `level` or more
/// severe; returns the process's exit code (1: no seed reached).
int catch_network_logs(const network::node_config& config, log_level level,
                       const std::vector<std::string>& nodes, std::chrono::milliseconds timeout);

}  // namespace coport::cli
