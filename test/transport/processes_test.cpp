// Nodes in separate processes over loopback TCP: a million messages in order, kill -9,
// SIGSTOP, a restart with the same ID, busy handlers that must not look like a dead node,
// and (as root, in a private network namespace) packets that silently vanish.
// The other node is test/programs/test_node.cpp; it exits when the test's end of its stdin
// closes, and every wait here is bounded.
#include <doctest/doctest.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/probe.hpp"
#include "support/process.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;

namespace {

/// The other node: started, and its address and ports read from its output.
struct remote_node {
  child proc;
  std::string id, address;
  port_id sink, echo, busy, busy2, stream;

  explicit remote_node(const std::string& node_id, std::vector<std::string> extra = {})
      : proc{args(node_id, std::move(extra))}, id{node_id} {
    address = proc.expect("ready ");
    sink = read_port("sink");
    echo = read_port("echo");
    busy = read_port("busy");
    busy2 = read_port("busy2");
    stream = read_port("stream");
  }

  static std::vector<std::string> args(const std::string& id, std::vector<std::string> extra) {
    std::vector<std::string> a{COPORT_TEST_NODE, "--id", id};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  port_id read_port(const std::string& name) {
    auto text = proc.expect("port " + name + " ");
    auto parsed = port_id::parse(text);
    REQUIRE(parsed.has_value());
    return *parsed;
  }
};

/// This process's node.
struct local_node {
  node n;
  tp::tcp t;
  explicit local_node(const std::string& id, tp::tcp_options o = {}) : n{options(id)}, t{n, o} {}
  static node_options options(const std::string& id) {
    node_options o;
    o.id = id;
    o.threads = 2;
    return o;
  }
  void knows(const remote_node& r) { t.add_peer(r.id, {r.address}); }
};

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

}  // namespace

TEST_SUITE("transport.processes") {
  TEST_CASE("a million messages cross between processes in order, both ways") {
    remote_node r{"proc-million"};
    local_node l{"proc-local-1"};
    l.knows(r);
    constexpr std::int64_t count = 1'000'000;
    // Out: one handler sends them all (its writes go out in large batches).
    probe report;
    auto me = l.n.port();
    l.n.rcv(me, "count", [&](std::int64_t got, bool in_order) {
      report.add(std::to_string(got) + (in_order ? " in order" : " out of order"));
    });
    auto producer = l.n.port();
    l.n.rcv(producer, "go", [&] {
      for (std::int64_t i = 0; i < count; ++i) l.n.snd(r.sink, "n", i);
      l.n.snd(r.sink, "end", me);
    });
    l.n.snd(producer, "go");
    REQUIRE(report.wait_for(1, 60s));
    CHECK(report.events()[0] == "1000000 in order");
    // Back: the other node streams to a port here.
    std::int64_t expected = 0;
    bool in_order = true;
    probe done;
    auto in = l.n.port();
    l.n.rcv(in, "n", [&](std::int64_t i) {
      in_order = in_order && i == expected;
      expected = i + 1;
      if (expected == count) done.add("done");
    });
    l.n.snd(r.stream, "go", in, count);
    REQUIRE(done.wait_for(1, 60s));
    CHECK(in_order);
    CHECK(l.t.protocol().stats().messages_dropped == 0);
  }

  /// Kills a node with kill -9 while `l` monitors its echo port; returns the seconds until
  /// the monitor fired, and what it and node-down said.
  struct kill9_result {
    double seconds = 0;
    std::string died, down;
  };
  kill9_result kill9_watched(const std::string& id, const std::string& local,
                             tp::tcp_options o = {}) {
    remote_node r{id};
    local_node l{local, std::move(o)};
    l.knows(r);
    probe pong, died, down;
    auto me = l.n.port();
    l.n.rcv(me, "pong", [&](std::int64_t) { pong.add("pong"); });
    auto sub = l.n.mon_nodes([&](const std::string& node_id, bool up, const reason& why) {
      if (!up) down.add(node_id + " " + why.to_string());
    });
    l.n.snd(r.echo, "ping", std::int64_t{1}, me);
    REQUIRE(pong.wait_for(1));
    auto guard = l.n.mon(r.echo, [&](const reason& why) { died.add(why.to_string()); });
    auto start = clock::now();
    r.proc.kill9();
    kill9_result out;
    REQUIRE(died.wait_for(1, 10s));
    out.seconds = seconds_since(start);
    out.died = died.events()[0];
    REQUIRE(down.wait_for(1));
    out.down = down.events()[0];
    return out;
  }

  TEST_CASE(
      "a node killed with kill -9 is seen down at once and its monitors fire, on links that do "
      "not resume") {
    tp::tcp_options o;
    o.protocol.resume_window = std::chrono::milliseconds{0};
    auto r = kill9_watched("proc-kill9", "proc-local-2", o);
    CHECK(r.seconds < 2.0);  // a reset or FIN, not the node timeout
    CHECK(r.died.find("transport_error") != std::string::npos);
    CHECK(r.down.rfind("proc-kill9 ", 0) == 0);
  }

  TEST_CASE(
      "a node killed with kill -9 is seen down at once when its kernel ends the connection, "
      "else once the resume window has passed") {
    tp::tcp_options o;
    o.protocol.resume_window = std::chrono::milliseconds{1500};
    auto r = kill9_watched("proc-kill9-r", "proc-local-3", o);
    CHECK(r.seconds < 3.5);  // the window (a reset), not the node timeout's 3 s on top
    CHECK(r.died.find("transport_error") != std::string::npos);
    CHECK(r.down.rfind("proc-kill9-r ", 0) == 0);
  }

  TEST_CASE(
      "a frozen node (SIGSTOP) is declared down within the timeout plus one interval, "
      "and is reached again after SIGCONT") {
    remote_node r{"proc-stop"};
    local_node l{"proc-local-3"};  // default timing: heartbeat 1 s, node timeout 3 s
    l.knows(r);
    probe pong, died;
    auto me = l.n.port();
    l.n.rcv(me, "pong", [&](std::int64_t i) { pong.add(std::to_string(i)); });
    l.n.snd(r.echo, "ping", std::int64_t{1}, me);
    REQUIRE(pong.wait_for(1));
    auto guard = l.n.mon(r.echo, [&](const reason& why) { died.add(why.to_string()); });
    auto start = clock::now();
    r.proc.signal(SIGSTOP);
    REQUIRE(died.wait_for(1, 10s));
    double took = seconds_since(start);
    MESSAGE("declared down after " << took << " s");
    CHECK(took >= 2.5);
    CHECK(took <= 4.0 + 0.5);  // timeout + one interval, and scheduling slack
    CHECK(died.events()[0].find("node timeout") != std::string::npos);
    r.proc.signal(SIGCONT);
    // It comes back: a new connection once the old one is gone on its side too.
    bool back = eventually(
        [&] {
          l.n.snd(r.echo, "ping", std::int64_t{2}, me);
          return pong.wait_for(2, 200ms);
        },
        15s);
    CHECK(back);
  }

  TEST_CASE(
      "a node restarted with the same ID is reached, and a port of its old incarnation "
      "is not") {
    local_node l{"proc-local-4"};
    probe pong;
    auto me = l.n.port();
    l.n.rcv(me, "pong", [&](std::int64_t i) { pong.add(std::to_string(i)); });
    port_id old_echo;
    {
      remote_node r{"proc-restart"};
      l.knows(r);
      old_echo = r.echo;
      l.n.snd(r.echo, "ping", std::int64_t{1}, me);
      REQUIRE(pong.wait_for(1));
      r.proc.kill9();
    }
    remote_node r2{"proc-restart"};
    l.knows(r2);
    CHECK(r2.echo.incarnation() != old_echo.incarnation());
    probe died;
    auto guard = l.n.mon(old_echo, [&](const reason& why) { died.add(why.to_string()); });
    REQUIRE(died.wait_for(1));  // the old incarnation's port: gone
    l.n.snd(old_echo, "ping", std::int64_t{2}, me);
    l.n.snd(r2.echo, "ping", std::int64_t{3}, me);
    REQUIRE(pong.wait_for(2));
    std::this_thread::sleep_for(100ms);
    CHECK(pong.events() == std::vector<std::string>{"1", "3"});
  }

  TEST_CASE("handlers busy-looping on every worker for 10 s do not make a node look down") {
    remote_node r{"proc-busy"};  // default timing on both sides
    local_node l{"proc-local-5"};
    l.knows(r);
    probe spun, down, pong;
    auto sub = l.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      if (!up) down.add(id + " " + why.to_string());
    });
    auto me = l.n.port();
    l.n.rcv(me, "spun", [&](int) { spun.add("spun"); });
    l.n.rcv(me, "pong", [&](std::int64_t) { pong.add("pong"); });
    l.n.snd(r.busy, "spin", 10'000, me);
    l.n.snd(r.busy2, "spin", 10'000, me);
    REQUIRE(spun.wait_for(2, 30s));
    CHECK(down.size() == 0);
    l.n.snd(r.echo, "ping", std::int64_t{1}, me);
    REQUIRE(pong.wait_for(1));
    CHECK(l.t.stats().timeouts == 0);
    CHECK(l.t.stats().dialed == 1);  // the same connection all along
  }

  TEST_CASE(
      "no holes: a connection cut mid-stream delivers a prefix, and the sender's monitor "
      "fires") {
    remote_node r{"proc-holes"};
    local_node l{"proc-local-6"};
    l.knows(r);
    std::int64_t expected = 0;
    bool in_order = true;
    probe first;
    auto in = l.n.port();
    l.n.rcv(in, "n", [&](std::int64_t i) {
      in_order = in_order && i == expected;
      expected = i + 1;
      if (i == 1000) first.add("1000");
    });
    probe died;
    auto guard = l.n.mon(r.sink, [&](const reason& why) { died.add(why.to_string()); });
    auto producer = l.n.port();
    l.n.rcv(producer, "go", [&] {
      for (std::int64_t i = 0; i < 2'000'000; ++i) l.n.snd(r.sink, "n", i);
    });
    l.n.snd(r.stream, "go", in, std::int64_t{5'000'000});
    REQUIRE(first.wait_for(1, 20s));
    l.n.snd(producer, "go");
    r.proc.kill9();
    REQUIRE(died.wait_for(1, 10s));
    CHECK(died.events()[0].find("transport_error") != std::string::npos);
    std::this_thread::sleep_for(100ms);
    std::promise<std::pair<std::int64_t, bool>> seen;
    l.n.peval(in, [&] { seen.set_value({expected, in_order}); });
    auto [got, ordered] = seen.get_future().get();
    CHECK(ordered);  // a contiguous prefix: 0 .. got-1
    CHECK(got > 1000);
    CHECK(got < 5'000'000);
  }

  TEST_CASE(
      "packets that silently vanish (iptables DROP in a private network namespace): "
      "the peer is declared down within the timeout plus one interval (needs root)") {
    if (geteuid() != 0 || std::system("command -v iptables >/dev/null 2>&1") != 0) {
      MESSAGE("skipped: needs root and iptables (a private network namespace and a DROP rule)");
      return;
    }
    // This process (its threads are made below) and the child live in a new namespace.
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(std::system("ip link set lo up") == 0);
    remote_node r{"proc-drop"};
    local_node l{"proc-local-7"};
    l.knows(r);
    probe pong, died;
    auto me = l.n.port();
    l.n.rcv(me, "pong", [&](std::int64_t) { pong.add("pong"); });
    l.n.snd(r.echo, "ping", std::int64_t{1}, me);
    REQUIRE(pong.wait_for(1));
    auto guard = l.n.mon(r.echo, [&](const reason& why) { died.add(why.to_string()); });
    auto port = r.address.substr(r.address.rfind(':') + 1);
    auto start = clock::now();
    REQUIRE(std::system(("iptables -A INPUT -p tcp --sport " + port + " -j DROP && " +
                         "iptables -A INPUT -p tcp --dport " + port + " -j DROP")
                            .c_str()) == 0);
    REQUIRE(died.wait_for(1, 10s));
    double took = seconds_since(start);
    MESSAGE("declared down after " << took << " s");
    CHECK(took >= 2.5);
    CHECK(took <= 4.5);
    CHECK(died.events()[0].find("node timeout") != std::string::npos);
  }

  TEST_CASE(
      "a TCP reset for 300 ms in the middle of a stream of 10^6 messages (iptables REJECT "
      "with tcp-reset in a private network namespace): the link resumes, the whole sequence "
      "arrives once and in order, no monitor fires and no node goes down (needs root)") {
    if (geteuid() != 0 || std::system("command -v iptables >/dev/null 2>&1") != 0) {
      MESSAGE("skipped: needs root and iptables (a private network namespace and a REJECT rule)");
      return;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    REQUIRE(std::system("ip link set lo up") == 0);
    remote_node r{"proc-reset"};
    local_node l{"proc-local-8"};
    l.knows(r);
    probe done, died, nodes;
    auto sub = l.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      nodes.add(id + (up ? " up" : " down ") + why.to_string());
    });
    constexpr std::int64_t count = 1'000'000;
    std::atomic<std::int64_t> expected{0};
    std::atomic<bool> in_order{true};
    auto in = l.n.port();
    l.n.rcv(in, "n", [&](std::int64_t i) {
      if (i != expected.load(std::memory_order_relaxed)) in_order = false;
      expected.store(i + 1, std::memory_order_relaxed);
      if (i + 1 == count) done.add("done");
    });
    auto guard = l.n.mon(r.stream, [&](const reason& why) { died.add(why.to_string()); });
    l.n.snd(r.stream, "go", in, count);
    auto until = clock::now() + 20s;
    while (expected.load() < count / 10 && clock::now() < until) std::this_thread::sleep_for(1ms);
    REQUIRE(expected.load() >= count / 10);
    REQUIRE(expected.load() < count);  // the reset falls in the middle of the stream
    auto port = r.address.substr(r.address.rfind(':') + 1);
    // Every packet of the link is answered with a reset, except the resets themselves (on
    // loopback they come back through INPUT, and would be rejected in turn).
    const std::string rule = " INPUT -p tcp --sport " + port +
                             " ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset";
    const std::string rule2 = " INPUT -p tcp --dport " + port +
                              " ! --tcp-flags RST RST -j REJECT --reject-with tcp-reset";
    // Pings both ways meanwhile: packets cross while the rule is in place, so the reset
    // surely comes (a stream held by flow control may send nothing for 300 ms).
    probe pongs;
    auto me = l.n.port();
    l.n.rcv(me, "pong", [&](std::int64_t i) { pongs.add(std::to_string(i)); });
    std::int64_t pings = 0;
    REQUIRE(std::system(("iptables -A" + rule + " && iptables -A" + rule2).c_str()) == 0);
    for (auto end = clock::now() + 300ms; clock::now() < end; std::this_thread::sleep_for(5ms)) {
      l.n.snd(r.echo, "ping", pings++, me);
    }
    REQUIRE(std::system(("iptables -D" + rule + " && iptables -D" + rule2).c_str()) == 0);
    REQUIRE(done.wait_for(1, 60s));
    REQUIRE(pongs.wait_for(static_cast<std::size_t>(pings), 10s));
    std::vector<std::string> in_turn;
    for (std::int64_t i = 0; i < pings; ++i) in_turn.push_back(std::to_string(i));
    CHECK(pongs.events() == in_turn);  // every ping answered once, in order
    CHECK(in_order.load());
    CHECK(expected.load() == count);
    CHECK(died.events().empty());
    auto seen = nodes.events();
    CHECK(std::find_if(seen.begin(), seen.end(), [](const std::string& e) {
            return e.find(" down") != std::string::npos;
          }) == seen.end());
    auto links = l.t.protocol().links();
    REQUIRE(links.size() == 1);
    MESSAGE("connections " << links[0].connections << ", resumes " << links[0].resumes);
    CHECK(links[0].resumes >= 1);  // the reset did break the connection
    CHECK(l.t.protocol().stats().messages_dropped == 0);
  }
}

