// A node's group sends until a master confirms them (groups/src/outbox.cpp, senders.cpp):
// confirmed and forgotten, sent again to the next master after a failover and ordered
// once, reported to the sender when no master confirms them in time, and bounded.
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/groups/groups.hpp>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "protocol.hpp"  // groups/src: forged sends
#include "support/group_cluster.hpp"
#include "support/log_capture.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::string_literals;
using namespace std::chrono_literals;
namespace pg = coport::groups;

namespace {

/// Each "who:k" of `seen` once, and each sender's in order.
void check_once_in_order(const std::vector<std::string>& seen) {
  std::map<std::string, int> last;
  for (const auto& s : seen) {
    auto colon = s.find(':');
    if (colon == std::string::npos) continue;  // a notice
    std::string who = s.substr(0, colon);
    int k = std::stoi(s.substr(colon + 1));
    auto pos = last.find(who);
    if (pos != last.end()) {
      INFO(who << " " << k << " after " << pos->second);
      CHECK(k > pos->second);
    }
    last[who] = k;
  }
}

}  // namespace

TEST_SUITE("groups.outbox") {
  TEST_CASE("sends are confirmed by the master and no longer kept, with or without standbys") {
    for (bool standby : {false, true}) {
      INFO("standby " << standby);
      group_cluster gc{{"ob-a", "ob-b", "ob-c"}};
      pg::group_options o;
      if (standby) o.standbys = {"ob-b"};
      REQUIRE(gc.g[0]->create("g", o));
      gc.c.run();
      recorder rec;
      join(gc, 2, "g", member(gc.c[2], rec));
      for (int k = 0; k < 100; ++k) {
        REQUIRE(gc.g[1]->send("g", "b"s, k) == pg::errc::ok);
        REQUIRE(gc.g[0]->send("g", "a"s, k) == pg::errc::ok);
      }
      CHECK(gc.g[1]->stats().unconfirmed > 0);
      gc.c.run();
      CHECK(rec.seen.size() == 200);
      CHECK(gc.g[1]->stats().unconfirmed == 0);
      CHECK(gc.g[0]->stats().unconfirmed == 0);
      CHECK(gc.g[1]->stats().resent == 0);
    }
  }
}
