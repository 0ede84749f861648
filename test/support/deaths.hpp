#pragma once
/// \file
/// Test support: a record of the reasons monitors saw, in the order they fired.
///
/// ```cpp
/// deaths got;
/// auto g = n.mon(p, got.record());          // unnamed: got[0], got.size()
/// auto h = n.mon(q, got.of(q, "worker"));    // named: got.by("worker")
/// ```
/// Threading: for monitors that fire on the test's thread (deterministic nodes).

#include <doctest/doctest.h>

#include <coport/port_id.hpp>
#include <coport/reason.hpp>
#include <string>
#include <utility>
#include <vector>

namespace coport::test {

class deaths {
 public:
  /// A monitor callback that records the reason under no name.
  auto record() {
    return [this](const reason& why) { seen_.emplace_back(std::string{}, why); };
  }
  /// A monitor callback that records the reason under `name` (default: the port's ID).
  auto of(const port_id& port, std::string name = {}) {
    if (name.empty()) name = port.to_string();
    return [this, name](const reason& why) { seen_.emplace_back(name, why); };
  }
  std::size_t size() const { return seen_.size(); }
  bool empty() const { return seen_.empty(); }
  /// The i-th reason recorded.
  const reason& operator[](std::size_t i) const { return seen_.at(i).second; }
  /// The last reason recorded under `name`; fails the test when there is none.
  reason by(const std::string& name) const {
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    FAIL("no death recorded for " << name);
    return {};
  }

 private:
  std::vector<std::pair<std::string, reason>> seen_;
};

}  // namespace coport::test
