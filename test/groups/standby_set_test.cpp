// A group master's living standbys (groups/src/standby_set.cpp): what all of them or a
// majority of the homes holds, a fresh standby's first word, and who is behind.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "standby_set.hpp"  // groups/src

using namespace coport;
using coport::groups::detail::quorum;
using coport::groups::detail::standby_set;

TEST_SUITE("groups.standby_set") {
  TEST_CASE("the master releases what every standby holds, or what a majority of the homes holds") {
    standby_set s;
    const port_id a{"ss-a", 1}, b{"ss-b", 2};
    CHECK(s.empty());
    CHECK(s.held_by_all(9) == 9);
    s.add(a, monitor{}, 4);
    s.add(b, monitor{}, 6);
    CHECK(s.ports() == std::vector<port_id>{a, b});
    CHECK(s.on_node("ss-b"));
    CHECK_FALSE(s.on_node("ss-c"));
    CHECK(s.held_by_all(9) == 4);
    CHECK(s.held_by_majority(quorum{3}, 9) == 6);
    CHECK(s.held_by_majority(quorum{3}, 9) == 6);  // (the scratch starts again)
    CHECK(s.behind(5));
    CHECK_FALSE(s.behind(4));
    CHECK(s.remove(a));
    CHECK_FALSE(s.remove(a));
    CHECK(s.held_by_all(9) == 6);
  }

  TEST_CASE("a standby taken over counts for nothing until its first word, which is told once") {
    standby_set s;
    const port_id a{"ss-a", 1}, b{"ss-b", 2};
    s.add(a, monitor{}, 0, true);
    s.add(b, monitor{}, 0, true);
    CHECK(s.held_by_majority(quorum{3}, 5) == 0);
    CHECK(s.behind(0));
    std::vector<bool> firsts;
    s.ack(a, 5, [&](bool first) { firsts.push_back(first); });
    s.ack(a, 3, [&](bool first) { firsts.push_back(first); });
    s.ack(port_id{"ss-c", 3}, 5, [&](bool first) { firsts.push_back(first); });
    CHECK(firsts == std::vector<bool>{true, false});
    CHECK(s.held_by_majority(quorum{3}, 5) == 5);
    CHECK(s.held_by_all(9) == 0);
    CHECK(s.behind(5));  // b is still fresh
  }
}
