// count in CAF: a producer sends n increments to a counter, then asks the total.
#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior counter(stateful_actor<int64_t>* self) {
  self->state = 0;
  return {[=](inc_atom) { ++self->state; }, [=](get_atom) { return self->state; }};
}

behavior producer(event_based_actor* self, actor target, int64_t n, actor reporter) {
  return {[=](go_atom) {
    for (int64_t i = 0; i < n; ++i) self->send(target, inc_atom::value);
    self->request(target, infinite, get_atom::value).then([=](int64_t total) {
      self->send(reporter, done_atom::value, total);
      self->send_exit(target, exit_reason::user_shutdown);
      self->quit();
    });
  }};
}

}  // namespace

void count(int argc, char** argv) {
  bench::args a{"count", {{"n", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  int64_t n = a["n"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  auto start = std::chrono::steady_clock::now();
  auto c = system.spawn(counter);
  auto p = system.spawn(producer, c, n, actor{main});
  main->send(p, go_atom::value);
  int64_t total = -1;
  main->receive([&](done_atom, int64_t t) { total = t; });
  double secs = bench::seconds_since(start);
  if (total != n) throw std::runtime_error{"count: wrong total"};
  a.report("caf", "count", n / secs, "msgs/s", "n=" + std::to_string(n));
}

}  // namespace caf_bench
