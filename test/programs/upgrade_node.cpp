// One program in three builds, for the rolling-upgrade test (test/network/upgrade_test.cpp):
// COPORT_UPGRADE_BUILD 1 registers "upgrade.order" as {id, item} (class version 1) and the
// init "shop"; build 2 appends `quantity` to the order (class version 2) and adds the init
// "audit"; build 3 changes the type of `item` (a deliberately incompatible build).
//
// Usage: upgrade_node --schema                    prints the build's schema, exits
//        upgrade_node ID BIND [SEED...]            a shop node: a "shop" port registered under
//                                                  the name "shop" that answers
//                                                  `order, order, reply` with `done, order`
//        upgrade_node ID BIND --client N [SEED...] a client instead: sends N orders, 16 at a
//                                                  time, each to the next "shop" port, each
//                                                  reply checked (same order back)
// Prints "ready ADDRESS", then answers stdin lines: "up" (prints "up N"), "refusals" (prints
// "refusals APPLICATION BY_PEER": handshakes refused for the peer's build, and by the peer),
// "shops" (prints
// "shops N"), "stop" (unregisters, serves 1 s more, prints "stopped" and exits 0), "count"
// (client: prints "count SENT REPLIED FAILED WRONG"), "start" (client: starts sending), "halt"
// (client: sends no more). Exits when stdin closes.
#include <atomic>
#include <coport/coport.hpp>
#include <coport/network/mesh.hpp>
#include <coport/network/schema.hpp>
#include <coport/registry.hpp>
#include <coport/serialize.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#ifndef COPORT_UPGRADE_BUILD
#define COPORT_UPGRADE_BUILD 1
#endif

using namespace coport;

struct order {
  std::int64_t id = 0;
#if COPORT_UPGRADE_BUILD == 3
  std::int64_t item = 0;  // was a string: incompatible
#else
  std::string item;
#endif
#if COPORT_UPGRADE_BUILD == 2
  std::int32_t quantity = 1;
#endif
  template <class A>
  void serialize(A& a, std::uint32_t version) {
    a(id, item);
#if COPORT_UPGRADE_BUILD == 2
    if (version >= 2) a(quantity);
#else
    (void)version;
#endif
  }
};
CEREAL_CLASS_VERSION(order, COPORT_UPGRADE_BUILD == 2 ? 2 : 1)

namespace {

order make_order(std::int64_t id) {
  order o;
  o.id = id;
#if COPORT_UPGRADE_BUILD == 3
  o.item = id;
#else
  o.item = "item-" + std::to_string(id);
#endif
#if COPORT_UPGRADE_BUILD == 2
  o.quantity = static_cast<std::int32_t>(id % 7 + 1);
#endif
  return o;
}

bool same(const order& a, const order& b) {
  return a.id == b.id && a.item == b.item;
}

void register_inits(node& n) {
  n.register_init("shop", [&n] {
    n.rcv(self(), "order", [&n](order o, port_id reply) { n.snd(reply, "done", o); });
  });
#if COPORT_UPGRADE_BUILD == 2
  n.register_init("audit", [&n](std::int64_t since) {
    n.rcv(self(), "count", [&n, since](port_id reply) { n.snd(reply, "count", since); });
  });
#endif
}

/// The client: keeps 16 orders in flight, each to the next shop port, until N were sent.
struct client {
  node& n;
  coport::registry& names;
  std::int64_t total;
  std::mutex mutex;
  std::int64_t next = 0, replied = 0, failed = 0, wrong = 0, turn = 0;

  client(node& on, coport::registry& registry, std::int64_t orders)
      : n{on}, names{registry}, total{orders} {}

