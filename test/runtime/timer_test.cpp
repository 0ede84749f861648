// Timers: after with a message or a callback, and cancelling them.
#include <doctest/doctest.h>

#include <atomic>
#include <coport/coport.hpp>

#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::stepped;
using coport::test::threaded;
using namespace std::chrono_literals;

TEST_SUITE("timers") {
  TEST_CASE("after sends its message to the port when the delay has passed") {
    node n{threaded("after1")};
    test::probe got;
    auto p = n.port();
    n.rcv(p, "tick", [&](int v) { got.add(std::to_string(v)); });
    auto start = std::chrono::steady_clock::now();
    n.after(20ms, p, "tick", 5);
    REQUIRE(got.wait_for(1));
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
    CHECK(got.events() == std::vector<std::string>{"5"});
  }

  TEST_CASE("after with a callback made inside a port runs it in that port's context") {
    node n{threaded("after2")};
    test::probe got;
    auto p = n.port();
    n.rcv(p, "arm", [&] { n.after(5ms, [&] { got.add(self().to_string()); }); });
    n.snd(p, "arm");
    REQUIRE(got.wait_for(1));
    CHECK(got.events()[0] == p.to_string());
  }

  TEST_CASE("a cancelled after neither sends nor calls") {
    node n{threaded("after3")};
    test::probe got;
    auto p = n.port();
    n.rcv(p, "tick", [&] { got.add("tick"); });
    auto t1 = n.after(50ms, p, "tick");
    auto t2 = n.after(50ms, [&] { got.add("callback"); });
    CHECK(t1.cancel());
    CHECK(t2.cancel());
    CHECK_FALSE(t1.cancel());  // already cancelled
    // A later timer that is not cancelled proves the earlier ones had their chance.
    n.after(120ms, p, "tick");
    REQUIRE(got.wait_for(1));
    CHECK(got.events() == std::vector<std::string>{"tick"});
  }

  TEST_CASE("cancelling a timer that already fired reports false") {
    node n{threaded("after4")};
    test::probe got;
    auto t = n.after(1ms, [&] { got.add("fired"); });
    REQUIRE(got.wait_for(1));
    CHECK(test::eventually([&] { return !t.cancel(); }));
  }

  TEST_CASE("a pending long timer does not delay shutdown") {
    auto start = std::chrono::steady_clock::now();
    {
      node n{threaded("after5")};
      auto p = n.port([](message&) {});
      n.after(1h, p, "never");
    }
    CHECK(std::chrono::steady_clock::now() - start < 10s);
  }
}

TEST_SUITE("virtual time") {
  TEST_CASE("a deterministic node's timers fire on advance, in the order they are due") {
    node n{stepped("virtual-clock")};
    std::vector<std::string> fired;
    auto start = n.now();
    n.after(300ms, [&] { fired.push_back("300"); });
    n.after(100ms, [&] { fired.push_back("100"); });
    n.after(200ms, [&] { fired.push_back("200"); });
    auto cancelled = n.after(150ms, [&] { fired.push_back("150"); });
    CHECK(cancelled.cancel());
    CHECK(n.advance(99ms) == 0);
    n.run_until_idle();
    CHECK(fired.empty());
    CHECK(n.advance(201ms) == 3);
    n.run_until_idle();
    CHECK(fired == std::vector<std::string>{"100", "200", "300"});
    CHECK(n.now() - start == 300ms);
  }

  TEST_CASE("receive and sleep time out on the virtual clock") {
    node n{stepped("virtual-receive")};
    std::vector<std::string> log;
    spawn(n, [&]() -> actor {
      auto m = co_await receive("never", 5s);
      log.push_back(m ? "message" : "timeout");
      co_await sleep(1s);
      log.push_back("slept");
    });
    n.run_until_idle();
    n.advance(4s);
    n.run_until_idle();
    CHECK(log.empty());
    n.advance(1s);
    n.run_until_idle();
    CHECK(log == std::vector<std::string>{"timeout"});
    n.advance(1s);
    n.run_until_idle();
    CHECK(log == std::vector<std::string>{"timeout", "slept"});
  }

  TEST_CASE("advance on a threaded node is a programmer error") {
    node n{threaded("not-virtual")};
    CHECK_THROWS_AS(n.advance(1s), std::logic_error);
  }
}
