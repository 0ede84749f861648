// AEMP's chat, the server: registers its port under the name "chat_server" in the network's
// registry, relays every line to every client, and says who joined and who quit (and why).
// It also serves the bridge-head variant: a client spawns its session port here (init
// "chat_session"), and the session and the client monitor each other.
//
//   chat_server [--quit-on-eof] [KEY VALUE...]      e.g. chat_server binds 127.0.0.1:4040
//
// Settings: profile "chat_server" of the coport configuration file if there is one (else the
// host's), over these defaults from code: nodeid chat_server/ (a random suffix), binds
// 127.0.0.1:4040; KEY VALUE pairs on the command line override everything. Runs as a daemon:
// until SIGINT or SIGTERM (then it leaves normally: clients hear `shutdown`), or the end of
// its stdin with --quit-on-eof.
#include <signal.h>

#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "stop_signals.hpp"

using namespace coport;
namespace net = coport::network;

int main(int argc, char** argv) {
  sample::block_stop_signals();
  int first = 1;
  const bool quit_on_eof = argc > 1 && std::string{argv[1]} == "--quit-on-eof";
  if (quit_on_eof) first = 2;
  if ((argc - first) % 2 != 0) {
    std::cerr << "usage: chat_server [--quit-on-eof] [KEY VALUE...]\n";
    return 2;
  }
  net::settings overrides;
  for (int i = first; i + 1 < argc; i += 2) overrides.emplace_back(argv[i], argv[i + 1]);
  net::node_config config;
  try {
    auto file = net::config_file::load();
    config = file.resolve(file.has_profile("chat_server") ? "chat_server" : "",
                          {{"nodeid", "chat_server/"}, {"binds", "127.0.0.1:4040"}}, overrides);
  } catch (const net::config_error& e) {
    std::cerr << "chat_server: " << e.what() << "\n";
    return 2;
  }

  node n{net::node_options_for(config)};
  auto server = n.port();
  // The bridge-head: a client's session, spawned here by the client. It joins in the
  // client's name, forwards the room's messages to it, and dies with it (a link).
  n.register_init("chat_session", [&n, server](std::string nick, port_id client) {
    port_id me = self();
    n.snd(server, "join", nick, me);
    n.rcv(me, "say", [&n, server, nick](std::string text) { n.snd(server, "say", nick, text); });
    n.rcv_default(me, [&n, client](message& m) { n.snd(client, std::move(m)); });
    // The session ends with its client, whatever the reason (AEMP's "mon $client" plus its
    // cleanup callback): normally when the client left normally - its port ended normally,
    // or its node left (`shutdown`: the node's bye may overtake the port's own notice).
    n.mon(client, [&n, me](const reason& why) {
       n.kil(me, why.kind() == "shutdown" ? reason{} : why);
     }).release();
  });
  std::unique_ptr<net::membership> network;
  try {
    network = std::make_unique<net::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "chat_server: " << e.what() << "\n";
    return 1;
  }

  // The room: in the server port's context only.
  std::map<port_id, std::pair<std::string, monitor>> clients;
  auto tell_all = [&](auto... values) {
    for (auto& [client, entry] : clients) n.snd(client, values...);
  };
  n.rcv(server, "join", [&](std::string nick, port_id client) {
    std::printf("%s joined from %s\n", nick.c_str(), client.to_string().c_str());
    std::fflush(stdout);
    tell_all("joined", nick);
    auto guard = n.mon(client, [&, client, nick](const reason& why) {
      clients.erase(client);
      std::string text = why.normal() ? std::string{"left"} : why.to_string();
      std::printf("%s quit (%s)\n", nick.c_str(), text.c_str());
      std::fflush(stdout);
      tell_all("quit", nick, text);
    });
    clients.insert_or_assign(client, std::make_pair(nick, std::move(guard)));
    n.snd(client, "welcome", n.id(), static_cast<std::int64_t>(clients.size()));
  });
  n.rcv(server, "say", [&](std::string nick, std::string text) {
    std::printf("<%s> %s\n", nick.c_str(), text.c_str());
    std::fflush(stdout);
    tell_all("line", nick, text);
  });
  auto name = network->names().reg("chat_server", server);

  std::printf("chat_server %s listening on %s\n", n.id().c_str(),
              network->links().addresses().at(0).c_str());
  std::fflush(stdout);
  if (quit_on_eof) {
    std::thread{[] {
      std::string line;
      while (std::getline(std::cin, line)) {
      }
      sample::request_stop();
    }}.detach();
  }
  const char* why = sample::wait_for_stop();
  std::printf("chat_server stopping (%s)\n", why);
  std::fflush(stdout);
  n.peval(server, [&] { clients.clear(); });
  name.cancel();
  network.reset();
  return 0;
}
