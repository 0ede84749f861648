// remote in CAF 0.17: two actor systems in two processes over caf_io (the middleman's BASP)
// on loopback, the same workloads as coport's `remote`: ping-pong (small and 4 KiB), a
// one-way stream acked every 10^4 (small: msgs/s; 4 KiB: MB/s), and request/response at low
// load (p50, p99). The other process is this program again (`caf-bench remote_peer`), which
// publishes a pong and a sink actor and prints their ports.
#include <algorithm>
#include <caf/io/all.hpp>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "caf_workloads.hpp"
#include "support/other_process.hpp"

using namespace caf;

namespace caf_bench {

namespace {

constexpr int64_t ack_every = 10'000;

behavior pong_actor(event_based_actor*) {
  return {
      [](ping_atom, int64_t i) { return make_message(pong_atom::value, i); },
      [](ping_atom, int64_t i, const std::string&) { return make_message(pong_atom::value, i); },
  };
}

behavior sink_actor(event_based_actor* self) {
  return {
      [=](msg_atom, int64_t i, const actor& back) {
        if ((i + 1) % ack_every == 0) self->send(back, ack_atom::value, i);
      },
      [=](msg_atom, int64_t i, const actor& back, const std::string&) {
        if ((i + 1) % ack_every == 0) self->send(back, ack_atom::value, i);
      },
      [=](done_atom, int64_t last, const actor& back) { self->send(back, ack_atom::value, last); },
  };
}

behavior pinger(event_based_actor* self, actor pong, std::string blob, int64_t n, int64_t warm,
                std::promise<double>* result) {
  auto start = std::make_shared<std::chrono::steady_clock::time_point>();
  auto send = [=](int64_t i) {
    if (blob.empty()) {
      self->send(pong, ping_atom::value, i);
    } else {
      self->send(pong, ping_atom::value, i, blob);
    }
  };
  send(0);
  return {[=](pong_atom, int64_t i) {
    if (i == warm) *start = std::chrono::steady_clock::now();
    if (i == n + warm) {
      result->set_value(bench::seconds_since(*start) / static_cast<double>(n) * 1e6);
      self->quit();
      return;
    }
    send(i + 1);
  }};
}

behavior producer(event_based_actor* self, actor sink, std::string blob, int64_t count,
                  std::promise<double>* result) {
  auto sent = std::make_shared<int64_t>(0);
  auto start = std::chrono::steady_clock::now();
  auto window = [=] {
    int64_t end = std::min(count, *sent + ack_every);
    for (; *sent < end; ++*sent) {
      if (blob.empty()) {
        self->send(sink, msg_atom::value, *sent, actor{self});
      } else {
        self->send(sink, msg_atom::value, *sent, actor{self}, blob);
      }
    }
    if (*sent == count) self->send(sink, done_atom::value, count - 1, actor{self});
  };
  window();
  window();
  return {[=](ack_atom, int64_t acked) {
    if (acked + 1 >= count) {
      result->set_value(static_cast<double>(count) / bench::seconds_since(start));
      self->quit();
      return;
    }
    if (*sent < count) window();
  }};
}

actor_system_config& io_config(actor_system_config& cfg) {
  cfg.load<io::middleman>();
  return cfg;
}

}  // namespace

void remote_peer(int, char**) {
  actor_system_config cfg;
  actor_system system{io_config(cfg)};
  auto pong = system.spawn(pong_actor);
  auto sink = system.spawn(sink_actor);
  auto pong_port = system.middleman().publish(pong, 0, "127.0.0.1");
  auto sink_port = system.middleman().publish(sink, 0, "127.0.0.1");
  if (!pong_port || !sink_port) std::abort();
  std::cout << *pong_port << " " << *sink_port << std::endl;
  bench::wait_stdin();
  anon_send_exit(pong, exit_reason::user_shutdown);
  anon_send_exit(sink, exit_reason::user_shutdown);
}

void remote(int argc, char** argv) {
  bench::args a{"remote",
                {{"n", 20'000}, {"stream", 2'000'000}, {"big", 50'000}, {"cal", 5'000}},
                argc,
                argv,
                2};
  int64_t n = a["n"], stream = a["stream"], big = a["big"], cals = a["cal"];
  bench::other_process peer{"remote_peer"};
  auto pong_port = static_cast<uint16_t>(std::stoi(peer.word()));
  auto sink_port = static_cast<uint16_t>(std::stoi(peer.word()));
  actor_system_config cfg;
  actor_system system{io_config(cfg)};
  auto pong = system.middleman().remote_actor("127.0.0.1", pong_port);
  auto sink = system.middleman().remote_actor("127.0.0.1", sink_port);
  if (!pong || !sink) std::abort();
  int64_t warm = std::min<int64_t>(n / 10, 1000);
  for (std::size_t size : {std::size_t{0}, std::size_t{4096}}) {
    std::promise<double> rtt;
    system.spawn(pinger, *pong, std::string(size, 'p'), n, warm, &rtt);
    a.report("caf", "remote.pingpong", rtt.get_future().get(), "us",
             size ? "size=4KiB" : "size=small");
  }
  {
    std::promise<double> rate;
    system.spawn(producer, *sink, std::string{}, stream, &rate);
    a.report("caf", "remote.stream", rate.get_future().get(), "msgs/s", "size=small");
  }
  {
    std::promise<double> rate;
    system.spawn(producer, *sink, std::string(4096, 'b'), big, &rate);
    a.report("caf", "remote.stream", rate.get_future().get() * 4096 / 1e6, "MB/s", "size=4KiB");
  }
  {
    scoped_actor self{system};
    std::vector<double> times;
    for (int64_t i = 0; i < cals; ++i) {
      auto start = std::chrono::steady_clock::now();
      self->request(*pong, infinite, ping_atom::value, i)
          .receive([](pong_atom, int64_t) {}, [](error&) { std::abort(); });
      times.push_back(bench::seconds_since(start) * 1e6);
    }
    std::sort(times.begin(), times.end());
    a.report("caf", "remote.cal", times[times.size() / 2], "us", "p50");
    a.report("caf", "remote.cal", times[times.size() * 99 / 100], "us", "p99");
  }
}

}  // namespace caf_bench
