// The name registry on deterministic nodes joined by in-memory links: replicas, monitors,
// removal on death, unregistration and node loss, and convergence after a healed partition.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <coport/registry.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/cluster.hpp"
#include "support/log_capture.hpp"
#include "support/nodes.hpp"

using namespace coport;
using namespace coport::test;
using coport::registry;
using coport::registry_event;

namespace {

/// A cluster whose every node runs a registry.
struct named_cluster {
  cluster c;
  std::vector<std::unique_ptr<registry>> r;
  explicit named_cluster(std::vector<std::string> ids) : c{std::move(ids)} {
    for (std::size_t i = 0; i < c.size(); ++i) r.push_back(std::make_unique<registry>(c[i]));
    c.run();
  }
  ~named_cluster() { r.clear(); }
  /// Every replica's ports under `name`.
  std::vector<std::vector<port_id>> everywhere(const std::string& name) {
    std::vector<std::vector<port_id>> out;
    for (auto& x : r) out.push_back(x->get(name));
    return out;
  }
};

std::vector<port_id> sorted(std::vector<port_id> v) {
  std::sort(v.begin(), v.end(), coport::port_order{});
  return v;
}

}  // namespace

TEST_SUITE("groups.registry") {
  TEST_CASE("a registration is visible at once on its node, on every node after the update") {
    named_cluster n{{"reg-a", "reg-b", "reg-c"}};
    auto p = n.c[0].port([](message&) {});
    auto guard = n.r[0]->reg("workers", p);
    CHECK(n.r[0]->get("workers") == std::vector<port_id>{p});
    CHECK(n.r[1]->get("workers").empty());  // no round trip has happened yet
    n.c.run();
    for (auto& ports : n.everywhere("workers")) CHECK(ports == std::vector<port_id>{p});
    CHECK(n.r[2]->names() == std::vector<std::string>{"workers"});
    guard.cancel();
    CHECK(n.r[0]->get("workers").empty());
    n.c.run();
    for (auto& ports : n.everywhere("workers")) CHECK(ports.empty());
  }

  TEST_CASE("stats count names, entries, their nodes and the updates applied to a replica") {
    named_cluster n{{"regs-a", "regs-b"}};
    auto base = n.r[1]->stats();
    auto p = n.c[0].port([](message&) {});
    auto q = n.c[1].port([](message&) {});
    auto g1 = n.r[0]->reg("w", p);
    auto g2 = n.r[0]->reg("v", p);
    auto g3 = n.r[1]->reg("w", q);
    auto watching = n.r[1]->mon("w", [](const registry_event&) {});  // not an update
    n.c.run();
    auto s = n.r[1]->stats();
    CHECK(s.names == base.names + 2);
    CHECK(s.entries == base.entries + 3);
    CHECK(s.nodes == 2);
    CHECK(s.updates == base.updates + 3);
    g1.cancel();
    n.c.run();
    s = n.r[1]->stats();
    CHECK(s.entries == base.entries + 2);
    CHECK(s.names == base.names + 2);  // "w" still holds q
    CHECK(s.updates == base.updates + 4);
  }

  TEST_CASE("has_entries_of says a linked node's snapshot arrived and forgets it with the link") {
    named_cluster n{{"hes-a", "hes-b"}};
    CHECK(n.r[1]->has_entries_of("hes-a"));  // the link came up: each sent its snapshot
    CHECK(n.r[0]->has_entries_of("hes-b"));
    CHECK_FALSE(n.r[1]->has_entries_of("hes-b"));  // itself
    CHECK_FALSE(n.r[1]->has_entries_of("nobody"));
    n.c.link(0, 1).break_link("cut");
    n.c.run();
    CHECK_FALSE(n.r[1]->has_entries_of("hes-a"));
    n.c.connect(0, 1);
    n.c.run();
    CHECK(n.r[1]->has_entries_of("hes-a"));  // the new link's snapshot
  }

  TEST_CASE("a name holds ports of many nodes, a port many names, and a pair held twice stays") {
    named_cluster n{{"many-a", "many-b"}};
    auto a = n.c[0].port([](message&) {});
    auto b = n.c[1].port([](message&) {});
    auto g1 = n.r[0]->reg("x", a);
    auto g2 = n.r[0]->reg("y", a);
    auto g3 = n.r[1]->reg("x", b);
    auto g4 = n.r[1]->reg("x", b);  // the same pair again
    n.c.run();
    for (auto& ports : n.everywhere("x")) CHECK(ports == sorted({a, b}));
    for (auto& ports : n.everywhere("y")) CHECK(ports == std::vector<port_id>{a});
    g3.cancel();
    n.c.run();
    for (auto& ports : n.everywhere("x")) CHECK(ports == sorted({a, b}));  // g4 still holds it
    g4.cancel();
    n.c.run();
    for (auto& ports : n.everywhere("x")) CHECK(ports == std::vector<port_id>{a});
  }

  TEST_CASE("an entry goes away everywhere when its port dies") {
    named_cluster n{{"die-a", "die-b"}};
    auto p = n.c[0].port([](message&) {});
    auto guard = n.r[0]->reg("svc", p);
    n.c.run();
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{p});
    n.c[0].kil(p, "crashed");
    n.c.run();
    for (auto& ports : n.everywhere("svc")) CHECK(ports.empty());
  }

  TEST_CASE("mon gives the current set at once, even empty, then every change in order") {
    named_cluster n{{"mon-a", "mon-b"}};
    std::vector<std::string> seen;
    auto describe = [](const registry_event& e) {
      return fmt::format("{} ports={} +{} -{}", e.name, e.ports.size(), e.added.size(),
                         e.removed.size());
    };
    auto watch = n.r[1]->mon("jobs", [&](const registry_event& e) { seen.push_back(describe(e)); });
    n.c.run();
    REQUIRE(seen == std::vector<std::string>{"jobs ports=0 +0 -0"});
    auto p = n.c[0].port([](message&) {});
    auto q = n.c[0].port([](message&) {});
    auto g1 = n.r[0]->reg("jobs", p);
    auto g2 = n.r[0]->reg("jobs", q);
    auto other = n.r[0]->reg("other", p);  // another name: not this monitor's business
    n.c.run();
    g1.cancel();
    n.c.run();
    CHECK(seen == std::vector<std::string>{"jobs ports=0 +0 -0", "jobs ports=1 +1 -0",
                                           "jobs ports=2 +1 -0", "jobs ports=1 +0 -1"});
    // A monitor made when ports are there starts with them.
    std::vector<registry_event> late;
    auto watch2 = n.r[1]->mon("jobs", [&](const registry_event& e) { late.push_back(e); });
    n.c.run();
    REQUIRE(late.size() == 1);
    CHECK(late[0].ports == std::vector<port_id>{q});
    CHECK(late[0].added == std::vector<port_id>{q});
    watch.cancel();
    g2.cancel();
    n.c.run();
    CHECK(seen.size() == 4);  // ended
    CHECK(late.size() == 2);
  }

  TEST_CASE("a monitor made inside a port runs in that port's context") {
    named_cluster n{{"ctx-a"}};
    auto watcher = n.c[0].port([](message&) {});
    std::vector<port_id> contexts;
    subscription watch;
    n.c[0].peval(watcher, [&] {
      watch = n.r[0]->mon("n", [&](const registry_event&) { contexts.push_back(self()); });
    });
    n.c.run();
    CHECK(contexts == std::vector<port_id>{watcher});
  }

  TEST_CASE("a node that goes down loses its entries, and brings them back when it rejoins") {
    named_cluster n{{"part-a", "part-b", "part-c"}};
    auto a = n.c[0].port([](message&) {});
    auto b = n.c[1].port([](message&) {});
    auto ga = n.r[0]->reg("svc", a);
    auto gb = n.r[1]->reg("svc", b);
    n.c.run();
    // A partition: a loses both links; b and c see it down, a sees them down.
    n.c.link(0, 1).break_link("partition");
    n.c.link(0, 2).break_link("partition");
    n.c.run();
    CHECK(n.r[0]->get("svc") == std::vector<port_id>{a});
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{b});
    CHECK(n.r[2]->get("svc") == std::vector<port_id>{b});
    // Changes on both sides while apart.
    auto a2 = n.c[0].port([](message&) {});
    auto ga2 = n.r[0]->reg("svc", a2);
    gb.cancel();
    n.c.run();
    // Healed: the snapshots on the new links make every replica the same.
    n.c.connect(0, 1);
    n.c.connect(2, 0);
    n.c.run();
    for (auto& ports : n.everywhere("svc")) CHECK(ports == sorted({a, a2}));
  }

  TEST_CASE("a registry made on a node already linked to others gets their existing entries") {
    cluster c{{"late-a", "late-b", "late-c"}};
    registry ra{c[0]};
    auto a = c[0].port([](message&) {});
    auto ga = ra.reg("svc", a);
    c.run();
    // b's registry comes after the links and after a's entry.
    auto rb = std::make_unique<registry>(c[1]);
    c.run();
    CHECK(rb->get("svc") == std::vector<port_id>{a});
    // Its own entries, made at once, reach a, and c's registry, made later still, gets both.
    auto b = c[1].port([](message&) {});
    auto gb = rb->reg("svc", b);
    auto rc = std::make_unique<registry>(c[2]);
    c.run();
    CHECK(ra.get("svc") == sorted({a, b}));
    CHECK(rc->get("svc") == sorted({a, b}));
    gb.cancel();
    rb.reset();
    rc.reset();
    c.run();
  }

  TEST_CASE("a linked peer that keeps asking for the entries gets them at most once a second") {
    cluster c{{"ask-a", "ask-b"}};
    registry rb{c[1]};
    auto p = c[1].port([](message&) {});
    auto g = rb.reg("svc", p);
    c.run();
    // a runs no registry: a port of its own takes what b sends to a's registry tag.
    int snapshots = 0;
    auto sink = c[0].port([&](message& m) {
      if (m.size() >= 1 && m.holds<std::string>(0) && m.get<std::string>(0) == "snapshot") {
        ++snapshots;
      }
    });
    auto served = c[0].serve(tag{"coport.registry"}, sink);
    auto b = *port_id::parse("ask-b");
    for (int i = 0; i < 1000; ++i) {
      c[0].snd(b, "coport.registry", std::string{"sync"}, std::string{"ask-a"},
               std::vector<std::string>{}, std::vector<port_id>{});
    }
    c.run();
    CHECK(snapshots == 1);
    c.advance(std::chrono::seconds{1});
    c.run();
    CHECK(snapshots == 2);  // the requests of that second, answered once at its end
    c.advance(std::chrono::seconds{5});
    c.run();
    CHECK(snapshots == 2);
  }

  TEST_CASE("a registry destroyed right after it was made can be replaced at once") {
    cluster c{{"again-a", "again-b"}};
    registry rb{c[1]};
    for (int i = 0; i < 3; ++i) {
      auto r = std::make_unique<registry>(c[0]);  // its start has not run yet
      r.reset();
      CHECK_NOTHROW(r = std::make_unique<registry>(c[0]));
      c.run();
      auto p = c[0].port([](message&) {});
      auto g = r->reg("svc", p);
      c.run();
      CHECK(rb.get("svc") == std::vector<port_id>{p});
      g.cancel();
      r.reset();
      c.run();
    }
  }

  TEST_CASE("on worker threads, a registry can be replaced right after each one is made") {
    node n{threaded("again-threads")};
    for (int i = 0; i < 200; ++i) {
      auto r = std::make_unique<registry>(n);
      r.reset();
    }
    CHECK_NOTHROW(registry{n});
    n.shutdown();
  }

  TEST_CASE("only a node's own ports can be registered there, under a name") {
    named_cluster n{{"own-a", "own-b"}};
    auto remote = n.c[1].port([](message&) {});
    CHECK_THROWS_AS((void)n.r[0]->reg("x", remote), std::invalid_argument);
    CHECK_THROWS_AS((void)n.r[0]->reg("", n.c[0].port()), std::invalid_argument);
    CHECK_THROWS_AS((void)n.r[0]->reg(std::string(registry::max_name + 1, 'x'), n.c[0].port()),
                    std::invalid_argument);
  }

  TEST_CASE("updates from a peer that break the rules are ignored, and the registry lives on") {
    named_cluster n{{"bad-a", "bad-b"}};
    auto b_port = n.c[1].port([](message&) {});
    auto elsewhere = port_id{"bad-c", 5};
    auto bad_b = *port_id::parse("bad-b");
    // From a: entries that claim to be a's but name another node's port, a wrong shape,
    // mismatched lists, and an owner that is not the sender's link.
    n.c[0].snd(bad_b, "coport.registry", std::string{"add"}, std::string{"bad-a"},
               std::vector<std::string>{"x"}, std::vector<port_id>{elsewhere});
    n.c[0].snd(bad_b, "coport.registry", 42);
    n.c[0].snd(bad_b, "coport.registry", std::string{"add"}, std::string{"bad-a"},
               std::vector<std::string>{"x", "y"}, std::vector<port_id>{});
    n.c[0].snd(bad_b, "coport.registry", std::string{"add"}, std::string{"bad-c"},
               std::vector<std::string>{"x"}, std::vector<port_id>{elsewhere});
    auto a_port = n.c[0].port([](message&) {});
    n.c[0].snd(bad_b, "coport.registry", std::string{"add"}, std::string{"bad-a"},
               std::vector<std::string>{std::string(100'000, 'n')}, std::vector<port_id>{a_port});
    {
      log_capture log;
      n.c.run();
      // The wrong shape is logged, once (rate-limited), naming the protocol.
      CHECK(log.text().find("not the ones the registry protocol declares") != std::string::npos);
    }
    CHECK(n.r[1]->names().empty());
    auto g = n.r[1]->reg("fine", b_port);  // still serving
    n.c.run();
    CHECK(n.r[0]->get("fine") == std::vector<port_id>{b_port});
  }

  TEST_CASE(
      "a peer that sends 70 000 names keeps at most 65 536 entries in another node's replica, and "
      "they go with its link") {
    named_cluster n{{"many-a", "many-b"}};
    auto a_port = n.c[0].port([](message&) {});
    auto b = *port_id::parse("many-b");
    // a sends its own port under more distinct names than the bound, 4096 to a message.
    const std::size_t sent = 70'000;
    REQUIRE(registry::max_entries_per_node < sent);
    for (std::size_t first = 0; first < sent; first += 4096) {
      std::vector<std::string> names;
      for (std::size_t i = first; i < std::min(sent, first + 4096); ++i) {
        names.push_back(fmt::format("name-{}", i));
      }
      std::vector<port_id> ports(names.size(), a_port);
      n.c[0].snd(b, "coport.registry", std::string{"add"}, std::string{"many-a"}, std::move(names),
                 std::move(ports));
      n.c.run();
    }
    CHECK(n.r[1]->names().size() == registry::max_entries_per_node);
    auto b_port = n.c[1].port([](message&) {});
    auto g = n.r[1]->reg("still-serving", b_port);  // b's own names are not a's to use up
    n.c.run();
    CHECK(n.r[1]->get("still-serving") == std::vector<port_id>{b_port});
    n.c.link(0, 1).break_link("test");
    n.c.run();
    CHECK(n.r[1]->names() == std::vector<std::string>{"still-serving"});
  }

  TEST_CASE("a third node cannot add, remove or replace another node's entries") {
    named_cluster n{{"forge-a", "forge-b", "forge-c"}};
    auto a1 = n.c[0].port([](message&) {});
    auto a2 = n.c[0].port([](message&) {});
    auto g = n.r[0]->reg("svc", a1);
    n.c.run();
    REQUIRE(n.r[1]->get("svc") == std::vector<port_id>{a1});
    auto b = *port_id::parse("forge-b");
    // c claims to be a (the field that named the owner): it removes a's entry, adds one of
    // a's ports under another name, then sends a snapshot of a's entries that holds none.
    n.c[2].snd(b, "coport.registry", std::string{"remove"}, std::string{"forge-a"},
               std::vector<std::string>{"svc"}, std::vector<port_id>{a1});
    n.c[2].snd(b, "coport.registry", std::string{"add"}, std::string{"forge-a"},
               std::vector<std::string>{"fake"}, std::vector<port_id>{a2});
    n.c.run();
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{a1});
    CHECK(n.r[1]->get("fake").empty());
    n.c[2].snd(b, "coport.registry", std::string{"snapshot"}, std::string{"forge-a"},
               std::vector<std::string>{}, std::vector<port_id>{});
    n.c.run();
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{a1});
    // A snapshot from c that names a's port as c's own changes nothing either.
    n.c[2].snd(b, "coport.registry", std::string{"snapshot"}, std::string{"forge-c"},
               std::vector<std::string>{"svc", "fake"}, std::vector<port_id>{a2, a2});
    n.c.run();
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{a1});
    CHECK(n.r[1]->get("fake").empty());
    // c's own ports are c's to name, whatever the message says the owner is.
    auto c1 = n.c[2].port([](message&) {});
    n.c[2].snd(b, "coport.registry", std::string{"add"}, std::string{"forge-a"},
               std::vector<std::string>{"mine"}, std::vector<port_id>{c1});
    n.c.run();
    CHECK(n.r[1]->get("mine") == std::vector<port_id>{c1});
    // ... and they go with c's link, while a's stay a's until a removes them.
    n.c.link(1, 2).break_link("test");
    n.c.run();
    CHECK(n.r[1]->get("mine").empty());
    CHECK(n.r[1]->get("svc") == std::vector<port_id>{a1});
    g.cancel();
    n.c.run();
    CHECK(n.r[1]->get("svc").empty());
  }

  TEST_CASE(
      "a node that leaves normally: its entries go at once everywhere, and it left, not failed") {
    named_cluster n{{"lv-a", "lv-b", "lv-c"}};
    auto p = n.c[2].port([](message&) {});
    auto guard = n.r[2]->reg("workers", p);
    n.c.run();
    REQUIRE(n.r[0]->get("workers") == std::vector<port_id>{p});
    std::vector<std::string> seen;
    auto watch = n.c[0].mon(p, [&](const reason& why) { seen.push_back(why.to_string()); });
    auto downs = n.c[1].mon_nodes([&](const std::string& id, bool up, const reason& why) {
      if (!up) seen.push_back(id + " down: " + why.to_string());
    });
    n.c.run();
    n.c.leave(2);
    CHECK(n.r[0]->get("workers").empty());
    CHECK(n.r[1]->get("workers").empty());
    INFO(fmt::format("{}", fmt::join(seen, " / ")));
    CHECK(seen == std::vector<std::string>{"shutdown", "lv-c down: shutdown"});
  }
}
