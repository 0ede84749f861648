// Traces across nodes: a traced message carries its W3C context over the link (the trace frame),
// large ones too; spans are caught from other nodes (coport/trace_catcher.hpp), which trace what
// their catchers ask. Deterministic nodes on in-memory links.
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/testing/cluster.hpp>
#include <coport/trace.hpp>
#include <coport/trace_catcher.hpp>
#include <string>
#include <vector>

#include "support/log_capture.hpp"

using namespace coport;
using coport::test::quiet_log;
using coport::testing::cluster;

namespace {

std::vector<span> handles(const std::vector<span>& spans) {
  std::vector<span> out;
  for (const auto& s : spans) {
    if (s.kind == span_kind::handle) out.push_back(s);
  }
  return out;
}

}  // namespace

TEST_SUITE("transport.trace") {
  TEST_CASE(
      "a request is followed across nodes: the handler on the other node is the child of the run "
      "that sent it, and its reply comes back in the same trace") {
    cluster c{{"tr-a", "tr-b"}};
    std::vector<span> at_a, at_b;
    auto hook_a = on_span(c[0], [&](const span& s) { at_a.push_back(s); });
    auto hook_b = on_span(c[1], [&](const span& s) { at_b.push_back(s); });
    auto server = c[1].port();
    c[1].rcv(server, "price",
             [&](std::string item, port_id reply) { c[1].snd(reply, "quote", item, 42.5); });
    auto client = c[0].port();
    c[0].rcv(client, "ask", [&](std::string item) { c[0].snd(server, "price", item, client); });
    c[0].rcv(client, "quote", [](std::string, double) {});
    auto tracing = trace(c[0], trace_filter{.tags = {"ask"}});
    c[0].snd(client, "ask", std::string{"tea"});
    c.run();
    auto runs_a = handles(at_a), runs_b = handles(at_b);
    REQUIRE(runs_a.size() == 2);  // ask, then quote
    REQUIRE(runs_b.size() == 1);  // price
    const span &ask = runs_a[0], &price = runs_b[0], &quote = runs_a[1];
    CHECK(ask.tag == "ask");
    CHECK(price.tag == "price");
    CHECK(quote.tag == "quote");
    CHECK(price.trace_id == ask.trace_id);
    CHECK(quote.trace_id == ask.trace_id);
    CHECK(price.parent_id == ask.span_id);
    CHECK(quote.parent_id == price.span_id);
    CHECK(price.node == "tr-b");
    CHECK(price.from == client);
    CHECK(price.to == server);
    CHECK(price.hop == 1);
    CHECK(quote.hop == 2);
    CHECK(price.size > 0);  // the message frame's bytes
    CHECK(ask.size == 0);   // made on its node
  }

  TEST_CASE("a large traced message keeps its trace across its fragments") {
    cluster c{{"tl-a", "tl-b"}};
    std::vector<span> at_b;
    auto hook_b = on_span(c[1], [&](const span& s) { at_b.push_back(s); });
    std::size_t got = 0;
    auto sink = c[1].port();
    c[1].rcv(sink, "big", [&](std::string s) { got = s.size(); });
    c[1].rcv(sink, "small", [](int) {});
    auto tracing = trace(c[0], trace_filter{.tags = {"big"}});
    c[0].snd(sink, "small", 1);
    c[0].snd(sink, "big", std::string(300 * 1024, 'x'));
    c[0].snd(sink, "small", 2);
    c.run();
    CHECK(got == 300 * 1024);
    auto runs = handles(at_b);
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].tag == "big");
    CHECK(runs[0].size > 300 * 1024);
  }

  TEST_CASE("a message that arrives untraced starts a trace where a filter of its node matches") {
    cluster c{{"ta-a", "ta-b"}};
    std::vector<span> at_b;
    auto hook_b = on_span(c[1], [&](const span& s) { at_b.push_back(s); });
    auto sink = c[1].port([](message&) {});
    auto tracing = trace(c[1], trace_filter{.ports = {sink}});
    c[0].snd(sink, "m", 1);
    c.run();
    REQUIRE(at_b.size() == 2);
    CHECK(at_b[0].kind == span_kind::send);
    CHECK(at_b[0].from == port_id{"ta-a", 0});  // the node it came from
    CHECK(at_b[1].parent_id == at_b[0].span_id);
  }

  TEST_CASE(
      "catch_traces collects another node's spans and turns its tracing on for as long as the "
      "catch lasts") {
    quiet_log quiet;
    cluster c{{"tc-a", "tc-b", "tc-c"}};
    trace_service serve_a{c[0]}, serve_b{c[1]};
    auto server = c[1].port();
    c[1].rcv(server, "work", [](int) {});
    auto client = c[0].port();
    c[0].rcv(client, "go", [&](int k) { c[0].snd(server, "work", k); });
    std::vector<span> caught;
    auto catch_a = catch_traces(c[2], "tc-a", trace_filter{.tags = {"go"}},
                                [&](const span& s) { caught.push_back(s); });
    auto catch_b =
        catch_traces(c[2], "tc-b", trace_filter{}, [&](const span& s) { caught.push_back(s); });
    c.run();
    CHECK(tracing_stats(c[0]).filters == 1);
    CHECK(tracing_stats(c[1]).filters == 0);  // its catcher's filter names nothing
    c[0].snd(client, "go", 1);
    c.run();
    REQUIRE(caught.size() == 3);  // go's root and run on tc-a, work's run on tc-b
    std::vector<std::string> where;
    for (const auto& s : caught) {
      CHECK(s.trace_id == caught[0].trace_id);
      where.push_back(s.node + " " + s.tag);
    }
    std::sort(where.begin(), where.end());
    CHECK(where == std::vector<std::string>{"tc-a go", "tc-a go", "tc-b work"});
    catch_a.cancel();
    catch_b.cancel();
    c.run();
    CHECK(tracing_stats(c[0]).filters == 0);
    const auto roots = tracing_stats(c[0]).roots;
    c[0].snd(client, "go", 2);
    c.run();
    CHECK(tracing_stats(c[0]).roots == roots);
  }

  TEST_CASE("a catch of a node traced whole does not trace the spans it sends to the catcher") {
    quiet_log quiet;
    cluster c{{"tw-a", "tw-b"}};
    trace_service serve_a{c[0]};
    std::vector<span> caught;
    auto catching = catch_traces(c[1], "tw-a", trace_filter{.node = true},
                                 [&](const span& s) { caught.push_back(s); });
    c.run();
    auto p = c[0].port([](message&) {});
    c[0].snd(p, "one");
    c.run();
    // One message, one trace: its root and its run. Nothing about the spans themselves.
    REQUIRE(caught.size() == 2);
    CHECK(caught[0].tag == "one");
    CHECK(caught[1].tag == "one");
    CHECK(tracing_stats(c[0]).roots == 1);
  }

  TEST_CASE("catch_traces refuses filters beyond the service's bounds") {
    cluster c{{"tb-a"}};
    auto cb = [](const span&) {};
    CHECK_THROWS_AS(catch_traces(c[0], "", trace_filter{}, cb), std::invalid_argument);
    CHECK_THROWS_AS(catch_traces(c[0], "tb-a", trace_filter{}, {}), std::invalid_argument);
    CHECK_THROWS_AS(catch_traces(c[0], "tb-a", trace_filter{.node = true, .rate = 1e6}, cb),
                    std::invalid_argument);
    trace_filter many;
    many.tags.assign(trace_service::max_filter_names + 1, "t");
    CHECK_THROWS_AS(catch_traces(c[0], "tb-a", many, cb), std::invalid_argument);
  }
}
