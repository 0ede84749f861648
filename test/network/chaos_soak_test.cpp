// The chaos soak: five real node processes (test/programs/soak_node.cpp) on TCP stream
// numbered messages to each other under monitors and call each other, while the test kills
// them with kill -9 (and starts them again), freezes them with SIGSTOP past the node
// timeout and thaws them, and cuts one off with iptables (as root, in a private network
// namespace; each node runs as a user of its own, so one rule drops everything it sends).
// Each node also supervises one worker that prefers the next node, and has a member of an
// ordered quorum group (its master and standbys spread over all five) and sends to it.
// Then the same checkers as the simulator's read every node's log: no holes per sender ->
// port, every call answered once, one order for the group's members; every worker whose node
// was killed came back (its failover time is reported); and no group message acknowledged
// by `send` and not reported failed is missing at a member that lived to the end. The kills
// keep to the quorum group's fault model: no third process within 10 s of two others (a
// majority of its homes restarting at once ends it: its state lives in the processes).
// A failed run keeps its logs (named), with coport's own lines ("Z") and the faults.
//
// COPORT_SOAK_SECONDS (default 20) sets how long the faults go on; COPORT_SOAK_SEED the
// faults' seed (printed). Without root: kill -9 and SIGSTOP only (it says so).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <coport/testing/invariants.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/env.hpp"
#include "support/process.hpp"

using namespace coport::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using coport::test::env_number;

struct soak {
  static constexpr int nodes = 5;
  bool root = false;
  fs::path dir;
  int base_port = 0;
  std::vector<std::unique_ptr<child>> procs{nodes};
  bool created = false;  // the group: made by node 0's first start

  std::string address(int i) const { return "127.0.0.1:" + std::to_string(base_port + i); }
  int uid(int i) const { return 60301 + i; }
  fs::path log(int i) const { return dir / ("node-" + std::to_string(i) + ".log"); }

  void start(int i) {
    std::vector<std::string> argv;
    if (root) {
      argv = {"/usr/bin/setpriv", "--reuid=" + std::to_string(uid(i)),
              "--regid=" + std::to_string(uid(i)), "--clear-groups"};
    }
    for (const std::string& a :
         {std::string{COPORT_SOAK_NODE}, std::string{"--id"}, "soak-" + std::to_string(i),
          std::string{"--bind"}, address(i), std::string{"--log"}, log(i).string(),
          std::string{"--next"}, "soak-" + std::to_string((i + 1) % nodes)}) {
      argv.push_back(a);
    }
    for (int j = 0; j < nodes; ++j) {
      if (j != i) {
        argv.push_back("--seed");
        argv.push_back(address(j));
      }
    }
    if (i == 0 && !created) {
      created = true;
      argv.push_back("--create");
      argv.push_back("1");
      argv.push_back("--quorum");
      argv.push_back("1");
      for (int j = 1; j < nodes; ++j) {
        argv.push_back("--standby");
        argv.push_back("soak-" + std::to_string(j));
      }
    }
    procs[i] = std::make_unique<child>(argv);
    procs[i]->expect("ready ", 10s);
  }
  /// The faults as they happen (`faults.log`: monotonic ns, what, node): read with the
  /// nodes' logs when a run fails.
  std::ofstream faults;
  void note(const std::string& what, int i) { note(what, "soak-" + std::to_string(i)); }
  void note(const std::string& what, const std::string& who);
  void signal(int i, int sig) { ::kill(procs[i]->pid(), sig); }
  void cut(int i, bool on) {
    const std::string rule = "OUTPUT -m owner --uid-owner " + std::to_string(uid(i)) + " -j DROP";
    REQUIRE(std::system(((on ? "iptables -A " : "iptables -D ") + rule).c_str()) == 0);
  }
};

std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void soak::note(const std::string& what, const std::string& who) {
  faults << monotonic_ns() << " " << what << " " << who << std::endl;
}

/// How long a restarted home may take to hold the group's state again (a standby is made on
/// it and catches up) before the soak counts it as rebuilt.
constexpr std::int64_t rebuild = 10'000'000'000;

