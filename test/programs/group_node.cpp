// A node in its own process for the multi-process group tests (test/groups/
// processes_test.cpp): TCP on loopback, the mesh, the registry and groups. It exits when its
// stdin closes, so it never outlives the test that started it.
//
// Usage: coport_group_node --id ID [--seed ADDR]... [--heartbeat MS] [--timeout MS]
//        [--resume MS]
// Prints "ready ADDR", then answers lines on stdin:
//   create NAME [STANDBY...]   -> "created NAME MASTER" or "error WHY"
//   join NAME                  -> a recording member joins; "joined NAME PORT" once ordered
//   stream NAME WHO COUNT US   -> sends WHO:0..COUNT-1, one every US microseconds (a send
//                                 that finds no master is tried again); "streamed NAME WHO"
//   seen NAME                  -> "seen NAME N" (messages the member received)
//   dump NAME FILE             -> writes them, one per line; "dumped NAME N"
//   left NAME                  -> "left NAME NOTICE..." (pg_member_left notices it got)
//   master NAME                -> "master NAME PORT"
//   up                         -> "up N"
//   sends                      -> "sends U R F": group sends waiting for their master's
//                                 confirmation, sent again to a next master, and failed
#include <chrono>
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/network/mesh.hpp>
#include <coport/registry.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

using namespace coport;
namespace pg = coport::groups;

namespace {

std::mutex out_mutex;
void say(const std::string& line) {
  std::lock_guard lock{out_mutex};
  std::cout << line << std::endl;
}

struct record {
  std::mutex mutex;
  std::vector<std::string> seen, left;
};

}  // namespace

int main(int argc, char** argv) {
  std::string id = "group-node";
  transport::tcp_options options;
  options.binds = {"127.0.0.1:0"};
  options.heartbeat_interval = std::chrono::milliseconds{100};
  options.node_timeout = std::chrono::milliseconds{500};
  network::mesh_options mo;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--id") {
      id = value;
    } else if (key == "--seed") {
      mo.seeds.push_back(value);
    } else if (key == "--heartbeat") {
      options.heartbeat_interval = std::chrono::milliseconds{std::stoi(value)};
    } else if (key == "--timeout") {
      options.node_timeout = std::chrono::milliseconds{std::stoi(value)};
    } else if (key == "--resume") {
      options.protocol.resume_window = std::chrono::milliseconds{std::stoi(value)};
    } else {
      std::cerr << "usage: coport_group_node --id ID [--seed ADDR]... [--heartbeat MS] "
                   "[--timeout MS] [--resume MS]\n";
      return 2;
    }
  }
  node_options no;
  no.id = id;
  no.threads = 2;
  node n{no};
  transport::tcp t{n, options};
  registry names{n};
  network::mesh peers{n, t, mo};
  pg::service groups{n, names};
  say("ready " + t.addresses().at(0));

  std::map<std::string, std::shared_ptr<record>> records;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words{line};
    std::string verb, name;
    words >> verb >> name;
    if (verb == "create") {
      pg::group_options go;
      std::string s;
      while (words >> s) go.standbys.push_back(s);
      auto r = groups.create(name, go);
      say(r ? "created " + name + " " + r.master.to_string()
            : std::string{"error "} + pg::describe(r.error));
    } else if (verb == "join") {
      auto rec = std::make_shared<record>();
      records[name] = rec;
      port_id p = n.port();
      n.rcv(p, pg::message_tag(), [rec](port_id, std::string, std::string who, std::int64_t k) {
        std::lock_guard lock{rec->mutex};
        rec->seen.push_back(who + ":" + std::to_string(k));
      });
      n.rcv(p, pg::member_left_tag(), [rec](std::string, port_id who, reason why) {
        std::lock_guard lock{rec->mutex};
        rec->left.push_back(std::string{who.node()} + "/" + why.to_string());
      });
      n.rcv(p, pg::new_member_tag(), [](std::string, port_id) {});
      auto e = groups.join(
          name, p, [name, p](pg::join_result) { say("joined " + name + " " + p.to_string()); },
          {.notify = true});
      if (e != pg::errc::ok) say(std::string{"error "} + pg::describe(e));
    } else if (verb == "stream") {
      std::string who;
      std::int64_t count = 0, us = 0;
      words >> who >> count >> us;
      port_id p = n.port();
      auto next = std::make_shared<std::int64_t>(0);
      n.rcv(p, "tick", [&n, &groups, p, next, name, who, count, us] {
        if (groups.send(name, who, *next) == pg::errc::ok) ++*next;
        if (*next < count) {
          n.after(std::chrono::microseconds{us}, p, "tick");
        } else {
          say("streamed " + name + " " + who);
        }
      });
      n.snd(p, "tick");
    } else if (verb == "seen" || verb == "dump" || verb == "left") {
      auto it = records.find(name);
      if (it == records.end()) {
        say("error no member of " + name);
        continue;
      }
      std::lock_guard lock{it->second->mutex};
      if (verb == "seen") {
        say("seen " + name + " " + std::to_string(it->second->seen.size()));
      } else if (verb == "left") {
        std::string text = "left " + name;
        for (const auto& l : it->second->left) text += " " + l;
        say(text);
      } else {
        std::string file;
        words >> file;
        std::ofstream out{file};
        for (const auto& s : it->second->seen) out << s << "\n";
        out.close();  // written before the test reads it
        say("dumped " + name + " " + std::to_string(it->second->seen.size()));
      }
    } else if (verb == "master") {
      say("master " + name + " " + groups.master(name).to_string());
    } else if (verb == "up") {
      say("up " + std::to_string(n.up_nodes().size()));
    } else if (verb == "sends") {
      auto s = groups.stats();
      say("sends " + std::to_string(s.unconfirmed) + " " + std::to_string(s.resent) + " " +
          std::to_string(s.send_failed));
    } else {
      say("error unknown command");
    }
  }
  return 0;
}
