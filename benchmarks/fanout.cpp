// fanout: one sender, g receivers, every message to all of them (the baseline for groups).
#include <atomic>
#include <string>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor receiver(long expected, std::latch* done) {
  for (long i = 0; i < expected; ++i) co_await receive("m");
  done->count_down();
}

}  // namespace

void fanout(int argc, char** argv) {
  bench::args a{"fanout", {{"g", 16}, {"m", 100'000}, {"threads", 0}}, argc, argv, 2};
  long g = a["g"];
  long m = a["m"];
  std::string params = "g=" + std::to_string(g) + ",m=" + std::to_string(m);
  auto broadcast = [&](node& nd, std::vector<port_id>& receivers) {
    auto sender = nd.port();
    nd.rcv(sender, "go", [&nd, &receivers, m] {
      for (long i = 0; i < m; ++i) {
        for (auto& r : receivers) nd.snd(r, "m", i);
      }
    });
    nd.snd(sender, "go");
  };
  {
    node nd{options(a["threads"])};
    std::latch done{static_cast<std::ptrdiff_t>(g)};
    std::vector<port_id> receivers;
    for (long i = 0; i < g; ++i) {
      receivers.push_back(nd.port());
      nd.rcv(receivers.back(), "m", [&done, m, got = 0L](long) mutable {
        if (++got == m) done.count_down();
      });
    }
    auto start = std::chrono::steady_clock::now();
    broadcast(nd, receivers);
    done.wait();
    a.report("coport", "fanout", g * m / bench::seconds_since(start), "deliveries/s", params);
  }
  {
    node nd{options(a["threads"])};
    std::latch done{static_cast<std::ptrdiff_t>(g)};
    std::vector<port_id> receivers;
    for (long i = 0; i < g; ++i) receivers.push_back(coport::spawn(nd, receiver, m, &done));
    auto start = std::chrono::steady_clock::now();
    broadcast(nd, receivers);
    done.wait();
    a.report("coport-coro", "fanout", g * m / bench::seconds_since(start), "deliveries/s", params);
  }
}

}  // namespace coport_bench
