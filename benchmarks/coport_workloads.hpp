#pragma once
/// \file
/// The coport side of the benchmark suite: one function per workload (one file each).
/// Each runs the workload on event ports (`runtime=coport`) and, where it reads naturally, on
/// coroutine actors (`runtime=coport-coro`), with the same parameters as the CAF and Erlang
/// programs in peers/.

#include <coport/coport.hpp>
#include <latch>

#include "support/bench.hpp"

namespace coport_bench {

void pingpong(int argc, char** argv);
void count(int argc, char** argv);
void fanin(int argc, char** argv);
void spawn(int argc, char** argv);
void threadring(int argc, char** argv);
void fanout(int argc, char** argv);
void selective(int argc, char** argv);
void latency(int argc, char** argv);
void wire(int argc, char** argv);
void remote(int argc, char** argv);
void remote_peer(int argc, char** argv);
void remote_floor_peer(int argc, char** argv);
void mesh(int argc, char** argv);
void mesh_peer(int argc, char** argv);
void pg(int argc, char** argv);
void pg_peer(int argc, char** argv);
void simulation(int argc, char** argv);

/// A node with the machine's threads (or `threads=` when given).
inline coport::node_options options(long threads) {
  coport::node_options o;
  o.id = "bench/";
  o.threads = static_cast<unsigned>(threads);
  return o;
}

}  // namespace coport_bench
