// AEMP's chat in separate processes (samples/chat_server, samples/chat_client): clients find
// the server through the registry, lines reach everyone, a client killed with kill -9 is
// announced as quitting with its reason, a killed server makes clients print
// "disconnected" and join the next server; and the bridge-head variant. Every node binds
// 127.0.0.1; every read has a deadline; the children are killed when the test ends.
#include <doctest/doctest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

/// No configuration file: the samples' defaults from code and the command line only.
void no_config_file() {
  ::setenv("COPORT_CONFIG", "/nonexistent/coport-chat-test.json", 1);
}

std::unique_ptr<child> server(const std::string& bind) {
  auto s = std::make_unique<child>(std::vector<std::string>{
      COPORT_CHAT_SERVER, "binds", bind, "heartbeat_interval", "0.2", "node_timeout", "1"});
  return s;
}

/// A server on a free port, and the address it listens on.
std::pair<std::unique_ptr<child>, std::string> started_server() {
  auto s = server("127.0.0.1:0");
  auto line = s->expect("chat_server ");
  return {std::move(s), line.substr(line.find("listening on ") + 13)};
}

std::unique_ptr<child> client(const std::string& nick, const std::string& seed,
                              bool bridge = false) {
  std::vector<std::string> args{COPORT_CHAT_CLIENT, nick};
  if (bridge) args.push_back("--bridge");
  for (const char* a : {"seeds", seed.c_str(), "heartbeat_interval", "0.2", "node_timeout", "1"}) {
    args.push_back(a);
  }
  return std::make_unique<child>(args);
}

}  // namespace

TEST_SUITE("sample.chat") {
  TEST_CASE("clients find the server by name, chat, and hear who quit and why") {
    no_config_file();
    auto [s, address] = started_server();
    auto alice = client("alice", address);
    alice->expect("connected to ");
    auto bob = client("bob", address);
    bob->expect("connected to ");
    alice->expect("*** bob joined");
    alice->say("hello bob");
    CHECK(bob->expect("<alice> ") == "hello bob");
    CHECK(alice->expect("<alice> ") == "hello bob");  // everyone, the sender too
    bob->kill9();
    auto why = alice->expect("*** bob quit (");
    CHECK(why.find("transport_error") != std::string::npos);
    // The server is killed: the client says so, and joins the next one that registers.
    s->kill9();
    CHECK(alice->expect("disconnected: ").find("transport_error") != std::string::npos);
    auto s2 = server(address);  // the same address: the clients' seed
    s2->expect("chat_server ");
    alice->expect("connected to ", 15s);
    auto carol = client("carol", address);
    carol->expect("connected to ");
    alice->expect("*** carol joined");
    carol->say("is anyone here?");
    CHECK(alice->expect("<carol> ") == "is anyone here?");
  }

  TEST_CASE(
      "the bridge-head: a client's session runs on the server's node, each watches the other") {
    no_config_file();
    auto [s, address] = started_server();
    auto alice = client("alice", address);
    alice->expect("connected to ");
    auto dave = client("dave", address, /*bridge=*/true);
    dave->expect("connected to ");
    // The session joined from the server's own node.
    auto joined = s->expect("dave joined from ");
    CHECK(joined.rfind("chat_server/", 0) == 0);
    dave->say("hi, I live over there");
    CHECK(alice->expect("<dave> ") == "hi, I live over there");
    // The client dies: its session dies with it (the link), so the room hears why.
    dave->kill9();
    CHECK(alice->expect("*** dave quit (").find("transport_error") != std::string::npos);
    // The server's node dies: a bridge client sees its session go.
    auto erin = client("erin", address, true);
    erin->expect("connected to ");
    s->kill9();
    CHECK(erin->expect("disconnected: ").find("transport_error") != std::string::npos);
  }

  TEST_CASE(
      "the chat runs as daemons: the end of stdin is no stop, a client that stops normally "
      "leaves the room, a server that stops is seen leaving, not failing") {
    no_config_file();
    auto [s, address] = started_server();
    s->close_stdin();  // as in the background: it keeps serving
    auto alice = client("alice", address);
    alice->close_stdin();
    alice->expect("connected to ");
    auto dave = client("dave", address, /*bridge=*/true);
    dave->expect("connected to ");
    alice->expect("*** dave joined");
    dave->say("still here?");
    CHECK(alice->expect("<dave> ") == "still here?");
    // A bridge client that stops normally ends its session: the room hears it left.
    dave->signal(SIGTERM);
    CHECK(dave->expect("stopping (") == "SIGTERM)");
    CHECK(alice->expect("*** dave quit (") == "left)");
    CHECK(dave->wait_exit() == 0);
    // The server stops normally: its clients hear that it left, not that it failed.
    s->signal(SIGINT);
    CHECK(s->expect("chat_server stopping (") == "SIGINT)");
    CHECK(alice->expect("disconnected: ") == "shutdown");
    CHECK(s->wait_exit() == 0);
    alice->signal(SIGTERM);
    CHECK(alice->wait_exit() == 0);
    // Asked to, a client takes the end of its stdin as the stop.
    child erin{{COPORT_CHAT_CLIENT, "erin", "--quit-on-eof", "seeds", address}};
    erin.close_stdin();
    CHECK(erin.expect("stopping (") == "SIGTERM)");
    CHECK(erin.wait_exit() == 0);
  }
}
