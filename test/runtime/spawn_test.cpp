// spawn: ports made from init functions registered by name.
#include <doctest/doctest.h>

#include <coport/node.hpp>

#include "support/deaths.hpp"
#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::deaths;
using coport::test::link_end;
using coport::test::stepped;
using coport::test::threaded;
using namespace std::chrono_literals;

TEST_SUITE("spawn") {
  TEST_CASE("spawn runs the named init in the new port's context with the arguments") {
    node n{stepped("spawner")};
    std::vector<std::string> seen;
    n.register_init("echo.init", [&](port_id owner, std::string greeting) {
      seen.push_back("init in " + self().to_string());
      n.rcv(self(), "echo",
            [&, owner, greeting](int v) { n.snd(owner, "echoed", greeting + std::to_string(v)); });
    });
    auto owner = n.port();
    n.rcv(owner, "echoed", [&](const std::string& s) { seen.push_back(s); });
    auto p = n.spawn(n.id(), "echo.init", owner, "hello ");
    CHECK(seen.empty());  // nothing before spawn returns, nor before the node runs
    n.snd(p, "echo", 1);
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"init in " + p.to_string(), "hello 1"});
  }

  TEST_CASE("spawn returns a fresh port ID at once, never reused") {
    node n{stepped("spawner")};
    n.register_init("idle.init", [&] { n.rcv(self(), "x", [] {}); });
    auto a = n.spawn(n.id(), "idle.init");
    auto b = n.spawn(n.node_port().to_string(), "idle.init");
    CHECK(a != b);
    CHECK(n.is_local(a));
    n.kil(a);
    n.run_until_idle();
    auto c = n.spawn(n.id(), "idle.init");
    CHECK(c != a);
    CHECK(c != b);
  }

  TEST_CASE("spawn with an unknown init name kills the new port with no_such_init") {
    node n{stepped("spawner")};
    auto p = n.spawn(n.id(), "nobody.knows");
    deaths got;
    auto g = n.mon(p, got.record());
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "no_such_init");
    CHECK(got[0].detail().find("nobody.knows") != std::string::npos);
  }

  TEST_CASE("a throwing init kills the new port with die and the real error") {
    node n{stepped("spawner")};
    n.register_init("bad.init", [](int) { throw std::runtime_error{"config missing"}; });
    auto p = n.spawn(n.id(), "bad.init", 1);
    deaths got;
    auto g = n.mon(p, got.record());
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "die");
    CHECK(got[0].detail().find("config missing") != std::string::npos);
    CHECK(got[0].detail().find("bad.init") != std::string::npos);
  }

  TEST_CASE("spawn arguments that do not fit the init kill the port with bad_message") {
    node n{stepped("spawner")};
    n.register_init("typed.init", [](int) {});
    auto p = n.spawn(n.id(), "typed.init", "not a number");
    deaths got;
    auto g = n.mon(p, got.record());
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "bad_message");
  }

  TEST_CASE(
      "spawn on a malformed node ID is refused, on another node without a transport "
      "the port's monitors say so") {
    node n{stepped("spawner")};
    CHECK_THROWS_AS(n.spawn("bad id", "x"), std::invalid_argument);
    auto p = n.spawn("other-node", "x");
    CHECK(p.node() == "other-node");
    deaths got;
    auto g = n.mon(p, got.record());
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "transport_error");
  }

  TEST_CASE("spawn from a threaded node's port: the spawner's monitor sees the init's failure") {
    node_options o;
    o.id = "spawner-threads";
    o.threads = 2;
    node n{o};
    n.register_init("fails.init", [] { throw std::runtime_error{"nope"}; });
    test::probe got;
    auto parent = n.port();
    n.rcv(parent, "go", [&] {
      auto child = n.spawn(n.id(), "fails.init");
      n.mon(child, [&](const reason& r) { got.add(r.to_string()); }).release();
    });
    n.snd(parent, "go");
    REQUIRE(got.wait_for(1));
    CHECK(got.events()[0].find("die: init 'fails.init' threw: nope") == 0);
  }
}

