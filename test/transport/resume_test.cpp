// Links that survive a short reset (transport_options::resume_window, sent_stream.hpp): when
// a connection is reset and the same two incarnations connect again within the window, each
// side replays what the other had not taken, and nothing else happens. Past the window, or
// with a restarted node, the link is lost as before. Deterministic nodes on in-memory links
// (a reset is memory_link::reset_link), on their virtual clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <coport/coport.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <string>
#include <vector>

#include "frame.hpp"
#include "support/cluster.hpp"
#include "support/handshake_fixtures.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using namespace std::chrono_literals;
using tp::detail::frame_kind;
using frames = coport::test::hs::frames;
using raw_peer = coport::test::hs::raw_peer;
using namespace coport::test::hs;

namespace {

/// A raw peer's hello that says it resumes links, its (empty) proof, and then `resume`.
frames resuming_hello(const char* id, std::uint64_t kept_session, std::uint64_t taken) {
  frames f;
  f.hello(id, 7, 1, tp::detail::protocol_version, 0, tp::detail::own_capabilities).no_proof();
  auto r = tp::detail::resume_frame::encode(kept_session, taken);
  f.bytes_.insert(f.bytes_.end(), r.begin(), r.end());
  return f;
}

/// Two nodes, a port on the second that records the numbers it gets, a monitor on it from
/// the first, and both nodes' node events.
struct streaming {
  cluster c{{"rs-a", "rs-b"}};
  port_id sink;
  std::vector<std::int64_t> got;
  std::vector<std::string> fired, events;
  monitor watch;
  std::vector<subscription> subs;
  const std::string pad = std::string(100, 'x');  // 32 KiB are ~300 messages: acks come

  streaming() {
    sink = c[1].port();
    c[1].rcv(sink, "n", [this](std::int64_t i, const std::string&) { got.push_back(i); });
    watch = c[0].mon(sink, [this](const reason& why) { fired.push_back(why.to_string()); });
    for (std::size_t i = 0; i < 2; ++i) {
      subs.push_back(c[i].mon_nodes([this, i](const std::string& id, bool up, const reason&) {
        events.push_back(std::to_string(i) + ": " + id + (up ? " up" : " down"));
      }));
    }
    c.run();
  }
  void send(std::int64_t from, std::int64_t to) {
    for (std::int64_t i = from; i < to; ++i) c[0].snd(sink, "n", i, pad);
  }
  /// Hands `frames` frames of the stream to rs-b and lets both nodes run (acks go back).
  void part(std::size_t frames) {
    c.link(0, 1).hand_over(c.way(0, 1), frames);
    c.settle();
    c.link(0, 1).hand_over(c.way(1, 0), 1000);
    c.settle();
  }
  bool in_order(std::int64_t n) const {
    if (got.size() != static_cast<std::size_t>(n)) return false;
    for (std::int64_t i = 0; i < n; ++i) {
      if (got[static_cast<std::size_t>(i)] != i) return false;
    }
    return true;
  }
};

}  // namespace

