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
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <thread>

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
/// stdin: "join SEEDS|- N" (SEEDS comma-separated; prints "meshed" once linked to N-1 nodes),
/// "client SEEDS N" (the same as a client node: links to its seeds only, listens nowhere),
/// "watch NAME" (prints "watching", then "seen" when a port is under NAME), "reg NAME".
void mesh_peer(int argc, char** argv) {
  node n{node_options{.id = fmt::format("mesh-{}", getpid()), .threads = 1}};
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  if (argc > 2) {
    // Short heartbeats (the large run): HEARTBEAT_MS, the timeout three of them.
    o.heartbeat_interval = std::chrono::milliseconds{std::stol(argv[2])};
    o.node_timeout = 3 * o.heartbeat_interval;
  }
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
    if (verb == "join" || verb == "client") {
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
      mo.client = verb == "client";
      for (std::size_t at = 0; arg != "-" && at <= arg.size();) {
        const std::size_t comma = std::min(arg.find(',', at), arg.size());
        mo.seeds.push_back(arg.substr(at, comma - at));
        at = comma + 1;
      }
      m = std::make_unique<coport::network::mesh>(n, t, mo);
      check();  // the nodes that came up before the subscription
    } else if (verb == "watch") {
      auto seen = std::make_shared<std::atomic<bool>>(false);
      keep.push_back(names.mon(arg, [&, seen](const coport::registry_event& e) {
        if (!e.ports.empty() && !seen->exchange(true)) say("seen");
      }));
      say("watching");
    } else if (verb == "down") {
      // Says "down" once the node ARG is seen down.
      auto said = std::make_shared<std::atomic<bool>>(false);
      keep.push_back(n.mon_nodes([&, arg, said](const std::string& id, bool up, const reason&) {
        if (!up && id == arg && !said->exchange(true)) say("down");
      }));
      say("armed");
    } else if (verb == "usage") {
      // "usage RSS RSS_ANON CPU_SECONDS" (ARG is ignored).
      rusage u{};
      getrusage(RUSAGE_SELF, &u);
      double cpu = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                   static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
      std::lock_guard lock{out};
      std::printf("%ld %ld %.6f\n", bench::resident_bytes(), bench::anonymous_resident_bytes(),
                  cpu);
      std::fflush(stdout);
    } else if (verb == "id") {
      std::lock_guard lock{out};
      std::printf("%s\n", n.id().c_str());
      std::fflush(stdout);
    } else if (verb == "reg") {
      ports.push_back(n.port([](message&) {}));
      keep.push_back(names.reg(arg, ports.back()));
    }
  }
  keep.clear();
  m.reset();
}

namespace {

/// Starts `n` mesh_peer processes (`arg`: their heartbeat, or none), has them join through
/// the first, and times the mesh forming and a name's registration reaching all (ms). With
/// `clients`, the last `clients` processes are client nodes whose seeds are all the others
/// (the full nodes, a full mesh among themselves): AEMP 2's shape of a few global nodes that
/// the others attach to, as far as coport has it today. The name is registered on a full
/// node (a client's registration reaches only the nodes it is linked to).
struct formed_mesh {
  std::vector<std::unique_ptr<bench::other_process>> nodes;
  double form_ms = 0, converge_ms = 0;
};
formed_mesh form_mesh(long n, const std::string& arg, long clients = 0) {
  formed_mesh m;
  const long full = n - clients;
  std::vector<std::string> addresses;
  for (long i = 0; i < n; ++i) {
    m.nodes.push_back(std::make_unique<bench::other_process>("mesh_peer", arg));
    addresses.push_back(m.nodes.back()->word());
  }
  std::string all_full = addresses[0];
  for (long i = 1; i < full; ++i) all_full += "," + addresses[static_cast<std::size_t>(i)];
  auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    if (i >= full) {
      tell(*m.nodes[i], fmt::format("client {} {}", all_full, full + 1));
    } else {
      tell(*m.nodes[i], fmt::format("join {} {}", i == 0 ? "-" : addresses[0], n));
    }
  }
  for (auto& p : m.nodes) {
    if (p->word() != "meshed") std::abort();
  }
  m.form_ms = bench::seconds_since(start) * 1e3;
  for (auto& p : m.nodes) tell(*p, "watch svc");
  for (auto& p : m.nodes) {
    if (p->word() != "watching") std::abort();
  }
  start = std::chrono::steady_clock::now();
  tell(*m.nodes[full - 1], "reg svc");
  for (auto& p : m.nodes) {
    if (p->word() != "seen") std::abort();
  }
  m.converge_ms = bench::seconds_since(start) * 1e3;
  return m;
}

