#pragma once
/// \file
/// coport::testing::simulation — a whole cluster of deterministic nodes on in-memory links,
/// driven by one 64-bit seed: which node takes a step, which link hands its bytes over, and
/// when faults strike (links broken with what is in flight lost, links reset and resumed
/// within the resume window or not, partitions and heals,
/// frozen nodes that stop and then time out, restarts with a new incarnation, the clocks
/// moving on). One thread, virtual time; the same seed gives the same run, and
/// `trace_hash()` tells (FoundationDB's and TigerBeetle's simulators are the models).
///
/// ```cpp
/// coport::testing::simulation sim{seed, {"a", "b", "c"}};
/// sim.on_start([&](std::size_t i, coport::node& n) { /* ports, handlers, traffic */ });
/// sim.run(100'000);           // steps and faults drawn from the seed
/// sim.heal();                 // every pair linked, nobody frozen, quiet
/// // then check invariants (coport/testing/invariants.hpp); on failure print
/// // sim.replay_hint("my_test_binary -tc='...'")
/// ```
/// Threading: one thread (the caller's). Lifetime: the nodes live as long as the simulation;
/// a restart replaces one (on_start runs again for it).
/// May include: coport/testing/cluster.hpp and the standard library.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coport/testing/cluster.hpp"

namespace coport::testing {

/// How often each fault strikes, as a chance per step.
struct fault_plan {
  double break_link = 0.002;  ///< a link breaks: what is in flight is lost
  double partition = 0.0005;  ///< the nodes split in two sides: every link across breaks
  double reconnect = 0.02;    ///< a broken pair (not across a partition) links again
  double heal = 0.002;        ///< a partition heals
  double freeze = 0.001;      ///< a node stops (not stepped; its links hold their bytes)
  double thaw = 0.01;         ///< a frozen node goes on; half the time it had timed out
                              ///< first: its links broke meanwhile (a long freeze)
  double restart = 0.0003;    ///< a node restarts with a new incarnation
  double advance = 0.02;      ///< every clock moves on by up to max_advance
  node::duration max_advance = std::chrono::milliseconds{100};
  /// A link is reset (TCP's RST: what is in flight is lost); both nodes wait for a new one
  /// to resume on (transport_options::resume_window), which `reconnect` brings, or not.
  double reset = 0.002;
  /// No faults: only the order in which nodes and links move, and the clocks, are drawn.
  static fault_plan none() {
    return {0, 0, 0, 0, 0, 0, 0, 0.02, std::chrono::milliseconds{100}, 0};
  }
};

class simulation {
 public:
  simulation(std::uint64_t seed, std::vector<std::string> ids, fault_plan plan = {})
      : seed_{seed}, plan_{plan}, random_{seed}, cluster_{ids, true, node_seed(seed)} {
    frozen_.assign(cluster_.size(), false);
    lag_.assign(cluster_.size(), node::duration{});
    side_.assign(cluster_.size(), 0);
    note("start " + std::to_string(seed));
  }

  cluster& nodes() { return cluster_; }
  node& operator[](std::size_t i) { return cluster_[i]; }
  std::size_t size() const { return cluster_.size(); }
  /// The simulation's random numbers (draw traffic from them to keep the run replayable).
  std::mt19937_64& random() { return random_; }
  std::uint64_t seed() const { return seed_; }

  /// Called for every node now and again after each restart of it (same index, new node).
  void on_start(std::function<void(std::size_t, node&)> f) {
    on_start_ = std::move(f);
    for (std::size_t i = 0; i < size(); ++i) on_start_(i, cluster_[i]);
    cluster_.run();
  }

  /// Called before a restart destroys node i (end what uses that node: its registry, ...).
  void on_stop(std::function<void(std::size_t)> f) { on_stop_ = std::move(f); }

  /// Runs `steps` steps, each drawn from the seed: a fault (by the plan's chances), or one
  /// step of a node, or one link's bytes handed over one way. `each(step)`, when given,
  /// runs after every step (the test's traffic).
  void run(std::size_t steps, const std::function<void(std::size_t)>& each = {}) {
    for (std::size_t s = 0; s < steps; ++s) {
      if (!fault()) move();
      if (each) each(s);
      ++steps_;
    }
  }

