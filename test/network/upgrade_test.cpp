// A rolling upgrade, as a user runs one (README "Rolling upgrades"): three processes of build
// 1 of a program serve orders that a fourth sends without pause; each is stopped and started
// again as build 2 (which appends a field to the registered order type and adds an init),
// one by one. Every order is answered with itself, none fails. `coport schema diff` says
// build 2 can share a network with build 1 and build 3 (which changes a field's type)
// cannot. The programs: test/programs/upgrade_node.cpp. Every node binds 127.0.0.1; every
// wait is bounded; the children are killed when the test ends.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli.hpp"
#include "support/probe.hpp"
#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// An upgrade_node process of build `program`.
struct shop_node {
  std::unique_ptr<child> proc;
  std::string address;
  shop_node(const char* program, const std::string& id, std::vector<std::string> extra) {
    std::vector<std::string> argv{program, id, "127.0.0.1:0"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc = std::make_unique<child>(argv);
    address = proc->expect("ready ");
  }
  int ask_number(const std::string& what) { return std::stoi(proc->ask(what, what + " ")); }
};

/// SENT REPLIED FAILED WRONG of the client.
struct counts {
  long sent = 0, replied = 0, failed = 0, wrong = 0;
};
counts count(shop_node& client) {
  std::istringstream in{client.proc->ask("count", "count ")};
  counts c;
  in >> c.sent >> c.replied >> c.failed >> c.wrong;
  return c;
}

/// The output of `program --schema`, in `dir`/`file`.
std::string schema_file(const scratch& s, const char* program, const std::string& file) {
  auto path = (s.dir / file).string();
  std::string cmd = fmt::format("{} --schema > {}", program, path);
  REQUIRE(std::system(cmd.c_str()) == 0);
  return path;
}

}  // namespace

TEST_SUITE("network.upgrade") {
  TEST_CASE(
      "coport schema diff passes a build that appends a field and adds an init and fails one "
      "that changes a field") {
    scratch s;
    auto v1 = schema_file(s, COPORT_UPGRADE_NODE_V1, "v1.json");
    auto v2 = schema_file(s, COPORT_UPGRADE_NODE_V2, "v2.json");
    auto v3 = schema_file(s, COPORT_UPGRADE_NODE_V3, "v3.json");
    auto [fine, fine_text] = s.run("schema diff " + v1 + " " + v2);
    CHECK_MESSAGE(fine == 0, fine_text);
    CHECK_MESSAGE(fine_text.find("fine: type upgrade.order: fields appended ('v1 i64 string' to "
                                 "'v2 i64 string i32')") != std::string::npos,
                  fine_text);
    CHECK_MESSAGE(fine_text.find("fine: init audit(i64): new") != std::string::npos, fine_text);
    auto [broken, broken_text] = s.run("schema diff " + v1 + " " + v3);
    CHECK_MESSAGE(broken == 1, broken_text);
    CHECK_MESSAGE(broken_text.find("BREAKS: type upgrade.order: its structure changed ('v1 i64 "
                                   "string' to 'v1 i64 i64')") != std::string::npos,
                  broken_text);
    // Going back (a rollback to build 1 while build 2 runs) drops the init build 2 added.
    auto [back, back_text] = s.run("schema diff " + v2 + " " + v1);
    CHECK_MESSAGE(back == 1, back_text);
    CHECK_MESSAGE(back_text.find("BREAKS: init audit: gone") != std::string::npos, back_text);
  }

  TEST_CASE(
      "three processes restarted one by one from build 1 to build 2 while orders flow lose "
      "none and every reply arrives") {
    std::map<std::string, std::unique_ptr<shop_node>> shops;
    shops["up-a"] =
        std::make_unique<shop_node>(COPORT_UPGRADE_NODE_V1, "up-a", std::vector<std::string>{});
    const std::string first = shops["up-a"]->address;
    shops["up-b"] = std::make_unique<shop_node>(COPORT_UPGRADE_NODE_V1, "up-b",
                                                std::vector<std::string>{first});
    shops["up-c"] = std::make_unique<shop_node>(COPORT_UPGRADE_NODE_V1, "up-c",
                                                std::vector<std::string>{first});
    // The client stays on build 1 throughout: it reads build 2's orders, and they its own.
    shop_node client{COPORT_UPGRADE_NODE_V1, "up-client",
                     std::vector<std::string>{"--client", "100000000", first}};
    REQUIRE(eventually([&] { return client.ask_number("shops") == 3; }, 15s));
    REQUIRE(client.proc->ask("start", "started").empty());
    long before = 0;
    for (const std::string id : {"up-a", "up-b", "up-c"}) {
      CAPTURE(id);
      // Orders flow before each restart.
      REQUIRE(eventually([&] { return count(client).replied > before + 500; }, 15s));
      shops[id]->proc->ask("stop", "stopped");
      REQUIRE(shops[id]->proc->wait_exit(5s) == 0);
      // Build 2 under the same node ID (a new incarnation), seeded by a node still running.
      std::string seed;
      for (auto& [other, node] : shops) {
        if (other != id) seed = node->address;
      }
      shops[id] =
          std::make_unique<shop_node>(COPORT_UPGRADE_NODE_V2, id, std::vector<std::string>{seed});
      REQUIRE(eventually([&] { return client.ask_number("shops") == 3; }, 15s));
      before = count(client).replied;
    }
    REQUIRE(eventually([&] { return count(client).replied > before + 500; }, 15s));
    client.proc->ask("halt", "halted");
    counts last;
    REQUIRE(eventually(
        [&] {
          last = count(client);
          return last.replied + last.failed + last.wrong == last.sent;
        },
        15s));
    MESSAGE(fmt::format("{} orders across three restarts: {} answered, {} failed, {} wrong",
                        last.sent, last.replied, last.failed, last.wrong));
    CHECK(last.failed == 0);
    CHECK(last.wrong == 0);
    CHECK(last.replied == last.sent);
  }

  TEST_CASE(
      "a build that gives a registered type another structure under the same class version is "
      "refused at the handshake on both sides") {
    shop_node old_one{COPORT_UPGRADE_NODE_V1, "clash-1", {}};
    shop_node newer{COPORT_UPGRADE_NODE_V2, "clash-2", {old_one.address}};
    REQUIRE(eventually([&] { return old_one.ask_number("up") == 1; }, 15s));  // 1 and 2 link
    // Build 3 seeded by build 1: build 1 accepts its connection and refuses it for good (its
    // order has another structure under class version 1); build 3 is told why.
    shop_node clashing{COPORT_UPGRADE_NODE_V3, "clash-3", {old_one.address}};
    auto refusals = [](shop_node& n) {
      std::istringstream in{n.proc->ask("refusals", "refusals ")};
      long application = 0, by_peer = 0;
      in >> application >> by_peer;
      return std::pair{application, by_peer};
    };
    CHECK(eventually([&] { return refusals(old_one).first >= 1; }, 15s));
    CHECK(eventually([&] { return refusals(clashing).second >= 1; }, 15s));
    // Build 3 dialing build 2 (the next deploy after 2): build 2, the newer, finds that build
    // 3's order is not its own with fields cut off, whichever end dials.
    shop_node from_two{COPORT_UPGRADE_NODE_V3, "clash-3b", {newer.address}};
    CHECK(eventually([&] { return refusals(newer).first >= 1; }, 15s));
    std::this_thread::sleep_for(500ms);
    CHECK(clashing.ask_number("up") == 0);
    CHECK(from_two.ask_number("up") == 0);
    CHECK(old_one.ask_number("up") == 1);
    CHECK(newer.ask_number("up") == 1);
  }
}
