// spawn: ports made from init functions registered by name.
#include <doctest/doctest.h>

#include <coport/node.hpp>

#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::stepped;
using coport::test::threaded;

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
    std::vector<reason> got;
    auto g = n.mon(p, [&](const reason& r) { got.push_back(r); });
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "no_such_init");
    CHECK(got[0].detail().find("nobody.knows") != std::string::npos);
  }

  TEST_CASE("a throwing init kills the new port with die and the real error") {
    node n{stepped("spawner")};
    n.register_init("bad.init", [](int) { throw std::runtime_error{"config missing"}; });
    auto p = n.spawn(n.id(), "bad.init", 1);
    std::vector<reason> got;
    auto g = n.mon(p, [&](const reason& r) { got.push_back(r); });
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
    std::vector<reason> got;
    auto g = n.mon(p, [&](const reason& r) { got.push_back(r); });
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "bad_message");
  }

  TEST_CASE("spawn on a malformed node ID is refused; on another node it needs a transport") {
    node n{stepped("spawner")};
    CHECK_THROWS_AS(n.spawn("bad id", "x"), std::invalid_argument);
    CHECK_THROWS_AS(n.spawn("other-node", "x"), std::logic_error);
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