  /// Every partition healed, every node thawed, every pair linked; then runs (and moves the
  /// clocks `settle_time` on) until nothing moves.
  void heal(node::duration settle_time = std::chrono::seconds{30}) {
    for (std::size_t i = 0; i < size(); ++i) thaw(i);
    std::fill(side_.begin(), side_.end(), 0);
    note("heal");
    // What is in flight first (a reset one end has not seen yet is not a link to cut).
    cluster_.run();
    // A pair is linked again until both ends see each other up (a link made while the old
    // one's end was not yet seen is refused as a duplicate: nothing dials again here).
    for (int round = 0; round < 5; ++round) {
      bool all = true;
      for (std::size_t i = 0; i < size(); ++i) {
        for (std::size_t j = i + 1; j < size(); ++j) {
          if (!up(i, j) || !up(j, i)) {
            all = false;
            if (cluster_.linked(i, j)) cluster_.cut(i, j, "healed anew");
            cluster_.run();
            cluster_.reconnect(i, j);
          }
        }
      }
      cluster_.run();
      if (all) break;
    }
    for (int k = 0; k < 30; ++k) cluster_.advance(settle_time / 30);
    cluster_.run();
  }

  /// Mixes `event` into the trace hash (the simulation notes its own decisions; checkers and
  /// tests note what they observe).
  void note(std::string_view event) {
    for (unsigned char ch : event) hash_ = (hash_ ^ ch) * 0x100000001b3ull;
    hash_ = (hash_ ^ 0xff) * 0x100000001b3ull;
    if (event.rfind("fault ", 0) == 0 && faults_.size() < 10'000) {
      faults_.emplace_back(std::to_string(steps_) + ": " + std::string{event.substr(6)});
    }
  }
  /// FNV-1a over every decision and noted event: equal for equal seeds.
  std::uint64_t trace_hash() const { return hash_; }
  /// The faults that struck, with the step they struck at (the first 10 000).
  const std::vector<std::string>& faults() const { return faults_; }
  /// Virtual time moved on so far by `run` (not `heal`'s), and steps taken.
  node::duration simulated() const { return simulated_; }
  std::size_t steps() const { return steps_; }

  /// "seed S (trace HASH): replay with COPORT_SIM_SEED=S <command>".
  std::string replay_hint(std::string_view command) const {
    char hash[17];
    std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(hash_));
    return "seed " + std::to_string(seed_) + " (trace " + hash +
           "): replay with COPORT_SIM_SEED=" + std::to_string(seed_) + " " + std::string{command};
  }

