#pragma once
/// \file
/// Test support for process groups: a cluster (support/cluster.hpp) whose every node runs a
/// registry and groups, members that record what they see, and a join that waits until it
/// is ordered.
///
/// Threading: one test thread. Lifetime: the groups and registries end before the cluster.

#include <doctest/doctest.h>

#include <coport/coport.hpp>
#include <coport/groups/groups.hpp>
#include <coport/registry.hpp>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "support/cluster.hpp"

namespace coport::test {

/// A cluster whose every node runs a registry and groups.
struct group_cluster {
  cluster c;
  std::vector<std::unique_ptr<registry>> r;
  std::vector<std::unique_ptr<groups::service>> g;
  explicit group_cluster(std::vector<std::string> ids, groups::service_options o = {})
      : c{std::move(ids)} {
    for (std::size_t i = 0; i < c.size(); ++i) {
      r.push_back(std::make_unique<registry>(c[i]));
      g.push_back(std::make_unique<groups::service>(c[i], *r.back(), o));
    }
    c.run();
  }
  ~group_cluster() {
    g.clear();
    r.clear();
  }

  /// Steps nodes and hands over frames in an order drawn from `rng`, then runs to idle.
  void shuffle_run(std::mt19937& rng, std::size_t rounds = 10'000'000, bool finish = true) {
    const std::size_t n = c.size();
    for (std::size_t round = 0; round < rounds; ++round) {
      bool any = false;
      for (std::size_t k = 0; k < 4 * n; ++k) {
        std::size_t i = rng() % n;
        for (std::size_t s = rng() % 16; s > 0 && c[i].step(); --s) any = true;
        std::size_t a = rng() % n, b = rng() % n;
        if (a != b && c.link(a, b).hand_over(c.way(a, b), rng() % 4) > 0) any = true;
      }
      if (!any) break;
    }
    if (finish) c.run();
  }
};

/// What a member saw: "sender:k" for messages, "+port" / "-port reason" for notices.
struct recorder {
  std::vector<std::string> seen;
};

inline port_id member(node& n, recorder& rec) {
  port_id p = n.port();
  n.rcv(p, groups::message_tag(), [&rec](port_id, std::string, std::string who, int k) {
    rec.seen.push_back(who + ":" + std::to_string(k));
  });
  n.rcv(p, groups::new_member_tag(),
        [&rec](std::string, port_id who) { rec.seen.push_back("+" + who.to_string()); });
  n.rcv(p, groups::member_left_tag(), [&rec](std::string, port_id who, reason why) {
    rec.seen.push_back("-" + who.to_string() + " " + why.to_string());
  });
  return p;
}

/// Joins and steps until the join was ordered; returns the old members.
inline std::vector<port_id> join(group_cluster& gc, std::size_t i, const std::string& name,
                                 const port_id& p, groups::join_options o = {}) {
  std::optional<groups::join_result> result;
  REQUIRE(gc.g[i]->join(
              name, p, [&](groups::join_result r) { result = std::move(r); }, o) ==
          groups::errc::ok);
  gc.c.run();
  REQUIRE(result);
  REQUIRE(result->error == groups::errc::ok);
  return result->old_members;
}

}  // namespace coport::test
