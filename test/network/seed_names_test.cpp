// Seeds named in DNS, with nodes in separate processes (test/programs/test_node.cpp) on
// 127.0.0.2-127.0.0.6 behind one name: each process in a private mount namespace with an
// /etc/hosts of its own (so that every node can see its own address first, as a headless
// Kubernetes service may give it), all in a private network namespace. Needs root (the
// namespaces); skipped with a message otherwise. Every wait is bounded; the children are
// killed when the test ends.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/namespaces.hpp"
#include "support/probe.hpp"
#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

using clock = std::chrono::steady_clock;

/// A directory for this test's files, removed at its end.
struct scratch {
  std::filesystem::path dir;
  scratch() {
    char name[] = "/tmp/coport-seed-names-XXXXXX";
    dir = mkdtemp(name);
  }
  ~scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::filesystem::path write(const std::string& file, const std::string& text) const {
    auto path = dir / file;
    std::ofstream{path} << text;
    return path;
  }
};

/// This namespace's /etc/hosts (only localhost) and /etc/resolv.conf (a server on
/// 127.0.0.1, tried `attempts` times), written in `files` and mounted over the system's; the
/// hosts file's path (rewritten in place, the mount stays).
std::filesystem::path use_own_hosts_and_resolver(const scratch& files, int attempts) {
  auto hosts = files.write("hosts", "127.0.0.1 localhost\n");
  auto resolv =
      files.write("resolv.conf",
                  fmt::format("nameserver 127.0.0.1\noptions timeout:1 attempts:{}\n", attempts));
  REQUIRE(mount_over(hosts, "/etc/hosts"));
  REQUIRE(mount_over(resolv, "/etc/resolv.conf"));
  return hosts;
}

/// A test_node on `bind`, seeded by `seed`, seeing `hosts` as its /etc/hosts (empty: the
/// namespace's).
struct named_node {
  std::unique_ptr<child> proc;
  named_node(const std::string& id, const std::string& bind, const std::string& seed,
             const std::filesystem::path& hosts, const std::string& resolve_ms = "30000") {
    std::vector<std::string> argv;
    if (!hosts.empty()) {
      argv = {"/usr/bin/unshare",
              "--mount",
              "--propagation",
              "private",
              "/bin/sh",
              "-c",
              "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
              hosts.string()};
    }
    argv.insert(argv.end(), {COPORT_TEST_NODE, "--id", id, "--bind", bind, "--seed", seed,
                             "--heartbeat", "200", "--timeout", "1000", "--resolve", resolve_ms});
    proc = std::make_unique<child>(argv);
    proc->expect("ready ");
  }
  int up() {
    auto text = proc->ask("up", "up ");
    return std::stoi(text.substr(0, text.find(' ')));
  }
  std::string seeds() { return proc->ask("seeds", "seeds"); }
};

std::string hosts_text(const std::vector<int>& order) {
  std::string text = "127.0.0.1 localhost\n";
  for (int last : order) text += fmt::format("127.0.0.{} cluster.test\n", last);
  return text;
}

}  // namespace

