#pragma once
/// \file
/// Test support: the two kinds of node the tests make.

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

}  // namespace coport::test
