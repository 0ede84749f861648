// Configuration profiles: the file, its errors (file, line, key), changes, and resolution.
#include <doctest/doctest.h>

#include <coport/network/config.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace coport::network;
using namespace std::string_literals;

namespace {

const char* const sample = R"({
  "secret": "global-secret",
  "seeds": ["127.0.0.1:4040"],
  "node_timeout": 4,
  "profiles": {
    "base": { "binds": ["127.0.0.1:0"], "heartbeat_interval": 0.5 },
    "seed": { "parent": "base", "nodeid": "anon/", "binds": ["*:4040"] },
    "worker": { "parent": "seed", "services": ["echo", "log"] }
  }
})";

/// The message of the config_error that `f` throws ("" when none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

std::string contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos ? part : text;
}

/// A temporary directory, removed at the end.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    char name[] = "/tmp/coport-config-XXXXXX";
    path = mkdtemp(name);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_SUITE("network.config") {
  TEST_CASE("a profile resolves over its parents, the global section and values from code") {
    auto f = config_file::parse(sample, "cfg.json");
    auto c = f.resolve("worker", {{"max_frame", "2048"}, {"secret", "from code"}});
    CHECK(c.profile == "worker");
    CHECK(c.nodeid == "anon/");                            // from the parent "seed"
    CHECK(c.binds == std::vector<std::string>{"*:4040"});  // the child beats the grandparent
    CHECK(c.heartbeat_interval == std::chrono::milliseconds{500});  // the grandparent
    CHECK(c.node_timeout == std::chrono::milliseconds{4000});       // the global section
    CHECK(c.secret == "global-secret");                             // the file beats code
    CHECK(c.max_frame == 2048);  // code fills what the file leaves
    CHECK(c.services == std::vector<std::string>{"echo", "log"});
    // Overrides (coport run ... KEY VALUE) beat everything.
    auto o = f.resolve("worker", {}, {{"binds", "127.0.0.1:1,127.0.0.1:2"}});
    CHECK(o.binds == std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"});
  }

  TEST_CASE("the node ID defaults to the profile name, the profile to the host name") {
    auto f = config_file::parse(sample, "cfg.json");
    CHECK(f.resolve("base").nodeid == "base");
    auto c = f.resolve();  // the host's profile, absent here: globals only
    CHECK(c.profile == host_name());
    CHECK(c.seeds == std::vector<std::string>{"127.0.0.1:4040"});
  }

  TEST_CASE("malformed JSON is reported with the file, line and column") {
    auto e = error_of([] { config_file::parse("{\n  \"secret\": \"x\",\n  oops\n}", "bad.json"); });
    CHECK(contains(e, "bad.json") == "bad.json");
    CHECK(contains(e, "line 3") == "line 3");
  }

  TEST_CASE("a number too large for JSON is malformed JSON, not a crash (found by fuzzing)") {
    auto e = error_of([] { config_file::parse("1E991999999{", "big.json"); });
    CHECK(contains(e, "big.json: malformed JSON") == "big.json: malformed JSON");
  }

  TEST_CASE("an unknown key, a wrong type or a bad value names the file, line, profile and key") {
    auto unknown = error_of([] {
      config_file::parse("{\n \"profiles\": {\n  \"a\": {\n   \"bind\": [\"x:1\"]\n  }\n }\n}",
                         "u.json");
    });
    CHECK(contains(unknown, "u.json:4:") == "u.json:4:");
    CHECK(contains(unknown, "profile \"a\"") == "profile \"a\"");
    CHECK(contains(unknown, "key \"bind\": unknown key") == "key \"bind\": unknown key");
    auto type = error_of([] { config_file::parse("{\n\n \"seeds\": \"x:1\"\n}", "t.json"); });
    CHECK(contains(type, "t.json:3:") == "t.json:3:");
    CHECK(contains(type, "expected a list of strings") == "expected a list of strings");
    auto value =
        error_of([] { config_file::parse(R"({"profiles": {"b": {"binds": ["nope"]}}})", "v"); });
    CHECK(contains(value, "'nope' is not host:port") == "'nope' is not host:port");
    auto seconds = error_of([] { config_file::parse(R"({"node_timeout": -1})", "s"); });
    CHECK(contains(seconds, "number of seconds") == "number of seconds");
    auto level = error_of([] { config_file::parse(R"({"log_level": "loud"})", "l"); });
    CHECK(contains(level, "key \"log_level\"") == "key \"log_level\"");
    auto nodeid = error_of([] { config_file::parse(R"({"nodeid": "has space"})", "n"); });
    CHECK(contains(nodeid, "not a node ID") == "not a node ID");
  }

  TEST_CASE("a parent cycle, a missing parent and a missing profile are errors before any start") {
    auto cycle = error_of([] {
      config_file::parse(R"({"profiles": {"a": {"parent": "b"}, "b": {"parent": "a"}}})", "c");
    });
    CHECK(contains(cycle, "a cycle of parents") == "a cycle of parents");
    auto missing =
        error_of([] { config_file::parse(R"({"profiles": {"a": {"parent": "ghost"}}})", "m"); });
    CHECK(contains(missing, "no profile \"ghost\"") == "no profile \"ghost\"");
    auto f = config_file::parse(sample, "cfg.json");
    auto named = error_of([&] { f.resolve("nope"); });
    CHECK(contains(named, "no profile \"nope\"") == "no profile \"nope\"");
    auto tls = error_of(
        [] { config_file::parse(R"({"profiles": {"t": {"cert": "c.pem"}}})", "x").resolve("t"); });
    CHECK(contains(tls, "TLS needs all three") == "TLS needs all three");
  }

  TEST_CASE("profiles are changed from text, saved, read back, and removed") {
    temp_dir dir;
    auto path = dir.path / "sub" / "config.json";
    auto f = config_file::load(path);  // absent: empty
    CHECK(f.profiles().empty());
    f.set("seed", "nodeid", "anon/");
    f.set("seed", "binds", "*:4040");
    f.set("seed", "heartbeat_interval", "0.25");
    f.set("", "secret", "s3");
    f.set("w", "parent", "seed");
    CHECK(contains(error_of([&] { f.set("seed", "colour", "red"); }), "unknown key") ==
          "unknown key");
    CHECK(contains(error_of([&] { f.set("seed", "max_frame", "lots"); }), "whole number") ==
          "whole number");
    CHECK(contains(error_of([&] { f.set("seed", "parent", "w"); }), "cycle") == "cycle");
    f.save();
    auto g = config_file::load(path);
    auto c = g.resolve("w");
    CHECK(c.binds == std::vector<std::string>{"*:4040"});
    CHECK(c.heartbeat_interval == std::chrono::milliseconds{250});
    CHECK(c.secret == "s3");
    CHECK(contains(error_of([&] { g.remove_profile("seed"); }), "parent of") == "parent of");
    g.set("seed", "binds", "");  // an empty value removes the key
    CHECK(g.resolve("seed").binds.empty());
    g.remove_profile("w");
    g.remove_profile("seed");
    CHECK(g.profiles().empty());
    CHECK(contains(error_of([&] { g.remove_profile("seed"); }), "no profile") == "no profile");
  }

  TEST_CASE("the file is found through COPORT_CONFIG, else the XDG config directory") {
    ::setenv("COPORT_CONFIG", "/somewhere/c.json", 1);
    CHECK(config_file::default_path() == "/somewhere/c.json");
    ::unsetenv("COPORT_CONFIG");
    ::setenv("XDG_CONFIG_HOME", "/xdg", 1);
    CHECK(config_file::default_path() == "/xdg/coport/config.json");
    ::unsetenv("XDG_CONFIG_HOME");
  }

  TEST_CASE("a generated secret is long, base62, and new each time") {
    auto a = generate_secret(), b = generate_secret();
    CHECK(a.size() == 43);
    CHECK(a != b);
    CHECK(a.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") ==
          std::string::npos);
  }
}
