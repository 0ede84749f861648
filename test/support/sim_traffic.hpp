#pragma once
/// \file
/// Test support: the traffic of the simulation tests and benchmark (coport::testing::
/// simulation) — numbered streams under monitors and calls between every node, checked by
/// coport/testing/invariants.hpp.
/// Threading: the simulation's thread.

#include <coport/coport.hpp>
#include <coport/testing/invariants.hpp>
#include <coport/testing/simulation.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace coport::test {

using namespace std::chrono_literals;

// Each node: a sink (records what arrives), an echo (answers cal), and a talker that, on
// each "tick", sends the next number of its stream to some node's sink (under a monitor on
// that sink, made again each time it ran) and sometimes calls some node's echo.
struct traffic {
  testing::simulation& sim;
  testing::stream_checker streams;
  testing::call_checker calls;
  std::vector<port_id> sinks, echoes, talkers;
  std::vector<std::vector<std::uint64_t>> open_calls;  // per node: calls its incarnation made

  struct talker_state {
    struct target {
      std::uint64_t next = 1;
      monitor watch;  // empty once it ran: made again before the next send
      bool ended = false;  // the port ended (not a loss): nothing more is sent to it
    };
    std::map<port_id, target> targets;
  };

  explicit traffic(testing::simulation& s) : sim{s} {
    const std::size_t n = sim.size();
    sinks.resize(n);
    echoes.resize(n);
    talkers.resize(n);
    open_calls.resize(n);
    sim.on_start([this](std::size_t i, node& nd) { start(i, nd); });
  }

  void start(std::size_t i, node& nd) {
    for (auto call : open_calls[i]) calls.forget(call);  // the old incarnation's callbacks
    open_calls[i].clear();
    sinks[i] = nd.port();
    nd.rcv(sinks[i], "seq", [this](std::string stream, std::uint64_t seq) {
      streams.received(stream, seq);
      sim.note("got " + std::to_string(seq));
    });
    echoes[i] = nd.port();
    nd.rcv(echoes[i], "echo", [&nd](port_id reply) { nd.snd(reply, "ok"); });
    talkers[i] = nd.port();
    auto state = std::make_shared<talker_state>();
    nd.rcv(talkers[i], "tick", [this, i, &nd, state] { tick(i, nd, *state); });
  }

  void tick(std::size_t i, node& nd, talker_state& st) {
    const std::size_t j = (i + 1 + sim.random()() % (sim.size() - 1)) % sim.size();
    const port_id to = sinks[j];
    if (!to) return;
    auto& t = st.targets[to];
    if (t.ended) return;
    const std::string stream = self().to_string() + ">" + to.to_string();
    if (!t.watch) arm(nd, to, stream, t);
    streams.sent(stream, t.next);
    nd.snd(to, "seq", stream, t.next++);
    if (sim.random()() % 4 == 0) {
      const auto call = calls.called();
      open_calls[i].push_back(call);
      nd.cal(
          echoes[j], "echo", [this, call](reply) { calls.answered(call); }, 1s);
    }
  }

  // A monitor on `to`, made in the talker's context; once it ran, the next send makes it
  // again (a loss) or the stream ends (the port ended).
  void arm(node& nd, const port_id& to, const std::string& stream, talker_state::target& t) {
    t.watch = nd.mon(to, [this, stream, &t](const reason& why) {
      streams.monitor_ran(stream);
      sim.note("monitor " + stream.substr(stream.find('>')));
      t.watch.release();
      t.ended = why.kind() != "transport_error";
    });
  }

  // After heal: every talker ticks once per node, then the cluster runs until quiet, so
  // that a stream whose last messages were lost silently shows a gap.
  void final_round() {
    for (std::size_t i = 0; i < sim.size(); ++i) {
      for (std::size_t k = 0; k < 2 * sim.size(); ++k) {
        if (talkers[i]) sim[i].snd(talkers[i], "tick");
      }
    }
    sim.nodes().run();
    sim.nodes().advance(std::chrono::seconds{2});  // the calls' timeouts, had a reply not come
  }

  // The test's hook after each step: now and then a tick to some talker.
  void drive() {
    if (sim.random()() % 8 != 0) return;
    const std::size_t i = sim.random()() % sim.size();
    if (talkers[i]) sim[i].snd(talkers[i], "tick");
  }
};

}  // namespace coport::test
