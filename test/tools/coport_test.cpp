// The `coport` command (tools/coport/): profiles written and shown, usage errors (exit 2),
// configuration errors (exit 1), and `coport run` starting nodes that find each other from
// AEMP's seed example. Every node binds the loopback or the wildcard with the generated
// secret; every wait is bounded; the children are killed when the test ends.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/cli.hpp"
#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// Runs `command` with /bin/sh; its exit code and what it printed (both streams, through a
/// pipe: not a file, so that a file size limit on the command does not cut its output).
std::pair<int, std::string> shell(const std::string& command) {
  std::string text;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, ""};
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Connects to 127.0.0.1:`port`, writes bytes that are no hello, and waits (at most 10 s)
/// until the node closes the connection: by then it has logged why, if its level lets it.
void send_garbage(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval limit{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0);
  const char junk[] = "\xff\xff\xff\xffnot a hello at all";
  CHECK(::send(fd, junk, sizeof junk, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof junk));
  char buf[256];
  ssize_t n = 0;
  do {
    n = ::recv(fd, buf, sizeof buf, 0);
  } while (n > 0);
  CHECK(n == 0);  // closed by the node, not a timeout
  ::close(fd);
}

/// `coport run profile NAME` with COPORT_LOG set to `env_level` (unset when empty), its
/// stderr merged into the stdout the test reads.
std::unique_ptr<child> run_with_env(const scratch& s, const std::string& name,
                                    const std::string& env_level) {
  std::string env = env_level.empty() ? "env -u COPORT_LOG" : "env COPORT_LOG=" + env_level;
  return std::make_unique<child>(std::vector<std::string>{"/bin/sh", "-c",
                                                          "exec " + env + " " + COPORT_CLI +
                                                              " --config " + s.config +
                                                              " run profile " + name + " 2>&1"});
}

/// The port of the first "127.0.0.1:PORT" in `line`.
int loopback_port(const std::string& line) {
  auto at = line.find("127.0.0.1:");
  REQUIRE(at != std::string::npos);
  return std::stoi(line.substr(at + 10));
}

}  // namespace