TEST_SUITE("transport.resume") {
  TEST_CASE(
      "a link reset in the middle of a stream resumes on a new connection: every message "
      "arrives once and in order, no monitor fires, and no node goes down") {
    streaming s;
    s.send(0, 2000);
    s.part(700);  // some taken and acknowledged, some taken only, the rest in flight
    REQUIRE(s.got.size() > 300);
    REQUIRE(s.got.size() < 2000);
    s.c.reset(0, 1, "connection reset by peer");
    s.c.run();
    CHECK(s.c[0].up_nodes() == std::vector<std::string>{"rs-b"});  // it waits, it is not down
    s.send(2000, 3000);  // sent while the link waits: they wait too
    s.c.reconnect(0, 1);
    s.c.run();
    CHECK(s.in_order(3000));
    CHECK(s.fired.empty());
    CHECK(s.events.empty());
    auto links = s.c.transport(0).links();
    REQUIRE(links.size() == 1);
    CHECK(links[0].resumes == 1);
    CHECK(links[0].up);
    CHECK(s.c.transport(0).stats().messages_dropped == 0);
    CHECK(s.c.transport(1).stats().messages_dropped == 0);
  }

  TEST_CASE("a link resets twice in a row and still loses nothing") {
    streaming s;
    s.send(0, 1500);
    s.part(400);
    s.c.reset(0, 1, "reset one");
    s.c.run();
    s.c.reconnect(0, 1);
    s.part(10);  // the handshake and the resume frames, and a little of the replay
    s.c.reset(0, 1, "reset two");
    s.c.run();
    s.send(1500, 2000);
    s.c.reconnect(0, 1);
    s.c.run();
    CHECK(s.in_order(2000));
    CHECK(s.fired.empty());
    CHECK(s.events.empty());
  }

  TEST_CASE(
      "a link not resumed within the window is lost: the monitors fire, node-down follows, "
      "and what waited is dropped") {
    streaming s;
    s.send(0, 500);
    s.part(100);
    s.c.reset(0, 1, "connection reset by peer");
    s.c.run();
    s.send(500, 600);
    s.c.advance(2900ms);
    CHECK(s.fired.empty());  // within the window
    s.c.advance(200ms);
    REQUIRE(s.fired.size() == 1);
    CHECK(s.fired[0].find("did not resume within 3000 ms") != std::string::npos);
    CHECK(s.events == std::vector<std::string>{"0: rs-b down", "1: rs-a down"});
    CHECK(s.got.size() < 600);
  }

  TEST_CASE(
      "a node that comes back as a new incarnation is not resumed: the old link is lost at "
      "once and the new one is up") {
    streaming s;
    s.send(0, 300);
    s.part(100);
    s.c.reset(0, 1, "connection reset by peer");
    s.c.run();
    CHECK(s.fired.empty());
    s.c.restart(1);  // the same ID, a new incarnation, linked to rs-a again
    REQUIRE(s.fired.size() == 1);
    CHECK(s.fired[0].find("connection reset by peer") != std::string::npos);
    CHECK(std::count(s.events.begin(), s.events.end(), "0: rs-b down") == 1);
    CHECK(s.events.back() == "0: rs-b up");
  }

  TEST_CASE(
      "a port watched over the link that dies while the link waits is reported once it has "
      "resumed, with its own reason") {
    streaming s;
    s.send(0, 10);
    s.c.run();
    s.c.reset(0, 1, "connection reset by peer");
    s.c.run();
    s.c[1].kil(s.sink, reason{"stopped", "by test"});
    s.c.run();
    CHECK(s.fired.empty());
    s.c.reconnect(0, 1);
    s.c.run();
    REQUIRE(s.fired.size() == 1);
    CHECK(s.fired[0] == "stopped: by test");
    CHECK(s.events.empty());
  }

  TEST_CASE(
      "a peer that acknowledges more bytes than were sent to it ends the link (TCP, which keeps "
      "what it sends)") {
    log_capture log;
    tcp_node a{"rack-a", fast("")};
    int fd = connect_loopback(a.port());
    REQUIRE(fd >= 0);
    frames f = resuming_hello("rack-x", 0, 0);
    auto ack = tp::detail::ack_frame::encode(std::uint64_t{1} << 40);
    f.bytes_.insert(f.bytes_.end(), ack.begin(), ack.end());
    REQUIRE(write_all(fd, f.bytes_));
    CHECK(logged(log, "node rack-a: ending the channel to rack-x",
                 "acknowledges 1099511627776 bytes, more than were sent"));
    ::close(fd);
  }

  TEST_CASE(
      "a peer that says it kept this node's stream when this node kept nothing of it starts "
      "fresh: nothing is replayed, the link is up") {
    raw_peer b{"rfresh-b"};
    b.feed(resuming_hello("rfresh-a", 0x5e55'10'4, 123456));
    CHECK(b.n.up_nodes() == std::vector<std::string>{"rfresh-a"});
    CHECK(!b.ch->closed);
    auto links = b.t.links();
    REQUIRE(links.size() == 1);
    CHECK(links[0].resumes == 0);
  }

  TEST_CASE(
      "a peer that says it resumes links and sends anything before its resume frame, or a "
      "second resume frame, ends the link") {
    SUBCASE("a frame before the resume frame") {
      raw_peer b{"rbefore-b"};
      frames f;
      f.hello("rbefore-a", 7, 1, tp::detail::protocol_version, 0, tp::detail::own_capabilities)
          .no_proof()
          .def_tag(0, "x");
      b.feed(f);
      CHECK(b.ch->closed);
      CHECK(b.ch->why.find("a frame before the resume frame") != std::string::npos);
      CHECK(b.n.up_nodes().empty());
    }
    SUBCASE("a second resume frame") {
      raw_peer b{"rtwice-b"};
      b.feed(resuming_hello("rtwice-a", 0, 0));
      auto again = tp::detail::resume_frame::encode(0, 0);
      frames f;
      f.bytes_.assign(again.begin(), again.end());
      b.feed(f);
      CHECK(b.ch->closed);
      CHECK(b.ch->why.find("a resume frame where none was expected") != std::string::npos);
    }
  }
}
