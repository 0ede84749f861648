// The registry and process groups under the seed-replayable simulator (coport/testing/
// simulation.hpp): five nodes, each with a registry and a groups service, a member of one
// group (its master on one node, one standby on another) and a sink registered under one
// name, while links break, partitions come and go, nodes freeze, time out and restart.
// After the heal: every pair is linked again, every registry names exactly the live sinks
// (convergence), and every two members saw the messages they both got in one order, none
// twice (total order).
// COPORT_SIM_SEED=S replays one seed; COPORT_SIM_SEEDS=N runs N (default 40).
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <coport/testing/simulation.hpp>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/env.hpp"

using namespace coport;
using namespace coport::testing;
namespace pg = coport::groups;

namespace {

using coport::test::env_number;

struct world {
  simulation& sim;
  std::vector<std::unique_ptr<registry>> names;
  std::vector<std::unique_ptr<pg::service>> groups;
  std::vector<subscription> regs;
  std::vector<port_id> sinks;
  // Every member's record (one per node start), what it received in order.
  std::vector<std::shared_ptr<std::vector<std::string>>> records;
  std::uint64_t sent = 0;

  explicit world(simulation& s) : sim{s} {
    const std::size_t n = sim.size();
    names.resize(n);
    groups.resize(n);
    regs.resize(n);
    sinks.resize(n);
    sim.on_stop([this](std::size_t i) { stop(i); });
    sim.on_start([this](std::size_t i, node& nd) { start(i, nd); });
  }
  ~world() {
    for (std::size_t i = 0; i < names.size(); ++i) stop(i);
  }

  void stop(std::size_t i) {
    regs[i] = {};
    groups[i].reset();
    names[i].reset();
  }

  void start(std::size_t i, node& nd) {
    names[i] = std::make_unique<registry>(nd);
    groups[i] = std::make_unique<pg::service>(nd, *names[i]);
    sinks[i] = nd.port([](message&) {});
    regs[i] = names[i]->reg("sim/sink", sinks[i]);
    auto record = std::make_shared<std::vector<std::string>>();
    records.push_back(record);
    auto member = nd.port();
    nd.rcv(member, pg::message_tag(), [record](port_id, std::string, std::string who) {
      record->push_back(std::move(who));
    });
    (void)groups[i]->join("g", member);  // waits for the group when not known yet
  }

  void drive() {
    if (sim.random()() % 16 != 0) return;
    const std::size_t i = sim.random()() % sim.size();
    if (!groups[i]) return;
    const std::string who = "n" + std::to_string(i) + "-" + std::to_string(++sent);
    (void)groups[i]->send("g", who);
  }

  bool linked(std::size_t i, std::size_t j) const {
    const auto up = sim[i].up_nodes();
    return std::find(up.begin(), up.end(), sim[j].id()) != up.end();
  }
  /// Pairs that did not link again after the heal (an old channel one end still holds).
  std::size_t stuck_pairs() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      for (std::size_t j = i + 1; j < sinks.size(); ++j) n += !linked(i, j) || !linked(j, i);
    }
    return n;
  }

  std::vector<std::string> violations() const {
    std::vector<std::string> out;
    // Every pair linked again after the heal.
    if (std::size_t n = stuck_pairs()) {
      out.push_back(std::to_string(n) + " node pairs not linked again after the heal");
    }
    // Convergence: every registry names exactly the live sinks.
    std::set<port_id> live(sinks.begin(), sinks.end());
    for (std::size_t i = 0; i < names.size(); ++i) {
      auto got = names[i]->get("sim/sink");
      if (std::set<port_id>(got.begin(), got.end()) != live) {
        out.push_back("node " + std::to_string(i) + "'s registry names " +
                      std::to_string(got.size()) + " sinks, not the " +
                      std::to_string(live.size()) + " live ones");
      }
    }
    // Total order: no member got a message twice; two members order what both got alike.
    std::vector<std::map<std::string, std::size_t>> at(records.size());
    for (std::size_t r = 0; r < records.size(); ++r) {
      for (std::size_t k = 0; k < records[r]->size(); ++k) {
        if (!at[r].emplace((*records[r])[k], k).second) {
          out.push_back("member " + std::to_string(r) + " got " + (*records[r])[k] + " twice");
        }
      }
    }
    for (std::size_t a = 0; a < records.size() && out.size() < 50; ++a) {
      for (std::size_t b = a + 1; b < records.size(); ++b) {
        // The messages both got, in a's order, must be increasing in b's.
        std::size_t last = 0;
        bool first = true;
        for (const auto& m : *records[a]) {
          auto it = at[b].find(m);
          if (it == at[b].end()) continue;
          if (!first && it->second < last) {
            out.push_back("members " + std::to_string(a) + " and " + std::to_string(b) +
                          " got " + m + " in another order");
            break;
          }
          first = false;
          last = it->second;
        }
      }
    }
    return out;
  }
};

}  // namespace

TEST_SUITE("groups.simulated") {
  TEST_CASE(
      "under the simulator's faults the registry converges after the heal and every member "
      "sees one order") {
    const std::uint64_t one = env_number("COPORT_SIM_SEED", 0);
    const std::uint64_t seeds = one ? 1 : env_number("COPORT_SIM_SEEDS", 40);
    const std::size_t steps = env_number("COPORT_SIM_STEPS", 20'000);
    std::size_t failed = 0, delivered = 0, stuck = 0;
    for (std::uint64_t k = 0; k < seeds; ++k) {
      const std::uint64_t seed = one ? one : 5000 + k;
      simulation sim{seed, {"gsim-a", "gsim-b", "gsim-c", "gsim-d", "gsim-e"}};
      world w{sim};
      REQUIRE(w.groups[0]->create("g", {.standbys = {"gsim-b"}}));
      sim.run(steps, [&](std::size_t) { w.drive(); });
      sim.heal();
      for (const auto& r : w.records) delivered += r->size();
      stuck += w.stuck_pairs();
      auto v = w.violations();
      if (!v.empty()) {
        ++failed;
        MESSAGE(sim.replay_hint("COPORT_SIM_STEPS=" + std::to_string(steps) +
                                " build/test/coport_groups_tests -ts=groups.simulated"));
        for (const auto& f : sim.faults()) MESSAGE("  " << f);
        for (const auto& e : v) FAIL_CHECK("seed " << seed << ": " << e);
      }
    }
    MESSAGE(seeds << " seeds x " << steps << " steps: " << delivered
                  << " group messages delivered, " << stuck
                  << " node pairs not linked again after the heal, " << failed << " seeds failed");
    CHECK(failed == 0);
    CHECK(delivered > 0);
  }
}
