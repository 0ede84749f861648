// latency: what a request costs when the node is otherwise idle (its threads asleep), and
// what an idle node costs in CPU. A thread outside the node sends a request to a port that
// replies, waits for the reply, pauses `gap_us`, and repeats n times; then the node sits idle
// for `idle_ms` and the process's CPU time over that period is reported.
#include <sys/resource.h>
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

void latency(int argc, char** argv) {
  bench::args a{
      "latency", {{"n", 2000}, {"gap_us", 1000}, {"idle_ms", 1000}, {"threads", 0}}, argc, argv, 2};
  long n = a["n"];
  node nd{options(a["threads"])};
  std::atomic<long> replies{0};
  auto client = nd.port([&](message&) {
    replies.fetch_add(1, std::memory_order_release);
    replies.notify_one();
  });
  auto server = nd.port();
  nd.rcv(server, "req", [&](port_id from) { nd.snd(from, "rep"); });
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) {
    auto start = std::chrono::steady_clock::now();
    nd.snd(server, "req", client);
    long seen;
    while ((seen = replies.load(std::memory_order_acquire)) == i) replies.wait(seen);
    us.push_back(bench::seconds_since(start) * 1e6);
    std::this_thread::sleep_for(std::chrono::microseconds{a["gap_us"]});
  }
  std::sort(us.begin(), us.end());
  std::string params = "n=" + std::to_string(n) + ",gap_us=" + std::to_string(a["gap_us"]);
  a.report("coport", "latency.p50", us[us.size() / 2], "us", params);
  a.report("coport", "latency.p99", us[us.size() * 99 / 100], "us", params);
  double before = cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds{a["idle_ms"]});
  double used = cpu_seconds() - before;
  a.report("coport", "idle_cpu", used / (a["idle_ms"] / 1000.0) * 100.0, "%core",
           "idle_ms=" + std::to_string(a["idle_ms"]));
}

}  // namespace coport_bench
