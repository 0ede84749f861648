// The node: identity, embedding in a user's io_context, and shutdown.
#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <coport/node.hpp>
#include <thread>

#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace std::chrono_literals;

TEST_SUITE("node") {
  TEST_CASE("an anon/ node gets a random ID, two of them differ") {
    node_options o;
    o.mode = run_mode::deterministic;
    node a{o};
    node b{o};
    CHECK(a.id().rfind("anon/", 0) == 0);
    CHECK(a.id().size() > 5);
    CHECK(a.id() != b.id());
    CHECK(valid_node_id(a.id()));
  }

  TEST_CASE("a malformed node ID is refused at construction") {
    node_options o;
    o.id = "has space";
    o.mode = run_mode::deterministic;
    CHECK_THROWS_AS(node{o}, std::invalid_argument);
  }

  TEST_CASE("the node port is the bare node ID and lives on the node") {
    node_options o;
    o.id = "named-node";
    o.mode = run_mode::deterministic;
    node n{o};
    CHECK(n.node_port().to_string() == "named-node");
    CHECK(n.node_port().is_node_port());
    CHECK(n.is_local(n.node_port()));
    CHECK_FALSE(n.is_local(port_id{"other", 1}));
    auto p = n.port();
    CHECK(p.to_string().rfind("named-node#", 0) == 0);
    n.snd(n.node_port(), "hello");  // ignored (logged), not fatal
    n.run_until_idle();
  }

  TEST_CASE(
      "a service gets the node port's messages with its tag, in order, until its guard ends") {
    node_options o;
    o.id = "served";
    o.mode = run_mode::deterministic;
    node n{o};
    std::vector<int> got;
    auto service = n.port();
    n.rcv(service, "count", [&](int i) { got.push_back(i); });
    auto guard = n.serve("count", service);
    CHECK_THROWS_AS(n.serve("count", n.port()), std::invalid_argument);  // taken
    CHECK_THROWS_AS(n.serve("ping", service), std::invalid_argument);    // the node's own
    CHECK_THROWS_AS(n.serve("other", port_id{"elsewhere", 3}), std::invalid_argument);
    for (int i = 0; i < 5; ++i) n.snd(n.node_port(), "count", i);
    n.run_until_idle();
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    guard.cancel();
    n.snd(n.node_port(), "count", 9);  // no service now: logged and ignored
    n.run_until_idle();
    CHECK(got.size() == 5);
    auto again = n.serve("count", service);  // free again
    n.kil(service);
    n.run_until_idle();
    auto other = n.port();
    n.rcv(other, "count", [&](int i) { got.push_back(-i); });
    auto third = n.serve("count", other);  // the dead port's service ended with it
    n.snd(n.node_port(), "count", 7);
    n.run_until_idle();
    CHECK(got.back() == -7);
  }

  TEST_CASE(
      "a served tag from another node goes to its service at once, not through the node port") {
    node n{coport::test::stepped("served-once")};
    std::vector<int> got;
    auto service = n.port();
    n.rcv(service, "count", [&](int i) { got.push_back(i); });
    auto guard = n.serve("count", service);
    const port_id from{"served-once-peer", 0};  // interns the peer's ID, as a link would
    REQUIRE(from.is_node_port());
    n.run_until_idle();  // the handler is in place
    for (int i = 0; i < 3; ++i) {
      REQUIRE(coport::test::link_end(n).deliver(n.node_port(), message::make("count", i),
                                                "served-once-peer"));
    }
    REQUIRE(n.step());  // one message run: the service's (it used to be the node port's)
    CHECK(got == std::vector<int>{0});
    n.run_until_idle();
    CHECK(got == std::vector<int>{0, 1, 2});
  }

  TEST_CASE("an embedded node runs its ports on the user's io_context and threads") {
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    std::thread runner{[&] { io.run(); }};
    std::thread::id port_thread;
    {
      node n{io, node_options{.id = "embedded"}};
      test::probe got;
      auto p = n.port();
      n.rcv(p, "ping", [&](int v) {
        port_thread = std::this_thread::get_id();
        got.add(std::to_string(v));
      });
      n.snd(p, "ping", 3);
      REQUIRE(got.wait_for(1));
      CHECK(port_thread == runner.get_id());
      // The application's own handlers keep running beside the node's.
      test::probe app;
      asio::steady_timer t{io, 1ms};
      t.async_wait([&](std::error_code) { app.add("app"); });
      REQUIRE(app.wait_for(1));
    }
    work.reset();
    runner.join();
  }

  TEST_CASE("an embedded node can be destroyed while its io_context is not running") {
    asio::io_context io;
    test::probe deaths;
    {
      node n{io, node_options{.id = "embedded-idle"}};
      auto p = n.port([](message&) {});
      n.snd(p, "queued");
      n.mon(p, [&](const reason& r) { deaths.add(r.to_string()); }).release();
    }
    io.run();  // runs what the node posted for the user's context (the monitor callback)
    CHECK(deaths.events() == std::vector<std::string>{"shutdown"});
  }

  TEST_CASE("shutdown kills every live port with shutdown and fires their monitors") {
    test::probe deaths;
    std::atomic<int> destroyed{0};
    struct sentinel {
      std::atomic<int>* counter;
      sentinel(std::atomic<int>* c) : counter{c} {}
      sentinel(sentinel&& o) noexcept : counter{std::exchange(o.counter, nullptr)} {}
      ~sentinel() {
        if (counter) counter->fetch_add(1);
      }
    };
    {
      node_options o;
      o.id = "shutdown";
      o.threads = 2;
      node n{o};
      for (int i = 0; i < 100; ++i) {
        auto p = n.port([s = sentinel{&destroyed}](message&) {});
        n.mon(p, [&](const reason& r) { deaths.add(r.to_string()); }).release();
      }
      auto busy = n.port();
      n.rcv(busy, "spin", [&](int k) { n.snd(busy, "spin", k + 1); });  // keeps itself busy
      n.snd(busy, "spin", 0);
    }
    CHECK(deaths.size() == 100);
    for (auto& e : deaths.events()) CHECK(e == "shutdown");
    CHECK(destroyed.load() == 100);
  }

  TEST_CASE("statistics count created, alive and dropped") {
    node_options o;
    o.id = "stats";
    o.mode = run_mode::deterministic;
    node n{o};
    auto base = n.stats();
    auto p = n.port([](message&) {});
    CHECK(n.stats().ports_created == base.ports_created + 1);
    CHECK(n.stats().ports_alive == base.ports_alive + 1);
    n.kil(p);
    n.run_until_idle();
    CHECK(n.stats().ports_alive == base.ports_alive);
    n.snd(p, "x");
    CHECK(n.stats().messages_dropped == base.messages_dropped + 1);
  }

  TEST_CASE("messages_handled counts each message a port takes from its mailbox") {
    node n{test::stepped("handled")};
    int seen = 0;
    auto p = n.port();
    n.rcv(p, "x", [&](int) { ++seen; });
    n.run_until_idle();  // installing a handler is a message to the port too
    auto base = n.stats().messages_handled;
    for (int i = 0; i < 7; ++i) n.snd(p, "x", i);
    CHECK(n.stats().messages_handled == base);  // queued, not handled
    n.run_until_idle();
    CHECK(seen == 7);
    CHECK(n.stats().messages_handled == base + 7);
    // On threads, a runner adds its count when its job ends.
    node t{test::threaded("handled-threads")};
    test::probe got;
    auto q = t.port();
    t.rcv(q, "x", [&](int) { got.add("x"); });
    t.snd(q, "x", -1);
    REQUIRE(got.wait_for(1));  // the handler's install is counted by now
    REQUIRE(test::eventually([&] { return t.stats().messages_handled >= 2; }));
    auto before = t.stats().messages_handled;
    for (int i = 0; i < 1000; ++i) t.snd(q, "x", i);
    REQUIRE(got.wait_for(1001));
    CHECK(test::eventually([&] { return t.stats().messages_handled == before + 1000; }));
  }

  TEST_CASE("a node stepped from another node's handler counts its messages once") {
    node a{test::stepped("outer")}, b{test::stepped("inner")};
    auto pb = b.port();
    b.rcv(pb, "x", [](int) {});
    b.run_until_idle();
    for (int i = 0; i < 5; ++i) b.snd(pb, "x", i);
    auto pa = a.port();
    a.rcv(pa, "go", [&] { b.run_until_idle(); });
    a.run_until_idle();
    const auto a0 = a.stats().messages_handled, b0 = b.stats().messages_handled;
    a.snd(pa, "go");
    a.run_until_idle();
    CHECK(b.stats().messages_handled == b0 + 5);
    CHECK(a.stats().messages_handled == a0 + 1);  // its own "go" only
  }

  TEST_CASE(
      "a measured port reports its mailbox and handled messages and times every handler run") {
    node n{test::stepped("measured")};
    int seen = 0;
    auto p = n.port();
    n.rcv(p, "x", [&](int) { ++seen; });
    n.run_until_idle();
    CHECK(n.measured().empty());
    REQUIRE(n.measure(p, "worker"));
    CHECK_FALSE(n.measure(p, "again"));  // measured already
    for (int i = 0; i < 5; ++i) n.snd(p, "x", i);
    auto f = n.measured();
    REQUIRE(f.size() == 1);
    CHECK(f[0].port == p.to_string());
    CHECK(f[0].name == "worker");
    CHECK(f[0].mailbox == 5);
    CHECK(f[0].handled == 0);
    n.run_until_idle();
    f = n.measured();
    REQUIRE(f.size() == 1);
    CHECK(f[0].mailbox == 0);
    CHECK(f[0].handled == 5);
    CHECK(f[0].handler_time.count == 5);
    std::uint64_t in_buckets = 0;
    for (auto c : f[0].handler_time.counts) in_buckets += c;
    CHECK(in_buckets == 5);
    // A dead port is no longer listed; a dead or foreign port cannot be measured.
    n.kil(p);
    n.run_until_idle();
    CHECK(n.measured().empty());
    CHECK_FALSE(n.measure(p, "dead"));
    CHECK_FALSE(n.measure(port_id{"elsewhere", 5}, "foreign"));
  }

  TEST_CASE("ports spawned from inits that node_options::measure names are measured") {
    node_options o = test::stepped("measure-inits");
    o.measure = {"work*"};
    node n{o};
    n.register_init("worker", [] {});
    n.register_init("other", [] {});
    auto w = n.spawn(n.id(), "worker");
    auto x = n.spawn(n.id(), "other");
    n.run_until_idle();
    auto f = n.measured();
    REQUIRE(f.size() == 1);
    CHECK(f[0].port == w.to_string());
    CHECK(f[0].name == "worker");
    CHECK(x != w);
  }

  TEST_CASE("the node's handler histogram times one port run in 64") {
    node n{test::stepped("sampled")};
    auto p = n.port();
    n.rcv(p, "x", [](int) {});
    n.run_until_idle();
    // Ports killed before it: runs that handle nothing (teardowns) pass their turn on.
    for (int i = 0; i < 100; ++i) {
      auto dead = n.port();
      n.kil(dead);
    }
    n.run_until_idle();
    auto before = n.stats().handler_time.count;
    for (int i = 0; i < 640; ++i) n.snd(p, "x", i);
    n.run_until_idle();
    // Stepped, each step runs one message: of 640 steps, every 64th is timed.
    CHECK(n.stats().handler_time.count == before + 10);
  }

  TEST_CASE("stats name the deepest mailbox a sampled run saw, and which port it was") {
    node n{test::stepped("deepest")};
    auto quiet = n.port();
    n.rcv(quiet, "x", [](int) {});
    auto busy = n.port();
    n.rcv(busy, "x", [](int) {});
    n.run_until_idle();
    CHECK(n.stats().deepest_mailbox <= 1);
    n.snd(quiet, "x", 0);
    for (int i = 0; i < 900; ++i) n.snd(busy, "x", i);
    n.run_until_idle();
    // Stepped: one message a step, every 64th step sampled; the first sample of busy finds
    // at most 64 fewer than 900 queued.
    auto st = n.stats();
    CHECK(st.deepest_mailbox > 800);
    CHECK(st.deepest_mailbox <= 900);
    CHECK(st.deepest_port == busy.to_string());
  }

  TEST_CASE("several nodes live in one process without mixing their ports") {
    node_options o;
    o.mode = run_mode::deterministic;
    o.id = "one";
    node a{o};
    o.id = "two";
    node b{o};
    auto pa = a.port([](message&) {});
    CHECK(a.is_local(pa));
    CHECK_FALSE(b.is_local(pa));
    auto before = b.stats().messages_dropped;
    b.snd(pa, "x");  // no transport between them: dropped by b
    CHECK(b.stats().messages_dropped == before + 1);
  }
}

