// The node-to-node protocol on deterministic in-process nodes (in-memory links, virtual time).
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/serialize.hpp>
#include <string>
#include <vector>

#include "support/cluster.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

struct point {
  int x = 0;
  int y = 0;
  port_id owner;
  std::vector<std::string> labels;
  template <class A>
  void serialize(A& a) {
    a(x, y, owner, labels);
  }
  friend bool operator==(const point&, const point&) = default;
};

struct not_registered {
  int v = 0;
};

const bool point_registered = [] {
  register_type<point>("test.point");
  return true;
}();

}  // namespace

TEST_SUITE("transport.protocol") {
  TEST_CASE("linked nodes see each other up, and down when the link breaks") {
    cluster c{{"up-a", "up-b"}};
    CHECK(c[0].up_nodes() == std::vector<std::string>{"up-b"});
    CHECK(c[1].up_nodes() == std::vector<std::string>{"up-a"});
    CHECK(c.transport(0).incarnation_of("up-b") == c[1].incarnation());

    std::vector<std::string> events;
    auto sub = c[0].mon_nodes([&](const std::string& id, bool up, const reason& why) {
      events.push_back(id + (up ? " up" : " down: " + why.to_string()));
    });
    c.link(0, 1).break_link("cable cut");
    c.run();
    REQUIRE(events.size() == 1);
    CHECK(events[0] == "up-b down: transport_error: up-b: cable cut");
    CHECK(c[0].up_nodes().empty());
    CHECK(c[1].up_nodes().empty());
  }

  TEST_CASE("a typed handler takes a message that came from another node") {
    cluster c{{"typed-a", "typed-b"}};
    std::vector<std::string> got;
    auto p = c[1].port();
    c[1].rcv(p, "add", [&](int by, std::string who) { got.push_back(who + std::to_string(by)); });
    c.run();
    c[0].snd(p, "add", 5, "five");
    c.expect<int, std::string>("add").from(0).to(p);
    c.run();
    CHECK(got == std::vector<std::string>{"five5"});
  }

  TEST_CASE("tags, type lists and node IDs cross a link once, then by number") {
    cluster c{{"names-a", "names-b", "names-c"}};
    auto p = c[1].port([](message&) {});
    auto third = c[2].port();
    c.run();
    c.received(1).clear();
    for (int i = 0; i < 100; ++i) c[0].snd(p, "same", i, third);
    c.run();
    std::map<std::string, int> kinds;
    for (auto& e : c.received(1)) ++kinds[e.kind];
    CHECK(kinds["message"] == 100);
    CHECK(kinds["def_tag"] == 1);
    CHECK(kinds["def_sig"] == 1);
    CHECK(kinds["def_node"] == 1);  // names-c, for the port ID inside the payload
    CHECK(c.transport(1).stats().messages_received == 100);
  }

  TEST_CASE("a cal whose target's node restarts is answered once, with nothing") {
    cluster c{{"calr-a", "calr-b"}};
    auto server = c[1].port();
    c[1].rcv(server, "ignore", [](int, port_id) {});
    c.run();
    int calls = 0;
    c[0].cal(server, "ignore", 1, [&](reply r) { calls += r ? 100 : 1; });
    c.run();
    c.restart(1);
    c.advance(1h);
    CHECK(calls == 1);
  }

  TEST_CASE("messages from one sender to a remote port arrive in the order sent") {
    cluster c{{"fifo-a", "fifo-b"}};
    std::vector<int> got;
    auto p = c[1].port();
    c[1].rcv(p, "n", [&](int i) { got.push_back(i); });
    c.run();
    auto sender = c[0].port();
    c[0].rcv(sender, "go", [&](port_id to) {
      for (int i = 0; i < 2000; ++i) c[0].snd(to, "n", i);
    });
    c[0].snd(sender, "go", p);
    c.run();
    REQUIRE(got.size() == 2000);
    for (int i = 0; i < 2000; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
  }

  TEST_CASE("built-in and registered types cross intact, port IDs included") {
    cluster c{{"types-a", "types-b", "types-c"}};
    auto p = c[1].port();
    auto third = c[2].port();  // a port of a third node travels inside the payload
    std::vector<point> pts;
    std::map<std::string, std::optional<double>> dict;
    std::tuple<std::int8_t, std::uint64_t, bool, float> tup{};
    std::vector<std::byte> bytes;
    reason why;
    port_id back;
    c[1].rcv(p, "pts", [&](std::vector<point> v) { pts = std::move(v); });
    c[1].rcv(p, "dict", [&](std::map<std::string, std::optional<double>> m) { dict = m; });
    c[1].rcv(p, "tup", [&](std::tuple<std::int8_t, std::uint64_t, bool, float> t) { tup = t; });
    c[1].rcv(p, "bytes", [&](std::vector<std::byte> b, reason r, port_id q) {
      bytes = b;
      why = r;
      back = q;
    });
    c.run();
    std::vector<point> sent{{1, -2, third, {"a", "b"}}, {3, 4, port_id{}, {}}};
    c[0].snd(p, "pts", sent);
    c[0].snd(p, "dict", std::map<std::string, std::optional<double>>{{"pi", 3.25}, {"none", {}}});
    c[0].snd(p, "tup", std::tuple<std::int8_t, std::uint64_t, bool, float>{-7, ~0ull, true, 1.5f});
    c[0].snd(p, "bytes", std::vector<std::byte>{std::byte{0}, std::byte{255}}, reason{"die", "why"},
             third);
    c.run();
    CHECK(pts == sent);
    CHECK(pts[0].owner == third);
    CHECK(dict.at("pi") == 3.25);
    CHECK(!dict.at("none"));
    CHECK(tup == std::tuple<std::int8_t, std::uint64_t, bool, float>{-7, ~0ull, true, 1.5f});
    CHECK(bytes == std::vector<std::byte>{std::byte{0}, std::byte{255}});
    CHECK(why == reason{"die", "why"});
    CHECK(back == third);
    CHECK(back.incarnation() == c[2].incarnation());
  }

  TEST_CASE("a message whose type cannot be encoded is refused, counted, and its monitors fire") {
    cluster c{{"enc-a", "enc-b"}};
    auto p = c[1].port([](message&) {});
    c.run();
    deaths d;
    auto guard = c[0].mon(p, d.of(p));
    c.run();
    c[0].snd(p, "odd", not_registered{1});
    c.run();
    REQUIRE(d.size() == 1);
    reason why = d.by(p.to_string());
    CHECK(why.kind() == "transport_error");
    CHECK(why.detail().find("not_registered") != std::string::npos);
    CHECK(why.detail().find("register_type") != std::string::npos);
    CHECK(c.transport(0).stats().messages_dropped == 1);
    // Later messages go as usual.
    c[0].snd(p, "fine", 1);
    c.run();
    CHECK(c.transport(1).stats().messages_received == 1);
  }

  TEST_CASE("kil of a remote port with a reason: monitors on any node see that reason") {
    cluster c{{"kil-a", "kil-b", "kil-c"}};
    auto victim = c[1].port();
    deaths d;
    auto on_a = c[0].mon(victim, d.of(victim, "a"));
    auto on_c = c[2].mon(victim, d.of(victim, "c"));
    c.run();
    c[0].kil(victim, "stopped", "by a");
    c.run();
    CHECK(d.by("a") == reason{"stopped", "by a"});
    CHECK(d.by("c") == reason{"stopped", "by a"});
    auto normal = c[1].port();
    auto on_normal = c[0].mon(normal, d.of(normal, "normal"));
    c.run();
    c[0].kil(normal);
    c.run();
    CHECK(d.by("normal").normal());
  }

  TEST_CASE("mon on a remote port in all four forms") {
    cluster c{{"four-a", "four-b"}};
    auto target = c[1].port();
    deaths d;
    auto cb = c[0].mon(target, d.of(target, "callback"));
    auto linked = c[0].port([](message&) {});
    c[0].mon(target, linked).release();
    auto on_linked = c[0].mon(linked, d.of(linked, "linked"));
    std::vector<std::string> notes;
    auto receiver = c[0].port();
    c[0].rcv(receiver, "gone",
             [&](std::string who, reason why) { notes.push_back(who + ": " + why.to_string()); });
    c[0].mon(target, receiver, "gone", "target"s).release();
    auto watcher = c[0].port();  // mon(port) inside a port links to it
    c[0].rcv(watcher, "watch", [&](port_id t) { c[0].mon(t).release(); });
    auto on_watcher = c[0].mon(watcher, d.of(watcher, "watcher"));
    c[0].snd(watcher, "watch", target);
    c.run();
    CHECK(c.received(1).size() >= 1);
    c[1].kil(target, "die", "boom");
    c.run();
    CHECK(d.by("callback") == reason{"die", "boom"});
    CHECK(d.by("linked") == reason{"die", "boom"});
    CHECK(d.by("watcher") == reason{"die", "boom"});
    CHECK(notes == std::vector<std::string>{"target: die: boom"});
  }

  TEST_CASE("dropping the last guard on a remote port stops the remote watch") {
    cluster c{{"unw-a", "unw-b"}};
    auto target = c[1].port();
    deaths d;
    {
      auto g1 = c[0].mon(target, d.of(target));
      auto g2 = c[0].mon(target, d.of(target));
      c.run();
      g1.cancel();
      c.run();
      bool unwatched = false;
      for (auto& e : c.received(1)) unwatched |= e.kind == "unwatch";
      CHECK(!unwatched);
    }
    c.run();
    std::vector<std::string> kinds;
    for (auto& e : c.received(1)) kinds.push_back(e.kind);
    CHECK(std::count(kinds.begin(), kinds.end(), "watch") == 1);
    CHECK(std::count(kinds.begin(), kinds.end(), "unwatch") == 1);
    c[1].kil(target, "late");
    c.run();
    CHECK(d.empty());
  }

  TEST_CASE("a broken link fires every monitor on that node's ports, on both sides") {
    cluster c{{"brk-a", "brk-b", "brk-c"}};
    deaths d;
    auto b1 = c[1].port(), b2 = c[1].port(), a1 = c[0].port(), c1 = c[2].port();
    auto m1 = c[0].mon(b1, d.of(b1, "b1"));
    auto m2 = c[0].mon(b2, d.of(b2, "b2"));
    auto m3 = c[1].mon(a1, d.of(a1, "a1"));
    auto m4 = c[0].mon(c1, d.of(c1, "c1"));  // another node: unaffected
    c.run();
    c.link(0, 1).break_link("connection reset by test");
    c.run();
    for (const char* name : {"b1", "b2", "a1"}) {
      reason why = d.by(name);
      CHECK(why.kind() == "transport_error");
      CHECK(why.to_string().find("connection reset by test") != std::string::npos);
    }
    CHECK(d.size() == 3);
    // Sending over the broken link: dropped and counted; a new monitor fires at once.
    auto before = c.transport(0).stats().messages_dropped;
    c[0].snd(b1, "x", 1);
    CHECK(c.transport(0).stats().messages_dropped == before + 1);
    auto late = c[0].mon(b2, d.of(b2, "late"));
    c.run();
    CHECK(d.by("late").kind() == "transport_error");
  }

  TEST_CASE("no holes: a link cut mid-stream delivers a prefix, then the monitor fires") {
    cluster c{{"hole-a", "hole-b"}};
    std::vector<int> got;
    auto p = c[1].port();
    c[1].rcv(p, "n", [&](int i) { got.push_back(i); });
    deaths d;
    auto g = c[0].mon(p, d.of(p));
    c.run();
    for (int i = 0; i < 500; ++i) c[0].snd(p, "n", i);
    c.settle();
    // Hand over part of the stream, then cut.
    c.link(0, 1).hand_over(c.way(0, 1), 123);
    c.settle();
    c.link(0, 1).break_link("cut mid-stream");
    c.run();
    REQUIRE(d.size() == 1);
    REQUIRE(!got.empty());
    CHECK(got.size() < 500);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == static_cast<int>(i));
  }

  TEST_CASE("a restarted node's new incarnation never serves port IDs of the old one") {
    cluster c{{"inc-a", "inc-b"}};
    auto old_port = c[1].port([](message&) {});
    auto old_inc = c[1].incarnation();
    c.run();
    c.restart(1);
    CHECK(c[1].incarnation() != old_inc);
    CHECK(c[0].up_nodes() == std::vector<std::string>{"inc-b"});
    // A new port in the same slot does not answer to the old ID.
    std::vector<int> got;
    auto fresh = c[1].port();
    c[1].rcv(fresh, "n", [&](int i) { got.push_back(i); });
    c.run();
    c[0].snd(old_port, "n", 1);
    deaths d;
    auto g = c[0].mon(old_port, d.of(old_port));
    c.run();
    CHECK(got.empty());
    CHECK(d.by(old_port.to_string()).kind() == "no_such_port");
    c[0].snd(fresh, "n", 2);
    c.run();
    CHECK(got == std::vector<int>{2});
  }

  TEST_CASE("spawn on another node returns at once, earlier messages run after the init") {
    cluster c{{"sp-a", "sp-b"}};
    std::vector<std::string> log;
    c[1].register_init("test.echo", [&](std::string prefix) {
      log.push_back("init " + prefix);
      c[1].rcv(self(), "say", [&, prefix](std::string s) { log.push_back(prefix + s); });
    });
    auto before = c[0].port();
    auto p = c[0].spawn("sp-b", "test.echo", "> ");
    CHECK(p.node() == "sp-b");
    CHECK(p.incarnation() == c[1].incarnation());
    c[0].snd(p, "say", "hello");
    c.run();
    CHECK(log == std::vector<std::string>{"init > ", "> hello"});
    (void)before;
  }

  TEST_CASE("a remote spawn's failure reason reaches a monitor made after spawn returned") {
    cluster c{{"spf-a", "spf-b"}};
    c[1].register_init("test.throws", [](int) { throw std::runtime_error{"no luck"}; });
    deaths d;
    auto unknown = c[0].spawn("spf-b", "no.such.init", 1);
    auto throws = c[0].spawn("spf-b", "test.throws", 1);
    auto bad_args = c[0].spawn("spf-b", "test.throws", "not an int");
    c.run();  // the inits have run and failed before anyone monitors
    auto g1 = c[0].mon(unknown, d.of(unknown, "unknown"));
    auto g2 = c[0].mon(throws, d.of(throws, "throws"));
    auto g3 = c[0].mon(bad_args, d.of(bad_args, "bad_args"));
    c.run();
    CHECK(d.by("unknown").kind() == "no_such_init");
    CHECK(d.by("throws") == reason{"die", "init 'test.throws' threw: no luck"});
    CHECK(d.by("bad_args").kind() == "bad_message");
  }

  TEST_CASE("spawn_monitor and spawn_link across nodes") {
    cluster c{{"spm-a", "spm-b"}};
    c[1].register_init("test.fails", [](int) { throw std::runtime_error{"at once"}; });
    c[1].register_init("test.idle", []() {});
    std::vector<reason> seen;
    auto [p, guard] = c[0].spawn_monitor(
        "spm-b", "test.fails", [&](const reason& r) { seen.push_back(r); }, 1);
    c.run();
    REQUIRE(seen.size() == 1);
    CHECK(seen[0] == reason{"die", "init 'test.fails' threw: at once"});

    // spawn_link: the spawner's abnormal death kills the spawned port, and back.
    deaths d;
    auto parent = c[0].port();
    port_id child;
    c[0].rcv(parent, "go", [&] { child = c[0].spawn_link("spm-b", "test.idle"); });
    c[0].snd(parent, "go");
    c.run();
    REQUIRE(child);
    auto g = c[0].mon(child, d.of(child, "child"));
    c.run();
    c[0].kil(parent, "crash");
    c.run();
    CHECK(d.by("child") == reason{"crash"});
  }

  TEST_CASE("cal across nodes answers exactly once: reply, broken link, or dead target") {
    cluster c{{"cal-a", "cal-b"}};
    auto server = c[1].port();
    c[1].rcv(server, "twice", [&](int v, port_id reply) { c[1].snd(reply, "r", v * 2); });
    c[1].rcv(server, "ignore", [](int, port_id) {});
    c.run();
    std::vector<std::string> answers;
    c[0].cal(server, "twice", 21,
             [&](reply r) { answers.push_back(r ? std::to_string(r->get<int>(0)) : "none"); });
    c.run();
    CHECK(answers == std::vector<std::string>{"42"});
    c[0].cal(server, "ignore", 1, [&](reply r) { answers.push_back(r ? "reply" : "none"); });
    c.run();
    c.link(0, 1).break_link("gone");
    c.run();
    c.advance(1h);
    CHECK(answers == std::vector<std::string>{"42", "none"});
  }

  TEST_CASE("a cal times out on the virtual clock, without waiting") {
    cluster c{{"calt-a", "calt-b"}};
    auto server = c[1].port();
    c[1].rcv(server, "ignore", [](int, port_id) {});
    c.run();
    int calls = 0;
    bool answered = true;
    c[0].cal(
        server, "ignore", 1,
        [&](reply r) {
          ++calls;
          answered = static_cast<bool>(r);
        },
        5s);
    c.run();
    c.advance(4s);
    CHECK(calls == 0);
    c.advance(1s);
    CHECK(calls == 1);
    CHECK(!answered);
    c.advance(1h);
    CHECK(calls == 1);
  }

  TEST_CASE("the node port answers ping and info") {
    cluster c{{"np-a", "np-b"}};
    c.advance(1500ms);
    std::vector<message> replies;
    auto b = *port_id::parse("np-b");
    c[0].cal(b, "ping", [&](reply r) { replies.push_back(std::move(*r)); });
    c[0].cal(b, "info", [&](reply r) { replies.push_back(std::move(*r)); });
    c.run();
    REQUIRE(replies.size() == 2);
    auto& [id, inc, uptime] = replies[0].as<std::string, std::uint32_t, std::int64_t>();
    CHECK(id == "np-b");
    CHECK(inc == c[1].incarnation());
    CHECK(uptime == 1500);
    auto& [alive, dropped, peers] =
        replies[1].as<std::uint64_t, std::uint64_t, std::vector<std::string>>();
    CHECK(alive >= 1);
    CHECK(peers == std::vector<std::string>{"np-a"});
    (void)dropped;
  }

  TEST_CASE("a service is reached from another node through the bare node ID") {
    cluster c{{"svc-a", "svc-b"}};
    std::vector<std::string> got;
    auto service = c[1].port();
    c[1].rcv(service, "hello", [&](std::string text) { got.push_back(text); });
    auto guard = c[1].serve("hello", service);
    auto b = *port_id::parse("svc-b");
    c[0].snd(b, "hello", std::string{"one"});
    c[0].snd(b, "hello", std::string{"two"});
    c.run();
    CHECK(got == std::vector<std::string>{"one", "two"});
  }

  TEST_CASE("a message for a third node that reaches deliver is dropped, not forwarded") {
    cluster c{{"thr-a", "thr-b", "thr-c"}};
    auto on_c = c[2].port([](message&) {});
    c.run();
    auto dropped = c[1].stats().messages_dropped;
    CHECK(!c[1].plug(nullptr).deliver(on_c, message::make("x", 1)));  // as its link would
    CHECK(c[1].stats().messages_dropped == dropped + 1);
  }
}

