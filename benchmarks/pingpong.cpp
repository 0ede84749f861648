// pingpong (Savina "PingPong"): two actors bounce a message n times.
#include <atomic>
#include <coport/trace.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "coport_workloads.hpp"
#include "support/scraped.hpp"

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

/// The floor program: the same exchange in plain C++ with nothing of a runtime, one thread,
/// doing for each message what every actor runtime must: allocate it (`new`), queue it for
/// its receiver (a std::deque), call the receiver's handler through a type-erased function,
/// free it. No threads, no tags, no ports: what is left is the least a message costs.
double floor_pingpong(long n) {
  struct msg {
    int to;
    long i;
  };
  std::deque<msg*> queue;
  std::function<void(long)> handlers[2];
  long last = -1;
  handlers[0] = [&](long i) { queue.push_back(new msg{1, i}); };  // ping: answers pong
  handlers[1] = [&](long i) {                                     // pong: pings again
    if (i + 1 == n) {
      last = i;
    } else {
      queue.push_back(new msg{0, i + 1});
    }
  };
  auto start = std::chrono::steady_clock::now();
  queue.push_back(new msg{0, 0});
  while (!queue.empty()) {
    msg* m = queue.front();
    queue.pop_front();
    handlers[m->to](m->i);
    delete m;
  }
  double secs = bench::seconds_since(start);
  if (last + 1 != n) std::abort();
  return secs;
}

}  // namespace

/// One event-port ping-pong of `n` round trips on `nd`; seconds.
double event_pingpong(node& nd, long n) {
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
  double secs = bench::seconds_since(start);
  nd.kil(pong);
  nd.kil(ping);
  return secs;
}

/// What exposing the node to Prometheus costs: `rounds` rounds, each a ping-pong without and
/// one with the node's exporter scraped every 100 ms, alternating (the machine's drift
/// cancels); each side's median and the median of the per-round ratio. (The counting itself
/// is always on: compare builds for it.)
void with_metrics(const bench::args& a, long n, long rounds) {
  node nd{options(a["threads"])};
  std::vector<double> off, on, ratio;
  bench::scraped web{nd, nullptr, std::chrono::milliseconds{100}};
  event_pingpong(nd, n / 10);  // warms
  for (long r = 0; r < rounds; ++r) {
    off.push_back(2.0 * n / event_pingpong(nd, n));
    web.active(true);
    on.push_back(2.0 * n / event_pingpong(nd, n));
    web.active(false);
    ratio.push_back(on.back() / off.back() * 100);
  }
  const long scrapes = web.scrapes();
  std::string params = "n=" + std::to_string(n) + ",alternating,rounds=" + std::to_string(rounds);
  a.report("coport", "pingpong", bench::median(off), "msgs/s", params);
  a.report("coport-metrics", "pingpong", bench::median(on), "msgs/s",
           params + ",scrapes=" + std::to_string(scrapes));
  a.report("coport-metrics", "pingpong.kept", bench::median(ratio), "%", params);
}

/// What tracing costs while on (off costs a test per send and per run: compare builds with
/// callgrind for that): `rounds` rounds of three ping-pongs, alternating: tracing off; armed
/// (a filter on a tag nobody sends: every send takes the filter's branch and matches nothing);
/// every message traced (a node filter, chains of 10 000, a hook counting spans, the node's
/// span rate as configured). Each side's median and the medians of the ratios to off.
void with_tracing(const bench::args& a, long n, long rounds) {
  node nd{options(a["threads"])};
  std::atomic<long> spans{0};
  auto hook = on_span(nd, [&](const span&) { spans.fetch_add(1, std::memory_order_relaxed); });
  std::vector<double> off, armed, traced, armed_ratio, traced_ratio;
  event_pingpong(nd, n / 10);  // warms
  for (long r = 0; r < rounds; ++r) {
    off.push_back(2.0 * n / event_pingpong(nd, n));
    {
      auto on = trace(nd, trace_filter{.tags = {"nobody.sends.this"}});
      armed.push_back(2.0 * n / event_pingpong(nd, n));
    }
    {
      auto on = trace(nd, trace_filter{.node = true, .rate = 1e9, .max_hops = 10000});
      traced.push_back(2.0 * n / event_pingpong(nd, n));
    }
    armed_ratio.push_back(armed.back() / off.back() * 100);
    traced_ratio.push_back(traced.back() / off.back() * 100);
  }
  std::string params = "n=" + std::to_string(n) + ",alternating,rounds=" + std::to_string(rounds);
  a.report("coport", "pingpong", bench::median(off), "msgs/s", params);
  a.report("coport-trace-armed", "pingpong", bench::median(armed), "msgs/s", params);
  a.report("coport-trace-all", "pingpong", bench::median(traced), "msgs/s",
           params + ",spans=" + std::to_string(spans.load()));
  a.report("coport-trace-armed", "pingpong.kept", bench::median(armed_ratio), "%", params);
  a.report("coport-trace-all", "pingpong.kept", bench::median(traced_ratio), "%", params);
}

void pingpong(int argc, char** argv) {
  bench::args a{
      "pingpong", {{"n", 1'000'000}, {"threads", 0}, {"metrics", 0}, {"trace", 0}}, argc, argv, 2};
  long n = a["n"];
  if (a["metrics"]) {
    with_metrics(a, n, a["metrics"]);
    return;
  }
  if (a["trace"]) {
    with_tracing(a, n, a["trace"]);
    return;
  }
  report(a, "cpp-floor", n, floor_pingpong(n));
  {
    node nd{options(a["threads"])};
    report(a, "coport", n, event_pingpong(nd, n));
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