  void send_next() {
    std::int64_t id;
    port_id to;
    {
      std::lock_guard lock{mutex};
      if (next >= total) return;
      auto shops = names.get("shop");
      if (shops.empty()) {
        // None known right now: try again soon (counted as nothing lost).
        n.after(std::chrono::milliseconds{10}, [this] { send_next(); });
        return;
      }
      id = next++;
      to = shops[static_cast<std::size_t>(turn++) % shops.size()];
    }
    auto sent = make_order(id);
    n.cal(
        to, "order", sent,
        [this, sent](reply r) {
          {
            std::lock_guard lock{mutex};
            if (!r) {
              ++failed;
            } else {
              try {
                const auto& back = std::get<0>(r->as<order>());
                if (same(back, sent)) {
                  ++replied;
                } else {
                  ++wrong;
                }
              } catch (const std::exception&) {
                ++wrong;
              }
            }
          }
          send_next();
        },
        std::chrono::seconds{5});
  }
};

}  // namespace

int main(int argc, char** argv) {
  register_type<order>("upgrade.order");
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--schema") {
    node n{node_options{.id = "schema", .threads = 1}};
    register_inits(n);
    std::cout << network::schema_json(n) << std::endl;
    return 0;
  }
  if (args.size() < 2) {
    std::cerr << "usage: upgrade_node --schema | ID BIND [--client N] [SEED...]\n";
    return 2;
  }
  std::int64_t orders = 0;
  std::vector<std::string> seeds;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--client" && i + 1 < args.size()) {
      orders = std::stoll(args[++i]);
    } else {
      seeds.push_back(args[i]);
    }
  }
  node n{node_options{.id = args[0], .threads = 2}};
  register_inits(n);
  transport::tcp_options to;
  to.binds = {args[1]};
  to.heartbeat_interval = std::chrono::milliseconds{200};
  to.node_timeout = std::chrono::milliseconds{2000};
  // As membership does: a build that gives "upgrade.order" another structure under the same
  // class version (build 3) is refused at the handshake.
  network::check_schemas_in_handshake(to.protocol);
  transport::tcp links{n, to};
  coport::registry names{n};
  network::mesh mesh{n, links,
                     network::mesh_options{.seeds = seeds,
                                           .retry_min = std::chrono::milliseconds{50},
                                           .retry_max = std::chrono::milliseconds{500},
                                           .gossip_interval = std::chrono::milliseconds{300}}};
  // A client sends orders; the others serve them.
  std::unique_ptr<subscription> registration;
  if (orders == 0)
    registration = std::make_unique<subscription>(names.reg("shop", n.spawn(n.id(), "shop")));
  std::unique_ptr<client> c;
  std::cout << "ready " << links.addresses().at(0) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "up") {
      std::cout << "up " << n.up_nodes().size() << std::endl;
    } else if (line == "refusals") {
      auto stats = links.protocol().stats();
      std::cout << "refusals "
                << stats.refused_by[static_cast<std::size_t>(transport::refusal::application)]
                << " " << stats.refused_by[static_cast<std::size_t>(transport::refusal::by_peer)]
                << std::endl;
    } else if (line == "shops") {
      std::cout << "shops " << names.get("shop").size() << std::endl;
    } else if (line == "start" && orders > 0 && !c) {
      c = std::make_unique<client>(n, names, orders);
      auto driver = n.port([](message&) {});
      n.peval(driver, [&c] {
        for (int i = 0; i < 16; ++i) c->send_next();
      });
      std::cout << "started" << std::endl;
    } else if (line == "halt" && c) {
      std::lock_guard lock{c->mutex};
      c->total = c->next;  // no more orders; those on their way are still counted
      std::cout << "halted" << std::endl;
    } else if (line == "count") {
      if (!c) {
        std::cout << "count 0 0 0 0" << std::endl;
      } else {
        std::lock_guard lock{c->mutex};
        std::cout << "count " << c->next << " " << c->replied << " " << c->failed << " " << c->wrong
                  << std::endl;
      }
    } else if (line == "stop") {
      // A graceful stop: no new orders come (the name goes everywhere), those on their way
      // are answered, then the node leaves.
      registration.reset();
      std::this_thread::sleep_for(std::chrono::seconds{1});
      std::cout << "stopped" << std::endl;
      return 0;
    }
  }
  return 0;
}