TEST_SUITE("network.seed_names") {
  TEST_CASE(
      "five nodes cold-starting on one name that resolves to all of them form one mesh in every "
      "one of 50 runs even when each sees its own address first (needs root)") {
    if (auto why = enter_private_namespaces(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    scratch files;
    std::minstd_rand random{20261207};
    double slowest = 0;
    for (int run = 0; run < 50; ++run) {
      // Even runs: every node's own address first (before, each marked the name as itself
      // and dialed no one); odd runs: an order of its own for each node.
      std::vector<std::unique_ptr<named_node>> nodes;
      auto start = clock::now();
      for (int i = 0; i < 5; ++i) {
        std::vector<int> order{2, 3, 4, 5, 6};
        if (run % 2 == 0) {
          std::rotate(order.begin(), order.begin() + i, order.end());
        } else {
          std::shuffle(order.begin(), order.end(), random);
        }
        auto hosts = files.write(fmt::format("hosts-{}", i), hosts_text(order));
        nodes.push_back(std::make_unique<named_node>(fmt::format("dns-{}-{}", run, i),
                                                     fmt::format("127.0.0.{}:4040", 2 + i),
                                                     "cluster.test:4040", hosts));
      }
      bool meshed = eventually(
          [&] {
            return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return n->up() == 4; });
          },
          15s);
      if (!meshed) {
        for (auto& n : nodes) MESSAGE("up " << n->up() << ", seeds" << n->seeds());
      }
      REQUIRE_MESSAGE(meshed, "run ", run);
      // Each node marks exactly its own address as itself, and every other one as linked.
      for (int i = 0; i < 5; ++i) {
        std::string seeds;
        bool settled = eventually([&] {
          seeds = nodes[static_cast<std::size_t>(i)]->seeds();
          return seeds.find(fmt::format("127.0.0.{}:4040=self", 2 + i)) != std::string::npos &&
                 std::count(seeds.begin(), seeds.end(), '=') == 5 &&
                 seeds.find("=down") == std::string::npos;
        });
        CHECK_MESSAGE(settled, seeds);
      }
      slowest = std::max(slowest, std::chrono::duration<double>(clock::now() - start).count());
    }
    MESSAGE(
        fmt::format("50 cold starts of 5 processes on one name: one mesh each, the slowest "
                    "in {:.2f} s",
                    slowest));
  }

  TEST_CASE(
      "a seed name that does not resolve yet is looked up again and the nodes added behind it "
      "are found without a restart (needs root)") {
    if (auto why = enter_private_namespaces(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    scratch files;
    // One /etc/hosts for every node (this namespace's), without the name at first; the
    // resolver of the namespace has no server (a lookup fails at once).
    auto hosts = use_own_hosts_and_resolver(files, 1);
    named_node a{"later-a", "127.0.0.2:4040", "cluster.test:4040", {}, "200"};
    named_node b{"later-b", "127.0.0.3:4040", "cluster.test:4040", {}, "200"};
    named_node c{"later-c", "127.0.0.4:4040", "cluster.test:4040", {}, "200"};
    // The name does not resolve: the lookup says so (not "not looked up yet").
    std::string seeds;
    CHECK_MESSAGE(eventually([&] {
                    seeds = a.seeds();
                    return seeds.find("cluster.test:4040=down[") != std::string::npos &&
                           seeds.find("not looked up yet") == std::string::npos;
                  }),
                  seeds);
    std::this_thread::sleep_for(600ms);  // more lookups that found nothing
    CHECK(a.up() == 0);
    CHECK(b.up() == 0);
    // The service scales up: two of the three are behind the name now (written in place: the
    // bind mount stays).
    std::ofstream{hosts} << "127.0.0.1 localhost\n127.0.0.2 cluster.test\n127.0.0.3 cluster.test\n";
    CHECK(eventually([&] { return a.up() == 2 && b.up() == 2 && c.up() == 2; }));
    // And the third, later: every node lists it as a seed of the name.
    std::ofstream{hosts} << "127.0.0.1 localhost\n127.0.0.2 cluster.test\n127.0.0.3 cluster.test\n"
                            "127.0.0.4 cluster.test\n";
    CHECK(eventually([&] {
      return a.seeds().find("127.0.0.4:4040=up") != std::string::npos &&
             c.seeds().find("127.0.0.4:4040=self") != std::string::npos;
    }));
  }

  TEST_CASE(
      "nodes seeded by DNS SRV records find every target and port and form one mesh (a dnsmasq "
      "of the test's own in a private network namespace - needs root)") {
    if (auto why = enter_private_namespaces(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    if (std::system("test -x /usr/sbin/dnsmasq") != 0) {
      MESSAGE("skipped: needs dnsmasq (dnsmasq-base, tools/install-deps)");
      return;
    }
    scratch files;
    // This namespace's resolver asks the test's server; no name is in /etc/hosts.
    use_own_hosts_and_resolver(files, 2);
    // Three targets on two priorities, each on a port of its own.
    std::vector<std::string> dns{"/usr/sbin/dnsmasq",
                                 "--keep-in-foreground",
                                 "--conf-file=/dev/null",
                                 "--no-resolv",
                                 "--no-hosts",
                                 "--listen-address=127.0.0.1",
                                 "--bind-interfaces",
                                 "--port=53",
                                 "--pid-file=",
                                 "--user=root",
                                 "--group=root"};
    for (int i = 2; i <= 4; ++i) {
      dns.push_back(fmt::format("--host-record=node{}.cluster.test,127.0.0.{}", i, i));
      dns.push_back(fmt::format("--srv-host=_coport._tcp.cluster.test,node{}.cluster.test,{},{},10",
                                i, 4040 + i, i == 4 ? 2 : 1));
    }
    child server{dns};
    REQUIRE(eventually(
        [] { return std::system("getent hosts node2.cluster.test >/dev/null 2>&1") == 0; }));
    std::vector<std::unique_ptr<named_node>> nodes;
    for (int i = 2; i <= 4; ++i) {
      nodes.push_back(std::make_unique<named_node>(
          fmt::format("srv-{}", i), fmt::format("127.0.0.{}:{}", i, 4040 + i),
          "srv:_coport._tcp.cluster.test", std::filesystem::path{}));
    }
    CHECK(eventually([&] {
      return std::all_of(nodes.begin(), nodes.end(), [](auto& n) { return n->up() == 2; });
    }));
    for (int i = 2; i <= 4; ++i) {
      std::string seeds;
      bool settled = eventually([&] {
        seeds = nodes[static_cast<std::size_t>(i - 2)]->seeds();
        return seeds.find(fmt::format("127.0.0.{}:{}=self", i, 4040 + i)) != std::string::npos &&
               std::count(seeds.begin(), seeds.end(), '=') == 3 &&
               seeds.find("=down") == std::string::npos;
      });
      CHECK_MESSAGE(settled, seeds);
    }
  }
}
