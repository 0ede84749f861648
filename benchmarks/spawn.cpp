// spawn (Savina "Fork Join (actor creation)" / CAF's actor_creation): create n actors that
// each handle one message and finish; then the memory of idle actors, event and coroutine.
#include <atomic>
#include <string>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor one_shot(std::atomic<long>* finished) {
  co_await receive("go");
  finished->fetch_add(1, std::memory_order_relaxed);
}

actor idle_actor(std::atomic<long>* started) {
  started->fetch_add(1, std::memory_order_relaxed);
  co_await receive("never");
}

/// Bytes of resident memory per live idle actor made by `make` (count of them).
template <class Make>
double bytes_per_idle(node& nd, long count, Make make) {
  std::vector<port_id> ports;
  ports.reserve(static_cast<std::size_t>(count));
  long before = bench::resident_bytes();
  make(ports);
  long after = bench::resident_bytes();
  for (auto& p : ports) nd.kil(p);
  bench::wait_until([&] { return nd.stats().ports_alive <= 1; });
  return static_cast<double>(after - before) / static_cast<double>(count);
}

}  // namespace

void spawn(int argc, char** argv) {
  bench::args a{
      "spawn", {{"n", 1'000'000}, {"idle", 100'000}, {"only", 0}, {"threads", 0}}, argc, argv, 2};
  // only=1: event ports, only=2: coroutine actors, 0: both (peak RSS is per process).
  bool event = a["only"] != 2;
  bool coro = a["only"] != 1;
  long n = a["n"];
  long idle = a["idle"];
  std::string params = "n=" + std::to_string(n);
  std::string idle_params = "idle=" + std::to_string(idle);
  // n=0 or idle=0 skips a part: benchmarks/run measures idle memory in a fresh process, so
  // that memory freed by the spawn phase and kept by an allocator does not hide it.
  if (event && n > 0) {
    node nd{options(a["threads"])};
    std::atomic<long> finished{0};
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      auto p = nd.port([&nd, &finished](message&) {
        finished.fetch_add(1, std::memory_order_relaxed);
        nd.kil(self());
      });
      nd.snd(p, "go");
    }
    bench::wait_until([&] { return finished.load() == n && nd.stats().ports_alive <= 1; });
    double secs = bench::seconds_since(start);
    a.report("coport", "spawn", n / secs, "actors/s", params);
    a.report("coport", "spawn.peak_rss", bench::peak_resident_bytes() / 1048576.0, "MiB", params);
  }
  if (event && idle > 0) {
    node nd{options(a["threads"])};
    double b = bytes_per_idle(nd, idle, [&](std::vector<port_id>& ports) {
      for (long i = 0; i < idle; ++i) ports.push_back(nd.port([](message&) {}));
    });
    a.report("coport", "spawn.idle_bytes", b, "bytes/actor", idle_params);
  }
  if (coro && n > 0) {
    node nd{options(a["threads"])};
    std::atomic<long> finished{0};
    auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
      auto p = coport::spawn(nd, one_shot, &finished);
      nd.snd(p, "go");
    }
    bench::wait_until([&] { return finished.load() == n && nd.stats().ports_alive <= 1; });
    double secs = bench::seconds_since(start);
    a.report("coport-coro", "spawn", n / secs, "actors/s", params);
    a.report("coport-coro", "spawn.peak_rss", bench::peak_resident_bytes() / 1048576.0, "MiB",
             params);
  }
  if (coro && idle > 0) {
    node nd{options(a["threads"])};
    std::atomic<long> started{0};
    double b = bytes_per_idle(nd, idle, [&](std::vector<port_id>& ports) {
      for (long i = 0; i < idle; ++i) ports.push_back(coport::spawn(nd, idle_actor, &started));
      bench::wait_until([&] { return started.load() == idle; });
    });
    a.report("coport-coro", "spawn.idle_bytes", b, "bytes/actor", idle_params);
  }
}

}  // namespace coport_bench
