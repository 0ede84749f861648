// spawn in CAF (its actor_creation / Savina fjcreate): n actors each handle one message and
// finish; then the memory of idle actors.
#include <atomic>
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior one_shot(event_based_actor* self, std::atomic<int64_t>* finished) {
  return {[=](go_atom) {
    finished->fetch_add(1, std::memory_order_relaxed);
    self->quit();
  }};
}

behavior idle_actor(event_based_actor*) {
  return {[](go_atom) {}};
}

}  // namespace

void spawn(int argc, char** argv) {
  bench::args a{"spawn", {{"n", 1'000'000}, {"idle", 100'000}, {"threads", 0}}, argc, argv, 2};
  int64_t n = a["n"];
  long idle = a["idle"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  std::string params = "n=" + std::to_string(n);
  if (n > 0) {
    std::atomic<int64_t> finished{0};
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) anon_send(system.spawn(one_shot, &finished), go_atom::value);
    bench::wait_until([&] { return finished.load() == n; }, std::chrono::seconds{240});
    system.await_all_actors_done();
    double secs = bench::seconds_since(start);
    a.report("caf", "spawn", n / secs, "actors/s", params);
    a.report("caf", "spawn.peak_rss", bench::peak_resident_bytes() / 1048576.0, "MiB", params);
  }
  if (idle == 0) return;
  std::vector<actor> idle_actors;
  idle_actors.reserve(static_cast<size_t>(idle));
  long before = bench::resident_bytes();
  for (long i = 0; i < idle; ++i) idle_actors.push_back(system.spawn(idle_actor));
  long after = bench::resident_bytes();
  a.report("caf", "spawn.idle_bytes", static_cast<double>(after - before) / idle, "bytes/actor",
           "idle=" + std::to_string(idle));
  for (auto& x : idle_actors) anon_send_exit(x, exit_reason::user_shutdown);
}

}  // namespace caf_bench
