// The groups agent (groups/src/agent.cpp): what a node's members miss of their group's stream
// is asked for again, and a member that can no longer get it is told; none is cut silently.
#include <doctest/doctest.h>

#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <string>
#include <vector>

#include "protocol.hpp"  // groups/src: a master of the test's own
#include "support/group_cluster.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::chrono_literals;
using namespace std::string_literals;
namespace pg = coport::groups;
namespace gd = coport::groups::detail;

namespace {

/// Node a runs a real master of group g, node b a member of it; a port on node a plays a
/// second master of g at epoch 2 (what a standby that took over would be), whose items the
/// test sends and whose resends it answers as the test chooses.
struct second_master {
  group_cluster gc{{"ag-a", "ag-b"}};
  recorder rb;
  port_id member, master2;
  std::uint64_t first = 0;           ///< the first item the second master numbers
  std::vector<std::uint64_t> asked;  ///< the `last` of each resend the agent asked for
  bool answer = true;                ///< resends are answered
  std::uint64_t sent_up_to = 0;

  second_master() {
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    member = coport::test::member(gc.c[1], rb);
    join(gc, 1, "g", member);                              // item 1
    REQUIRE(gc.g[0]->send("g", "a"s, 0) == pg::errc::ok);  // item 2
    gc.c.run();
    REQUIRE(rb.seen == std::vector<std::string>{"a:0"});
    first = 3;
    master2 = gc.c[0].port([](message&) {});  // (the real master says its epoch to it)
    gc.c[0].rcv(master2, gd::resend_msg.tag(),
                [this](std::uint64_t epoch, std::uint64_t last, std::string) {
                  if (epoch != 2) return;
                  asked.push_back(last);
                  if (!answer) return;
                  for (std::uint64_t s = last + 1; s <= sent_up_to; ++s) item(s);
                });
  }
  /// Sends item `seq` of the second master: message k = seq.
  void item(std::uint64_t seq) {
    gd::item it;
    it.seq = seq;
    it.port = master2;
    it.payload =
        envelope{message::make(pg::message_tag(), port_id{}, "g"s, "m2"s, static_cast<int>(seq))};
    gc.c[0].snd(port_id{"ag-b", 0}, gd::deliver_msg, "g"s, std::uint64_t{2}, master2,
                std::uint8_t{0}, it);
    sent_up_to = std::max(sent_up_to, seq);
  }
  std::vector<std::string> expected(std::uint64_t upto) const {
    std::vector<std::string> want{"a:0"};
    for (std::uint64_t s = first; s <= upto; ++s) want.push_back("m2:" + std::to_string(s));
    return want;
  }
};

}  // namespace

TEST_SUITE("groups.agent") {
  TEST_CASE(
      "items of a new master that overflow what the agent holds for the registry are asked for "
      "again once the registry names that master") {
    second_master f;
    // 300 items of epoch 2 before the registry names their master: the agent holds 256
    // (max_unconfirmed_items) and refuses the rest, the stream's tail: no later item shows
    // the gap.
    const std::uint64_t last = f.first + 299;
    for (std::uint64_t s = f.first; s <= last; ++s) f.item(s);
    f.gc.c.run();
    CHECK(f.rb.seen.size() == 1);
    // The first ask is lost (the held items replayed in order show no gap): asked again.
    f.answer = false;
    auto named = f.gc.r[0]->reg(gd::registry_name("g"), f.master2);
    f.gc.c.run();
    REQUIRE(f.asked.size() == 1);
    CHECK(f.rb.seen.size() == 1 + 256);
    f.answer = true;
    f.gc.c.advance(1500ms);
    CHECK(f.asked.size() == 2);
    CHECK(f.rb.seen == f.expected(last));
  }

  TEST_CASE(
      "a resend the master does not answer is asked for again, and a member that gets no "
      "answer for long is told it lost messages") {
    second_master f;
    auto named = f.gc.r[0]->reg(gd::registry_name("g"), f.master2);
    f.gc.c.run();
    // Item `first` is lost on the way; the next ones show the gap, the first ask is lost.
    f.answer = false;
    f.sent_up_to = f.first;
    for (std::uint64_t s = f.first + 1; s <= f.first + 3; ++s) f.item(s);
    f.gc.c.run();
    REQUIRE(f.asked.size() == 1);
    CHECK(f.rb.seen.size() == 1);
    f.answer = true;
    f.gc.c.advance(1500ms);
    f.gc.c.run();
    CHECK(f.asked.size() == 2);
    CHECK(f.rb.seen == f.expected(f.first + 3));
    // A gap its master never fills: asked again and again, then the member is told.
    f.answer = false;
    f.sent_up_to = f.first + 4;
    f.item(f.first + 5);
    f.gc.c.run();
    for (int i = 0; i < 30; ++i) {
      f.gc.c.advance(1s);
      f.gc.c.run();
    }
    CHECK(f.asked.size() > 4);
    REQUIRE(!f.rb.seen.empty());
    CHECK(f.rb.seen.back() == "-" + f.member.to_string() + " lost_messages");
  }
  TEST_CASE(
      "a member whose link to its master broke is brought up to date as soon as the master's "
      "node is back, not seconds later") {
    // The master on a keeps releasing to c's member while the link a - b is down; b's
    // member may have been removed meanwhile (the master saw its node go). Either way, b's
    // agent saw no gap: nothing after the link came back shows it what it missed.
    group_cluster gc{{"lk-a", "lk-b", "lk-c"}};
    REQUIRE(gc.g[0]->create("g"));
    gc.c.run();
    recorder rb, rc;
    const port_id mb = member(gc.c[1], rb);
    join(gc, 1, "g", mb);
    join(gc, 2, "g", member(gc.c[2], rc));
    REQUIRE(gc.g[0]->send("g", "a"s, 0) == pg::errc::ok);
    gc.c.run();
    REQUIRE(!rb.seen.empty());
    REQUIRE(rb.seen.back() == "a:0");
    gc.c.cut(0, 1, "cut off for a while");
    gc.c.run();
    for (int k = 1; k <= 3; ++k) REQUIRE(gc.g[0]->send("g", "a"s, k) == pg::errc::ok);
    gc.c.run();
    REQUIRE(rb.seen.back() == "a:0");  // (not told anything while cut off)
    gc.c.connect(0, 1);
    gc.c.run();
    gc.c.advance(1s);
    gc.c.advance(1s);
    // Brought up to date: every message, or told it left (and why).
    REQUIRE(!rb.seen.empty());
    const bool all = rb.seen.back() == "a:3";
    const bool told = rb.seen.back().rfind("-" + mb.to_string() + " ", 0) == 0;
    CHECK_MESSAGE((all || told), "b's member's last event: " << rb.seen.back());
  }
}
