// The supervised pool (samples/supervised_pool) in two processes: four workers start on the
// worker node; one that crashes comes back as a new port; when the worker node is killed
// with kill -9 all four come back on the boss's node. Every node binds 127.0.0.1; every read
// has a deadline; the children die with the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<child> pool(const std::string& role, const std::string& id,
                            std::vector<std::string> extra) {
  std::vector<std::string> args{COPORT_SUPERVISED_POOL, role, "nodeid", id, "heartbeat_interval",
                                "0.2", "node_timeout", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<child>(args);
}

/// The workers the boss reports up on `where`, until all of `ids` did.
void expect_up(child& boss, std::set<std::string> ids, const std::string& where) {
  while (!ids.empty()) {
    auto line = boss.line(20s);
    REQUIRE_MESSAGE(line, "still waiting for " << ids.size() << " workers up on " << where);
    auto at = line->find(" up on ");
    if (at == std::string::npos) continue;
    CHECK(line->substr(at + 7) == where);
    ids.erase(line->substr(0, at));
  }
}

}  // namespace

TEST_SUITE("sample.supervised_pool") {
  TEST_CASE("a crashed worker is restarted, and a killed node's workers come back elsewhere") {
    ::setenv("COPORT_CONFIG", "/nonexistent/coport-supervised-pool-test.json", 1);
    auto worker = pool("worker", "pool-worker", {"binds", "127.0.0.1:0"});
    const std::string seed = worker->expect("supervised_pool pool-worker listening on ");
    auto boss = pool("boss", "pool-boss", {"seeds", seed, "binds", "127.0.0.1:0"});
    expect_up(*boss, {"w1", "w2", "w3", "w4"}, "pool-worker");
    CHECK(boss->ask("job w3 7", "w3: ") == "7^2 = 49");
    boss->say("crash w2");
    expect_up(*boss, {"w2"}, "pool-worker");
    CHECK(boss->ask("job w2 9", "w2: ") == "9^2 = 81");
    worker->kill9();
    expect_up(*boss, {"w1", "w2", "w3", "w4"}, "pool-boss");
    CHECK(boss->ask("children", "children ") ==
          "w1@pool-boss w2@pool-boss w3@pool-boss w4@pool-boss");
    CHECK(boss->ask("job w4 3", "w4: ") == "3^2 = 9");
    boss->close_stdin();
    CHECK(boss->wait_exit(10s) == 0);
  }
}
