// Tracing on one node (coport/trace.hpp): what starts a trace, the spans a request makes through
// ports, where a chain ends, the bounds, W3C traceparent and JSON lines.
// test/transport/trace_test.cpp follows traces across nodes.
#include <doctest/doctest.h>

#include <coport/internal/trace_marks.hpp>
#include <coport/node.hpp>
#include <coport/trace.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/log_capture.hpp"
#include "support/nodes.hpp"

using namespace coport;
using coport::test::quiet_log;
using coport::test::stepped;

namespace {

/// Collects a node's spans.
struct spans_of {
  std::vector<span> got;
  subscription hook;
  explicit spans_of(node& n) : hook{on_span(n, [this](const span& s) { got.push_back(s); })} {}
  std::vector<span> of(span_kind k) const {
    std::vector<span> out;
    for (const auto& s : got) {
      if (s.kind == k) out.push_back(s);
    }
    return out;
  }
};

std::string hex(const std::array<std::uint8_t, 8>& id) {
  return to_hex(id.data(), id.size());
}

}  // namespace

TEST_SUITE("trace") {
  TEST_CASE("tracing is off by default: handled messages make no span and count nothing") {
    node n{stepped("trace-off")};
    spans_of spans{n};
    auto p = n.port([](message&) {});
    n.snd(p, "order", 1);
    n.run_until_idle();
    CHECK(spans.got.empty());
    auto st = tracing_stats(n);
    CHECK(st.filters == 0);
    CHECK(st.roots == 0);
    CHECK(st.spans == 0);
  }

  TEST_CASE(
      "a filter on a tag starts a trace: a send span as its root, then a handle span per handler "
      "run, each the child of the run that sent its message") {
    node n{stepped("trace-tag")};
    spans_of spans{n};
    auto shipping = n.port();
    n.rcv(shipping, "ship", [](int) {});
    auto shop = n.port();
    n.rcv(shop, "order", [&](int id) { n.snd(shipping, "ship", id); });
    auto tracing = trace(n, trace_filter{.tags = {"order"}});
    n.snd(shop, "order", 7);
    n.snd(shipping, "ship", 8);  // no filter matches it, and it is sent outside any trace
    n.run_until_idle();
    REQUIRE(spans.got.size() == 3);
    auto roots = spans.of(span_kind::send);
    auto runs = spans.of(span_kind::handle);
    REQUIRE(roots.size() == 1);
    REQUIRE(runs.size() == 2);
    const span& root = roots[0];
    CHECK(root.tag == "order");
    CHECK(root.to == shop);
    CHECK(!root.from);
    CHECK(root.node == "trace-tag");
    CHECK(root.hop == 0);
    CHECK(root.duration.count() == 0);
    CHECK(hex(root.parent_id) == "0000000000000000");
    const span& order = runs[0];
    CHECK(order.tag == "order");
    CHECK(order.to == shop);
    CHECK(order.trace_id == root.trace_id);
    CHECK(order.parent_id == root.span_id);
    CHECK(order.hop == 0);
    const span& ship = runs[1];
    CHECK(ship.tag == "ship");
    CHECK(ship.to == shipping);
    CHECK(ship.from == shop);
    CHECK(ship.trace_id == root.trace_id);
    CHECK(ship.parent_id == order.span_id);
    CHECK(ship.hop == 1);
    CHECK(ship.span_id != order.span_id);
    auto st = tracing_stats(n);
    CHECK(st.filters == 1);
    CHECK(st.roots == 1);
    CHECK(st.spans == 3);
  }

  TEST_CASE("a traced cal's callback runs in the trace, as the child of the reply's run") {
    node n{stepped("trace-cal")};
    spans_of spans{n};
    auto server = n.port();
    n.rcv(server, "price", [&](std::string, port_id reply) { n.snd(reply, "quote", 4.5); });
    auto sink = n.port();
    n.rcv(sink, "done", [](double) {});
    auto client = n.port();
    n.rcv(client, "go", [&] {
      n.cal(server, "price", std::string{"tea"}, [&](reply r) {
        REQUIRE(r);
        n.snd(sink, "done", r->get<double>(0));
      });
    });
    auto tracing = trace(n, trace_filter{.tags = {"go"}});
    n.snd(client, "go");
    n.run_until_idle();
    auto runs = spans.of(span_kind::handle);
    REQUIRE(runs.size() == 4);  // go, price, the reply port's quote, done
    CHECK(runs[0].tag == "go");
    CHECK(runs[1].tag == "price");
    CHECK(runs[2].tag == "quote");
    CHECK(runs[3].tag == "done");
    for (const auto& r : runs) CHECK(r.trace_id == runs[0].trace_id);
    CHECK(runs[3].parent_id == runs[2].span_id);
    CHECK(runs[3].from == client);
  }

  TEST_CASE("a filter on a port traces what is sent to that port and nothing else") {
    node n{stepped("trace-port")};
    spans_of spans{n};
    auto a = n.port([](message&) {});
    auto b = n.port([](message&) {});
    auto tracing = trace(n, trace_filter{.ports = {b}});
    n.snd(a, "x");
    n.snd(b, "y");
    n.snd(a, "z");
    n.run_until_idle();
    REQUIRE(spans.got.size() == 2);
    for (const auto& s : spans.got) {
      CHECK(s.to == b);
      CHECK(s.tag == "y");
    }
  }

  TEST_CASE(
      "a filter turned on sees sends the send cache had taken before, and the cache "
      "serves them again once it is off") {
    node n{stepped("trace-cache")};
    spans_of spans{n};
    auto p = n.port([](message&) {});
    for (int i = 0; i < 3; ++i) n.snd(p, "warm", i);  // this thread's cache holds p now
    n.run_until_idle();
    {
      auto tracing = trace(n, trace_filter{.tags = {"hot"}});
      n.snd(p, "hot");
      n.snd(p, "hot");
      n.run_until_idle();
      CHECK(spans.of(span_kind::send).size() == 2);
    }
    n.snd(p, "hot");
    n.run_until_idle();
    CHECK(spans.of(span_kind::send).size() == 2);
    CHECK(tracing_stats(n).roots == 2);
  }

  TEST_CASE("one peer's messages hold at most max_marks_per_origin of the process's marks") {
    using namespace coport::detail;
    std::vector<message> held;
    auto mark_one = [&](std::uint32_t origin) {
      held.push_back(message::make("m", 1));
      trace_mark m;
      m.context.trace_id = new_trace_id();
      m.context.parent_id = new_span_id();
      m.origin = origin;
      return mark_trace(held.back().get_block(), m);
    };
    const std::size_t unmarked = unmarked_traces();
    for (std::size_t i = 0; i < max_marks_per_origin; ++i) REQUIRE(mark_one(7));
    CHECK_FALSE(mark_one(7));  // its share is full
    CHECK(mark_one(8));        // another peer's is not
    CHECK(mark_one(0));        // nor this node's
    CHECK(unmarked_traces() == unmarked + 1);
    CHECK(take_trace(held.front()));  // one of 7's taken: room for one more
    CHECK(mark_one(7));
    held.clear();  // destroyed with their marks: the shares are empty again
    for (std::size_t i = 0; i < 10; ++i) CHECK(mark_one(7));
    held.clear();
  }

  TEST_CASE("a filter ends with its guard, and traces already started end with their chain") {
    node n{stepped("trace-guard")};
    spans_of spans{n};
    auto p = n.port([](message&) {});
    auto tracing = trace(n, trace_filter{.node = true});
    n.snd(p, "a");
    tracing.cancel();
    n.snd(p, "b");
    n.run_until_idle();
    REQUIRE(spans.got.size() == 2);  // a's root and run; b untraced
    CHECK(spans.got[0].tag == "a");
    CHECK(spans.got[1].tag == "a");
    CHECK(tracing_stats(n).filters == 0);
  }

  TEST_CASE("a trace's chain ends after max_hops messages while its ports go on") {
    node n{stepped("trace-hops")};
    spans_of spans{n};
    auto ping = n.port(), pong = n.port();
    int rounds = 0;
    n.rcv(ping, "serve", [&] { n.snd(pong, "ball", 1); });
    n.rcv(ping, "ball", [&](int k) {
      if (++rounds < 20) n.snd(pong, "ball", k + 1);
    });
    n.rcv(pong, "ball", [&](int k) { n.snd(ping, "ball", k + 1); });
    auto tracing = trace(n, trace_filter{.tags = {"serve"}, .max_hops = 5});
    n.snd(ping, "serve");
    n.run_until_idle();
    CHECK(rounds == 20);
    auto runs = spans.of(span_kind::handle);
    REQUIRE(spans.of(span_kind::send).size() == 1);
    REQUIRE(runs.size() == 5);  // serve, then four balls: hops 0 to 4
    for (std::uint32_t i = 0; i < runs.size(); ++i) CHECK(runs[i].hop == i);
  }

  TEST_CASE("roots are bounded by the filter's rate, spans by the node's trace_rate") {
    SUBCASE("the filter's rate") {
      node n{stepped("trace-rate")};
      spans_of spans{n};
      auto p = n.port([](message&) {});
      auto tracing = trace(n, trace_filter{.node = true, .rate = 2});
      for (int i = 0; i < 50; ++i) n.snd(p, "m", i);
      n.run_until_idle();
      // A bucket of one second's worth (2), refilled at 2 a second: 50 sends in far less than
      // the 24 s that would refill the rest.
      const auto roots = tracing_stats(n).roots;
      CHECK(roots >= 2);
      CHECK(roots < 10);
      CHECK(spans.of(span_kind::send).size() == roots);
    }
    SUBCASE("the node's span rate, and the count of what it did not record") {
      node_options o = stepped("trace-span-rate");
      o.trace_rate = 3;
      node n{o};
      spans_of spans{n};
      auto p = n.port([](message&) {});
      auto tracing = trace(n, trace_filter{.node = true, .rate = 1000});
      for (int i = 0; i < 50; ++i) n.snd(p, "m", i);
      n.run_until_idle();
      auto st = tracing_stats(n);
      CHECK(st.roots == 50);
      CHECK(st.spans >= 3);
      CHECK(st.spans < 10);
      CHECK(st.spans + st.suppressed == 100);
      CHECK(spans.got.size() == st.spans);
    }
  }

  TEST_CASE("a traced message that is dropped leaves no mark behind: the table stays bounded") {
    node n{stepped("trace-drop")};
    auto p = n.port([](message&) {});
    n.kil(p);
    n.run_until_idle();
    auto tracing = trace(n, trace_filter{.node = true, .rate = 1e9});
    const std::size_t before = tracing_stats(n).unmarked;
    for (std::size_t i = 0; i < max_marked + 1000; ++i) n.snd(p, "lost", 1);
    n.run_until_idle();
    auto st = tracing_stats(n);
    CHECK(st.roots == max_marked + 1000);
    CHECK(st.unmarked == before);
  }

  TEST_CASE(
      "current_trace names the running span and trace_scope continues a trace from elsewhere") {
    node n{stepped("trace-scope")};
    spans_of spans{n};
    CHECK(!current_trace());
    std::optional<trace_context> inside;
    auto p = n.port();
    n.rcv(p, "in", [&] { inside = current_trace(); });
    auto outside =
        trace_context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    REQUIRE(outside);
    {
      trace_scope scope{*outside};
      CHECK(current_trace() == outside);
      n.snd(p, "in");
    }
    CHECK(!current_trace());
    n.run_until_idle();
    REQUIRE(spans.got.size() == 1);
    const span& run = spans.got[0];
    CHECK(run.trace_id == outside->trace_id);
    CHECK(run.parent_id == outside->parent_id);
    REQUIRE(inside);
    CHECK(inside->trace_id == outside->trace_id);
    CHECK(inside->parent_id == run.span_id);
    CHECK(inside->hop == 1);
  }

  TEST_CASE("traceparent: W3C's form both ways, and what is not W3C's is refused") {
    auto c =
        trace_context::from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    REQUIRE(c);
    CHECK(c->flags == 1);
    CHECK(c->traceparent() == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    for (const char* bad :
         {"",
          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",      // short
          "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // version
          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",     // uppercase
          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // zero trace
          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // zero parent
          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // separator
          "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"}) {  // not hex
      CHECK_MESSAGE(!trace_context::from_traceparent(bad), bad);
    }
  }

  TEST_CASE("json_lines writes each span as one line of JSON, bytes that are not UTF-8 replaced") {
    node n{stepped("trace-json")};
    std::ostringstream out;
    auto hook = on_span(n, json_lines(out));
    auto p = n.port([](message&) {});
    auto tracing = trace(n, trace_filter{.ports = {p}});
    n.snd(p, std::string{"bad\xff tag"}, 1);
    n.run_until_idle();
    std::istringstream lines{out.str()};
    std::vector<nlohmann::json> got;
    for (std::string line; std::getline(lines, line);) got.push_back(nlohmann::json::parse(line));
    REQUIRE(got.size() == 2);
    CHECK(got[0]["kind"] == "send");
    CHECK(got[0]["parent_id"].is_null());
    CHECK(got[0]["from"].is_null());
    CHECK(got[1]["kind"] == "handle");
    CHECK(got[1]["trace_id"] == got[0]["trace_id"]);
    CHECK(got[1]["parent_id"] == got[0]["span_id"]);
    CHECK(got[1]["to"] == p.to_string());
    CHECK(got[1]["node"] == "trace-json");
    CHECK(got[1]["tag"] == "bad\xef\xbf\xbd tag");
    CHECK(got[1]["trace_id"].get<std::string>().size() == 32);
    CHECK(got[1]["duration_ns"].get<std::int64_t>() >= 0);
  }

  TEST_CASE("a hook that throws is logged and the others still get the span") {
    quiet_log quiet;
    node n{stepped("trace-throw")};
    auto bad = on_span(n, [](const span&) { throw std::runtime_error{"hook failed"}; });
    spans_of spans{n};
    auto p = n.port([](message&) {});
    auto tracing = trace(n, trace_filter{.ports = {p}});
    n.snd(p, "x");
    n.run_until_idle();
    CHECK(spans.got.size() == 2);
  }

  TEST_CASE("a hook that ends its own guard is not called again, even for spans of its batch") {
    node n{stepped("trace-self-end")};
    int calls = 0;
    subscription hook;
    hook = on_span(n, [&](const span&) {
      ++calls;
      hook.cancel();
    });
    auto p = n.port([](message&) {});
    auto tracing = trace(n, trace_filter{.ports = {p}});
    for (int i = 0; i < 3; ++i) n.snd(p, "x", i);  // six spans, queued before the first call
    n.run_until_idle();
    CHECK(calls == 1);
  }

  TEST_CASE("trace, on_span and node_options.trace_rate refuse what makes no sense") {
    node n{stepped("trace-bad")};
    CHECK_THROWS_AS(trace(n, trace_filter{}), std::invalid_argument);
    CHECK_THROWS_AS(trace(n, trace_filter{.node = true, .rate = 0}), std::invalid_argument);
    CHECK_THROWS_AS(trace(n, trace_filter{.node = true, .max_hops = 0}), std::invalid_argument);
    CHECK_THROWS_AS(trace(n, trace_filter{.node = true, .max_hops = 10001}), std::invalid_argument);
    CHECK_THROWS_AS(on_span(n, {}), std::invalid_argument);
    node_options o = stepped("trace-bad-rate");
    o.trace_rate = 0;
    CHECK_THROWS_AS(node{o}, std::invalid_argument);
  }
}
