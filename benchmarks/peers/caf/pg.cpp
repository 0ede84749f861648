// pg in CAF: Erlang's original pg design as CAF actors (a master that stamps every message
// with a sequence number and forwards it to every member), measured like coport's `pg`:
// pg.ordered_broadcast with G members and S senders of M messages each, on one system.
#include <string>
#include <vector>

#include "caf_workloads.hpp"

using namespace caf;

namespace caf_bench {

namespace {

using join_atom = atom_constant<atom("join")>;
using send_atom = atom_constant<atom("send")>;
using pgmsg_atom = atom_constant<atom("pgmsg")>;

struct master_state {
  int64_t seq = 0;
  std::vector<actor> members;
};

behavior master(stateful_actor<master_state>* self) {
  return {[=](join_atom, actor member) {
            self->state.members.push_back(member);
            return ready_atom::value;
          },
          [=](send_atom, actor_addr from, int64_t value) {
            int64_t seq = self->state.seq++;
            for (auto& m : self->state.members) {
              self->send(m, pgmsg_atom::value, from, seq, value);
            }
          }};
}

behavior member(stateful_actor<int64_t>* self, int64_t expected, actor reporter) {
  self->state = 0;
  return {[=](pgmsg_atom, actor_addr, int64_t, int64_t) {
    if (++self->state == expected) {
      self->send(reporter, done_atom::value);
      self->quit();
    }
  }};
}

behavior sender(event_based_actor* self, actor master, int64_t m) {
  return {[=](go_atom) {
    for (int64_t i = 0; i < m; ++i) {
      self->send(master, send_atom::value, self->address(), i);
    }
    self->quit();
  }};
}

}  // namespace

void pg(int argc, char** argv) {
  bench::args a{
      "pg",
      {{"g", 16}, {"senders", 4}, {"m", 25'000}, {"remote_g", 8}, {"threads", 0}, {"failover", 1}},
      argc,
      argv,
      2};
  long g = a["g"], senders = a["senders"];
  int64_t m = a["m"];
  actor_system_config cfg;
  actor_system system{config(cfg, a["threads"])};
  scoped_actor main{system};
  auto group_master = system.spawn(master);
  for (long i = 0; i < g; ++i) {
    auto mem = system.spawn(member, senders * m, actor{main});
    main->request(group_master, infinite, join_atom::value, mem)
        .receive([](ready_atom) {}, [](error&) { std::abort(); });
  }
  auto start = std::chrono::steady_clock::now();
  for (long s = 0; s < senders; ++s) {
    main->send(system.spawn(sender, group_master, m), go_atom::value);
  }
  for (long i = 0; i < g; ++i) main->receive([](done_atom) {});
  a.report(
      "caf", "pg.ordered_broadcast", g * senders * m / bench::seconds_since(start), "deliveries/s",
      "g=" + std::to_string(g) + ",senders=" + std::to_string(senders) + ",m=" + std::to_string(m));
  anon_send_exit(group_master, exit_reason::user_shutdown);
}

}  // namespace caf_bench
