// Declared messages (message_type) and the dispatch tables built from them.
#include <doctest/doctest.h>

#include <chrono>
#include <coport/dispatch_table.hpp>
#include <coport/message_type.hpp>
#include <coport/node.hpp>
#include <coport/remote.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using coport::test::link_end;
using coport::test::stepped;
using namespace std::chrono_literals;

namespace {
const message_type<std::uint64_t, port_id> ack{"t.ack"};
const message_type<std::string> note{"t.note"};
const message_type<std::string, std::uint32_t> note_v2{"t.note"};
const message_type<std::string, reason> died{"t.died", local_only};
const message_type<std::uint64_t> tick{"t.tick", local_only};
}  // namespace

TEST_SUITE("message_type") {
  TEST_CASE("a value sent through a declaration arrives as the declared type") {
    node n{stepped("mt-types")};
    std::vector<std::uint64_t> got;
    bool typed = false;
    auto p = n.port([&](message& m) {
      typed = ack.matches(m);
      if (typed) got.push_back(std::get<0>(ack.values(m)));
    });
    n.snd(p, ack, 7, p);  // an int literal: sent as std::uint64_t
    n.run_until_idle();
    CHECK(typed);
    CHECK(got == std::vector<std::uint64_t>{7});
    // Sent without the declaration, the same values are an int and do not match it.
    n.snd(p, "t.ack", 7, p);
    n.run_until_idle();
    CHECK(!typed);
    CHECK(note.make("hi").is<std::string>());
  }

  TEST_CASE("a dispatch table runs the handler of the declaration a message matches") {
    node n{stepped("mt-table")};
    std::vector<std::string> seen;
    dispatch_table t;
    t.on(ack, [&](message&, std::uint64_t& seq, port_id&) { seen.push_back(std::to_string(seq)); })
        .on(note, [&](message&, std::string& text) { seen.push_back(text); })
        .on(note_v2, [&](message&, std::string& text, std::uint32_t& v) {
          seen.push_back(text + "/" + std::to_string(v));
        });
    std::vector<dispatch_table::outcome> outcomes;
    auto p = n.port([&](message& m) { outcomes.push_back(t.dispatch(m)); });
    n.snd(p, ack, 1, p);
    n.snd(p, note, "a");
    n.snd(p, note_v2, "b", 2);
    n.snd(p, "t.ack", std::string{"not a number"});  // its tag, not its types
    n.snd(p, "t.other", 1);
    n.run_until_idle();
    using o = dispatch_table::outcome;
    CHECK(seen == std::vector<std::string>{"1", "a", "b/2"});
    CHECK(outcomes ==
          std::vector<o>{o::handled, o::handled, o::handled, o::mismatched, o::unknown});
    CHECK(t.knows(ack.tag()));
    CHECK(!t.knows(tag{"t.other"}));
  }

  TEST_CASE("a monitor sends a declared message with the reason as its last value") {
    node n{stepped("mt-mon")};
    std::vector<std::string> got;
    auto receiver = n.port([&](message& m) {
      if (!died.matches(m)) return got.push_back("mismatched " + m.describe());
      auto& [name, why] = died.values(m);
      got.push_back(name + " " + why.to_string());
    });
    auto watched = n.port([](message&) {});
    auto guard = n.mon(watched, receiver, died, "worker-1");  // a literal: sent as std::string
    n.kil(watched, "crashed");
    n.run_until_idle();
    CHECK(got == std::vector<std::string>{"worker-1 crashed"});
  }

  TEST_CASE("after sends a declared message with each value converted when its delay passed") {
    node n{stepped("mt-after")};
    std::vector<std::uint64_t> got;
    auto p = n.port([&](message& m) {
      if (tick.matches(m)) got.push_back(std::get<0>(tick.values(m)));
    });
    n.after(2s, p, tick, 5);  // an int: sent as std::uint64_t
    n.advance(1s);
    n.run_until_idle();
    CHECK(got.empty());
    n.advance(1s);
    n.run_until_idle();
    CHECK(got == std::vector<std::uint64_t>{5});
  }

  TEST_CASE(
      "a dispatch table takes a local-only message from this node and refuses it from a link") {
    node n{stepped("mt-local")};
    std::vector<std::string> seen;
    dispatch_table t;
    t.on(died, [&](message&, std::string& name, reason&) {
       seen.push_back(name);
     }).on(note, [&](message&, std::string& text) { seen.push_back(text); });
    std::vector<dispatch_table::outcome> outcomes;
    std::vector<bool> allowed;  // what a port without a table asks of the declaration
    auto p = n.port([&](message& m) {
      allowed.push_back(died.allows_origin(m));
      outcomes.push_back(t.dispatch(m));
    });
    const std::uint32_t peer = port_id{"mt-peer", 1}.node_number();  // the link's node
    n.snd(p, died, "here", reason{});
    CHECK(link_end(n).deliver_from(p, died.make("forged", reason{"die"}), peer));
    CHECK(link_end(n).deliver_from(p, note.make("from the peer"), peer));
    n.run_until_idle();
    using o = dispatch_table::outcome;
    CHECK(seen == std::vector<std::string>{"here", "from the peer"});
    CHECK(outcomes == std::vector<o>{o::handled, o::foreign, o::handled});
    // The declaration's rule alone, whatever the tag: ask matches() as well.
    CHECK(allowed == std::vector<bool>{true, false, false});
  }
}
