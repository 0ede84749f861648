// Seeds and discovery with real TCP links on loopback, in one process: a mesh forms from one
// seed, a seed that is down at first or restarts is joined, a node that goes is noticed.
// Every socket binds 127.0.0.1; every wait is bounded.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <coport/network/mesh.hpp>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;
using coport::network::mesh;
using coport::network::mesh_options;

namespace {

tp::tcp_options loopback(std::string bind = "127.0.0.1:0") {
  tp::tcp_options o;
  o.binds = {std::move(bind)};
  o.heartbeat_interval = 100ms;
  o.node_timeout = 1000ms;
  o.connect_timeout = 1000ms;
  return o;
}

/// A node with TCP links and a place in the mesh.
struct member {
  node n;
  tp::tcp t;
  mesh m;
  member(const std::string& id, std::vector<std::string> seeds, std::string bind = "127.0.0.1:0")
      : n{node_options{.id = id, .threads = 1}},
        t{n, loopback(std::move(bind))},
        m{n, t,
          mesh_options{.seeds = std::move(seeds),
                       .retry_min = 50ms,
                       .retry_max = 400ms,
                       .gossip_interval = 300ms}} {}
  std::string address() { return t.addresses().at(0); }
};

/// A loopback address with a port that was free a moment ago.
std::string free_address() {
  node probe_node{node_options{.id = "free-port-probe", .threads = 1}};
  tp::tcp probe_tcp{probe_node, loopback()};
  return probe_tcp.addresses().at(0);
}

/// A seed `prefix-0` (or `seed_id`) and count-1 members that know only its address.
std::vector<std::unique_ptr<member>> seeded(const std::string& prefix, int count,
                                            std::string seed_id = {}) {
  std::vector<std::unique_ptr<member>> ms;
  ms.push_back(std::make_unique<member>(seed_id.empty() ? prefix + "-0" : seed_id,
                                        std::vector<std::string>{}));
  std::string seed = ms[0]->address();
  for (int i = 1; i < count; ++i) {
    ms.push_back(
        std::make_unique<member>(fmt::format("{}-{}", prefix, i), std::vector<std::string>{seed}));
  }
  return ms;
}

/// True when every member is linked to every other one.
bool full_mesh(const std::vector<std::unique_ptr<member>>& ms) {
  for (const auto& a : ms) {
    if (a->n.up_nodes().size() != ms.size() - 1) return false;
  }
  return true;
}

}  // namespace

