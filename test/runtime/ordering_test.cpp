// Ordering and execution: per-sender FIFO across threads, serial handlers, the stepped mode,
// and a long ping-pong that must not grow the stack.
#include <doctest/doctest.h>

#include <atomic>
#include <coport/node.hpp>
#include <cstdint>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using namespace coport;
using namespace std::chrono_literals;

TEST_SUITE("ordering") {
  TEST_CASE("messages from each sender thread arrive in the order they were sent") {
    node_options o;
    o.id = "fifo";
    o.threads = 4;
    node n{o};
    constexpr int senders = 4;
    constexpr int per_sender = 20000;
    std::vector<int> last(senders, -1);
    std::atomic<int> violations{0};
    std::atomic<int> received{0};
    auto p = n.port();
    n.rcv(p, "seq", [&](int sender, int seq) {
      if (seq != last[sender] + 1) violations.fetch_add(1);
      last[sender] = seq;
      received.fetch_add(1, std::memory_order_release);
    });
    std::vector<std::thread> threads;
    for (int s = 0; s < senders; ++s) {
      threads.emplace_back([&, s] {
        for (int i = 0; i < per_sender; ++i) n.snd(p, "seq", s, i);
      });
    }
    for (auto& t : threads) t.join();
    REQUIRE(test::eventually([&] { return received.load() == senders * per_sender; }, 30s));
    CHECK(violations.load() == 0);
  }

  TEST_CASE("messages from one port to another keep their order across the pool") {
    node_options o;
    o.id = "fifo2";
    o.threads = 2;
    node n{o};
    test::probe done;
    std::vector<int> seen;
    auto receiver = n.port();
    n.rcv(receiver, "n", [&](int i) {
      seen.push_back(i);
      if (i == 9999) done.add("done");
    });
    auto sender = n.port();
    n.rcv(sender, "go", [&] {
      for (int i = 0; i < 10000; ++i) n.snd(receiver, "n", i);
    });
    n.snd(sender, "go");
    REQUIRE(done.wait_for(1));
    bool ordered = true;
    for (int i = 0; i < 10000; ++i) ordered = ordered && seen[i] == i;
    CHECK(ordered);
  }

  TEST_CASE("a handler that keeps sending to several ports keeps each pair's order") {
    // Past 64 sends a handler's messages to one port travel in batches; switching targets,
    // killing and returning must each push what is pending first.
    node n{node_options{.threads = 2}};
    constexpr int count = 5000;
    struct log {
      std::vector<int> seen;
      bool ended = false;
    };
    log a, b;
    test::probe ended;
    auto make_receiver = [&](log& l) {
      auto p = n.port();
      n.rcv(p, "n", [&l](int i) { l.seen.push_back(i); });
      n.rcv(p, "end", [&l, &ended] {
        l.ended = true;
        ended.add("end");
      });
      return p;
    };
    auto ra = make_receiver(a);
    auto rb = make_receiver(b);
    auto victim = n.port();
    n.rcv(victim, "n", [](int) {});
    test::probe victim_died;
    auto watch = n.mon(victim, [&](const reason& why) { victim_died.add(why.to_string()); });
    auto sender = n.port();
    n.rcv(sender, "go", [&] {
      for (int i = 0; i < count; ++i) {
        n.snd(ra, "n", i);
        if (i % 100 < 40) n.snd(rb, "n", i);  // runs of 40 to one port, then to both
        if (i == 3000) n.kil(victim, "stop");
        if (i < 3000) n.snd(victim, "n", i);
      }
      n.snd(ra, "end");  // the last of a batch: pushed when this handler returns
      n.snd(rb, "end");
    });
    n.snd(sender, "go");
    REQUIRE(ended.wait_for(2));
    std::vector<int> want_b;
    for (int i = 0; i < count; ++i) {
      if (i % 100 < 40) want_b.push_back(i);
    }
    CHECK(a.seen.size() == count);
    bool a_ordered = true;
    for (int i = 0; i < static_cast<int>(a.seen.size()); ++i)
      a_ordered = a_ordered && a.seen[i] == i;
    CHECK(a_ordered);
    CHECK(b.seen == want_b);
    REQUIRE(victim_died.wait_for(1));
    CHECK(victim_died.events()[0] == "stop");
  }

  TEST_CASE("a port's handlers never run concurrently with each other") {
    node_options o;
    o.id = "serial";
    o.threads = 4;
    node n{o};
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> count{0};
    auto p = n.port([&](message&) {
      if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
      std::this_thread::yield();
      inside.fetch_sub(1);
      count.fetch_add(1);
    });
    std::vector<std::thread> threads;
    for (int s = 0; s < 4; ++s) {
      threads.emplace_back([&] {
        for (int i = 0; i < 2000; ++i) n.snd(p, "x");
      });
    }
    for (auto& t : threads) t.join();
    REQUIRE(test::eventually([&] { return count.load() == 8000; }));
    CHECK(overlaps.load() == 0);
  }

  TEST_CASE("different ports run in parallel on the pool") {
    node_options o;
    o.id = "parallel";
    o.threads = 2;
    node n{o};
    std::atomic<int> arrived{0};
    std::atomic<int> met{0};
    std::atomic<int> done{0};
    auto make = [&] {
      return n.port([&](message&) {
        arrived.fetch_add(1);
        // Each handler waits (bounded) for the other: only parallel execution lets both see 2.
        if (test::eventually([&] { return arrived.load() >= 2; }, 5s)) met.fetch_add(1);
        done.fetch_add(1);
      });
    };
    auto a = make();
    auto b = make();
    n.snd(a, "x");  // both sent from outside the pool, the second while the first may run
    n.snd(b, "x");
    REQUIRE(test::eventually([&] { return done.load() == 2; }, 15s));
    CHECK(met.load() == 2);
  }

  TEST_CASE("the stepped mode runs one message per step, ports in the order they became ready") {
    node_options o;
    o.id = "steps";
    o.mode = run_mode::deterministic;
    node n{o};
    std::vector<std::string> log;
    auto a = n.port([&](message& m) { log.push_back("a:" + std::string{m.tag().name()}); });
    auto b = n.port([&](message& m) { log.push_back("b:" + std::string{m.tag().name()}); });
    n.snd(a, "1");
    n.snd(b, "1");
    n.snd(a, "2");
    CHECK(log.empty());
    CHECK(n.step());
    CHECK(log == std::vector<std::string>{"a:1"});
    CHECK(n.step());
    CHECK(log == std::vector<std::string>{"a:1", "b:1"});
    CHECK(n.step());
    CHECK(log == std::vector<std::string>{"a:1", "b:1", "a:2"});
    CHECK_FALSE(n.step());
  }

  TEST_CASE("step is refused on a node that runs its own threads") {
    node_options o;
    o.id = "nostep";
    o.threads = 1;
    node n{o};
    CHECK_THROWS_AS(n.step(), std::logic_error);
  }

  TEST_CASE("a million-round local ping-pong does not grow the stack") {
    node_options o;
    o.id = "pingpong";
    o.threads = 1;
    node n{o};
    constexpr int rounds = 1'000'000;
    std::uintptr_t first_depth = 0;
    std::uintptr_t max_spread = 0;
    test::probe done;
    auto pong = n.port();
    auto ping = n.port();
    n.rcv(pong, "ping", [&](int i) { n.snd(ping, "pong", i); });
    n.rcv(ping, "pong", [&](int i) {
      int marker = 0;
      auto here = reinterpret_cast<std::uintptr_t>(&marker);
      if (first_depth == 0) first_depth = here;
      auto spread = here > first_depth ? here - first_depth : first_depth - here;
      if (spread > max_spread) max_spread = spread;
      if (i + 1 == rounds) {
        done.add("done");
      } else {
        n.snd(pong, "ping", i + 1);
      }
    });
    n.snd(pong, "ping", 0);
    REQUIRE(done.wait_for(1, 60s));
    CHECK(max_spread < 4096);
  }
}
