// Node events (mon_nodes): who is told that a node came up or went down, in which context,
// and that a cancelled guard's callback never runs afterwards.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <coport/node.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using coport::test::link_end;
using coport::test::stepped;
using coport::test::threaded;

TEST_SUITE("node_events") {
  TEST_CASE("a node event reaches every callback, in the port it was made in when made in one") {
    node n{stepped("ev-main")};
    std::vector<std::string> outside, inside;
    std::vector<port_id> contexts;
    auto a = n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      outside.push_back(id + (up ? std::string{" up"} : " down " + std::string{why.kind()}));
    });
    port_id p = n.port([](message&) {});
    subscription b;
    n.peval(p, [&] {
      b = n.mon_nodes([&](const std::string& id, bool up, const reason&) {
        inside.push_back(id + (up ? " up" : " down"));
        contexts.push_back(self());
      });
    });
    n.run_until_idle();
    link_end(n).remote_node_up("ev-peer");
    link_end(n).remote_node_lost("ev-peer", reason{"transport_error"});
    n.run_until_idle();
    CHECK(outside == std::vector<std::string>{"ev-peer up", "ev-peer down transport_error"});
    CHECK(inside == std::vector<std::string>{"ev-peer up", "ev-peer down"});
    CHECK(contexts == std::vector<port_id>{p, p});
  }

  TEST_CASE("a callback made outside a port never runs after its guard was cancelled") {
    node n{stepped("ev-cancel-out")};
    auto freed = std::make_unique<int>(0);  // what the callback touches, freed after cancel
    int* counter = freed.get();
    int late = 0;
    auto guard = n.mon_nodes([counter, &late](const std::string&, bool, const reason&) {
      ++late;
      ++*counter;
    });
    link_end(n).remote_node_up("ev-peer");  // the event is queued as a job, not run yet
    guard.cancel();
    freed.reset();
    n.run_until_idle();  // (ASan builds also see a use of the freed counter)
    CHECK(late == 0);
    int after = 0;
    auto again = n.mon_nodes([&](const std::string&, bool, const reason&) { ++after; });
    link_end(n).remote_node_lost("ev-peer", reason{"gone"});
    n.run_until_idle();
    CHECK(after == 1);
  }

  TEST_CASE("a callback made in a port never runs after its guard was cancelled") {
    node n{stepped("ev-cancel-in")};
    int calls = 0;
    port_id p = n.port([](message&) {});
    subscription guard;
    n.peval(
        p, [&] { guard = n.mon_nodes([&](const std::string&, bool, const reason&) { ++calls; }); });
    n.run_until_idle();
    link_end(n).remote_node_up("ev-peer");
    guard.cancel();
    n.run_until_idle();
    CHECK(calls == 0);
  }

  TEST_CASE("on worker threads, what a cancelled callback touched may be freed at once") {
    // (ASan and TSan builds catch a call after cancel; this one counts the calls.)
    node n{threaded("ev-threads")};
    std::atomic<int> late{0};
    for (int i = 0; i < 200; ++i) {
      auto state = std::make_unique<std::atomic<bool>>(false);
      auto* cancelled = state.get();
      auto guard = n.mon_nodes([cancelled, &late](const std::string&, bool, const reason&) {
        if (cancelled->load()) ++late;
      });
      link_end(n).remote_node_up("ev-peer-" + std::to_string(i));
      guard.cancel();
      cancelled->store(true);
      state.reset();
    }
    n.shutdown();
    CHECK(late == 0);
  }

  TEST_CASE("events reach a busy callback in order, one call at a time") {
    node n{stepped("ev-order")};
    std::vector<std::string> seen;
    auto guard = n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      seen.push_back(id + (up ? "+" : "-"));
    });
    for (int i = 0; i < 5; ++i) {
      link_end(n).remote_node_up("ev-" + std::to_string(i));
      link_end(n).remote_node_lost("ev-" + std::to_string(i), reason{"gone"});
    }
    n.run_until_idle();
    CHECK(seen == std::vector<std::string>{"ev-0+", "ev-0-", "ev-1+", "ev-1-", "ev-2+", "ev-2-",
                                           "ev-3+", "ev-3-", "ev-4+", "ev-4-"});
  }

  TEST_CASE("a callback may cancel its own guard: it runs to its end and never again") {
    node n{threaded("ev-self")};
    std::atomic<int> calls{0};
    std::atomic<bool> done{false};
    auto guard = std::make_shared<subscription>();
    *guard = n.mon_nodes([&, guard](const std::string&, bool, const reason&) {
      ++calls;
      guard->cancel();
      done = true;
    });
    link_end(n).remote_node_up("ev-peer");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (!done && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    link_end(n).remote_node_lost("ev-peer", reason{"gone"});
    n.shutdown();
    CHECK(done);
    CHECK(calls == 1);
  }
}