/// One full mesh of `n` processes with heartbeats every `heartbeat_ms`: the time to form,
/// the registry's convergence, each node's memory and idle CPU, and the time until every
/// other node has seen a node killed with SIGKILL.
void large_mesh(const bench::args& a, long n, long heartbeat_ms, long clients) {
  std::string params = fmt::format("n={},heartbeat={}ms", n, heartbeat_ms);
  if (clients) params += fmt::format(",clients={}", clients);
  auto [nodes, form_ms, converge_ms] = form_mesh(n, std::to_string(heartbeat_ms), clients);
  a.report("coport", "mesh.form", form_ms, "ms", params);
  a.report("coport", "mesh.registry_converge", converge_ms, "ms", params);
  // Idle: 2 s to settle, then each node's resident bytes and CPU over 5 s.
  std::this_thread::sleep_for(std::chrono::seconds{2});
  auto usage = [&] {
    std::vector<std::array<double, 3>> u;
    for (auto& p : nodes) tell(*p, "usage -");
    for (auto& p : nodes)
      u.push_back({std::stod(p->word()), std::stod(p->word()), std::stod(p->word())});
    return u;
  };
  auto u0 = usage();
  auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds{5});
  auto u1 = usage();
  const double secs = bench::seconds_since(start);
  // Each kind of node apart (with clients: the full nodes first, then the clients).
  const std::size_t full = static_cast<std::size_t>(n - clients);
  double total = 0;
  for (const bool client : {false, true}) {
    const std::size_t from = client ? full : 0, to = client ? u1.size() : full;
    if (from == to) continue;
    const std::string kind = clients ? (client ? ",client nodes" : ",full nodes") : "";
    std::vector<double> rss, anon, cpu;
    for (std::size_t i = from; i < to; ++i) {
      rss.push_back(u1[i][0] / 1048576.0);
      anon.push_back(u1[i][1] / 1048576.0);
      cpu.push_back((u1[i][2] - u0[i][2]) / secs * 100);
      total += cpu.back();
    }
    a.report("coport", "mesh.node_bytes", median(rss), "MiB", params + kind + ",median");
    a.report("coport", "mesh.node_bytes", median(anon), "MiB", params + kind + ",median,anonymous");
    a.report("coport", "mesh.idle_cpu", median(cpu), "%core", params + kind + ",median,per node");
  }
  a.report("coport", "mesh.idle_cpu", total, "%core", params + ",all nodes");
  // A node killed (a full one): until every other one has seen it down.
  tell(*nodes[0], "id -");
  const std::string victim = nodes[0]->word();
  for (long i = 1; i < n; ++i) tell(*nodes[i], "down " + victim);
  for (long i = 1; i < n; ++i) {
    if (nodes[i]->word() != "armed") std::abort();
  }
  start = std::chrono::steady_clock::now();
  kill(nodes[0]->pid, SIGKILL);
  for (long i = 1; i < n; ++i) {
    if (nodes[i]->word() != "down") std::abort();
  }
  a.report("coport", "mesh.detect_killed", bench::seconds_since(start) * 1e3, "ms",
           params + ",last of n-1");
}

}  // namespace

void mesh(int argc, char** argv) {
  bench::args a{"mesh",
                {{"rounds", 5}, {"max_n", 10}, {"large", 0}, {"heartbeat_ms", 200}, {"clients", 0}},
                argc,
                argv,
                2};
  if (a["clients"] < 0 || a["clients"] > a["large"] - 2) {
    throw std::invalid_argument{"mesh: clients must be 0 to large - 2 (two full nodes at least)"};
  }
  if (a["large"] > 1) large_mesh(a, a["large"], a["heartbeat_ms"], a["clients"]);
  long rounds = std::max(1L, a["rounds"]);
  for (long n : {2L, 5L, 10L}) {
    if (n > a["max_n"]) break;
    std::vector<double> form, converge;
    for (long r = 0; r < rounds; ++r) {
      auto m = form_mesh(n, "");
      form.push_back(m.form_ms);
      converge.push_back(m.converge_ms);
    }
    a.report("coport", "mesh.form", median(form), "ms", fmt::format("n={}", n));
    a.report("coport", "mesh.registry_converge", median(converge), "ms", fmt::format("n={}", n));
  }
}

}  // namespace coport_bench
