// A relay between two nodes that share the secret, over real TCP on 127.0.0.1: it forwards
// their real handshake and then writes its own frames, flips a bit, or only forwards (the
// control). Only the records after the handshake stop it (record.hpp, handshake.hpp).
// Every wait is bounded; nothing sleeps to order.
#include "support/handshake_fixtures.hpp"

using namespace coport;
using namespace coport::test;
using namespace coport::test::hs;

TEST_SUITE("transport.relay") {
  TEST_CASE(
      "a relay that forwards two nodes' real handshake and then writes its own frames to "
      "one: the handshake succeeds, the injected message, kill and spawn are refused, the "
      "refusal is logged and both ends see the link end") {
    log_capture log;
    tcp_node a{"relay-a"}, b{"relay-b"};
    probe a_nodes, b_nodes;
    auto sa = a.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      a_nodes.add(id + (up ? " up" : " down"));
    });
    auto sb = b.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      b_nodes.add(id + (up ? " up" : " down"));
    });
    probe delivered, alive, spawned, died_at_a, died_at_b;
    auto p = a.n.port();
    a.n.rcv(p, "relay.x", [&](int v) { delivered.add("relay.x " + std::to_string(v)); });
    a.n.rcv(p, "n", [&](int v) { delivered.add("n " + std::to_string(v)); });
    a.n.rcv(p, "alive", [&] { alive.add("alive"); });
    a.n.register_init("relay.init", [&](int) { spawned.add("spawned"); });
    auto a_guard = a.n.mon(p, [&](const reason& why) { died_at_a.add(why.to_string()); });
    // What the attacker writes to A once the handshake is over: plain frames, as B would
    // have sent them before protocol version 3.
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 4242;
    frames injection;
    injection.def_tag(0, "relay.x")
        .def_sig(0, {"i32"})
        .msg(p, 0, 0, 666)
        .kill(p, a.n.incarnation())
        .spawn(minted, "relay.init", 0, 1);
    relay r{a.port(), relay::mode::inject, injection.bytes_};
    b.t.add_peer("relay-a", {r.address()});  // B believes A is where the attacker listens
    auto b_guard = b.n.mon(p, [&](const reason& why) { died_at_b.add(why.to_string()); });
    b.n.snd(p, "n", 1);  // B dials "A": the attacker
    // Both proofs checked out through the relay: both nodes took the link as up.
    CHECK(eventually([&] { return seen(a_nodes, "relay-b up"); }));
    CHECK(eventually([&] { return seen(b_nodes, "relay-a up"); }));
    CHECK(eventually([&] { return r.injected.load(); }, 5s));
    CHECK(r.b_authed);
    CHECK(r.a_authed);
    // A refused the first forged record, said so, and ended the link.
    CHECK(logged(log, "node relay-a: ending the channel", "failed authentication"));
    CHECK(eventually([&] { return seen(a_nodes, "relay-b down"); }));
    CHECK(eventually([&] { return r.done.load(); }, 5s));
    CHECK(r.a_closed);
    // B sees it too: its monitor of A's port fires and A is down.
    REQUIRE(died_at_b.wait_for(1));
    CHECK(died_at_b.events()[0].find("transport_error") != std::string::npos);
    CHECK(eventually([&] { return seen(b_nodes, "relay-a down"); }));
    CHECK(sorted(a_nodes) == std::vector<std::string>{"relay-b down", "relay-b up"});
    CHECK(sorted(b_nodes) == std::vector<std::string>{"relay-a down", "relay-a up"});
    // Nothing of it took effect at A: the port is alive and got nothing (a local message
    // sent now comes after anything the link had delivered), no monitor fired, nothing was
    // spawned.
    a.n.snd(p, "alive");
    REQUIRE(alive.wait_for(1));
    CHECK(delivered.events().empty());
    CHECK(died_at_a.events().empty());
    probe spawned_port;
    auto s_guard = a.n.mon(detail::make_port_id(p.node_number(), minted, a.n.incarnation()),
                           [&](const reason& why) { spawned_port.add(why.to_string()); });
    REQUIRE(spawned_port.wait_for(1));
    CHECK(spawned_port.events()[0].find("no_such_port") != std::string::npos);
    CHECK(spawned.events().empty());
  }

  TEST_CASE(
      "a relay that writes its own frames to the dialer right behind the acceptor's verdict: "
      "the dialer refuses them, logs it and ends the link") {
    log_capture log;
    tcp_node a{"relay2-a"}, b{"relay2-b"};
    probe b_nodes, delivered, alive, spawned, died_at_b;
    auto sb = b.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      b_nodes.add(id + (up ? " up" : " down"));
    });
    auto pb = b.n.port();
    b.n.rcv(pb, "relay.x", [&](int v) { delivered.add("relay.x " + std::to_string(v)); });
    b.n.rcv(pb, "alive", [&] { alive.add("alive"); });
    b.n.register_init("relay.init", [&](int) { spawned.add("spawned"); });
    auto local_guard = b.n.mon(pb, [&](const reason& why) { died_at_b.add(why.to_string()); });
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 4343;
    frames injection;
    injection.def_tag(0, "relay.x")
        .def_sig(0, {"i32"})
        .msg(pb, 0, 0, 666)
        .kill(pb, b.n.incarnation())
        .spawn(minted, "relay.init", 0, 1);
    relay r{a.port(), relay::mode::inject_to_dialer, injection.bytes_};
    b.t.add_peer("relay2-a", {r.address()});
    auto pa = a.n.port();
    probe died_remote;
    auto remote_guard = b.n.mon(pa, [&](const reason& why) { died_remote.add(why.to_string()); });
    CHECK(eventually([&] { return r.injected.load(); }, 5s));
    CHECK(logged(log, "node relay2-b: ending the channel", "failed authentication"));
    REQUIRE(died_remote.wait_for(1));
    CHECK(died_remote.events()[0].find("transport_error") != std::string::npos);
    REQUIRE(b_nodes.wait_for(2));
    CHECK(sorted(b_nodes) == std::vector<std::string>{"relay2-a down", "relay2-a up"});
    b.n.snd(pb, "alive");
    REQUIRE(alive.wait_for(1));
    CHECK(delivered.events().empty());
    CHECK(died_at_b.events().empty());
    probe spawned_port;
    auto s_guard = b.n.mon(detail::make_port_id(pb.node_number(), minted, b.n.incarnation()),
                           [&](const reason& why) { spawned_port.add(why.to_string()); });
    REQUIRE(spawned_port.wait_for(1));
    CHECK(spawned_port.events()[0].find("no_such_port") != std::string::npos);
    CHECK(spawned.events().empty());
  }

  TEST_CASE("a relay that only forwards is a transparent wire: messages cross both ways") {
    // The control of the relay tests: the attacker's relay works, so what fails above fails
    // because of the records, not the relay.
    tcp_node a{"fwd-a"}, b{"fwd-b"};
    relay r{a.port(), relay::mode::forward};
    b.t.add_peer("fwd-a", {r.address()});
    probe at_a, at_b;
    auto pa = a.n.port();
    auto pb = b.n.port();
    a.n.rcv(pa, "n", [&](int v) {
      at_a.add(std::to_string(v));
      a.n.snd(pb, "back", v);
    });
    b.n.rcv(pb, "back", [&](int v) { at_b.add(std::to_string(v)); });
    for (int i = 0; i < 20; ++i) b.n.snd(pa, "n", i);
    REQUIRE(at_a.wait_for(20));
    REQUIRE(at_b.wait_for(20));
    CHECK(r.b_authed);
    CHECK(r.a_authed);
    CHECK(r.b_records_forwarded > 0);
    CHECK(a.t.stats().accepted == 1);  // the relay's connection: the only one
    CHECK(a.t.stats().dialed == 0);
  }

  TEST_CASE(
      "a relay that flips one bit of a record after the handshake ends the link, and the "
      "message in that record is never delivered") {
    log_capture log;
    tcp_node a{"flip-a"}, b{"flip-b"};
    relay r{a.port(), relay::mode::flip};
    b.t.add_peer("flip-a", {r.address()});
    probe at_a, died_at_b;
    auto pa = a.n.port();
    a.n.rcv(pa, "n", [&](int v) { at_a.add(std::to_string(v)); });
    a.n.rcv(pa, "alive", [&] { at_a.add("alive"); });
    auto guard = b.n.mon(pa, [&](const reason& why) { died_at_b.add(why.to_string()); });
    b.n.snd(pa, "n", 1);
    CHECK(eventually([&] { return r.flipped.load(); }, 5s));
    CHECK(logged(log, "node flip-a: ending the channel", "failed authentication"));
    REQUIRE(died_at_b.wait_for(1));
    CHECK(eventually([&] { return r.done.load(); }, 5s));
    a.n.snd(pa, "alive");
    REQUIRE(at_a.wait_for(1));
    CHECK(at_a.events() == std::vector<std::string>{"alive"});
  }
}
