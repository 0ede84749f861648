// The registry and process groups under the seed-replayable simulator (coport/testing/
// simulation.hpp): five nodes, each with a registry and a groups service, a member of one
// group and a sink registered under one name, while links break, partitions come and go,
// nodes freeze, time out and restart. The group is made twice: with one standby, and as a
// quorum group on three homes. After the heal: every pair is linked again, every registry
// names exactly the live sinks (convergence); every two members saw the messages they both
// got in one order, none twice (total order); every message `send` took on a node that did
// not restart since, and that was not reported failed, reached every member that joined
// before it was sent and lives on (nothing acknowledged lost); and the group works again (a
// new member on every node, a probe from every node, each received by every member), unless
// its homes (for a quorum group: a majority of them) all restarted and took its state along.
// COPORT_SIM_SEED=S replays one seed; COPORT_SIM_SEEDS=N runs N (default 40).
#include <doctest/doctest.h>

#include <algorithm>
#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <coport/testing/invariants.hpp>
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
  // For "no acknowledged send lost": each member's node start, when its join was ordered
  // (`clock`, one tick per send) and whether it was removed; each send's; the reported ones.
  struct member_info {
    std::size_t node = 0, start = 0;
    std::uint64_t joined = ~std::uint64_t{0};
    bool removed = false;
  };
  std::vector<std::shared_ptr<member_info>> member_infos;  // (beside records)
  struct send_info {
    std::string msg;
    std::size_t node = 0, start = 0;
    std::uint64_t at = 0;
  };
  std::vector<send_info> sends;
  std::set<std::string> failed;
  std::vector<std::size_t> starts;  // per node: how many times it started
  std::uint64_t clock = 0;
  static inline std::size_t lost_groups = 0;  ///< seeds whose group was gone after the heal
  std::size_t homes_needed = 1;  ///< homes that must hold a role for the group to live on
  /// Every member's order is checked (a quorum group); else only those of members whose node
  /// did not restart since they joined: without quorum, a member on a node that then
  /// restarts may have seen an order the others do not share (README, "What it does not
  /// do"); their conflicts are counted apart.
  bool strict_order = true;
  static inline std::size_t restarted_conflicts = 0;

  explicit world(simulation& s) : sim{s} {
    const std::size_t n = sim.size();
    names.resize(n);
    groups.resize(n);
    regs.resize(n);
    sinks.resize(n);
    starts.resize(n);
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
    pg::service_options options;
    options.on_send_failed = [this](const pg::send_failure& f) {
      if (f.payload.size() > 2 && f.payload.holds<std::string>(2)) {
        failed.insert(f.payload.get<std::string>(2));
      }
    };
    groups[i] = std::make_unique<pg::service>(nd, *names[i], options);
    ++starts[i];
    sinks[i] = nd.port([](message&) {});
    regs[i] = names[i]->reg("sim/sink", sinks[i]);
    add_member(i, nd);
  }

  /// A new member on node i (one record, one member_info).
  void add_member(std::size_t i, node& nd) {
    auto record = std::make_shared<std::vector<std::string>>();
    records.push_back(record);
    auto info = std::make_shared<member_info>();
    info->node = i;
    info->start = starts[i];
    member_infos.push_back(info);
    auto member = nd.port();
    nd.rcv(member, pg::message_tag(),
           [record](port_id, std::string, std::string who) { record->push_back(std::move(who)); });
    nd.rcv(member, pg::member_left_tag(), [info, member](std::string, port_id who, reason) {
      if (who == member) info->removed = true;
    });
    // (It waits for the group when not known yet.)
    (void)groups[i]->join("g", member, [this, info](pg::join_result r) {
      if (r.error == pg::errc::ok) info->joined = clock;
    });
  }

  void drive() {
    if (sim.random()() % 16 != 0) return;
    const std::size_t i = sim.random()() % sim.size();
    if (!groups[i]) return;
    const std::string who = "n" + std::to_string(i) + "-" + std::to_string(++sent);
    if (groups[i]->send("g", who) == pg::errc::ok) sends.push_back({who, i, starts[i], ++clock});
  }

  /// After the heal the group works again: every node without a member that joined (or
  /// with one removed) joins a new one, then every node sends a probe; returns the members
  /// of the nodes' current processes that did not join, or missed a probe.
  std::vector<std::string> probe_after_heal() {
    // A group whose every home restarted is gone (its state with it), and a quorum group
    // whose majority of homes did is stopped for good: nothing to probe.
    std::size_t holding = 0;
    for (const auto& g : groups) holding += g->stats().epochs.empty() ? 0 : 1;
    if (holding < homes_needed) {
      ++lost_groups;
      return {};
    }
    const std::size_t first = member_infos.size();
    std::vector<bool> has(sim.size(), false);
    for (const auto& m : member_infos) {
      if (m->start == starts[m->node] && m->joined != ~std::uint64_t{0} && !m->removed) {
        has[m->node] = true;
      }
    }
    for (std::size_t i = 0; i < sim.size(); ++i) {
      if (!has[i]) add_member(i, sim[i]);
    }
    sim.heal();
    std::vector<std::string> probes;
    for (std::size_t i = 0; i < sim.size(); ++i) {
      probes.push_back("probe-" + std::to_string(i));
      if (groups[i]->send("g", probes.back()) == pg::errc::ok) ++clock;
    }
    sim.heal();
    std::vector<std::string> out;
    for (std::size_t r = 0; r < member_infos.size(); ++r) {
      const auto& m = *member_infos[r];
      if (m.start != starts[m.node] ||
          (r < first && (m.joined == ~std::uint64_t{0} || m.removed))) {
        continue;  // (an old member that left or never joined: a new one stands for it)
      }
      if (m.joined == ~std::uint64_t{0} || m.removed) {
        out.push_back("after the heal, node " + std::to_string(m.node) + "'s member " +
                      (m.removed ? "was removed" : "never joined"));
        continue;
      }
      for (const auto& p : probes) {
        if (std::find(records[r]->begin(), records[r]->end(), p) == records[r]->end()) {
          out.push_back("after the heal, node " + std::to_string(m.node) + "'s member missed " + p);
        }
      }
    }
    return out;
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
    order_checker order, everyone;
    for (std::size_t r = 0; r < records.size(); ++r) {
      const auto& m = *member_infos[r];
      const bool living = m.start == starts[m.node];
      for (const auto& msg : *records[r]) {
        everyone.delivered(std::to_string(r), msg);
        if (strict_order || living) order.delivered(std::to_string(r), msg);
      }
    }
    restarted_conflicts += everyone.violations().size() -
                           std::min(everyone.violations().size(), order.violations().size());
    for (auto& v : order.violations()) {
      if (out.size() < 50) out.push_back(std::move(v));
    }
    // No acknowledged send lost: a message `send` took on a node that did not restart since,
    // and that was not reported failed, reached every member that joined before it was sent,
    // was never removed and whose node did not restart since.
    for (const auto& s : sends) {
      if (s.start != starts[s.node] || failed.count(s.msg)) continue;
      for (std::size_t r = 0; r < member_infos.size() && out.size() < 50; ++r) {
        const auto& m = *member_infos[r];
        if (m.start != starts[m.node] || m.removed || m.joined >= s.at) continue;
        if (!order.received(std::to_string(r), s.msg)) {
          out.push_back("member " + std::to_string(r) + " (node " + std::to_string(m.node) +
                        ", joined at " + std::to_string(m.joined) + ", received " +
                        std::to_string(records[r]->size()) + ") never received " + s.msg +
                        " (sent at " + std::to_string(s.at) + "), and it was not reported");
        }
      }
    }
    return out;
  }
};

