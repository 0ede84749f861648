// pingpong (Savina "PingPong"): two actors bounce a message n times.
#include <string>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor ponger() {
  for (;;) {
    message m = co_await receive("ping");
    this_node().snd(m.get<port_id>(0), "pong", m.get<long>(1));
  }
}

actor pinger(port_id partner, long n, std::latch* done) {
  for (long i = 0; i < n; ++i) {
    this_node().snd(partner, "ping", self(), i);
    co_await receive("pong");
  }
  done->count_down();
}

void report(const bench::args& a, const char* runtime, long n, double secs) {
  std::string params = "n=" + std::to_string(n);
  a.report(runtime, "pingpong", 2.0 * n / secs, "msgs/s", params);
  a.report(runtime, "pingpong.rtt", secs / n * 1e9, "ns", params);
}

}  // namespace

void pingpong(int argc, char** argv) {
  bench::args a{"pingpong", {{"n", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  long n = a["n"];
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    auto pong = nd.port();
    auto ping = nd.port();
    nd.rcv(pong, "ping", [&](long i) { nd.snd(ping, "pong", i); });
    nd.rcv(ping, "pong", [&](long i) {
      if (i + 1 == n) {
        done.count_down();
      } else {
        nd.snd(pong, "ping", i + 1);
      }
    });
    auto start = std::chrono::steady_clock::now();
    nd.snd(pong, "ping", 0L);
    done.wait();
    report(a, "coport", n, bench::seconds_since(start));
  }
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    auto start = std::chrono::steady_clock::now();
    auto pong = coport::spawn(nd, ponger);
    coport::spawn(nd, pinger, pong, n, &done);
    done.wait();
    report(a, "coport-coro", n, bench::seconds_since(start));
  }
}

}  // namespace coport_bench
