// The main demo: event-based ports, tag handlers, monitors, links, cal, spawn, and a
// coroutine-free ping-pong. Usage: ports_demo [ping-pong rounds, default 1000000]
#include <chrono>
#include <condition_variable>
#include <coport/coport.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

using namespace coport;
using namespace std::chrono_literals;

namespace {

/// Lets main wait for the demo's last step.
struct latch {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  void open() {
    std::lock_guard lock{m};
    done = true;
    cv.notify_all();
  }
  bool wait(std::chrono::seconds limit) {
    std::unique_lock lock{m};
    return cv.wait_for(lock, limit, [&] { return done; });
  }
};

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
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

  node n{node_options{.id = "demo/"}};
  say("node " + n.id() + " is up");

  // 1. A port with tag handlers: a counter that answers `get` requests made with cal.
  auto counter = n.port();
  n.rcv(counter, "add", [count = 0, &n](int by, port_id reply_to) mutable {
    count += by;
    n.snd(reply_to, "total", count);
  });

  // 2. Monitors: watch a worker that dies abnormally, and link a helper to it.
  auto worker = n.port();
  n.rcv(worker, "divide", [](int a, int b) {
    if (b == 0) throw std::domain_error{"division by zero"};
    say("worker: " + std::to_string(a / b));
  });
  auto helper = n.port([](message&) {});
  n.mon(worker, helper).release();  // a link: the helper dies with the worker
  latch deaths_seen;
  int deaths = 0;
  std::mutex deaths_mutex;
  auto on_death = [&](const char* who) {
    return [&, who](const reason& why) {
      say(std::string{who} + " died: " + why.to_string());
      std::lock_guard lock{deaths_mutex};
      if (++deaths == 2) deaths_seen.open();
    };
  };
  n.mon(worker, on_death("worker")).release();
  n.mon(helper, on_death("helper (linked)")).release();
  n.snd(worker, "divide", 10, 2);
  n.snd(worker, "divide", 1, 0);
  if (!deaths_seen.wait(10s)) return 1;

  // 3. cal: a request with a reply port, and one that times out.
  latch calls_done;
  n.cal(counter, "add", 5, [&](reply r) {
    say("cal: counter total is " + std::to_string(r->get<int>(0)));
    auto silent = n.port([](message&) {});
    n.cal(
        silent, "anyone",
        [&](reply r2) {
          say(std::string{"cal: second request "} + (r2 ? "answered" : "timed out"));
          calls_done.open();
        },
        50ms);
  });
  if (!calls_done.wait(10s)) return 1;

  // 4. spawn by registered name; the init installs the new port's handlers.
  latch spawned;
  n.register_init("demo.greeter", [&](std::string greeting) {
    n.rcv(self(), "greet", [&, greeting](const std::string& who) {
      say("greeter " + self().to_string() + ": " + greeting + ", " + who);
      spawned.open();
      n.kil(self());
    });
  });
  auto greeter = n.spawn(n.id(), "demo.greeter", "hello");
  n.snd(greeter, "greet", "world");
  if (!spawned.wait(10s)) return 1;

  // 5. A coroutine-free ping-pong between two event ports.
  latch finished;
  auto start = std::chrono::steady_clock::now();
  auto pong = n.port();
  auto ping = n.port();
  n.rcv(pong, "ping", [&](long i) { n.snd(ping, "pong", i); });
  n.rcv(ping, "pong", [&](long i) {
    if (i == rounds) {
      finished.open();
    } else {
      n.snd(pong, "ping", i + 1);
    }
  });
  n.snd(pong, "ping", 1L);
  if (!finished.wait(120s)) return 1;
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start);
  std::printf("ping-pong: %ld round trips, %.0f ns per round trip, %.2f M messages/s\n", rounds,
              ns.count() / rounds, 2.0 * rounds / ns.count() * 1e3);
  say("demo finished");
  return 0;
}
