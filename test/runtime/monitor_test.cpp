// Monitors: the four forms of mon, guards, one-shot firing, no_such_port, mon_guard.
#include <doctest/doctest.h>

#include <mutex>
#include <thread>

#include <coport/node.hpp>
#include <coport/remote.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/deaths.hpp"
#include "support/nodes.hpp"
#include "support/probe.hpp"

using namespace coport;
using coport::test::deaths;
using coport::test::stepped;
using coport::test::threaded;

namespace {

port_id sink(node& n) {
  return n.port([](message&) {});
}

}  // namespace

TEST_SUITE("monitors") {
  TEST_CASE("a callback monitor gets an empty reason for a normal kil") {
    node n{stepped("mon")};
    auto p = sink(n);
    deaths got;
    auto g = n.mon(p, got.record());
    n.kil(p);
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].normal());
  }

  TEST_CASE("a callback monitor gets the reason of an abnormal kil") {
    node n{stepped("mon")};
    auto p = sink(n);
    deaths got;
    auto g = n.mon(p, got.record());
    n.kil(p, "oops", "detail");
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0] == reason{"oops", "detail"});
  }

  TEST_CASE("a link kills the linked port with the same reason on an abnormal death only") {
    node n{stepped("mon")};
    auto watched = sink(n);
    auto linked = sink(n);
    std::vector<reason> linked_death;
    auto g1 = n.mon(watched, linked);
    auto g2 = n.mon(linked, [&](const reason& r) { linked_death.push_back(r); });
    n.kil(watched, "crash");
    n.run_until_idle();
    REQUIRE(linked_death.size() == 1);
    CHECK(linked_death[0] == reason{"crash"});

    auto watched2 = sink(n);
    auto linked2 = sink(n);
    std::vector<reason> linked2_death;
    auto g3 = n.mon(watched2, linked2);
    auto g4 = n.mon(linked2, [&](const reason& r) { linked2_death.push_back(r); });
    n.kil(watched2);  // normal: the link does nothing
    n.run_until_idle();
    CHECK(linked2_death.empty());
    n.kil(linked2);
    n.run_until_idle();
    CHECK(linked2_death.size() == 1);
  }

  TEST_CASE("mon(port) inside a port links the port to the current one") {
    node n{stepped("mon")};
    auto watched = sink(n);
    std::vector<reason> me_death;
    auto me = n.port();
    n.rcv(me, "watch", [&](port_id target) { n.mon(target).release(); });
    auto g = n.mon(me, [&](const reason& r) { me_death.push_back(r); });
    n.snd(me, "watch", watched);
    n.run_until_idle();
    n.kil(watched, "bad");
    n.run_until_idle();
    REQUIRE(me_death.size() == 1);
    CHECK(me_death[0] == reason{"bad"});
    CHECK_THROWS_AS((void)n.mon(watched), std::logic_error);
  }

  TEST_CASE("a message monitor sends its message with the reason appended") {
    node n{stepped("mon")};
    auto watched = sink(n);
    std::vector<std::string> got;
    auto receiver = n.port();
    n.rcv(receiver, "down", [&](int token, const reason& r) {
      got.push_back(std::to_string(token) + " " + r.to_string());
    });
    auto g = n.mon(watched, receiver, "down", 7);
    n.kil(watched, "gone");
    n.run_until_idle();
    CHECK(got == std::vector<std::string>{"7 gone"});

    auto watched2 = sink(n);
    auto g2 = n.mon(watched2, receiver, "down", 8);
    n.kil(watched2);
    n.run_until_idle();
    CHECK(got.back() == "8 normal");
  }

  TEST_CASE("monitoring a dead or unknown port fires at once with no_such_port") {
    node n{stepped("mon")};
    auto p = sink(n);
    n.kil(p);
    n.run_until_idle();
    deaths got;
    auto g1 = n.mon(p, got.record());
    auto g2 = n.mon(port_id{n.id(), 4242}, got.record());
    CHECK(got.empty());  // not inside the mon call
    n.run_until_idle();
    REQUIRE(got.size() == 2);
    CHECK(got[0].kind() == "no_such_port");
    CHECK(got[1].kind() == "no_such_port");
    CHECK(got[1].detail().find(n.id() + "#4242") != std::string::npos);
  }

  TEST_CASE("destroying the guard cancels the monitor, release keeps it") {
    node n{stepped("mon")};
    auto p = sink(n);
    int cancelled_calls = 0;
    int kept_calls = 0;
    {
      auto g = n.mon(p, [&](const reason&) { ++cancelled_calls; });
    }
    n.mon(p, [&](const reason&) { ++kept_calls; }).release();
    auto g = n.mon(p, [&](const reason&) { ++cancelled_calls; });
    g.cancel();
    n.kil(p, "x");
    n.run_until_idle();
    CHECK(cancelled_calls == 0);
    CHECK(kept_calls == 1);
  }

  TEST_CASE("a monitor fires once even when the port is killed twice") {
    node n{stepped("mon")};
    auto p = sink(n);
    deaths got;
    auto g = n.mon(p, got.record());
    n.kil(p, "first");
    n.kil(p, "second");
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0] == reason{"first"});
  }

  TEST_CASE("mon_guard keeps objects alive until the port dies") {
    node n{stepped("mon")};
    auto p = sink(n);
    auto held = std::make_shared<int>(1);
    std::weak_ptr<int> watch = held;
    n.mon_guard(p, std::move(held)).release();
    n.run_until_idle();
    CHECK_FALSE(watch.expired());
    n.kil(p);
    n.run_until_idle();
    CHECK(watch.expired());
  }

  TEST_CASE("a monitor made inside a port runs its callback in that port's context") {
    node n{stepped("mon")};
    auto watched = sink(n);
    port_id ran_in;
    auto watcher = n.port();
    n.rcv(watcher, "watch", [&](port_id target) {
      n.mon(target, [&](const reason&) { ran_in = self(); }).release();
    });
    n.snd(watcher, "watch", watched);
    n.run_until_idle();
    n.kil(watched);
    n.run_until_idle();
    CHECK(ran_in == watcher);
  }

  TEST_CASE("monitoring a port of another node without a transport fires transport_error") {
    node n{stepped("mon")};
    deaths got;
    auto g = n.mon(port_id{"far-away", 3}, got.record());
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind() == "transport_error");
  }

  TEST_CASE("a guard may outlive its node") {
    std::optional<monitor> g;
    {
      node n{stepped("mon")};
      auto p = sink(n);
      g.emplace(n.mon(p, [](const reason&) {}));
    }
    g.reset();  // must not touch freed memory (checked under ASan)
  }
}

