// Groups made on another node: what one node may make another keep on its behalf.
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <string>
#include <vector>

#include "support/group_cluster.hpp"

using namespace coport;
using namespace coport::test;

namespace {

/// Whether `p` lives on `n` (a monitor of a port that is not there fires at once).
bool alive(group_cluster& gc, node& n, const port_id& p) {
  bool fired = false;
  auto guard = n.mon(p, [&](const reason&) { fired = true; });
  gc.c.run();
  return !fired;
}

}  // namespace

TEST_SUITE("groups.remote_create") {
  TEST_CASE(
      "one node keeps at most max_roles_per_peer masters made by another node alive: the next "
      "dies with spawn_failed, the node's own and the other nodes' creates still work") {
    group_cluster gc{{"rc-a", "rc-b", "rc-c"}};
    const std::size_t bound = groups::service::max_roles_per_peer;
    std::vector<port_id> masters;
    for (std::size_t i = 0; i < bound; ++i) {
      auto made = gc.g[0]->create("a" + std::to_string(i), "rc-b");
      REQUIRE(made);
      masters.push_back(made.master);
    }
    gc.c.run();
    std::vector<std::string> deaths;
    auto extra = gc.g[0]->create("a-extra", "rc-b");
    REQUIRE(extra);  // minted here: the refusal comes as the port's death
    auto watch =
        gc.c[0].mon(extra.master, [&](const reason& why) { deaths.push_back(why.to_string()); });
    gc.c.run();
    REQUIRE(deaths.size() == 1);
    CHECK(deaths[0].find("spawn_failed") != std::string::npos);
    CHECK(deaths[0].find(std::to_string(bound) + " ports of init") != std::string::npos);
    // The first ones live; b's own groups and c's on b are not held by a's bound.
    std::size_t living = 0;
    for (const auto& m : masters) living += ::alive(gc, gc.c[1], m) ? 1 : 0;
    CHECK(living == bound);
    CHECK(gc.g[1]->create("b-own"));
    auto from_c = gc.g[2]->create("c0", "rc-b");
    REQUIRE(from_c);
    gc.c.run();
    CHECK(::alive(gc, gc.c[1], from_c.master));
    // A master that ends gives a's place back.
    gc.c[1].kil(masters[0]);
    gc.c.run();
    auto again = gc.g[0]->create("a-again", "rc-b");
    REQUIRE(again);
    gc.c.run();
    CHECK(::alive(gc, gc.c[1], again.master));
  }
}