TEST_SUITE("transport.threads") {
  TEST_CASE("threaded nodes on an in-memory link: a round trip 10^4 times, then a break") {
    node a{threaded("thr-link-a")}, b{threaded("thr-link-b")};
    transport::endpoint ta{a}, tb{b};
    auto link = transport::memory_link::connect(ta, tb);
    REQUIRE(eventually([&] { return a.up_nodes().size() == 1 && b.up_nodes().size() == 1; }));
    auto echo = b.port();
    b.rcv(echo, "ping", [&](int i, port_id back) { b.snd(back, "pong", i); });
    probe done;
    auto player = a.port();
    a.rcv(player, "pong", [&](int i) {
      if (i == 10'000) {
        done.add("done");
        return;
      }
      a.snd(echo, "ping", i + 1, self());
    });
    a.snd(echo, "ping", 1, player);
    REQUIRE(done.wait_for(1, 60s));
    probe down;
    auto g = a.mon(echo, [&](const reason& r) { down.add(r.to_string()); });
    auto g2 = b.mon(player, [&](const reason& r) { down.add(r.to_string()); });
    // Let the watch reach b, then cut while traffic flows.
    for (int i = 0; i < 1000; ++i) a.snd(echo, "ping", -1, player);
    link->break_link("cut under load");
    REQUIRE(down.wait_for(2));
    for (auto& e : down.events()) CHECK(e.find("transport_error") == 0);
  }
}