TEST_SUITE("node") {
  TEST_CASE("shutdown from one of the node's own ports or threads is refused and changes nothing") {
    test::probe refused;
    {
      node_options o;
      o.id = "self-shutdown";
      o.threads = 1;
      node n{o};
      auto p = n.port([&](message&) {
        try {
          n.shutdown();
        } catch (const std::logic_error&) {
          refused.add("port");
        }
      });
      n.snd(p, "x");
      REQUIRE(refused.wait_for(1));
      // A callback posted outside any port still runs on the node's thread.
      auto q = n.port([](message&) {});
      n.mon(q, [&](const reason&) {
         try {
           n.shutdown();
         } catch (const std::logic_error&) {
           refused.add("thread");
         }
       }).release();
      n.kil(q);
      REQUIRE(refused.wait_for(2));
    }  // the destructor still shuts the node down
    CHECK(refused.events() == std::vector<std::string>{"port", "thread"});
  }
}

TEST_SUITE("node") {
  TEST_CASE("absurd options are refused with an error that names them") {
    node_options o;
    o.threads = 100000;
    CHECK_THROWS_WITH_AS(node{o}, doctest::Contains("threads"), std::invalid_argument);
    asio::io_context io;
    node_options d;
    d.mode = run_mode::deterministic;
    CHECK_THROWS_AS((node{io, d}), std::invalid_argument);
  }
}
