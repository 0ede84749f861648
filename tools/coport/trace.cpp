// `coport trace` (trace.hpp): the walk of `coport logs` (catch_network), catching spans. Each
// node gets the same filter (the ports and tags asked for), and the nodes named with --node
// are traced whole; a node asked for nothing still sends the spans of traces that reach it.
#include "trace.hpp"

#include <algorithm>
#include <coport/trace_catcher.hpp>
#include <cstdio>
#include <iostream>

#include "logs.hpp"

namespace coport::cli {

int trace_network(const network::node_config& config, const trace_request& request,
                  std::chrono::milliseconds timeout) {
  trace_filter filter;
  filter.rate = request.rate;
  filter.max_hops = request.max_hops;
  filter.tags = request.tags;
  for (const auto& text : request.ports) {
    auto p = port_id::parse(text);
    if (!p || !*p || p->is_node_port()) {
      std::cerr << "coport trace: '" << text << "' is not a port ID (node#number)\n";
      return 2;
    }
    filter.ports.push_back(*p);
  }
  auto starter = [&](node& n, const std::string& id, std::mutex& out) {
    trace_filter f = filter;
    f.node = std::find(request.nodes.begin(), request.nodes.end(), id) != request.nodes.end();
    return catch_traces(n, id, f, [&out](const span& s) {
      std::string line = to_json(s);
      std::lock_guard lock{out};
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    });
  };
  return catch_network(config, {}, timeout, "trace", stderr, starter);
}

}  // namespace coport::cli
