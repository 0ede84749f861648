#pragma once
/// \file
/// Test support: the two kinds of node the tests make.

#include <coport/node.hpp>
#include <coport/options.hpp>

namespace coport::test {

/// A node that runs nothing until the test steps it (ordering assertions without sleeps).
inline node_options stepped(const char* id) {
  node_options o;
  o.id = id;
  o.mode = run_mode::deterministic;
  return o;
}

/// A node with two worker threads (what the machine has; enough to race).
inline node_options threaded(const char* id) {
  node_options o;
  o.id = id;
  o.threads = 2;
  return o;
}

/// The node's end of its links, as a transport holds it: for tests that play the transport
/// (no link is plugged in; plug(nullptr) leaves none).
inline node_link link_end(node& n) {
  return n.plug(nullptr);
}

}  // namespace coport::test
