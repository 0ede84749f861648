// AEMP's chat, a client: finds the server through the registry (the name "chat_server"),
// joins under a nickname, sends each line of its stdin, and prints the room. When the server
// dies it prints "disconnected" with the reason, and joins the next server that registers.
//
//   chat_client NICK [--bridge] [--quit-on-eof] [KEY VALUE...]
//                                               e.g. chat_client alice seeds 127.0.0.1:4040
//
// --bridge: the bridge-head variant: the client spawns its session port on the server's node
// and the two monitor each other (the session dies with the client, and the reverse).
// Runs until SIGINT or SIGTERM, then leaves normally (the room hears it left); the end of its
// stdin ends it only with --quit-on-eof (so that it can run in the background).
// Settings: profile "chat_client" of the configuration file if there is one (else the
// host's), over these defaults from code: nodeid chat_client/ (a random suffix), binds
// 127.0.0.1:0, seeds 127.0.0.1:4040; KEY VALUE pairs override everything.
#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "stop_signals.hpp"

using namespace coport;
namespace net = coport::network;

int main(int argc, char** argv) {
  sample::block_stop_signals();
  const char* usage = "usage: chat_client NICK [--bridge] [--quit-on-eof] [KEY VALUE...]\n";
  if (argc < 2) {
    std::cerr << usage;
    return 2;
  }
  std::string nick = argv[1];
  int first = 2;
  bool bridge = false, quit_on_eof = false;
  for (; first < argc; ++first) {
    std::string flag = argv[first];
    if (flag == "--bridge") {
      bridge = true;
    } else if (flag == "--quit-on-eof") {
      quit_on_eof = true;
    } else {
      break;
    }
  }
  if ((argc - first) % 2 != 0) {
    std::cerr << usage;
    return 2;
  }
  net::settings overrides;
  for (int i = first; i + 1 < argc; i += 2) overrides.emplace_back(argv[i], argv[i + 1]);
  net::node_config config;
  try {
    auto file = net::config_file::load();
    config = file.resolve(
        file.has_profile("chat_client") ? "chat_client" : "",
        {{"nodeid", "chat_client/"}, {"binds", "127.0.0.1:0"}, {"seeds", "127.0.0.1:4040"}},
        overrides);
  } catch (const net::config_error& e) {
    std::cerr << "chat_client: " << e.what() << "\n";
    return 2;
  }
  node n{net::node_options_for(config)};
  std::unique_ptr<net::membership> network;
  try {
    network = std::make_unique<net::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "chat_client: " << e.what() << "\n";
    return 1;
  }
  auto say = [](const std::string& text) {
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  };

  // In the client port's context only.
  port_id server, target;  // target: the server, or our session on its node
  monitor watch;
  auto me = n.port();
  n.rcv(me, "welcome", [&](std::string node_id, std::int64_t count) {
    say("connected to " + node_id + " (" + std::to_string(count) + " in the room)");
  });
  n.rcv(me, "line", [&](std::string who, std::string text) { say("<" + who + "> " + text); });
  n.rcv(me, "joined", [&](std::string who) { say("*** " + who + " joined"); });
  n.rcv(me, "quit",
        [&](std::string who, std::string why) { say("*** " + who + " quit (" + why + ")"); });
  // Joins `candidate` (a registered server port).
  std::function<void(port_id)> join = [&](port_id candidate) {
    server = candidate;
    if (bridge) {
      target = n.spawn(candidate.node(), "chat_session", nick, me);
    } else {
      target = candidate;
      n.snd(candidate, "join", nick, me);
    }
    watch = n.mon(target, [&](const reason& why) {
      say("disconnected: " + why.to_string());
      port_id gone = server;
      server = target = port_id{};
      // Another server may be registered already; else the registry monitor brings one.
      auto servers = network->names().get("chat_server");
      std::erase(servers, gone);
      if (!servers.empty()) join(servers.front());
    });
  };
  subscription servers;
  n.peval(me, [&] {
    servers = network->names().mon("chat_server", [&](const registry_event& e) {
      if (!server && !e.ports.empty()) join(e.ports.front());
    });
  });

  // Lines from stdin, on a thread of their own (a read cannot be interrupted): it sends only
  // while `input->open`, which main clears before anything the lines use ends.
  struct input_state {
    std::mutex mutex;
    bool open = true;
  };
  auto input = std::make_shared<input_state>();
  std::thread{[input, quit_on_eof, &n, &me, &target, &bridge, &nick, &say] {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::lock_guard lock{input->mutex};
      if (!input->open) return;
      n.peval(me, [&, line] {
        if (!target) return say("(not connected: the line is not sent)");
        if (bridge) {
          n.snd(target, "say", line);
        } else {
          n.snd(target, "say", nick, line);
        }
      });
    }
    if (quit_on_eof) sample::request_stop();
  }}.detach();
  const char* why = sample::wait_for_stop();
  say(std::string{"stopping ("} + why + ")");
  {
    std::lock_guard lock{input->mutex};
    input->open = false;
  }
  n.peval(me, [&] {
    watch.cancel();
    servers.cancel();
  });
  // Leave normally: the server hears "left" before the link closes.
  std::promise<void> ended;
  auto end_watch = n.mon(me, [&](const reason&) { ended.set_value(); });
  n.kil(me);
  ended.get_future().wait_for(std::chrono::seconds{2});
  network.reset();
  return 0;
}