TEST_SUITE("transport.processes") {
  TEST_CASE(
      "a non-loopback address (inside a private network namespace): refused without a "
      "secret, served with one or with insecure (needs root)") {
    if (geteuid() != 0) {
      MESSAGE("skipped: needs root (a private network namespace with a second address)");
      return;
    }
    REQUIRE(unshare(CLONE_NEWNET) == 0);
    // 10.99.0.1 on the namespace's own loopback device: not a loopback address to the
    // transport's check, and reachable only from inside this namespace.
    REQUIRE(std::system("ip link set lo up && ip addr add 10.99.0.1/32 dev lo") == 0);
    node n{local_node::options("netns-b")};
    tp::tcp_options open;
    open.binds = {"10.99.0.1:0"};
    CHECK_THROWS_WITH_AS(tp::tcp(n, open), doctest::Contains("not a loopback address"),
                         std::invalid_argument);
    for (int variant = 0; variant < 2; ++variant) {
      tp::tcp_options o = open;
      if (variant == 0) {
        o.insecure = true;
      } else {
        o.secret = "a secret of 22+ characters";
      }
      std::string id = "netns-b" + std::to_string(variant);
      node b{local_node::options(id)};
      tp::tcp tb{b, o};
      REQUIRE(tb.addresses().at(0).rfind("10.99.0.1:", 0) == 0);
      tp::tcp_options client;
      client.secret = o.secret;
      client.peers[id] = tb.addresses();
      node a{local_node::options("netns-a" + std::to_string(variant))};
      tp::tcp ta{a, client};
      probe got;
      auto pb = b.port();
      b.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
      a.snd(pb, "n", variant);
      REQUIRE(got.wait_for(1));
    }
  }
}
