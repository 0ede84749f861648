// A supervised worker pool across two processes: the boss runs a supervisor whose four
// workers prefer the worker node and fall back to the boss's own; a worker that crashes is
// started again, and when the worker node dies (kill -9) all four come back on the boss.
//
//   supervised_pool worker nodeid pool-worker binds 127.0.0.1:4060
//   supervised_pool boss nodeid pool-boss seeds 127.0.0.1:4060 [KEY VALUE...]
//
// Both register the init "pool.worker"; each worker, when it starts, tells the boss's
// "pool.report" service, and the boss prints "wN up on NODE". The boss waits (10 s at most)
// for the worker node, then starts the supervisor, and reads commands from stdin:
//   crash wN     the worker ends with a failure (its supervisor starts it again)
//   job wN X     the worker answers X squared: "wN: X^2 = Y"
//   children     "children w1@NODE w2@NODE ..." (which_children)
// Settings: profile "supervised_pool" of the coport configuration file if there is one,
// under defaults from code (binds 127.0.0.1:0); KEY VALUE pairs override them. The boss
// ends when stdin closes (its children with it), the worker on SIGINT/SIGTERM.
#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "stop_signals.hpp"

using namespace coport;
namespace net = coport::network;

namespace {

void print(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

/// A worker: squares numbers; "crash" ends it with a failure. Tells the boss it is up.
void register_worker(node& n) {
  n.register_init("pool.worker", [&n](std::string id, std::string boss) {
    n.rcv(self(), "job", [&n, id](std::int64_t x, port_id reply) {
      n.snd(reply, "done", id + ": " + std::to_string(x) + "^2 = " + std::to_string(x * x));
    });
    n.rcv(self(), "crash", [id] { throw std::runtime_error{id + " crashed on purpose"}; });
    if (auto to = port_id::parse(boss)) n.snd(*to, "pool.report", id, n.id());
  });
}

int run_boss(node& n, const std::string& worker_node) {
  auto reporter = n.port();
  n.rcv(reporter, "pool.report",
        [](std::string id, std::string where) { print(id + " up on " + where); });
  auto reporting = n.serve("pool.report", reporter);

  for (int i = 0; i < 500 && n.up_nodes().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  supervisor_spec spec;
  spec.strategy = restart_strategy::one_for_one;
  spec.max_restarts = 10;
  spec.period = std::chrono::seconds{5};
  for (int i = 1; i <= 4; ++i) {
    const std::string id = "w" + std::to_string(i);
    spec.children.push_back(
        child_spec::of(id, "pool.worker", id, n.id()).on({worker_node, n.id()}));
  }
  const port_id sup = start_supervisor(n, std::move(spec));
  print("supervisor " + sup.to_string() + " started");

  // Asks the supervisor for its children; `then` gets (ids, ports) on a node thread.
  auto children = [&](auto then) {
    n.cal(sup, "which_children", [then](reply r) mutable {
      if (r && r->is<std::vector<std::string>, std::vector<port_id>>()) {
        auto& [ids, ports] = r->as<std::vector<std::string>, std::vector<port_id>>();
        then(ids, ports);
      }
    });
  };
  auto answers = n.port();
  n.rcv(answers, "done", [](std::string text) { print(text); });

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in{line};
    std::string verb, id;
    in >> verb >> id;
    if (verb == "children") {
      children([](const std::vector<std::string>& ids, const std::vector<port_id>& ports) {
        std::string out = "children";
        for (std::size_t i = 0; i < ids.size(); ++i) {
          out += " " + ids[i] + "@" + (ports[i] ? std::string{ports[i].node()} : "-");
        }
        print(out);
      });
    } else if (verb == "crash" || verb == "job") {
      std::int64_t x = 0;
      in >> x;
      children([&n, verb, id, x, answers](const std::vector<std::string>& ids,
                                          const std::vector<port_id>& ports) {
        for (std::size_t i = 0; i < ids.size(); ++i) {
          if (ids[i] != id || !ports[i]) continue;
          if (verb == "crash") {
            n.snd(ports[i], "crash");
          } else {
            n.snd(ports[i], "job", x, answers);
          }
          return;
        }
        print("*** no worker " + id + " running");
      });
    } else if (!verb.empty()) {
      print("*** commands: children, crash wN, job wN X");
    }
  }
  n.snd(sup, "stop");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  sample::block_stop_signals();
  if (argc < 2 || (std::string{argv[1]} != "boss" && std::string{argv[1]} != "worker")) {
    std::cerr << "usage: supervised_pool boss|worker [--worker-node ID] [KEY VALUE...]\n";
    return 2;
  }
  const bool boss = std::string{argv[1]} == "boss";
  std::string worker_node = "pool-worker";
  net::settings overrides;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--worker-node" && i + 1 < argc) {
      worker_node = argv[++i];
    } else if (i + 1 < argc && a.rfind("--", 0) != 0) {
      overrides.emplace_back(a, argv[++i]);
    } else {
      std::cerr << "supervised_pool: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  net::node_config config;
  try {
    auto file = net::config_file::load();
    config = file.resolve(file.has_profile("supervised_pool") ? "supervised_pool" : "",
                          {{"binds", "127.0.0.1:0"}}, overrides);
  } catch (const net::config_error& e) {
    std::cerr << "supervised_pool: " << e.what() << "\n";
    return 2;
  }
  node n{net::node_options_for(config)};
  register_worker(n);
  std::unique_ptr<net::membership> network;
  try {
    network = std::make_unique<net::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "supervised_pool: " << e.what() << "\n";
    return 1;
  }
  print("supervised_pool " + n.id() + " listening on " + network->links().addresses().at(0));
  if (boss) return run_boss(n, worker_node);
  print(std::string{"supervised_pool: "} + sample::wait_for_stop());
  return 0;
}