TEST_SUITE("spawn from another node") {
  // The local numbers another node mints for the ports it spawns here have the top bit.
  constexpr std::uint64_t minted = std::uint64_t{1} << 63;

  TEST_CASE("a spawn from another node of an init not registered here is refused, no port made") {
    node n{stepped("spawn-target")};
    n.register_init("idle.init", [] {});
    auto created = n.stats().ports_created;
    deaths fired;
    reason why;
    auto id = link_end(n).accept_spawn(minted | 7, "nobody.knows", message::make("nobody.knows"),
                                       fired.record(), "spawner-node", &why);
    n.run_until_idle();
    CHECK(id.is_null());
    CHECK(n.stats().ports_created == created);
    CHECK(fired.empty());  // not kept: the link answers with `why`
    CHECK(why.kind() == "no_such_init");
    CHECK(why.detail().find("nobody.knows") != std::string::npos);
    // The spawning node's monitor, made later through its link, still learns why.
    deaths later;
    auto g = n.mon(port_id{n.id(), minted | 7, n.incarnation()}, later.record());
    n.run_until_idle();
    REQUIRE(later.size() == 1);
    CHECK(later[0].kind() == "no_such_init");
    // A registered init is accepted.
    auto ok = link_end(n).accept_spawn(minted | 8, "idle.init", message::make("idle.init"), {},
                                       "spawner-node", &why);
    CHECK(!ok.is_null());
    CHECK(n.stats().ports_created == created + 1);
  }

  TEST_CASE("the failure a node remembers for a refused spawn keeps at most 1 KiB of its text") {
    node n{stepped("spawn-memory")};
    std::string huge(1 << 20, 'x');  // e.g. an init name a peer sent
    auto id = link_end(n).refuse_spawn(minted | 3, reason{"bad_message", huge, huge}, {});
    REQUIRE(!id.is_null());
    n.run_until_idle();
    deaths later;
    auto g = n.mon(id, later.record());
    n.run_until_idle();
    REQUIRE(later.size() == 1);
    CHECK(later[0].kind() == "bad_message");
    CHECK(later[0].detail().size() <= 2 * 1024 + 2);
  }

  TEST_CASE("ports spawned for one node are bounded while they live, the bound is per node") {
    node n{stepped("spawn-bound")};
    n.register_init("idle.init", [] {});
    auto args = [] { return message::make("idle.init"); };
    std::uint64_t next = minted | 1;
    std::vector<port_id> from_a;
    for (std::size_t i = 0; i < node::max_spawned_per_peer; ++i) {
      auto id = link_end(n).accept_spawn(next++, "idle.init", args(), {}, "peer-a");
      REQUIRE(!id.is_null());
      from_a.push_back(id);
    }
    n.run_until_idle();
    reason why;
    auto created = n.stats().ports_created;
    CHECK(link_end(n).accept_spawn(next++, "idle.init", args(), {}, "peer-a", &why).is_null());
    CHECK(n.stats().ports_created == created);
    CHECK(why.kind() == "spawn_failed");
    CHECK(why.detail().find("4096") != std::string::npos);
    // Another node has its own bound.
    CHECK(!link_end(n).accept_spawn(next++, "idle.init", args(), {}, "peer-b").is_null());
    // A port that dies gives its place back.
    n.kil(from_a[0]);
    n.run_until_idle();
    CHECK(!link_end(n).accept_spawn(next++, "idle.init", args(), {}, "peer-a").is_null());
    CHECK(link_end(n).accept_spawn(next++, "idle.init", args(), {}, "peer-a").is_null());
  }

  TEST_CASE(
      "an init registered with a lower per-peer bound makes at most that many ports for one "
      "node, whatever other inits that node spawned, and a dead port gives its place back") {
    node n{stepped("spawn-init-bound")};
    n.register_init(
        "heavy.init", [] {}, 3);
    n.register_init("light.init", [] {});
    auto heavy = [] { return message::make("heavy.init"); };
    auto light = [] { return message::make("light.init"); };
    std::uint64_t next = minted | 1;
    std::vector<port_id> made;
    for (int i = 0; i < 3; ++i) {
      made.push_back(link_end(n).accept_spawn(next++, "heavy.init", heavy(), {}, "peer-a"));
      REQUIRE(!made.back().is_null());
    }
    n.run_until_idle();
    reason why;
    CHECK(link_end(n).accept_spawn(next++, "heavy.init", heavy(), {}, "peer-a", &why).is_null());
    CHECK(why.kind() == "spawn_failed");
    CHECK(why.detail().find("3 ports of init 'heavy.init'") != std::string::npos);
    // Other inits, other nodes and local spawns are not held by it.
    CHECK(!link_end(n).accept_spawn(next++, "light.init", light(), {}, "peer-a").is_null());
    CHECK(!link_end(n).accept_spawn(next++, "heavy.init", heavy(), {}, "peer-b").is_null());
    CHECK(!n.spawn(n.id(), "heavy.init").is_null());
    n.kil(made[0]);
    n.run_until_idle();
    CHECK(!link_end(n).accept_spawn(next++, "heavy.init", heavy(), {}, "peer-a").is_null());
    CHECK(link_end(n).accept_spawn(next++, "heavy.init", heavy(), {}, "peer-a").is_null());
    // Nonsense bounds are programmer errors.
    CHECK_THROWS_AS(n.register_init(
                        "zero.init", [] {}, 0),
                    std::invalid_argument);
    CHECK_THROWS_AS(n.register_init(
                        "big.init", [] {}, node::max_spawned_per_peer + 1),
                    std::invalid_argument);
  }
}

