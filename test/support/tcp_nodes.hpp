#pragma once
/// \file
/// Test support: nodes with TCP links over loopback in one process (two worker threads,
/// 100 ms heartbeats, generous timeouts for sanitizer builds), for the tests of
/// transport/src/tcp.cpp.
///
/// Threading: each node runs its own threads. Lifetime: a tcp_node owns its node and its
/// transport (declared in that order: the transport ends first).

#include <chrono>
#include <coport/coport.hpp>
#include <coport/transport/tcp.hpp>
#include <string>
#include <vector>

namespace coport::test::loopback {

using namespace std::chrono_literals;
namespace tp = coport::transport;

inline node_options threaded(const std::string& id) {
  node_options o;
  o.id = id;
  o.threads = 2;
  return o;
}

inline tp::tcp_options fast(std::vector<std::string> binds = {"127.0.0.1:0"}) {
  tp::tcp_options o;
  o.binds = std::move(binds);
  o.heartbeat_interval = 100ms;
  o.node_timeout = 2000ms;  // generous: sanitizer builds are slow (no test here times out a node)
  o.connect_timeout = 2000ms;
  return o;
}

/// A node with TCP links.
struct tcp_node {
  node n;
  tp::tcp t;
  explicit tcp_node(const std::string& id, tp::tcp_options o = fast())
      : n{threaded(id)}, t{n, std::move(o)} {}
  /// Tells this node where `other` listens.
  void knows(tcp_node& other) { t.add_peer(other.n.id(), other.t.addresses()); }
  void knows_address(const std::string& id, const std::string& address) {
    t.add_peer(id, {address});
  }
};

}  // namespace coport::test::loopback
