// Joins and sends of a group this node does not know yet: they wait for the registry to
// name its master (bounded, in order), and fail cleanly when none comes.
#include <doctest/doctest.h>

#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/group_cluster.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::string_literals;
using namespace std::chrono_literals;
namespace pg = coport::groups;

TEST_SUITE("groups.waiting") {
  TEST_CASE(
      "a join and a send to a group not known yet wait for the registry to name its master, "
      "in order") {
    group_cluster gc{{"pgw-a", "pgw-b"}};
    recorder ra, rb;
    port_id a = member(gc.c[0], ra), b = member(gc.c[1], rb);
    REQUIRE(gc.g[0]->create("late"));
    // Node b has not heard of the group yet (nothing ran since the create).
    CHECK(gc.g[1]->master("late").is_null());
    std::optional<pg::join_result> joined;
    CHECK(gc.g[1]->join("late", b, [&](pg::join_result r) { joined = r; }) == pg::errc::ok);
    CHECK(gc.g[1]->send("late", "b"s, 1) == pg::errc::ok);
    CHECK(gc.g[1]->send("late", "b"s, 2) == pg::errc::ok);
    gc.c.run();
    REQUIRE(joined);
    CHECK(joined->error == pg::errc::ok);
    CHECK(rb.seen == std::vector<std::string>{"b:1", "b:2"});
    CHECK(gc.g[1]->stats().waited == 3);
    CHECK(gc.g[1]->stats().wait_failed == 0);
    (void)a;
  }

  TEST_CASE(
      "a join and a send to a group that never comes fail after the wait: done gets "
      "no_such_group, the sending port pg_send_failed") {
    group_cluster gc{{"pgn-a", "pgn-b"}};
    std::optional<pg::join_result> joined;
    CHECK(gc.g[1]->join("nosuch", gc.c[1].port(), [&](pg::join_result r) { joined = r; }) ==
          pg::errc::ok);
    std::vector<std::string> told;
    auto sender = gc.c[1].port();
    gc.c[1].rcv(sender, pg::send_failed_tag(),
                [&](std::string group, reason why) { told.push_back(group + " " + std::string{why.kind()}); });
    gc.c[1].peval(sender, [&] { CHECK(gc.g[1]->send("nosuch", "x"s, 1) == pg::errc::ok); });
    gc.c.run();
    CHECK(!joined);
    gc.c.advance(4s);
    CHECK(!joined);
    gc.c.advance(2s);
    REQUIRE(joined);
    CHECK(joined->error == pg::errc::no_such_group);
    CHECK(told == std::vector<std::string>{"nosuch no_such_group"});
    CHECK(gc.g[1]->stats().wait_failed == 2);
  }

  TEST_CASE(
      "a wait begun inside a port that dies still ends: the group's later joins and sends "
      "are not stuck") {
    group_cluster gc{{"pgd-a", "pgd-b"}};
    auto first = gc.c[1].port();
    gc.c[1].peval(first, [&] { CHECK(gc.g[1]->send("late2", "x"s, 1) == pg::errc::ok); });
    gc.c.run();
    gc.c[1].kil(first);
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    std::optional<pg::join_result> joined;
    std::vector<std::string> done_in;
    auto caller = gc.c[1].port();
    gc.c[1].peval(caller, [&] {
      CHECK(gc.g[1]->join("late2", b, [&](pg::join_result r) {
        joined = r;
        done_in.push_back(self() == caller ? "caller" : "elsewhere");
      }) == pg::errc::ok);
    });
    gc.c.run();
    REQUIRE(gc.g[0]->create("late2"));
    gc.c.run();
    REQUIRE(joined);
    CHECK(joined->error == pg::errc::ok);
    CHECK(done_in == std::vector<std::string>{"caller"});
    CHECK(gc.g[1]->send("late2", "b"s, 7) == pg::errc::ok);
    gc.c.run();
    CHECK(rb.seen.back() == "b:7");
  }

  TEST_CASE("a leave during a join's wait waits behind it: the member ends up out") {
    group_cluster gc{{"pgl-a", "pgl-b"}};
    recorder rb;
    port_id b = member(gc.c[1], rb);
    REQUIRE(gc.g[0]->create("late3"));
    CHECK(gc.g[1]->join("late3", b) == pg::errc::ok);  // waits: b does not know it yet
    CHECK(gc.g[1]->leave("late3", b) == pg::errc::ok);
    gc.c.run();
    std::optional<std::vector<port_id>> members;
    CHECK(gc.g[0]->members("late3", [&](std::vector<port_id> m) { members = m; }) ==
          pg::errc::ok);
    gc.c.run();
    REQUIRE(members);
    CHECK(members->empty());
  }

  TEST_CASE("a join that fails after the wait and is retried from its callback waits anew") {
    group_cluster gc{{"pgr-a", "pgr-b"}};
    int tries = 0;
    std::function<void()> attempt;
    attempt = [&] {
      ++tries;
      (void)gc.g[1]->join("never", gc.c[1].port(), [&](pg::join_result r) {
        if (r.error == pg::errc::no_such_group && tries < 3) attempt();
      });
    };
    attempt();
    for (int i = 0; i < 4; ++i) gc.c.advance(6s);
    CHECK(tries == 3);
  }

  TEST_CASE("with waiting off, a join or send to an unknown group fails at once") {
    cluster c{{"pgo-a"}};
    registry r{c[0]};
    pg::service g{c[0], r, pg::service_options{.wait = node::duration::zero()}};
    CHECK(g.send("nosuch", "x"s, 1) == pg::errc::no_such_group);
    CHECK(g.join("nosuch", c[0].port()) == pg::errc::no_such_group);
  }
}
