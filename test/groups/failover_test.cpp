// Process groups when a master's node fails: the standby takes over, a partition's heal
// fences the old master, and a master without a standby holds its releases back.
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "protocol.hpp"  // groups/src: confirm_delay
#include "support/group_cluster.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::string_literals;
namespace pg = coport::groups;

namespace {

bool prefix_of(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

/// Node b (1) of three dies: its links to a and c break, its groups and registry go.
void b_dies(group_cluster& gc) {
  gc.c.link(0, 1).break_link("b died");
  gc.c.link(1, 2).break_link("b died");
  gc.g[1].reset();
  gc.r[1].reset();
  gc.c.run();
}

/// Node b comes back as a new process with a registry and groups, linked to a.
void b_restarts(group_cluster& gc) {
  gc.c.restart(1);
  gc.r[1] = std::make_unique<registry>(gc.c[1]);
  gc.g[1] = std::make_unique<pg::service>(gc.c[1], *gc.r[1]);
  gc.c.run();
  // (restart linked b again before its groups existed: the standby comes with the next up.)
  gc.c.link(0, 1).break_link("again");
  gc.c.run();
  gc.c.connect(0, 1);
  gc.c.run();
}

}  // namespace

TEST_SUITE("groups.failover") {
  TEST_CASE("the master's node dies mid-stream: the standby takes over and the survivors agree") {
    group_cluster gc{{"fo-a", "fo-b", "fo-c", "fo-d"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"fo-b"}}));
    gc.c.run();
    std::vector<recorder> rec(3);
    std::vector<port_id> members;
    for (std::size_t i = 0; i < rec.size(); ++i) {
      members.push_back(member(gc.c[i + 1], rec[i]));
      join(gc, i + 1, "g", members.back());
    }
    // Two senders on c and d send in chunks while the cluster runs in a shuffled order.
    std::map<std::string, int> next;
    auto send_chunk = [&] {
      for (std::size_t i : {2, 3}) {
        std::string who = "s" + std::to_string(i);
        for (int k = 0; k < 10; ++k) {
          if (gc.g[i]->send("g", who, next[who]) == pg::errc::ok) ++next[who];
        }
      }
    };
    std::mt19937 rng{11};
    while (rec[0].seen.size() < 2000) {
      send_chunk();
      gc.shuffle_run(rng, 8, false);
    }
    // Whatever each survivor has now, one's sequence is a prefix of another's.
    for (std::size_t i = 1; i < rec.size(); ++i) {
      CHECK((prefix_of(rec[i].seen, rec[0].seen) || prefix_of(rec[0].seen, rec[i].seen)));
    }
    std::size_t before = rec[0].seen.size();
    MESSAGE("at the break: " << rec[0].seen.size() << " " << rec[1].seen.size() << " "
                             << rec[2].seen.size());
    // Node a dies with frames in flight; the senders go on while the standby takes over.
    for (std::size_t j = 1; j < 4; ++j) gc.c.link(0, j).break_link("node a died");
    for (int round = 0; round < 50; ++round) {
      send_chunk();
      gc.shuffle_run(rng, 2, false);
    }
    gc.c.run();
    CHECK(gc.g[1]->master("g").node() == "fo-b");
    CHECK(gc.g[2]->master("g").node() == "fo-b");
    // After the takeover nothing is lost.
    for (int round = 0; round < 50; ++round) {
      send_chunk();
      gc.shuffle_run(rng, 2, false);
    }
    gc.c.run();
    REQUIRE(rec[0].seen.size() > before);
    for (std::size_t i = 1; i < rec.size(); ++i) {
      INFO("member " << i);
      CHECK(rec[i].seen == rec[0].seen);
    }
    // Nothing twice, each sender's messages in order.
    std::map<std::string, int> last;
    for (const auto& s : rec[0].seen) {
      auto colon = s.find(':');
      std::string who = s.substr(0, colon);
      int k = std::stoi(s.substr(colon + 1));
      auto pos = last.find(who);
      if (pos != last.end()) CHECK(k > pos->second);
      last[who] = k;
    }
    // Nothing lost either: what the dead master had not released (or not even read) went
    // again to the standby that took over, which ordered each message once.
    std::map<std::string, int> times;  // each message: how many times member 0 got it
    for (const auto& m : rec[0].seen) ++times[m];
    for (const auto& [who, k] : next) {
      std::size_t missing = 0;
      for (int j = 0; j < k; ++j) {
        auto t = times.find(who + ":" + std::to_string(j));
        missing += t == times.end() || t->second != 1;
      }
      INFO(who << " sent " << k);
      CHECK(missing == 0);
    }
    gc.c.advance(pg::detail::confirm_delay);
    CHECK(gc.g[2]->stats().unconfirmed == 0);
    CHECK(gc.g[2]->stats().resent > 0);
    CHECK(gc.g[2]->stats().send_failed == 0);
  }

  TEST_CASE(
      "a partition isolates the master: the standby takes over, the heal fences the old master") {
    reason old_end;  // (before the cluster: its monitor may fire while the cluster ends)
    group_cluster gc{{"pt-a", "pt-b", "pt-c"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"pt-b"}}));
    gc.c.run();
    port_id old_master = gc.g[0]->master("g");
    std::vector<recorder> rec(3);
    std::vector<port_id> members;
    for (std::size_t i = 0; i < 3; ++i) {
      members.push_back(member(gc.c[i], rec[i]));
      join(gc, i, "g", members.back());
    }
    auto send_all = [&](int k) {
      for (std::size_t i = 0; i < 3; ++i) {
        (void)gc.g[i]->send("g", "s" + std::to_string(i), k);
      }
      gc.c.run();
    };
    for (int k = 0; k < 10; ++k) send_all(k);
    gc.c[0].mon(old_master, [&](const reason& why) { old_end = why; }).release();
    gc.c.link(0, 1).break_link("partition");
    gc.c.link(0, 2).break_link("partition");
    gc.c.run();
    CHECK(gc.g[1]->master("g").node() == "pt-b");
    for (int k = 10; k < 20; ++k) send_all(k);
    // The heal: the old master meets the new one and is fenced; its member is told.
    gc.c.connect(0, 1);
    gc.c.connect(0, 2);
    gc.c.run();
    CHECK(old_end.kind() == "fenced");
    CHECK(gc.g[0]->master("g").node() == "pt-b");
    REQUIRE(!rec[0].seen.empty());
    CHECK(rec[0].seen.back() == "-" + members[0].to_string() + " fenced");
    for (int k = 20; k < 25; ++k) send_all(k);
    CHECK(rec[1].seen == rec[2].seen);
    // The cut-off member got nothing the survivors did not get first: its master held its
    // releases back once its standby was gone.
    std::vector<std::string> cut_off(rec[0].seen.begin(), rec[0].seen.end() - 1);
    CHECK(cut_off.size() >= 30);
    CHECK(prefix_of(cut_off, rec[1].seen));
    CHECK(std::count(rec[1].seen.begin(), rec[1].seen.end(), "s0:24") == 1);
  }

  TEST_CASE(
      "a node whose standby took over and ended can hold a standby of a new group of that name") {
    group_cluster gc{{"re-a", "re-b", "re-c"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"re-b"}}));
    gc.c.run();
    recorder rc;
    port_id c = member(gc.c[2], rc);
    join(gc, 2, "g", c);
    // Node a goes; b's standby takes over (epoch 2); then that group ends.
    gc.c.link(0, 1).break_link("a died");
    gc.c.link(0, 2).break_link("a died");
    gc.c.run();
    port_id second = gc.g[1]->master("g");
    REQUIRE(second.node() == "re-b");
    gc.c[1].kil(second);
    gc.c.run();
    CHECK(gc.g[2]->master("g").is_null());
    // Node a comes back as a new process and makes the group again, standby on b.
    gc.g[0].reset();
    gc.r[0].reset();
    gc.c.restart(0);
    gc.r[0] = std::make_unique<registry>(gc.c[0]);
    gc.g[0] = std::make_unique<pg::service>(gc.c[0], *gc.r[0]);
    gc.c.run();
    auto made = gc.g[0]->create("g", {.standbys = {"re-b"}});
    REQUIRE(made);
    gc.c.run();
    CHECK(gc.g[2]->master("g") == made.master);  // alive: b did not refuse its standby
    recorder rc2;
    port_id c2 = member(gc.c[2], rc2);
    join(gc, 2, "g", c2);
    REQUIRE(gc.g[0]->send("g", "a"s, 1) == pg::errc::ok);
    gc.c.run();
    CHECK(rc2.seen == std::vector<std::string>{"a:1"});
  }

  TEST_CASE("a master whose only standby's node died holds releases back until a standby is back") {
    group_cluster gc{{"hb-a", "hb-b", "hb-c"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"hb-b"}}));
    gc.c.run();
    recorder rc;
    port_id c = member(gc.c[2], rc);
    join(gc, 2, "g", c);
    REQUIRE(gc.g[2]->send("g", "c"s, 0) == pg::errc::ok);
    gc.c.run();
    REQUIRE(rc.seen == std::vector<std::string>{"c:0"});
    // Node b dies and comes back as a new process (no standby there any more).
    b_dies(gc);
    for (int k = 1; k <= 3; ++k) REQUIRE(gc.g[2]->send("g", "c"s, k) == pg::errc::ok);
    gc.c.run();
    CHECK(rc.seen == std::vector<std::string>{"c:0"});  // ordered, not released
    b_restarts(gc);
    CHECK(rc.seen == std::vector<std::string>{"c:0", "c:1", "c:2", "c:3"});
    // And the new standby is a real one: the master's node dies, b takes over.
    gc.c.link(0, 1).break_link("a died");
    gc.c.link(0, 2).break_link("a died");
    gc.c.run();
    CHECK(gc.g[2]->master("g").node() == "hb-b");
    REQUIRE(gc.g[2]->send("g", "c"s, 4) == pg::errc::ok);
    gc.c.run();
    CHECK(rc.seen.back() == "c:4");
  }

  TEST_CASE(
      "a join is answered once the master released it: not while its releases are held back, "
      "and then with the members before it") {
    group_cluster gc{{"ja-a", "ja-b", "ja-c"}};
    REQUIRE(gc.g[0]->create("g", {.standbys = {"ja-b"}}));
    gc.c.run();
    recorder ra;
    port_id a = member(gc.c[0], ra);
    join(gc, 0, "g", a);
    // The standby's node dies: the master holds its releases back.
    b_dies(gc);
    std::optional<pg::join_result> answer;
    recorder rc;
    port_id c = member(gc.c[2], rc);
    REQUIRE(gc.g[2]->join("g", c, [&](pg::join_result r) { answer = std::move(r); }) ==
            pg::errc::ok);
    gc.c.run();
    // Numbered, not released: had the master's node died now, the next master might never
    // have had it; "ok" would have been a lie.
    CHECK_FALSE(answer.has_value());
    b_restarts(gc);
    REQUIRE(answer.has_value());
    CHECK(answer->error == pg::errc::ok);
    CHECK(answer->old_members == std::vector<port_id>{a});
    REQUIRE(gc.g[2]->send("g", "c"s, 1) == pg::errc::ok);
    gc.c.run();
    CHECK(rc.seen == std::vector<std::string>{"c:1"});
  }
}