 private:
  // Drawn by hand, not by std::uniform_*_distribution (whose results differ between
  // standard libraries): a seed replays with any toolchain.
  bool chance(double p) { return p > 0 && static_cast<double>(random_() >> 11) * 0x1.0p-53 < p; }
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(random_() % n); }
  static std::uint64_t node_seed(std::uint64_t seed) {
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z != 0 ? z : 1;
  }

  /// A frozen node goes on: its clock catches up with the time it missed.
  void thaw(std::size_t i) {
    frozen_[i] = false;
    if (lag_[i] > node::duration::zero()) cluster_[i].advance(std::exchange(lag_[i], {}));
  }

  /// One fault, if one strikes this step.
  bool fault() {
    const std::size_t n = size();
    if (n >= 2 && chance(plan_.break_link)) {
      auto [i, j] = pair();
      if (cluster_.linked(i, j)) {
        note("fault break " + std::to_string(i) + "-" + std::to_string(j));
        cluster_.cut(i, j, "broken by the simulation");
        return true;
      }
    }
    if (n >= 2 && chance(plan_.reset)) {
      auto [i, j] = pair();
      if (cluster_.linked(i, j)) {
        note("fault reset " + std::to_string(i) + "-" + std::to_string(j));
        cluster_.reset(i, j, "reset by the simulation");
        return true;
      }
    }
    if (n >= 2 && chance(plan_.reconnect)) {
      auto [i, j] = pair();
      if (!cluster_.linked(i, j) && side_[i] == side_[j] && !frozen_[i] && !frozen_[j]) {
        note("fault reconnect " + std::to_string(i) + "-" + std::to_string(j));
        cluster_.reconnect(i, j);
        return true;
      }
    }
    if (n >= 3 && chance(plan_.partition) && !partitioned()) {
      std::string text = "fault partition";
      for (std::size_t i = 0; i < n; ++i) side_[i] = static_cast<int>(random_() & 1);
      if (!partitioned()) side_[pick(n)] ^= 1;  // never all on one side
      for (std::size_t i = 0; i < n; ++i) text += side_[i] ? " 1" : " 0";
      note(text);
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
          if (side_[i] != side_[j] && cluster_.linked(i, j)) {
            cluster_.cut(i, j, "partitioned by the simulation");
          }
        }
      }
      return true;
    }
    if (chance(plan_.heal) && partitioned()) {
      note("fault heal");
      std::fill(side_.begin(), side_.end(), 0);
      return true;
    }
    if (chance(plan_.freeze)) {
      std::size_t i = pick(n);
      if (!frozen_[i]) {
        note("fault freeze " + std::to_string(i));
        frozen_[i] = true;
        return true;
      }
    }
    if (chance(plan_.thaw)) {
      std::size_t i = pick(n);
      if (frozen_[i]) {
        const bool timed_out = (random_() & 1) != 0;
        note("fault thaw " + std::to_string(i) + (timed_out ? " timed out" : ""));
        if (timed_out) {
          for (std::size_t j = 0; j < n; ++j) {
            if (j != i && cluster_.linked(i, j)) cluster_.cut(i, j, "node timed out (frozen)");
          }
        }
        thaw(i);
        return true;
      }
    }
    if (chance(plan_.restart)) {
      std::size_t i = pick(n);
      note("fault restart " + std::to_string(i));
      frozen_[i] = false;
      lag_[i] = {};
      restart(i);
      return true;
    }
    if (chance(plan_.advance)) {
      auto d = node::duration{static_cast<node::duration::rep>(
          random_() % static_cast<std::uint64_t>(plan_.max_advance.count() + 1))};
      note("advance " + std::to_string(d.count()));
      simulated_ += d;
      for (std::size_t i = 0; i < n; ++i) {
        if (frozen_[i]) {
          lag_[i] += d;  // a frozen node's timers fire when it thaws
        } else {
          cluster_[i].advance(d);
        }
      }
      return true;
    }
    return false;
  }

  /// One step of a node, or one link's waiting frames handed over one way.
  void move() {
    const std::size_t n = size();
    if (n >= 2 && (random_() & 1)) {
      auto [i, j] = pair();
      if (frozen_[i] || frozen_[j] || !cluster_.linked(i, j)) return;
      auto& l = cluster_.link(i, j);
      auto moved = l.hand_over(cluster_.way(i, j), static_cast<std::size_t>(-1));
      if (moved) note("move " + std::to_string(i) + ">" + std::to_string(j));
      return;
    }
    std::size_t i = pick(n);
    if (frozen_[i]) return;
    if (cluster_[i].step()) note("step " + std::to_string(i));
  }

  std::pair<std::size_t, std::size_t> pair() {
    std::size_t i = pick(size()), j = pick(size() - 1);
    if (j >= i) ++j;
    return {i, j};
  }

  /// True when node i has an established link to node j.
  /// Node i has a connection up to node j (not one waiting to resume, which the node
  /// still counts as up).
  bool up(std::size_t i, std::size_t j) {
    const auto ids = cluster_[i].up_nodes();
    if (std::find(ids.begin(), ids.end(), cluster_[j].id()) == ids.end()) return false;
    for (const auto& l : cluster_.transport(i).links()) {
      if (l.node == cluster_[j].id()) return l.up;
    }
    return false;
  }

  bool partitioned() const {
    return std::any_of(side_.begin(), side_.end(), [&](int s) { return s != side_[0]; });
  }

  void restart(std::size_t i) {
    // Linked again to the nodes on its side that are not frozen; nothing is stepped here
    // (the handshakes go on in the steps that follow).
    if (on_stop_) on_stop_(i);
    cluster_.restart(
        i, [&](std::size_t j) { return side_[i] == side_[j] && !frozen_[j]; }, false);
    if (on_start_) on_start_(i, cluster_[i]);
  }

  std::uint64_t seed_;
  fault_plan plan_;
  std::mt19937_64 random_;
  cluster cluster_;
  std::function<void(std::size_t, node&)> on_start_;
  std::function<void(std::size_t)> on_stop_;
  std::vector<bool> frozen_;
  std::vector<node::duration> lag_;  // time a frozen node has missed
  std::vector<int> side_;
  std::uint64_t hash_ = 0xcbf29ce484222325ull;
  std::vector<std::string> faults_;
  node::duration simulated_{};
  std::size_t steps_ = 0;
};

}  // namespace coport::testing
