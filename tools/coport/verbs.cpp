// The operator's verbs, each on a client node: ping, info, snd, cal, mon, nodes, names, groups.
#include "verbs.hpp"

#include "client.hpp"
#include "signals.hpp"
#include "values.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <coport/coport.hpp>
#include <coport/network/network.hpp>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

namespace coport::cli {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

port_id port_argument(const std::string& text) {
  auto p = port_id::parse(text);
  if (!p) throw misused{fmt::format("'{}' is not a port ID (node#number, or a node ID)", text)};
  return *p;
}

void need(const std::vector<std::string>& args, std::size_t at_least, std::size_t at_most,
          const char* shape) {
  if (args.size() < at_least || args.size() > at_most) throw misused{shape};
}

void print(const std::string& text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

int ping(client& c, const std::string& node_id) {
  const auto start = std::chrono::steady_clock::now();
  outcome o = c.ask_node(node_id, "ping");
  if (!o.failure.empty()) throw failed{o.failure};
  const auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - start);
  if (!o.reply.is<std::string, std::uint32_t, std::int64_t>()) {
    throw failed{fmt::format("unexpected answer {}", o.reply.describe())};
  }
  auto& [id, incarnation, uptime] = o.reply.as<std::string, std::uint32_t, std::int64_t>();
  print(json{{"node", id},
             {"incarnation", fmt::format("{:08x}", incarnation)},
             {"uptime_ms", uptime},
             {"rtt_us", rtt.count()}}
            .dump(-1, ' ', false, json::error_handler_t::replace));
  return 0;
}

/// A node's `info` answer: its ports, drops and linked nodes.
json node_info(client& c, const std::string& node_id) {
  outcome o = c.ask_node(node_id, "info");
  if (!o.failure.empty()) throw failed{fmt::format("node {}: {}", node_id, o.failure)};
  if (!o.reply.is<std::uint64_t, std::uint64_t, std::vector<std::string>>()) {
    throw failed{fmt::format("node {}: unexpected answer {}", node_id, o.reply.describe())};
  }
  auto& [ports, dropped, up] = o.reply.as<std::uint64_t, std::uint64_t, std::vector<std::string>>();
  return json{
      {"node", node_id}, {"ports_alive", ports}, {"messages_dropped", dropped}, {"up_nodes", up}};
}

/// AEMP's trace walk: from the nodes the client is linked to, breadth-first, every node it
/// can reach (other client nodes are listed with no address: nothing to ask them). `visit`
/// gets each node's `info` answer, or why there is none (`info` null).
template <class Visit>
void walk(client& c, Visit&& visit) {
  std::deque<std::string> todo;
  std::set<std::string> seen{c.n().id()};
  for (const auto& id : c.n().up_nodes()) {
    if (seen.insert(id).second) todo.push_back(id);
  }
  while (!todo.empty()) {
    std::string id = todo.front();
    todo.pop_front();
    json info;
    try {
      info = node_info(c, id);
    } catch (const failed& f) {
      visit(id, nullptr, f.what);
      continue;
    }
    for (const auto& other : info["up_nodes"]) {
      auto o = other.get<std::string>();
      if (seen.insert(o).second && c.reachable(o)) todo.push_back(o);
    }
    visit(id, &info, std::string{});
  }
}

/// `coport nodes`: every node's own view of whom it is linked to (the client node left
/// out); a node that does not answer is listed so.
int nodes(client& c) {
  int status = 0;
  walk(c, [&](const std::string& id, const json* info, const std::string& error) {
    if (!info) {
      print(json{{"node", id}, {"error", error}}.dump(-1, ' ', false,
                                                      json::error_handler_t::replace));
      status = 1;
      return;
    }
    std::vector<std::string> up;
    for (const auto& other : (*info)["up_nodes"]) {
      if (auto o = other.get<std::string>(); o != c.n().id()) up.push_back(std::move(o));
    }
    print(
        json{{"node", id}, {"up_nodes", up}}.dump(-1, ' ', false, json::error_handler_t::replace));
  });
  return status;
}

/// Links to every node (the trace walk) and waits until the client's registry replica holds
/// each one's entries: then it holds the whole network's names.
void learn_names(client& c) {
  std::vector<std::string> seen;
  walk(c, [&](const std::string& id, const json* info, const std::string& error) {
    if (!info) throw failed{error};  // node_info names the node
    seen.push_back(id);
  });
  const auto deadline = std::chrono::steady_clock::now() + c.timeout();
  for (const auto& id : seen) {
    while (!c.names().has_entries_of(id)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw failed{
            fmt::format("node {} did not send its names in {} ms", id, c.timeout().count())};
      }
      std::this_thread::sleep_for(5ms);
    }
  }
}

