// `coport logs`: a node of its own joins the network (through the profile's seeds), catches
// the lines of each node that comes up (or of the nodes named), and prints them, each led by
// its node's ID, until SIGINT or SIGTERM. What reaches it is bounded by the serving nodes
// (their rate limit and coport::log_service's bounds).
#include "logs.hpp"

#include "signals.hpp"

#include <signal.h>

#include <algorithm>
#include <coport/log_catcher.hpp>
#include <coport/network/network.hpp>
#include <coport/node.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

namespace coport::cli {

namespace {

/// `r` as one line led by its node's ID: `node [warn] port a#1: text`, escaped as stderr's
/// lines are (format_log_line).
std::string line_of(const log_record& r) {
  log_record without_node = r;
  without_node.node = {};
  std::string line = format_log_line(without_node);  // "coport [warn] ..."
  return std::string{r.node} + line.substr(std::string_view{"coport"}.size());
}

}  // namespace

int catch_network_logs(const network::node_config& config, log_level level,
                       const std::vector<std::string>& nodes) {
  block_stop_signals();  // before any thread starts

  node n{network::node_options_for(config)};
  std::unique_ptr<network::membership> net;
  try {
    net = std::make_unique<network::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "coport: cannot start node " << n.id() << ": " << e.what() << "\n";
    return 1;
  }
  std::mutex out;  // lines from several catchers' ports
  std::mutex catches_mutex;
  std::map<std::string, subscription> catches;
  auto wanted = [&](const std::string& id) {
    return nodes.empty() || std::find(nodes.begin(), nodes.end(), id) != nodes.end();
  };
  auto start = [&](const std::string& id) {
    if (!wanted(id)) return;
    auto s = catch_logs(n, id, level, [&out](const log_record& r) {
      std::lock_guard lock{out};
      std::printf("%s\n", line_of(r).c_str());
      std::fflush(stdout);
    });
    {
      std::lock_guard lock{catches_mutex};
      catches.insert_or_assign(id, std::move(s));
    }
    std::lock_guard lock{out};
    std::printf("catching %s\n", id.c_str());
    std::fflush(stdout);
  };
  auto events = n.mon_nodes([&](const std::string& id, bool up, const reason&) {
    if (up) return start(id);
    std::lock_guard lock{catches_mutex};
    catches.erase(id);
  });
  for (const auto& id : n.up_nodes()) start(id);
  wait_for_stop();
  events.cancel();
  {
    std::lock_guard lock{catches_mutex};
    catches.clear();
  }
  net.reset();
  return 0;
}

}  // namespace coport::cli
