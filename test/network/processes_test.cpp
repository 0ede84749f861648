// The mesh and the registry with nodes in separate processes (test/programs/test_node.cpp
// with --mesh): ten processes forming a full mesh from one seed, and (as root, in a private
// network namespace) a partition that heals and the registry's replicas converging.
// Every node binds 127.0.0.1; every wait is bounded; the children exit when the test does.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

using clock = std::chrono::steady_clock;

/// A test_node in the mesh.
struct mesh_node {
  std::unique_ptr<child> proc;
  std::string id, address;
  mesh_node(const std::string& node_id, std::vector<std::string> extra,
            std::vector<std::string> prefix = {}) {
    std::vector<std::string> a = prefix;
    a.insert(a.end(), {COPORT_TEST_NODE, "--id", node_id, "--mesh", "--heartbeat", "200",
                       "--timeout", "1000"});
    a.insert(a.end(), extra.begin(), extra.end());
    proc = std::make_unique<child>(a);
    id = node_id;
    address = proc->expect("ready ");
  }
  /// How many nodes it is linked to.
  int up() {
    auto text = proc->ask("up", "up ");
    return std::stoi(text.substr(0, text.find(' ')));
  }
  /// The ports under `name` in its replica, as text.
  std::string get(const std::string& name) { return proc->ask("get " + name, "get " + name); }
};