/// The network's names (or one), each with its ports: {"name": ["node#1", ...], ...}.
int names(client& c, const std::vector<std::string>& args) {
  learn_names(c);
  json out = json::object();
  for (const auto& name : args.empty() ? c.names().names() : args) {
    json ports = json::array();
    for (const auto& p : c.names().get(name)) ports.push_back(p.to_string());
    if (!ports.empty() || !args.empty()) out[name] = std::move(ports);
  }
  print(out.dump(-1, ' ', false, json::error_handler_t::replace));
  // Not done when a name asked for has no port.
  for (const auto& name : args) {
    if (out[name].empty()) return 1;
  }
  return 0;
}

/// The network's groups (or one): each master and its members, as the master has them.
int groups(client& c, const std::vector<std::string>& args) {
  learn_names(c);
  static constexpr std::string_view prefix = "pg:";  // coport::groups' registry names
  json out = json::object();
  int status = 0;
  for (const auto& name : c.names().names()) {
    if (!name.starts_with(prefix)) continue;
    const std::string group = name.substr(prefix.size());
    if (!args.empty() && group != args[0]) continue;
    // Usually one master; while a partition heals, each side's (README "Process groups").
    json masters = json::array();
    for (const auto& master : c.names().get(name)) {
      auto answer = std::make_shared<awaited<outcome>>();
      port_id r = c.open_reply(answer);
      outcome o = c.call(master, message::make(tag{"pg.members"}, r), r, answer);
      json entry{{"master", master.to_string()}};
      if (o.failure.empty() && o.reply.is<std::vector<port_id>>()) {
        json members = json::array();
        for (const auto& m : o.reply.get<std::vector<port_id>>(0)) members.push_back(m.to_string());
        entry["members"] = std::move(members);
      } else {
        entry["error"] = o.failure.empty() ? "unexpected answer " + o.reply.describe() : o.failure;
        status = 1;
      }
      masters.push_back(std::move(entry));
    }
    out[group] = masters.size() == 1 ? std::move(masters[0]) : std::move(masters);
  }
  if (!args.empty() && !out.contains(args[0])) {
    throw failed{fmt::format("no group '{}' in the network", args[0])};
  }
  print(out.dump(-1, ' ', false, json::error_handler_t::replace));
  return status;
}

int snd(client& c, const std::vector<std::string>& args) {
  port_id target = port_argument(args[0]);
  message m = message_from_json(tag{args[1]}, {args.begin() + 2, args.end()});
  // Whether the port is alive: a monitor, then a ping on the same link (when it is answered,
  // a dead port's notice has come). Then the message, and a ping behind it: when that is
  // answered, the message is in the port's mailbox (what the port does with it, even dying
  // of it, is the port's business).
  const std::string node_id{target.node()};
  c.await_reachable(node_id);
  auto died = std::make_shared<awaited<std::string>>();
  auto guard = c.n().mon(target, [died](const reason& why) { died->set(why.to_string()); });
  if (outcome o = c.ask_node(node_id, "ping"); !o.failure.empty()) throw failed{o.failure};
  // The monitor's callback runs on the client's threads: a moment more for a notice that
  // came before the answer.
  if (auto why = died->wait(std::min(c.timeout(), std::chrono::milliseconds{100}))) {
    throw failed{fmt::format("{} is not alive: {}", target.to_string(), *why)};
  }
  c.n().snd(target, std::move(m));
  if (outcome o = c.ask_node(node_id, "ping"); !o.failure.empty()) throw failed{o.failure};
  return 0;
}

