// A node in its own process, for the multi-process transport tests (test/transport/
// processes_test.cpp). It listens on loopback, prints where and its ports' IDs, serves them,
// and exits when its stdin closes (so it never outlives the test that started it).
//
// Usage: coport_test_node --id ID [--bind ADDR] [--secret S] [--heartbeat MS] [--timeout MS]
//                        [--seed ADDR]... [--mesh] [--advertise ADDR]... [--resolve MS]
// Prints: "ready ADDR", then "port NAME ID" for sink, echo, busy and stream.
// With --mesh (or a seed) it also joins the mesh and runs the name registry, and answers
// lines on stdin: "reg NAME" (a new port under NAME; prints "reg NAME ID"), "unreg NAME"
// (prints "unreg NAME"), "get NAME" (prints "get NAME ID..."), "up" (prints "up N ID..."),
// "seeds" (prints "seeds ADDRESS=self|up|down[LAST ERROR]...").
#include <algorithm>
#include <coport/coport.hpp>
#include <coport/network/mesh.hpp>
#include <coport/registry.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

using namespace coport;
namespace tp = coport::transport;

int main(int argc, char** argv) {
  std::string id = "test-node", bind = "127.0.0.1:0";
  tp::tcp_options options;
  std::vector<std::string> seeds;
  bool mesh = false;
  std::chrono::milliseconds resolve{30000};
  for (int i = 1; i < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--mesh") {
      mesh = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "coport_test_node: " << key << " needs a value\n";
      return 2;
    }
    std::string value = argv[i + 1];
    if (key == "--seed") {
      seeds.push_back(value);
      mesh = true;
    } else if (key == "--id") {
      id = value;
    } else if (key == "--bind") {
      bind = value;
    } else if (key == "--advertise") {
      options.advertise.push_back(value);
    } else if (key == "--resolve") {
      resolve = std::chrono::milliseconds{std::stoi(value)};
    } else if (key == "--secret") {
      options.secret = value;
    } else if (key == "--heartbeat") {
      options.heartbeat_interval = std::chrono::milliseconds{std::stoi(value)};
    } else if (key == "--timeout") {
      options.node_timeout = std::chrono::milliseconds{std::stoi(value)};
    } else {
      std::cerr
          << "usage: coport_test_node --id ID [--bind ADDR] [--secret S] "
             "[--heartbeat MS] [--timeout MS] [--seed ADDR]... [--mesh] [--advertise ADDR]... "
             "[--resolve MS]\n";
      return 2;
    }
  }
  options.binds = {bind};
  node_options no;
  no.id = id;
  no.threads = 2;
  node n{no};
  tp::tcp t{n, options};

  // sink: counts "n" messages and whether they came in order; "end" reports.
  std::int64_t expected = 0, received = 0;
  bool in_order = true;
  auto sink = n.port();
  n.rcv(sink, "n", [&](std::int64_t i) {
    in_order = in_order && i == expected;
    expected = i + 1;
    ++received;
  });
  n.rcv(sink, "end", [&](port_id reply_to) { n.snd(reply_to, "count", received, in_order); });
  // echo: answers pings.
  auto echo = n.port();
  n.rcv(echo, "ping", [&](std::int64_t i, port_id reply_to) { n.snd(reply_to, "pong", i); });
  // busy, busy2: each spins a worker for the given milliseconds, then says so.
  auto spin = [&](int ms, port_id reply_to) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
    volatile std::uint64_t x = 0;
    while (std::chrono::steady_clock::now() < until) x = x + 1;
    n.snd(reply_to, "spun", ms);
  };
  auto busy = n.port(), busy2 = n.port();
  n.rcv(busy, "spin", spin);
  n.rcv(busy2, "spin", spin);
  // stream: sends `count` numbered messages to a port.
  auto stream = n.port();
  n.rcv(stream, "go", [&](port_id to, std::int64_t count) {
    for (std::int64_t i = 0; i < count; ++i) n.snd(to, "n", i);
  });

  std::cout << "ready " << t.addresses().at(0) << "\n"
            << "port sink " << sink.to_string() << "\n"
            << "port echo " << echo.to_string() << "\n"
            << "port busy " << busy.to_string() << "\n"
            << "port busy2 " << busy2.to_string() << "\n"
            << "port stream " << stream.to_string() << std::endl;
  // The mesh and the registry, when asked for.
  std::unique_ptr<coport::registry> names;
  std::unique_ptr<coport::network::mesh> peers;
  if (mesh) {
    names = std::make_unique<coport::registry>(n);
    coport::network::mesh_options mo;
    mo.seeds = seeds;
    mo.resolve_interval = resolve;
    peers = std::make_unique<coport::network::mesh>(n, t, mo);
  }
  std::multimap<std::string, subscription> held;
  // Runs until stdin closes (the test ended or died).
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words{line};
    std::string verb, name;
    words >> verb >> name;
    if (!names) {
      std::cout << "error no mesh" << std::endl;
    } else if (verb == "reg") {
      auto p = n.port([](message&) {});
      held.emplace(name, names->reg(name, p));
      std::cout << "reg " << name << " " << p.to_string() << std::endl;
    } else if (verb == "unreg") {
      held.erase(name);
      std::cout << "unreg " << name << std::endl;
    } else if (verb == "get") {
      std::cout << "get " << name;
      for (const auto& p : names->get(name)) std::cout << " " << p.to_string();
      std::cout << std::endl;
    } else if (verb == "up") {
      auto up = n.up_nodes();
      std::sort(up.begin(), up.end());
      std::cout << "up " << up.size();
      for (const auto& u : up) std::cout << " " << u;
      std::cout << std::endl;
    } else if (verb == "seeds") {
      std::cout << "seeds";
      for (const auto& s : peers->seeds()) {
        std::cout << " " << s.address << "=" << (s.self ? "self" : s.up ? "up" : "down");
        if (!s.self && !s.up && !s.last_error.empty()) std::cout << "[" << s.last_error << "]";
      }
      std::cout << std::endl;
    } else {
      std::cout << "error unknown command" << std::endl;
    }
  }
  held.clear();
  peers.reset();
  names.reset();
  return 0;
}
