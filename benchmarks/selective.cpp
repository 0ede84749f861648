// selective: a mailbox holds k non-matching messages ahead of the matching one; the cost of a
// selective receive (including the request that brings the match and its acknowledgement).
// Coroutine actors only: event ports have no mailbox to search (AEMP's model).
#include <string>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor selector(long k, long iterations) {
  message hello = co_await receive("driver");
  port_id driver = hello.get<port_id>(0);
  // The junk goes into this port's inbox now, so it reaches the mailbox ahead of every match
  // (which the driver sends only after "ready").
  for (long i = 0; i < k; ++i) this_node().snd(self(), "junk", i);
  this_node().snd(driver, "ready");
  for (long i = 0; i < iterations; ++i) {
    co_await receive("match");
    this_node().snd(driver, "ack");
  }
}

actor driver(port_id target, long iterations, std::latch* ready, std::latch* done,
             std::chrono::steady_clock::time_point* start) {
  this_node().snd(target, "driver", self());
  co_await receive("ready");
  *start = std::chrono::steady_clock::now();
  ready->count_down();
  for (long i = 0; i < iterations; ++i) {
    this_node().snd(target, "match");
    co_await receive("ack");
  }
  done->count_down();
}

}  // namespace

void selective(int argc, char** argv) {
  bench::args a{"selective", {{"k", 0}, {"iterations", 200'000}, {"threads", 0}}, argc, argv, 2};
  long k = a["k"];
  long iterations = a["iterations"];
  std::string params = "k=" + std::to_string(k) + ",iterations=" + std::to_string(iterations);
  node nd{options(a["threads"])};
  std::latch ready{1};
  std::latch done{1};
  std::chrono::steady_clock::time_point start;
  auto target = coport::spawn(nd, selector, k, iterations);
  coport::spawn(nd, driver, target, iterations, &ready, &done, &start);
  ready.wait();
  done.wait();
  double secs = bench::seconds_since(start);
  a.report("coport-coro", "selective", secs / iterations * 1e9, "ns/receive", params);
}

}  // namespace coport_bench
