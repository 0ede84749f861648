// caf-bench WORKLOAD [key=value ...] [--json FILE]: the CAF side of the suite.
#include "caf_workloads.hpp"

int main(int argc, char** argv) {
  return bench::dispatch(argc, argv,
                         {{"pingpong", caf_bench::pingpong},
                          {"count", caf_bench::count},
                          {"fanin", caf_bench::fanin},
                          {"spawn", caf_bench::spawn},
                          {"threadring", caf_bench::threadring},
                          {"fanout", caf_bench::fanout},
                          {"selective", caf_bench::selective},
                          {"latency", caf_bench::latency},
                          {"remote", caf_bench::remote},
                          {"remote_peer", caf_bench::remote_peer},
                          {"pg", caf_bench::pg}});
}
