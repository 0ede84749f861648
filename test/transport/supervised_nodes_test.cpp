// Supervisors whose children run on other nodes (deterministic nodes on in-memory links):
// a child whose node is lost starts again on the next node its spec names, and an ordered
// stop waits no longer than a child's shutdown time for a node that does not answer.
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/supervisor.hpp>
#include <string>
#include <vector>

#include "support/cluster.hpp"

using namespace coport;
using namespace coport::test;
using namespace std::chrono_literals;

namespace {

// Registers "far.worker" on every node of `c`; each start is written down as "id@node".
void register_workers(cluster& c, std::vector<std::string>& starts) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    node& n = c[i];
    n.register_init("far.worker", [&n, &starts](std::string id) {
      starts.push_back(id + "@" + n.id());
      n.rcv(self(), "ping", [] {});
    });
  }
}

port_id child_port(cluster& c, const port_id& sup, const std::string& id) {
  port_id found;
  c[0].cal(sup, "which_children", [&](reply r) {
    if (!r || !r->is<std::vector<std::string>, std::vector<port_id>>()) return;
    auto& [ids, ports] = r->as<std::vector<std::string>, std::vector<port_id>>();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == id) found = ports[i];
    }
  });
  c.run();
  return found;
}

}  // namespace

TEST_SUITE("transport.supervised_nodes") {
  TEST_CASE("a child whose node is lost starts again on the next node its spec names") {
    cluster c{{"far-a", "far-b", "far-c"}};
    std::vector<std::string> starts;
    register_workers(c, starts);
    supervisor_spec spec;
    spec.children.push_back(
        child_spec::of("w", "far.worker", std::string{"w"}).on({"far-b", "far-c"}));
    auto sup = start_supervisor(c[0], std::move(spec));
    c.run();
    CHECK(starts == std::vector<std::string>{"w@far-b"});
    CHECK(child_port(c, sup, "w").node() == "far-b");
    c.link(0, 1).break_link("far-b unplugged");
    c.run();
    CHECK(starts == std::vector<std::string>{"w@far-b", "w@far-c"});
    CHECK(child_port(c, sup, "w").node() == "far-c");
    CHECK(c[0].alive(sup));
  }

  TEST_CASE("an ordered stop waits at most a child's shutdown time for a node that is silent") {
    cluster c{{"stop-a", "stop-b"}};
    std::vector<std::string> starts;
    register_workers(c, starts);
    supervisor_spec spec;
    spec.children.push_back(child_spec::of("near", "far.worker", std::string{"near"}));
    spec.children.push_back(
        child_spec::of("far", "far.worker", std::string{"far"}).on({"stop-b"}).shutdown_within(2s));
    auto sup = start_supervisor(c[0], std::move(spec));
    c.run();
    REQUIRE(starts.size() == 2);
    auto near = child_port(c, sup, "near");
    reason end{"not yet"};
    auto watch = c[0].mon(sup, [&](const reason& why) { end = why; });
    c[0].snd(sup, "stop");
    c.settle();  // the kill waits on the link, which the test does not hand over
    CHECK(!end.normal());
    CHECK(c[0].alive(near));  // the last child goes first: near waits for far
    c[0].advance(1900ms);
    c.settle();
    CHECK(c[0].alive(near));
    c[0].advance(100ms);
    c.settle();
    CHECK(!c[0].alive(near));
    CHECK(end.normal());
    CHECK(!c[0].alive(sup));
  }
}
