// count (Savina "Counting"): a producer sends n increments to a counter, then asks the total.
#include <string>

#include "coport_workloads.hpp"

using namespace coport;

namespace coport_bench {

namespace {

actor counter() {
  long total = 0;
  for (;;) {
    bool done = false;
    co_await receive(on("inc", [&] { ++total; }), on("get", [&](port_id reply_to) {
                       this_node().snd(reply_to, "total", total);
                       done = true;
                     }));
    if (done) co_return;
  }
}

actor producer(port_id target, long n, std::latch* finished, long* result) {
  for (long i = 0; i < n; ++i) this_node().snd(target, "inc");
  reply r = co_await call(target, "get");
  *result = r ? r->get<long>(0) : -1;
  finished->count_down();
}

}  // namespace

void count(int argc, char** argv) {
  bench::args a{"count", {{"n", 1'000'000}, {"threads", 0}}, argc, argv, 2};
  long n = a["n"];
  std::string params = "n=" + std::to_string(n);
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    long result = 0;
    long total = 0;  // the counter's state, touched only by its handlers
    auto counter_port = nd.port();
    nd.rcv(counter_port, "inc", [&total] { ++total; });
    nd.rcv(counter_port, "get", [&](port_id reply_to) { nd.snd(reply_to, "total", total); });
    auto prod = nd.port();
    nd.rcv(prod, "go", [&] {
      for (long i = 0; i < n; ++i) nd.snd(counter_port, "inc");
      nd.cal(counter_port, "get", [&](reply r) {
        result = r ? r->get<long>(0) : -1;
        done.count_down();
      });
    });
    auto start = std::chrono::steady_clock::now();
    nd.snd(prod, "go");
    done.wait();
    double secs = bench::seconds_since(start);
    if (result != n) throw std::runtime_error{"count: wrong total " + std::to_string(result)};
    a.report("coport", "count", n / secs, "msgs/s", params);
  }
  {
    node nd{options(a["threads"])};
    std::latch done{1};
    long result = 0;
    auto start = std::chrono::steady_clock::now();
    auto c = coport::spawn(nd, counter);
    coport::spawn(nd, producer, c, n, &done, &result);
    done.wait();
    double secs = bench::seconds_since(start);
    if (result != n) throw std::runtime_error{"count: wrong total " + std::to_string(result)};
    a.report("coport-coro", "count", n / secs, "msgs/s", params);
  }
}

}  // namespace coport_bench
