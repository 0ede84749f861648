// fanin in CAF (its mailbox_performance): k threads send m messages each to one actor.
#include <atomic>
#include <thread>
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

behavior sink(stateful_actor<int64_t>* self, int64_t expected, actor reporter) {
  self->state = 0;
  return {[=](msg_atom, int64_t) {
    if (++self->state == expected) {
      self->send(reporter, done_atom::value);
      self->quit();
    }
  }};
}

}  // namespace

void fanin(int argc, char** argv) {
  bench::args a{"fanin", {{"m", 200'000}, {"k", 0}, {"threads", 0}}, argc, argv, 2};
  std::vector<long> ks = a["k"] ? std::vector<long>{a["k"]} : std::vector<long>{2, 4, 8};
  int64_t m = a["m"];
  for (long k : ks) {
    actor_system_config cfg;
    actor_system system{config(cfg, a["threads"])};
    scoped_actor main{system};
    auto target = system.spawn(sink, k * m, actor{main});
    std::atomic<bool> go{false};
    std::vector<std::thread> senders;
    for (long s = 0; s < k; ++s) {
      senders.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (int64_t i = 0; i < m; ++i) anon_send(target, msg_atom::value, i);
      });
    }
    auto start = std::chrono::steady_clock::now();
    go.store(true);
    for (auto& t : senders) t.join();
    main->receive([](done_atom) {});
    a.report("caf", "fanin", k * m / bench::seconds_since(start), "msgs/s",
             "k=" + std::to_string(k) + ",m=" + std::to_string(m));
  }
}

}  // namespace caf_bench
