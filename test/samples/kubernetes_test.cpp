// samples/kubernetes: the configuration a pod of coport.yaml runs (config.json, profile k8s,
// and the environment the manifest gives each pod), run as three `coport run` processes on
// 127.0.0.2-4 behind the headless service's name (a private /etc/hosts in a private mount
// namespace, all in a private network namespace). Each takes its node ID from its
// environment and the secret from a file, skips its own address behind the name, links to
// the other two, is ready on /readyz, and leaves normally on SIGTERM. Needs root (the
// namespaces); skipped with a message otherwise. Every wait is bounded.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/http.hpp"
#include "support/namespaces.hpp"
#include "support/probe.hpp"
#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// A pod of the StatefulSet, as a process: `coport run profile k8s` with the pod's
/// environment (its address here a loopback alias).
struct pod {
  std::unique_ptr<child> proc;
  std::string id, ip;
  pod(int ordinal, const std::string& secret_file) {
    id = fmt::format("coport-{}", ordinal);
    ip = fmt::format("127.0.0.{}", 2 + ordinal);
    proc = std::make_unique<child>(std::vector<std::string>{
        "/usr/bin/env", "COPORT_NODEID=" + id,  // $(POD_NAME)
        "COPORT_ADVERTISE=" + ip + ":4040",     // $(POD_IP):4040
        "COPORT_SEEDS=coport.default.svc.cluster.local:4040", "COPORT_SECRET_FILE=" + secret_file,
        // A pod has a network of its own; these processes share one.
        "COPORT_BINDS=" + ip + ":4040", "COPORT_METRICS=" + ip + ":9464", COPORT_CLI, "--config",
        COPORT_KUBERNETES_CONFIG, "run", "profile", "k8s"});
    auto line = proc->expect("node " + id + " (profile k8s) listening on ");
    CHECK(line.find(ip + ":4040") != std::string::npos);
  }
  /// Reads its lines until it said that each of `others` is up.
  bool sees_up(const std::vector<std::string>& others) {
    std::set<std::string> waiting(others.begin(), others.end());
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
      auto l = proc->line(1s);
      if (!l) continue;
      for (const auto& o : others) {
        if (*l == "node " + o + " up") waiting.erase(o);
      }
    }
    return waiting.empty();
  }
};

}  // namespace

TEST_SUITE("samples.kubernetes") {
  TEST_CASE(
      "the Kubernetes sample's configuration forms one network of three behind one name with "
      "node IDs from the environment and the secret from a file (needs root)") {
    if (auto why = enter_private_namespaces(); !why.empty()) {
      MESSAGE("skipped: " << why);
      return;
    }
    char name[] = "/tmp/coport-k8s-XXXXXX";
    std::filesystem::path dir = mkdtemp(name);
    auto hosts = dir / "hosts";
    std::ofstream{hosts} << "127.0.0.1 localhost\n"
                         << "127.0.0.2 coport.default.svc.cluster.local\n"
                         << "127.0.0.3 coport.default.svc.cluster.local\n"
                         << "127.0.0.4 coport.default.svc.cluster.local\n";
    REQUIRE(mount_over(hosts, "/etc/hosts"));
    auto secret = (dir / "secret").string();
    std::ofstream{secret} << "k8s-sample-secret-of-enough-characters\n";
    std::filesystem::permissions(secret, std::filesystem::perms::owner_read);
    {
      // All three at once (podManagementPolicy: Parallel).
      std::vector<std::unique_ptr<pod>> pods;
      for (int i = 0; i < 3; ++i) pods.push_back(std::make_unique<pod>(i, secret));
      CHECK(pods[0]->sees_up({"coport-1", "coport-2"}));
      CHECK(pods[1]->sees_up({"coport-0", "coport-2"}));
      CHECK(pods[2]->sees_up({"coport-0", "coport-1"}));
      for (auto& p : pods) {
        CAPTURE(p->id);
        CHECK(eventually([&] { return http_get(p->ip + ":9464", "/readyz", 1s).status == 200; }));
      }
      // A pod stopped by Kubernetes (SIGTERM) leaves normally: the others see shutdown.
      pods[1]->proc->signal(SIGTERM);
      CHECK(pods[1]->proc->wait_exit(10s) == 0);
      auto down = pods[0]->proc->expect("node coport-1 down");
      CHECK(down.find("shutdown") != std::string::npos);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
}
