// Ping-pong between two coroutine actors, each a straight-line receive loop.
// Usage: coroutine_pingpong [rounds, default 1000000]
#include <chrono>
#include <coport/coport.hpp>
#include <cstdio>
#include <cstdlib>
#include <future>

using namespace coport;

namespace {

actor ponger(node& n) {
  for (;;) {
    message m = co_await receive("ping");
    auto [from, i] = m.as<port_id, long>();
    n.snd(from, "pong", i);
  }
}

actor pinger(node& n, port_id partner, long rounds, std::promise<void>* done) {
  for (long i = 0; i < rounds; ++i) {
    n.snd(partner, "ping", self(), i);
    message m = co_await receive("pong");
    if (m.get<long>(0) != i) throw std::runtime_error{"pong out of order"};
  }
  n.kil(partner);
  done->set_value();
}

}  // namespace

int main(int argc, char** argv) {
  long rounds = 1'000'000;
  if (argc > 1) {
    char* end = nullptr;
    rounds = std::strtol(argv[1], &end, 10);
    if (*end != '\0' || rounds < 1 || rounds > 100'000'000) {
      std::fprintf(stderr, "usage: %s [rounds: 1..100000000]\n", argv[0]);
      return 2;
    }
  }
  node n{node_options{.id = "pingpong/"}};
  std::promise<void> done;
  auto finished = done.get_future();
  auto start = std::chrono::steady_clock::now();
  auto pong = spawn(n, ponger, std::ref(n));
  spawn(n, pinger, std::ref(n), pong, rounds, &done);
  if (finished.wait_for(std::chrono::minutes{2}) != std::future_status::ready) return 1;
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  std::printf("coroutine ping-pong: %ld round trips, %.0f ns per round trip\n", rounds,
              ns.count() / rounds);
  return 0;
}
