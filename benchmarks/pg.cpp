// pg: process groups (groups/), beside Erlang and CAF in the same run.
//
// - pg.ordered_broadcast: one node, G members, S senders sending M messages each through the
//   group's master: deliveries per second. The peers do what Erlang's original pg did: a
//   master process that stamps every message with a sequence number and forwards it to
//   every member (peers/erlang/pg_groups.erl, peers/caf/pg.cpp).
// - pg.remote_ordered_broadcast: the master and the senders here, RG members on a node in
//   another process: deliveries per second (coport sends a group message once per node;
//   Erlang's master sends one message per member over distribution).
// - pg.failover: the master's process is killed (kill -9) or frozen (SIGSTOP) while a
//   member here receives a message every 200 us; the time from the kill to the first
//   message the new master (the standby here) ordered, beside the node timeout.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <coport/transport/tcp.hpp>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "coport_workloads.hpp"
#include "support/other_process.hpp"

using namespace coport;
namespace pgs = coport::groups;
namespace tp = coport::transport;

namespace coport_bench {

namespace {

using clock = std::chrono::steady_clock;

void tell(bench::other_process& p, const std::string& line) {
  std::string l = line + "\n";
  if (write(p.in, l.data(), l.size()) != static_cast<ssize_t>(l.size())) std::abort();
}

tp::tcp_options loopback() {
  tp::tcp_options o;
  o.binds = {"127.0.0.1:0"};
  o.heartbeat_interval = std::chrono::milliseconds{100};
  o.node_timeout = std::chrono::milliseconds{1000};
  return o;
}

/// Waits until `groups` knows a master for `name`.
void await_master(pgs::service& groups, const std::string& name) {
  bench::wait_until([&] { return !groups.master(name).is_null(); }, std::chrono::seconds{20});
}

/// Joins `count` members to `name` on `n`, each counting to `total`; `done` counts down as
/// each has all. Returns once every join was ordered.
void join_counters(node& n, pgs::service& groups, const std::string& name, long count, long total,
                   std::latch& done) {
  std::latch joined{count};
  for (long i = 0; i < count; ++i) {
    port_id p = n.port();
    n.rcv(p, pgs::message_tag(), [&done, total, got = 0L](port_id, std::string, long) mutable {
      if (++got == total) done.count_down();
    });
    if (groups.join(name, p, [&joined](pgs::join_result) { joined.count_down(); }) !=
        pgs::errc::ok) {
      throw std::runtime_error{"pg: join failed"};
    }
  }
  joined.wait();
}

/// Starts `senders` ports on `n` that each send `m` messages to the group.
void start_senders(node& n, pgs::service& groups, const std::string& name, long senders, long m) {
  for (long s = 0; s < senders; ++s) {
    port_id p = n.port();
    n.rcv(p, "go", [&groups, name, m] {
      for (long i = 0; i < m; ++i) {
        if (groups.send(name, i) != pgs::errc::ok) throw std::runtime_error{"pg: send failed"};
      }
    });
    n.snd(p, "go");
  }
}

/// A member as a coroutine actor: joins, then takes `total` group messages.
actor coro_member(pgs::service* groups, long total, std::latch* joined, std::latch* done) {
  if (groups->join("bench", self(), [joined](pgs::join_result) { joined->count_down(); }) !=
      pgs::errc::ok) {
    throw std::runtime_error{"pg: join failed"};
  }
  for (long got = 0; got < total; ++got) {
    co_await receive(pgs::on_group("bench", [](port_id, long) {}));
  }
  done->count_down();
}

}  // namespace

/// The other process of pg: "ADDRESS" first; then "members NAME COUNT TOTAL" (prints
/// "joined", then "done" when every member has TOTAL), or "master NAME STANDBY" (creates the
/// group here with a standby on node STANDBY; prints "created").
void pg_peer(int argc, char** argv) {
  std::string id = argc > 2 ? argv[2] : "bench-pg-b";
  node n{node_options{.id = id, .threads = 2}};
  tp::tcp t{n, loopback()};
  coport::registry names{n};
  pgs::service groups{n, names};
  std::printf("%s\n", t.addresses().at(0).c_str());
  std::fflush(stdout);
  std::unique_ptr<std::latch> done;
  std::unique_ptr<std::thread> waiter;
  std::string verb, name;
  while (std::cin >> verb >> name) {
    if (verb == "members") {
      long count = 0, total = 0;
      std::cin >> count >> total;
      await_master(groups, name);
      done = std::make_unique<std::latch>(count);
      join_counters(n, groups, name, count, total, *done);
      std::printf("joined\n");
      std::fflush(stdout);
      waiter = std::make_unique<std::thread>([&] {
        done->wait();
        std::printf("done\n");
        std::fflush(stdout);
      });
    } else if (verb == "master") {
      std::string standby;
      std::cin >> standby;
      bench::wait_until([&] { return !n.up_nodes().empty(); }, std::chrono::seconds{20});
      if (!groups.create(name, {.standbys = {standby}})) std::abort();
      std::printf("created\n");
      std::fflush(stdout);
    }
  }
  if (waiter) waiter->join();
}

void pg(int argc, char** argv) {
  bench::args a{
      "pg",
      {{"g", 16}, {"senders", 4}, {"m", 25'000}, {"remote_g", 8}, {"threads", 0}, {"failover", 1}},
      argc,
      argv,
      2};
  const long g = a["g"], senders = a["senders"], m = a["m"], rg = a["remote_g"];
  const long total = senders * m;
  const std::string local_params =
      "g=" + std::to_string(g) + ",senders=" + std::to_string(senders) + ",m=" + std::to_string(m);
  {
    node n{options(a["threads"])};
    coport::registry names{n};
    pgs::service groups{n, names};
    if (!groups.create("bench")) throw std::runtime_error{"pg: create failed"};
    std::latch done{g};
    join_counters(n, groups, "bench", g, total, done);
    auto start = clock::now();
    start_senders(n, groups, "bench", senders, m);
    done.wait();
    a.report("coport", "pg.ordered_broadcast", g * total / bench::seconds_since(start),
             "deliveries/s", local_params);
  }
  {
    // The same with coroutine actors as members, receiving with on_group (selective receive).
    node n{options(a["threads"])};
    coport::registry names{n};
    pgs::service groups{n, names};
    if (!groups.create("bench")) throw std::runtime_error{"pg: create failed"};
    std::latch done{g}, joined{g};
    for (long i = 0; i < g; ++i) {
      port_id p = coport::spawn(n, coro_member, &groups, total, &joined, &done);
      (void)p;
    }
    joined.wait();
    auto start = clock::now();
    start_senders(n, groups, "bench", senders, m);
    done.wait();
    a.report("coport-coro", "pg.ordered_broadcast", g * total / bench::seconds_since(start),
             "deliveries/s", local_params);
  }
  {
    node n{node_options{.id = "bench-pg-a", .threads = static_cast<unsigned>(a["threads"])}};
    tp::tcp t{n, loopback()};
    coport::registry names{n};
    pgs::service groups{n, names};
    bench::other_process peer{"pg_peer"};
    std::string address = peer.word();
    std::latch linked{1};
    t.connect(address, [&](const std::string&, const std::string&) { linked.count_down(); });
    linked.wait();
    if (!groups.create("remote")) throw std::runtime_error{"pg: create failed"};
    tell(peer, "members remote " + std::to_string(rg) + " " + std::to_string(total));
    if (peer.word() != "joined") std::abort();
    auto start = clock::now();
    start_senders(n, groups, "remote", senders, m);
    if (peer.word() != "done") std::abort();
    a.report("coport", "pg.remote_ordered_broadcast", rg * total / bench::seconds_since(start),
             "deliveries/s",
             "remote_g=" + std::to_string(rg) + ",senders=" + std::to_string(senders) +
                 ",m=" + std::to_string(m));
  }
  if (a["failover"] == 0) return;
  // kill -9 twice: links that do not resume (a reset is a lost node at once) and the default
  // (a reset waits the resume window, node_timeout: the killed node's kernel resets the
  // connection when data it had not read was left).
  struct run {
    int sig;
    bool resume;
  };
  for (run r : {run{SIGKILL, false}, run{SIGKILL, true}, run{SIGSTOP, true}}) {
    const int sig = r.sig;
    node n{node_options{.id = "bench-pg-standby", .threads = 2}};
    tp::tcp_options o = loopback();
    if (!r.resume) o.protocol.resume_window = std::chrono::milliseconds{0};
    tp::tcp t{n, o};
    coport::registry names{n};
    pgs::service groups{n, names};
    bench::other_process master{"pg_peer", "bench-pg-master"};
    std::string address = master.word();
    std::latch linked{1};
    t.connect(address, [&](const std::string&, const std::string&) { linked.count_down(); });
    linked.wait();
    tell(master, "master fo bench-pg-standby");
    if (master.word() != "created") std::abort();
    await_master(groups, "fo");
    // A member here records when each number arrives.
    std::atomic<long> threshold{-1};
    std::atomic<std::int64_t> first_after{0};
    port_id member = n.port();
    n.rcv(member, pgs::message_tag(), [&](port_id, std::string, long k) {
      long t0 = threshold.load();
      if (t0 >= 0 && k >= t0 && first_after.load() == 0) {
        first_after = clock::now().time_since_epoch().count();
      }
    });
    std::latch joined{1};
    if (groups.join("fo", member, [&](pgs::join_result) { joined.count_down(); }) !=
        pgs::errc::ok) {
      throw std::runtime_error{"pg: join failed"};
    }
    joined.wait();
    // A standby here has the group's state once it acknowledged the snapshot.
    std::this_thread::sleep_for(std::chrono::milliseconds{200});
    std::atomic<bool> stop{false};
    std::atomic<long> next{0};
    std::thread sender{[&] {
      while (!stop) {
        if (groups.send("fo", next.load()) == pgs::errc::ok) ++next;
        std::this_thread::sleep_for(std::chrono::microseconds{200});
      }
    }};
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
    threshold = next.load();
    auto start = clock::now();
    kill(master.pid, sig);
    bench::wait_until([&] { return first_after.load() != 0; }, std::chrono::seconds{30});
    double ms = std::chrono::duration<double, std::milli>(clock::duration{first_after.load()} -
                                                          start.time_since_epoch())
                    .count();
    stop = true;
    sender.join();
    a.report("coport", "pg.failover", ms, "ms",
             std::string{sig == SIGKILL ? "kill9" : "sigstop"} + ",node_timeout=1000ms" +
                 (r.resume ? "" : ",resume_window=0"));
    if (sig == SIGSTOP) {
      kill(master.pid, SIGKILL);
    }
  }
}

}  // namespace coport_bench
