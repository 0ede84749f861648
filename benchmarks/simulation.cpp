// simulation: how fast the seed-replayable cluster simulator (coport/testing/simulation.hpp)
// runs a cluster: simulated cluster-seconds per wall-clock second, and steps per second, for
// N deterministic nodes with the tests' traffic (numbered streams under monitors, calls),
// with the fault plan's faults and without any. No peer: CAF's deterministic fixture has no
// network faults and Erlang has no such simulator; the figure is compared with itself over
// time (goal: >= 1000x for 5 nodes).
#include <fmt/format.h>

#include <chrono>
#include <coport/testing/simulation.hpp>
#include <string>

#include "coport_workloads.hpp"
#include "support/sim_traffic.hpp"

namespace coport_bench {

void simulation(int argc, char** argv) {
  bench::args a{"simulation", {{"seeds", 20}, {"steps", 20000}, {"nodes", 5}}, argc, argv, 2};
  std::vector<std::string> ids;
  for (long i = 0; i < std::max(2L, a["nodes"]); ++i) ids.push_back(fmt::format("sim-{}", i));
  for (bool faults : {true, false}) {
    double simulated = 0;
    std::uint64_t steps = 0, violations = 0;
    auto start = std::chrono::steady_clock::now();
    for (long s = 0; s < a["seeds"]; ++s) {
      coport::testing::simulation sim{static_cast<std::uint64_t>(1000 + s), ids,
                                      faults ? coport::testing::fault_plan{}
                                             : coport::testing::fault_plan::none()};
      coport::test::traffic t{sim};
      sim.run(static_cast<std::size_t>(a["steps"]), [&](std::size_t) { t.drive(); });
      simulated += std::chrono::duration<double>(sim.simulated()).count();
      steps += sim.steps();
      violations += t.streams.violations().size();
    }
    const double wall = bench::seconds_since(start);
    const std::string params = fmt::format("nodes={} faults={} violations={}", ids.size(),
                                           faults ? "plan" : "none", violations);
    a.report("coport", "simulation.cluster_seconds", simulated / wall, "x", params);
    a.report("coport", "simulation.steps", static_cast<double>(steps) / wall, "steps/s", params);
  }
}

}  // namespace coport_bench