TEST_SUITE("network.mesh") {
  TEST_CASE("a seed that is not host:port or [v6]:port or srv: and a name is refused, naming it") {
    node n{node_options{.id = "bad-seed", .threads = 1}};
    tp::tcp t{n, loopback()};
    for (std::string bad : {"nohost", "host:port", ":5", "::1:5", "h:70000", "[::1]5"}) {
      CAPTURE(bad);
      try {
        mesh m{n, t, mesh_options{.seeds = {bad}}};
        FAIL("accepted");
      } catch (const std::invalid_argument& e) {
        CHECK(std::string{e.what()} ==
              fmt::format("coport: seed '{}': expected host:port, [v6]:port or "
                          "srv:_service._tcp.name",
                          bad));
      }
    }
    for (std::string bad : {"srv:", "srv:a b", "srv:x:1"}) {
      CAPTURE(bad);
      CHECK_THROWS_WITH_AS(mesh(n, t, mesh_options{.seeds = {bad}}),
                           doctest::Contains("expected srv: and a DNS name"),
                           std::invalid_argument);
    }
    CHECK_NOTHROW(
        mesh{n, t, mesh_options{.seeds = {"[::1]:5", "localhost:0", "srv:_x._tcp.example"}}});
  }

  TEST_CASE("nodes that know only one seed form a full mesh") {
    auto ms = seeded("mesh", 6);
    CHECK(eventually([&] { return full_mesh(ms); }, 10s));
    auto s = ms[3]->m.seeds();
    REQUIRE(s.size() == 1);
    CHECK(s[0].node_id == "mesh-0");
    CHECK(s[0].up);
  }

  TEST_CASE("a client node links only to its seeds and where it sends and no node links to it") {
    auto ms = seeded("cl", 3);
    REQUIRE(eventually([&] { return full_mesh(ms); }));
    // The client listens nowhere and knows only the seed's address.
    node c{node_options{.id = "cl-client", .threads = 1}};
    tp::tcp_options o = loopback();
    o.binds.clear();
    tp::tcp t{c, o};
    CHECK(t.addresses().empty());
    mesh m{c, t,
           mesh_options{.seeds = {ms[0]->address()},
                        .retry_min = 50ms,
                        .retry_max = 400ms,
                        .gossip_interval = 300ms,
                        .client = true}};
    REQUIRE(eventually([&] { return c.up_nodes() == std::vector<std::string>{"cl-0"}; }));
    // Several gossip rounds later, no full node has linked to it or it to them.
    std::this_thread::sleep_for(1s);
    CHECK(c.up_nodes() == std::vector<std::string>{"cl-0"});
    for (int i = 1; i < 3; ++i) {
      auto up = ms[i]->n.up_nodes();
      CHECK(std::find(up.begin(), up.end(), "cl-client") == up.end());
    }
    // It learned from the seed where cl-2 listens: a message to it links on demand.
    REQUIRE(eventually([&] { return !t.addresses_of("cl-2").empty(); }));
    probe got;
    auto p = ms[2]->n.port();
    ms[2]->n.rcv(p, "hello", [&](int i) { got.add(std::to_string(i)); });
    c.snd(p, "hello", 7);
    REQUIRE(got.wait_for(1));
    CHECK(got.events()[0] == "7");
    auto up = c.up_nodes();
    std::sort(up.begin(), up.end());
    CHECK(up == std::vector<std::string>{"cl-0", "cl-2"});
    // cl-1 still never linked to it.
    auto up1 = ms[1]->n.up_nodes();
    CHECK(std::find(up1.begin(), up1.end(), "cl-client") == up1.end());
    // The nodes it is linked to reach its ports and monitor them (the kill follows the watch
    // on one link: the monitor sees its reason).
    probe at_client;
    auto mine = c.port();
    c.rcv(mine, "back", [&](int i) { at_client.add(std::to_string(i)); });
    ms[2]->n.snd(mine, "back", 9);
    REQUIRE(at_client.wait_for(1));
    CHECK(at_client.events()[0] == "9");
    probe died;
    auto watching = ms[0]->n.mon(mine, [&](const reason& why) { died.add(why.to_string()); });
    ms[0]->n.kil(mine, reason{"done", "ended from cl-0, after its watch"});
    REQUIRE(died.wait_for(1));
    CHECK_MESSAGE(died.events()[0].find("done") != std::string::npos, died.events()[0]);
  }

  TEST_CASE("a seed listed by itself is skipped, and a node that leaves is noticed by all") {
    auto ms = seeded("leave", 4);
    REQUIRE(eventually([&] { return full_mesh(ms); }, 10s));
    ms.erase(ms.begin() + 2);  // leave-2 stops
    CHECK(eventually([&] { return full_mesh(ms); }, 10s));
    for (auto& m : ms) {
      auto up = m->n.up_nodes();
      CHECK(std::find(up.begin(), up.end(), "leave-2") == up.end());
    }
    // A node whose seed list names itself (one list for every node) marks that seed as
    // itself, dials it no more, and serves the others that seed through it.
    std::string address = free_address();
    member self_seeded{"leave-self", {address}, address};
    CHECK(eventually([&] {
      auto s = self_seeded.m.seeds();
      return s.size() == 1 && s[0].self && !s[0].up;
    }));
    member also{"leave-also", {address}};
    CHECK(eventually([&] { return also.n.up_nodes().size() == 1; }, 10s));
    CHECK(eventually([&] {
      auto s = also.m.seeds();
      return s.size() == 1 && s[0].up && s[0].node_id == "leave-self";
    }));
    CHECK(self_seeded.t.stats().dialed == 0);
  }

  TEST_CASE("a seed that is not up yet is tried again until it is, then the mesh forms") {
    // A free port: the seed starts on it only after the others.
    std::string address = free_address();
    std::vector<std::unique_ptr<member>> ms;
    for (int i = 1; i < 4; ++i) {
      ms.push_back(
          std::make_unique<member>(fmt::format("late-{}", i), std::vector<std::string>{address}));
    }
    // They fail to reach it (a bounded wait, not a sleep: under load the first dial may take
    // longer than any fixed pause).
    CHECK(eventually([&] { return !ms[0]->m.seeds().at(0).last_error.empty(); }, 10s));
    ms.push_back(std::make_unique<member>("late-0", std::vector<std::string>{}, address));
    CHECK(eventually([&] { return full_mesh(ms); }, 10s));
  }

  TEST_CASE("a seed that restarts is joined again, and the network re-merges through it") {
    auto ms = seeded("rs", 4, "rs-seed");
    std::string address = ms[0]->address();
    REQUIRE(eventually([&] { return full_mesh(ms); }, 10s));
    ms[0].reset();  // the seed goes
    std::vector<std::unique_ptr<member>> rest;
    for (std::size_t i = 1; i < ms.size(); ++i) rest.push_back(std::move(ms[i]));
    CHECK(eventually([&] { return full_mesh(rest); }, 10s));  // the others stay linked
    // It comes back at the same address, with the same ID (a new incarnation).
    rest.push_back(std::make_unique<member>("rs-seed", std::vector<std::string>{}, address));
    CHECK(eventually([&] { return full_mesh(rest); }, 10s));
  }

  TEST_CASE(
      "malformed mesh messages, and a list naming more nodes than a mesh can hold, are ignored") {
    member a{"big-a", {}};
    node b{node_options{.id = "big-b", .threads = 1}};
    tp::tcp tb{b, loopback()};
    tb.add_peer("big-a", {a.address()});
    std::map<std::string, std::vector<std::string>> fake;
    // Each "node" listens where b does: a dial would connect (and be refused by b).
    for (int i = 0; i < 5000; ++i) fake[fmt::format("fake-{}", i)] = tb.addresses();
    b.snd(*port_id::parse("big-a"), "coport.mesh", std::string{"nodes"}, fake);
    REQUIRE(eventually([&] { return a.n.up_nodes().size() == 1; }));
    std::this_thread::sleep_for(300ms);
    CHECK(a.t.stats().dialed == 0);  // not one of them dialed
    // Wrong shapes, through the node port and straight to the mesh's port: none is fatal.
    probe died;
    auto watch = a.n.mon(a.m.port(), [&](const reason& why) { died.add(why.to_string()); });
    b.snd(*port_id::parse("big-a"), "coport.mesh", 42, std::string{"x"});
    b.snd(*port_id::parse("big-a"), "coport.mesh", std::string{"nodes"}, 7);
    b.snd(a.m.port(), "coport.mesh.seed", 1, 2);
    b.snd(a.m.port(), "something else");
    std::this_thread::sleep_for(200ms);
    CHECK(died.events().empty());
    // Still serving: a real list works.
    member c{"big-c", {a.address()}};
    CHECK(eventually([&] { return a.n.up_nodes().size() == 2; }));
  }

  TEST_CASE("a peer's node list adds nodes this node does not know and never replaces addresses") {
    using table = std::map<std::string, std::vector<std::string>>;
    member a{"list-a", {}};
    node b{node_options{.id = "list-b", .threads = 1}};
    tp::tcp tb{b, loopback()};
    tb.add_peer("list-a", {a.address()});
    // Where nothing listens: the dials a list makes fail at once.
    const std::string nowhere = free_address(), elsewhere = free_address();
    a.t.add_peer("list-conf", {nowhere});  // configured here
    b.snd(*port_id::parse("list-a"), "coport.mesh", std::string{"nodes"},
          table{{"list-conf", {elsewhere}}, {"list-new", {nowhere}}});
    REQUIRE(eventually([&] { return !a.t.addresses_of("list-new").empty(); }));
    CHECK(a.t.addresses_of("list-conf") == std::vector<std::string>{nowhere});
    CHECK(a.t.addresses_of("list-new") == std::vector<std::string>{nowhere});
    // A later list does not replace what an earlier one taught either.
    b.snd(*port_id::parse("list-a"), "coport.mesh", std::string{"nodes"},
          table{{"list-new", {elsewhere}}, {"list-new2", {nowhere}}});
    REQUIRE(eventually([&] { return !a.t.addresses_of("list-new2").empty(); }));
    CHECK(a.t.addresses_of("list-new") == std::vector<std::string>{nowhere});
    CHECK(a.t.addresses_of("list-conf") == std::vector<std::string>{nowhere});
  }

  TEST_CASE(
      "a node bound to every address tells others the address it advertises and a node that "
      "learns of it from a third links there") {
    const std::string secret = "advertise-test-secret-0123456789";
    auto options = [&](std::string bind) {
      auto o = loopback(std::move(bind));
      o.secret = secret;
      return o;
    };
    // a listens on 0.0.0.0 (every address) but tells others 127.0.0.9, port 0: its own port.
    auto ao = options("0.0.0.0:0");
    ao.advertise = {"127.0.0.9:0"};
    node an{node_options{.id = "adv-a", .threads = 1}};
    tp::tcp at{an, ao};
    auto port = at.addresses().at(0).substr(at.addresses().at(0).rfind(':') + 1);
    CHECK(at.advertised() == std::vector<std::string>{"127.0.0.9:" + port});
    mesh am{an, at, mesh_options{.seeds = {}, .retry_min = 50ms, .gossip_interval = 300ms}};
    // b reaches a through 127.0.0.1 (a seed), and learns from the handshake where a says it is.
    node bn{node_options{.id = "adv-b", .threads = 1}};
    tp::tcp bt{bn, options("127.0.0.1:0")};
    mesh bm{
        bn, bt,
        mesh_options{.seeds = {"127.0.0.1:" + port}, .retry_min = 50ms, .gossip_interval = 300ms}};
    REQUIRE(eventually([&] { return bn.up_nodes().size() == 1; }));
    CHECK(bt.addresses_of("adv-a") == std::vector<std::string>{"127.0.0.9:" + port});
    // c knows only b: it learns a's advertised address from b's list, and links to a there.
    node cn{node_options{.id = "adv-c", .threads = 1}};
    tp::tcp ct{cn, options("127.0.0.1:0")};
    mesh cm{
        cn, ct,
        mesh_options{.seeds = {bt.addresses().at(0)}, .retry_min = 50ms, .gossip_interval = 300ms}};
    CHECK(eventually([&] { return cn.up_nodes().size() == 2 && an.up_nodes().size() == 2; }));
    CHECK(ct.addresses_of("adv-a") == std::vector<std::string>{"127.0.0.9:" + port});
  }

  TEST_CASE("an advertised address that no node could dial is refused, naming it") {
    node n{node_options{.id = "adv-bad", .threads = 1}};
    for (std::string bad : {"0.0.0.0:4040", "*:4040", "nohost", "[::]:1"}) {
      auto o = loopback();
      o.advertise = {bad};
      CHECK_THROWS_WITH_AS(tp::tcp(n, o), doctest::Contains(bad.c_str()), std::invalid_argument);
    }
    auto listening_nowhere = loopback();
    listening_nowhere.binds.clear();
    listening_nowhere.advertise = {"127.0.0.9:4040"};
    CHECK_THROWS_AS(tp::tcp(n, listening_nowhere), std::invalid_argument);
  }

  TEST_CASE(
      "a seed named by a host name is each of its addresses and only the node's own is itself") {
    // "localhost" is 127.0.0.1 in every /etc/hosts: a node there whose seed is the name marks
    // that address as itself, and a node elsewhere reaches it by the name.
    std::string address = free_address();
    std::string by_name = "localhost" + address.substr(address.rfind(':'));
    member a{"name-a", {by_name}, address};
    member b{"name-b", {by_name}};
    CHECK(eventually([&] { return a.n.up_nodes().size() == 1 && b.n.up_nodes().size() == 1; }));
    CHECK(eventually([&] {
      auto s = a.m.seeds();
      return std::any_of(s.begin(), s.end(), [&](const auto& x) {
        return x.seed == by_name && x.address == address && x.self;
      });
    }));
    CHECK(eventually([&] {
      auto s = b.m.seeds();
      return std::any_of(s.begin(), s.end(), [&](const auto& x) {
        return x.seed == by_name && x.address == address && x.up && x.node_id == "name-a";
      });
    }));
  }

  TEST_CASE("a seed name that cannot be looked up says why and is tried again") {
    // A name with a character no DNS name has fails in getaddrinfo itself (no query leaves).
    member a{"unnamed-a", {"no_such host:4040"}};
    CHECK(eventually([&] {
      auto s = a.m.seeds();
      return s.size() == 1 && !s[0].up && !s[0].self && s[0].address == "no_such host:4040" &&
             s[0].last_error != "not looked up yet" && !s[0].last_error.empty();
    }));
  }
}
