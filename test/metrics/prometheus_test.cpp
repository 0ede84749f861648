// A real Prometheus (Debian's `prometheus` package) scrapes three `coport run` processes
// that serve their figures (the `metrics` key); an in-process node joins their network and
// does things the queries must then show: names registered, messages to ports that do not
// exist, leaving. promtool checks each node's exposition. Everything binds 127.0.0.1 on
// free ports; every wait is bounded; the processes are killed when the test ends.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/cli.hpp"
#include "support/http.hpp"
#include "support/probe.hpp"
#include "support/process.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// A port on 127.0.0.1 that was free a moment ago (Prometheus takes no port 0).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string url_encoded(const std::string& text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// One `coport run` process with its addresses, as its first line says.
struct node_process {
  std::unique_ptr<child> proc;
  std::string id, address, metrics;
};

node_process start(const scratch& s, const std::string& profile) {
  node_process n;
  n.proc = std::make_unique<child>(
      std::vector<std::string>{COPORT_CLI, "--config", s.config, "run", "profile", profile});
  std::string line = n.proc->expect("node ");
  REQUIRE(has(line, "listening on 127.0.0.1:"));
  n.id = line.substr(5, line.find(' ', 5) - 5);
  auto at = line.find("listening on ") + 13;
  n.address = line.substr(at, line.find_first_of(" ,", at) - at);
  at = line.find("metrics on http://");
  REQUIRE(at != std::string::npos);
  at += 18;
  n.metrics = line.substr(at, line.find('/', at) - at);
  return n;
}

/// Prometheus on 127.0.0.1, scraping `targets` every second.
struct prometheus_server {
  std::filesystem::path dir;
  std::string address;
  std::unique_ptr<child> proc;

  prometheus_server(const std::filesystem::path& scratch_dir,
                    const std::vector<std::string>& targets) {
    dir = scratch_dir / "prometheus";
    std::filesystem::create_directories(dir);
    std::ofstream config{dir / "prometheus.yml"};
    config << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
           << "scrape_configs:\n  - job_name: coport\n    static_configs:\n      - targets: [";
    for (std::size_t i = 0; i < targets.size(); ++i) {
      config << (i ? ", " : "") << "'" << targets[i] << "'";
    }
    config << "]\n";
    config.close();
    address = "127.0.0.1:" + std::to_string(free_port());
    proc = std::make_unique<child>(std::vector<std::string>{
        "/bin/sh", "-c",
        "exec prometheus --config.file=" + (dir / "prometheus.yml").string() +
            " --storage.tsdb.path=" + (dir / "data").string() + " --web.listen-address=" + address +
            " --log.level=warn 2>" + (dir / "log.txt").string()});
  }

  /// The samples of an instant query: node label -> value (or "instance" when the series
  /// has no node label).
  std::map<std::string, double> query(const std::string& promql) const {
    std::map<std::string, double> out;
    auto r = http_get(address, "/api/v1/query?query=" + url_encoded(promql), 5s);
    if (r.status != 200) return out;
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success") return out;
    for (const auto& series : j["data"]["result"]) {
      const auto& m = series["metric"];
      std::string key =
          m.contains("node") ? m["node"].get<std::string>() : m.value("instance", std::string{"?"});
      out[key] = std::stod(series["value"][1].get<std::string>());
    }
    return out;
  }

  /// Waits (at most 60 s) until `promql` answers exactly `expected`.
  bool shows(const std::string& promql, const std::map<std::string, double>& expected) const {
    std::map<std::string, double> last;
    bool ok = eventually(
        [&] {
          last = query(promql);
          if (last == expected) return true;
          std::this_thread::sleep_for(200ms);
          return false;
        },
        60s);
    if (!ok) {
      std::string seen;
      for (const auto& [k, v] : last) seen += k + "=" + std::to_string(v) + " ";
      MESSAGE(promql << " answered: " << seen);
    }
    return ok;
  }
};

}  // namespace

