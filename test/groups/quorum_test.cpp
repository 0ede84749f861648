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
    CHECK(
        gc.g[0]
            ->create("g",
                     {.order = pg::ordering::causal, .standbys = {"qa-b", "qa-c"}, .quorum = true})
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

  TEST_CASE(
      "a new master's standby speaks for its node only once it holds what that master had: "
      "a master that dies before its standbys caught up loses no released message") {
    // b is elected after a dies and makes standbys on c, d and e from its log; it dies
    // when each has had only `frames` frames of it. The survivors must elect a log that
    // holds what a majority released (X, which d and e never had): the old standby on c.
    for (std::size_t frames = 1; frames <= 8; ++frames) {
      CAPTURE(frames);
      group_cluster gc{{"qf-a", "qf-b", "qf-c", "qf-d", "qf-e"}};
      REQUIRE(gc.g[0]->create("g", {.standbys = {"qf-b", "qf-c", "qf-d", "qf-e"}, .quorum = true}));
      gc.c.run();
      recorder rc;
      join(gc, 2, "g", member(gc.c[2], rc));
      // Messages of 48 KiB: a frame holds one, so that a standby's state comes in pieces.
      const std::string who(48 << 10, 'c');
      auto send = [&](int from, int to) {
        for (int k = from; k < to; ++k) REQUIRE(gc.g[2]->send("g", who, k) == pg::errc::ok);
        gc.c.run();
      };
      auto expected = [&](int to) {
        std::vector<std::string> v;
        for (int k = 0; k < to; ++k) v.push_back(who + ":" + std::to_string(k));
        return v;
      };
      send(0, 5);
      REQUIRE(rc.seen == expected(5));
      // d and e are cut off from a: a, b and c are a majority and release X (5-7) alone.
      gc.c.cut(0, 3, "partition");
      gc.c.cut(0, 4, "partition");
      gc.c.run();
      send(5, 8);
      REQUIRE(rc.seen == expected(8));
      gc.c.advance(pg::detail::confirm_delay);
      REQUIRE(gc.g[2]->stats().unconfirmed == 0);
      // a dies; b stands first and is elected (its log is the longest). Frame by frame,
      // until b is master: its new standbys' states are on the links, not handed over.
      for (std::size_t j = 1; j < 3; ++j) gc.c.cut(0, j, "a dies");  // (not run: stepped below)
      auto b_is_master = [&] { return gc.g[1]->stats().takeovers > 0; };
      for (int guard = 0; guard < 100000 && !b_is_master(); ++guard) {
        gc.c.settle();
        if (b_is_master()) break;
        std::size_t moved = 0;
        for (std::size_t i = 1; i < 5; ++i) {
          for (std::size_t j = i + 1; j < 5; ++j) {
            moved += gc.c.link(i, j).hand_over(gc.c.way(i, j), 1);
            moved += gc.c.link(i, j).hand_over(gc.c.way(j, i), 1);
          }
        }
        if (moved == 0) gc.c.advance(1s);
      }
      REQUIRE(b_is_master());
      for (std::size_t j = 2; j < 5; ++j) gc.c.link(1, j).hand_over(gc.c.way(1, j), frames);
      gc.c.settle();
      isolate(gc, 1);
      // c, d and e elect a master among them, and the group goes on.
      for (int i = 0; i < 4; ++i) gc.c.advance(pg::detail::vote_time);
      CHECK(gc.g[2]->master("g").node() != "qf-b");
      send(8, 11);
      for (int i = 0; i < 3; ++i) gc.c.advance(pg::detail::vote_time);
      CHECK(rc.seen == expected(11));
      CHECK(gc.g[2]->stats().unconfirmed == 0);
    }
  }
}
