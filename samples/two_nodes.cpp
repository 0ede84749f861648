// Two nodes in one process, joined by an in-memory link: a registered type crosses, a
// port is spawned on the other node, monitored, and answers a cal; then the link breaks
// and the monitors say so. (Nodes in separate processes: samples/remote_pingpong.cpp.)
#include <coport/coport.hpp>
#include <coport/serialize.hpp>
#include <coport/transport/memory_link.hpp>
#include <coport/transport/transport.hpp>
#include <cstdio>
#include <latch>
#include <string>

using namespace coport;
using namespace std::chrono_literals;

struct order {
  std::string item;
  int quantity = 0;
  template <class A>
  void serialize(A& a) {
    a(item, quantity);
  }
};

int main() {
  register_type<order>("shop.order");  // the same name on every node
  node shop{node_options{.id = "shop", .threads = 1}};
  node till{node_options{.id = "till", .threads = 1}};
  transport::endpoint t1{shop}, t2{till};
  auto link = transport::memory_link::connect(t1, t2);

  // The shop can start a stock-keeper on request; the till spawns one there.
  shop.register_init("shop.stock", [&](int initial) {
    auto stock = std::make_shared<int>(initial);
    shop.rcv(self(), "take", [&, stock](order o, port_id reply) {
      *stock -= o.quantity;
      shop.snd(reply, "left", o.item, *stock);
    });
  });
  std::latch answered{1}, down{2};
  auto keeper = till.spawn("shop", "shop.stock", 10);  // returns at once, no round trip
  auto guard = till.mon(keeper, [&](const reason& why) {
    std::printf("till: the stock keeper is gone: %s\n", why.to_string().c_str());
    down.count_down();
  });
  auto sub = till.mon_nodes([&](const std::string& id, bool up, const reason& why) {
    if (!up) {
      std::printf("till: node %s went down: %s\n", id.c_str(), why.to_string().c_str());
      down.count_down();
    }
  });
  till.cal(
      keeper, "take", order{"apples", 3},
      [&](reply r) {
        if (r) {
          auto& [item, left] = r->as<std::string, int>();
          std::printf("till: %s left: %d\n", item.c_str(), left);
        }
        answered.count_down();
      },
      5s);
  answered.wait();
  link->break_link("the cable was pulled");
  down.wait();
  std::printf("two nodes finished\n");
}