/// Polls `pred` every 50 ms until it holds or `limit` passes.
template <class Pred>
bool within(std::chrono::milliseconds limit, Pred pred) {
  auto deadline = clock::now() + limit;
  while (!pred()) {
    if (clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

/// Resident memory of a process, in KiB.
long rss_kib(pid_t pid) {
  std::ifstream in{fmt::format("/proc/{}/status", pid)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

/// CPU time (user + system) of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream in{fmt::format("/proc/{}/stat", pid)};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest{text.substr(text.rfind(')') + 2)};
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

}  // namespace

TEST_SUITE("network.processes") {
  TEST_CASE("ten nodes in ten processes form a full mesh from one seed within a few seconds") {
    std::vector<std::unique_ptr<mesh_node>> nodes;
    auto start = clock::now();
    nodes.push_back(std::make_unique<mesh_node>("ten-0", std::vector<std::string>{}));
    for (int i = 1; i < 10; ++i) {
      nodes.push_back(std::make_unique<mesh_node>(
          fmt::format("ten-{}", i), std::vector<std::string>{"--seed", nodes[0]->address}));
    }
    bool meshed = within(20s, [&] {
      return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return n->up() == 9; });
    });
    double took = std::chrono::duration<double>(clock::now() - start).count();
    REQUIRE(meshed);
    MESSAGE(fmt::format("10 processes fully meshed {:.2f} s after the first started", took));
    CHECK(took < 10);
    // Idle: heartbeats only. Memory and CPU per node, for the README.
    std::this_thread::sleep_for(500ms);
    std::vector<long> before;
    for (auto& n : nodes) before.push_back(cpu_ticks(n->proc->pid()));
    std::this_thread::sleep_for(3s);
    long ticks = 0, rss = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      ticks += cpu_ticks(nodes[i]->proc->pid()) - before[i];
      rss += rss_kib(nodes[i]->proc->pid());
    }
    double cpu =
        100.0 * static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)) / 3.0 / 10.0;
    MESSAGE(fmt::format("per node, idle in a 10-node mesh: {} KiB resident, {:.2f} % of a core",
                        rss / 10, cpu));
    CHECK(cpu < 5.0);
  }

  TEST_CASE(
      "a frozen node is seen down by all within the node timeout, and rejoins when it thaws") {
    std::vector<std::unique_ptr<mesh_node>> nodes;
    nodes.push_back(std::make_unique<mesh_node>("thaw-0", std::vector<std::string>{}));
    for (int i = 1; i < 4; ++i) {
      nodes.push_back(std::make_unique<mesh_node>(
          fmt::format("thaw-{}", i), std::vector<std::string>{"--seed", nodes[0]->address}));
    }
    REQUIRE(within(10s, [&] {
      return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return n->up() == 3; });
    }));
    auto start = clock::now();
    nodes[2]->proc->signal(SIGSTOP);
    REQUIRE(within(
        10s, [&] { return nodes[0]->up() == 2 && nodes[1]->up() == 2 && nodes[3]->up() == 2; }));
    double took = std::chrono::duration<double>(clock::now() - start).count();
    MESSAGE(
        fmt::format("a frozen node was down for all three others after {:.2f} s (timeout 1 s, "
                    "heartbeat 0.2 s)",
                    took));
    CHECK(took < 1.0 + 5 * 0.2);  // the node timeout plus a few heartbeat intervals
    nodes[2]->proc->signal(SIGCONT);
    CHECK(within(10s, [&] {
      return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return n->up() == 3; });
    }));
  }

  TEST_CASE(
      "after a partition heals, the mesh re-forms and every registry replica converges "
      "(iptables DROP in a private network namespace, needs root)") {
    if (geteuid() != 0 || std::system("command -v iptables >/dev/null 2>&1") != 0 ||
        std::system("command -v setpriv >/dev/null 2>&1") != 0) {
      MESSAGE("skipped: needs root, iptables and setpriv (a DROP rule on one node's packets)");
      return;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(std::system("ip link set lo up") == 0);
    // Node c runs as another user, so that one rule drops every packet it sends.
    const std::vector<std::string> as_other{"/usr/bin/setpriv", "--reuid=60123", "--regid=60123",
                                            "--clear-groups"};
    mesh_node a{"part-a", {}};
    mesh_node b{"part-b", {"--seed", a.address}};
    mesh_node c{"part-c", {"--seed", a.address}, as_other};
    REQUIRE(within(10s, [&] { return a.up() == 2 && b.up() == 2 && c.up() == 2; }));
    a.proc->ask("reg svc", "reg svc");
    b.proc->ask("reg svc", "reg svc");
    c.proc->ask("reg svc", "reg svc");
    auto count = [](const std::string& ports) {
      return std::count(ports.begin(), ports.end(), ' ');
    };
    std::string last;
    auto all_same = [&](const std::string& name, long ports) {
      auto x = a.get(name), y = b.get(name), z = c.get(name);
      last = fmt::format("a:{} | b:{} | c:{}", x, y, z);
      return x == y && y == z && count(x) == ports;
    };
    REQUIRE_MESSAGE(within(5s, [&] { return all_same("svc", 3); }), last);

    REQUIRE(std::system("iptables -A OUTPUT -m owner --uid-owner 60123 -j DROP") == 0);
    // Both sides see the other down within the node timeout (1 s) plus a little.
    REQUIRE(within(10s, [&] { return a.up() == 1 && b.up() == 1 && c.up() == 0; }));
    CHECK(count(a.get("svc")) == 2);  // c's entry went
    // Changes on both sides while apart.
    b.proc->ask("unreg svc", "unreg svc");
    c.proc->ask("reg svc", "reg svc");  // c now holds two
    c.proc->ask("reg other", "reg other");
    std::this_thread::sleep_for(500ms);
    CHECK(count(c.get("svc")) == 2);  // its own two: a and b are down for it

    REQUIRE(std::system("iptables -D OUTPUT -m owner --uid-owner 60123 -j DROP") == 0);
    auto healed = clock::now();
    CHECK(within(15s, [&] { return a.up() == 2 && b.up() == 2 && c.up() == 2; }));
    CHECK_MESSAGE(within(5s, [&] { return all_same("svc", 3) && all_same("other", 1); }), last);
    MESSAGE(fmt::format("re-merged and converged {:.2f} s after the partition healed",
                        std::chrono::duration<double>(clock::now() - healed).count()));
  }
}
