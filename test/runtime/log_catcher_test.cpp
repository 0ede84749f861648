// AEMP's LogCatcher on one node: a node catching its own lines (the service and the catch
// meet at the node port as they would across a link; test/transport/log_catcher_test.cpp
// catches another node's).
#include <doctest/doctest.h>

#include <coport/log.hpp>
#include <coport/log_catcher.hpp>
#include <coport/node.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/log_capture.hpp"
#include "support/nodes.hpp"

using namespace coport;
using coport::test::quiet_log;
using coport::test::stepped;

TEST_SUITE("log_catcher") {
  TEST_CASE("a node catches its own lines at the level it asked for, until the guard ends") {
    quiet_log quiet;
    node n{stepped("catch-self")};
    log_service service{n};
    std::vector<std::string> got;
    auto catching = catch_logs(n, "catch-self", log_level::warn, [&](const log_record& r) {
      got.push_back(std::string{to_string(r.level)} + " " + std::string{r.component} + " " +
                    std::string{r.node} + " " + std::string{r.text});
    });
    n.run_until_idle();  // the catch reaches the service
    set_log_level(log_level::info);
    n.kil(n.port([](message&) {}), "crashed");  // warn: an unmonitored death
    n.snd(n.node_port(), "no.such.request");    // info: not what the catcher asked for
    n.run_until_idle();
    set_log_level(log_level::warn);
    CHECK(got ==
          std::vector<std::string>{"warn runtime catch-self unmonitored port died: crashed"});
    catching.cancel();
    n.run_until_idle();
    n.kil(n.port([](message&) {}), "after");
    n.run_until_idle();
    CHECK(got.size() == 1);
  }

  TEST_CASE("catch_logs refuses a malformed node ID and a missing callback") {
    node n{stepped("catch-bad")};
    CHECK_THROWS_AS(catch_logs(n, "", log_level::warn, [](const log_record&) {}),
                    std::invalid_argument);
    CHECK_THROWS_AS(catch_logs(n, "catch-bad", log_level::warn, {}), std::invalid_argument);
  }
}
