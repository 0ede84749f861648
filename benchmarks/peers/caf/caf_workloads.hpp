#pragma once
// The CAF side of the benchmark suite: one function per workload, one file each.
#include <caf/all.hpp>

#include "support/bench.hpp"

namespace caf_bench {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using msg_atom = caf::atom_constant<caf::atom("msg")>;
using go_atom = caf::atom_constant<caf::atom("go")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using junk_atom = caf::atom_constant<caf::atom("junk")>;
using match_atom = caf::atom_constant<caf::atom("match")>;
using ack_atom = caf::atom_constant<caf::atom("ack")>;
using ready_atom = caf::atom_constant<caf::atom("ready")>;

void pingpong(int argc, char** argv);
void count(int argc, char** argv);
void fanin(int argc, char** argv);
void spawn(int argc, char** argv);
void threadring(int argc, char** argv);
void fanout(int argc, char** argv);
void selective(int argc, char** argv);
void latency(int argc, char** argv);
void remote(int argc, char** argv);
void pg(int argc, char** argv);
void remote_peer(int argc, char** argv);

/// CAF's defaults (scheduler: work stealing, max(cores, 4) workers); `threads=` overrides.
inline caf::actor_system_config& config(caf::actor_system_config& cfg, long threads) {
  if (threads > 0) cfg.set("scheduler.max-threads", static_cast<size_t>(threads));
  return cfg;
}

}  // namespace caf_bench