/// The other nodes killed within `rebuild` before `now`.
std::size_t killed_lately(const std::vector<std::pair<int, std::int64_t>>& kills, int node,
                          std::int64_t now) {
  std::set<int> nodes;
  for (const auto& [i, t] : kills) {
    if (i != node && now - t < rebuild) nodes.insert(i);
  }
  return nodes.size();
}

struct event {
  std::int64_t t;
  char kind;
  std::string a, b;
};

std::vector<event> read_logs(const soak& s) {
  std::vector<event> all;
  for (int i = 0; i < soak::nodes; ++i) {
    std::ifstream in{s.log(i)};
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words{line};
      event e;
      std::string kind;
      if (!(words >> e.t >> kind) || kind.size() != 1) continue;  // a torn last line
      e.kind = kind[0];
      words >> e.a >> e.b;
      all.push_back(std::move(e));
    }
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const event& x, const event& y) { return x.t < y.t; });
  return all;
}

/// The incarnation part of a port ID as printed (`node#local.incarnation`).
std::string incarnation_of(const std::string& port) {
  const auto dot = port.rfind('.');
  return dot == std::string::npos ? std::string{} : port.substr(dot + 1);
}

/// What the group's checkers found.
struct group_figures {
  std::size_t sent = 0, refused = 0, failed = 0, removed = 0, members = 0;
  std::uint64_t delivered = 0;
  std::size_t expected = 0;        // (message, member) pairs that had to arrive
  std::size_t other_order = 0;     // conflicts involving a member whose node was killed
  std::size_t never_joined = 0;    // processes alive at the end whose joins all failed
  std::int64_t last_delivery = 0;  // when a member last received a message
  std::vector<std::string> violations;
};

/// The ordered group over the logs. Strict, for the members of the processes alive at the
/// end (`final`, by incarnation): one order, none twice; every message sent by such a
/// process that `send` accepted and that was not reported failed reached every such member
/// that joined before it was sent and was never removed; a message that send refused, or that
/// was reported failed as never handed to a master (no_such_group), reached nobody. Members
/// of killed processes: counted apart (the README: a member whose node dies may have seen an
/// order the survivors did not).
group_figures check_group(const std::vector<event>& events, const std::set<std::string>& final) {
  group_figures g;
  coport::testing::order_checker survivors, everyone;
  std::map<std::string, std::int64_t> sent_at, joined_at;  // message / member -> when
  std::set<std::string> refused, not_handed, failed, removed, got, tried;
  for (const auto& e : events) {
    switch (e.kind) {
      case 'P':
        sent_at[e.a] = e.t;
        ++g.sent;
        break;
      case 'Q':
        refused.insert(e.a);
        break;
      case 'F':
        failed.insert(e.a);
        if (e.b == "no_such_group") not_handed.insert(e.a);
        break;
      case 'J':
        joined_at[e.a] = e.t;
        break;
      case 'L':
        removed.insert(e.a);
        break;
      case 'N':
        if (final.count(incarnation_of(e.a))) tried.insert(incarnation_of(e.a));
        break;
      case 'G':
        got.insert(e.b);
        g.last_delivery = std::max(g.last_delivery, e.t);
        everyone.delivered(e.a, e.b);
        if (final.count(incarnation_of(e.a))) survivors.delivered(e.a, e.b);
        if (!sent_at.count(e.b) && g.violations.size() < 100) {
          g.violations.push_back("member " + e.a + " received " + e.b + ", never sent");
        }
        break;
      default:
        break;
    }
  }
  for (const auto& [member, t] : joined_at) tried.erase(incarnation_of(member));
  g.never_joined = tried.size();
  g.refused = refused.size();
  g.failed = failed.size();
  g.removed = removed.size();
  g.members = everyone.members();
  g.delivered = everyone.messages_delivered();
  g.violations = survivors.violations();
  g.other_order =
      everyone.violations().size() - std::min(everyone.violations().size(), g.violations.size());
  for (const auto& m : refused) {
    if (got.count(m))
      g.violations.push_back("message " + m + " was refused by send, and delivered");
  }
  for (const auto& m : not_handed) {
    if (got.count(m)) {
      g.violations.push_back("message " + m +
                             " was reported never handed to a master, and delivered");
    }
  }
  for (const auto& [msg, t] : sent_at) {
    const std::string sender = msg.substr(0, msg.find('/'));
    if (!final.count(incarnation_of(sender)) || refused.count(msg) || failed.count(msg)) continue;
    for (const auto& [member, joined] : joined_at) {
      if (!final.count(incarnation_of(member)) || removed.count(member) || joined >= t) continue;
      ++g.expected;
      if (!survivors.received(member, msg) && g.violations.size() < 100) {
        g.violations.push_back("message " + msg + " was accepted and not reported failed, and " +
                               member + " (a member since before it was sent) never received it");
      }
    }
  }
  return g;
}

}  // namespace

