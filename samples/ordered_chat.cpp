// A chat room as a process group: every client on every node prints the same transcript,
// in the same order, because every line goes through the group's master. Give the room a
// standby on another node and it lives on when the master's node dies.
//
//   ordered_chat NICK [--create] [--standby NODEID]... [KEY VALUE...]
//
//   ordered_chat host --create --standby bob nodeid host binds 127.0.0.1:4050
//   ordered_chat alice nodeid alice seeds 127.0.0.1:4050
//   ordered_chat bob nodeid bob seeds 127.0.0.1:4050
//
// With --create the room (group "room") is made on this node, with standby masters on the
// given nodes. Lines read from stdin go to the room; each client is a coroutine actor that
// prints "<nick> line" for every message and "*** nick joined" / "*** nick left (why)".
// Settings: profile "ordered_chat" of the coport configuration file if there is one (else
// the host's), under defaults from code (nodeid ordered_chat/, binds 127.0.0.1:0); KEY VALUE
// pairs override them. Ends when stdin closes.
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace coport;
namespace net = coport::network;
namespace pg = coport::groups;

namespace {

void print(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

/// A client: joins the room, then prints what the room says, in the room's order.
actor client(pg::service& groups) {
  // Right after start this node may not know the room yet: the join waits for it (5 s).
  auto joined = groups.join(
      "room", self(),
      [](pg::join_result r) {
        if (r.error != pg::errc::ok) {
          print(std::string{"*** cannot join: "} + pg::describe(r.error) +
                " (is a node with --create among the seeds?)");
          std::_Exit(1);  // at once: main's thread may be sending (no destructors race)
        }
        print("*** in the room with " + std::to_string(r.old_members.size()) + " others");
      },
      {.notify = true});
  if (joined != pg::errc::ok) throw std::runtime_error{pg::describe(joined)};
  for (;;) {
    co_await receive(
        pg::on_group("room", [](port_id, std::string who,
                                std::string line) { print("<" + who + "> " + line); }),
        on(pg::new_member_tag(),
           [](std::string, port_id who) { print("*** " + std::string{who.node()} + " joined"); }),
        on(pg::member_left_tag(), [](std::string, port_id who, reason why) {
          print("*** " + std::string{who.node()} + " left (" + why.to_string() + ")");
        }));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ordered_chat NICK [--create] [--standby NODEID]... [KEY VALUE...]\n";
    return 2;
  }
  std::string nick = argv[1];
  bool create = false;
  std::vector<std::string> standbys;
  net::settings overrides;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--create") {
      create = true;
    } else if (a == "--standby" && i + 1 < argc) {
      standbys.push_back(argv[++i]);
    } else if (i + 1 < argc && a.rfind("--", 0) != 0) {
      overrides.emplace_back(a, argv[++i]);
    } else {
      std::cerr << "ordered_chat: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  net::node_config config;
  try {
    auto file = net::config_file::load();
    config = file.resolve(file.has_profile("ordered_chat") ? "ordered_chat" : "",
                          {{"nodeid", "ordered_chat/"}, {"binds", "127.0.0.1:0"}}, overrides);
  } catch (const net::config_error& e) {
    std::cerr << "ordered_chat: " << e.what() << "\n";
    return 2;
  }
  node n{net::node_options_for(config)};
  std::unique_ptr<net::membership> network;
  try {
    network = std::make_unique<net::membership>(n, config);
  } catch (const std::exception& e) {
    std::cerr << "ordered_chat: " << e.what() << "\n";
    return 1;
  }
  pg::service groups{n, network->names()};
  print("ordered_chat " + n.id() + " listening on " + network->links().addresses().at(0));
  if (create) {
    auto made = groups.create("room", {.standbys = standbys});
    if (!made) {
      std::cerr << "ordered_chat: cannot create the room: " << pg::describe(made.error) << "\n";
      return 1;
    }
  }
  spawn(n, client, std::ref(groups));

  std::string line;
  while (std::getline(std::cin, line)) {
    // While a standby takes over, the room has no master for a moment: the send waits.
    pg::errc e = groups.send("room", nick, line);
    if (e != pg::errc::ok) print(std::string{"*** not sent: "} + pg::describe(e));
  }
  return 0;
}
