// threadring in CAF: a token passes t times around a ring of r actors.
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior ring_member(event_based_actor* self, actor reporter) {
  return {[=](next_atom, actor next) {
    self->become([=](token_atom, int64_t left) {
      if (left == 0) {
        self->send(reporter, done_atom::value);
      } else {
        self->send(next, token_atom::value, left - 1);
      }
    });
  }};
}

}  // namespace

void threadring(int argc, char** argv) {
  bench::args a{"threadring", {{"r", 503}, {"t", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  long r = a["r"];
  int64_t t = a["t"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  std::vector<actor> ring;
  for (long i = 0; i < r; ++i) ring.push_back(system.spawn(ring_member, actor{main}));
  for (long i = 0; i < r; ++i) main->send(ring[i], next_atom::value, ring[(i + 1) % r]);
  auto start = std::chrono::steady_clock::now();
  main->send(ring[0], token_atom::value, t);
  main->receive([](done_atom) {});
  a.report("caf", "threadring", t / bench::seconds_since(start), "msgs/s",
           "r=" + std::to_string(r) + ",t=" + std::to_string(t));
  for (auto& x : ring) anon_send_exit(x, exit_reason::user_shutdown);
}

}  // namespace caf_bench