TEST_SUITE("network.chaos_soak") {
  TEST_CASE(
      "five processes under kill -9, SIGSTOP and partitions keep no holes and answer every "
      "call once") {
    soak s;
    s.root = geteuid() == 0 && std::system("command -v iptables >/dev/null 2>&1") == 0 &&
             std::system("command -v setpriv >/dev/null 2>&1") == 0;
    if (s.root) {
      REQUIRE(unshare(CLONE_NEWNET) == 0);
      REQUIRE(std::system("ip link set lo up") == 0);
      s.base_port = 41000;
    } else {
      MESSAGE("not root (or no iptables/setpriv): kill -9 and SIGSTOP only, no partitions");
      s.base_port = 20000 + static_cast<int>(getpid() % 20000);
    }
    s.dir = fs::temp_directory_path() / ("coport-soak-" + std::to_string(getpid()));
    fs::create_directories(s.dir);
    fs::permissions(s.dir, fs::perms::all);
    for (int i = 0; i < soak::nodes; ++i) {
      int fd = ::open(s.log(i).c_str(), O_CREAT | O_WRONLY, 0666);
      REQUIRE(fd >= 0);
      ::fchmod(fd, 0666);
      ::close(fd);
    }
    s.faults.open(s.dir / "faults.log");
    for (int i = 0; i < soak::nodes; ++i) s.start(i);

    const std::uint64_t seed = env_number(
        "COPORT_SOAK_SEED",
        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
    const auto seconds = env_number("COPORT_SOAK_SECONDS", 20);
    MESSAGE("soak seed " << seed << ", " << seconds << " s of faults");
    std::mt19937_64 rng{seed};
    auto ms = [&](int lo, int hi) { return std::chrono::milliseconds{lo + rng() % (hi - lo + 1)}; };
    std::size_t kills = 0, stops = 0, cuts = 0;
    std::vector<std::pair<int, std::int64_t>> kill_times;  // node, when (monotonic ns)
    std::this_thread::sleep_for(2s);                       // the mesh forms, traffic starts
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds{seconds};
    while (std::chrono::steady_clock::now() < end) {
      const int i = static_cast<int>(rng() % soak::nodes);
      unsigned what = static_cast<unsigned>(rng() % (s.root ? 3 : 2));
      // The quorum group's fault model: its state lives in the processes of its five homes,
      // and it survives two of them restarting at once, not three (README). A kill that
      // would make a third home restart within `rebuild` of two others is a SIGSTOP instead.
      if (what == 0 && killed_lately(kill_times, i, monotonic_ns()) >= 2) what = 1;
      if (what == 0) {
        kill_times.emplace_back(i, monotonic_ns());
        s.note("kill", i);
        s.procs[i]->kill9();
        std::this_thread::sleep_for(ms(100, 800));
        s.start(i);
        s.note("started", i);
        ++kills;
      } else if (what == 1) {
        s.note("stop", i);
        s.signal(i, SIGSTOP);
        std::this_thread::sleep_for(ms(300, 2500));  // past the 1 s node timeout, or not
        s.signal(i, SIGCONT);
        s.note("cont", i);
        ++stops;
      } else {
        s.note("cut", i);
        s.cut(i, true);
        std::this_thread::sleep_for(ms(300, 3000));
        s.cut(i, false);
        s.note("heal", i);
        ++cuts;
      }
      std::this_thread::sleep_for(ms(300, 1000));
    }
    std::this_thread::sleep_for(4s);  // links come back; late calls time out (1 s)
    // The group sends stop; each node's that wait for a master's confirmation are confirmed
    // or reported failed (within send_timeout, 10 s).
    const std::int64_t quiet_at = monotonic_ns();
    s.note("quiet", "all");
    for (auto& p : s.procs) p->say("quiet");
    bool settled = false;
    for (auto until = std::chrono::steady_clock::now() + 15s;
         !settled && std::chrono::steady_clock::now() < until;) {
      settled = true;
      for (auto& p : s.procs) settled = settled && p->ask("unconfirmed", "unconfirmed ") == "0";
      if (!settled) std::this_thread::sleep_for(200ms);
    }
    CHECK_MESSAGE(settled, "group sends still unconfirmed 15 s after the last was sent");
    std::this_thread::sleep_for(1s);  // the last confirmed messages reach the members
    for (auto& p : s.procs) p->close_stdin();
    for (auto& p : s.procs) CHECK(p->wait_exit(10s) == 0);

    // -- the checkers over the logs ----------------------------------------------------------
    auto events = read_logs(s);
    coport::testing::stream_checker streams;
    std::map<std::string, std::pair<std::int64_t, int>> answers;  // call -> made at, answers
    std::size_t ok = 0, none = 0;
    // The talkers of the incarnations alive at the end, and when each ended ("E"): a call
    // made less than its timeout (1 s) before its caller ended may never have been told.
    std::map<std::string, std::int64_t> final_talkers;
    for (int i = 0; i < soak::nodes; ++i) {
      std::ifstream in{s.log(i)};
      std::string line, talker;
      std::int64_t ended = 0;
      while (std::getline(in, line)) {
        std::istringstream words{line};
        std::string t, kind, a;
        if (!(words >> t >> kind)) continue;
        if (kind == "C" && words >> a) talker = a.substr(0, a.find('/'));
        if (kind == "E") ended = std::stoll(t);
      }
      if (!talker.empty() && ended != 0) final_talkers[talker] = ended;
    }
    for (const auto& e : events) {
      switch (e.kind) {
        case 'S':
          streams.sent(e.a, std::stoull(e.b));
          break;
        case 'R':
          streams.received(e.a, std::stoull(e.b));
          break;
        case 'M':
          streams.monitor_ran(e.a);
          break;
        case 'C':
          answers.emplace(e.a, std::make_pair(e.t, 0));
          break;
        case 'A':
          ++answers[e.a].second;
          (e.b == "ok" ? ok : none) += 1;
          break;
        default:
          break;
      }
    }
    std::vector<std::string> violations = streams.violations();
    std::set<std::string> final_incarnations;
    for (const auto& [talker, ended] : final_talkers)
      final_incarnations.insert(incarnation_of(talker));
    const group_figures group = check_group(events, final_incarnations);
    for (const auto& v : group.violations) violations.push_back(v);
    for (const auto& [call, made] : answers) {
      const int n = made.second;
      const auto caller = final_talkers.find(call.substr(0, call.find('/')));
      const bool had_its_time =
          caller != final_talkers.end() && made.first + 1'500'000'000 < caller->second;
      if (n > 1 || (had_its_time && n == 0)) {
        if (violations.size() < 100) {
          violations.push_back("call " + call + " answered " + std::to_string(n) + " times");
        }
      }
    }
    // Failover of the supervised workers: for each kill -9 of the node a worker was on, the
    // time until it started on another node.
    std::map<std::string, std::string> worker_at;  // worker -> node, as the log goes
    std::vector<double> failovers;
    std::size_t never_back = 0;
    {
      std::vector<std::pair<std::int64_t, int>> kills_sorted;
      for (auto& [node_index, t] : kill_times) kills_sorted.emplace_back(t, node_index);
      std::sort(kills_sorted.begin(), kills_sorted.end());
      std::size_t next_kill = 0;
      std::map<std::string, std::int64_t> waiting;  // worker -> when its node was killed
      for (const auto& e : events) {
        while (next_kill < kills_sorted.size() && kills_sorted[next_kill].first <= e.t) {
          const std::string killed = "soak-" + std::to_string(kills_sorted[next_kill].second);
          for (auto& [w, at] : worker_at) {
            if (at == killed && !waiting.count(w)) waiting[w] = kills_sorted[next_kill].first;
          }
          ++next_kill;
        }
        if (e.kind != 'W') continue;
        worker_at[e.a] = e.b;
        if (auto it = waiting.find(e.a); it != waiting.end()) {
          failovers.push_back(static_cast<double>(e.t - it->second) / 1e6);
          waiting.erase(it);
        }
      }
      never_back = waiting.size();
    }
    std::sort(failovers.begin(), failovers.end());
    auto pct = [&](double q) {
      return failovers.empty()
                 ? 0.0
                 : failovers[std::min(failovers.size() - 1,
                                      static_cast<std::size_t>(q * failovers.size()))];
    };
    MESSAGE("supervised workers: "
            << failovers.size() << " failovers after a kill -9 of their node, p50 " << pct(0.5)
            << " ms, p99 " << pct(0.99) << " ms; " << never_back << " not back by the end");
    MESSAGE(kills << " kill -9, " << stops << " SIGSTOP, " << cuts << " partitions; "
                  << streams.messages_sent() << " sent, " << streams.messages_received()
                  << " received and checked, " << streams.holes()
                  << " holes (each after a monitor ran); " << answers.size() << " calls, " << ok
                  << " answered, " << none << " timed out or lost (availability "
                  << (ok + none ? 100.0 * ok / (ok + none) : 0) << " %); " << violations.size()
                  << " violations");
    MESSAGE("ordered group: " << group.sent << " sent, " << group.refused << " refused by send, "
                              << group.failed << " reported failed (sends that reached the "
                              << "members: "
                              << (group.sent ? 100.0 * (group.sent - group.failed) / group.sent : 0)
                              << " %), " << group.delivered << " deliveries to " << group.members
                              << " members (" << group.removed << " removed), " << group.expected
                              << " (message, surviving member) pairs checked; " << group.other_order
                              << " order conflicts involving a member whose node was killed");
    for (const auto& v : violations) FAIL_CHECK(v);
    CHECK(never_back == 0);  // every supervised worker whose node was killed came back
    CHECK(streams.messages_received() > 1000);
    // The checker had something to check (sanitizers too), unless the group was gone: no
    // member received anything in the last 5 s of traffic, a process alive at the end never
    // joined, and at least three of the five homes were killed (a quorum group's state lives
    // in its processes only: a majority restarted before standbys were rebuilt on them ends
    // it; README).
    std::set<int> killed;
    for (const auto& [i, t] : kill_times) killed.insert(i);
    const bool gone = group.never_joined > 0 && killed.size() >= 3 &&
                      group.last_delivery < quiet_at - 5'000'000'000;
    if (gone) {
      MESSAGE("the group was gone before the end ("
              << killed.size() << " of the 5 homes "
              << "killed, " << group.never_joined << " processes alive at the end never "
              << "joined, nothing delivered in the last 5 s): " << group.expected
              << " pairs checked");
    } else {
      CHECK(group.expected > 100);
    }
    // Kept (and named) when anything here failed: the nodes' logs, coport's lines in them
    // ("Z"), and the faults.
    if (violations.empty() && settled && never_back == 0 && streams.messages_received() > 1000 &&
        (gone || group.expected > 100)) {
      fs::remove_all(s.dir);
    } else {
      MESSAGE("the logs of this run are kept in " << s.dir.string());
    }
  }
}
