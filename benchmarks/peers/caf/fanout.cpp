// fanout in CAF: one sender, g receivers, every message to all of them.
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior receiver(stateful_actor<int64_t>* self, int64_t expected, actor reporter) {
  self->state = 0;
  return {[=](msg_atom, int64_t) {
    if (++self->state == expected) {
      self->send(reporter, done_atom::value);
      self->quit();
    }
  }};
}

behavior sender(event_based_actor* self, std::vector<actor> receivers, int64_t m) {
  return {[=](go_atom) {
    for (int64_t i = 0; i < m; ++i) {
      for (auto& r : receivers) self->send(r, msg_atom::value, i);
    }
    self->quit();
  }};
}

}  // namespace

void fanout(int argc, char** argv) {
  bench::args a{"fanout", {{"g", 16}, {"m", 100'000}, {"threads", 0}}, argc, argv, 2};
  long g = a["g"];
  int64_t m = a["m"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  std::vector<actor> receivers;
  for (long i = 0; i < g; ++i) receivers.push_back(system.spawn(receiver, m, actor{main}));
  auto start = std::chrono::steady_clock::now();
  main->send(system.spawn(sender, receivers, m), go_atom::value);
  for (long i = 0; i < g; ++i) main->receive([](done_atom) {});
  a.report("caf", "fanout", g * m / bench::seconds_since(start), "deliveries/s",
           "g=" + std::to_string(g) + ",m=" + std::to_string(m));
}

}  // namespace caf_bench
