// Process groups on deterministic nodes joined by in-memory links: the API, total order
// under shuffled scheduling, view synchrony, causal order with a delayed link, and messages
// that break the protocol (master failover: failover_test.cpp; what a hostile peer can make
// a master or agent hold: hostile_test.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/detail/interner.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "protocol.hpp"  // groups/src: forged items
#include "support/group_cluster.hpp"
#include "support/log_capture.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::string_literals;
using namespace std::chrono_literals;
namespace pg = coport::groups;

TEST_SUITE("groups.groups") {
  TEST_CASE("a group is created once, found on every node, and a send to no group is an error") {
    group_cluster gc{{"pg-a", "pg-b"}};
    auto made = gc.g[0]->create("g");
    REQUIRE(made);
    gc.c.run();
    CHECK(gc.g[1]->master("g") == made.master);
    auto again = gc.g[1]->create("g");
    CHECK(again.error == pg::errc::already_created);
    CHECK(again.master == made.master);
    CHECK(gc.g[1]->send("", "x"s, 1) == pg::errc::bad_argument);
    CHECK(gc.g[1]->create(std::string(300, 'x')).error == pg::errc::bad_argument);
    CHECK(gc.g[0]->esend("g", "x"s, 1) == pg::errc::not_in_port);
    // A group message goes to many members: values that cannot be copied are refused.
    CHECK(gc.g[0]->send("g", std::make_unique<int>(1)) == pg::errc::bad_argument);
  }

  TEST_CASE("members receive pg_message with the sender and the group, esend skips the sender") {
    group_cluster gc{{"msg-a", "msg-b", "msg-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder ra, rb, rc;
    port_id a = member(gc.c[0], ra), b = member(gc.c[1], rb), c = member(gc.c[2], rc);
    CHECK(join(gc, 1, "g", b).empty());
    CHECK(join(gc, 2, "g", c) == std::vector<port_id>{b});
    CHECK(join(gc, 0, "g", a) == std::vector<port_id>{b, c});

    std::optional<pg::join_result> twice;
    REQUIRE(gc.g[0]->join("g", a, [&](pg::join_result r) { twice = std::move(r); }) ==
            pg::errc::ok);
    gc.c.run();
    REQUIRE(twice);
    CHECK(twice->error == pg::errc::already_member);

    std::vector<port_id> all;
    REQUIRE(gc.g[2]->members("g", [&](std::vector<port_id> m) { all = std::move(m); }) ==
            pg::errc::ok);
    gc.c.run();
    CHECK(all == std::vector<port_id>{b, c, a});

    // The whole delivered message, as a default handler sees it.
    port_id raw_member = gc.c[1].port();
    std::vector<std::string> raw;
    gc.c[1].rcv_default(raw_member, [&](message& m) {
      REQUIRE(m.tag() == pg::message_tag());
      auto& [from, name, text, k] = m.as<port_id, std::string, std::string, int>();
      raw.push_back(from.to_string() + " " + name + " " + text + " " + std::to_string(k));
    });
    join(gc, 1, "g", raw_member);
    gc.c[1].peval(b, [&] { CHECK(gc.g[1]->send("g", "hello"s, 0) == pg::errc::ok); });
    gc.c.run();
    CHECK(raw == std::vector<std::string>{b.to_string() + " g hello 0"});
    CHECK(ra.seen == std::vector<std::string>{"hello:0"});
    ra.seen.clear();
    rb.seen.clear();
    rc.seen.clear();

    const auto delivered_a = gc.g[0]->stats().delivered, delivered_b = gc.g[1]->stats().delivered;
    gc.c[1].peval(b, [&] { CHECK(gc.g[1]->esend("g", "b"s, 1) == pg::errc::ok); });
    gc.c.run();
    CHECK(ra.seen == std::vector<std::string>{"b:1"});
    CHECK(rb.seen.empty());
    CHECK(rc.seen == std::vector<std::string>{"b:1"});
    // Counted once per member handed the message (b's node: raw_member only; esend skips b).
    CHECK(gc.g[0]->stats().delivered == delivered_a + 1);
    CHECK(gc.g[1]->stats().delivered == delivered_b + 1);
    auto roles = gc.g[0]->stats().epochs;
    REQUIRE(roles.size() == 1);
    CHECK(roles[0].first == "g");
    CHECK(gc.g[1]->stats().epochs.empty());
  }

  TEST_CASE("four senders on three nodes, eight members: every member delivers the same sequence") {
    group_cluster gc{{"tot-a", "tot-b", "tot-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    constexpr int senders = 4, per_sender = 10'000, chunk = 50;
    std::vector<recorder> rec(8);
    std::vector<port_id> members;
    for (std::size_t i = 0; i < rec.size(); ++i) {
      std::size_t on = i % 3;
      members.push_back(member(gc.c[on], rec[i]));
      join(gc, on, "g", members.back());
    }
    // Sender s on node s % 3 sends `chunk` messages a turn, then lets others run.
    const std::size_t sender_node[senders] = {0, 1, 2, 1};
    std::vector<port_id> sender_ports;
    for (int s = 0; s < senders; ++s) {
      node& n = gc.c[sender_node[s]];
      pg::service& groups = *gc.g[sender_node[s]];
      port_id p = n.port();
      auto next = std::make_shared<int>(0);
      std::string who = "s" + std::to_string(s);
      n.rcv(p, "go", [&n, &groups, p, next, who] {
        for (int k = 0; k < chunk && *next < per_sender; ++k) {
          REQUIRE(groups.send("g", who, (*next)++) == pg::errc::ok);
        }
        if (*next < per_sender) n.snd(p, "go");
      });
      sender_ports.push_back(p);
    }
    for (int s = 0; s < senders; ++s) gc.c[sender_node[s]].snd(sender_ports[s], "go");
    std::mt19937 rng{20261130};
    gc.shuffle_run(rng);

    REQUIRE(rec[0].seen.size() == senders * per_sender);
    for (std::size_t i = 1; i < rec.size(); ++i) {
      INFO("member " << i);
      CHECK(rec[i].seen == rec[0].seen);
    }
    // Each sender's messages in the order it sent them.
    std::vector<int> next(senders, 0);
    for (const auto& s : rec[0].seen) {
      int who = s[1] - '0';
      REQUIRE(s == "s" + std::to_string(who) + ":" + std::to_string(next[who]));
      ++next[who];
    }
    // Interleaved, not one sender after another.
    std::size_t switches = 0;
    for (std::size_t i = 1; i < rec[0].seen.size(); ++i) {
      if (rec[0].seen[i].substr(0, 2) != rec[0].seen[i - 1].substr(0, 2)) ++switches;
    }
    MESSAGE("sender switches in the sequence: " << switches);
    CHECK(switches > 100);
  }

  TEST_CASE("a member receives exactly the messages ordered between its join and its leave") {
    group_cluster gc{{"vs-a", "vs-b", "vs-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder full, late, leaver;
    port_id f = member(gc.c[0], full);
    port_id l = member(gc.c[1], late);
    port_id x = member(gc.c[2], leaver);
    join(gc, 0, "g", f, {.notify = true});
    join(gc, 2, "g", x);
    std::vector<port_id> senders;
    for (std::size_t i = 0; i < 3; ++i) {
      node& n = gc.c[i];
      pg::service& groups = *gc.g[i];
      port_id p = n.port();
      auto next = std::make_shared<int>(0);
      std::string who = "s" + std::to_string(i);
      n.rcv(p, "go", [&n, &groups, &gc, p, next, who, l, x] {
        for (int k = 0; k < 20 && *next < 3000; ++k) {
          if (who == "s1" && *next == 1000) REQUIRE(gc.g[1]->join("g", l) == pg::errc::ok);
          if (who == "s2" && *next == 2000) REQUIRE(gc.g[2]->leave("g", x) == pg::errc::ok);
          REQUIRE(groups.send("g", who, (*next)++) == pg::errc::ok);
        }
        if (*next < 3000) n.snd(p, "go");
      });
      senders.push_back(p);
    }
    for (std::size_t i = 0; i < 3; ++i) gc.c[i].snd(senders[i], "go");
    std::mt19937 rng{7};
    gc.shuffle_run(rng);

    auto at = [&](const std::string& notice) {
      auto pos = std::find(full.seen.begin(), full.seen.end(), notice);
      REQUIRE(pos != full.seen.end());
      return pos;
    };
    auto joined = at("+" + l.to_string());
    auto left = at("-" + x.to_string() + " normal");
    CHECK(joined < left);
    std::vector<std::string> after_join, before_leave;
    for (auto i = joined + 1; i != full.seen.end(); ++i) after_join.push_back(*i);
    for (auto i = full.seen.begin(); i != left; ++i) {
      if (i->front() != '+') before_leave.push_back(*i);
    }
    std::erase_if(after_join, [](const std::string& s) { return s.front() == '-'; });
    CHECK(full.seen.size() == 9000 + 3);  // and +x, +l, -x
    CHECK(late.seen == after_join);
    CHECK(leaver.seen == before_leave);
    CHECK(!late.seen.empty());
    CHECK(!leaver.seen.empty());
  }

  TEST_CASE("members that asked are told of joins and of leaves with the reason, in the stream") {
    group_cluster gc{{"ntf-a", "ntf-b"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder watcher, quiet;
    port_id w = member(gc.c[0], watcher);
    port_id q = member(gc.c[0], quiet);
    join(gc, 0, "g", w, {.notify = true});
    join(gc, 0, "g", q);
    recorder other;
    port_id o = member(gc.c[1], other);
    join(gc, 1, "g", o);
    REQUIRE(gc.g[0]->send("g", "x"s, 1) == pg::errc::ok);
    gc.c.run();
    gc.c[1].kil(o, "crashed");
    gc.c.run();
    REQUIRE(gc.g[0]->send("g", "x"s, 2) == pg::errc::ok);
    gc.c.run();
    CHECK(watcher.seen == std::vector<std::string>{"+" + q.to_string(), "+" + o.to_string(), "x:1",
                                                   "-" + o.to_string() + " crashed", "x:2"});
    CHECK(quiet.seen == std::vector<std::string>{"x:1", "x:2"});
  }

  TEST_CASE(
      "a causal group delivers m1 before m2 when m2, sent after m1 was delivered, comes first") {
    group_cluster gc{{"cb-a", "cb-b", "cb-c"}};
    REQUIRE(gc.g[0]->create("g", {.order = pg::ordering::causal, .standbys = {}}));
    gc.c.run();
    recorder ra, rb, rc;
    port_id a = member(gc.c[0], ra);
    port_id b = gc.c[1].port();
    port_id c = member(gc.c[2], rc);
    // b answers m1 with m2.
    gc.c[1].rcv(b, pg::message_tag(), [&](port_id, std::string, std::string who, int k) {
      rb.seen.push_back(who + ":" + std::to_string(k));
      if (who == "a") REQUIRE(gc.g[1]->send("g", "b"s, k) == pg::errc::ok);
    });
    join(gc, 0, "g", a);
    join(gc, 1, "g", b);
    join(gc, 2, "g", c);
    gc.c.run();

    gc.c[0].peval(a, [&] { REQUIRE(gc.g[0]->send("g", "a"s, 1) == pg::errc::ok); });
    // m1 reaches b (and a) but waits on the link a -> c; m2 goes b -> c first.
    gc.c.settle();
    gc.c.link(0, 1).hand_over_all();
    gc.c.settle();
    while (gc.c.link(1, 2).hand_over(gc.c.way(1, 2), 1) > 0) gc.c.settle();
    CHECK(rb.seen == std::vector<std::string>{"a:1", "b:1"});  // b has its own m2 too
    CHECK(rc.seen.empty());                                    // m2 arrived and is held
    gc.c.run();
    CHECK(rc.seen == std::vector<std::string>{"a:1", "b:1"});
    CHECK(ra.seen == std::vector<std::string>{"a:1", "b:1"});
    CHECK(gc.g[2]->esend("g", "c"s, 1) == pg::errc::not_in_port);
  }

  TEST_CASE("messages that break the groups protocol are ignored and the group lives on") {
    group_cluster gc{{"bad-a", "bad-b"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder ra;
    port_id a = member(gc.c[0], ra);
    join(gc, 0, "g", a);
    port_id master = gc.g[1]->master("g");
    port_id agent_a{"bad-a", 0};
    {
      log_capture log;
      // Wrong types for every kind, to the master and (through the node port) to the agent.
      gc.c[1].snd(master, "pg.send", 1, 2);
      gc.c[1].snd(master, "pg.join", "me"s);
      gc.c[1].snd(master, "pg.ack", 1);
      gc.c[1].snd(master, "pg.unknown");
      gc.c[1].snd(agent_a, "pg.deliver", "g"s, 1);
      gc.c[1].snd(agent_a, "pg.sync", "g"s);
      gc.c[1].snd(agent_a, "pg.cdeliver", "g"s, 1, 2);
      // Well-typed but not what the agent can use: an unknown kind of order, a group it
      // does not follow.
      pg::detail::item it;
      it.seq = 1;
      gc.c[1].snd(agent_a, "pg.deliver", "g"s, std::uint64_t{1}, master, std::uint8_t{7}, it);
      gc.c[1].snd(agent_a, "pg.deliver", "nosuch"s, std::uint64_t{1}, master, std::uint8_t{0}, it);
      gc.c[1].snd(agent_a, "pg.lost", "nosuch"s, std::uint64_t{1}, std::uint64_t{1});
      gc.c.run();
      // Logged, at most once a second per port, with a count (not one line per message).
      CHECK(log.text().find("the groups protocol") != std::string::npos);
      CHECK(log.text().find("refused since the last such line") != std::string::npos);
    }
    REQUIRE(gc.g[1]->send("g", "b"s, 1) == pg::errc::ok);
    gc.c.run();
    CHECK(ra.seen == std::vector<std::string>{"b:1"});
    CHECK(gc.g[1]->master("g") == master);
  }

  TEST_CASE(
      "an item past a gap is held and the missing ones are asked for, stale epochs are dropped") {
    group_cluster gc{{"gap-a", "gap-b"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    join(gc, 1, "g", b);
    for (int k = 0; k < 3; ++k) REQUIRE(gc.g[0]->send("g", "a"s, k) == pg::errc::ok);
    gc.c.run();
    REQUIRE(rb.seen.size() == 3);
    // Forged items from node a's side: seq 10 (a gap), then an old epoch.
    port_id master = gc.g[0]->master("g");
    auto forged = [&](std::uint64_t epoch, std::uint64_t seq, int k) {
      pg::detail::item it;
      it.seq = seq;
      it.port = master;
      it.payload = envelope{message::make(pg::message_tag(), port_id{}, "g"s, "forged"s, k)};
      gc.c[0].snd(port_id{"gap-b", 0}, "pg.deliver", "g"s, epoch, master, std::uint8_t{0}, it);
    };
    forged(1, 10, 10);
    gc.c.run();
    CHECK(rb.seen.size() == 3);  // held: 5..9 never come (the master has no such items)
    forged(0, 5, 5);             // an epoch older than the agent's: dropped
    gc.c.run();
    CHECK(rb.seen.size() == 3);
    // The real stream goes on from 5 (items 1-4 were the join and three messages).
    REQUIRE(gc.g[0]->send("g", "a"s, 3) == pg::errc::ok);
    gc.c.run();
    CHECK(rb.seen.back() == "a:3");
  }

  TEST_CASE("a group made on another node is usable at once here, and forgotten when it ends") {
    group_cluster gc{{"far-a", "far-b"}};
    auto made = gc.g[0]->create("g", "far-b");
    REQUIRE(made);
    CHECK(made.master.node() == "far-b");
    recorder ra;
    port_id a = member(gc.c[0], ra);
    // Before the registry brought the master's entry: this node remembers what it made.
    CHECK(gc.g[0]->master("g") == made.master);
    join(gc, 0, "g", a);
    REQUIRE(gc.g[0]->send("g", "a"s, 1) == pg::errc::ok);
    gc.c.run();
    CHECK(ra.seen == std::vector<std::string>{"a:1"});
    gc.c[1].kil(made.master);
    gc.c.run();
    CHECK(gc.g[0]->master("g").is_null());
    // It waits for a master that does not come, then fails.
    CHECK(gc.g[0]->send("g", "a"s, 2) == pg::errc::ok);
    gc.c.run();  // the wait's timer starts (in the agent's port)
    gc.c.advance(6s);
    CHECK(gc.g[0]->stats().wait_failed == 1);
    CHECK(ra.seen.back() == "-" + a.to_string() + " group_ended");
    CHECK(gc.g[0]->create("g", "nobody here").error == pg::errc::bad_argument);
  }

  TEST_CASE(
      "two nodes that create one group at once end with one master, the other is already_created") {
    // (Declared before the cluster: the monitors may fire while it shuts down.)
    reason end_a, end_b;
    bool ended_a = false, ended_b = false;
    group_cluster gc{{"race-a", "race-b"}};
    auto on_a = gc.g[0]->create("g");
    auto on_b = gc.g[1]->create("g");  // before either registry heard of the other
    REQUIRE(on_a);
    REQUIRE(on_b);
    gc.c[0].mon(on_a.master, [&](const reason& why) { end_a = why, ended_a = true; }).release();
    gc.c[1].mon(on_b.master, [&](const reason& why) { end_b = why, ended_b = true; }).release();
    gc.c.run();
    REQUIRE(ended_a != ended_b);  // exactly one of them ended
    CHECK((ended_a ? end_a : end_b).kind() == "already_created");
    port_id winner = ended_a ? on_b.master : on_a.master;
    CHECK(gc.g[0]->master("g") == winner);
    CHECK(gc.g[1]->master("g") == winner);
  }

  TEST_CASE(
      "ordered items forged by a node that is not the master's are ignored, the group goes on") {
    group_cluster gc{{"fg-a", "fg-b", "fg-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    join(gc, 1, "g", b);
    std::uint64_t next_seq = 2;  // the join was item 1
    auto real = [&](int k) {
      REQUIRE(gc.g[0]->send("g", "a"s, k) == pg::errc::ok);
      gc.c.run();
      ++next_seq;
    };
    real(1);
    REQUIRE(rb.seen == std::vector<std::string>{"a:1"});
    const port_id master = gc.g[0]->master("g");
    const port_id agent_b{"fg-b", 0};
    log_capture log;
    // c puts a line into b's transcript: the next item in sequence, as from the master.
    pg::detail::item it;
    it.seq = next_seq;
    it.port = master;
    it.payload = envelope{message::make(pg::message_tag(), port_id{}, "g"s, "forged"s, 99)};
    gc.c[2].snd(agent_b, "pg.deliver", "g"s, std::uint64_t{1}, master, std::uint8_t{0}, it);
    gc.c.run();
    real(2);
    CHECK(rb.seen == std::vector<std::string>{"a:1", "a:2"});
    // c evicts b's members: an item "lost" in the master's history.
    gc.c[2].snd(agent_b, "pg.lost", "g"s, std::uint64_t{1}, std::uint64_t{1});
    gc.c.run();
    real(3);
    CHECK(rb.seen == std::vector<std::string>{"a:1", "a:2", "a:3"});
    // c moves b's agent to epoch 2^40 of the real master, then to a master of its own.
    const std::uint64_t far = std::uint64_t{1} << 40;
    gc.c[2].snd(agent_b, "pg.sync", "g"s, far, master, std::uint8_t{0}, std::uint64_t{0});
    gc.c.run();
    real(4);
    port_id fake = gc.c[2].port([](message&) {});
    gc.c[2].snd(agent_b, "pg.sync", "g"s, far, fake, std::uint8_t{0}, std::uint64_t{0});
    it.seq = next_seq;
    it.port = fake;
    gc.c[2].snd(agent_b, "pg.deliver", "g"s, far, fake, std::uint8_t{0}, it);
    gc.c.run();
    real(5);
    CHECK(rb.seen == std::vector<std::string>{"a:1", "a:2", "a:3", "a:4", "a:5"});
    // Even registered under the group's name, a master of c's may not jump to epoch 2^40.
    auto fake_entry = gc.r[2]->reg(pg::detail::registry_name("g"), fake);
    gc.c.run();
    REQUIRE(gc.r[1]->get(pg::detail::registry_name("g")).size() == 2);
    gc.c[2].snd(agent_b, "pg.sync", "g"s, far, fake, std::uint8_t{0}, std::uint64_t{0});
    gc.c[2].snd(agent_b, "pg.deliver", "g"s, far, fake, std::uint8_t{0}, it);
    gc.c.run();
    fake_entry.cancel();
    gc.c.run();
    real(6);
    CHECK(rb.seen == std::vector<std::string>{"a:1", "a:2", "a:3", "a:4", "a:5", "a:6"});
    CHECK(log.text().find("fg-c") != std::string::npos);  // the refusals name the sender
  }

  TEST_CASE("a causal message forged for another node's member is ignored") {
    group_cluster gc{{"fc-a", "fc-b", "fc-c"}};
    REQUIRE(gc.g[0]->create("g", {.order = pg::ordering::causal, .standbys = {}}));
    gc.c.run();
    recorder ra, rb;
    port_id a = member(gc.c[0], ra);
    port_id b = member(gc.c[1], rb);
    join(gc, 0, "g", a);
    join(gc, 1, "g", b);
    for (std::uint64_t view = 0; view < 4; ++view) {
      auto e = envelope{message::make(pg::message_tag(), a, "g"s, "forged"s, 1)};
      gc.c[2].snd(port_id{"fc-b", 0}, "pg.cdeliver", "g"s, view, pg::detail::stamp{{a, 1}}, a,
                  false, e);
    }
    gc.c.run();
    CHECK(rb.seen.empty());
    gc.c[0].peval(a, [&] { REQUIRE(gc.g[0]->send("g", "a"s, 1) == pg::errc::ok); });
    gc.c.run();
    CHECK(rb.seen == std::vector<std::string>{"a:1"});
  }

  TEST_CASE("node IDs in pg.resend and pg.synced are not interned: the master answers the link") {
    group_cluster gc{{"ri-a", "ri-b"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    join(gc, 1, "g", b);
    REQUIRE(gc.g[0]->send("g", "a"s, 1) == pg::errc::ok);
    gc.c.run();
    const port_id master = gc.g[1]->master("g");
    for (int i = 0; i < 2000; ++i) {
      auto id = "ri-x" + std::to_string(i);
      gc.c[1].snd(master, i % 2 ? "pg.resend" : "pg.synced", std::uint64_t{1}, std::uint64_t{0},
                  id);
    }
    gc.c.run();
    std::size_t interned = 0;
    for (int i = 0; i < 2000; ++i) {
      interned += coport::detail::node_names().find("ri-x" + std::to_string(i)) != 0;
    }
    CHECK(interned == 0);
    // b's agent was sent what it asked for (it had it: nothing twice), and goes on.
    REQUIRE(gc.g[0]->send("g", "a"s, 2) == pg::errc::ok);
    gc.c.run();
    CHECK(rb.seen == std::vector<std::string>{"a:1", "a:2"});
  }

  TEST_CASE("leave of a port that is no member is not_a_member: never joined, left, or dead") {
    group_cluster gc{{"nm-a", "nm-b"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::not_a_member);
    join(gc, 1, "g", b);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::ok);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::not_a_member);
    gc.c.run();
    // A join asked for counts at once: its leave is ordered after it.
    REQUIRE(gc.g[1]->join("g", b) == pg::errc::ok);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::ok);
    gc.c.run();
    std::optional<std::vector<port_id>> members;
    REQUIRE(gc.g[1]->members("g", [&](std::vector<port_id> m) { members = std::move(m); }) ==
            pg::errc::ok);
    gc.c.run();
    CHECK(members == std::vector<port_id>{});
    // A member that died left by itself.
    join(gc, 1, "g", b);
    gc.c[1].kil(b, "crashed");
    gc.c.run();
    CHECK(gc.g[1]->leave("g", b) == pg::errc::not_a_member);
  }

  TEST_CASE("a join whose master died before ordering it is no membership: leave is not_a_member") {
    group_cluster gc{{"nj-a", "nj-b", "nj-c"}};
    REQUIRE(gc.g[0]->create("g", {.order = pg::ordering::total, .standbys = {"nj-c"}}));
    gc.c.run();
    port_id old_master = gc.g[1]->master("g");
    recorder rb;
    port_id b = member(gc.c[1], rb);
    REQUIRE(gc.g[1]->join("g", b) == pg::errc::ok);  // on its way to the master
    gc.c[0].kil(old_master, "crashed");
    gc.c.run();
    port_id successor = gc.g[1]->master("g");
    REQUIRE(successor);
    REQUIRE(successor != old_master);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::not_a_member);
    // Joined again through the successor, it is a member.
    join(gc, 1, "g", b);
    CHECK(gc.g[1]->leave("g", b) == pg::errc::ok);
  }

  TEST_CASE("a send to a causal group from a node without members reaches every member") {
    group_cluster gc{{"cn-a", "cn-b", "cn-c"}};
    REQUIRE(gc.g[0]->create("g", {.order = pg::ordering::causal, .standbys = {}}));
    gc.c.run();
    recorder ra, rb;
    port_id a = member(gc.c[0], ra), b = member(gc.c[1], rb);
    join(gc, 0, "g", a);
    join(gc, 1, "g", b);
    port_id outsider = gc.c[2].port();
    gc.c[2].peval(outsider, [&] { CHECK(gc.g[2]->send("g", "c"s, 1) == pg::errc::ok); });
    gc.c.run();
    CHECK(ra.seen == std::vector<std::string>{"c:1"});
    CHECK(rb.seen == std::vector<std::string>{"c:1"});
  }

  TEST_CASE("a join or leave of another node's port is refused, the member stays") {
    group_cluster gc{{"jl-a", "jl-b", "jl-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    join(gc, 1, "g", b);
    port_id master = gc.g[2]->master("g");
    port_id a = gc.c[0].port([](message&) {});
    CHECK(gc.g[2]->leave("g", b) == pg::errc::bad_argument);
    CHECK(gc.g[2]->join("g", a) == pg::errc::bad_argument);
    // What a peer can send anyway: c asks the master to remove b and to add a's port.
    gc.c[2].snd(master, "pg.leave", b);
    std::optional<pg::errc> joined;
    gc.c[2].cal(master, "pg.join", a, false, [&](reply r) {
      if (r && r->is<std::uint8_t, std::vector<port_id>>()) {
        joined = static_cast<pg::errc>(r->get<std::uint8_t>(0));
      }
    });
    gc.c.run();
    CHECK(joined == pg::errc::bad_argument);
    std::optional<std::vector<port_id>> members;
    REQUIRE(gc.g[1]->members("g", [&](std::vector<port_id> m) { members = std::move(m); }) ==
            pg::errc::ok);
    gc.c.run();
    CHECK(members == std::vector<port_id>{b});
  }

  TEST_CASE("a peer cannot tell a master that a member died: only the master's monitor can") {
    group_cluster gc{{"md-a", "md-b", "md-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb;
    port_id b = member(gc.c[1], rb);
    join(gc, 1, "g", b);
    port_id master = gc.g[2]->master("g");
    // What this node's monitor would send, forged by c (and by b's own node for its member).
    gc.c[2].snd(master, "pg.member_died", b, reason{"die", "forged"});
    gc.c[1].snd(master, "pg.member_died", b, reason{"die", "forged"});
    gc.c.run();
    std::optional<std::vector<port_id>> members;
    REQUIRE(gc.g[1]->members("g", [&](std::vector<port_id> m) { members = std::move(m); }) ==
            pg::errc::ok);
    gc.c.run();
    CHECK(members == std::vector<port_id>{b});
    // The real monitor still works: b dies, and b leaves.
    gc.c[1].kil(b, "die", "real");
    gc.c.run();
    members.reset();
    REQUIRE(gc.g[2]->members("g", [&](std::vector<port_id> m) { members = std::move(m); }) ==
            pg::errc::ok);
    gc.c.run();
    CHECK(members == std::vector<port_id>{});
  }
}
