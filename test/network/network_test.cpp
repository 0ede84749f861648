// A node's place in the network started from its settings (coport::network::membership): TLS
// links from the profile's files, seeds, the registry and the profile's services; and the
// settings it refuses. Every socket binds 127.0.0.1; every wait is bounded.
#include <doctest/doctest.h>

#include <coport/network/network.hpp>
#include <string>

#include "support/certificates.hpp"
#include "support/log_capture.hpp"
#include "support/probe.hpp"

using namespace coport;
using namespace coport::test;
namespace net = coport::network;

namespace {

net::node_config settings(const std::string& id, const pki::files& f,
                          std::vector<std::string> seeds = {}) {
  net::node_config c;
  c.nodeid = id;
  c.binds = {"127.0.0.1:0"};
  c.seeds = std::move(seeds);
  c.tls = {f.cert, f.key, f.ca};
  c.heartbeat_interval = std::chrono::milliseconds{100};
  c.node_timeout = std::chrono::milliseconds{1000};
  c.connect_timeout = std::chrono::milliseconds{1000};
  return c;
}

}  // namespace

TEST_SUITE("network.network") {
  TEST_CASE("nodes started from settings link over TLS through a seed, run services, share names") {
    pki ca;
    log_capture log;
    auto first = settings("net-a", ca.issue("net-a"));
    first.log_level = "info";
    node a{net::node_options_for(first, node_options{.threads = 1})};
    probe echoed;
    a.register_init("echo", [&a] {
      a.rcv(self(), "echo", [&a](std::string text, port_id reply) { a.snd(reply, "echo", text); });
    });
    first.services = {"echo"};
    net::membership na{a, first};
    REQUIRE(na.services().size() == 1);
    auto guard = na.names().reg("echo", na.services()[0]);

    auto second = settings("net-b", ca.issue("net-b"), na.links().addresses());
    second.log_level = "info";
    node b{net::node_options_for(second, node_options{.threads = 1})};
    net::membership nb{b, second};
    REQUIRE(eventually([&] { return nb.names().get("echo").size() == 1; }));
    auto me = b.port();
    b.rcv(me, "echo", [&](std::string text) { echoed.add(text); });
    b.snd(nb.names().get("echo")[0], "echo", std::string{"over TLS"}, me);
    CHECK(echoed.wait_for(1));
    CHECK(echoed.events()[0] == "over TLS");
    CHECK(nb.mesh().seeds().at(0).node_id == "net-a");
    set_log_level("warn");
    auto text = log.text();
    CHECK(text.find("node net-b: TLS 1.3 with") != std::string::npos);
  }

  TEST_CASE("settings it cannot start from are refused before anything runs") {
    node n{node_options{.id = "net-bad", .threads = 1}};
    net::node_config c;
    c.binds = {"127.0.0.1:0"};
    c.services = {"no-such-init"};
    CHECK_THROWS_WITH_AS(net::membership(n, c), doctest::Contains("service 'no-such-init'"),
                         std::invalid_argument);
    c.services.clear();
    c.log_level = "loud";
    CHECK_THROWS_WITH_AS(net::membership(n, c), doctest::Contains("log level 'loud'"),
                         std::invalid_argument);
    c.log_level = "warn";
    c.binds = {"*:0"};  // every address, no secret, no TLS
    CHECK_THROWS_WITH_AS(net::membership(n, c), doctest::Contains("set a secret or TLS"),
                         std::invalid_argument);
  }
}
