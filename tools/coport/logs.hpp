#pragma once
/// \file
/// `coport logs`: AEMP's LogCatcher as a command: the log lines of every node of the network
/// (or of the nodes named), each line led by its node's ID, as they happen, until SIGINT or
/// SIGTERM; and the walk it makes, which `coport trace` makes too (catch_network).

#include <chrono>
#include <coport/log.hpp>
#include <coport/network/config.hpp>
#include <coport/node.hpp>
#include <coport/subscription.hpp>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace coport::cli {

/// Starts catching from node `id` on the client node `n`; what it prints is under `out`.
using catch_starter = std::function<subscription(node& n, const std::string& id, std::mutex& out)>;

/// Reaches the network `config` describes as a client node of its own (within `timeout`) and
/// catches from `nodes` (empty: every node, found each second) what `start` says, saying
/// "catching ID" on `announce` for each, until SIGINT or SIGTERM; returns the process's exit
/// code (1: no seed reached). `verb` names the command in its error lines.
int catch_network(const network::node_config& config, const std::vector<std::string>& nodes,
                  std::chrono::milliseconds timeout, const char* verb, std::FILE* announce,
                  const catch_starter& start);

/// Reaches the network `config` describes as a client node of its own (within `timeout`)
/// and prints the lines of `nodes` (empty: every node, found each second) at `level` or more
/// severe; returns the process's exit code (1: no seed reached).
int catch_network_logs(const network::node_config& config, log_level level,
                       const std::vector<std::string>& nodes, std::chrono::milliseconds timeout);

}  // namespace coport::cli
