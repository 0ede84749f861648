// The handshake (protocol version 5, handshake.hpp) against an attacker on the network:
// a squatter on a node's ID, junk hellos, oversized frames and other frames before the
// proof, and the keys both ends derive (the relay between two nodes: relay_test.cpp).
// Every socket binds or dials 127.0.0.1; every wait is bounded; nothing sleeps to order.
#include "support/handshake_fixtures.hpp"

using namespace coport;
using namespace coport::test;
using namespace coport::test::hs;

TEST_SUITE("transport.handshake") {
  TEST_CASE(
      "a squatter that says hello with a node's ID and proves nothing holds no slot: the real "
      "node connects meanwhile, and the squatter's junk proof later disturbs nothing") {
    log_capture log;
    auto patient = fast();
    patient.connect_timeout = 10s;  // A's handshake deadline: the squatter outlives the test
    tcp_node a{"sq-a", patient}, c{"sq-c"};
    c.knows(a);
    probe hellos;
    a.t.protocol().observe([&](const tp::frame_event& e) {
      if (e.kind == "hello") hellos.add(e.kind);
    });
    // The squatter: a valid v3 hello in C's name (C's own incarnation even), then nothing.
    int squatter = connect_loopback(a.port());
    REQUIRE(squatter >= 0);
    tp::detail::handshake fake{"not the secret, but 22+ characters long", true, false};
    REQUIRE(write_all(squatter, fake.hello_frame("sq-c", c.n.incarnation(), {})));
    REQUIRE(hellos.wait_for(1));  // A has read it: the squatter's channel is pending on "sq-c"
    // The real C connects while it is pending, and is taken.
    probe at_a, at_c, a_nodes, c_nodes, died_at_a, died_at_c;
    auto pa = a.n.port();
    a.n.rcv(pa, "n", [&](int v) { at_a.add(std::to_string(v)); });
    auto pc = c.n.port();
    c.n.rcv(pc, "m", [&](int v) { at_c.add(std::to_string(v)); });
    c.n.snd(pa, "n", 1);
    REQUIRE(at_a.wait_for(1));
    CHECK(a.n.up_nodes() == std::vector<std::string>{"sq-c"});
    // Now C is connected: watches both ways, node-down events (an up event of this link
    // may still come: the node reports it after it sent what waited).
    auto sa = a.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      if (!up) a_nodes.add(id + " down");
    });
    auto sc = c.n.mon_nodes([&](const std::string& id, bool up, const reason&) {
      if (!up) c_nodes.add(id + " down");
    });
    auto ga = a.n.mon(pc, [&](const reason& why) { died_at_a.add(why.to_string()); });
    auto gc = c.n.mon(pa, [&](const reason& why) { died_at_c.add(why.to_string()); });
    c.n.snd(pa, "n", 2);
    a.n.snd(pc, "m", 1);
    REQUIRE(at_a.wait_for(2));
    REQUIRE(at_c.wait_for(1));
    // The squatter goes on: a proof under a wrong secret, over A's real hello.
    bytes pending;
    auto a_hello = read_frame(squatter, pending);
    REQUIRE(a_hello.has_value());
    REQUIRE(a_hello->first == frame_kind::hello);
    fake.take_hello(a_hello->second, "sq-c");
    REQUIRE(write_all(squatter, fake.proof_frame()));
    // A answers "bad proof" and proves nothing (no oracle for guessing the secret offline),
    // then closes.
    auto verdict = read_frame(squatter, pending);
    REQUIRE(verdict.has_value());
    CHECK(verdict->first == frame_kind::auth);
    {
      wire::reader rd{std::span<const std::byte>{verdict->second}};
      CHECK(rd.byte() == static_cast<std::uint8_t>(tp::detail::verdict::bad_proof));
      rd.string_view();
      CHECK(rd.varint() == 0);  // no proof
    }
    CHECK(closed_by_peer(squatter, 5s));
    ::close(squatter);
    // A second squatter, after C is connected: hello and a junk proof at once.
    int second = connect_loopback(a.port());
    REQUIRE(second >= 0);
    frames junk;
    junk.hello("sq-c", c.n.incarnation()).proof(bytes(32, std::byte{0x5a}));
    REQUIRE(write_all(second, junk.bytes_));
    CHECK(closed_by_peer(second, 5s));
    ::close(second);
    CHECK(logged(log, "authentication of a node calling itself sq-c failed"));
    // The link is undisturbed: messages flow both ways, no monitor fired, no node went down,
    // C did not have to connect again.
    c.n.snd(pa, "n", 3);
    a.n.snd(pc, "m", 2);
    REQUIRE(at_a.wait_for(3));
    REQUIRE(at_c.wait_for(2));
    CHECK(at_a.events() == std::vector<std::string>{"1", "2", "3"});
    CHECK(died_at_a.events().empty());
    CHECK(died_at_c.events().empty());
    CHECK(a_nodes.events().empty());
    CHECK(c_nodes.events().empty());
    CHECK(c.t.stats().dialed == 1);
    CHECK(a.t.protocol().stats().refused >= 2);
    CHECK(a.n.up_nodes() == std::vector<std::string>{"sq-c"});
    a.t.protocol().observe(nullptr);
  }

  TEST_CASE(
      "20 000 hellos with distinct node IDs and no valid proof intern none of the IDs, and a "
      "real node still connects") {
    log_capture log;  // the refusals are logged
    tp::transport_options o;
    o.secret = secret;
    node b{stepped("junk-b")};
    tp::endpoint tb{b, o};
    constexpr int count = 20'000;
    auto id_of = [](int i) { return "junk-hello-" + std::to_string(i); };
    auto start = clock_type::now();
    int refused_here = 0;
    for (int i = 0; i < count; ++i) {
      auto ch = std::make_shared<capture_channel>();
      auto h = tb.attach(ch);
      frames f;
      f.hello(id_of(i), static_cast<std::uint32_t>(i + 1));
      if (i % 3 == 1) f.proof(bytes(32, std::byte{static_cast<unsigned char>(i)}));  // junk
      if (i % 3 == 2) f.proof({});  // "I have no secret"
      h->on_bytes(f.bytes_);
      if (ch->closed) {
        ++refused_here;
      } else {
        h->on_closed("the attacker went away");  // the hello alone: pending until closed
      }
    }
    b.run_until_idle();
    auto took = clock_type::now() - start;
    MESSAGE("20 000 junk hellos took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    int interned = 0;
    for (int i = 0; i < count; ++i) interned += detail::node_names().find(id_of(i)) != 0;
    CHECK(interned == 0);
    CHECK(refused_here == count * 2 / 3);
    CHECK(tb.stats().refused == static_cast<std::size_t>(refused_here));
    CHECK(b.up_nodes().empty());
    // A real node with the secret connects and is heard.
    node a{stepped("junk-a")};
    tp::endpoint ta{a, o};
    std::vector<int> got;
    auto pb = b.port();
    b.rcv(pb, "n", [&](int v) { got.push_back(v); });
    auto link = tp::memory_link::connect(ta, tb, /*manual=*/true);
    a.snd(pb, "n", 5);
    for (int round = 0; round < 100 && got.empty(); ++round) {
      a.run_until_idle();
      b.run_until_idle();
      link->hand_over_all();
    }
    CHECK(got == std::vector<int>{5});
    CHECK(b.up_nodes() == std::vector<std::string>{"junk-a"});
  }

  TEST_CASE(
      "a frame over 8 KiB before the handshake ends closes the channel after its 5 header "
      "bytes, with or without a secret, whole or split") {
    log_capture log;  // each is logged
    struct big_case {
      const char* what;
      frames before;
      std::uint32_t length;
      std::uint8_t kind;
    };
    std::vector<big_case> cases;
    cases.push_back({"a 64 MiB hello first", {}, 64u << 20, 1});
    cases.push_back({"a hello of 8 KiB + 2", {}, tp::detail::max_handshake_frame + 2, 1});
    cases.push_back({"a 2 GiB frame of unknown kind first", {}, 0x80000000u, 99});
    {
      frames f;
      f.hello("big-a");
      cases.push_back({"a 64 MiB auth after a valid hello", f, 64u << 20, 13});
      cases.push_back({"a 1 MiB message after a valid hello", f, 1u << 20, 5});
      cases.push_back({"a 4 GiB auth after a valid hello", f, 0xffffffffu, 13});
    }
    for (const std::string& with : {std::string{}, secret}) {
      tp::transport_options o;
      o.secret = with;
      node b{stepped("big-b")};
      tp::endpoint tb{b, o};
      for (const auto& c : cases) {
        for (bool split : {false, true}) {
          INFO(c.what << (with.empty() ? ", no secret" : ", with a secret")
                      << (split ? ", the header in two reads" : ""));
          auto ch = std::make_shared<capture_channel>();
          auto h = tb.attach(ch);
          if (!c.before.bytes_.empty()) h->on_bytes(c.before.bytes_);
          REQUIRE(!ch->closed);
          frames head;
          head.header(c.length, c.kind);
          std::span<const std::byte> hb{head.bytes_};
          if (split) {
            h->on_bytes(hb.first(3));
            CHECK(!ch->closed);
            h->on_bytes(hb.subspan(3));
          } else {
            h->on_bytes(hb);
          }
          // Closed with only the header read: nothing of the announced size was awaited.
          CHECK(ch->closed);
          CHECK(ch->why.find("before the handshake ends") != std::string::npos);
          CHECK(ch->why.find(std::to_string(c.length)) != std::string::npos);
          h->on_closed("gone");
        }
      }
      b.run_until_idle();
      CHECK(tb.stats().bad_frames == cases.size() * 2);
    }
  }

  TEST_CASE(
      "before the proof only hello and auth frames are read: a message, kill, spawn or watch "
      "there ends the channel on either side and takes no effect") {
    log_capture log;
    tp::transport_options o;
    o.secret = secret;
    node b{stepped("pre-b")};
    tp::endpoint tb{b, o};
    probe delivered, died, spawned;
    auto p = b.port();
    b.rcv(p, "x", [&](int v) { delivered.add(std::to_string(v)); });
    b.register_init("pre.init", [&](int) { spawned.add("spawned"); });
    auto guard = b.mon(p, [&](const reason& why) { died.add(why.to_string()); });
    b.run_until_idle();
    const std::uint64_t minted = (std::uint64_t{1} << 63) | 99;
    std::vector<std::pair<const char*, frames>> after_hello;
    after_hello.push_back({"def_tag", frames{}.def_tag(0, "x")});
    after_hello.push_back(
        {"message", frames{}.def_tag(0, "x").def_sig(0, {"i32"}).msg(p, 0, 0, 1)});
    after_hello.push_back({"kill", frames{}.kill(p, b.incarnation())});
    after_hello.push_back({"spawn", frames{}.def_sig(0, {"i32"}).spawn(minted, "pre.init", 0, 1)});
    after_hello.push_back({"watch", frames{}.add(frame_kind::watch, [&](wire::writer& w) {
                             w.varint(p.local());
                             w.varint(p.incarnation());
                           })});
    std::size_t ended = 0;
    for (bool dialer_side : {false, true}) {
      for (auto& [what, f] : after_hello) {
        INFO(what << (dialer_side ? " to the dialer, before the verdict"
                                  : " to the acceptor, before the proof"));
        auto ch = std::make_shared<capture_channel>();
        // The dialer side: b opened the channel to "pre-a" and waits for its verdict.
        auto h = dialer_side ? tb.attach(ch, "pre-a") : tb.attach(ch);
        frames all;
        all.hello("pre-a", 7, dialer_side ? 0 : 1);
        all.bytes_.insert(all.bytes_.end(), f.bytes_.begin(), f.bytes_.end());
        h->on_bytes(all.bytes_);
        b.run_until_idle();
        CHECK(ch->closed);
        ended += ch->closed;
        h->on_closed("gone");
        b.run_until_idle();
      }
    }
    CHECK(tb.stats().bad_frames == ended);
    CHECK(delivered.events().empty());
    CHECK(died.events().empty());
    CHECK(spawned.events().empty());
  }

  TEST_CASE(
      "over TCP, an oversized frame after a hello is cut at once, long before the handshake "
      "deadline, and the node serves others") {
    log_capture log;
    auto o = fast();
    o.connect_timeout = 10s;  // the handshake deadline: the cut must come from the size
    tcp_node b{"bigtcp-b", o};
    int s = connect_loopback(b.port());
    REQUIRE(s >= 0);
    frames f;
    f.hello("bigtcp-a").header(64u << 20, 13);
    REQUIRE(write_all(s, f.bytes_));
    auto start = clock_type::now();
    CHECK(closed_by_peer(s, 5s));
    CHECK(clock_type::now() - start < 5s);
    ::close(s);
    CHECK(logged(log, "before the handshake ends"));
    tcp_node a{"bigtcp-a", o};
    a.knows(b);
    probe got;
    auto pb = b.n.port();
    b.n.rcv(pb, "n", [&](int v) { got.add(std::to_string(v)); });
    a.n.snd(pb, "n", 1);
    REQUIRE(got.wait_for(1));
  }

  TEST_CASE(
      "the two ends derive the same keys crosswise, one per direction, new ones each channel, "
      "a wrong secret's proof and a forged verdict fail, a reflected record fails") {
    struct pair_of {
      tp::detail::handshake d, a;
      bytes d_hello, a_hello;
      pair_of(const std::string& ds, const std::string& as)
          : d{ds, true, false}, a{as, false, false} {
        auto hd = d.hello_frame("hk-d", 1, {});
        auto ha = a.hello_frame("hk-a", 2, {});
        d_hello.assign(hd.begin() + tp::detail::frame_header, hd.end());
        a_hello.assign(ha.begin() + tp::detail::frame_header, ha.end());
        d.take_hello(a_hello, "hk-d");
        a.take_hello(d_hello, "hk-a");
      }
    };
    auto body = [](const bytes& frame) {
      return bytes(frame.begin() + tp::detail::frame_header, frame.end());
    };
    pair_of one{secret, secret};
    CHECK(one.d.dialer());
    CHECK(!one.a.dialer());
    {
      bytes proof = body(one.d.proof_frame());
      wire::reader r{std::span<const std::byte>{proof}};
      CHECK(one.a.check_proof(r) == "");
    }
    bytes verdict = body(one.a.verdict_frame(tp::detail::verdict::accept, ""));
    {
      wire::reader r{std::span<const std::byte>{verdict}};
      std::string error;
      auto v = one.d.check_verdict(r, error);
      CHECK(error == "");
      CHECK(v.what == tp::detail::verdict::accept);
    }
    {
      // The verdict changed on the way ("busy" instead of "accept"): its proof fails.
      bytes forged = verdict;
      forged[0] = static_cast<std::byte>(tp::detail::verdict::busy);
      wire::reader r{std::span<const std::byte>{forged}};
      std::string error;
      one.d.check_verdict(r, error);
      CHECK(error != "");
    }
    auto kd = one.d.keys(), ka = one.a.keys();
    REQUIRE(kd.has_value());
    REQUIRE(ka.has_value());
    CHECK(kd->send.key == ka->receive.key);
    CHECK(kd->send.iv == ka->receive.iv);
    CHECK(kd->receive.key == ka->send.key);
    CHECK(kd->send.key != kd->receive.key);
    CHECK(!kd->encrypt);
    // Another channel between the same nodes: new nonces, new keys.
    pair_of two{secret, secret};
    auto kd2 = two.d.keys();
    REQUIRE(kd2.has_value());
    CHECK(kd2->send.key != kd->send.key);
    CHECK(kd2->receive.key != kd->receive.key);
    // A record reflected to its sender fails; sent on, it opens.
    struct sink : tp::detail::record_opener::sink {
      int n = 0;
      void on_plain(std::span<const std::byte>) override { ++n; }
    } to;
    tp::detail::record_sealer seal{kd->send, false};
    bytes rec;
    seal.seal(bytes(10, std::byte{1}), rec);
    bytes copy = rec;
    tp::detail::record_opener own{kd->receive, false}, peer{ka->receive, false};
    CHECK(own.open(copy, to) != "");
    CHECK(to.n == 0);
    CHECK(peer.open(rec, to) == "");
    CHECK(to.n == 1);
    // A wrong secret: the acceptor refuses the proof.
    pair_of wrong{"another secret, also 22+ characters", secret};
    bytes proof = body(wrong.d.proof_frame());
    wire::reader r{std::span<const std::byte>{proof}};
    CHECK(wrong.a.check_proof(r) != "");
  }
}