TEST_SUITE("spawn then monitor") {
  // Each of these raced before: the init ran and died on another thread before `mon` was
  // made, and the monitor saw no_such_port instead of the real reason.
  constexpr int repetitions = 20'000;

  TEST_CASE("a monitor made on the main thread right after spawn sees the init's real reason") {
    node n{threaded("spawn-mon-main")};
    n.register_init("throws.init", [](int) { throw std::runtime_error{"config missing"}; });
    for (int i = 0; i < repetitions; ++i) {
      bool unknown = i % 2 == 0;
      auto p = unknown ? n.spawn(n.id(), "nobody.knows", 1) : n.spawn(n.id(), "throws.init", 1);
      test::probe seen;
      auto g = n.mon(p, [&](const reason& r) { seen.add(std::string{r.kind()}); });
      REQUIRE(seen.wait_for(1));
      REQUIRE(seen.events()[0] == (unknown ? "no_such_init" : "die"));
    }
  }

  TEST_CASE("spawn_monitor sees the init's real reason, every time") {
    node n{threaded("spawn-monitor")};
    n.register_init("throws.init", [](int) { throw std::runtime_error{"config missing"}; });
    for (int i = 0; i < repetitions; ++i) {
      test::probe seen;
      auto [p, g] = n.spawn_monitor(
          n.id(), "throws.init", [&](const reason& r) { seen.add(r.to_string()); }, 1);
      REQUIRE(seen.wait_for(1));
      REQUIRE(seen.events()[0] == "die: init 'throws.init' threw: config missing");
    }
  }

  TEST_CASE("AEMP's idiom, spawn then mon in the same handler, sees the real reason") {
    node n{threaded("spawn-mon-handler")};
    n.register_init("throws.init", [](int) { throw std::runtime_error{"config missing"}; });
    test::probe seen;
    auto parent = n.port();
    n.rcv(parent, "go", [&](int left) {
      auto p = n.spawn(n.id(), "throws.init", 1);
      n.mon(p, [&](const reason& r) { seen.add(std::string{r.kind()}); }).release();
      if (left > 1) n.snd(self(), "go", left - 1);
    });
    n.snd(parent, "go", repetitions);
    REQUIRE(seen.wait_for(repetitions, 60s));
    auto events = seen.events();
    CHECK(std::count(events.begin(), events.end(), "die") == repetitions);
  }

  TEST_CASE("spawn_link kills the spawner when the init fails, and the child with the spawner") {
    node n{stepped("spawn-link")};
    n.register_init("throws.init", [] { throw std::runtime_error{"boom"}; });
    n.register_init("idle.init", [] {});
    std::vector<std::string> deaths;
    auto parent = n.port();
    port_id child;
    n.rcv(parent, "go",
          [&](bool fail) { child = n.spawn_link(n.id(), fail ? "throws.init" : "idle.init"); });
    auto g = n.mon(parent, [&](const reason& r) { deaths.push_back("parent " + r.to_string()); });
    n.snd(parent, "go", true);
    n.run_until_idle();
    CHECK(deaths == std::vector<std::string>{"parent die: init 'throws.init' threw: boom"});

    auto parent2 = n.port();
    n.rcv(parent2, "go",
          [&](bool fail) { child = n.spawn_link(n.id(), fail ? "throws.init" : "idle.init"); });
    n.snd(parent2, "go", false);
    n.run_until_idle();
    auto g2 = n.mon(child, [&](const reason& r) { deaths.push_back("child " + r.to_string()); });
    n.kil(parent2, "crash");
    n.run_until_idle();
    CHECK(deaths.back() == "child crash");
    CHECK_THROWS_AS(n.spawn_link(n.id(), "idle.init"), std::logic_error);  // not in a port
  }
}
