// Ports: tag dispatch, default handlers, removal, and what kills a port.
#include <doctest/doctest.h>

#include <coport/node.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::stepped;
using coport::test::threaded;

namespace {

/// Records the reason a port died.
struct death {
  bool fired = false;
  reason why;
};

monitor watch(node& n, const port_id& p, death& d) {
  return n.mon(p, [&d](const reason& r) {
    d.fired = true;
    d.why = r;
  });
}

}  // namespace

TEST_SUITE("ports") {
  TEST_CASE("a message goes to the handler of its tag with its values unpacked") {
    node n{stepped("stepped")};
    std::vector<std::string> seen;
    auto p = n.port();
    n.rcv(p, "add", [&](int a, int b) { seen.push_back("add " + std::to_string(a + b)); });
    n.rcv(p, "say", [&](const std::string& s) { seen.push_back("say " + s); });
    n.snd(p, "add", 2, 3);
    n.snd(p, "say", "hi");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"add 5", "say hi"});
  }

  TEST_CASE("a message matching no tag handler goes to the default handler whole") {
    node n{stepped("stepped")};
    std::vector<std::string> seen;
    auto p = n.port([&](message& m) { seen.push_back(std::string{m.tag().name()}); });
    n.rcv(p, "known", [&] { seen.push_back("known handler"); });
    n.snd(p, "known");
    n.snd(p, "other", 1);
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"known handler", "other"});
  }

  TEST_CASE("a default handler may take the message by value and keep it") {
    node n{stepped("stepped")};
    message kept;
    auto p = n.port([&](message m) { kept = std::move(m); });
    n.snd(p, "keep", std::make_unique<int>(5));
    n.run_until_idle();
    REQUIRE(kept);
    CHECK(*kept.get<std::unique_ptr<int>>(0) == 5);
  }

  TEST_CASE("a removed tag handler no longer receives, the default handler does") {
    node n{stepped("stepped")};
    std::vector<std::string> seen;
    auto p = n.port([&](message& m) { seen.push_back("default " + std::string{m.tag().name()}); });
    n.rcv(p, "t", [&] { seen.push_back("tag"); });
    n.snd(p, "t");
    n.rcv(p, "t", nullptr);
    n.snd(p, "t");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"tag", "default t"});
  }

  TEST_CASE("a handler can replace itself while it runs") {
    node n{stepped("stepped")};
    std::vector<int> seen;
    auto p = n.port();
    auto big = std::make_shared<std::vector<int>>(1000, 1);  // state the old handler owns
    n.rcv(p, "t", [&n, &seen, big](int x) {
      seen.push_back(x + static_cast<int>(big->size()));
      n.rcv(self(), "t", [&seen](int y) { seen.push_back(y); });
      seen.push_back(static_cast<int>(big->size()));  // still alive after the replacement
    });
    n.snd(p, "t", 1);
    n.snd(p, "t", 2);
    n.run_until_idle();
    CHECK(seen == std::vector<int>{1001, 1000, 2});
  }

  TEST_CASE("a message with no handler kills the port with unhandled_message naming the tag") {
    node n{stepped("stepped")};
    auto p = n.port();
    death d;
    auto guard = watch(n, p, d);
    n.snd(p, "mystery", 1);
    n.run_until_idle();
    CHECK(d.fired);
    CHECK(d.why.kind() == "unhandled_message");
    CHECK(d.why.detail().find("mystery") != std::string::npos);
  }

  TEST_CASE("an exception escaping a handler kills the port with die and its message") {
    node n{stepped("stepped")};
    auto p = n.port();
    n.rcv(p, "boom", [] { throw std::runtime_error{"it broke"}; });
    death d;
    auto guard = watch(n, p, d);
    n.snd(p, "boom");
    n.run_until_idle();
    CHECK(d.fired);
    CHECK(d.why == reason{"die", "it broke"});
  }

  TEST_CASE("a payload whose types do not fit the handler kills the port with bad_message") {
    node n{stepped("stepped")};
    auto p = n.port();
    n.rcv(p, "n", [](int) {});
    death d;
    auto guard = watch(n, p, d);
    n.snd(p, "n", std::string{"not an int"});
    n.run_until_idle();
    CHECK(d.why.kind() == "bad_message");
    CHECK(d.why.detail().find("int") != std::string::npos);
    CHECK(d.why.detail().find("std::string") != std::string::npos);
  }

  TEST_CASE("messages to a dead or unknown port are dropped and counted") {
    node n{stepped("stepped")};
    auto p = n.port([](message&) {});
    n.kil(p);
    n.run_until_idle();
    auto before = n.stats().messages_dropped;
    n.snd(p, "late");
    n.snd(port_id{n.id(), 999999}, "nobody");
    n.snd(port_id{}, "null");
    n.run_until_idle();
    CHECK(n.stats().messages_dropped == before + 3);
  }

  TEST_CASE("kil does not run monitors inside the call, they run afterwards") {
    node n{stepped("stepped")};
    auto p = n.port([](message&) {});
    death d;
    auto guard = watch(n, p, d);
    n.kil(p, "stop", "now");
    CHECK_FALSE(d.fired);
    n.run_until_idle();
    CHECK(d.fired);
    CHECK(d.why == reason{"stop", "now"});
  }

  TEST_CASE("after kil no handler of the port runs, even for messages already queued") {
    node n{stepped("stepped")};
    int handled = 0;
    auto p = n.port([&](message&) { ++handled; });
    n.snd(p, "a");
    n.kil(p);
    n.snd(p, "b");
    n.run_until_idle();
    CHECK(handled == 0);
  }

  TEST_CASE("a port may kill itself from its handler and the rest of its queue is dropped") {
    node n{stepped("stepped")};
    int handled = 0;
    auto p = n.port([&](message&) {
      ++handled;
      n.kil(self());
    });
    death d;
    auto guard = watch(n, p, d);
    n.snd(p, "a");
    n.snd(p, "b");
    n.run_until_idle();
    CHECK(handled == 1);
    CHECK(d.fired);
    CHECK(d.why.normal());
  }

  TEST_CASE("killing an unknown port does nothing, killing the node port is refused") {
    node n{stepped("stepped")};
    n.kil(port_id{n.id(), 12345});
    n.kil(port_id{});
    CHECK_THROWS_AS(n.kil(n.node_port()), std::invalid_argument);
  }

  TEST_CASE("rcv on a port of another node is refused") {
    node n{stepped("stepped")};
    CHECK_THROWS_AS(n.rcv(port_id{"elsewhere", 1}, "t", [] {}), std::invalid_argument);
  }

  TEST_CASE("self() names the running port and is refused outside one") {
    node n{stepped("stepped")};
    port_id seen;
    auto p = n.port([&](message&) { seen = self(); });
    n.snd(p, "who");
    n.run_until_idle();
    CHECK(seen == p);
    CHECK_THROWS_AS(self(), std::logic_error);
    CHECK_FALSE(in_port_context());
  }

  TEST_CASE("peval runs code in the port's context and an exception kills that port") {
    node n{stepped("stepped")};
    auto p = n.port([](message&) {});
    port_id inside;
    n.peval(p, [&] { inside = self(); });
    n.run_until_idle();
    CHECK(inside == p);
    death d;
    auto guard = watch(n, p, d);
    n.peval(p, [] { throw std::runtime_error{"peval failed"}; });
    n.run_until_idle();
    CHECK(d.why == reason{"die", "peval failed"});
  }

  TEST_CASE("psub binds a callback to the current port so it runs serialized there") {
    node n{stepped("stepped")};
    std::function<void(int)> callback;
    std::vector<std::string> seen;
    auto p = n.port();
    n.rcv(p, "arm", [&] {
      callback =
          n.psub([&](int v) { seen.push_back(self().to_string() + " " + std::to_string(v)); });
    });
    n.snd(p, "arm");
    n.run_until_idle();
    REQUIRE(callback);
    callback(7);  // from outside any port
    CHECK(seen.empty());
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{p.to_string() + " 7"});
    CHECK_THROWS_AS(n.psub([] {}), std::logic_error);
  }
}
