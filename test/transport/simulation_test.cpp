// The seed-replayable cluster simulator (coport/testing/simulation.hpp) with the invariant
// checkers (coport/testing/invariants.hpp): five nodes talk in numbered streams, each under a
// monitor, and call each other, while links break or reset, partitions come and go, nodes
// freeze, time out and restart. No holes per sender -> port and every cal answered exactly once,
// whatever the seed. COPORT_SIM_SEED=S replays one seed; COPORT_SIM_SEEDS=N runs N seeds
// (default 150) from COPORT_SIM_FIRST (default 1000), COPORT_SIM_STEPS=K steps each (default
// 20 000).
#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/supervisor.hpp>
#include <coport/testing/invariants.hpp>
#include <coport/testing/simulation.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/env.hpp"
#include "support/sim_traffic.hpp"

using namespace coport;
using namespace coport::testing;
using coport::test::traffic;
using namespace std::chrono_literals;

namespace {

using coport::test::env_number;

struct outcome {
  std::uint64_t hash = 0;
  std::vector<std::string> violations;
  std::uint64_t sent = 0, received = 0, holes = 0, calls = 0;
  std::size_t faults = 0;
};

outcome run_seed(std::uint64_t seed, std::size_t steps, fault_plan plan = {}) {
  simulation sim{seed, {"sim-a", "sim-b", "sim-c", "sim-d", "sim-e"}, plan};
  traffic t{sim};
  sim.run(steps, [&](std::size_t) { t.drive(); });
  sim.heal();
  t.final_round();  // one more message on every stream: a silent loss at the end shows
  outcome o;
  o.hash = sim.trace_hash();
  o.violations = t.streams.violations();
  for (auto& v : t.calls.violations()) o.violations.push_back(v);
  o.sent = t.streams.messages_sent();
  o.received = t.streams.messages_received();
  o.holes = t.streams.holes();
  o.calls = t.calls.calls();
  o.faults = sim.faults().size();
  if (!o.violations.empty()) {
    MESSAGE(sim.replay_hint("COPORT_SIM_STEPS=" + std::to_string(steps) +
                            " build/test/coport_transport_tests -ts=testing.simulation"));
    for (auto& f : sim.faults()) MESSAGE("  " << f);
  }
  return o;
}

}  // namespace

