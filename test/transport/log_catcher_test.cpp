// AEMP's LogCatcher across a link: a node catches another node's lines as they happen; the
// serving node bounds its catchers. Deterministic nodes on in-memory links.
#include <doctest/doctest.h>

#include <coport/log.hpp>
#include <coport/log_catcher.hpp>
#include <coport/testing/cluster.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/log_capture.hpp"

using namespace coport;
using coport::test::quiet_log;
using coport::testing::cluster;

TEST_SUITE("transport.log_catcher") {
  TEST_CASE("a node catches another node's lines as they happen, with where they came from") {
    quiet_log quiet;
    cluster c{{"lc-a", "lc-b"}};
    log_service serving{c[0]};
    std::vector<std::string> got;
    std::vector<port_id> ports;
    auto catching = catch_logs(c[1], "lc-a", log_level::warn, [&](const log_record& r) {
      got.push_back(std::string{r.node} + ": " + std::string{r.text});
      ports.push_back(r.port);
    });
    c.run();
    auto p = c[0].port([](message&) {});
    c[0].kil(p, "die", "on lc-a");
    c.run();
    CHECK(got == std::vector<std::string>{"lc-a: unmonitored port died: die: on lc-a"});
    CHECK(ports == std::vector<port_id>{p});
    // The catch ends with its guard: the serving node forgets it (its monitor fires).
    catching.cancel();
    c.run();
    c[0].kil(c[0].port([](message&) {}), "later");
    c.run();
    CHECK(got.size() == 1);
  }

  TEST_CASE(
      "a node serves its lines to at most max_catchers_per_node catchers of one node, and "
      "never to a port of another node than the one that asks") {
    quiet_log quiet;
    cluster c{{"lm-a", "lm-b", "lm-c"}};
    log_service serving{c[0]};
    std::size_t lines = 0;
    std::vector<subscription> catches;
    for (std::size_t i = 0; i < log_service::max_catchers_per_node + 5; ++i) {
      catches.push_back(
          catch_logs(c[1], "lm-a", log_level::warn, [&](const log_record&) { ++lines; }));
    }
    // b names c's ports as catchers (and a's own node port): not believed.
    std::size_t at_c = 0;
    auto pc = c[2].port([&](message&) { ++at_c; });
    c.run();
    c[1].snd(*port_id::parse("lm-a"), "coport.logs", pc, std::uint8_t{2});
    c[1].snd(*port_id::parse("lm-a"), "coport.logs", *port_id::parse("lm-c"), std::uint8_t{2});
    c[1].snd(*port_id::parse("lm-a"), "coport.logs", *port_id::parse("lm-a"), std::uint8_t{2});
    c.run();
    lines = 0;  // the refusals themselves were lines of lm-a's, sent to the first catchers
    c[0].kil(c[0].port([](message&) {}), "one line");
    c.run();
    CHECK(lines == log_service::max_catchers_per_node);
    CHECK(at_c == 0);
  }
}
