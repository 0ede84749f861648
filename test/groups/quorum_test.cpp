// Quorum groups (group_options::quorum, groups/src/quorum.hpp): a master releases only what
// a majority of the homes holds, a standby takes over only once a majority voted for it,
// and a side of a partition without a majority releases nothing.
#include <doctest/doctest.h>

#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <memory>
#include <string>
#include <vector>

#include "protocol.hpp"  // groups/src: confirm_delay, vote_time
#include "support/group_cluster.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::string_literals;
using namespace std::chrono_literals;
namespace pg = coport::groups;

namespace {

/// Cuts node i off from every other node.
void isolate(group_cluster& gc, std::size_t i) {
  for (std::size_t j = 0; j < gc.c.size(); ++j) {
    if (j != i && gc.c.linked(i, j)) gc.c.cut(i, j, "partition");
  }
  gc.c.run();
}

/// Links node i to every other node again.
void rejoin(group_cluster& gc, std::size_t i) {
  for (std::size_t j = 0; j < gc.c.size(); ++j) {
    if (j != i && !gc.c.linked(i, j)) gc.c.connect(i, j);
  }
  gc.c.run();
}

}  // namespace

TEST_SUITE("groups.quorum") {
  TEST_CASE("a quorum group needs three homes and total order") {
    group_cluster gc{{"qa-a", "qa-b", "qa-c"}};
    CHECK(gc.g[0]->create("g", {.standbys = {"qa-b"}, .quorum = true}).error ==
          pg::errc::bad_argument);
    CHECK(gc.g[0]->create("g", {.standbys = {"qa-b", "qa-a"}, .quorum = true}).error ==
          pg::errc::bad_argument);
    CHECK(gc.g[0]->create("g", {.order = pg::ordering::causal,
                                .standbys = {"qa-b", "qa-c"},
                                .quorum = true})
              .error == pg::errc::bad_argument);
    CHECK(gc.g[0]->create("g", {.standbys = {"qa-b", "qa-c"}, .quorum = true}));
  }

  TEST_CASE("a quorum group delivers every message in one order, with a home down too") {
    group_cluster gc{{"qd-a", "qd-b", "qd-c", "qd-d"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"qd-b", "qd-c"}, .quorum = true}));
    gc.c.run();
    recorder rd;
    join(gc, 3, "g", member(gc.c[3], rd));
    for (int k = 0; k < 20; ++k) REQUIRE(gc.g[3]->send("g", "d"s, k) == pg::errc::ok);
    gc.c.run();
    CHECK(rd.seen.size() == 20);
    // One standby's node down: the master and the other standby are a majority.
    isolate(gc, 2);
    for (int k = 20; k < 40; ++k) REQUIRE(gc.g[3]->send("g", "d"s, k) == pg::errc::ok);
    gc.c.run();
    REQUIRE(rd.seen.size() == 40);
    for (int k = 0; k < 40; ++k) CHECK(rd.seen[k] == "d:" + std::to_string(k));
    gc.c.advance(pg::detail::confirm_delay);
    CHECK(gc.g[3]->stats().unconfirmed == 0);
  }

  TEST_CASE(
      "a master cut off alone releases nothing, the majority elects a standby, and after the "
      "heal every message is delivered once, in one order") {
    group_cluster gc{{"qp-a", "qp-b", "qp-c", "qp-d"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"qp-b", "qp-c"}, .quorum = true}));
    gc.c.run();
    recorder ra, rd;
    join(gc, 0, "g", member(gc.c[0], ra));
    join(gc, 3, "g", member(gc.c[3], rd));
    REQUIRE(gc.g[0]->send("g", "a"s, 0) == pg::errc::ok);
    gc.c.run();
    REQUIRE(ra.seen == std::vector<std::string>{"a:0"});
    isolate(gc, 0);
    // The master's side is a minority: what its node sends now is ordered, not released.
    for (int k = 1; k <= 5; ++k) REQUIRE(gc.g[0]->send("g", "a"s, k) == pg::errc::ok);
    gc.c.run();
    CHECK(ra.seen == std::vector<std::string>{"a:0"});
    // The majority's side: a standby is elected (after the other one voted) and goes on.
    gc.c.advance(pg::detail::vote_time);
    gc.c.run();
    CHECK(gc.g[3]->master("g").node() != "qp-a");
    for (int k = 0; k < 5; ++k) REQUIRE(gc.g[3]->send("g", "d"s, k) == pg::errc::ok);
    gc.c.run();
    CHECK(rd.seen == std::vector<std::string>{"a:0", "d:0", "d:1", "d:2", "d:3", "d:4"});
    CHECK(ra.seen == std::vector<std::string>{"a:0"});
    // The heal: the old master steps down, and what its node sent goes to the new master,
    // once.
    rejoin(gc, 0);
    gc.c.advance(std::chrono::seconds{1});
    gc.c.run();
    std::vector<std::string> expected{"a:0", "d:0", "d:1", "d:2", "d:3", "d:4",
                                      "a:1", "a:2", "a:3", "a:4", "a:5"};
    CHECK(rd.seen == expected);
    CHECK(gc.g[0]->stats().unconfirmed == 0);
    CHECK(gc.g[0]->stats().send_failed == 0);
    CHECK(gc.g[0]->stats().resent == 5);
  }
}
