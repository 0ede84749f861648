// latency in CAF: a request from outside the actor system (a scoped_actor) to an actor that
// replies, spaced by gap_us so that the workers go idle; then the CPU an idle system uses.
#include <sys/resource.h>
#include <algorithm>
#include <thread>
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

behavior server(event_based_actor*) {
  return {[](ping_atom) { return pong_atom::value; }};
}

}  // namespace

void latency(int argc, char** argv) {
  bench::args a{
      "latency", {{"n", 2000}, {"gap_us", 1000}, {"idle_ms", 1000}, {"threads", 0}}, argc, argv, 2};
  long n = a["n"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor self{system};
  auto s = system.spawn(server);
  std::vector<double> us;
  for (long i = 0; i < n; ++i) {
    auto start = std::chrono::steady_clock::now();
    self->request(s, infinite, ping_atom::value).receive([](pong_atom) {}, [](error&) {});
    us.push_back(bench::seconds_since(start) * 1e6);
    std::this_thread::sleep_for(std::chrono::microseconds{a["gap_us"]});
  }
  std::sort(us.begin(), us.end());
  std::string params = "n=" + std::to_string(n) + ",gap_us=" + std::to_string(a["gap_us"]);
  a.report("caf", "latency.p50", us[us.size() / 2], "us", params);
  a.report("caf", "latency.p99", us[us.size() * 99 / 100], "us", params);
  double before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds{a["idle_ms"]});
  a.report("caf", "idle_cpu", (cpu_seconds() - before) / (a["idle_ms"] / 1000.0) * 100.0, "%core",
           "idle_ms=" + std::to_string(a["idle_ms"]));
  anon_send_exit(s, exit_reason::user_shutdown);
}

}  // namespace caf_bench