TEST_SUITE("tools.coport") {
  TEST_CASE("wrong arguments get a usage line and exit code 2") {
    scratch s;
    for (const char* args :
         {"", "frob", "profile", "profile seed", "profile seed nodeid", "run profile", "run nodeid",
          "showconfig a b", "showprofile a b", "delsecret a b"}) {
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
    // It leaves normally: the seed hears shutdown, not a failure.
    CHECK(has(seed.expect("node member/"), " down: shutdown"));
  }

  TEST_CASE("the operator's verbs run on a client node and exit 0 done 1 not done 2 misused") {
    scratch s;
    REQUIRE(s.run("profile seed nodeid vseed binds 127.0.0.1:0 services echo").first == 0);
    child seed{{COPORT_CLI, "--config", s.config, "run", "profile", "seed"}};
    auto line = seed.expect("node vseed");
    auto address = "127.0.0.1:" + std::to_string(loopback_port(line));
    REQUIRE(s.run("profile w nodeid vw binds 127.0.0.1:0 services echo seeds " + address).first ==
            0);
    child w{{COPORT_CLI, "--config", s.config, "run", "profile", "w"}};
    w.expect("node vw");
    const std::string echo = w.expect("service echo at ");
    CHECK(has(w.expect("node vseed"), " up"));
    REQUIRE(s.run("profile ops seeds " + address).first == 0);
    const std::string ops = "--profile ops ";

    auto [c1, t1] = s.run("ping " + ops + "vseed");
    CHECK(c1 == 0);
    CHECK(has(t1, R"("node":"vseed")"));
    CHECK(has(t1, R"("rtt_us":)"));
    auto [c2, t2] = s.run("info " + ops + "vw");
    CHECK_MESSAGE(c2 == 0, t2);
    CHECK(has(t2, R"("node":"vw")"));
    CHECK(has(t2, R"("vseed")"));
    // The network as each node sees it, without the asking client.
    auto [c3, t3] = s.run("nodes " + ops);
    CHECK_MESSAGE(c3 == 0, t3);
    CHECK(has(t3, R"({"node":"vseed","up_nodes":["vw"]})"));
    CHECK(has(t3, R"({"node":"vw","up_nodes":["vseed"]})"));
    CHECK(!has(t3, "coport-cli/"));
    // cal prints the reply as JSON; a node port that takes no such request answers badrpc.
    auto [c4, t4] = s.run("cal " + ops + "'" + echo + "' echo '\"hi there\"'");
    CHECK_MESSAGE(c4 == 0, t4);  // (failed once under ASan: the output says why next time)
    CHECK(has(t4, R"(["echo","hi there"])"));
    auto [c5, t5] = s.run("cal " + ops + "vw frobnicate 1");
    CHECK(c5 == 1);
    CHECK(has(t5, R"(["badrpc","no_such_service)"));
    // mon waits for the death; snd makes the echo answer itself with a message its handler
    // does not take (a port ID given as JSON), which kills it.
    child watcher{{COPORT_CLI, "--config", s.config, "mon", "--profile", "ops", echo}};
    CHECK(watcher.expect("monitoring ") == echo);  // its monitor is in place at vw
    auto [c6, t6] =
        s.run("snd " + ops + "'" + echo + "' echo '\"x\"' '{\"port\": \"" + echo + "\"}'");
    CHECK_MESSAGE(c6 == 0, t6);
    CHECK(has(watcher.expect("bad_message"), "echo"));
    CHECK(watcher.wait_exit() == 0);
    // Not done: a dead port, a node nobody knows, no answer in time, no seed.
    auto [c7, t7] = s.run("snd " + ops + "'" + echo + "' echo 1");
    CHECK(c7 == 1);
    CHECK(has(t7, "is not alive"));
    auto [c8, t8] = s.run("ping " + ops + "--timeout 1 nosuch");
    CHECK(c8 == 1);
    CHECK(has(t8, "nosuch"));
    auto [c9, t9] = s.run("mon " + ops + "--timeout 0.5 vseed");
    CHECK(c9 == 1);
    CHECK(has(t9, "still alive"));
    REQUIRE(s.run("profile lost seeds 127.0.0.1:1").first == 0);
    auto [c10, t10] = s.run("ping --profile lost --timeout 1 vseed");
    CHECK(c10 == 1);
    CHECK(has(t10, "no seed reached"));
    // Misused: usage errors, values that are not values.
    for (const char* args :
         {"ping", "ping a b", "snd x", "cal", "mon", "nodes x", "snd vseed t '[1,2]'",
          "snd vseed t '{\"int\": 3000000000}'", "snd 'not a port' t", "ping --timeout -1 vseed",
          "ping 'a#5'", "info ''", "ping --timeout 0.0001 vseed", "snd vseed t null"}) {
      auto [code, text] = s.run(std::string{args});
      CHECK_MESSAGE(code == 2, args << ": " << text);
    }
  }

  TEST_CASE("names and groups show the whole network's registry and groups from a client") {
    scratch s;
    // A node timeout above the client's heartbeat interval (the group node's own is 500 ms).
    child a{{COPORT_GROUP_NODE, "--id", "gn-a", "--timeout", "3000"}};
    const std::string address = a.expect("ready ");
    child b{{COPORT_GROUP_NODE, "--id", "gn-b", "--seed", address, "--timeout", "3000"}};
    b.expect("ready ");
    bool linked = false;
    for (int i = 0; i < 200 && !linked; ++i) {
      linked = a.ask("up", "up ") == "1";
      if (!linked) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(linked);
    const std::string master = a.ask("create chat", "created chat ");
    // b joins once its registry has the master (a join before that would wait for it).
    bool known = false;
    for (int i = 0; i < 200 && !known; ++i) {
      known = b.ask("master chat", "master chat ") == master;
      if (!known) std::this_thread::sleep_for(50ms);
    }
    REQUIRE(known);
    const std::string member = b.ask("join chat", "joined chat ");
    // These nodes have no secret: neither has the client.
    REQUIRE(s.run("profile ops seeds " + address).first == 0);
    REQUIRE(s.run("delsecret").first == 0);
    auto [c1, t1] = s.run("groups --profile ops");
    CHECK_MESSAGE(c1 == 0, t1);
    CHECK(has(t1, R"({"chat":{"master":")" + master + R"(","members":[")" + member + R"("]}})"));
    auto [c2, t2] = s.run("names --profile ops pg:chat");
    CHECK_MESSAGE(c2 == 0, t2);
    CHECK(has(t2, R"({"pg:chat":[")" + master + R"("]})"));
    auto [c3, t3] = s.run("names --profile ops");
    CHECK(c3 == 0);
    CHECK(has(t3, R"("pg:chat")"));
    // A name or a group nobody has: not done.
    auto [c4, t4] = s.run("names --profile ops nosuch");
    CHECK(c4 == 1);
    CHECK(has(t4, R"({"nosuch":[]})"));
    auto [c5, t5] = s.run("groups --profile ops nosuch");
    CHECK(c5 == 1);
    CHECK(has(t5, "no group 'nosuch'"));
  }

  TEST_CASE(
      "gencert makes a CA and node certificates that coport run links with over TLS and reads "
      "again on SIGHUP") {
    scratch s;
    const std::string pki = (s.dir / "pki").string();
    auto [c1, t1] = s.run("gencert ca " + pki);
    CHECK_MESSAGE(c1 == 0, t1);
    for (const char* id : {"tls-a", "tls/b"}) {
      auto [code, text] = s.run(std::string{"gencert node "} + pki + " " + id);
      CHECK_MESSAGE(code == 0, text);
    }
    CHECK((std::filesystem::status(s.dir / "pki" / "ca.key").permissions() &
           std::filesystem::perms::group_all) == std::filesystem::perms::none);
    auto tls = [&](const std::string& file) {
      return " cert " + pki + "/" + file + ".pem key " + pki + "/" + file + ".key ca " + pki +
             "/ca.pem";
    };
    REQUIRE(s.run("profile a nodeid tls-a binds 127.0.0.1:0" + tls("tls-a")).first == 0);
    child a{{COPORT_CLI, "--config", s.config, "run", "profile", "a"}};
    const int port = loopback_port(a.expect("node tls-a"));
    REQUIRE(s.run("profile b nodeid tls/b binds 127.0.0.1:0 seeds 127.0.0.1:" +
                  std::to_string(port) + tls("tls_b"))
                .first == 0);
    child b{{COPORT_CLI, "--config", s.config, "run", "profile", "b"}};
    b.expect("node tls/b");
    CHECK(has(b.expect("node tls-a"), " up"));
    // SIGHUP reads the TLS files again (a renewed certificate); files that cannot be used
    // are said so, and the node runs on with the ones it read before.
    a.signal(SIGHUP);
    CHECK(has(a.expect("SIGHUP:"), "the TLS files were read again"));
    std::ofstream{pki + "/tls-a.pem"} << "not a certificate\n";
    a.signal(SIGHUP);
    CHECK(has(a.expect("SIGHUP:"), "cannot be used"));
    CHECK_FALSE(a.wait_exit(200ms).has_value());  // still running
    // Never overwritten; a node ID that is none, or no CA to sign with: not made.
    auto [c2, t2] = s.run("gencert node " + pki + " tls-a");
    CHECK(c2 == 1);
    CHECK(has(t2, "exists already"));
    auto [c3, t3] = s.run("gencert node " + pki + " 'not an id'");
    CHECK(c3 == 2);
    auto [c4, t4] = s.run("gencert node " + (s.dir / "empty").string() + " tls-c");
    CHECK(c4 == 1);
    CHECK(has(t4, "cannot read"));
    CHECK(s.run("gencert ca").first == 2);
  }

  TEST_CASE("coport run loads a service library and runs its init as a service") {
    scratch s;
    REQUIRE(s.run(std::string{"profile lib nodeid libnode binds 127.0.0.1:0 libraries "} +
                  COPORT_SERVICE_LIBRARY + " services greeter")
                .first == 0);
    child node{{COPORT_CLI, "--config", s.config, "run", "profile", "lib"}};
    const int port = loopback_port(node.expect("node libnode"));
    const std::string greeter = node.expect("service greeter at ");
    REQUIRE(s.run("profile ops seeds 127.0.0.1:" + std::to_string(port)).first == 0);
    auto [code, text] = s.run("cal --profile ops '" + greeter + "' greet '\"bob\"'");
    CHECK_MESSAGE(code == 0, text);
    CHECK(has(text, R"(["greet","hello, bob"])"));
    // A library that is not there, or is no service library: the node does not start.
    auto [c2, t2] = s.run("run profile lib libraries /nonexistent/lib.so");
    CHECK(c2 == 1);
    CHECK(has(t2, "cannot load service library /nonexistent/lib.so"));
    auto [c3, t3] = s.run("run profile lib libraries " + std::string{COPORT_SERVICE_LIBRARY} + "," +
                          std::string{COPORT_CLI});
    CHECK(c3 == 1);
  }

  TEST_CASE("coport run --watchdog restarts a node killed with -9 and stops on SIGTERM") {
    scratch s;
    REQUIRE(s.run("profile wd nodeid wd binds 127.0.0.1:0").first == 0);
    child dog{{COPORT_CLI, "--config", s.config, "run", "--watchdog", "profile", "wd"}};
    // The watchdog's line and the node's come from two processes: in either order.
    auto started = [&dog] {
      int pid = 0;
      bool listening = false;
      while (pid == 0 || !listening) {
        auto l = dog.line();
        if (!l) throw std::runtime_error{"the watchdog or its node said nothing in time"};
        if (l->rfind("watchdog: node started (pid ", 0) == 0) pid = std::stoi(l->substr(28));
        if (l->rfind("node wd ", 0) == 0 && has(*l, "listening on")) listening = true;
      }
      return pid;
    };
    const int first = started();
    ::kill(first, SIGKILL);
    CHECK(has(dog.expect("watchdog: node died of signal "), "restarting in 1000 ms"));
    const int second = started();
    CHECK(second != first);
    dog.signal(SIGTERM);
    CHECK(has(dog.expect("node wd "), "stopping (SIGTERM)"));
    CHECK(dog.wait_exit() == 0);
    // A node that cannot start (a bad profile) is not restarted for ever.
    child refused{{COPORT_CLI, "--config", s.config, "run", "--watchdog", "profile", "wd",
                   "libraries", "/nonexistent.so"}};
    CHECK(has(refused.expect("watchdog: node could not start"), "not restarting"));
    CHECK(refused.wait_exit() == 1);
  }

  TEST_CASE("set secret '' is refused and keeps the secret, delsecret removes it explicitly") {
    scratch s;
    REQUIRE(s.run("profile a nodeid a").first == 0);  // generates the global secret
    auto before = read_all(s.config);
    REQUIRE(has(before, "\"secret\""));
    auto [c1, t1] = s.run("set secret ''");
    CHECK(c1 == 1);
    CHECK(has(t1, "key \"secret\": an empty value does not remove the secret"));
    CHECK(has(t1, "coport delsecret"));
    CHECK(read_all(s.config) == before);  // neither removed nor replaced
    CHECK(s.run("profile a secret ''").first == 1);
    CHECK(read_all(s.config) == before);
    auto [c2, t2] = s.run("delsecret");
    CHECK(c2 == 0);
    CHECK(has(t2, "removed the secret of the global section"));
    CHECK(!has(read_all(s.config), "\"secret\""));
    CHECK(has(s.run("showconfig a").second, "\"secret\": \"\""));
    auto [c3, t3] = s.run("delsecret");
    CHECK(c3 == 1);
    CHECK(has(t3, "the global section sets no \"secret\""));
    // A profile's own secret, by name.
    REQUIRE(s.run("gensecret").first == 0);
    REQUIRE(s.run("profile a secret abcdefghijklmnopqrstuvwxyz").first == 0);
    CHECK(s.run("delsecret a").first == 0);
    CHECK(!has(s.run("showprofile a").second, "secret"));
    CHECK(has(s.run("showprofile").second, "\"secret\""));  // the global one is still there
    CHECK(s.run("delsecret ghost").first == 1);
  }

  TEST_CASE("a secret shorter than 22 characters is refused unless the section is insecure") {
    scratch s;
    auto [c1, t1] = s.run("set secret hunter2");
    CHECK(c1 == 1);
    CHECK(has(t1, "key \"secret\": 7 characters, fewer than 22"));
    CHECK(!std::filesystem::exists(s.config));                     // nothing written
    CHECK(s.run("set secret 1234567890123456789012").first == 0);  // 22
    CHECK(s.run("gensecret").first == 0);
    CHECK(s.run("showconfig").first == 0);  // the generated one passes
    // insecure, in either order on one command line.
    CHECK(s.run("profile lab secret hunter2 insecure true").first == 0);
    auto [c2, t2] = s.run("showconfig lab");
    CHECK(c2 == 0);
    CHECK(has(t2, "\"insecure\": true"));
    CHECK(s.run("profile lab insecure false").first == 1);
    CHECK(s.run("profile lab insecure maybe").first == 1);
    CHECK(has(s.run("showconfig").second, "\"insecure\": false"));
    // A file edited by hand is refused when read.
    std::ofstream{s.config} << "{ \"secret\": \"hunter2\" }";
    auto [c3, t3] = s.run("showconfig");
    CHECK(c3 == 1);
    CHECK(has(t3, "key \"secret\": 7 characters, fewer than 22"));
  }

  TEST_CASE("the saved file is 0600 and a save cut short by a full disk keeps the original") {
    scratch s;
    REQUIRE(s.run("profile a nodeid a").first == 0);
    struct stat st {};
    REQUIRE(::stat(s.config.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    auto before = read_all(s.config);
    // A file size limit of 0 (SIGXFSZ ignored, so write fails with EFBIG) stands for a full
    // disk, and works as root, unlike a read-only directory.
    auto [code, text] = shell("trap '' XFSZ; ulimit -f 0; exec " + std::string{COPORT_CLI} +
                              " --config " + s.config + " profile a log_level info");
    CHECK(code == 1);
    CHECK(has(text, "cannot be written"));
    CHECK(read_all(s.config) == before);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator{s.dir}) {
      names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"config.json", "out.txt"});  // no temporary file
  }

  TEST_CASE("COPORT_LOG beats a profile's log_level, both ways") {
    scratch s;
    REQUIRE(s.run("profile quiet nodeid quiet/ binds 127.0.0.1:0 log_level off").first == 0);
    REQUIRE(s.run("profile loud nodeid loud/ binds 127.0.0.1:0 log_level error").first == 0);
    {
      // The file says off, the environment error: the refused connection is logged.
      auto node = run_with_env(s, "quiet", "error");
      int port = loopback_port(node->expect("node quiet/"));
      send_garbage(port);
      CHECK(has(node->expect("coport [error]"), "node quiet/"));
    }
    {
      // The file says error, the environment off: nothing is logged before the node stops.
      auto node = run_with_env(s, "loud", "off");
      int port = loopback_port(node->expect("node loud/"));
      send_garbage(port);
      node->signal(SIGINT);
      std::string line;
      do {
        auto next = node->line();
        REQUIRE(next);
        line = *next;
        CHECK_FALSE(has(line, "coport ["));
      } while (!has(line, "stopping (SIGINT)"));
    }
    {
      // Without COPORT_LOG the file's level applies.
      auto node = run_with_env(s, "loud", "");
      int port = loopback_port(node->expect("node loud/"));
      send_garbage(port);
      CHECK(has(node->expect("coport [error]"), "node loud/"));
    }
  }

  TEST_CASE(
      "coport logs prints the lines of the network's nodes as they happen, and stops on SIGINT") {
    scratch s;
    REQUIRE(s.run("profile seed nodeid seed/ binds 127.0.0.1:0").first == 0);
    auto seed = run_with_env(s, "seed", "");
    auto line = seed->expect("node seed/");
    const std::string seed_id = "seed/" + line.substr(0, line.find(' '));
    const int port = loopback_port(line);
    REQUIRE(s.run("profile watcher seeds 127.0.0.1:" + std::to_string(port)).first == 0);
    child logs{{COPORT_CLI, "--config", s.config, "logs", "--level", "warn", "--profile", "watcher",
                seed_id}};
    CHECK(logs.expect("catching ") == seed_id);
    // The seed refuses a connection that says no hello: an error line, caught. (The catch
    // may reach the seed after the first refusal: refuse again until a line comes.)
    std::optional<std::string> caught;
    for (int attempt = 0; attempt < 5 && !caught; ++attempt) {
      send_garbage(port);
      try {
        caught = logs.expect(seed_id + " [error] ", std::chrono::seconds{2});
      } catch (const std::runtime_error&) {
      }
    }
    REQUIRE(caught);
    CHECK(caught->rfind("ending the channel to an unknown node: ", 0) == 0);
    logs.signal(SIGINT);
    CHECK(logs.wait_exit() == 0);
  }

  TEST_CASE(
      "coport trace switches tracing on across the network and prints its spans as JSON lines "
      "until SIGINT") {
    scratch s;
    REQUIRE(s.run("profile seed nodeid tseed binds 127.0.0.1:0 services echo").first == 0);
    child seed{{COPORT_CLI, "--config", s.config, "run", "profile", "seed"}};
    const std::string address =
        "127.0.0.1:" + std::to_string(loopback_port(seed.expect("node tseed")));
    const std::string echo = seed.expect("service echo at ");
    REQUIRE(s.run("profile ops seeds " + address).first == 0);
    child tracing{{COPORT_CLI, "--config", s.config, "trace", "--tag", "echo", "--profile", "ops"}};
    // The catch reaches the seed some time after the command starts: call until a span comes.
    // (Keys come sorted: duration_ns first, trace_id last.)
    std::optional<std::string> span;
    for (int attempt = 0; attempt < 10 && !span; ++attempt) {
      auto [code, text] = s.run("cal --profile ops '" + echo + "' echo '\"traced\"'");
      REQUIRE(code == 0);
      try {
        for (;;) {
          std::string line = tracing.expect(R"({"duration_ns":)", 2s);
          if (has(line, R"("kind":"handle")")) {
            span = line;
            break;
          }
        }
      } catch (const std::runtime_error&) {
      }
    }
    REQUIRE(span);
    CHECK(has(*span, R"("node":"tseed")"));
    CHECK(has(*span, R"("tag":"echo")"));
    CHECK(has(*span, R"("to":")" + echo + R"(")"));
    CHECK(has(*span, R"("hop":0)"));
    tracing.signal(SIGINT);
    CHECK(tracing.wait_exit() == 0);
    // Bad requests are refused before anything starts.
    CHECK(s.run("trace --rate 0 --profile ops").first == 2);
    CHECK(s.run("trace --hops 0 --profile ops").first == 2);
    CHECK(s.run("trace --port nonsense --profile ops").first == 2);
  }

  TEST_CASE(
      "coport trace follows one request through three processes: one trace, a span on each node, "
      "each the child of the one before") {
    scratch s;
    const std::string lib = std::string{" libraries "} + COPORT_SERVICE_LIBRARY + " services relay";
    REQUIRE(s.run("profile r1 nodeid relay1 binds 127.0.0.1:0" + lib).first == 0);
    child r1{{COPORT_CLI, "--config", s.config, "run", "profile", "r1"}};
    const std::string seed = "127.0.0.1:" + std::to_string(loopback_port(r1.expect("node relay1")));
    const std::string at1 = r1.expect("service relay at ");
    REQUIRE(s.run("profile r2 nodeid relay2 binds 127.0.0.1:0 seeds " + seed + lib).first == 0);
    REQUIRE(s.run("profile r3 nodeid relay3 binds 127.0.0.1:0 seeds " + seed + lib).first == 0);
    child r2{{COPORT_CLI, "--config", s.config, "run", "profile", "r2"}};
    const std::string at2 = r2.expect("service relay at ");
    child r3{{COPORT_CLI, "--config", s.config, "run", "profile", "r3"}};
    const std::string at3 = r3.expect("service relay at ");
    // The mesh: relay2 links to relay3 (learned from the seed) before the request goes.
    std::string up;
    do {
      up = r2.expect("node ");
    } while (!(has(up, "relay3") && has(up, " up")));
    REQUIRE(s.run("profile ops seeds " + seed).first == 0);
    child tracing{
        {COPORT_CLI, "--config", s.config, "trace", "--tag", "relay", "--profile", "ops"}};
    // The request: to relay1, then relay2, then relay3, which answers.
    auto field = [](const std::string& line, const std::string& key) {
      const std::string k = "\"" + key + "\":";
      auto at = line.find(k);
      if (at == std::string::npos) return std::string{};
      at += k.size();
      auto end = line.find_first_of(",}", at);
      std::string v = line.substr(at, end - at);
      if (!v.empty() && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    };
    // relay1 -> relay2 -> relay3 -> relay1, which answers: a client node links only to its
    // seeds, so the answer goes from there.
    std::map<std::string, std::string> runs;  // hop -> its handle span's line
    for (int attempt = 0; attempt < 15 && runs.size() < 4; ++attempt) {
      runs.clear();
      auto [code, text] = s.run("cal --profile ops '" + at1 + "' relay '\"" + at2 + " " + at3 +
                                " " + at1 + "\"' '\"across\"'");
      REQUIRE_MESSAGE(code == 0, text);
      CHECK(has(text, R"(["relay","across"])"));
      // The catches reach each node some time after the command starts; a request traced on
      // one node only is a root there: wait for one whose trace has all four runs.
      std::map<std::string, std::map<std::string, std::string>> by_trace;
      try {
        for (;;) {
          std::string line = "{\"duration_ns\":" + tracing.expect(R"({"duration_ns":)", 2s);
          if (field(line, "kind") != "handle") continue;
          auto& t = by_trace[field(line, "trace_id")];
          t[field(line, "hop")] = line;
          if (t.size() == 4) {
            runs = t;
            break;
          }
        }
      } catch (const std::runtime_error&) {
      }
    }
    REQUIRE(runs.size() == 4);
    const std::string &one = runs["0"], &two = runs["1"], &three = runs["2"], &back = runs["3"];
    CHECK(field(one, "node") == "relay1");
    CHECK(field(two, "node") == "relay2");
    CHECK(field(three, "node") == "relay3");
    CHECK(field(back, "node") == "relay1");
    CHECK(field(two, "parent_id") == field(one, "span_id"));
    CHECK(field(three, "parent_id") == field(two, "span_id"));
    CHECK(field(back, "parent_id") == field(three, "span_id"));
    CHECK(field(two, "from") == at1);
    CHECK(field(three, "from") == at2);
    CHECK(field(back, "from") == at3);
    CHECK(field(three, "to") == at3);
    CHECK(std::stoul(field(two, "size")) > 0);  // it crossed a link with its trace
    tracing.signal(SIGINT);
    CHECK(tracing.wait_exit() == 0);
  }

  TEST_CASE("coport logs on a client node finds and catches every node, not only its seed") {
    scratch s;
    REQUIRE(s.run("profile seed nodeid lseed binds 127.0.0.1:0").first == 0);
    auto seed = run_with_env(s, "seed", "");
    const int seed_port = loopback_port(seed->expect("node lseed"));
    const std::string seed_address = "127.0.0.1:" + std::to_string(seed_port);
    REQUIRE(s.run("profile w nodeid lw binds 127.0.0.1:0 seeds " + seed_address).first == 0);
    auto w = run_with_env(s, "w", "");
    const int w_port = loopback_port(w->expect("node lw"));
    CHECK(has(w->expect("node lseed"), " up"));
    REQUIRE(s.run("profile watcher seeds " + seed_address).first == 0);
    child logs{
        {COPORT_CLI, "--config", s.config, "logs", "--level", "warn", "--profile", "watcher"}};
    std::set<std::string> caught_nodes;
    caught_nodes.insert(logs.expect("catching "));
    caught_nodes.insert(logs.expect("catching "));
    CHECK(caught_nodes == std::set<std::string>{"lseed", "lw"});
    // A line of lw, which the client reached only through what the seed told it.
    std::optional<std::string> caught;
    for (int attempt = 0; attempt < 5 && !caught; ++attempt) {
      send_garbage(w_port);
      try {
        caught = logs.expect("lw [error] ", std::chrono::seconds{2});
      } catch (const std::runtime_error&) {
      }
    }
    REQUIRE(caught);
    logs.signal(SIGINT);
    CHECK(logs.wait_exit() == 0);
  }
}
