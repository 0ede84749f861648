// Nodes over loopback TCP in one process: connecting on demand, the handshake (secrets,
// duplicates, simultaneous connects), unreachable nodes, and bad peers on raw sockets
// (flow: big messages, limits, backpressure, in tcp_flow_test.cpp).
// Every socket binds 127.0.0.1 or [::1]; every wait is bounded.
#include <doctest/doctest.h>

#include <fmt/ranges.h>
#include <algorithm>
#include <asio/connect.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <future>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "coport/detail/interner.hpp"
#include "coport/detail/message_block.hpp"
#include "support/log_capture.hpp"
#include "support/probe.hpp"
#include "support/tcp_nodes.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using namespace coport::test::loopback;

namespace {
/// Bytes from a raw socket until `n` arrived or the peer closed (bounded by a deadline).
bool closed_by_peer(asio::ip::tcp::socket& s, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  s.non_blocking(true);
  std::byte buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    asio::error_code ec;
    s.read_some(asio::buffer(buf), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(5ms);
      continue;
    }
    if (ec) return true;  // eof or reset
  }
  return false;
}

}  // namespace

TEST_SUITE("transport.tcp") {
  TEST_CASE("two nodes over loopback TCP: messages, cal and monitors cross on demand") {
    tcp_node a{"tcp-a"}, b{"tcp-b"};
    a.knows(b);
    probe got, ups;
    auto sub = a.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      ups.add(id + (up ? " up" : " down"));
    });
    auto echo = b.n.port();
    b.n.rcv(echo, "ping", [&b](int i, port_id reply_to) { b.n.snd(reply_to, "pong", i); });
    auto back = a.n.port();
    a.n.rcv(back, "pong", [&](int i) { got.add(std::to_string(i)); });
    for (int i = 0; i < 100; ++i) a.n.snd(echo, "ping", i, back);
    REQUIRE(got.wait_for(100));
    auto events = got.events();
    for (int i = 0; i < 100; ++i) CHECK(events[i] == std::to_string(i));  // in order
    REQUIRE(ups.wait_for(1));
    CHECK(ups.events()[0] == "tcp-b up");
    CHECK(a.t.stats().dialed == 1);
    CHECK(b.t.stats().accepted == 1);
    // A remote monitor fires when the port dies there.
    probe died;
    auto guard = a.n.mon(echo, [&](const reason& why) { died.add(why.to_string()); });
    std::optional<message> answer;
    probe called;
    a.n.cal(*port_id::parse("tcp-b"), "ping", [&](reply r) {
      answer = std::move(r);
      called.add("reply");
    });
    REQUIRE(called.wait_for(1));
    CHECK(answer.has_value());
    b.n.kil(echo, "stop", "enough");
    REQUIRE(died.wait_for(1));
    CHECK(died.events()[0].find("stop") != std::string::npos);
  }

  TEST_CASE("links() counts messages and bytes each way per peer and the connections made") {
    tcp_node a{"links-a"}, b{"links-b"};
    a.knows(b);
    CHECK(a.t.protocol().links().empty());
    probe got;
    auto echo = b.n.port();
    b.n.rcv(echo, "ping", [&b](int i, port_id reply_to) { b.n.snd(reply_to, "pong", i); });
    auto back = a.n.port();
    a.n.rcv(back, "pong", [&](int) { got.add("pong"); });
    for (int i = 0; i < 50; ++i) a.n.snd(echo, "ping", i, back);
    REQUIRE(got.wait_for(50));
    auto of = [](tcp_node& n, const std::string& peer) {
      for (auto& l : n.t.protocol().links()) {
        if (l.node == peer) return l;
      }
      return tp::link_stats{};
    };
    tp::link_stats ab, ba;
    REQUIRE(eventually([&] {
      ab = of(a, "links-b");
      ba = of(b, "links-a");
      return ab.messages_received >= 50 && ba.messages_received >= 50;
    }));
    CHECK(ab.up);
    CHECK(ab.connections == 1);
    CHECK(ab.incarnation == b.n.incarnation());
    CHECK(ab.messages_sent >= 50);
    CHECK(ba.messages_sent >= 50);
    // 20 messages of 1000 bytes more: at least that many bytes each way (protocol bytes: the
    // sender counts the frames it wrote, the receiver all it read).
    const auto sent_before = ab.bytes_sent, received_before = ba.bytes_received;
    auto sink = b.n.port();
    probe bulk;
    b.n.rcv(sink, "bulk", [&](const std::string&) { bulk.add("bulk"); });
    for (int i = 0; i < 20; ++i) a.n.snd(sink, "bulk", std::string(1000, 'x'));
    REQUIRE(bulk.wait_for(20));
    ab = of(a, "links-b");
    CHECK(ab.bytes_sent >= sent_before + 20 * 1000);
    CHECK(
        eventually([&] { return of(b, "links-a").bytes_received >= received_before + 20 * 1000; }));
    CHECK(of(b, "links-a").bytes_received >= ab.bytes_sent);
    CHECK(ab.queued_bytes == 0);
  }

  TEST_CASE("each side of a link measures its round trip with heartbeat probes the other answers") {
    tcp_node a{"rtt-a"}, b{"rtt-b"};
    a.knows(b);
    probe got;
    auto sink = b.n.port();
    b.n.rcv(sink, "x", [&](int) { got.add("x"); });
    a.n.snd(sink, "x", 1);
    REQUIRE(got.wait_for(1));
    auto rtt = [](tcp_node& n,
                  const std::string& peer) -> std::optional<std::chrono::microseconds> {
      for (auto& l : n.t.protocol().links()) {
        if (l.node == peer) return l.round_trip;
      }
      return std::nullopt;
    };
    // A probe every ten heartbeat ticks (fast(): 500 ms).
    REQUIRE(eventually([&] { return rtt(a, "rtt-b") && rtt(b, "rtt-a"); }));
    CHECK(rtt(a, "rtt-b")->count() >= 0);
    CHECK(*rtt(a, "rtt-b") < std::chrono::seconds{2});
    CHECK(*rtt(b, "rtt-a") < std::chrono::seconds{2});
  }

  TEST_CASE("a node with the wrong secret is refused on both sides and monitors fire") {
    auto oa = fast();
    oa.secret = "the right secret, 128 bits";
    auto ob = fast();
    ob.secret = "the wrong secret, 128 bits";
    tcp_node a{"sec-a", oa}, b{"sec-b", ob};
    a.knows(b);
    probe died;
    auto target = b.n.port([](message&) {});
    auto guard = a.n.mon(target, [&](const reason& why) { died.add(why.to_string()); });
    a.n.snd(target, "x", 1);
    REQUIRE(died.wait_for(1));
    CHECK(died.events()[0].find("transport_error") != std::string::npos);
    CHECK(died.events()[0].find("secrets differ") != std::string::npos);
    CHECK(eventually([&] { return a.t.protocol().stats().refused >= 1; }, 5s));
    CHECK(eventually([&] { return b.t.protocol().stats().refused >= 1; }, 5s));
    // Counted by reason: the secret, on both sides, and nothing else.
    for (auto* side : {&a, &b}) {
      auto s = side->t.protocol().stats();
      CHECK(s.refused_by[static_cast<std::size_t>(tp::refusal::secret)] == s.refused);
      CHECK(std::string{tp::to_string(tp::refusal::secret)} == "secret");
    }
    CHECK(a.n.up_nodes().empty());
    CHECK(b.n.up_nodes().empty());
  }

  TEST_CASE("a node with the same secret is accepted, one without is refused") {
    auto with = fast();
    with.secret = "s3cret-of-at-least-22-chars";
    tcp_node a{"sec2-a", with}, b{"sec2-b", with}, c{"sec2-c"};
    a.knows(b);
    c.knows(b);
    probe got;
    auto target = b.n.port();
    b.n.rcv(target, "x", [&](int v) { got.add(std::to_string(v)); });
    a.n.snd(target, "x", 1);
    REQUIRE(got.wait_for(1));
    probe died;
    auto guard = c.n.mon(target, [&](const reason& why) { died.add(why.to_string()); });
    c.n.snd(target, "x", 2);
    REQUIRE(died.wait_for(1));
    CHECK(died.events()[0].find("this node has none") != std::string::npos);
    std::this_thread::sleep_for(50ms);
    CHECK(got.size() == 1);
  }

  TEST_CASE(
      "an unreachable node: queued messages are dropped and monitors fire after the "
      "connect deadline") {
    // A port that nobody listens on: bind one, note it, close it.
    std::string address;
    {
      asio::io_context io;
      asio::ip::tcp::acceptor acc{io, {asio::ip::make_address("127.0.0.1"), 0}};
      address = "127.0.0.1:" + std::to_string(acc.local_endpoint().port());
    }
    auto o = fast({});
    o.connect_timeout = 400ms;
    o.peers["nobody"] = {address};
    tcp_node a{"unreach-a", o};
    probe died;
    port_id target{"nobody", 1};
    auto start = std::chrono::steady_clock::now();
    auto guard = a.n.mon(target, [&](const reason& why) { died.add(why.to_string()); });
    for (int i = 0; i < 10; ++i) a.n.snd(target, "x", i);
    REQUIRE(died.wait_for(1));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(died.events()[0].find("unable to connect") != std::string::npos);
    CHECK(took >= 350ms);
    CHECK(took < 3s);
    CHECK(eventually([&] { return a.t.protocol().stats().messages_dropped >= 10; }, 2s));
    CHECK(a.t.queued("nobody") == 0);
    // A node without a known address fails the same way, at once.
    probe died2;
    auto guard2 =
        a.n.mon(port_id{"unknown-node", 1}, [&](const reason& why) { died2.add(why.to_string()); });
    REQUIRE(died2.wait_for(1));
    CHECK(died2.events()[0].find("no address is known") != std::string::npos);
  }

  TEST_CASE(
      "two nodes that connect to each other at once keep one connection and lose "
      "nothing") {
    for (int round = 0; round < 5; ++round) {
      std::string ra = "sim" + std::to_string(round) + "-a",
                  rb = "sim" + std::to_string(round) + "-b";
      tcp_node a{ra}, b{rb};
      a.knows(b);
      b.knows(a);
      std::vector<int> at_a, at_b;
      std::mutex m;
      probe done;
      auto pa = a.n.port();
      a.n.rcv(pa, "n", [&](int i) {
        std::lock_guard lock{m};
        at_a.push_back(i);
        if (i == 999) done.add("a");
      });
      auto pb = b.n.port();
      b.n.rcv(pb, "n", [&](int i) {
        std::lock_guard lock{m};
        at_b.push_back(i);
        if (i == 999) done.add("b");
      });
      std::thread ta{[&] {
        for (int i = 0; i < 1000; ++i) a.n.snd(pb, "n", i);
      }};
      std::thread tb{[&] {
        for (int i = 0; i < 1000; ++i) b.n.snd(pa, "n", i);
      }};
      ta.join();
      tb.join();
      REQUIRE(done.wait_for(2));
      std::lock_guard lock{m};
      REQUIRE(at_a.size() == 1000);
      REQUIRE(at_b.size() == 1000);
      for (int i = 0; i < 1000; ++i) {
        CHECK(at_a[i] == i);
        CHECK(at_b[i] == i);
      }
      CHECK(eventually([&] { return a.t.stats().connections == 1; }, 2s));
      CHECK(eventually([&] { return b.t.stats().connections == 1; }, 2s));
    }
  }

  TEST_CASE("a second process claiming a connected node's ID is refused, the first stays") {
    tcp_node a{"dup-a"}, b{"dup-b"};
    a.knows(b);
    b.knows(a);
    probe got;
    auto pa = a.n.port();
    a.n.rcv(pa, "n", [&](int i) { got.add(std::to_string(i)); });
    b.n.snd(pa, "n", 1);
    REQUIRE(got.wait_for(1));
    // An impostor: another node called dup-b (a second process, say).
    tcp_node fake{"dup-b"};
    fake.knows(a);
    probe refused;
    auto guard = fake.n.mon(pa, [&](const reason& why) { refused.add(why.to_string()); });
    fake.n.snd(pa, "n", 666);
    REQUIRE(refused.wait_for(1));
    CHECK(refused.events()[0].find("already connected") != std::string::npos);
    b.n.snd(pa, "n", 2);
    REQUIRE(got.wait_for(2));
    CHECK(got.events() == std::vector<std::string>{"1", "2"});
  }

  TEST_CASE(
      "a restarted node (same ID, new incarnation) is accepted, and nothing for the old "
      "one reaches it") {
    tcp_node a{"rs-a"};
    probe got;
    port_id old_port;
    {
      tcp_node b{"rs-b"};
      a.knows(b);
      old_port = b.n.port();
      b.n.rcv(old_port, "n", [&](int i) { got.add("old " + std::to_string(i)); });
      a.n.snd(old_port, "n", 1);
      REQUIRE(got.wait_for(1));
    }
    CHECK(eventually([&] { return a.n.up_nodes().empty(); }, 5s));
    tcp_node b2{"rs-b"};
    a.knows(b2);
    auto fresh = b2.n.port();
    b2.n.rcv(fresh, "n", [&](int i) { got.add("new " + std::to_string(i)); });
    a.n.snd(old_port, "n", 2);  // for the old incarnation: dropped
    a.n.snd(fresh, "n", 3);
    REQUIRE(got.wait_for(2));
    std::this_thread::sleep_for(50ms);
    CHECK(got.events() == std::vector<std::string>{"old 1", "new 3"});
    CHECK(b2.n.incarnation() != 0);
  }

  TEST_CASE(
      "a client that never greets is cut at the handshake deadline, garbage is cut at "
      "once, the node serves others meanwhile") {
    auto o = fast();
    o.connect_timeout = 300ms;
    tcp_node b{"raw-b", o};
    auto addr = b.t.addresses().at(0);
    auto port = static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
    asio::io_context io;
    asio::ip::tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
    asio::ip::tcp::socket silent{io}, garbage{io};
    silent.connect(ep);
    garbage.connect(ep);
    std::vector<std::byte> junk(64, std::byte{0xee});
    asio::write(garbage, asio::buffer(junk));
    CHECK(closed_by_peer(garbage, 2s));
    // Meanwhile a real node gets through.
    tcp_node a{"raw-a"};
    a.knows(b);
    probe got;
    auto pb = b.n.port();
    b.n.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
    a.n.snd(pb, "n", 7);
    REQUIRE(got.wait_for(1));
    auto start = std::chrono::steady_clock::now();
    CHECK(closed_by_peer(silent, 3s));
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(b.t.protocol().stats().bad_frames >= 1);
  }

  TEST_CASE(
      "binds are checked: a non-loopback address needs a secret or insecure, a bad "
      "address is named") {
    node n{threaded("bind-n")};
    CHECK_THROWS_WITH_AS(tp::tcp(n, fast({"0.0.0.0:0"})),
                         doctest::Contains("not a loopback address and no secret"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(tp::tcp(n, fast({"127.0.0.1"})), doctest::Contains("host:port"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(tp::tcp(n, fast({"127.0.0.1:99999"})), doctest::Contains("port"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(tp::tcp(n, fast({"::1:5"})), doctest::Contains("brackets"),
                         std::invalid_argument);
    auto bad_timeout = fast();
    bad_timeout.node_timeout = bad_timeout.heartbeat_interval;
    CHECK_THROWS_AS(tp::tcp(n, bad_timeout), std::invalid_argument);
  }

  TEST_CASE("IPv6 loopback works like IPv4") {
    auto o = fast({"[::1]:0"});
    std::optional<tcp_node> b;
    try {
      b.emplace("v6-b", o);
    } catch (const std::system_error& e) {
      MESSAGE("skipped: no IPv6 loopback here (" << e.what() << ")");
      return;
    }
    CHECK(b->t.addresses().at(0).rfind("[::1]:", 0) == 0);
    tcp_node a{"v6-a", fast({})};
    a.knows(*b);
    probe got;
    auto pb = b->n.port();
    b->n.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
    a.n.snd(pb, "n", 6);
    REQUIRE(got.wait_for(1));
  }
}

TEST_SUITE("transport.tcp") {
  TEST_CASE(
      "three nodes over TCP: each pair gets one connection, and a node's death reaches "
      "monitors on both others") {
    tcp_node a{"tri-a"}, b{"tri-b"}, c{"tri-c"};
    a.knows(b);
    a.knows(c);
    b.knows(c);
    probe got;
    auto pb = b.n.port(), pc = c.n.port();
    b.n.rcv(pb, "n", [&](std::string from) { got.add("b<-" + from); });
    c.n.rcv(pc, "n", [&](std::string from) { got.add("c<-" + from); });
    a.n.snd(pb, "n", std::string{"a"});
    a.n.snd(pc, "n", std::string{"a"});
    b.n.snd(pc, "n", std::string{"b"});
    REQUIRE(got.wait_for(3));
    c.n.snd(pb, "n", std::string{"c"});  // on the connection b opened (c has no address for b)
    REQUIRE(got.wait_for(4));
    auto events = got.events();
    std::sort(events.begin(), events.end());
    CHECK(events == std::vector<std::string>{"b<-a", "b<-c", "c<-a", "c<-b"});
    CHECK(a.t.stats().dialed == 2);
    CHECK(c.t.stats().dialed == 0);  // it answered on b's connection
    probe died;
    auto ga = a.n.mon(pc, [&](const reason& why) { died.add("a " + why.to_string()); });
    auto gb = b.n.mon(pc, [&](const reason& why) { died.add("b " + why.to_string()); });
    // A message after each watch, on the same connections: once both are handled, c has both
    // watches (killed earlier, the port would be gone and the monitors see no_such_port).
    a.n.snd(pc, "n", std::string{"a2"});
    b.n.snd(pc, "n", std::string{"b2"});
    REQUIRE(got.wait_for(6));
    c.n.kil(pc, "stop", "bye");
    REQUIRE(died.wait_for(2));
    for (const auto& e : died.events()) {
      INFO(e);
      CHECK(e.find("stop") != std::string::npos);
    }
  }

  TEST_CASE(
      "a node embedded in the user's io_context: the TCP links run on it, no thread of "
      "their own") {
    asio::io_context io;
    auto o = fast();
    o.context = &io;
    tcp_node a{"emb-a"};
    node b{threaded("emb-b")};
    std::optional<tp::tcp> tb{std::in_place, b, o};
    a.knows_address("emb-b", tb->addresses().at(0));
    std::atomic<bool> stop{false};
    std::thread runner{[&] {
      auto guard = asio::make_work_guard(io);
      while (!stop) io.run_for(10ms);
    }};
    probe got;
    auto pb = b.port();
    b.rcv(pb, "n", [&](int i) { got.add(std::to_string(i)); });
    for (int i = 0; i < 100; ++i) a.n.snd(pb, "n", i);
    CHECK(got.wait_for(100));
    CHECK(tb->stats().accepted == 1);
    stop = true;
    runner.join();
    tb.reset();  // the context is not running: allowed
  }
}

TEST_SUITE("transport.tcp") {
  TEST_CASE(
      "a node that ends normally says bye first: its peers see shutdown, not a failure, and "
      "drop later messages to it without dialing") {
    tcp_node a{"bye-a"};
    auto b = std::make_unique<tcp_node>("bye-b");
    a.knows(*b);
    probe died, downs, replied;
    auto sub = a.n.mon_nodes([&](const std::string& id, bool up, const reason& why) {
      if (!up) downs.add(id + " " + why.to_string());
    });
    auto worker = b->n.port([](message&) {});
    auto watch = a.n.mon(worker, [&](const reason& why) { died.add(why.to_string()); });
    a.n.cal(*port_id::parse("bye-b"), "ping", [&](reply r) { replied.add(r ? "reply" : "none"); });
    REQUIRE(replied.wait_for(1));
    REQUIRE(replied.events()[0] == "reply");  // linked, the watch made
    log_capture log;
    b.reset();  // its transport goes first (bye), then the node
    REQUIRE(died.wait_for(1));
    CHECK(died.events()[0] == "shutdown");
    REQUIRE(downs.wait_for(1));
    CHECK(downs.events()[0] == "bye-b shutdown");
    // The incarnation that left is gone for good: no dial, a monitor fires at once.
    const auto dialed = a.t.stats().dialed;
    const auto dropped = a.t.protocol().stats().messages_dropped;
    a.n.snd(worker, "late", 1);
    probe late;
    auto again = a.n.mon(worker, [&](const reason& why) { late.add(why.to_string()); });
    REQUIRE(late.wait_for(1));
    CHECK(late.events()[0] == "shutdown");
    for (int i = 0; i < 200 && a.t.protocol().stats().messages_dropped == dropped; ++i) {
      std::this_thread::sleep_for(10ms);  // bounded: the send runs on a's worker
    }
    CHECK(a.t.protocol().stats().messages_dropped == dropped + 1);
    CHECK(a.t.stats().dialed == dialed);
    CHECK(a.t.stats().dial_failures == 0);
    const auto text = log.text();
    CHECK_MESSAGE(text.find("[error]") == std::string::npos, text);
  }
}
