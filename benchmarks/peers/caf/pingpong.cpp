// pingpong in CAF: two event-based actors bounce a message n times.
#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior ponger(event_based_actor*) {
  return {[](ping_atom, int64_t i) { return make_message(pong_atom::value, i); }};
}

behavior pinger(event_based_actor* self, actor buddy, int64_t n, actor reporter) {
  self->send(buddy, ping_atom::value, int64_t{0});
  return {[=](pong_atom, int64_t i) {
    if (i + 1 == n) {
      self->send(reporter, done_atom::value);
      self->send_exit(buddy, exit_reason::user_shutdown);
      self->quit();
    } else {
      self->send(buddy, ping_atom::value, i + 1);
    }
  }};
}

}  // namespace

void pingpong(int argc, char** argv) {
  bench::args a{"pingpong", {{"n", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  int64_t n = a["n"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  auto start = std::chrono::steady_clock::now();
  auto pong = system.spawn(ponger);
  system.spawn(pinger, pong, n, actor{main});
  main->receive([](done_atom) {});
  double secs = bench::seconds_since(start);
  std::string params = "n=" + std::to_string(n);
  a.report("caf", "pingpong", 2.0 * n / secs, "msgs/s", params);
  a.report("caf", "pingpong.rtt", secs / n * 1e9, "ns", params);
}

}  // namespace caf_bench
