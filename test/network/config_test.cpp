// Configuration profiles: the file, its errors (file, line, key), changes, and resolution.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <coport/network/config.hpp>
#include <coport/network/network.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace coport::network;
using namespace std::string_literals;

namespace {

const char* const sample = R"({
  "secret": "global-secret-of-22-chars",
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

/// The whole content of the file `path` ("" when it cannot be read).
std::string read_all(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Everything that can be read from `fd` from its start.
std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  off_t at = 0;
  while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
    out.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  return out;
}

/// The names in `dir`.
std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator{dir}) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
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
    auto c = f.resolve("worker", {{"max_frame", "2048"}, {"secret", "from code, 22 characters"}});
    CHECK(c.profile == "worker");
    CHECK(c.nodeid == "anon/");                            // from the parent "seed"
    CHECK(c.binds == std::vector<std::string>{"*:4040"});  // the child beats the grandparent
    CHECK(c.heartbeat_interval == std::chrono::milliseconds{500});  // the grandparent
    CHECK(c.node_timeout == std::chrono::milliseconds{4000});       // the global section
    CHECK(c.secret == "global-secret-of-22-chars");                 // the file beats code
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

  TEST_CASE("advertise and DNS seeds are checked and reach the node's settings and showconfig") {
    auto f = config_file::parse(
        R"({"profiles": {"pod": {"binds": ["0.0.0.0:4040"], "advertise": ["127.0.0.9:4040"],
            "seeds": ["srv:_coport._tcp.cluster.local", "coport-0.coport:4040"],
            "secret": "a-secret-of-enough-characters"}}})",
        "k.json");
    auto c = f.resolve("pod");
    CHECK(c.advertise == std::vector<std::string>{"127.0.0.9:4040"});
    CHECK(c.seeds ==
          std::vector<std::string>{"srv:_coport._tcp.cluster.local", "coport-0.coport:4040"});
    auto shown = f.show_resolved("pod");
    CHECK(contains(shown, "\"advertise\": [\n    \"127.0.0.9:4040\"") ==
          "\"advertise\": [\n    \"127.0.0.9:4040\"");
    CHECK(coport::network::tcp_options_for(c).advertise == c.advertise);
    auto wildcard = error_of([] { config_file::parse(R"({"advertise": ["*:4040"]})", "a.json"); });
    CHECK(contains(wildcard, "key \"advertise\": '*:4040' is not host:port") ==
          "key \"advertise\": '*:4040' is not host:port");
    auto srv = error_of([] { config_file::parse(R"({"seeds": ["srv:"]})", "s.json"); });
    CHECK(contains(srv, "'srv:' is not srv: and a DNS name") ==
          "'srv:' is not srv: and a DNS name");
    auto odd = error_of([] { config_file::parse(R"({"seeds": ["srv:a b"]})", "s.json"); });
    CHECK(contains(odd, "is not srv: and a DNS name") == "is not srv: and a DNS name");
    // A client listens nowhere: it advertises nothing.
    auto client = config_file::parse(
        R"({"profiles": {"cli": {"client": true, "binds": ["127.0.0.1:0"], "advertise": ["127.0.0.9:1"]}}})",
        "c.json");
    CHECK(coport::network::tcp_options_for(client.resolve("cli")).advertise.empty());
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
    f.set("", "secret", "s3-a-secret-of-22-chars");
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
    CHECK(c.secret == "s3-a-secret-of-22-chars");
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

  TEST_CASE("a save writes nothing through a file or a link planted at the old temporary name") {
    // Today's name was predictable ("<file>.<pid>.tmp"): another user pre-created it in a
    // shared directory and kept it open, or made it a link to a file of ours.
    temp_dir dir;
    auto path = dir.path / "config.json";
    auto planted = path;
    planted += ".";
    planted += std::to_string(::getpid()) + ".tmp";
    const std::string secret = generate_secret();
    {
      int fd = ::open(planted.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      REQUIRE(fd >= 0);
      if (::geteuid() == 0) REQUIRE(::fchown(fd, 65534, 65534) == 0);  // nobody's
      auto f = config_file::load(path);
      f.set("", "secret", secret);
      f.save();
      CHECK(read_fd(fd).find(secret) == std::string::npos);  // the other user reads nothing
      ::close(fd);
      struct stat st {};
      REQUIRE(::lstat(path.c_str(), &st) == 0);
      CHECK(S_ISREG(st.st_mode));
      CHECK((st.st_mode & 07777) == 0600);
      CHECK(st.st_uid == ::geteuid());  // ours, not the planter's
      CHECK(read_all(path).find(secret) != std::string::npos);
      std::filesystem::remove(planted);
    }
    {
      auto victim = dir.path / "victim";
      std::ofstream{victim} << "victim\n";
      std::filesystem::create_symlink(victim, planted);
      auto f = config_file::load(path);
      f.set("", "secret", generate_secret());
      f.save();
      CHECK(read_all(victim) == "victim\n");  // the link's target is unchanged
      CHECK(std::filesystem::is_symlink(planted));
    }
  }

  TEST_CASE("a save refuses a configuration file that is a symbolic link and leaves its target") {
    temp_dir dir;
    auto path = dir.path / "config.json";
    auto victim = dir.path / "victim";
    std::ofstream{victim} << "victim\n";
    std::filesystem::create_symlink(victim, path);
    config_file f{path};
    f.set("", "secret", generate_secret());
    auto e = error_of([&] { f.save(); });
    CHECK(contains(e, path.string()) == path.string());
    CHECK(contains(e, "is a symbolic link") == "is a symbolic link");
    CHECK(read_all(victim) == "victim\n");
    CHECK(std::filesystem::is_symlink(path));
    CHECK(names_in(dir.path) == std::vector<std::string>{"config.json", "victim"});
  }

  TEST_CASE("a save that fails keeps the original file and leaves no temporary file behind") {
    temp_dir dir;
    auto path = dir.path / "config.json";
    auto f = config_file::load(path);
    f.set("", "secret", generate_secret());
    f.save();
    auto before = read_all(path);
    // The target became a directory: the rename fails after everything was written.
    std::filesystem::remove(path);
    std::filesystem::create_directory(path);
    std::ofstream{path / "keep"} << "x";
    f.set("", "log_level", "info");
    auto e = error_of([&] { f.save(); });
    CHECK(contains(e, "cannot be written") == "cannot be written");
    CHECK(names_in(dir.path) == std::vector<std::string>{"config.json"});
    CHECK(read_all(path / "keep") == "x");
  }

  TEST_CASE("encrypt in a profile asks for encrypted records, and must be a bool") {
    auto f = config_file::parse(
        R"({"secret": "0123456789abcdefghijklmnopqrstuv",
            "profiles": {"e": {"encrypt": true}, "p": {}}})",
        "e.json");
    auto c = f.resolve("e");
    CHECK(c.encrypt);
    CHECK(coport::network::tcp_options_for(c).protocol.encrypt);
    CHECK_FALSE(f.resolve("p").encrypt);
    auto bad = error_of([] { config_file::parse(R"({"encrypt": "yes"})", "b.json"); });
    CHECK(bad.find("key \"encrypt\"") != std::string::npos);
  }

  TEST_CASE("a secret shorter than 22 characters (128 bits) is refused unless insecure is set") {
    auto global = error_of([] { config_file::parse("{\n \"secret\": \"hunter2\"\n}", "g.json"); });
    CHECK(contains(global, "g.json:2: the global section: key \"secret\"") ==
          "g.json:2: the global section: key \"secret\"");
    CHECK(contains(global, "7 characters, fewer than 22") == "7 characters, fewer than 22");
    CHECK(contains(global, "coport gensecret") == "coport gensecret");
    CHECK(global.find("hunter2") == std::string::npos);  // never printed
    auto profile = error_of([] {
      config_file::parse(R"({"profiles": {"p": {"secret": "123456789012345678901"}}})", "p");
    });
    CHECK(contains(profile, "profile \"p\": key \"secret\": 21 characters") ==
          "profile \"p\": key \"secret\": 21 characters");
    // A global short secret is refused even when one profile is insecure: the others use it.
    CHECK(!error_of([] {
             config_file::parse(R"({"secret": "short", "profiles": {"p": {"insecure": true}}})",
                                "x");
           }).empty());
    // 22 characters pass; so does a short one where the profile (or a parent) says insecure.
    CHECK(config_file::parse(R"({"secret": "1234567890123456789012"})", "ok").resolve().secret ==
          "1234567890123456789012");
    auto weak = config_file::parse(
        R"({"profiles": {"lab": {"secret": "short", "insecure": true}, "kid": {"parent": "lab"}}})",
        "w");
    CHECK(weak.resolve("kid").secret == "short");
    CHECK(weak.resolve("kid").insecure);
    CHECK(!weak.resolve("lab", {}, {}).secret.empty());
    CHECK(contains(weak.show_resolved("kid"), "\"insecure\": true") == "\"insecure\": true");
    // A child that turns insecure off again cannot inherit the short secret.
    auto child = error_of([] {
      config_file::parse(
          R"({"profiles": {"lab": {"secret": "short", "insecure": true},
                           "kid": {"parent": "lab", "insecure": false}}})",
          "c");
    });
    CHECK(contains(child, "profile \"kid\": key \"secret\"") == "profile \"kid\": key \"secret\"");
    // insecure is true or false, nothing else.
    auto type = error_of([] { config_file::parse(R"({"insecure": "yes"})", "t"); });
    CHECK(contains(type, "key \"insecure\": expected true or false") ==
          "key \"insecure\": expected true or false");
    // Values from code and overrides are checked too.
    auto f = config_file::parse(R"({"profiles": {"p": {}}})", "f");
    CHECK(contains(error_of([&] {
                     f.resolve("p", {{"secret", "short"}});
                   }),
                   "key \"secret\": 5 characters") == "key \"secret\": 5 characters");
    CHECK(contains(error_of([&] {
                     f.resolve("p", {}, {{"secret", "short"}});
                   }),
                   "key \"secret\": 5 characters") == "key \"secret\": 5 characters");
    CHECK(f.resolve("p", {}, {{"secret", "short"}, {"insecure", "true"}}).secret == "short");
    CHECK(!f.resolve("p").insecure);
    CHECK(contains(f.show_resolved("p"), "\"insecure\": false") == "\"insecure\": false");
  }

  TEST_CASE("secret_file reads the secret from a file only its owner may use, over secret") {
    temp_dir dir;
    const auto file = dir.path / "secret";
    auto write = [&](const std::string& text, ::mode_t mode) {
      std::ofstream{file, std::ios::binary | std::ios::trunc} << text;
      REQUIRE(::chmod(file.c_str(), mode) == 0);
    };
    write("a-secret-from-a-file-of-36-characters\n", 0600);
    auto f = config_file::parse(R"({ "secret": "global-secret-of-22-chars", "profiles": {
      "node": { "secret_file": ")" + file.string() +
                                    R"(" } } })",
                                "cfg.json");
    auto c = f.resolve("node");
    CHECK(c.secret == "a-secret-from-a-file-of-36-characters");  // its line, without the end
    CHECK(c.secret_file == file.string());
    CHECK(f.show_resolved("node").find(R"("secret_file": ")" + file.string()) != std::string::npos);
    CHECK(f.resolve("node", {}, {{"secret_file", ""}}).secret == "global-secret-of-22-chars");
    // What is refused names the key, the file and why.
    write("a-secret-from-a-file-of-36-characters", 0640);
    CHECK(contains(error_of([&] { f.resolve("node"); }),
                   "key \"secret_file\": " + file.string() +
                       ": its group or others may use it (mode 640): chmod 600 it") ==
          "key \"secret_file\": " + file.string() +
              ": its group or others may use it (mode 640): chmod 600 it");
    write("a-secret-from-a-file-of-36-characters", 0604);
    CHECK(contains(error_of([&] { f.resolve("node"); }), "(mode 604)") == "(mode 604)");
    write("\n", 0600);
    CHECK(contains(error_of([&] { f.resolve("node"); }), "is empty") == "is empty");
    write("short", 0600);
    CHECK(contains(error_of([&] { f.resolve("node"); }), "key \"secret\": 5 characters") ==
          "key \"secret\": 5 characters");
    write(std::string(5000, 'x'), 0600);
    CHECK(contains(error_of([&] { f.resolve("node"); }), "more than 4096") == "more than 4096");
    std::filesystem::remove(file);
    CHECK(contains(error_of([&] { f.resolve("node"); }), "cannot be read: No such file") ==
          "cannot be read: No such file");
    CHECK(contains(error_of([&] {
                     f.resolve("node", {}, {{"secret_file", dir.path.string()}});
                   }),
                   "is not a regular file") == "is not a regular file");
  }

  TEST_CASE(
      "COPORT_<KEY> environment variables set any key above the file and below the overrides") {
    struct env_guard {
      std::vector<std::string> names;
      void set(const std::string& n, const std::string& v) {
        names.push_back(n);
        ::setenv(n.c_str(), v.c_str(), 1);
      }
      ~env_guard() {
        for (const auto& n : names) ::unsetenv(n.c_str());
      }
    } env;
    auto f = config_file::parse(sample, "cfg.json");
    env.set("COPORT_SEEDS", "127.0.0.1:1,127.0.0.1:2");
    env.set("COPORT_NODE_TIMEOUT", "9");
    env.set("COPORT_NODEID", "from-env");
    auto c = f.resolve("worker");
    CHECK(c.seeds == std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"});  // over the file
    CHECK(c.node_timeout == std::chrono::milliseconds{9000});
    CHECK(c.nodeid == "from-env");
    CHECK(c.heartbeat_interval == std::chrono::milliseconds{500});  // the file's, untouched
    // Overrides (coport run ... KEY VALUE) beat the environment.
    CHECK(f.resolve("worker", {}, {{"nodeid", "from-run"}}).nodeid == "from-run");
    CHECK(f.show_resolved("worker").find(R"("nodeid": "from-env")") != std::string::npos);
    // A bad value names its variable.
    env.set("COPORT_HEARTBEAT_INTERVAL", "soon");
    CHECK(contains(error_of([&] { f.resolve("worker"); }),
                   "environment variable COPORT_HEARTBEAT_INTERVAL: ") ==
          "environment variable COPORT_HEARTBEAT_INTERVAL: ");
    CHECK(contains(error_of([&] { f.resolve("worker"); }), "'soon' is not a number of seconds") ==
          "'soon' is not a number of seconds");
  }

  TEST_CASE("a node ID template takes the host name, the process ID and a random part") {
    auto f = config_file::parse(R"({ "profiles": { "w": { "nodeid": "w-%h-%p" },
      "r": { "nodeid": "r/%r" } } })",
                                "cfg.json");
    CHECK(f.resolve("w").nodeid == "w-" + host_name() + "-" + std::to_string(::getpid()));
    const auto r1 = f.resolve("r").nodeid, r2 = f.resolve("r").nodeid;
    CHECK(r1.size() == 10);
    CHECK(r1.rfind("r/", 0) == 0);
    CHECK(r1 != r2);
    // What is not a template is refused where it is written (file, line, key).
    CHECK(contains(error_of([] { config_file::parse(R"({"nodeid": "x%q"})", "cfg.json"); }),
                   "cfg.json:1: the global section: key \"nodeid\": 'x%q': '%q' is no template") ==
          "cfg.json:1: the global section: key \"nodeid\": 'x%q': '%q' is no template");
    CHECK(contains(error_of([] { config_file::parse(R"({"nodeid": "x%"})", "cfg.json"); }),
                   "a '%' ends it") == "a '%' ends it");
  }

  TEST_CASE("set refuses a short secret unless its section is insecure, and an empty one") {
    config_file f{"mem.json"};
    auto shortish = error_of([&] { f.set("", "secret", "hunter2"); });
    CHECK(contains(shortish, "7 characters, fewer than 22") == "7 characters, fewer than 22");
    CHECK(!f.has_key("", "secret"));
    f.set("", "secret", generate_secret());  // gensecret's secrets pass
    CHECK(f.resolve().secret.size() == 43);
    f.set("p", "insecure", "true");
    f.set("p", "secret", "hunter2");
    CHECK(f.resolve("p").secret == "hunter2");
    // Turning insecure off (or removing it) under a short secret is refused, nothing changed.
    CHECK(contains(error_of([&] { f.set("p", "insecure", "false"); }), "fewer than 22") ==
          "fewer than 22");
    CHECK(contains(error_of([&] { f.set("p", "insecure", ""); }), "fewer than 22") ==
          "fewer than 22");
    CHECK(f.resolve("p").insecure);
    CHECK(contains(error_of([&] { f.set("p", "insecure", "maybe"); }), "true or false") ==
          "true or false");
    // An empty value never removes a secret; remove_key does, and says when there is none.
    auto empty = error_of([&] { f.set("", "secret", ""); });
    CHECK(contains(empty, "delsecret") == "delsecret");
    CHECK(f.has_key("", "secret"));
    CHECK(!error_of([&] { f.set("p", "secret", ""); }).empty());
    CHECK(f.resolve("p").secret == "hunter2");
    f.remove_key("", "secret");
    CHECK(!f.has_key("", "secret"));
    CHECK(contains(error_of([&] { f.remove_key("", "secret"); }), "sets no \"secret\"") ==
          "sets no \"secret\"");
    CHECK(contains(error_of([&] { f.remove_key("ghost", "secret"); }), "no profile") ==
          "no profile");
  }
}