int cal(client& c, const std::vector<std::string>& args) {
  port_id target = port_argument(args[0]);
  auto answer = std::make_shared<awaited<outcome>>();
  port_id r = c.open_reply(answer);
  message m = message_from_json(tag{args[1]}, {args.begin() + 2, args.end()}, r);
  outcome o = c.call(target, std::move(m), r, answer);
  if (!o.failure.empty()) throw failed{o.failure};
  json out = json::array({std::string{o.reply.tag().name()}});
  for (auto& v : json::parse(json_of(o.reply))) out.push_back(std::move(v));
  print(out.dump(-1, ' ', false, json::error_handler_t::replace));
  // Erlang's badrpc: the node has nothing that takes such a request.
  return o.reply.tag() == tag{"badrpc"} ? 1 : 0;
}

int mon(client& c, const std::vector<std::string>& args, bool timed) {
  port_id target = port_argument(args[0]);
  c.await_reachable(std::string{target.node()});
  auto died = std::make_shared<awaited<std::string>>();
  auto guard = c.n().mon(target, [died](const reason& why) { died->set(why.to_string()); });
  // The monitor is in place at the target's node once a ping behind it is answered.
  if (!target.is_node_port()) {
    if (outcome o = c.ask_node(std::string{target.node()}, "ping"); !o.failure.empty()) {
      throw failed{o.failure};
    }
  }
  print("monitoring " + target.to_string());
  // Waits for the death (in slices, so that SIGINT/SIGTERM end it), or the timeout.
  const auto deadline = std::chrono::steady_clock::now() + c.timeout();
  for (;;) {
    if (auto why = died->wait(100ms)) {
      print(*why);
      return 0;
    }
    if (stop_requested()) return 1;
    if (timed && std::chrono::steady_clock::now() >= deadline) {
      throw failed{
          fmt::format("{} still alive after {} ms", target.to_string(), c.timeout().count())};
    }
  }
}

}  // namespace

int run_verb(const network::node_config& config, const std::string& verb,
             const std::vector<std::string>& args, std::chrono::milliseconds timeout, bool timed) {
  block_stop_signals();  // before any thread starts
  try {
    // Arguments first: a usage error needs no network.
    if (verb == "ping" || verb == "info") {
      need(args, 1, 1, "expected NODE");
      if (!valid_node_id(args[0]) || args[0].back() == '/') {
        throw misused{fmt::format("'{}' is not a node ID", args[0])};
      }
    }
    if (verb == "snd" || verb == "cal") need(args, 2, 1000, "expected PORT TAG [VALUES...]");
    if (verb == "mon") need(args, 1, 1, "expected PORT");
    if (verb == "nodes") need(args, 0, 0, "expected no arguments");
    if (verb == "names") need(args, 0, 1000, "expected [NAME...]");
    if (verb == "groups") need(args, 0, 1, "expected [GROUP]");
    if (verb == "snd" || verb == "cal" || verb == "mon") port_argument(args[0]);
    if (verb == "snd" || verb == "cal") {
      try {
        (void)message_from_json(tag{args[1]}, {args.begin() + 2, args.end()});
      } catch (const std::invalid_argument& e) {
        throw misused{e.what()};
      }
    }
    client c{config, timeout};
    if (verb == "ping") return ping(c, args[0]);
    if (verb == "info") {
      print(node_info(c, args[0]).dump(-1, ' ', false, json::error_handler_t::replace));
      return 0;
    }
    if (verb == "snd") return snd(c, args);
    if (verb == "cal") return cal(c, args);
    if (verb == "mon") return mon(c, args, timed);
    if (verb == "nodes") return nodes(c);
    if (verb == "names") return names(c, args);
    if (verb == "groups") return groups(c, args);
    throw misused{fmt::format("no verb '{}'", verb)};
  } catch (const misused& e) {
    std::cerr << "coport " << verb << ": " << e.what << "\n";
    return 2;
  } catch (const failed& e) {
    std::cerr << "coport " << verb << ": " << e.what << "\n";
    return 1;
  }
}

}  // namespace coport::cli