TEST_SUITE("metrics.prometheus") {
  TEST_CASE("a real Prometheus scraping three processes sees what the test did") {
    REQUIRE_MESSAGE(std::system("command -v prometheus >/dev/null && command -v promtool "
                                ">/dev/null") == 0,
                    "needs Debian's prometheus package (tools/install-deps installs it)");
    scratch s;
    REQUIRE(s.run("profile prom-a nodeid prom-a binds 127.0.0.1:0 metrics 127.0.0.1:0 "
                  "services echo")
                .first == 0);
    node_process a = start(s, "prom-a");
    for (const char* name : {"prom-b", "prom-c"}) {
      REQUIRE(s.run(std::string{"profile "} + name + " nodeid " + name +
                    " binds 127.0.0.1:0 metrics 127.0.0.1:0 services echo seeds " + a.address)
                  .first == 0);
    }
    node_process b = start(s, "prom-b"), c = start(s, "prom-c");
    REQUIRE(s.run("profile driver nodeid prom-driver binds 127.0.0.1:0 seeds " + a.address).first ==
            0);

    // The driver: a node of this process in the same network.
    auto config = network::config_file::load(s.config).resolve("driver");
    auto driver = std::make_unique<node>(network::node_options_for(config));
    auto net = std::make_unique<network::membership>(*driver, config);
    REQUIRE(eventually([&] { return driver->up_nodes().size() == 3; }, 20s));
    REQUIRE(eventually([&] { return net->names().get("echo").size() == 3; }, 20s));

    prometheus_server prom{s.dir, {a.metrics, b.metrics, c.metrics}};
    REQUIRE(prom.shows(R"(up{job="coport"})", {{a.metrics, 1}, {b.metrics, 1}, {c.metrics, 1}}));
    REQUIRE(prom.shows("coport_nodes_up", {{"prom-a", 3}, {"prom-b", 3}, {"prom-c", 3}}));
    CHECK(prom.shows(R"(coport_link_up{peer="prom-driver"})",
                     {{"prom-a", 1}, {"prom-b", 1}, {"prom-c", 1}}));

    // Four names registered by the driver reach every replica (three echo services besides).
    auto jobs = driver->port();
    std::vector<subscription> names;
    for (int i = 0; i < 4; ++i) names.push_back(net->names().reg("job-" + std::to_string(i), jobs));
    CHECK(prom.shows("coport_registry_entries", {{"prom-a", 7}, {"prom-b", 7}, {"prom-c", 7}}));

    // 3, 5 and 7 messages to ports that do not exist on a, b and c: dropped there, counted.
    std::map<std::string, int> sent{{"prom-a", 3}, {"prom-b", 5}, {"prom-c", 7}};
    for (const port_id& echo : net->names().get("echo")) {
      const int k = sent[std::string{echo.node()}];
      for (int j = 0; j < k; ++j) {
        driver->snd(port_id{echo.node(), 1'000'000u + static_cast<unsigned>(j), echo.incarnation()},
                    "nobody", j);
      }
    }
    CHECK(prom.shows(R"(coport_messages_dropped_total{reason="no_port"})",
                     {{"prom-a", 3}, {"prom-b", 5}, {"prom-c", 7}}));

    // Each process's exposition passes promtool, and each is ready.
    for (const node_process* p : {&a, &b, &c}) {
      auto text = http_get(p->metrics, "/metrics").body;
      std::ofstream{s.dir / "exposition.txt"} << text;
      FILE* check = ::popen(
          ("promtool check metrics < " + (s.dir / "exposition.txt").string() + " 2>&1").c_str(),
          "r");
      REQUIRE(check != nullptr);
      char buf[4096];
      std::string said;
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, check)) > 0) said.append(buf, n);
      const int status = ::pclose(check);
      CHECK_MESSAGE(status == 0, said);
      CHECK_MESSAGE(said.empty(), said);
      CHECK(http_get(p->metrics, "/readyz").status == 200);
      CHECK(http_get(p->metrics, "/healthz").status == 200);
    }

    // The driver leaves: its link goes down everywhere and its names go.
    names.clear();
    net.reset();
    driver.reset();
    CHECK(prom.shows(R"(coport_link_up{peer="prom-driver"})",
                     {{"prom-a", 0}, {"prom-b", 0}, {"prom-c", 0}}));
    CHECK(prom.shows("coport_registry_entries", {{"prom-a", 3}, {"prom-b", 3}, {"prom-c", 3}}));
    CHECK(prom.shows("coport_nodes_up", {{"prom-a", 2}, {"prom-b", 2}, {"prom-c", 2}}));
  }
}