/// Runs the seeds (COPORT_SIM_SEED=S: one; COPORT_SIM_SEEDS=N: N from `first`) with the
/// group made by `options` on the first node; fails each seed with a violation.
void run_seeds(const pg::group_options& options, std::uint64_t first, const char* filter) {
  const std::uint64_t one = env_number("COPORT_SIM_SEED", 0);
  const std::uint64_t seeds = one ? 1 : env_number("COPORT_SIM_SEEDS", 40);
  const std::size_t steps = env_number("COPORT_SIM_STEPS", 20'000);
  std::size_t failed = 0, delivered = 0, stuck = 0;
  world::lost_groups = 0;
  world::restarted_conflicts = 0;
  for (std::uint64_t k = 0; k < seeds; ++k) {
    const std::uint64_t seed = one ? one : first + k;
    simulation sim{seed, {"gsim-a", "gsim-b", "gsim-c", "gsim-d", "gsim-e"}};
    world w{sim};
    if (options.quorum) w.homes_needed = (options.standbys.size() + 1) / 2 + 1;
    w.strict_order = options.quorum;
    REQUIRE(w.groups[0]->create("g", options));
    sim.run(steps, [&](std::size_t) { w.drive(); });
    sim.heal();
    auto v = w.probe_after_heal();
    for (const auto& r : w.records) delivered += r->size();
    stuck += w.stuck_pairs();
    for (auto& e : w.violations()) v.push_back(std::move(e));
    if (!v.empty()) {
      ++failed;
      MESSAGE(sim.replay_hint("COPORT_SIM_STEPS=" + std::to_string(steps) +
                              " build/test/coport_groups_tests " + filter));
      for (const auto& f : sim.faults()) MESSAGE("  " << f);
      for (const auto& e : v) FAIL_CHECK("seed " << seed << ": " << e);
    }
  }
  MESSAGE(seeds << " seeds x " << steps << " steps: " << delivered << " group messages delivered, "
                << world::lost_groups
                << " groups gone (their homes, or a majority of them, restarted), " << stuck
                << " node pairs not linked again after the heal, " << world::restarted_conflicts
                << " order conflicts involving a member whose node restarted (one standby: counted "
                << "apart), " << failed << " seeds failed");
  CHECK(failed == 0);
  CHECK(delivered > 0);
}

}  // namespace

TEST_SUITE("groups.simulated") {
  TEST_CASE(
      "under the simulator's faults the registry converges after the heal, every member sees "
      "one order and receives every acknowledged send") {
    run_seeds({.standbys = {"gsim-b"}}, 5000, "-tc='under the simulator*'");
  }

  TEST_CASE(
      "a quorum group under the simulator's faults: one order, and every acknowledged send "
      "received") {
    run_seeds({.standbys = {"gsim-b", "gsim-c"}, .quorum = true}, 7000, "-tc='a quorum group*'");
  }
}
