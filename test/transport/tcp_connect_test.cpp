// tcp::connect (reaching a node by address alone, as a seed is reached) and '*' binds.
// Every socket binds 127.0.0.1 or the wildcard with a secret; every wait is bounded.
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <future>
#include <string>
#include <vector>

#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace tp = coport::transport;

namespace {

struct tcp_node {
  node n;
  tp::tcp t;
  tcp_node(const std::string& id, tp::tcp_options o)
      : n{node_options{.id = id, .threads = 1}}, t{n, std::move(o)} {}
};

tp::tcp_options loopback(std::vector<std::string> binds = {"127.0.0.1:0"}) {
  tp::tcp_options o;
  o.binds = std::move(binds);
  o.heartbeat_interval = 100ms;
  o.node_timeout = 2000ms;
  o.connect_timeout = 2000ms;
  return o;
}

/// tcp::connect, waited for: {node ID, error}.
std::pair<std::string, std::string> connect(tp::tcp& t, const std::string& address) {
  std::promise<std::pair<std::string, std::string>> result;
  t.connect(address, [&](const std::string& id, const std::string& error) {
    result.set_value({id, error});
  });
  auto f = result.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  return f.get();
}

}  // namespace

TEST_SUITE("transport.tcp_connect") {
  TEST_CASE("connect reaches whichever node listens at an address and links to it") {
    tcp_node a{"con-a", loopback()}, b{"con-b", loopback()};
    auto [id, error] = connect(a.t, b.t.addresses().at(0));
    CHECK(error == "");
    CHECK(id == "con-b");
    CHECK(eventually([&] { return b.n.up_nodes() == std::vector<std::string>{"con-a"}; }));
    // (The callback comes as the handshake ends; the node-up event follows it.)
    CHECK(eventually([&] { return a.n.up_nodes() == std::vector<std::string>{"con-b"}; }));
    // The link is the ordinary one: a message crosses without any address given.
    probe got;
    auto p = b.n.port();
    b.n.rcv(p, "hi", [&](int i) { got.add(std::to_string(i)); });
    a.n.snd(p, "hi", 7);
    CHECK(got.wait_for(1));
  }

  TEST_CASE("connect says why when nobody answers, or when the address is the node's own") {
    tcp_node a{"con-c", loopback()};
    auto [id, error] = connect(a.t, a.t.addresses().at(0));
    CHECK(id == "");
    CHECK(error.find("itself") != std::string::npos);
    // A port nobody listens on (bound and closed again).
    std::string dead;
    {
      tcp_node gone{"con-gone", loopback()};
      dead = gone.t.addresses().at(0);
    }
    auto [id2, error2] = connect(a.t, dead);
    CHECK(id2 == "");
    CHECK(error2.find(dead) != std::string::npos);
    auto [id3, error3] = connect(a.t, "not an address");
    CHECK(error3.find("expected host:port") != std::string::npos);
  }

  TEST_CASE("a '*' bind listens on every address and tells other nodes each, with its port") {
    auto o = loopback({"*"});
    CHECK_THROWS_AS((tcp_node{"star-x", o}), std::invalid_argument);  // no secret
    o.secret = "a secret of 22+ characters";
    tcp_node a{"star-a", o};
    auto addresses = a.t.addresses();
    REQUIRE(!addresses.empty());
    std::string port = addresses[0].substr(addresses[0].rfind(':'));
    bool loopback_there = false;
    for (const auto& address : addresses) {
      CHECK(address.substr(address.rfind(':')) == port);  // one port, every address
      loopback_there |= address == "127.0.0.1" + port;
    }
    CHECK(loopback_there);
    auto ob = loopback();
    ob.secret = "a secret of 22+ characters";
    tcp_node b{"star-b", ob};
    auto [id, error] = connect(b.t, "127.0.0.1" + port);
    CHECK(id == "star-a");
    CHECK(error == "");
  }
}
