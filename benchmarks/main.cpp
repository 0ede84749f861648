// coport-bench WORKLOAD [key=value ...] [--json FILE]: the coport side of the suite.
#include "coport_workloads.hpp"

int main(int argc, char** argv) {
  return bench::dispatch(argc, argv,
                         {{"pingpong", coport_bench::pingpong},
                          {"count", coport_bench::count},
                          {"fanin", coport_bench::fanin},
                          {"spawn", coport_bench::spawn},
                          {"threadring", coport_bench::threadring},
                          {"fanout", coport_bench::fanout},
                          {"selective", coport_bench::selective},
                          {"latency", coport_bench::latency},
                          {"wire", coport_bench::wire},
                          {"remote", coport_bench::remote},
                          {"remote_peer", coport_bench::remote_peer},
                          {"remote_floor_peer", coport_bench::remote_floor_peer},
                          {"mesh", coport_bench::mesh},
                          {"mesh_peer", coport_bench::mesh_peer},
                          {"pg", coport_bench::pg},
                          {"pg_peer", coport_bench::pg_peer},
                          {"simulation", coport_bench::simulation}});
}
