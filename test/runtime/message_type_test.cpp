// Declared messages (message_type) and the dispatch tables built from them.
#include <doctest/doctest.h>

#include <coport/dispatch_table.hpp>
#include <coport/message_type.hpp>
#include <coport/node.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "support/nodes.hpp"

using namespace coport;
using coport::test::stepped;

namespace {
const message_type<std::uint64_t, port_id> ack{"t.ack"};
const message_type<std::string> note{"t.note"};
const message_type<std::string, std::uint32_t> note_v2{"t.note"};
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
}