namespace {

/// A transport stand-in that records what the node asks of it.
struct recording_link : remote_link {
  std::vector<std::string> calls;
  void send(const port_id& to, message m) override {
    calls.push_back("send " + to.to_string() + " " + std::string{m.tag().name()});
  }
  void kill(const port_id& target, const reason& why) override {
    calls.push_back("kill " + target.to_string() + " " + why.to_string());
  }
  void watch(const port_id& target) override { calls.push_back("watch " + target.to_string()); }
  void unwatch(const port_id& target) override { calls.push_back("unwatch " + target.to_string()); }
  port_id spawn(const port_id& p, std::string_view init, message, bool watched) override {
    calls.push_back("spawn " + std::string{init} + (watched ? " watched" : ""));
    return p;
  }
};

}  // namespace

TEST_SUITE("monitors") {
  TEST_CASE("monitors on a remote port go through the transport: watch, unwatch, death") {
    node n{stepped("mon-remote")};
    auto link = std::make_shared<recording_link>();
    const node_link end = n.plug(link);
    port_id far{"far-node", 7};
    deaths got;
    {
      auto first = n.mon(far, got.record());
      auto second = n.mon(far, got.record());
      first.cancel();  // one monitor left: no unwatch yet
    }                  // the last guard cancels: unwatch
    CHECK(link->calls == std::vector<std::string>{"watch far-node#7", "unwatch far-node#7"});

    auto kept = n.mon(far, got.record());
    end.remote_port_died(far, reason{"gone"});
    n.run_until_idle();
    REQUIRE(got.size() == 1);
    CHECK(got[0] == reason{"gone"});
    kept.cancel();  // already fired: nothing to unwatch
    CHECK(link->calls.back() == "watch far-node#7");

    auto on_lost = n.mon(port_id{"lost-node", 3}, got.record());
    end.remote_node_lost("lost-node", reason{"transport_error", "lost-node", "connection reset"});
    n.run_until_idle();
    REQUIRE(got.size() == 2);
    CHECK(got[1].kind() == "transport_error");

    n.snd(far, "hello");
    n.kil(far, "stop");
    CHECK(link->calls.back() == "kill far-node#7 stop");
    CHECK(link->calls[link->calls.size() - 2] == "send far-node#7 hello");
  }

  TEST_CASE("watch and unwatch of one remote target reach the link in the order they were made") {
    // Two threads add and drop monitors on the same remote port as fast as they can; the
    // link must see watch, unwatch, watch, ... and end watched exactly when a monitor is left.
    struct ordering_link : remote_link {
      std::mutex m;
      std::vector<char> calls;
      void send(const port_id&, message) override {}
      void kill(const port_id&, const reason&) override {}
      void watch(const port_id&) override {
        std::lock_guard l{m};
        calls.push_back('w');
      }
      void unwatch(const port_id&) override {
        // A pause before recording: a watch decided after this unwatch but made outside the
        // node's lock (as before) would overtake it, and the link would end unwatched while
        // a monitor is left.
        for (int i = 0; i < 100; ++i) std::this_thread::yield();
        std::lock_guard l{m};
        calls.push_back('u');
      }
      port_id spawn(const port_id& p, std::string_view, message, bool) override { return p; }
    };
    node n{threaded("mon-order")};
    auto link = std::make_shared<ordering_link>();
    n.plug(link);
    port_id far{"far-order", 9};
    auto churn = [&] {
      for (int i = 0; i < 5'000; ++i) {
        auto g = n.mon(far, [](const reason&) {});
      }
    };
    std::thread a{churn}, b{churn};
    a.join();
    b.join();
    std::lock_guard l{link->m};
    REQUIRE(!link->calls.empty());
    for (std::size_t i = 0; i < link->calls.size(); ++i) {
      REQUIRE(link->calls[i] == (i % 2 == 0 ? 'w' : 'u'));
    }
    CHECK(link->calls.back() == 'u');
  }
}
