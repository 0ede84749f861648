// fanin (CAF's mailbox_performance): k senders on their own threads send m messages each to
// one actor.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor sink(long expected, std::latch* done) {
  for (long got = 0; got < expected; ++got) co_await receive();
  done->count_down();
}

double run_senders(node& nd, const port_id& target, long k, long m) {
  std::atomic<bool> go{false};
  std::vector<std::thread> senders;
  for (long s = 0; s < k; ++s) {
    senders.emplace_back([&] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (long i = 0; i < m; ++i) nd.snd(target, "msg", i);
    });
  }
  auto start = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : senders) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void fanin(int argc, char** argv) {
  bench::args a{"fanin", {{"m", 200'000}, {"k", 0}, {"threads", 0}}, argc, argv, 2};
  std::vector<long> ks = a["k"] ? std::vector<long>{a["k"]} : std::vector<long>{2, 4, 8};
  long m = a["m"];
  for (long k : ks) {
    std::string params = "k=" + std::to_string(k) + ",m=" + std::to_string(m);
    {
      node nd{options(a["threads"])};
      std::latch done{1};
      long got = 0;
      long expected = k * m;
      auto target = nd.port();
      nd.rcv(target, "msg", [&](long) {
        if (++got == expected) done.count_down();
      });
      auto start = std::chrono::steady_clock::now();
      run_senders(nd, target, k, m);
      done.wait();
      a.report("coport", "fanin", expected / bench::seconds_since(start), "msgs/s", params);
    }
    {
      node nd{options(a["threads"])};
      std::latch done{1};
      auto target = coport::spawn(nd, sink, k * m, &done);
      auto start = std::chrono::steady_clock::now();
      run_senders(nd, target, k, m);
      done.wait();
      a.report("coport-coro", "fanin", k * m / bench::seconds_since(start), "msgs/s", params);
    }
  }
}

}  // namespace coport_bench
