// mesh: a network forming from one seed, and a name registered on one node becoming visible
// on all (the registry's convergence), with N = 2, 5, 10 nodes in N processes on loopback.
// The Erlang peer does the same with net_adm:ping to one node (global's full mesh) and
// pg:join (OTP's pg) in peers/erlang/mesh.erl.
//
// Every node is started first and says "ready"; the clock starts when they are told to join
// (so process start-up, which differs by orders of magnitude between the runtimes, is not
// counted) and stops when the last one says it sees the N-1 others. Then every node watches
// the name, one node registers it, and the clock runs until the last node has seen it.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <coport/network/mesh.hpp>
#include <coport/registry.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coport_workloads.hpp"
#include "support/other_process.hpp"

using namespace coport;
namespace tp = coport::transport;

namespace coport_bench {

namespace {

void tell(bench::other_process& p, const std::string& line) {
  std::string l = line + "\n";
  if (write(p.in, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::abort();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

/// One node of the mesh workload, in its own process: "ready ADDRESS", then commands on
/// stdin: "join SEED|- N" (prints "meshed" once linked to N-1 nodes), "watch NAME" (prints
/// "watching", then "seen" when a port is under NAME), "reg NAME".
void mesh_peer(int, char**) {
  node n{node_options{.id = fmt::format("mesh-{}", getpid()), .threads = 1}};
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  tp::tcp t{n, o};
  coport::registry names{n};
  std::unique_ptr<coport::network::mesh> m;
  std::mutex out;
  auto say = [&](const char* word) {
    std::lock_guard lock{out};
    std::printf("%s\n", word);
    std::fflush(stdout);
  };
  std::printf("%s\n", t.addresses().at(0).c_str());
  std::fflush(stdout);
  std::vector<subscription> keep;
  std::vector<port_id> ports;
  std::string verb, arg;
  while (std::cin >> verb >> arg) {
    if (verb == "join") {
      std::size_t want = 0;
      std::cin >> want;
      // From the node's state, not by counting events: a node that dialed the seed before
      // it read its "join" came up before this subscription (mon_nodes replays nothing), and
      // counting missed it (the seed then never said "meshed": the smoke run hung 1 in ~200).
      auto done = std::make_shared<std::atomic<bool>>(false);
      auto check = [&n, &say, done, want] {
        if (n.up_nodes().size() + 1 >= want && !done->exchange(true)) say("meshed");
      };
      keep.push_back(n.mon_nodes([check](const std::string&, bool, const reason&) { check(); }));
      coport::network::mesh_options mo;
      if (arg != "-") mo.seeds = {arg};
      m = std::make_unique<coport::network::mesh>(n, t, mo);
      check();  // the nodes that came up before the subscription
    } else if (verb == "watch") {
      auto seen = std::make_shared<std::atomic<bool>>(false);
      keep.push_back(names.mon(arg, [&, seen](const coport::registry_event& e) {
        if (!e.ports.empty() && !seen->exchange(true)) say("seen");
      }));
      say("watching");
    } else if (verb == "reg") {
      ports.push_back(n.port([](message&) {}));
      keep.push_back(names.reg(arg, ports.back()));
    }
  }
  keep.clear();
  m.reset();
}

void mesh(int argc, char** argv) {
  bench::args a{"mesh", {{"rounds", 5}, {"max_n", 10}}, argc, argv, 2};
  long rounds = std::max(1L, a["rounds"]);
  for (long n : {2L, 5L, 10L}) {
    if (n > a["max_n"]) break;
    std::vector<double> form, converge;
    for (long r = 0; r < rounds; ++r) {
      std::vector<std::unique_ptr<bench::other_process>> nodes;
      std::vector<std::string> addresses;
      for (long i = 0; i < n; ++i) {
        nodes.push_back(std::make_unique<bench::other_process>("mesh_peer"));
        addresses.push_back(nodes.back()->word());
      }
      auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < n; ++i) {
        tell(*nodes[i], fmt::format("join {} {}", i == 0 ? "-" : addresses[0], n));
      }
      for (auto& p : nodes) {
        if (p->word() != "meshed") std::abort();
      }
      form.push_back(bench::seconds_since(start) * 1e3);
      for (auto& p : nodes) tell(*p, "watch svc");
      for (auto& p : nodes) {
        if (p->word() != "watching") std::abort();
      }
      start = std::chrono::steady_clock::now();
      tell(*nodes[n - 1], "reg svc");
      for (auto& p : nodes) {
        if (p->word() != "seen") std::abort();
      }
      converge.push_back(bench::seconds_since(start) * 1e3);
    }
    a.report("coport", "mesh.form", median(form), "ms", fmt::format("n={}", n));
    a.report("coport", "mesh.registry_converge", median(converge), "ms", fmt::format("n={}", n));
  }
}

}  // namespace coport_bench
