// The `coport` command (tools/coport/): profiles written and shown, usage errors (exit 2),
// configuration errors (exit 1), and `coport run` starting nodes that find each other from
// AEMP's seed example. Every node binds the loopback or the wildcard with the generated
// secret; every wait is bounded; the children are killed when the test ends.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// A configuration file of its own, removed at the end.
struct scratch {
  std::filesystem::path dir;
  std::string config;
  scratch() {
    char name[] = "/tmp/coport-cli-XXXXXX";
    dir = mkdtemp(name);
    config = (dir / "config.json").string();
  }
  ~scratch() { std::filesystem::remove_all(dir); }

  /// Runs `coport --config FILE args`; its exit code and what it printed (both streams).
  std::pair<int, std::string> run(const std::string& args) const {
    auto out = (dir / "out.txt").string();
    std::string cmd =
        std::string{COPORT_CLI} + " --config " + config + " " + args + " >" + out + " 2>&1";
    int status = std::system(cmd.c_str());
    std::ifstream in{out};
    std::stringstream text;
    text << in.rdbuf();
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
  }
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("tools.coport") {
  TEST_CASE("wrong arguments get a usage line and exit code 2") {
    scratch s;
    for (const char* args : {"", "frob", "profile", "profile seed", "profile seed nodeid",
                             "run profile", "run nodeid", "showconfig a b", "showprofile a b"}) {
      auto [code, text] = s.run(args);
      CHECK_MESSAGE(code == 2, args);
      CHECK_MESSAGE(has(text, "usage: coport"), args);
    }
  }

  TEST_CASE("bad keys, values and profiles are configuration errors that say which (exit 1)") {
    scratch s;
    auto [c1, t1] = s.run("profile seed colour red");
    CHECK(c1 == 1);
    CHECK(has(t1, "key \"colour\": unknown key"));
    auto [c2, t2] = s.run("profile seed binds nowhere");
    CHECK(c2 == 1);
    CHECK(has(t2, "'nowhere' is not host:port"));
    auto [c3, t3] = s.run("run profile ghost");
    CHECK(c3 == 1);
    CHECK(has(t3, "no profile \"ghost\""));
    std::ofstream{s.config} << "{ \"profiles\": { \"x\": { \"seeds\": 5 } } }";
    auto [c4, t4] = s.run("showconfig x");
    CHECK(c4 == 1);
    CHECK(has(t4, s.config + ":1: profile \"x\": key \"seeds\": expected a list of strings"));
  }

  TEST_CASE("profiles are written, shown resolved, and deleted") {
    scratch s;
    CHECK(s.run("profile base heartbeat_interval 0.5 seeds 127.0.0.1:1,127.0.0.1:2").first == 0);
    CHECK(s.run("profile w parent base nodeid w1").first == 0);
    auto [code, text] = s.run("showconfig w");
    CHECK(code == 0);
    CHECK(has(text, "\"nodeid\": \"w1\""));
    CHECK(has(text, "\"heartbeat_interval\": 0.5"));
    CHECK(has(text, "\"127.0.0.1:2\""));
    CHECK(has(text, "\"secret\": \"(set)\""));   // generated at the first write, never shown
    CHECK(s.run("delprofile base").first == 1);  // w's parent
    CHECK(s.run("delprofile w").first == 0);
    CHECK(s.run("delprofile base").first == 0);
    auto [c2, raw] = s.run("showprofile");
    CHECK(c2 == 0);
    CHECK(!has(raw, "\"base\""));
    auto [c3, host] = s.run("showconfig");  // the host's profile: the globals here
    CHECK(c3 == 0);
    CHECK(has(host, "\"secret\": \"(set)\""));
    auto before = s.run("showprofile").second;
    CHECK(s.run("gensecret").first == 0);
    CHECK(s.run("showprofile").second != before);  // a new secret
  }

  TEST_CASE("AEMP's seed example: nodes run from profiles find each other, and stop on SIGINT") {
    scratch s;
    // The manual's `binds '*:4040'`, on a free port so that tests can run side by side.
    REQUIRE(s.run("profile seed nodeid anon/ binds '*:0'").first == 0);
    child seed{{COPORT_CLI, "--config", s.config, "run", "profile", "seed"}};
    auto line = seed.expect("node anon/");
    REQUIRE(has(line, "(profile seed) listening on "));
    auto addresses = line.substr(line.find("listening on ") + 13);
    auto loopback = addresses.substr(addresses.find("127.0.0.1:"));
    loopback = loopback.substr(0, loopback.find(' '));
    REQUIRE(s.run("profile member nodeid member/ binds 127.0.0.1:0 services echo seeds " + loopback)
                .first == 0);
    child member{{COPORT_CLI, "--config", s.config, "run", "profile", "member"}};
    member.expect("node member/");
    CHECK(has(member.expect("node anon/"), " up"));
    CHECK(has(seed.expect("node member/"), " up"));
    // A service that is no registered init stops the node before it starts.
    auto [code, text] = s.run("run profile member services nosuch");
    CHECK(code == 1);
    CHECK(has(text, "service 'nosuch' is not an init"));
    member.signal(SIGINT);
    CHECK(has(member.expect("node member/"), "stopping (SIGINT)"));
    CHECK(has(seed.expect("node member/"), " down: "));
  }
}
