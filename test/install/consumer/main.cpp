// Uses the installed headers and libraries: one port, one coroutine actor, a message across
// two nodes joined in memory, a name and a process group across them, and a node embedded in
// the application's own io_context, and a test of two nodes with the shipped fixture.
#include <asio/io_context.hpp>
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/network/config.hpp>
#include <coport/registry.hpp>
#include <coport/testing/cluster.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <cstdio>

int main() {
  using namespace coport;
  node n{node_options{.id = "consumer", .mode = run_mode::deterministic}};
  node other{node_options{.id = "consumer-peer", .mode = run_mode::deterministic}};
  transport::endpoint tn{n}, to{other};
  auto link = transport::memory_link::connect(tn, to);
  int got = 0;
  auto p = n.port([&](message& m) { got += m.get<int>(0); });
  auto a = spawn(n, [&]() -> actor {
    message m = co_await receive("add");
    got += m.get<int>(0);
  });
  n.snd(p, "add", 1);
  for (int i = 0; i < 10; ++i) {
    n.run_until_idle();
    other.run_until_idle();
  }
  other.snd(a, "add", 2);  // from the other node
  for (int i = 0; i < 10; ++i) {
    other.run_until_idle();
    n.run_until_idle();
  }
  // A group made on one node, joined from the other, and a message to it.
  int delivered = 0;
  {
    registry rn{n}, ro{other};
    groups::service gn{n, rn}, go{other, ro};
    auto member = other.port([&](message& m) {
      if (m.tag() == groups::message_tag()) ++delivered;
    });
    auto step = [&] {
      for (int i = 0; i < 20; ++i) {
        n.run_until_idle();
        other.run_until_idle();
      }
    };
    step();
    if (!gn.create("consumers")) return 2;
    step();
    if (go.join("consumers", member) != groups::errc::ok) return 3;
    step();
    if (gn.send("consumers", 42) != groups::errc::ok) return 4;
    step();
  }
  asio::io_context io;
  node embedded{io, node_options{.id = "consumer-embedded"}};
  int ran = 0;
  embedded.snd(embedded.port([&](message&) { ++ran; }), "x");
  io.poll();
  auto config = coport::network::config_file::parse(R"({"profiles": {"p": {"nodeid": "x"}}})", "c")
                    .resolve("p");
  // coport::testing: the next message from node 0 to a port of node 1 is checked on the way.
  int tested = 0;
  {
    coport::testing::cluster c{{"t-a", "t-b"}};
    auto target = c[1].port([&](message& m) { tested += m.get<int>(0); });
    c[0].snd(target, "add", 1);
    c.expect<int>("add").from(0).to(target);
    c.run();
  }
  std::printf("installed coport works: %d\n", got + ran + delivered + tested - 3);
  return got == 3 && ran == 1 && delivered == 1 && tested == 1 && config.nodeid == "x" ? 0 : 1;
}
