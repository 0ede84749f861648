// Catching from every node of a network (catch_network): a client node (client.hpp) reaches
// the network through the profile's seeds, learns every node from the nodes it is linked to
// (each second), and catches from each (or from the nodes named) until SIGINT or SIGTERM.
// `coport logs` prints the lines it catches, each led by its node's ID; what reaches it is
// bounded by the serving nodes (their rate limit and coport::log_service's bounds).
// `coport trace` is in trace.cpp.
#include "logs.hpp"

#include "client.hpp"
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
#include <set>
#include <thread>

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

int catch_network(const network::node_config& config, const std::vector<std::string>& nodes,
                  std::chrono::milliseconds timeout, const char* verb, std::FILE* announce,
                  const catch_starter& start) {
  block_stop_signals();  // before any thread starts
  // What the node's threads use is declared before the client, so it outlives the node.
  std::mutex out;  // what several catchers' ports print
  std::mutex catches_mutex;
  std::map<std::string, subscription> catches;
  std::set<std::string> announced;  // main thread only
  std::unique_ptr<client> c;
  try {
    c = std::make_unique<client>(config, timeout);
  } catch (const failed& f) {
    std::cerr << "coport " << verb << ": " << f.what << "\n";
    return 1;
  }
  node& n = c->n();
  auto wanted = [&](const std::string& id) {
    return c->reachable(id) &&
           (nodes.empty() || std::find(nodes.begin(), nodes.end(), id) != nodes.end());
  };
  auto events = n.mon_nodes([&](const std::string& id, bool up, const reason&) {
    if (up) return;
    std::lock_guard lock{catches_mutex};
    catches.erase(id);  // caught again when it comes back
  });
  auto stop = [&] {
    events.cancel();
    {
      std::lock_guard lock{catches_mutex};
      catches.clear();
    }
    c.reset();
    return 0;
  };
  // A client hears of no node by itself: every second it asks the nodes it is linked to
  // whom they are linked to (in a full mesh, any one knows every node) and catches each it
  // does not catch yet, or whose catch has not linked to it (a dial that failed gives no
  // down event): that one is caught again.
  try {
    for (;;) {
      const auto up_list = n.up_nodes();
      const std::set<std::string> up(up_list.begin(), up_list.end());
      std::set<std::string> known = up;
      for (const auto& id : up) {
        outcome o = c->ask_node(id, "info");
        if (o.failure.empty() &&
            o.reply.is<std::uint64_t, std::uint64_t, std::vector<std::string>>()) {
          for (const auto& other : o.reply.get<std::vector<std::string>>(2)) known.insert(other);
        }
      }
      for (const auto& id : known) {
        if (!wanted(id)) continue;
        {
          std::lock_guard lock{catches_mutex};
          if (catches.count(id) && up.count(id)) continue;
        }
        // Catching links to the node (a client links where it talks).
        auto s = start(n, id, out);
        {
          std::lock_guard lock{catches_mutex};
          catches.insert_or_assign(id, std::move(s));
        }
        if (announced.insert(id).second) {
          std::lock_guard lock{out};
          std::fprintf(announce, "catching %s\n", id.c_str());
          std::fflush(announce);
        }
      }
      for (int i = 0; i < 10; ++i) {
        if (stop_requested()) return stop();
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
    }
  } catch (const failed&) {
    return stop();  // interrupted while asking
  } catch (const std::exception& e) {
    std::cerr << "coport " << verb << ": " << e.what() << "\n";
    stop();
    return 1;
  }
}

int catch_network_logs(const network::node_config& config, log_level level,
                       const std::vector<std::string>& nodes, std::chrono::milliseconds timeout) {
  return catch_network(config, nodes, timeout, "logs", stdout,
                       [level](node& n, const std::string& id, std::mutex& out) {
                         return catch_logs(n, id, level, [&out](const log_record& r) {
                           std::lock_guard lock{out};
                           std::printf("%s\n", line_of(r).c_str());
                           std::fflush(stdout);
                         });
                       });
}

}  // namespace coport::cli
