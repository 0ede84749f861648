// threadring (Savina "Thread Ring"): a token passes t times around a ring of r actors.
#include <string>
#include <vector>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor ring_member(std::latch* done) {
  message link = co_await receive("next");
  port_id next = link.get<port_id>(0);
  for (;;) {
    message m = co_await receive("token");
    long left = m.get<long>(0);
    if (left == 0) {
      done->count_down();
    } else {
      this_node().snd(next, "token", left - 1);
    }
  }
}

}  // namespace

void threadring(int argc, char** argv) {
  bench::args a{"threadring", {{"r", 503}, {"t", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  long r = a["r"];
  long t = a["t"];
  std::string params = "r=" + std::to_string(r) + ",t=" + std::to_string(t);
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    std::vector<port_id> ring(static_cast<std::size_t>(r));
    for (auto& p : ring) p = nd.port();
    for (long i = 0; i < r; ++i) {
      port_id next = ring[static_cast<std::size_t>((i + 1) % r)];
      nd.rcv(ring[static_cast<std::size_t>(i)], "token", [&nd, &done, next](long left) {
        if (left == 0) {
          done.count_down();
        } else {
          nd.snd(next, "token", left - 1);
        }
      });
    }
    auto start = std::chrono::steady_clock::now();
    nd.snd(ring[0], "token", t);
    done.wait();
    a.report("coport", "threadring", t / bench::seconds_since(start), "msgs/s", params);
  }
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    std::vector<port_id> ring(static_cast<std::size_t>(r));
    for (auto& p : ring) p = coport::spawn(nd, ring_member, &done);
    for (long i = 0; i < r; ++i) {
      nd.snd(ring[static_cast<std::size_t>(i)], "next",
             ring[static_cast<std::size_t>((i + 1) % r)]);
    }
    auto start = std::chrono::steady_clock::now();
    nd.snd(ring[0], "token", t);
    done.wait();
    a.report("coport-coro", "threadring", t / bench::seconds_since(start), "msgs/s", params);
  }
}

}  // namespace coport_bench