TEST_SUITE("testing.simulation") {
  TEST_CASE("the same seed gives the same run, another seed another") {
    auto a = run_seed(42, 5000), b = run_seed(42, 5000), c = run_seed(43, 5000);
    CHECK(a.hash == b.hash);
    CHECK(a.sent == b.sent);
    CHECK(a.hash != c.hash);
  }

  TEST_CASE("no holes and every cal answered once, across seeds, whatever fails") {
    const std::uint64_t one = env_number("COPORT_SIM_SEED", 0);
    const std::uint64_t seeds = one ? 1 : env_number("COPORT_SIM_SEEDS", 150);
    const std::uint64_t first = env_number("COPORT_SIM_FIRST", 1000);
    const std::size_t steps = env_number("COPORT_SIM_STEPS", 20'000);
    std::uint64_t sent = 0, received = 0, holes = 0, calls = 0, faults = 0, failed = 0;
    for (std::uint64_t k = 0; k < seeds; ++k) {
      const std::uint64_t seed = one ? one : first + k;
      auto o = run_seed(seed, steps);
      sent += o.sent;
      received += o.received;
      holes += o.holes;
      calls += o.calls;
      faults += o.faults;
      if (!o.violations.empty()) {
        ++failed;
        for (auto& v : o.violations) FAIL_CHECK("seed " << seed << ": " << v);
      }
    }
    MESSAGE(seeds << " seeds x " << steps << " steps: " << sent << " sent, " << received
                  << " received, " << holes << " holes (each after a monitor ran), " << calls
                  << " calls, " << faults << " faults, " << failed << " seeds failed");
    CHECK(failed == 0);
    CHECK(received > 0);
    CHECK(holes > 0);  // the faults did lose messages: the checker had something to check
  }

  TEST_CASE(
      "seeds that once found a bug keep passing (4340: a link that started fresh at one end "
      "only was resumed as the older streams of the same two incarnations: duplicates)") {
    for (std::uint64_t seed : {4340}) {
      auto o = run_seed(seed, 20'000);
      for (auto& v : o.violations) FAIL_CHECK("seed " << seed << ": " << v);
      CHECK(o.received > 0);
    }
  }

  TEST_CASE(
      "links reset and linked again within the resume window lose nothing: no hole, no "
      "monitor, every cal answered once, across seeds") {
    const std::uint64_t one = env_number("COPORT_SIM_SEED", 0);
    const std::uint64_t seeds = one ? 1 : env_number("COPORT_SIM_SEEDS", 100);
    const std::uint64_t first = env_number("COPORT_SIM_FIRST", 3000);
    const std::size_t steps = env_number("COPORT_SIM_STEPS", 20'000);
    fault_plan plan = fault_plan::none();
    plan.reset = 0.004;
    plan.reconnect = 0.3;  // a reset pair is linked again well within the window
    std::uint64_t received = 0, faults = 0, failed = 0;
    for (std::uint64_t k = 0; k < seeds; ++k) {
      const std::uint64_t seed = one ? one : first + k;
      auto o = run_seed(seed, steps, plan);
      received += o.received;
      faults += o.faults;
      if (!o.violations.empty() || o.holes != 0) {
        ++failed;
        for (auto& v : o.violations) FAIL_CHECK("seed " << seed << ": " << v);
        if (o.holes != 0) FAIL_CHECK("seed " << seed << ": " << o.holes << " holes");
      }
    }
    MESSAGE(seeds << " seeds x " << steps << " steps: " << received << " received, " << faults
                  << " resets and reconnects, " << failed << " seeds failed");
    CHECK(failed == 0);
    CHECK(faults > seeds);  // resets did strike
  }

  TEST_CASE(
      "supervisors with children on other nodes have every child running again after the "
      "heal, whatever failed") {
    const std::uint64_t one = env_number("COPORT_SIM_SEED", 0);
    const std::uint64_t seeds = one ? 1 : env_number("COPORT_SIM_SEEDS", 60);
    const std::size_t steps = env_number("COPORT_SIM_STEPS", 20'000);
    std::size_t failed = 0, restarts_seen = 0;
    for (std::uint64_t k = 0; k < seeds; ++k) {
      const std::uint64_t seed = one ? one : 7000 + k;
      simulation sim{seed, {"sup-a", "sup-b", "sup-c", "sup-d", "sup-e"}};
      std::vector<port_id> sups(sim.size());
      std::size_t starts = 0;
      sim.on_start([&](std::size_t i, node& nd) {
        nd.register_init("sim.worker", [&nd, &starts](std::string) {
          ++starts;
          nd.rcv(self(), "ping", [] {});
        });
        supervisor_spec spec;
        spec.max_restarts = 1000;
        spec.period = std::chrono::seconds{1};
        spec.backoff_initial = std::chrono::milliseconds{10};
        spec.backoff_max = std::chrono::seconds{1};
        for (std::size_t c = 1; c <= 2; ++c) {
          const std::string id = "w" + std::to_string(c);
          spec.children.push_back(child_spec::of(id, "sim.worker", id)
                                      .on({sim[(i + c) % sim.size()].id(),
                                           sim[(i + c + 1) % sim.size()].id(), nd.id()}));
        }
        sups[i] = start_supervisor(nd, std::move(spec));
      });
      sim.run(steps);
      sim.heal();
      std::vector<std::string> problems;
      for (std::size_t i = 0; i < sim.size(); ++i) {
        if (!sim[i].alive(sups[i])) {
          problems.push_back("node " + std::to_string(i) + "'s supervisor ended");
          continue;
        }
        std::vector<port_id> ports;
        sim[i].cal(sups[i], "which_children", [&](reply r) {
          if (r && r->is<std::vector<std::string>, std::vector<port_id>>()) {
            ports = r->get<std::vector<port_id>>(1);
          }
        });
        sim.nodes().run();
        if (ports.size() != 2) problems.push_back("node " + std::to_string(i) + ": no answer");
        for (const auto& p : ports) {
          const std::size_t where = p ? sim.nodes().index_of(p.node()) : 0;
          if (!p || !sim[where].alive(p)) {
            problems.push_back("node " + std::to_string(i) + ": a child is not running (" +
                               (p ? p.to_string() : std::string{"none"}) + ")");
          }
        }
      }
      restarts_seen += starts;
      if (!problems.empty()) {
        ++failed;
        MESSAGE(sim.replay_hint("COPORT_SIM_STEPS=" + std::to_string(steps) +
                                " build/test/coport_transport_tests -ts=testing.simulation"));
        for (const auto& p : problems) FAIL_CHECK("seed " << seed << ": " << p);
      }
    }
    MESSAGE(seeds << " seeds x " << steps << " steps: " << restarts_seen << " worker starts, "
                  << failed << " seeds failed");
    CHECK(failed == 0);
  }

  TEST_CASE("the checkers catch what they promise to") {
    stream_checker s;
    s.sent("x", 1);
    s.sent("x", 2);
    s.sent("x", 3);
    s.received("x", 1);
    s.received("x", 3);  // 2 lost, no monitor ran
    s.sent("y", 1);
    s.sent("y", 2);
    s.monitor_ran("y");  // before 2 was... after: covers a loss of 1
    s.received("y", 2);
    s.sent("z", 1);
    s.received("z", 1);
    s.received("z", 1);  // twice
    // A monitor that ran after 2 was lost still covers it when 1 is handled only later.
    s.sent("w", 1);
    s.sent("w", 2);
    s.monitor_ran("w");
    s.received("w", 1);
    s.sent("w", 3);
    s.received("w", 3);
    // 2 lost, a monitor ran, 3 lost with no monitor after it, 4 arrives: a violation.
    s.sent("v", 1);
    s.received("v", 1);
    s.sent("v", 2);
    s.monitor_ran("v");
    s.sent("v", 3);
    s.sent("v", 4);
    s.received("v", 4);
    CHECK(s.violations().size() == 3);
    call_checker c;
    auto a = c.called(), b = c.called();
    c.answered(a);
    c.answered(b);
    c.answered(b);
    CHECK(c.violations().size() == 1);
  }
}
