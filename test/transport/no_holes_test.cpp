// "No holes" as AEMP promises it: after a message to a port is lost, nothing later from the
// sender reaches that port until the sender's monitoring action has *run* — also when the
// action runs deferred, in a port busy with other messages. Both ways a message is lost: the
// receiver could not decode it (the `lost` notice and its acknowledgement), and the link
// broke (what the sender sends next waits for its monitors, then goes on the new link).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <coport/coport.hpp>
#include <coport/detail/interner.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <coport/wire/codec.hpp>
#include <future>
#include <string>
#include <vector>

#include "frame.hpp"
#include "support/cluster.hpp"
#include "support/handshake_fixtures.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using tp::detail::frame_kind;
using namespace std::chrono_literals;

namespace {

using capture_channel = coport::test::hs::capture_channel;
using frames = coport::test::hs::frames;

using raw_peer = coport::test::hs::raw_peer;

// The peer says messages for its port `p` from us were lost (it could not decode one).
frames lost_notice(const port_id& p) {
  return frames{}.add(frame_kind::lost, [&](wire::writer& w) {
    w.varint(p.local());
    w.varint(p.incarnation());
    wire::codec<reason>::encode(w, reason{"transport_error", "peer", "could not decode"});
  });
}

// Steps `n` one job at a time until idle; after each step, `check()`.
template <class F>
void step_checking(node& n, F&& check) {
  for (int i = 0; i < 100'000 && n.step(); ++i) check();
}

// Steps node 0 only until it has seen its link to node 1 break (its monitors have fired:
// callbacks bound to a port or posted have not run yet), then node 1 likewise.
void see_down(cluster& c) {
  for (int i = 0; i < 100'000 && !c[0].up_nodes().empty(); ++i) REQUIRE(c[0].step());
  REQUIRE(c[0].up_nodes().empty());
  for (int i = 0; i < 100'000 && !c[1].up_nodes().empty(); ++i) REQUIRE(c[1].step());
  REQUIRE(c[1].up_nodes().empty());
}

}  // namespace

TEST_SUITE("transport.no_holes") {
  TEST_CASE(
      "after a lost notice the sender acknowledges only once its monitor has run, made "
      "inside the sending port while that port is busy") {
    raw_peer s{"holes-in-s"};
    s.h->on_bytes(frames{}.hello("holes-in-r", 7).no_proof().bytes_);
    s.n.run_until_idle();
    const auto p = detail::make_port_id(detail::node_names().intern("holes-in-r"), 5, 7);
    bool ran = false;
    int work_done = 0;
    monitor watch;
    auto sender = s.n.port();
    s.n.rcv(sender, "work", [&] { ++work_done; });
    s.n.peval(sender, [&] { watch = s.n.mon(p, [&](const reason&) { ran = true; }); });
    s.n.run_until_idle();
    s.ch->take_kinds();
    // The sending port is busy: 500 messages wait in it when the notice arrives.
    for (int i = 0; i < 500; ++i) s.n.snd(sender, "work");
    s.h->on_bytes(lost_notice(p).bytes_);
    auto acks = [&] {
      auto kinds = s.ch->take_kinds();
      return std::count(kinds.begin(), kinds.end(), frame_kind::lost_ack);
    };
    CHECK(acks() == 0);  // the callback waits behind 500 messages: no acknowledgement yet
    long total = 0;
    bool early = false;
    step_checking(s.n, [&] {
      const auto now = acks();
      if (now && !ran) early = true;
      total += now;
    });
    CHECK(ran);
    CHECK(work_done == 500);
    CHECK(!early);
    CHECK(total == 1);
  }

  TEST_CASE(
      "after a lost notice the sender acknowledges only once its monitor has run, made "
      "outside any port") {
    raw_peer s{"holes-out-s"};
    s.h->on_bytes(frames{}.hello("holes-out-r", 7).no_proof().bytes_);
    s.n.run_until_idle();
    const auto p = detail::make_port_id(detail::node_names().intern("holes-out-r"), 5, 7);
    bool ran = false;
    auto watch = s.n.mon(p, [&](const reason&) { ran = true; });
    s.n.run_until_idle();
    s.ch->take_kinds();
    s.h->on_bytes(lost_notice(p).bytes_);
    auto kinds = s.ch->take_kinds();
    CHECK(std::count(kinds.begin(), kinds.end(), frame_kind::lost_ack) == 0);
    bool early = false;
    long total = 0;
    step_checking(s.n, [&] {
      auto k = s.ch->take_kinds();
      const auto now = std::count(k.begin(), k.end(), frame_kind::lost_ack);
      if (now && !ran) early = true;
      total += now;
    });
    CHECK(ran);
    CHECK(!early);
    CHECK(total == 1);
  }

  TEST_CASE("a lost notice for a port nobody here monitors is acknowledged at the next step") {
    raw_peer s{"holes-none-s"};
    s.h->on_bytes(frames{}.hello("holes-none-r", 7).no_proof().bytes_);
    s.n.run_until_idle();
    const auto p = detail::make_port_id(detail::node_names().intern("holes-none-r"), 9, 7);
    s.ch->take_kinds();
    s.h->on_bytes(lost_notice(p).bytes_);
    s.n.run_until_idle();
    auto kinds = s.ch->take_kinds();
    CHECK(std::count(kinds.begin(), kinds.end(), frame_kind::lost_ack) == 1);
  }

  TEST_CASE(
      "what the sender sends to a port after its lost notice waits here and follows the "
      "acknowledgement, rather than being dropped there") {
    raw_peer s{"holes-wait-s"};
    s.h->on_bytes(frames{}.hello("holes-wait-r", 7).no_proof().bytes_);
    s.n.run_until_idle();
    const auto p = detail::make_port_id(detail::node_names().intern("holes-wait-r"), 5, 7);
    bool ran = false;
    auto watch = s.n.mon(p, [&](const reason&) { ran = true; });
    s.n.run_until_idle();
    s.ch->take_kinds();
    s.h->on_bytes(lost_notice(p).bytes_);
    s.n.snd(p, "x", 1);  // before the monitor ran
    CHECK(s.ch->take_kinds().empty());
    s.n.run_until_idle();
    CHECK(ran);
    auto kinds = s.ch->take_kinds();
    kinds.erase(std::remove_if(kinds.begin(), kinds.end(),
                               [](frame_kind k) {
                                 return k == frame_kind::def_tag || k == frame_kind::def_sig ||
                                        k == frame_kind::def_node;
                               }),
                kinds.end());
    CHECK(kinds == std::vector<frame_kind>{frame_kind::lost_ack, frame_kind::message});
  }

  TEST_CASE(
      "a message refused for a full queue holds later ones to that port until its "
      "monitor ran") {
    struct backlog_channel : capture_channel {
      std::size_t backlog = 0;
      std::size_t queued() const override { return backlog; }
    };
    node n{stepped("holes-full-s")};
    tp::transport_options o;
    o.max_queue = 1000;
    tp::endpoint t{n, o};
    auto ch = std::make_shared<backlog_channel>();
    auto h = t.attach(ch);
    h->on_bytes(frames{}.hello("holes-full-r", 7).no_proof().bytes_);
    n.run_until_idle();
    const auto p = detail::make_port_id(detail::node_names().intern("holes-full-r"), 5, 7);
    bool ran = false;
    auto watch = n.mon(p, [&](const reason&) { ran = true; });
    n.run_until_idle();
    ch->take_kinds();
    ch->backlog = 5000;
    n.snd(p, "x", 1);  // refused: the queue is full
    ch->backlog = 0;
    n.snd(p, "x", 2);  // the queue has room again, but the monitor has not run
    auto early = ch->take_kinds();
    CHECK(std::count(early.begin(), early.end(), frame_kind::message) == 0);
    CHECK(!ran);
    n.run_until_idle();
    CHECK(ran);
    auto later = ch->take_kinds();
    CHECK(std::count(later.begin(), later.end(), frame_kind::message) == 1);
  }

  TEST_CASE(
      "after a broken link what the sender sends next to a monitored port reaches it on "
      "the new link only after the monitor ran in the busy sending port, in order") {
    // Threaded nodes: the sending port is really busy (its handler blocks) while the link
    // breaks, a new one comes up and the sender goes on sending.
    probe events;  // in the order they happened, on both nodes (outlives them)
    std::promise<void> go_on;
    auto released = go_on.get_future().share();
    struct release_on_exit {
      std::promise<void>& p;
      bool done = false;
      ~release_on_exit() {
        if (!done) p.set_value();  // a failed REQUIRE: unblock the handler before the nodes end
      }
    } guard{go_on};
    node s{threaded("holes-link-s")}, r{threaded("holes-link-r")};
    tp::endpoint ts{s}, tr{r};
    auto first = tp::memory_link::connect(ts, tr);
    REQUIRE(eventually([&] { return s.up_nodes().size() == 1 && r.up_nodes().size() == 1; }));
    auto p = r.port(), free = r.port();
    r.rcv(p, "n", [&](int i) { events.add("got " + std::to_string(i)); });
    r.rcv(free, "n", [&](int i) { events.add("free " + std::to_string(i)); });
    auto sender = s.port();
    s.rcv(sender, "block", [&, released] {
      events.add("busy");
      released.wait_for(30s);
    });
    monitor watch;
    s.peval(sender, [&] { watch = s.mon(p, [&](const reason&) { events.add("monitor ran"); }); });
    s.snd(p, "n", 1);  // after the watch, on the same link
    REQUIRE(events.wait_for(1));
    s.snd(sender, "block");
    REQUIRE(events.wait_for(2));
    first->break_link("reset by test");
    REQUIRE(eventually([&] { return s.up_nodes().empty() && r.up_nodes().empty(); }));
    auto second = tp::memory_link::connect(ts, tr);
    REQUIRE(eventually([&] { return s.up_nodes().size() == 1 && r.up_nodes().size() == 1; }));
    for (int i = 2; i <= 4; ++i) s.snd(p, "n", i);
    s.snd(free, "n", 9);  // sent after them on the same link: arrives after them, unless held
    REQUIRE(events.wait_for(3));
    CHECK(events.events() == std::vector<std::string>{"got 1", "busy", "free 9"});
    guard.done = true;
    go_on.set_value();
    REQUIRE(events.wait_for(7));
    CHECK(events.events() == std::vector<std::string>{"got 1", "busy", "free 9", "monitor ran",
                                                      "got 2", "got 3", "got 4"});
  }

  TEST_CASE(
      "after a broken link messages to ports nobody monitors are not held, and a monitor "
      "made outside any port releases its port once it ran") {
    cluster c{{"holes-free-s", "holes-free-r"}};
    std::vector<std::string> events;
    auto watched = c[1].port(), free = c[1].port();
    c[1].rcv(watched, "n", [&](int i) { events.push_back("watched " + std::to_string(i)); });
    c[1].rcv(free, "n", [&](int i) { events.push_back("free " + std::to_string(i)); });
    auto watch = c[0].mon(watched, [&](const reason&) { events.push_back("monitor ran"); });
    c.run();
    c.link(0, 1).break_link("reset by test");
    see_down(c);
    c.connect(0, 1);
    c[0].snd(watched, "n", 1);
    c[0].snd(free, "n", 1);
    c.run();
    CHECK(events == std::vector<std::string>{"monitor ran", "free 1", "watched 1"});
  }
}
