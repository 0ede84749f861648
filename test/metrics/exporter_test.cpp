// coport::metrics::exporter in one process: the figures of exposed nodes at /metrics (one
// family per name, valid for promtool), an application's prometheus-cpp figures beside them,
// /healthz failing while a node's only thread is stuck, /readyz following the node's own
// check, and bad addresses refused. Every server binds 127.0.0.1 on a free port; every wait
// is bounded.
#include <doctest/doctest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <unistd.h>
#include <atomic>
#include <condition_variable>
#include <coport/coport.hpp>
#include <coport/metrics/exporter.hpp>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <system_error>

#include "support/http.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::chrono_literals;

namespace {

node_options threaded(const std::string& id, unsigned threads = 2) {
  node_options o;
  o.id = id;
  o.threads = threads;
  return o;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// The value of the sample `name{labels}` in an exposition, or -1.
double sample(const std::string& text, const std::string& name_and_labels) {
  auto at = text.find("\n" + name_and_labels + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name_and_labels.size() + 2));
}

/// `promtool check metrics` on `text`: its exit code and what it said.
std::pair<int, std::string> promtool(const std::string& text) {
  char path[] = "/tmp/coport-metrics-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream{path} << text;
  std::string out;
  FILE* p = ::popen((std::string{"promtool check metrics < "} + path + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  std::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST_SUITE("metrics.exporter") {
  TEST_CASE(
      "a node's figures are served at /metrics labelled with its ID as messages are handled") {
    node n{threaded("metrics-a")};
    metrics::exporter web{"127.0.0.1:0"};
    auto exposed = web.expose({.node = n});
    probe got;
    auto p = n.port();
    n.rcv(p, "tick", [&](int) { got.add("tick"); });
    for (int i = 0; i < 100; ++i) n.snd(p, "tick", i);
    REQUIRE(got.wait_for(100));
    std::string text;
    REQUIRE(eventually([&] {
      text = http_get(web.address(), "/metrics").body;
      return sample(text, R"(coport_messages_handled_total{node="metrics-a"})") >= 100;
    }));
    CHECK(sample(text, R"(coport_ports_alive{node="metrics-a"})") >= 1);
    CHECK(sample(text, R"(coport_ports_spawned_total{node="metrics-a"})") >= 1);
    CHECK(sample(text, R"(coport_messages_dropped_total{node="metrics-a",reason="no_port"})") == 0);
    // A message to a port that died is dropped, and counted by reason.
    n.kil(p);
    REQUIRE(eventually([&] { return !n.alive(p); }));
    n.snd(p, "tick", 1);
    REQUIRE(eventually([&] {
      text = http_get(web.address(), "/metrics").body;
      return sample(text, R"(coport_messages_dropped_total{node="metrics-a",reason="no_port"})") ==
             1;
    }));
    auto [code, said] = promtool(text);
    CHECK_MESSAGE(code == 0, said);
    CHECK(said.empty());
  }

  TEST_CASE("a measured port's mailbox and handler times are served and pass promtool") {
    node n{threaded("metrics-m")};
    metrics::exporter web{"127.0.0.1:0"};
    auto exposed = web.expose({.node = n});
    probe got;
    auto p = n.port();
    n.rcv(p, "tick", [&](int) { got.add("tick"); });
    n.snd(p, "tick", 0);
    REQUIRE(got.wait_for(1));  // the handler is in place (and counted before measuring)
    REQUIRE(n.measure(p, "ticker"));
    for (int i = 0; i < 30; ++i) n.snd(p, "tick", i);
    REQUIRE(got.wait_for(31));
    const std::string labels = R"({node="metrics-m",port=")" + p.to_string() + R"(",name="ticker")";
    std::string text;
    REQUIRE(eventually([&] {
      text = http_get(web.address(), "/metrics").body;
      return sample(text, "coport_port_handled_total" + labels + "}") == 30;
    }));
    CHECK(sample(text, "coport_port_mailbox" + labels + "}") == 0);
    CHECK(sample(text, "coport_port_handler_seconds_count" + labels + "}") == 30);
    CHECK(sample(text, "coport_port_handler_seconds_bucket" + labels + R"(,le="+Inf"})") == 30);
    CHECK(sample(text, R"(coport_mailbox_deepest{node="metrics-m"})") == 0);
    CHECK(has(text, R"(coport_handler_seconds_count{node="metrics-m"})"));
    auto [code, said] = promtool(text);
    CHECK_MESSAGE(code == 0, said);
    CHECK(said.empty());
    // A name that is no UTF-8 (or holds control characters) is served replaced, not broken.
    auto odd = n.port();
    REQUIRE(n.measure(odd, std::string{"bad\xff\n\"name"}));
    text = http_get(web.address(), "/metrics").body;
    CHECK(has(text, "name=\"bad\xEF\xBF\xBD\xEF\xBF\xBD\\\"name\""));
    std::tie(code, said) = promtool(text);
    CHECK_MESSAGE(code == 0, said);
  }

  TEST_CASE("two nodes share each family and the guard's end takes a node's figures away") {
    node a{threaded("metrics-b1")}, b{threaded("metrics-b2")};
    metrics::exporter web{"127.0.0.1:0"};
    auto ea = web.expose({.node = a});
    auto eb = web.expose({.node = b});
    CHECK_THROWS_AS(web.expose({.node = a}), std::invalid_argument);
    std::string text = http_get(web.address(), "/metrics").body;
    CHECK(sample(text, R"(coport_ports_alive{node="metrics-b1"})") >= 0);
    CHECK(sample(text, R"(coport_ports_alive{node="metrics-b2"})") >= 0);
    std::size_t types = 0;
    for (auto at = text.find("# TYPE coport_ports_alive "); at != std::string::npos;
         at = text.find("# TYPE coport_ports_alive ", at + 1)) {
      ++types;
    }
    CHECK(types == 1);
    auto [code, said] = promtool(text);
    CHECK_MESSAGE(code == 0, said);
    eb.cancel();
    text = http_get(web.address(), "/metrics").body;
    CHECK(has(text, R"(node="metrics-b1")"));
    CHECK(!has(text, R"(node="metrics-b2")"));
  }

  TEST_CASE("an application's prometheus-cpp figures are served beside coport's") {
    node n{threaded("metrics-c")};
    metrics::exporter web{"127.0.0.1:0"};
    auto exposed = web.expose({.node = n});
    auto mine = std::make_shared<prometheus::Registry>();
    auto& orders = prometheus::BuildCounter()
                       .Name("shop_orders_total")
                       .Help("Orders taken")
                       .Register(*mine)
                       .Add({{"shop", "north"}});
    orders.Increment(3);
    auto guard = web.expose(std::weak_ptr<prometheus::Collectable>{mine});
    std::string text = http_get(web.address(), "/metrics").body;
    CHECK(sample(text, R"(shop_orders_total{shop="north"})") == 3);
    CHECK(sample(text, R"(coport_ports_alive{node="metrics-c"})") >= 0);
    guard.cancel();
    CHECK(!has(http_get(web.address(), "/metrics").body, "shop_orders_total"));
  }

  TEST_CASE("/healthz is 503 naming the node while its only thread is stuck and 200 after") {
    node n{threaded("metrics-d", 1)};
    metrics::exporter web{"127.0.0.1:0"};
    auto exposed = web.expose({.node = n});
    CHECK(http_get(web.address(), "/healthz").status == 200);
    std::mutex m;
    std::condition_variable cv;
    bool release = false;
    probe stuck;
    auto p = n.port();
    n.rcv(p, "block", [&] {
      stuck.add("in");
      std::unique_lock l{m};
      cv.wait_for(l, 20s, [&] { return release; });
    });
    n.snd(p, "block");
    REQUIRE(stuck.wait_for(1));
    auto sick = http_get(web.address(), "/healthz");
    CHECK(sick.status == 503);
    CHECK(has(sick.body, "node metrics-d"));
    CHECK(http_get(web.address(), "/readyz").status == 503);
    {
      std::lock_guard l{m};
      release = true;
    }
    cv.notify_all();
    CHECK(eventually([&] { return http_get(web.address(), "/healthz").status == 200; }));
  }

  TEST_CASE("/readyz is 503 with the node's reason until its check says ready") {
    node n{threaded("metrics-e")};
    metrics::exporter web{"127.0.0.1:0"};
    std::atomic<bool> ready{false};
    auto exposed = web.expose(
        {.node = n, .not_ready = [&]() -> std::string { return ready ? "" : "warming up"; }});
    auto r = http_get(web.address(), "/readyz");
    CHECK(r.status == 503);
    CHECK(has(r.body, "node metrics-e: warming up"));
    CHECK(http_get(web.address(), "/healthz").status == 200);  // alive, not ready
    ready = true;
    r = http_get(web.address(), "/readyz");
    CHECK(r.status == 200);
    CHECK(r.body == "ok\n");
  }

  TEST_CASE("bad addresses are refused with a clear error and a port in use is a system error") {
    CHECK_THROWS_WITH_AS(metrics::exporter{"nonsense"}, doctest::Contains("host:port"),
                         std::invalid_argument);
    CHECK_THROWS_AS(metrics::exporter{"localhost:9464"}, std::invalid_argument);
    CHECK_THROWS_AS(metrics::exporter{"127.0.0.1:70000"}, std::invalid_argument);
    CHECK_THROWS_AS(metrics::exporter{"[::1:9464"}, std::invalid_argument);
    CHECK_NOTHROW(metrics::check_address("*:9464"));
    CHECK_NOTHROW(metrics::check_address("[::1]:0"));
    metrics::exporter first{"127.0.0.1:0"};
    CHECK_THROWS_AS(metrics::exporter{first.address()}, std::system_error);
    CHECK(http_get(first.address(), "/nothing-here").status == 404);
  }
}
