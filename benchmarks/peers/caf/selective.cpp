// selective in CAF: k junk messages sit in the mailbox (skipped by the default handler) ahead
// of each matching message.
#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior selector(event_based_actor* self, int64_t k) {
  self->set_default_handler(skip);
  return {[=](ready_atom, actor driver) {
    for (int64_t i = 0; i < k; ++i) self->send(self, junk_atom::value, i);
    self->send(driver, ready_atom::value);
    self->become([=](match_atom) { return ack_atom::value; });
  }};
}

behavior driver(event_based_actor* self, actor target, int64_t iterations, actor reporter) {
  self->send(target, ready_atom::value, actor{self});
  return {[=](ready_atom) {
    self->send(reporter, go_atom::value);
    self->send(target, match_atom::value);
    self->become([=, left = iterations](ack_atom) mutable {
      if (--left == 0) {
        self->send(reporter, done_atom::value);
        self->send_exit(target, exit_reason::user_shutdown);
        self->quit();
      } else {
        self->send(target, match_atom::value);
      }
    });
  }};
}

}  // namespace

void selective(int argc, char** argv) {
  bench::args a{"selective", {{"k", 0}, {"iterations", 200'000}, {"threads", 0}}, argc, argv, 2};
  int64_t k = a["k"];
  int64_t iterations = a["iterations"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  auto target = system.spawn(selector, k);
  system.spawn(driver, target, iterations, actor{main});
  main->receive([](go_atom) {});
  auto start = std::chrono::steady_clock::now();
  main->receive([](done_atom) {});
  double secs = bench::seconds_since(start);
  a.report("caf", "selective", secs / iterations * 1e9, "ns/receive",
           "k=" + std::to_string(k) + ",iterations=" + std::to_string(iterations));
}

}  // namespace caf_bench
