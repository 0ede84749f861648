// cal: request/reply with a reply port, a timeout, and the target's death — one callback each.
#include <doctest/doctest.h>

#include <atomic>
#include <coport/node.hpp>

#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::stepped;
using coport::test::threaded;
using namespace std::chrono_literals;

namespace {

port_id adder(node& n) {
  auto p = n.port();
  n.rcv(p, "add", [&n](int a, int b, port_id reply_to) { n.snd(reply_to, "sum", a + b); });
  return p;
}
}  // namespace

TEST_SUITE("cal") {
  TEST_CASE("cal delivers the reply to the callback") {
    node n{threaded("cal1")};
    auto server = adder(n);
    test::probe got;
    n.cal(server, "add", 2, 3, [&](reply r) {
      got.add(r ? std::to_string(r->get<int>(0)) + " " + std::string{r->tag().name()} : "none");
    });
    REQUIRE(got.wait_for(1));
    CHECK(got.events() == std::vector<std::string>{"5 sum"});
  }

  TEST_CASE("cal with a timeout calls back empty when no reply comes in time") {
    node n{threaded("cal2")};
    auto silent = n.port([](message&) {});
    test::probe got;
    n.cal(
        silent, "ask", [&](reply r) { got.add(r ? "reply" : "timeout"); }, 20ms);
    REQUIRE(got.wait_for(1));
    CHECK(got.events() == std::vector<std::string>{"timeout"});
  }

  TEST_CASE("cal calls back empty, once, when the target dies before replying") {
    node n{threaded("cal3")};
    auto doomed = n.port();
    n.rcv(doomed, "ask", [&](port_id) { throw std::runtime_error{"no"}; });
    test::probe got;
    n.cal(doomed, "ask", [&](reply r) { got.add(r ? "reply" : "dead"); });
    REQUIRE(got.wait_for(1));
    CHECK(got.events() == std::vector<std::string>{"dead"});
  }

  TEST_CASE("cal calls back once when the target replies and then dies") {
    node n{threaded("cal4")};
    auto server = n.port();
    n.rcv(server, "ask", [&](port_id reply_to) {
      n.snd(reply_to, "answer", 42);
      n.kil(self(), "after-reply");
    });
    std::atomic<int> calls{0};
    test::probe got;
    n.cal(
        server, "ask",
        [&](reply r) {
          calls.fetch_add(1);
          got.add(r ? "reply" : "empty");
        },
        100ms);
    REQUIRE(got.wait_for(1));
    // The target died and the timeout passed: neither may call again.
    std::this_thread::sleep_for(200ms);
    CHECK(calls.load() == 1);
    CHECK(got.events() == std::vector<std::string>{"reply"});
  }

  TEST_CASE("cal to a port that does not exist calls back empty") {
    node n{threaded("cal5")};
    test::probe got;
    n.cal(port_id{n.id(), 777}, "ask", [&](reply r) { got.add(r ? "reply" : "empty"); });
    REQUIRE(got.wait_for(1));
    CHECK(got.events() == std::vector<std::string>{"empty"});
  }

  TEST_CASE("cal from inside a port runs its callback in that port's context") {
    node n{threaded("cal6")};
    auto server = adder(n);
    test::probe got;
    auto client = n.port();
    n.rcv(client, "go", [&] {
      n.cal(server, "add", 1, 1,
            [&](reply r) { got.add(self().to_string() + " " + std::to_string(r->get<int>(0))); });
    });
    n.snd(client, "go");
    REQUIRE(got.wait_for(1));
    CHECK(got.events()[0] == client.to_string() + " 2");
  }

  TEST_CASE("the reply port ends after the reply, so a second reply is dropped") {
    node n{threaded("cal7")};
    auto server = n.port();
    n.rcv(server, "ask", [&](port_id reply_to) {
      n.snd(reply_to, "one");
      n.snd(reply_to, "two");
    });
    std::atomic<int> calls{0};
    test::probe got;
    auto reply_port = n.cal(server, "ask", [&](reply) {
      calls.fetch_add(1);
      got.add("called");
    });
    REQUIRE(got.wait_for(1));
    test::probe dead;
    auto g = n.mon(reply_port, [&](const reason&) { dead.add("dead"); });
    REQUIRE(dead.wait_for(1));
    CHECK(calls.load() == 1);
  }
}

TEST_SUITE("cal") {
  TEST_CASE("a cal made outside any port runs its callback outside any port, so it can cal") {
    node n{threaded("cal8")};
    auto server = adder(n);
    test::probe got;
    n.cal(server, "add", 1, 2, [&](reply r) {
      got.add(in_port_context() ? "in a port" : "outside");
      n.cal(server, "add", r->get<int>(0), 3,
            [&](reply r2) { got.add(std::to_string(r2->get<int>(0))); });
    });
    REQUIRE(got.wait_for(2));
    CHECK(got.events() == std::vector<std::string>{"outside", "6"});
  }
}
