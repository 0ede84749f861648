// The ordered chat (samples/ordered_chat) in separate processes: three clients print the
// same transcript, in the same order, while lines come from all of them at once, and go on
// doing so after the master's node is killed with kill -9 (its standby takes over). Every
// node binds 127.0.0.1; every read has a deadline; the children die with the test.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<child> chat(const std::string& nick, std::vector<std::string> extra) {
  std::vector<std::string> args{COPORT_ORDERED_CHAT,  nick,  "nodeid",       nick,
                                "heartbeat_interval", "0.2", "node_timeout", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<child>(args);
}

/// The next `count` "<nick> text" lines a client prints.
std::vector<std::string> transcript(child& c, std::size_t count) {
  std::vector<std::string> lines;
  while (lines.size() < count) {
    auto line = c.line(20s);
    REQUIRE_MESSAGE(line, "only " << lines.size() << " of " << count << " lines came");
    if (line->rfind("<", 0) == 0) lines.push_back(*line);
  }
  return lines;
}

}  // namespace

TEST_SUITE("sample.ordered_chat") {
  TEST_CASE("every client prints the same transcript, also after the master's node dies") {
    ::setenv("COPORT_CONFIG", "/nonexistent/coport-ordered-chat-test.json", 1);
    auto host = chat("host", {"--create", "--standby", "bob", "binds", "127.0.0.1:0"});
    auto listening = host->expect("ordered_chat host listening on ");
    std::string seed = listening;
    host->expect("*** in the room");
    auto bob = chat("bob", {"seeds", seed});
    bob->expect("*** in the room");
    auto alice = chat("alice", {"seeds", seed});
    alice->expect("*** in the room");
    bob->expect("*** alice joined");
    // Lines from everyone at once.
    for (int i = 0; i < 30; ++i) {
      alice->say("a" + std::to_string(i));
      bob->say("b" + std::to_string(i));
      host->say("h" + std::to_string(i));
    }
    auto a1 = transcript(*alice, 90);
    auto b1 = transcript(*bob, 90);
    CHECK(a1 == b1);
    CHECK(transcript(*host, 90) == a1);
    // The master's node dies; bob's standby takes over and the room goes on.
    host->kill9();
    CHECK(alice->expect("*** host left (").find("transport_error") != std::string::npos);
    for (int i = 0; i < 30; ++i) {
      alice->say("a2-" + std::to_string(i));
      bob->say("b2-" + std::to_string(i));
    }
    auto a2 = transcript(*alice, 60);
    auto b2 = transcript(*bob, 60);
    CHECK(a2 == b2);
    CHECK(std::count(a2.begin(), a2.end(), "<alice> a2-29") == 1);
  }
}
