// Scheduling: which ports run where and when (runtime/src/scheduler.cpp), seen from the API.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coport/node.hpp>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

using namespace coport;
using namespace std::chrono_literals;

namespace {

/// Waits (bounded) until `done()` holds; true if it did.
template <class F>
bool wait_until(F done, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

TEST_SUITE("scheduler") {
  TEST_CASE("a port woken by a handler that keeps sending runs on another thread meanwhile") {
    // The consumer is woken by the producer's first send and would otherwise wait in the
    // producer thread's local queue until the handler returns.
    node n{node_options{.threads = 2}};
    std::atomic<long> seen{0};
    std::atomic<bool> ran_meanwhile{false};
    std::latch finished{1};
    auto consumer = n.port();
    n.rcv(consumer, "inc", [&] { seen.fetch_add(1, std::memory_order_relaxed); });
    auto producer = n.port();
    n.rcv(producer, "go", [&] {
      for (int i = 0; i < 1000; ++i) n.snd(consumer, "inc");
      ran_meanwhile = wait_until([&] { return seen.load() > 0; });
      finished.count_down();
    });
    n.snd(producer, "go");
    finished.wait();
    CHECK(ran_meanwhile.load());
    CHECK(wait_until([&] { return seen.load() == 1000; }));
  }

  TEST_CASE("ports woken by a long handler are taken by the other thread, all but the newest") {
    // One handler wakes several ports and then keeps its thread. The newest stays in this
    // thread's queue (the partner a ping-pong handler just woke runs next on this core); the
    // others must not wait for the handler: the other thread takes them even though both
    // runners are up. (No thread steals from another's local queue: a long handler that woke
    // a single port keeps it until it returns or has sent 64 messages.)
    node n{node_options{.threads = 2}};
    constexpr int ports = 8;
    std::atomic<int> ran{0};
    std::atomic<bool> others_ran_meanwhile{false};
    std::latch finished{1};
    std::vector<port_id> targets;
    for (int i = 0; i < ports; ++i) {
      targets.push_back(n.port());
      n.rcv(targets.back(), "wake", [&] { ran.fetch_add(1); });
    }
    auto waker = n.port();
    n.rcv(waker, "go", [&] {
      for (auto& t : targets) n.snd(t, "wake");
      others_ran_meanwhile = wait_until([&] { return ran.load() >= ports - 1; });
      finished.count_down();
    });
    n.snd(waker, "go");
    finished.wait();
    CHECK(others_ran_meanwhile.load());
    CHECK(wait_until([&] { return ran.load() == ports; }));
  }
}

TEST_SUITE("runtime.scheduler") {
  TEST_CASE(
      "a port that answered its partner and is not parked yet still gets mail from another "
      "thread, and a kill, once the partner's run ends") {
    // A handler that sent to a port which runs next on its thread leaves its own port unparked
    // for that one run (a ping-pong's answer then needs no wake-up). Mail sent meanwhile from
    // elsewhere wakes nobody: the runner must look at the port when the partner's run ends,
    // here with nothing else to run on the node's one thread.
    node n{node_options{.id = "drained/", .threads = 1}};
    std::atomic<bool> partner_running{false}, sent{false}, handled{false}, died{false};
    auto a = n.port();
    auto b = n.port();
    n.rcv(a, "ask", [&] { n.snd(b, "answer"); });
    n.rcv(a, "x", [&] { handled = true; });
    n.rcv(b, "answer", [&] {
      partner_running = true;
      wait_until([&] { return sent.load(); });
    });
    auto watch = n.mon(a, [&](const reason&) { died = true; });
    n.snd(a, "ask");
    REQUIRE(wait_until([&] { return partner_running.load(); }));
    n.snd(a, "x");
    sent = true;
    CHECK(wait_until([&] { return handled.load(); }));
    // Once more, with a kill as the mail.
    partner_running = false;
    sent = false;
    n.snd(a, "ask");
    REQUIRE(wait_until([&] { return partner_running.load(); }));
    n.kil(a);
    sent = true;
    CHECK(wait_until([&] { return died.load(); }));
  }

  TEST_CASE("a port woken from another thread just as the last runner goes idle still runs") {
    // A runner that found no work used to decide "nothing more" before giving its slot back:
    // a port pushed in between, by a thread that saw no searcher and no free slot, waited
    // until something else woke the node. Here each message waits for the previous to run.
    node n{node_options{.id = "wake/", .threads = 1}};
    std::mutex m;
    std::condition_variable cv;
    long handled = 0;
    auto p = n.port();
    n.rcv(p, "x", [&] {
      std::lock_guard lock{m};
      ++handled;
      cv.notify_one();
    });
    for (long i = 1; i <= 200000; ++i) {
      n.snd(p, "x");
      std::unique_lock lock{m};
      bool ran = cv.wait_for(lock, std::chrono::seconds{5}, [&] { return handled == i; });
      REQUIRE_MESSAGE(ran, "message " << i << " was not handled within 5 s");
    }
  }
}
