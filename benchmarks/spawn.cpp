// spawn (Savina "Fork Join (actor creation)" / CAF's actor_creation): n actors are created
// and each handles one message and finishes; then the memory of idle actors.
#include <atomic>
#include <string>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor one_shot(std::atomic<long>* finished, long n, std::latch* done) {
  co_await receive("go");
  if (finished->fetch_add(1, std::memory_order_relaxed) + 1 == n) done->count_down();
}

actor idle_actor(std::atomic<long>* started) {
  started->fetch_add(1, std::memory_order_relaxed);
  co_await receive("never");
}

/// Runs `make_one` n times, from this thread or from a spawner port, and waits until every
/// spawned actor has finished and ended; returns the seconds it took.
template <class Make>
double run_spawner(node& nd, bool from_actor, long n, std::latch& done, Make& make_one) {
  auto start = std::chrono::steady_clock::now();
  if (from_actor) {
    auto spawner = nd.port();
    nd.rcv(spawner, "go", [&] {
      for (long i = 0; i < n; ++i) make_one();
      nd.kil(self());
    });
    nd.snd(spawner, "go");
  } else {
    for (long i = 0; i < n; ++i) make_one();
  }
  done.wait();
  bench::wait_until([&] { return nd.stats().ports_alive <= 1; });  // the node port
  return bench::seconds_since(start);
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
      "spawn",
      {{"n", 1'000'000}, {"idle", 100'000}, {"only", 0}, {"from_actor", 0}, {"threads", 0}},
      argc,
      argv,
      2};
  // from_actor=0: the program's main thread spawns (as the CAF peer does); from_actor=1: a
  // spawner port does, as in Savina's fjcreate (the Erlang peer's spawner is a process).
  bool from_actor = a["from_actor"] != 0;
  std::string bench_name = from_actor ? "spawn.from_actor" : "spawn";
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
    std::latch done{1};
    auto make_one = [&] {
      auto p = nd.port([&](message&) {
        if (finished.fetch_add(1, std::memory_order_relaxed) + 1 == n) done.count_down();
        nd.kil(self());
      });
      nd.snd(p, "go");
    };
    double secs = run_spawner(nd, from_actor, n, done, make_one);
    a.report("coport", bench_name, n / secs, "actors/s", params);
    a.report("coport", bench_name + ".peak_rss", bench::peak_resident_bytes() / 1048576.0, "MiB",
             params);
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
    std::latch done{1};
    auto make_one = [&] { nd.snd(coport::spawn(nd, one_shot, &finished, n, &done), "go"); };
    double secs = run_spawner(nd, from_actor, n, done, make_one);
    a.report("coport-coro", bench_name, n / secs, "actors/s", params);
    a.report("coport-coro", bench_name + ".peak_rss", bench::peak_resident_bytes() / 1048576.0,
             "MiB", params);
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
