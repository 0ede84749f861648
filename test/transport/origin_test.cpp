// Where a message came from: the link it arrived on, never what its payload says.
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/coport.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/cluster.hpp"

using namespace coport;

TEST_SUITE("message origin") {
  TEST_CASE("a handler learns which node a message came from, from the link and not the payload") {
    test::cluster c{{"origin-a", "origin-b", "origin-c"}};
    std::vector<port_id> seen;
    auto target = c[1].port();
    c[1].rcv(target, "hi", [&](const std::string&) { seen.push_back(message_origin()); });
    std::vector<port_id> by_default;
    auto fallback = c[1].port([&](message& m) {
      by_default.push_back(m.origin());
      CHECK(m.origin() == message_origin());
    });
    std::vector<port_id> by_actor;
    auto actor_port = spawn(c[1], [&]() -> actor {
      for (;;) {
        message m = co_await receive("hi");
        by_actor.push_back(m.origin());
      }
    });
    c.run();
    // The payload names another node: the origin is still the link the message came on.
    for (const auto& p : {target, fallback, actor_port}) {
      c[0].snd(p, "hi", std::string{"origin-c"});
      c[2].snd(p, "hi", std::string{"origin-a"});
      c[1].snd(p, "hi", std::string{"origin-a"});  // a local send: no origin
    }
    c.run();
    auto a = *port_id::parse("origin-a");
    auto cc = *port_id::parse("origin-c");
    // Senders on different nodes are not ordered with each other: compare as sets.
    auto sorted = [](std::vector<port_id> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    auto expected = sorted({a, cc, port_id{}});
    CHECK(sorted(seen) == expected);
    CHECK(sorted(by_default) == expected);
    CHECK(sorted(by_actor) == expected);
    REQUIRE(seen.size() == 3);
    for (const auto& o : seen) {
      if (o) CHECK((o.node() == "origin-a" || o.node() == "origin-c"));
    }
    CHECK(message_origin() == port_id{});  // outside any handler
  }

  TEST_CASE(
      "the node port answers a request only at a port of the node it came from, and a request "
      "no service takes with badrpc") {
    test::cluster c{{"np-a", "np-b", "np-c"}};
    std::vector<std::string> at_a, at_c;
    auto pa = c[0].port([&](message& m) { at_a.push_back(std::string{m.tag().name()}); });
    auto pc = c[2].port([&](message& m) { at_c.push_back(std::string{m.tag().name()}); });
    c.run();
    auto b = *port_id::parse("np-b");
    c[0].snd(b, "ping", pa);  // a's own port: answered
    c[0].snd(b, "ping", pc);  // c's port, named by a: not believed
    c[0].snd(b, "info", pc);
    c[0].snd(b, "no.such.service", pc);
    c.run();
    CHECK(at_a == std::vector<std::string>{"ping"});
    CHECK(at_c.empty());
    // A cal to a service nobody serves gets badrpc at once.
    std::optional<reply> got;
    c[0].cal(b, "no.such.service", 1, [&](reply r) { got = std::move(r); });
    c.run();
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK((*got)->tag() == tag{"badrpc"});
    CHECK((*got)->get<reason>(0).kind() == "no_such_service");
  }
}
