// Selective receive: what is found, what stays queued, timeouts, predicates and clauses.
#include <doctest/doctest.h>

#include <asio/steady_timer.hpp>
#include <atomic>
#include <coport/asio.hpp>
#include <coport/coport.hpp>
#include <string>
#include <vector>

#include "support/deaths.hpp"
#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::deaths;
using coport::test::stepped;
using coport::test::threaded;
using namespace std::chrono_literals;

namespace {

std::string name(const message& m) {
  return std::string{m.tag().name()};
}

/// The strings, each followed by a space (so that a failed check prints them).
std::string joined(const std::vector<std::string>& strings) {
  std::string out;
  for (const auto& s : strings) out += s + " ";
  return out;
}

}  // namespace

TEST_SUITE("receive") {
  TEST_CASE("receive by tag finds p2 then p1 out of order and leaves the rest queued") {
    node n{stepped("sel1")};
    std::vector<std::string> seen;
    auto p = spawn(n, [&]() -> actor {
      message second = co_await receive("p2");
      seen.push_back(name(second));
      message first = co_await receive("p1");
      seen.push_back(name(first));
      // What was not asked for is still there, in arrival order.
      for (int i = 0; i < 2; ++i) seen.push_back(name(co_await receive()));
    });
    n.snd(p, "other1");
    n.snd(p, "p1");
    n.snd(p, "other2");
    n.snd(p, "p2");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"p2", "p1", "other1", "other2"});
  }

  TEST_CASE(
      "receives by tag, clauses by tag and receives of anything take messages in arrival order "
      "among those they match, however the mailbox was taken from before") {
    node n{stepped("sel-index")};
    std::vector<std::string> seen;
    auto label = [](const message& m) {
      return std::string{m.tag().name()} + (m.is<int>() ? std::to_string(m.get<int>(0)) : "");
    };
    auto p = spawn(n, [&]() -> actor {
      // Every other "a" by tag, then the clauses: the oldest message of either tag whose
      // values fit ("b" with a string does not), then the rest by arrival.
      co_await receive("go");  // sent last: everything is queued when the receives look
      for (int i = 0; i < 3; ++i) seen.push_back(label(co_await receive("a")));
      for (int i = 0; i < 2; ++i) {
        seen.push_back(co_await receive(on("b", [](int v) { return "b" + std::to_string(v); }),
                                        on("c", [](int v) { return "c" + std::to_string(v); })));
      }
      message first = co_await receive_if([](const message& m) { return m.tag() != tag{"a"}; });
      seen.push_back(label(first));
      for (int i = 0; i < 3; ++i) seen.push_back(label(co_await receive()));
    });
    n.snd(p, "x", 0);
    n.snd(p, "a", 1);
    n.snd(p, "b", std::string{"does not fit"});
    n.snd(p, "a", 2);
    n.snd(p, "c", 1);
    n.snd(p, "b", 2);
    n.snd(p, "a", 3);
    n.snd(p, "a", 4);
    n.snd(p, "y", 0);
    n.snd(p, "go");
    n.run_until_idle();
    CHECK(joined(seen) == "a1 a2 a3 c1 b2 x0 b a4 y0 ");
  }

  TEST_CASE(
      "clauses by tag run the clause of the message they take when an older message of another "
      "clause's tag does not fit, or two clauses share a tag") {
    node n{stepped("sel-clauses")};
    std::vector<std::string> seen;
    auto p = spawn(n, [&]() -> actor {
      co_await receive("go");  // sent last: everything is queued when the receives look
      seen.push_back(co_await receive(on("b", [](int v) { return "b" + std::to_string(v); }),
                                      on("c", [](int v) { return "c" + std::to_string(v); })));
      for (int i = 0; i < 2; ++i) {
        seen.push_back(co_await receive(on("a", [](int v) { return "a-int" + std::to_string(v); }),
                                        on("a", [](const std::string& v) { return "a-" + v; })));
      }
    });
    n.snd(p, "c", std::string{"does not fit"});
    n.snd(p, "b", 2);
    n.snd(p, "a", std::string{"text"});
    n.snd(p, "a", 1);
    n.snd(p, "go");
    n.run_until_idle();
    CHECK(joined(seen) == "b2 a-text a-int1 ");
  }

  TEST_CASE(
      "a mailbox keeps arrival order through thousands of messages taken by tag from between "
      "others that stay") {
    node n{stepped("sel-pack")};
    std::vector<int> kept, taken;
    constexpr int rounds = 5000;
    auto p = spawn(n, [&]() -> actor {
      co_await receive("go");  // sent last: everything is queued when the receives look
      for (int i = 0; i < rounds; ++i) taken.push_back((co_await receive("take")).get<int>(0));
      while (auto m = co_await receive(0ms)) kept.push_back(m->get<int>(0));
    });
    for (int i = 0; i < rounds; ++i) {
      if (i % 7 == 0) n.snd(p, "keep", i);
      n.snd(p, "take", i);
    }
    n.snd(p, "go");
    n.run_until_idle();
    std::vector<int> all(rounds), sevens;
    for (int i = 0; i < rounds; ++i) {
      all[static_cast<std::size_t>(i)] = i;
      if (i % 7 == 0) sevens.push_back(i);
    }
    CHECK(taken == all);
    CHECK(kept == sevens);
  }

  TEST_CASE("a waiting receive is satisfied by a later matching message, skipping others") {
    node n{stepped("sel2")};
    std::vector<std::string> seen;
    auto p = spawn(n, [&]() -> actor {
      seen.push_back(name(co_await receive("wanted")));
      seen.push_back(name(co_await receive()));
    });
    n.run_until_idle();  // the actor waits
    n.snd(p, "unwanted");
    n.run_until_idle();
    CHECK(seen.empty());
    n.snd(p, "wanted");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"wanted", "unwanted"});
  }

  TEST_CASE("a zero timeout polls: a queued match is returned, otherwise nullopt at once") {
    node n{stepped("sel3")};
    std::vector<std::string> seen;
    auto p = spawn(n, [&]() -> actor {
      auto none = co_await receive("x", 0ms);
      seen.push_back(none ? "found" : "nothing");
      co_await receive("go");
      auto some = co_await receive("x", 0ms);
      seen.push_back(some ? "found " + name(*some) : "nothing");
    });
    n.run_until_idle();
    n.snd(p, "x");
    n.snd(p, "go");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"nothing", "found x"});
  }

  TEST_CASE("a timed receive reports a timeout distinctly from an empty message") {
    node n{threaded("sel4")};
    test::probe got;
    auto p = spawn(n, [&]() -> actor {
      auto m = co_await receive("empty", 5s);
      got.add(m ? (m->size() == 0 ? "empty message" : "values") : "timeout");
      auto start = std::chrono::steady_clock::now();
      auto t = co_await receive("never", 30ms);
      got.add(t ? "message" : "timeout");
      got.add(std::chrono::steady_clock::now() - start >= 30ms ? "waited" : "too short");
    });
    n.snd(p, "empty");
    REQUIRE(got.wait_for(3));
    CHECK(got.events() == std::vector<std::string>{"empty message", "timeout", "waited"});
  }

  TEST_CASE("a message that arrives before the timeout wins and the timeout is forgotten") {
    node n{threaded("sel5")};
    test::probe got;
    auto p = spawn(n, [&]() -> actor {
      auto m = co_await receive("x", 200ms);
      got.add(m ? "got x" : "timeout");
      co_await sleep(300ms);  // past the first deadline: a stale timeout must not resume us
      got.add("slept");
      auto again = co_await receive("x", 0ms);
      got.add(again ? "another x" : "none");
    });
    n.snd(p, "x");
    REQUIRE(got.wait_for(3));
    CHECK(got.events() == std::vector<std::string>{"got x", "slept", "none"});
  }

  TEST_CASE("receive_if takes the first message that satisfies the predicate, whole") {
    node n{stepped("sel6")};
    std::vector<int> seen;
    auto p = spawn(n, [&]() -> actor {
      message m = co_await receive_if(
          [](const message& msg) { return msg.is<int>() && msg.get<int>(0) > 10; });
      seen.push_back(m.get<int>(0));
      message rest = co_await receive();
      seen.push_back(rest.get<int>(0));
    });
    n.snd(p, "n", 5);
    n.snd(p, "n", 50);
    n.run_until_idle();
    CHECK(seen == std::vector<int>{50, 5});
  }

  TEST_CASE("a multi-clause receive runs the first clause that matches and returns its value") {
    node n{stepped("sel7")};
    std::vector<int> seen;
    auto p = spawn(n, [&]() -> actor {
      for (int i = 0; i < 3; ++i) {
        int v = co_await receive(on("add", [](int a, int b) { return a + b; }),
                                 on("neg", [](int a) { return -a; }),
                                 when([](const message& m) { return m.tag() == tag{"zero"}; },
                                      [](message&) { return 0; }));
        seen.push_back(v);
      }
    });
    n.snd(p, "ignored", 1);
    n.snd(p, "add", std::string{"wrong types stay queued"});
    n.snd(p, "neg", 4);
    n.snd(p, "add", 1, 2);
    n.snd(p, "zero");
    n.run_until_idle();
    CHECK(seen == std::vector<int>{-4, 3, 0});
  }

  TEST_CASE("a multi-clause receive with a timeout returns nullopt when nothing matches") {
    node n{threaded("sel8")};
    test::probe got;
    auto p = spawn(n, [&]() -> actor {
      auto v = co_await receive_for(20ms, on("a", [](int x) { return x; }));
      got.add(v ? std::to_string(*v) : "timeout");
      auto done = co_await receive_for(5s, on("b", [&] { got.add("b handled"); }));
      got.add(done ? "matched" : "timeout");
    });
    n.snd(p, "unrelated");
    REQUIRE(got.wait_for(1));
    n.snd(p, "b");
    REQUIRE(got.wait_for(3));
    CHECK(got.events() == std::vector<std::string>{"timeout", "b handled", "matched"});
  }

  TEST_CASE("rcv tag handlers on the actor's port take precedence over its mailbox") {
    node n{stepped("sel9")};
    std::vector<std::string> seen;
    auto p = spawn(n, [&]() -> actor { seen.push_back("actor " + name(co_await receive())); });
    n.rcv(p, "control", [&] { seen.push_back("handler control"); });
    n.snd(p, "control");
    n.snd(p, "data");
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"handler control", "actor data"});
  }

  TEST_CASE("co_await call gets the reply, nothing on timeout, nothing from a dead target") {
    node n{threaded("sel10")};
    auto adder = n.port();
    n.rcv(adder, "add", [&](int a, int b, port_id r) { n.snd(r, "sum", a + b); });
    auto silent = n.port([](message&) {});
    auto doomed = n.port();
    n.rcv(doomed, "ask", [](port_id) { throw std::runtime_error{"no answer"}; });
    test::probe got;
    spawn(n, [&]() -> actor {
      reply r = co_await call(adder, "add", 2, 3);
      got.add(r ? std::to_string(r->get<int>(0)) : "none");
      reply t = co_await call(silent, "ask", 20ms);
      got.add(t ? "reply" : "timeout");
      reply d = co_await call(doomed, "ask");
      got.add(d ? "reply" : "dead");
    });
    REQUIRE(got.wait_for(3));
    CHECK(got.events() == std::vector<std::string>{"5", "timeout", "dead"});
  }

  TEST_CASE("an actor awaits an Asio timer and stays in its port's context") {
    node n{threaded("sel11")};
    test::probe got;
    auto p = spawn(n, [&]() -> actor {
      asio::steady_timer t{n.context(), 10ms};
      std::error_code ec = co_await t.async_wait(use_port);
      got.add((ec ? "error" : "expired") + std::string{" in "} + self().to_string());
      asio::steady_timer cancelled{n.context(), 1h};
      n.after(5ms, [&] { cancelled.cancel(); });
      std::error_code ec2 = co_await cancelled.async_wait(use_port);
      got.add(ec2 == asio::error::operation_aborted ? "aborted" : "other");
    });
    REQUIRE(got.wait_for(2));
    CHECK(got.events() == std::vector<std::string>{"expired in " + p.to_string(), "aborted"});
  }

  TEST_CASE("killing an actor that awaits an Asio operation drops the late completion") {
    std::atomic<bool> destroyed{false};
    struct flag {
      std::atomic<bool>* f;
      ~flag() { f->store(true); }
    };
    node n{threaded("sel12")};
    test::probe started;
    auto p = spawn(n, [&]() -> actor {
      flag f{&destroyed};
      asio::steady_timer t{n.context(), 50ms};
      started.add("waiting");
      co_await t.async_wait(use_port);
      started.add("resumed");  // must not happen
    });
    REQUIRE(started.wait_for(1));
    n.kil(p, "stop");
    REQUIRE(test::eventually([&] { return destroyed.load(); }));
    std::this_thread::sleep_for(100ms);  // past the timer: its completion arrives and is dropped
    CHECK(started.events() == std::vector<std::string>{"waiting"});
  }

  TEST_CASE(
      "a bounded mailbox drops the newest messages when full, a waiting receive still gets its "
      "match") {
    node n{stepped("sel13")};
    std::vector<int> seen;
    actor_options opts;
    opts.mailbox_limit = 2;
    opts.on_overflow = overflow_policy::drop_newest;
    auto p = spawn(n, opts, [&]() -> actor {
      co_await receive("go");
      for (;;) {
        auto m = co_await receive("n", 0ms);
        if (!m) break;
        seen.push_back(m->get<int>(0));
      }
    });
    n.run_until_idle();
    auto dropped_before = n.stats().messages_dropped;
    for (int i = 1; i <= 4; ++i) n.snd(p, "n", i);  // 1 and 2 queue; 3 and 4 are dropped
    n.snd(p, "go");  // the waiting receive takes it directly: it is never queued
    n.run_until_idle();
    CHECK(n.stats().messages_dropped == dropped_before + 2);
    CHECK(seen == std::vector<int>{1, 2});
  }

  TEST_CASE("a bounded mailbox with the kill policy kills the port with mailbox_overflow") {
    node n{stepped("sel14")};
    actor_options opts;
    opts.mailbox_limit = 3;
    opts.on_overflow = overflow_policy::kill;
    auto p = spawn(n, opts, [&]() -> actor { co_await receive("never"); });
    deaths got;
    auto g = n.mon(p, got.record());
    n.run_until_idle();
    for (int i = 0; i < 5; ++i) n.snd(p, "n", i);
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "mailbox_overflow");
  }

  TEST_CASE("many actors exchange messages across the pool with selective receives") {
    node n{threaded("sel15")};
    constexpr int pairs = 200;
    constexpr int rounds = 50;
    std::atomic<int> done{0};
    for (int i = 0; i < pairs; ++i) {
      auto ponger = spawn(n, [&]() -> actor {
        for (int r = 0; r < rounds; ++r) {
          message m = co_await receive("ping");
          n.snd(m.get<port_id>(0), "pong", r);
        }
      });
      spawn(n, [&, ponger]() -> actor {
        for (int r = 0; r < rounds; ++r) {
          n.snd(self(), "noise", r);  // left queued: selective receive skips it
          n.snd(ponger, "ping", self());
          message m = co_await receive("pong");
          if (m.get<int>(0) != r) throw std::runtime_error{"out of order"};
        }
        done.fetch_add(1);
      });
    }
    REQUIRE(test::eventually([&] { return done.load() == pairs; }, 60s));
  }
}
